"""The analysis core (surveys/analysis.py) on simulated data with a known truth: pure, no database.

Recovery of the simulated slopes (the acceptance rule), warnings instead of
silence, standard-error options, complete cases, and the whole ``analyze()``
result (variants, test responses, JSON, descriptives, link counts).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from surveys.analysis import (
    MIN_TIER_RESPONSES,
    TIERS,
    ModelSpec,
    analyze,
    describe,
    fit_model,
    known_variables,
    link_counts,
    prepare,
    validate_spec,
)
from surveys.simulation import TRUE_SLOPES, library_questions, simulated_frame

pytestmark = pytest.mark.nodb
QUESTIONS = library_questions()
SEEDS = range(20)
REQUIRED_COVERAGE = 17  # of 20 nominal 95% intervals


def model(variant, name: str):
    return next(m for m in variant.models if m.name == name)


def scored_frame(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    data, _ = prepare(frame, QUESTIONS)
    known = known_variables(data, QUESTIONS)
    known["tier"] = "categorical"
    return data, known


# --- recovery of a known truth (the acceptance rule) ----------------------------------------
# extended=False skips the multilevel model and creator ranking: they do not change the models
# checked here and would triple the run time of the 40 analyses.


def test_intent_on_trust_interval_covers_the_true_common_slope():
    truth = 0.5
    covered, estimates = 0, []
    for seed in SEEDS:
        result = analyze(simulated_frame(seed, slopes={t: truth for t in TIERS}), QUESTIONS, extended=False)
        fitted = model(result.variant("all responses"), "intent_on_trust")
        assert fitted.error is None and fitted.model == "OLS"
        trust = fitted.coefficient("trustworthiness")
        covered += trust.ci_low <= truth <= trust.ci_high
        estimates.append(trust.estimate)
    assert covered >= REQUIRED_COVERAGE, f"covered {covered}/20"
    assert np.mean(estimates) == pytest.approx(truth, abs=0.05)


def test_tier_slopes_cover_the_true_slope_of_every_tier():
    covered = {tier: 0 for tier in TIERS}
    estimates: dict[str, list[float]] = {tier: [] for tier in TIERS}
    for seed in SEEDS:
        result = analyze(simulated_frame(100 + seed), QUESTIONS, extended=False)
        fitted = model(result.variant("all responses"), "tier_slopes")
        assert fitted.error is None
        assert [s["tier"] for s in fitted.tier_slopes] == list(TIERS)
        for slope in fitted.tier_slopes:
            tier = slope["tier"]
            covered[tier] += slope["ci_low"] <= TRUE_SLOPES[tier] <= slope["ci_high"]
            estimates[tier].append(slope["slope"])
            assert slope["creators"] == 10 and slope["df"] == 9
    assert all(count >= REQUIRED_COVERAGE for count in covered.values()), covered
    means = {tier: float(np.mean(v)) for tier, v in estimates.items()}
    assert means["nano"] > means["micro"] > means["macro"] > means["celebrity"]
    assert means["nano"] > means["celebrity"] + 0.4
    for tier in TIERS:
        assert means[tier] == pytest.approx(TRUE_SLOPES[tier], abs=0.05)


# --- warnings instead of silence ------------------------------------------------------------


def test_few_creators_warn_that_cluster_errors_are_unreliable():
    result = analyze(simulated_frame(7, n=800, creators_per_tier=2), QUESTIONS)
    assert "8 creators: fewer than 20, so cluster-robust errors are unreliable." in result.warnings
    for fitted in result.variant("all responses").models:
        assert fitted.clusters == 8
        assert any(w.startswith("Only 8 creators") and "unreliable" in w for w in fitted.warnings), fitted.warnings
    slopes = model(result.variant("all responses"), "tier_slopes").tier_slopes
    assert {s["df"] for s in slopes} == {1}  # two creators per tier: t with 1 degree of freedom
    json.dumps(result.to_dict(), allow_nan=False)


def test_enough_creators_give_no_cluster_warning():
    result = analyze(simulated_frame(8, n=600, creators_per_tier=5), QUESTIONS)
    assert result.warnings == []
    assert not any("unreliable" in w for m in result.variant("all responses").models for w in m.warnings)
    classic = analyze(simulated_frame(8, n=600, creators_per_tier=2), QUESTIONS, se="classic")
    assert classic.warnings == []  # clusters only matter for cluster-robust errors


def test_perfect_separation_is_an_error_without_coefficients():
    data, known = scored_frame(simulated_frame(12, n=600))
    data["reported_purchase"] = (data["trustworthiness"] > 4).astype(float)
    for se in ("cluster", "classic"):
        result = fit_model(data, ModelSpec("sep", "logit", "reported_purchase", se=se), known)
        assert result.error is not None and "separation" in result.error.lower()
        assert result.coefficients == [] and result.marginal_effects == []
        json.dumps(result.to_dict(), allow_nan=False)


def test_a_small_tier_gets_a_tier_warning():
    frame = simulated_frame(13, n=1200)
    celebrity = frame.index[frame["tier"] == "celebrity"]
    frame = frame.drop(celebrity[20:])
    result = analyze(frame, QUESTIONS)
    fitted = model(result.variant("all responses"), "tier_slopes")
    assert fitted.error is None
    slopes = {s["tier"]: s for s in fitted.tier_slopes}
    assert slopes["celebrity"]["n"] == 20 < MIN_TIER_RESPONSES
    assert "The celebrity tier has only 20 complete responses; its slope is imprecise." in fitted.warnings
    assert not any(f"The {tier} tier" in w for tier in ("nano", "micro", "macro") for w in fitted.warnings)


def test_only_one_tier_cannot_be_compared():
    frame = simulated_frame(14, n=800)
    frame = frame[frame["tier"] == "micro"]
    fitted = model(analyze(frame, QUESTIONS).variant("all responses"), "tier_slopes")
    assert [s["tier"] for s in fitted.tier_slopes] == ["micro"]
    assert fitted.slopes_equal_test is None
    assert "Only one tier has complete responses; tiers cannot be compared." in fitted.warnings


def test_spec_validation_names_what_is_unknown():
    data, known = scored_frame(simulated_frame(15, n=300))
    with pytest.raises(ValueError, match="controls: “shoe_size” is not a known variable"):
        validate_spec(ModelSpec("m", "ols", "purchase_intent", controls=("shoe_size",)), known)
    with pytest.raises(ValueError, match="outcome: “happiness” is not a known variable"):
        validate_spec(ModelSpec("m", "ols", "happiness"), known)
    with pytest.raises(ValueError, match="predictor: “charisma” is not a known variable"):
        fit_model(data, ModelSpec("m", "ols", "purchase_intent", predictor="charisma"), known)
    with pytest.raises(ValueError, match="family: “probit” is not one of ols, logit, count"):
        validate_spec(ModelSpec("m", "probit", "reported_purchase"), known)
    with pytest.raises(ValueError, match="se: “bootstrap” is not one of cluster, classic, hc3"):
        validate_spec(ModelSpec("m", "ols", "purchase_intent", se="bootstrap"), known)
    with pytest.raises(ValueError, match="count_model: “zip”"):
        validate_spec(ModelSpec("m", "count", "purchase_count", count_model="zip"), known)
    with pytest.raises(ValueError, match="outcome and predictor must be numeric"):
        validate_spec(ModelSpec("m", "ols", "purchase_intent", predictor="platform"), known)
    with pytest.raises(ValueError, match="appears twice"):
        validate_spec(ModelSpec("m", "ols", "purchase_intent", controls=("trustworthiness",)), known)
    # analyze() checks its own options the same way.
    frame = simulated_frame(15, n=300)
    with pytest.raises(ValueError, match="se: “bootstrap”"):
        analyze(frame, QUESTIONS, se="bootstrap")
    with pytest.raises(ValueError, match="controls: “shoe_size”"):
        analyze(frame, QUESTIONS, controls=("shoe_size",))


def test_a_constant_numeric_control_is_an_error():
    data, known = scored_frame(simulated_frame(16, n=400))
    data["expertise"] = 4.0
    result = fit_model(data, ModelSpec("m", "ols", "purchase_intent", controls=("expertise",)), known)
    assert result.error == "No variation in expertise among the complete responses."
    assert result.coefficients == []


def test_a_constant_categorical_control_is_an_error():
    # Every complete response comes from one platform: the control cannot be estimated, and saying
    # nothing would report a model "controlled for platform" that has no platform term.
    data, known = scored_frame(simulated_frame(16, n=400))
    data["platform"] = "instagram"
    result = fit_model(data, ModelSpec("m", "ols", "purchase_intent", controls=("platform",)), known)
    assert result.error is not None and "No variation" in result.error and "platform" in result.error
    assert result.coefficients == []


# --- standard error options -----------------------------------------------------------------


def test_standard_error_options_change_errors_not_estimates():
    data, known = scored_frame(simulated_frame(17, n=1000))
    fits = {
        se: fit_model(data, ModelSpec("m", "ols", "purchase_intent", controls=("expertise",), se=se), known)
        for se in ("cluster", "classic", "hc3")
    }
    estimates = {se: [c.estimate for c in f.coefficients] for se, f in fits.items()}
    errors = {se: np.array([c.se for c in f.coefficients]) for se, f in fits.items()}
    np.testing.assert_allclose(estimates["classic"], estimates["cluster"], rtol=1e-12)
    np.testing.assert_allclose(estimates["hc3"], estimates["cluster"], rtol=1e-12)
    assert not np.allclose(errors["classic"], errors["cluster"], rtol=1e-3)
    assert not np.allclose(errors["hc3"], errors["cluster"], rtol=1e-3)
    assert not np.allclose(errors["hc3"], errors["classic"], rtol=1e-3)

    # Each is the named estimator.
    x = sm.add_constant(data[["trustworthiness", "expertise"]])
    y = data["purchase_intent"]
    groups = pd.factorize(data["creator_id"])[0]
    np.testing.assert_allclose(errors["classic"], sm.OLS(y, x).fit().bse, rtol=1e-9)
    np.testing.assert_allclose(errors["hc3"], sm.OLS(y, x).fit(cov_type="HC3").bse, rtol=1e-9)
    g, n, k = 40, len(y), 3
    cr0 = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": groups, "use_correction": False}).bse
    np.testing.assert_allclose(errors["cluster"], cr0 * math.sqrt(g / (g - 1) * (n - 1) / (n - k)), rtol=1e-9)

    assert "classical" in fits["classic"].standard_errors
    assert "HC3" in fits["hc3"].standard_errors
    assert "cluster-robust by creator" in fits["cluster"].standard_errors
    assert "G/(G−1)" in fits["cluster"].standard_errors
    assert fits["cluster"].statistics["df_inference"] == 39  # t(G − 1)
    # analyze() passes the option to every model; logit and count models have no HC3 and say they use HC0.
    result = analyze(simulated_frame(17, n=600), QUESTIONS, se="hc3")
    labels = {m.family: m.standard_errors for m in result.variant("all responses").models}
    assert labels == {
        "ols": "heteroskedasticity-robust HC3 standard errors",
        "logit": "heteroskedasticity-robust HC0 (sandwich) standard errors",
        "count": "heteroskedasticity-robust HC0 (sandwich) standard errors",
    }
    logit = next(m for m in result.variant("all responses").models if m.family == "logit")
    assert "HC3 is available for OLS only" in logit.warnings[-1]


def test_hc3_label_of_a_logit_model_matches_what_was_computed():
    # statsmodels has no HC3 for Logit (or GLM): asked for cov_type="HC3" it silently returns HC0.
    # A result labelled HC3 must not carry HC0 errors.
    data, known = scored_frame(simulated_frame(18, n=600))
    fitted = fit_model(data, ModelSpec("m", "logit", "reported_purchase", se="hc3"), known)
    assert fitted.error is None
    x = sm.add_constant(data[["trustworthiness"]])
    hc0 = sm.Logit(data["reported_purchase"], x).fit(disp=0, cov_type="HC0").bse.to_numpy()
    reported = np.array([c.se for c in fitted.coefficients])
    says_hc3 = "HC3" in fitted.standard_errors
    assert not (says_hc3 and np.allclose(reported, hc0, rtol=1e-9)), (
        f"labelled {fitted.standard_errors!r} but the errors are HC0: {reported} == {hc0}"
    )


# --- complete cases -------------------------------------------------------------------------


def test_complete_cases_and_dropped_counts_per_variable():
    data, known = scored_frame(simulated_frame(19, n=600))
    data.loc[data.index[0:10], "purchase_intent"] = np.nan
    data.loc[data.index[5:15], "trustworthiness"] = np.nan  # 5 overlap with purchase_intent
    data.loc[data.index[100:104], "follow_len"] = np.nan
    spec = ModelSpec("m", "ols", "purchase_intent", controls=("follow_len",))
    result = fit_model(data, spec, known)
    assert result.error is None
    assert result.dropped == {"purchase_intent": 10, "trustworthiness": 10, "follow_len": 4}
    assert result.dropped_total == 19
    assert result.n == 581
    # The estimates are those of the complete cases.
    complete = data.dropna(subset=["purchase_intent", "trustworthiness", "follow_len"])
    dummies = pd.get_dummies(complete["follow_len"], dtype=float).iloc[:, 1:]
    x = pd.concat([sm.add_constant(complete[["trustworthiness"]]), dummies], axis=1)
    expected = sm.OLS(complete["purchase_intent"], x).fit().params.to_numpy()
    np.testing.assert_allclose([c.estimate for c in result.coefficients], expected, rtol=1e-9)
    names = [c.name for c in result.coefficients]
    assert names == ["const", "trustworthiness", "follow_len[2]", "follow_len[3]", "follow_len[4]", "follow_len[5]"]


def test_the_half_rule_decides_which_responses_are_complete():
    frame = simulated_frame(20, n=600)
    frame.loc[0:7, ["tru_1", "tru_2", "tru_3"]] = np.nan  # 2 of 5 left: no trust score
    frame.loc[8:15, ["tru_1", "tru_2"]] = np.nan  # 3 of 5 left: scored
    result = analyze(frame, QUESTIONS)
    fitted = model(result.variant("all responses"), "intent_on_trust")
    assert fitted.n == 592
    assert fitted.dropped == {"trustworthiness": 8}
    by_tier = result.variant("all responses").by_tier
    assert sum(row["trustworthiness"]["n"] for row in by_tier) == 592
    assert sum(row["responses"] for row in by_tier) == 600


# --- the whole analysis ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_tests_and_flags():
    frame = simulated_frame(31, n=800)
    frame.loc[0:24, "is_test"] = True
    frame.loc[0:24, "flag_attention"] = True  # flagged test responses count neither way
    real = frame[~frame["is_test"]]
    return frame, real, analyze(frame, QUESTIONS)


def test_flagged_responses_give_a_second_variant(with_tests_and_flags):
    _, real, result = with_tests_and_flags
    flagged = int(real["flag_attention"].sum())
    assert flagged > 0
    assert result.responses == 775
    assert result.flagged == flagged
    assert [v.label for v in result.variants] == ["all responses", "excluding flagged responses"]
    everything, clean = result.variants
    assert everything.responses == 775
    assert clean.responses == 775 - flagged
    assert model(everything, "intent_on_trust").n == 775
    assert model(clean, "intent_on_trust").n == 775 - flagged
    assert sum(row["responses"] for row in clean.by_tier) == 775 - flagged
    # The two variants really are fitted on different data.
    assert model(everything, "intent_on_trust").coefficient("trustworthiness").estimate != pytest.approx(
        model(clean, "intent_on_trust").coefficient("trustworthiness").estimate, rel=1e-9
    )


def test_no_flagged_responses_give_one_variant():
    frame = simulated_frame(32, n=400)
    frame["flag_attention"] = False
    result = analyze(frame, QUESTIONS)
    assert [v.label for v in result.variants] == ["all responses"]
    assert result.flagged == 0
    frame = frame.drop(columns="flag_attention")
    assert [v.label for v in analyze(frame, QUESTIONS).variants] == ["all responses"]


def test_test_responses_are_excluded_and_counted(with_tests_and_flags):
    frame, real, result = with_tests_and_flags
    assert result.test_responses_excluded == 25
    assert result.responses == len(real) == 775
    assert sum(row["responses"] for row in result.link_counts) == 775
    assert sum(row["responses"] for row in result.variant("all responses").by_creator) == 775
    assert result.notes and all("coded 0" in note for note in result.notes)


def test_the_result_is_json_serializable(with_tests_and_flags):
    _, _, result = with_tests_and_flags
    text = json.dumps(result.to_dict(), allow_nan=False)
    back = json.loads(text)
    assert back["responses"] == 775 and back["test_responses_excluded"] == 25
    assert [v["label"] for v in back["variants"]] == ["all responses", "excluding flagged responses"]
    models = {m["name"]: m for m in back["variants"][0]["models"]}
    assert set(models) == {"intent_on_trust", "purchase_on_trust", "count_on_trust", "tier_slopes"}
    assert models["purchase_on_trust"]["coefficients"][1]["odds_ratio"] > 1
    assert models["tier_slopes"]["slopes_equal_test"]["df_num"] == 3
    assert {r["construct"] for r in back["variants"][0]["reliability"]} == {
        "trustworthiness",
        "expertise",
        "attractiveness",
        "purchase_intent",
    }


def test_descriptives_by_tier(with_tests_and_flags):
    _, real, result = with_tests_and_flags
    data, _ = prepare(real, QUESTIONS)
    rows = result.variant("all responses").by_tier
    assert [row["tier"] for row in rows] == list(TIERS)
    for row in rows:
        group = data[data["tier"] == row["tier"]]
        assert row["responses"] == len(group)
        for score in ("trustworthiness", "expertise", "purchase_intent", "purchase_probability", "spend"):
            stat = row[score]
            assert stat["n"] == group[score].notna().sum()
            assert stat["mean"] == pytest.approx(group[score].mean(), rel=1e-12)
            assert stat["ci_low"] < stat["mean"] < stat["ci_high"]
        rate = row["reported_purchase"]
        assert rate["rate"] == pytest.approx(group["reported_purchase"].mean(), rel=1e-12)
        assert 0 <= rate["ci_low"] <= rate["rate"] <= rate["ci_high"] <= 1


def test_describe_orders_tiers_and_handles_edge_groups():
    frame = pd.DataFrame(
        {
            "tier": ["celebrity", "nano", "macro", "micro", "micro"],
            "trustworthiness": [5.0, 4.0, np.nan, 3.0, 5.0],
            "reported_purchase": [1.0, 1.0, 0.0, 1.0, 1.0],
        }
    )
    rows = describe(frame, "tier")
    assert [r["tier"] for r in rows] == ["nano", "micro", "macro", "celebrity"]
    nano, micro, macro, _ = rows
    assert nano["trustworthiness"] == {"n": 1, "mean": 4.0, "ci_low": None, "ci_high": None}
    assert macro["trustworthiness"] == {"n": 0, "mean": None, "ci_low": None, "ci_high": None}
    # mean 4, sd √2, n 2: half-width t(0.975, 1) · √2/√2 = 12.706…
    assert micro["trustworthiness"]["ci_high"] - 4.0 == pytest.approx(12.7062047, rel=1e-6)
    # All-ones and all-zeros rates: the Wilson interval stays inside [0, 1] and is not degenerate.
    assert micro["reported_purchase"]["rate"] == 1.0
    assert 0 < micro["reported_purchase"]["ci_low"] < 1 and micro["reported_purchase"]["ci_high"] == pytest.approx(1.0)
    assert macro["reported_purchase"]["rate"] == 0.0
    assert macro["reported_purchase"]["ci_low"] == pytest.approx(0.0) and 0 < macro["reported_purchase"]["ci_high"] < 1
    json.dumps(rows, allow_nan=False)


def test_link_counts_give_responses_and_flags_per_creator(with_tests_and_flags):
    _, real, result = with_tests_and_flags
    counts = result.link_counts
    expected = real.groupby("creator_id").agg(
        handle=("creator_handle", "first"), responses=("tier", "size"), flagged=("flag_attention", "sum")
    )
    assert [row["creator_id"] for row in counts] == sorted(expected.index)
    for row in counts:
        want = expected.loc[row["creator_id"]]
        assert row["creator_handle"] == want["handle"]
        assert row["responses"] == want["responses"]
        assert row["flag_attention"] == want["flagged"]
    assert sum(row["flag_attention"] for row in counts) == result.flagged


def test_link_counts_sum_every_flag_column():
    frame = pd.DataFrame(
        {
            "creator_id": [2, 1, 2, 2],
            "creator_handle": ["b", "a", "b", "b"],
            "flag_speeder": [True, False, True, False],
            "flag_duplicate": [False, False, True, False],
        }
    )
    assert link_counts(frame) == [
        {"creator_id": 1, "creator_handle": "a", "flag_speeder": 0, "flag_duplicate": 0, "responses": 1},
        {"creator_id": 2, "creator_handle": "b", "flag_speeder": 2, "flag_duplicate": 1, "responses": 3},
    ]
