"""Multilevel model, ordinal model and fair creator rankings. Pure: pandas in, dataclasses out.

- Multilevel: purchase intent on trust with a random intercept per creator
  (statsmodels MixedLM, REML), the creator variance and the ICC. A variance
  on the boundary is a warning, and the fixed effects are cross-checked
  against OLS (statsmodels #10239: creator-level effects can come back as
  exactly 0 with ``converged=True``).
- Ordinal: one ordered outcome on trust with OrderedModel (logit link, no
  constant — statsmodels #7418), thresholds in ``MASS::polr`` form
  (logit P(Y ≤ j) = ζ_j − η).
- Creator ranking: raw and shrunken (empirical Bayes: the BLUPs of a
  random-intercept model) mean trust and purchase rate per creator, so a
  creator with six enthusiastic answers does not top one with four hundred.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.miscmodels.ordinal_model import OrderedModel

from surveys.scoring import clean_json

TRUST = "trustworthiness"
MIN_RANKED_RESPONSES = 10
ORDINAL_MAX_ROWS = 50_000
ORDINAL_SEED = 20240601


@dataclass
class MultilevelResult:
    outcome: str
    predictor: str
    n: int
    creators: int
    fixed_effects: list[dict[str, Any]]
    creator_variance: float | None
    residual_variance: float | None
    icc: float | None
    converged: bool
    method: str = "MixedLM, REML, random intercept per creator"
    ols_check: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return clean_json(asdict(self))


def _complete(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    return frame[columns].dropna()


def fit_mixed(y: pd.Series, x: Any, groups: np.ndarray) -> tuple[Any, list[str]]:
    """Return a REML random-intercept fit and the warnings statsmodels raised.

    L-BFGS can stop at a degenerate point (variance 0, an intercept of exactly 0,
    an infinite likelihood) and still say ``converged`` (statsmodels #10239), so
    BFGS is tried first, and a fit that looks degenerate is refitted with
    derivative-free optimisers; the best finite REML likelihood wins.
    """
    candidates = []
    for method in ("bfgs", "powell", "nm"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                fitted = sm.MixedLM(y, x, groups=groups).fit(reml=True, method=method)
            except Exception:  # noqa: BLE001 - try the next optimiser
                continue
        messages = [str(w.message) for w in caught]
        degenerate = not np.isfinite(fitted.llf) or any("singular" in m.lower() for m in messages)
        candidates.append((fitted, messages))
        if not degenerate and fitted.converged:
            break
    if not candidates:
        raise ValueError("every optimiser failed")
    finite = [c for c in candidates if np.isfinite(c[0].llf)] or candidates
    return max(finite, key=lambda c: c[0].llf if np.isfinite(c[0].llf) else -np.inf)


def fit_multilevel(frame: pd.DataFrame, *, outcome: str = "purchase_intent", predictor: str = TRUST) -> MultilevelResult:
    """Return a random-intercept model of ``outcome`` on ``predictor`` with creators as groups."""
    data = _complete(frame, [outcome, predictor, "creator_id"])
    groups = data["creator_id"].to_numpy()
    g = len(np.unique(groups))
    result = MultilevelResult(outcome, predictor, len(data), g, [], None, None, None, False)
    if g < 2 or len(data) < 10:
        result.error = "A multilevel model needs at least 2 creators and 10 complete responses."
        return result
    x = sm.add_constant(data[[predictor]].astype(float), prepend=True)
    y = data[outcome].astype(float)
    try:
        fitted, messages = fit_mixed(y, x, groups)
    except Exception as exc:  # noqa: BLE001
        result.error = f"The multilevel model could not be fitted: {exc}"
        return result
    ci = np.asarray(fitted.conf_int())
    for i, name in enumerate(x.columns):
        result.fixed_effects.append(
            clean_json(
                {
                    "name": name,
                    "estimate": float(fitted.fe_params.iloc[i]),
                    "se": float(fitted.bse_fe.iloc[i]),
                    "ci_low": float(ci[i, 0]),
                    "ci_high": float(ci[i, 1]),
                    "p_value": float(fitted.pvalues.iloc[i]),
                }
            )
        )
    creator_variance = float(np.asarray(fitted.cov_re)[0, 0])
    residual = float(fitted.scale)
    result.creator_variance, result.residual_variance = creator_variance, residual
    result.icc = creator_variance / (creator_variance + residual) if creator_variance + residual > 0 else None
    result.converged = bool(fitted.converged)
    if not fitted.converged:
        result.warnings.append("The multilevel fit did not converge; read its estimates with care.")
    for message in dict.fromkeys(messages):
        if "boundary" in message.lower() or "singular" in message.lower():
            result.warnings.append(f"statsmodels: {message}")
    if creator_variance < 1e-6 * max(residual, 1e-12):
        result.warnings.append(
            "The creator variance is on the boundary (≈ 0): the data show no differences between creators "
            "beyond chance, so the multilevel model reduces to OLS."
        )
    ols = sm.OLS(y, x).fit(cov_type="cluster", cov_kwds={"groups": pd.factorize(groups)[0]})
    slope, ols_slope, ols_se = float(fitted.fe_params[predictor]), float(ols.params[predictor]), float(ols.bse[predictor])
    result.ols_check = clean_json({"ols_slope": ols_slope, "ols_cluster_se": ols_se, "difference_in_ols_se": (slope - ols_slope) / ols_se})
    if slope == 0.0 or abs(slope - ols_slope) > 3 * ols_se:
        result.warnings.append(
            f"The multilevel slope ({slope:.3g}) disagrees with OLS ({ols_slope:.3g} ± {ols_se:.2g}); "
            "the multilevel fit may be degenerate (statsmodels #10239)."
        )
    return result


# --- ordinal --------------------------------------------------------------------------------


@dataclass
class OrdinalResult:
    outcome: str
    predictor: str
    n: int
    n_used: int
    subsample: str | None
    coefficient: dict[str, Any] | None
    thresholds: list[dict[str, Any]]
    converged: bool
    method: str = "OrderedModel, logit link, no constant; thresholds as MASS::polr zeta (logit P(Y ≤ j) = ζ_j − η)"
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return clean_json(asdict(self))


def fit_ordinal(
    frame: pd.DataFrame, *, outcome: str, predictor: str = TRUST, max_rows: int = ORDINAL_MAX_ROWS
) -> OrdinalResult:
    """Return an ordered-logit model of the integer ``outcome`` on ``predictor``.

    Above ``max_rows`` complete responses the model is fitted on a simple random
    subsample of ``max_rows`` rows (fixed seed), and the result says so.
    """
    data = _complete(frame, [outcome, predictor])
    n = len(data)
    result = OrdinalResult(outcome, predictor, n, n, None, None, [], False)
    subsample = None
    if n > max_rows:
        data = data.sample(n=max_rows, random_state=ORDINAL_SEED)
        subsample = f"fitted on a simple random subsample of {max_rows:,} of {n:,} responses (seed {ORDINAL_SEED})"
        result.n_used, result.subsample = max_rows, subsample
    levels = np.sort(data[outcome].unique())
    if len(levels) < 3:
        result.error = "An ordinal model needs an outcome with at least 3 observed levels."
        return result
    y = pd.Series(pd.Categorical(data[outcome], categories=levels, ordered=True), index=data.index)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            model = OrderedModel(y, data[[predictor]].astype(float), distr="logit")
            fitted = model.fit(method="bfgs", disp=False, maxiter=500)
        except Exception as exc:  # noqa: BLE001
            result.error = f"The ordinal model could not be fitted: {exc}"
            return result
    result.converged = bool(fitted.mle_retvals.get("converged", False))
    if not result.converged:
        result.warnings.append("The ordinal fit did not converge.")
    beta, se = float(fitted.params[predictor]), float(fitted.bse[predictor])
    z = stats.norm.ppf(0.975)
    result.coefficient = clean_json(
        {
            "name": predictor,
            "estimate": beta,
            "se": se,
            "ci_low": beta - z * se,
            "ci_high": beta + z * se,
            "odds_ratio": math.exp(beta),
            "p_value": float(fitted.pvalues[predictor]),
        }
    )
    cuts = model.transform_threshold_params(np.asarray(fitted.params))[1:-1]
    for low, high, cut in zip(levels[:-1], levels[1:], cuts, strict=True):
        result.thresholds.append(clean_json({"between": f"{_label(low)}|{_label(high)}", "zeta": float(cut)}))
    return result


def _label(value: Any) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


# --- creator ranking ------------------------------------------------------------------------


@dataclass
class CreatorRanking:
    rows: list[dict[str, Any]]
    minimum_responses: int
    method: str
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return clean_json(asdict(self))


def _shrunken(frame: pd.DataFrame, column: str) -> tuple[dict[Any, tuple[float, float]], float | None, str | None]:
    """Return {creator: (shrunken mean, conditional SD)} from a random-intercept model of ``column``."""
    data = _complete(frame, [column, "creator_id"])
    if data["creator_id"].nunique() < 3:
        return {}, None, "fewer than 3 creators: no shrinkage"
    fitted, _ = fit_mixed(data[column].astype(float), np.ones((len(data), 1)), data["creator_id"].to_numpy())
    mean = float(np.asarray(fitted.fe_params)[0])
    tau2 = float(np.asarray(fitted.cov_re)[0, 0])
    out: dict[Any, tuple[float, float]] = {}
    if tau2 < 1e-9:
        for creator in data["creator_id"].unique():
            out[creator] = (mean, 0.0)
        return out, mean, f"{column}: no creator variance, so every creator is shrunk to the brand mean"
    note = None
    effects = fitted.random_effects
    # Conditional variance of a creator's intercept given its data: 1 / (1/τ² + n/σ²).
    sigma2 = float(fitted.scale)
    counts = data.groupby("creator_id").size()
    for creator, effect in effects.items():
        blup = float(np.asarray(effect)[0])
        variance = 1 / (1 / tau2 + counts[creator] / sigma2)
        out[creator] = (mean + blup, math.sqrt(variance))
    return out, mean, note


def rank_creators(frame: pd.DataFrame, *, minimum: int = MIN_RANKED_RESPONSES) -> CreatorRanking:
    """Return every creator's raw and shrunken mean trust and purchase rate; rank those with ≥ ``minimum`` responses."""
    z = stats.norm.ppf(0.975)
    notes: list[str] = []
    trust, _, note = _shrunken(frame, TRUST) if TRUST in frame else ({}, None, None)
    notes += [note] if note else []
    purchase, _, note = _shrunken(frame, "reported_purchase") if "reported_purchase" in frame else ({}, None, None)
    notes += [note] if note else []
    rows = []
    for creator, group in frame.groupby("creator_id", sort=False):
        row: dict[str, Any] = {
            "creator_id": creator,
            "creator_handle": group["creator_handle"].iloc[0] if "creator_handle" in group else str(creator),
            "tier": group["tier"].iloc[0] if "tier" in group else None,
            "responses": len(group),
        }
        if TRUST in frame:
            values = group[TRUST].dropna()
            row["trust_n"] = len(values)
            row["trust_raw"] = float(values.mean()) if len(values) else None
            if creator in trust:
                centre, sd = trust[creator]
                row.update({"trust_shrunken": centre, "trust_ci_low": centre - z * sd, "trust_ci_high": centre + z * sd})
        if "reported_purchase" in frame:
            values = group["reported_purchase"].dropna()
            row["purchase_n"] = len(values)
            row["purchase_rate_raw"] = float(values.mean()) if len(values) else None
            if creator in purchase:
                centre, sd = purchase[creator]
                row.update(
                    {
                        "purchase_rate_shrunken": min(1.0, max(0.0, centre)),
                        "purchase_rate_ci_low": max(0.0, centre - z * sd),
                        "purchase_rate_ci_high": min(1.0, centre + z * sd),
                    }
                )
        rows.append(row)
    ranked = sorted(
        (r for r in rows if r["responses"] >= minimum and r.get("trust_shrunken") is not None),
        key=lambda r: -r["trust_shrunken"],
    )
    for position, row in enumerate(ranked, start=1):
        row["rank"] = position
    unranked = sorted((r for r in rows if "rank" not in r), key=lambda r: -r["responses"])
    for row in unranked:
        row["rank"] = None
        row["note"] = f"fewer than {minimum} responses: listed, not ranked" if row["responses"] < minimum else "no trust scores"
    return CreatorRanking(
        rows=clean_json(ranked + unranked),
        minimum_responses=minimum,
        method=(
            "Ranked by shrunken mean trust: empirical Bayes estimates (BLUPs) from a random-intercept model "
            "(MixedLM, REML), which pull creators with few responses toward the brand mean. Intervals are "
            "±1.96 conditional standard deviations. Purchase rates use the same model on the 0/1 answer "
            "(a linear approximation, clipped to 0–1)."
        ),
        warnings=notes,
    )
