"""The analysis core against R (fixture data, script and output committed in tests/fixtures/analysis/).

Tolerances: OLS, Logit and Poisson coefficients and cluster-robust SEs to
1e-6 relative; negative binomial coefficients to 1e-4 and theta to 1e-4; the
negative binomial SEs to 2e-2, because R's ``vcovCL`` on ``glm.nb`` treats
theta as fixed while statsmodels' sandwich includes the score of alpha
(estimated jointly) — a real, small difference of about 1%. Alpha to 1e-9.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from surveys.analysis import ModelSpec, fit_model, known_variables, prepare
from surveys.scoring import reliability, scale_items
from surveys.simulation import library_questions

pytestmark = pytest.mark.nodb
HERE = Path(__file__).parent / "fixtures" / "analysis"
REFERENCE = json.loads((HERE / "reference.json").read_text())
METAS = library_questions(("ohanian_1990", "spears_singh_2004", "reported_purchase", "about_you"))


@pytest.fixture(scope="module")
def scored():
    frame = pd.read_csv(HERE / "fixture.csv")
    frame["creator_handle"] = "c" + frame["creator_id"].astype(str)
    frame["is_test"] = False
    data, _ = prepare(frame, METAS)
    known = known_variables(data, METAS)
    known["tier"] = "categorical"
    return data, known


def fitted(scored, spec: ModelSpec):
    data, known = scored
    result = fit_model(data, spec, known)
    assert result.error is None, result.error
    return result


def assert_close(result, reference: dict, *, coef: float, se: float) -> None:
    assert result.n == reference["n"]
    estimates = np.array([c.estimate for c in result.coefficients])
    errors = np.array([c.se for c in result.coefficients])
    np.testing.assert_allclose(estimates, reference["coef"], rtol=coef)
    np.testing.assert_allclose(errors, reference["se"], rtol=se)


def test_ols_matches_lm_with_vcovcl(scored):
    result = fitted(scored, ModelSpec("m", "ols", "purchase_intent"))
    assert_close(result, REFERENCE["ols"], coef=1e-6, se=1e-6)
    assert [c.name for c in result.coefficients] == ["const", "trustworthiness"]
    assert result.clusters == 40 and result.statistics["df_inference"] == 39


def test_ols_with_controls_matches_r_dummy_coding(scored):
    spec = ModelSpec("m", "ols", "purchase_intent", controls=("expertise", "attractiveness", "platform", "follow_len"))
    result = fitted(scored, spec)
    assert_close(result, REFERENCE["ols_controls"], coef=1e-6, se=1e-6)
    assert [c.name for c in result.coefficients][4:7] == ["platform[tiktok]", "platform[youtube]", "follow_len[2]"]
    assert result.dropped_total == 3000 - REFERENCE["ols_controls"]["n"]
    assert result.dropped["follow_len"] > 0 and result.dropped["trustworthiness"] >= 40


def test_logit_matches_glm_binomial_with_vcovcl(scored):
    result = fitted(scored, ModelSpec("m", "logit", "reported_purchase"))
    assert_close(result, REFERENCE["logit"], coef=1e-6, se=1e-6)
    trust = result.coefficient("trustworthiness")
    assert trust.odds_ratio == pytest.approx(np.exp(REFERENCE["logit"]["coef"][1]), rel=1e-6)
    assert result.marginal_effects[0]["name"] == "trustworthiness" and result.marginal_effects[0]["ame"] > 0


def test_poisson_matches_glm_poisson_with_vcovcl(scored):
    result = fitted(scored, ModelSpec("m", "count", "purchase_count", count_model="poisson"))
    assert result.model == "Poisson"
    assert_close(result, REFERENCE["poisson"], coef=1e-6, se=1e-6)
    assert result.statistics["pearson_dispersion"] == pytest.approx(REFERENCE["poisson_dispersion"], rel=1e-9)


def test_overdispersed_counts_are_fitted_as_negative_binomial_matching_glm_nb(scored):
    result = fitted(scored, ModelSpec("m", "count", "purchase_count"))
    assert result.model == "negative binomial (NB2)"
    assert_close(result, REFERENCE["negbin"], coef=1e-4, se=2e-2)
    assert result.statistics["theta"] == pytest.approx(REFERENCE["negbin"]["theta"], rel=1e-4)


def test_tier_slopes_and_the_equal_slopes_wald_test_match_r(scored):
    result = fitted(scored, ModelSpec("m", "ols", "purchase_intent", by_tier=True))
    assert_close(result, REFERENCE["tier"], coef=1e-6, se=1e-6)
    for slope in result.tier_slopes:
        expected = REFERENCE["tier"]["slopes"][slope["tier"]]
        assert slope["slope"] == pytest.approx(expected["slope"], rel=1e-6)
        assert slope["se"] == pytest.approx(expected["se"], rel=1e-6)
        assert slope["creators"] == 10 and slope["df"] == 9
    assert [s["tier"] for s in result.tier_slopes] == ["nano", "micro", "macro", "celebrity"]
    test = result.slopes_equal_test
    assert test["statistic"] == pytest.approx(REFERENCE["tier"]["wald_f"], rel=1e-6)
    assert (test["df_num"], test["df_denom"]) == (3, 39)


def test_alpha_feldt_interval_and_item_statistics_match_psych(scored):
    data, _ = scored
    result = reliability(data, "trustworthiness", scale_items(METAS)["trustworthiness"])
    expected = REFERENCE["alpha"]
    assert result.n_complete == expected["n_complete"]
    assert result.alpha == pytest.approx(expected["raw_alpha"], rel=1e-9)
    assert result.alpha_ci_low == pytest.approx(expected["feldt_lower"], rel=1e-9)
    assert result.alpha_ci_high == pytest.approx(expected["feldt_upper"], rel=1e-9)
    np.testing.assert_allclose([i.alpha_if_deleted for i in result.item_statistics], expected["alpha_if_deleted"], rtol=1e-9)
    np.testing.assert_allclose([i.corrected_item_total for i in result.item_statistics], expected["r_drop"], rtol=1e-9)


def test_multilevel_model_matches_lmer(scored):
    from surveys.multilevel import fit_multilevel

    data, _ = scored
    result = fit_multilevel(data)
    expected = REFERENCE["lmer"]
    assert result.error is None and result.converged and result.n == expected["n"]
    np.testing.assert_allclose([f["estimate"] for f in result.fixed_effects], expected["fixef"], rtol=1e-4)
    np.testing.assert_allclose([f["se"] for f in result.fixed_effects], expected["se"], rtol=1e-2)
    assert result.creator_variance == pytest.approx(expected["creator_variance"], rel=1e-2)
    assert result.residual_variance == pytest.approx(expected["residual_variance"], rel=1e-2)
    assert result.icc == pytest.approx(expected["creator_variance"] / (expected["creator_variance"] + expected["residual_variance"]), rel=1e-2)
    assert result.warnings == []  # not on the boundary, agrees with OLS


def test_shrunken_creator_means_match_lmer_blups(scored):
    from surveys.multilevel import rank_creators

    data, _ = scored
    ranking = rank_creators(data)
    expected = dict(zip(REFERENCE["shrunken_trust"]["creator_id"], REFERENCE["shrunken_trust"]["mean"], strict=True))
    for row in ranking.rows:
        assert row["trust_shrunken"] == pytest.approx(expected[row["creator_id"]], rel=1e-4)


def test_ordinal_model_matches_polr(scored):
    from surveys.multilevel import fit_ordinal

    data, _ = scored
    result = fit_ordinal(data, outcome="pi_1")
    expected = REFERENCE["polr"]
    assert result.error is None and result.n == expected["n"] and result.subsample is None
    # statsmodels' own OrderedModel tests hold polr to about 1e-4.
    assert result.coefficient["estimate"] == pytest.approx(expected["coef"], rel=1e-4)
    assert result.coefficient["se"] == pytest.approx(expected["se"], rel=1e-3)
    np.testing.assert_allclose([t["zeta"] for t in result.thresholds], expected["zeta"], rtol=1e-4, atol=1e-5)
    assert [t["between"] for t in result.thresholds][:2] == ["1|2", "2|3"]
