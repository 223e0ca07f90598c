"""Multilevel model, ordinal model and creator rankings (pure; no database)."""

import numpy as np
import pandas as pd
import pytest

from surveys.analysis import prepare
from surveys.multilevel import fit_multilevel, fit_ordinal, rank_creators
from surveys.simulation import library_questions, simulated_frame

pytestmark = pytest.mark.nodb


@pytest.fixture(scope="module")
def scored():
    data, _ = prepare(simulated_frame(7, n=2000), library_questions())
    return data


def test_multilevel_reports_variances_icc_and_agrees_with_ols(scored):
    result = fit_multilevel(scored)
    assert result.error is None and result.converged and result.creators == 40
    assert 0 < result.icc < 1
    assert result.icc == pytest.approx(result.creator_variance / (result.creator_variance + result.residual_variance))
    assert abs(result.ols_check["difference_in_ols_se"]) < 3
    assert result.warnings == []


def test_no_creator_differences_is_a_boundary_warning_not_a_silent_zero():
    rng = np.random.default_rng(3)
    n = 1200
    frame = pd.DataFrame({"creator_id": rng.integers(0, 30, n), "trustworthiness": rng.normal(4, 1, n)})
    noise = pd.Series(rng.normal(0, 1, n))
    noise -= noise.groupby(frame["creator_id"]).transform("mean")  # creators' means identical: variance 0
    frame["purchase_intent"] = 1 + 0.5 * frame["trustworthiness"] + noise
    result = fit_multilevel(frame)
    slope = next(f for f in result.fixed_effects if f["name"] == "trustworthiness")
    assert slope["estimate"] == pytest.approx(0.5, abs=0.08)
    assert any("boundary" in w for w in result.warnings)
    assert result.icc == pytest.approx(0, abs=1e-6)


def test_ordinal_thresholds_increase_and_large_samples_are_subsampled(scored):
    full = fit_ordinal(scored, outcome="pp_juster")
    assert full.subsample is None and full.coefficient["estimate"] > 0
    zetas = [t["zeta"] for t in full.thresholds]
    assert zetas == sorted(zetas) and full.thresholds[0]["between"] == "0|1"
    small = fit_ordinal(scored, outcome="pp_juster", max_rows=500)
    assert small.n == full.n and small.n_used == 500
    assert "subsample of 500" in small.subsample and "seed" in small.subsample
    assert small.coefficient["estimate"] == pytest.approx(full.coefficient["estimate"], abs=0.25)


def test_an_outcome_with_two_levels_is_refused(scored):
    assert "at least 3" in fit_ordinal(scored, outcome="bought").error


def test_few_enthusiastic_answers_do_not_top_the_ranking():
    rng = np.random.default_rng(11)
    rows = [{"creator_id": c, "creator_handle": f"c{c}", "tier": "micro", "trustworthiness": rng.normal(4.0 + 0.05 * c, 1)}
            for c in range(20) for _ in range(200)]
    rows += [{"creator_id": 99, "creator_handle": "tiny_fan_club", "tier": "nano", "trustworthiness": 6.9} for _ in range(6)]
    rows += [{"creator_id": 98, "creator_handle": "few_but_ranked", "tier": "nano", "trustworthiness": 6.5} for _ in range(12)]
    ranking = rank_creators(pd.DataFrame(rows), minimum=10)
    by_handle = {r["creator_handle"]: r for r in ranking.rows}
    tiny = by_handle["tiny_fan_club"]
    assert tiny["rank"] is None and "fewer than 10" in tiny["note"]
    assert tiny["trust_raw"] == pytest.approx(6.9) and tiny["trust_shrunken"] < tiny["trust_raw"]
    few = by_handle["few_but_ranked"]
    assert few["rank"] is not None and few["trust_shrunken"] < few["trust_raw"]
    big = by_handle["c19"]
    assert abs(big["trust_shrunken"] - big["trust_raw"]) < abs(few["trust_shrunken"] - few["trust_raw"])
    ranks = [r["rank"] for r in ranking.rows if r["rank"] is not None]
    assert ranks == list(range(1, 22))
    assert all(r["trust_ci_low"] < r["trust_shrunken"] < r["trust_ci_high"] for r in ranking.rows)
