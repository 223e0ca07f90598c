"""Scale scores and reliability (surveys/scoring.py): pure, no database.

Property tests (hypothesis) for reverse coding and the half rule, hand-computed
Cronbach's alpha, Feldt intervals, the reliability report (low-alpha warning,
item statistics, omega and when it is withheld) and construct scoring with
reverse-coded items and structural zeros.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from surveys.scoring import (
    LOW_ALPHA,
    QuestionMeta,
    cronbach_alpha,
    feldt_interval,
    half_rule_mean,
    recoded_items,
    reliability,
    reverse_code,
    score_responses,
)

pytestmark = pytest.mark.nodb

# The autouse cache fixture in conftest is function-scoped and irrelevant here; no example
# database, so a run leaves no .hypothesis directory behind.
PROPERTY = settings(
    max_examples=150,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def likert(code: str, construct: str = "trustworthiness", *, reverse: bool = False, low=1, high=7) -> QuestionMeta:
    return QuestionMeta(code=code, construct=construct, kind="likert", reverse_coded=reverse, low=low, high=high)


# --- reverse coding -------------------------------------------------------------------------


@st.composite
def integer_scale_and_value(draw):
    low = draw(st.integers(-10, 10))
    high = draw(st.integers(low + 1, low + 20))
    x = draw(st.integers(low, high))
    return low, high, x


@pytest.mark.fuzz
@PROPERTY
@given(integer_scale_and_value())
def test_reverse_coding_is_an_involution_on_integer_scales(case):
    low, high, x = case
    mirrored = reverse_code(x, low, high)
    assert low <= mirrored <= high
    assert reverse_code(mirrored, low, high) == x
    # The ends swap and the midpoint is fixed.
    assert reverse_code(low, low, high) == high and reverse_code(high, low, high) == low


@st.composite
def real_scale_and_values(draw):
    low = draw(st.floats(-100, 100, allow_nan=False))
    width = draw(st.floats(0.01, 100, allow_nan=False))
    high = low + width
    xs = draw(st.lists(st.floats(0, 1), min_size=1, max_size=20))
    return low, high, np.array([low + f * (high - low) for f in xs])


@pytest.mark.fuzz
@PROPERTY
@given(real_scale_and_values())
def test_reverse_coding_is_an_involution_on_real_scales_and_series(case):
    low, high, values = case
    series = pd.Series(values)
    twice = reverse_code(reverse_code(series, low, high), low, high)
    np.testing.assert_allclose(twice.to_numpy(), values, rtol=0, atol=1e-9 * max(1.0, abs(low), abs(high)))


def test_reverse_coding_examples():
    assert reverse_code(1, 1, 7) == 7
    assert reverse_code(2, 1, 7) == 6
    assert reverse_code(4, 1, 7) == 4
    assert reverse_code(0, 0, 10) == 10
    assert reverse_code(3, 0, 10) == 7
    np.testing.assert_array_equal(reverse_code(np.array([1.0, 5.0, np.nan]), 1, 5)[:2], [5.0, 1.0])
    assert math.isnan(reverse_code(np.array([np.nan]), 1, 5)[0])  # missing stays missing


# --- the half rule --------------------------------------------------------------------------

cell = st.one_of(st.just(math.nan), st.integers(1, 7).map(float))


@st.composite
def item_matrix(draw):
    rows = draw(st.integers(1, 15))
    cols = draw(st.integers(1, 8))
    cells = draw(st.lists(cell, min_size=rows * cols, max_size=rows * cols))
    return pd.DataFrame(np.array(cells).reshape(rows, cols), columns=[f"i{j}" for j in range(cols)])


@pytest.mark.fuzz
@PROPERTY
@given(item_matrix())
def test_half_rule_scores_stay_within_the_scale(items):
    scores = half_rule_mean(items)
    assert len(scores) == len(items)
    answered = scores.dropna()
    assert ((answered >= 1) & (answered <= 7)).all()


@pytest.mark.fuzz
@PROPERTY
@given(item_matrix())
def test_half_rule_score_is_missing_exactly_when_fewer_than_half_are_answered(items):
    k = items.shape[1]
    scores = half_rule_mean(items)
    for i, row in items.iterrows():
        answered = row.dropna()
        if 2 * len(answered) < k or len(answered) == 0:
            assert math.isnan(scores[i])
        else:
            assert scores[i] == pytest.approx(answered.mean(), abs=1e-12)


@pytest.mark.fuzz
@PROPERTY
@given(item_matrix(), st.data())
def test_scored_constructs_with_reverse_coding_stay_within_the_scale(items, data):
    flags = data.draw(st.lists(st.booleans(), min_size=items.shape[1], max_size=items.shape[1]))
    questions = [likert(code, reverse=flag) for code, flag in zip(items.columns, flags, strict=True)]
    scores = score_responses(items, questions).frame["trustworthiness"].dropna()
    assert ((scores >= 1) & (scores <= 7)).all()


def test_half_rule_with_five_items():
    items = pd.DataFrame(
        [
            [7, 5, np.nan, np.nan, np.nan],  # 2 of 5 answered: missing
            [7, 5, 3, np.nan, np.nan],  # 3 of 5: mean of the 3
            [np.nan] * 5,  # none answered
            [1, 2, 3, 4, 5],  # all answered
        ],
        dtype=float,
    )
    scores = half_rule_mean(items)
    assert math.isnan(scores[0])
    assert scores[1] == pytest.approx(5.0)
    assert math.isnan(scores[2])
    assert scores[3] == pytest.approx(3.0)


def test_half_rule_with_four_items_accepts_exactly_half():
    items = pd.DataFrame([[2, 6, np.nan, np.nan], [2, np.nan, np.nan, np.nan]], dtype=float)
    scores = half_rule_mean(items)
    assert scores[0] == pytest.approx(4.0)
    assert math.isnan(scores[1])


# --- Cronbach's alpha and Feldt's interval --------------------------------------------------

TINY = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [2, 2, 4, 4, 5], "c": [2, 3, 3, 5, 4]}, dtype=float)


def test_alpha_on_a_tiny_matrix_by_hand():
    # Item variances (ddof=1): a = 10/4 = 2.5, b = 7.2/4 = 1.8, c = 5.2/4 = 1.3; sum 5.6.
    # Row totals 5, 7, 10, 13, 14: mean 9.8, squared deviations 23.04 + 7.84 + 0.04 + 10.24 + 17.64 = 58.8,
    # variance 58.8/4 = 14.7. alpha = 3/2 · (1 − 5.6/14.7) = 13/14.
    k = 3
    item_var = TINY.var(ddof=1).sum()
    total_var = TINY.sum(axis=1).var(ddof=1)
    by_formula = k / (k - 1) * (1 - item_var / total_var)
    assert item_var == pytest.approx(5.6)
    assert total_var == pytest.approx(14.7)
    assert by_formula == pytest.approx(13 / 14)
    assert cronbach_alpha(TINY) == pytest.approx(13 / 14, rel=1e-12)


def test_alpha_uses_complete_cases_only():
    with_gaps = pd.concat(
        [TINY, pd.DataFrame({"a": [7.0, np.nan], "b": [np.nan, 1.0], "c": [1.0, 7.0]})], ignore_index=True
    )
    assert cronbach_alpha(with_gaps) == pytest.approx(13 / 14, rel=1e-12)


def test_alpha_is_nan_without_variance_or_data():
    assert math.isnan(cronbach_alpha(pd.DataFrame({"a": [3.0] * 5, "b": [3.0] * 5})))
    assert math.isnan(cronbach_alpha(TINY[["a"]]))  # one item
    assert math.isnan(cronbach_alpha(TINY.iloc[:1]))  # one respondent
    assert math.isnan(cronbach_alpha(pd.DataFrame({"a": [1.0, np.nan], "b": [np.nan, 2.0]})))  # no complete row


def test_alpha_is_negative_for_items_that_disagree():
    opposed = pd.DataFrame({"a": [1, 2, 3, 4, 5], "b": [5, 4, 3, 2, 1]}, dtype=float)
    # The total is constant: alpha cannot be computed.
    assert math.isnan(cronbach_alpha(opposed))
    opposed.loc[0, "b"] = 4
    assert cronbach_alpha(opposed) < 0


@pytest.mark.parametrize("alpha", [0.3, 0.7, 0.9])
def test_feldt_interval_contains_alpha_and_narrows_with_n(alpha):
    widths = []
    for n in (20, 100, 1000):
        low, high = feldt_interval(alpha, n, 5)
        assert low < alpha < high <= 1
        widths.append(high - low)
    assert widths[0] > widths[1] > widths[2]
    # A wider level gives a wider interval.
    low90, high90 = feldt_interval(alpha, 100, 5, level=0.90)
    low99, high99 = feldt_interval(alpha, 100, 5, level=0.99)
    assert high99 - low99 > widths[1] > high90 - low90


# --- reliability() --------------------------------------------------------------------------

FIVE = [likert(f"t{i}", reverse=i in (2, 4)) for i in range(1, 6)]


def one_factor_items(seed: int, n: int = 500, loading: float = 0.7, *, wrong_flag_on: str | None = None):
    """Five 1–7 items of one factor; items 2 and 4 are stored mirrored (answered on a reversed scale)."""
    rng = np.random.default_rng(seed)
    factor = rng.normal(size=n)
    data = {}
    for i in range(1, 6):
        latent = loading * factor + math.sqrt(1 - loading**2) * rng.normal(size=n)
        x = np.clip(np.rint(4 + 1.5 * latent), 1, 7)
        mirrored = i in (2, 4) or f"t{i}" == wrong_flag_on
        data[f"t{i}"] = 8 - x if mirrored else x
    return pd.DataFrame(data)


def test_low_alpha_warning_for_uncorrelated_items():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({f"t{i}": rng.integers(1, 8, 300).astype(float) for i in range(1, 6)})
    result = reliability(frame, "trustworthiness", FIVE)
    assert result.alpha is not None and result.alpha < LOW_ALPHA
    expected = f"trustworthiness: alpha {result.alpha:.2f} is below 0.70; the scale may not measure one thing."
    assert expected in result.warnings


def test_item_statistics_for_five_items():
    frame = one_factor_items(11, n=300)
    frame.loc[[3, 7, 9], "t5"] = np.nan  # three incomplete respondents
    result = reliability(frame, "trustworthiness", FIVE)
    assert (result.items, result.n_complete) == (5, 297)
    assert [s.code for s in result.item_statistics] == ["t1", "t2", "t3", "t4", "t5"]
    assert [s.reverse_coded for s in result.item_statistics] == [False, True, False, True, False]
    complete = recoded_items(frame, FIVE).dropna()
    total = complete.sum(axis=1)
    for stat in result.item_statistics:
        rest = total - complete[stat.code]
        assert stat.corrected_item_total == pytest.approx(np.corrcoef(complete[stat.code], rest)[0, 1], rel=1e-9)
        assert stat.alpha_if_deleted == pytest.approx(cronbach_alpha(complete.drop(columns=stat.code)), rel=1e-9)
        assert stat.corrected_item_total > 0.4  # after reverse coding every item agrees with the rest
    assert result.alpha == pytest.approx(cronbach_alpha(complete), rel=1e-12)
    assert result.alpha_ci_low < result.alpha < result.alpha_ci_high
    assert (result.alpha_ci_low, result.alpha_ci_high) == pytest.approx(feldt_interval(result.alpha, 297, 5))
    assert result.warnings == []


def test_omega_is_reported_for_a_clean_one_factor_scale():
    result = reliability(one_factor_items(3), "trustworthiness", FIVE)
    # Continuous items with loadings 0.7: omega = 3.5² / (3.5² + 5 · 0.51) ≈ 0.828; rounding to 1–7 costs a little.
    assert result.omega is not None
    assert 0.75 < result.omega < 0.87
    assert result.alpha > LOW_ALPHA
    assert result.omega == pytest.approx(result.alpha, abs=0.03)  # near tau-equivalent: omega ≈ alpha
    assert result.warnings == []
    assert result.to_dict()["omega"] == result.omega


def test_omega_is_withheld_when_an_item_loads_negatively():
    # t3 was asked on a reversed scale but is not flagged reverse-coded.
    frame = one_factor_items(4, wrong_flag_on="t3")
    result = reliability(frame, "trustworthiness", FIVE)
    assert result.omega is None
    assert any("loads negatively" in w and w.startswith("trustworthiness:") for w in result.warnings)
    t3 = next(s for s in result.item_statistics if s.code == "t3")
    assert t3.corrected_item_total < 0
    assert result.alpha < LOW_ALPHA  # the wrong flag also drags alpha down, with its own warning
    assert any("below 0.70" in w for w in result.warnings)


def test_omega_is_withheld_for_a_heywood_like_case():
    # t2 duplicates t1 almost exactly: its uniqueness goes to zero and the ML fit breaks down.
    frame = one_factor_items(6)
    rng = np.random.default_rng(6)
    frame["t2"] = 8 - (frame["t1"] + rng.normal(0, 0.01, len(frame)))
    result = reliability(frame, "trustworthiness", FIVE)
    assert result.omega is None
    reasons = [w for w in result.warnings if w.startswith("trustworthiness:") and "alpha" not in w]
    assert reasons and any("Heywood" in w or "converge" in w for w in reasons)


def test_omega_needs_enough_items_and_responses():
    small = reliability(one_factor_items(8, n=40), "trustworthiness", FIVE)
    assert small.omega is None
    assert "trustworthiness: omega needs at least 50 complete responses." in small.warnings
    two = reliability(one_factor_items(8)[["t1", "t2"]], "trustworthiness", FIVE[:2])
    # Two items: alpha only; omega is not attempted, so nothing is said about it.
    assert two.omega is None and two.alpha is not None
    assert not any("omega" in w for w in two.warnings)
    assert [s.alpha_if_deleted for s in two.item_statistics] == [None, None]


# --- score_responses() ----------------------------------------------------------------------

PURCHASE = [
    QuestionMeta("bought", "reported_purchase", "yes_no"),
    QuestionMeta("buy_count", "purchase_count", "number", condition_code="bought", condition_values=(1,)),
    QuestionMeta("spend_3m", "spend", "number", condition_code="bought", condition_values=(1,)),
]


def test_reverse_coded_items_are_mirrored_before_averaging():
    questions = [likert("tru_1"), likert("tru_2", reverse=True)]
    frame = pd.DataFrame({"tru_1": [7, 1, 7, np.nan, 4], "tru_2": [1, 7, np.nan, np.nan, 4]}, dtype=float)
    scores = score_responses(frame, questions).frame["trustworthiness"]
    assert scores[0] == 7.0  # 7 and (8 − 1)
    assert scores[1] == 1.0  # 1 and (8 − 7)
    assert scores[2] == 7.0  # one of two answered is half: scored
    assert math.isnan(scores[3])
    assert scores[4] == 4.0


def test_reverse_coding_uses_the_items_own_scale():
    questions = [likert("a", low=1, high=5), likert("b", reverse=True, low=1, high=5)]
    scores = score_responses(pd.DataFrame({"a": [5.0], "b": [1.0]}), questions).frame["trustworthiness"]
    assert scores[0] == 5.0
    with pytest.raises(ValueError, match="b is reverse-coded but has no scale bounds"):
        score_responses(pd.DataFrame({"b": [1.0]}), [QuestionMeta("b", "trustworthiness", "likert", True)])


def test_purchase_count_and_spend_are_structural_zeros_for_non_buyers():
    frame = pd.DataFrame(
        {
            "bought": [0, np.nan, 1, 1, 0],
            "buy_count": [np.nan, np.nan, 3, np.nan, np.nan],
            "spend_3m": [np.nan, np.nan, 12.5, np.nan, np.nan],
        }
    )
    scores = score_responses(frame, PURCHASE)
    out = scores.frame
    assert out.loc[[0, 2, 3, 4], "reported_purchase"].tolist() == [0.0, 1.0, 1.0, 0.0]
    assert math.isnan(out["reported_purchase"][1])
    # Non-buyers (bought = 0): not asked, so 0.
    assert out.loc[[0, 4], "purchase_count"].tolist() == [0.0, 0.0]
    assert out.loc[[0, 4], "spend"].tolist() == [0.0, 0.0]
    # bought missing: whether they qualify is unknown, so missing.
    assert math.isnan(out["purchase_count"][1]) and math.isnan(out["spend"][1])
    # Buyers keep their answers; a buyer who skipped the question stays missing.
    assert out["purchase_count"][2] == 3.0 and out["spend"][2] == 12.5
    assert math.isnan(out["purchase_count"][3]) and math.isnan(out["spend"][3])
    assert len(scores.notes) == 2
    assert "purchase_count (buy_count) is coded 0" in scores.notes[0] and "bought" in scores.notes[0]
    assert "spend (spend_3m) is coded 0" in scores.notes[1]


def test_structural_zeros_follow_a_chain_of_conditions():
    questions = [
        QuestionMeta("aware", "other", "yes_no"),
        QuestionMeta("bought", "reported_purchase", "yes_no", condition_code="aware", condition_values=(1,)),
        QuestionMeta("buy_count", "purchase_count", "number", condition_code="bought", condition_values=(1,)),
    ]
    frame = pd.DataFrame({"aware": [1, 0, 1], "bought": [0, np.nan, 1], "buy_count": [np.nan, np.nan, 2]})
    out = score_responses(frame, questions).frame
    assert out["purchase_count"][0] == 0.0  # asked whether they bought, said no
    assert math.isnan(out["purchase_count"][1])  # never asked whether they bought
    assert out["purchase_count"][2] == 2.0
