"""Does trust drive purchases? Pure statistics over a responses frame; no ORM.

Input: a pandas frame with one row per response (question codes as columns,
plus ``creator_id``, ``creator_handle``, ``tier``, ``platform``,
``followers``, the ``flag_*`` columns and ``is_test``) and the survey's
:class:`~surveys.scoring.QuestionMeta`. Output: dataclasses that serialize to
JSON with ``to_dict()``.

Models are built from a :class:`ModelSpec` over known variable names into
design matrices by hand: no user text ever reaches a formula parser.
Standard errors default to cluster-robust by creator with statsmodels'
default small-sample correction G/(G−1)·(N−1)/(N−K) — the one Stata's
``regress, vce(cluster)`` and R's ``sandwich::vcovCL(type = "HC1")`` use — and
t(G−1) inference.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.stats.proportion import proportion_confint
from statsmodels.tools.sm_exceptions import ConvergenceWarning, PerfectSeparationWarning

from surveys.multilevel import (
    MIN_RANKED_RESPONSES,
    CreatorRanking,
    MultilevelResult,
    OrdinalResult,
    fit_multilevel,
    fit_ordinal,
    rank_creators,
)
from surveys.scoring import SCALE_CONSTRUCTS, QuestionMeta, Reliability, clean_json, reliabilities, score_responses

TIERS = ("nano", "micro", "macro", "celebrity")
FLAG_COLUMNS = ("flag_honeypot", "flag_speeder", "flag_straightliner", "flag_attention", "flag_duplicate")
TRUST = "trustworthiness"
MIN_CLUSTERS = 20
MIN_TIER_RESPONSES = 30
OVERDISPERSION = 1.5  # Pearson χ²/df above which counts are fitted as negative binomial
SE_TYPES = ("cluster", "classic", "hc3")
SE_LABELS = {
    "cluster": "cluster-robust by creator, CR1 correction G/(G−1)·(N−1)/(N−K) "
    "(as Stata's vce(cluster) and R's sandwich::vcovCL(type = \"HC1\")), t(G−1) inference",
    "classic": "classical (homoskedastic) standard errors",
    "hc3": "heteroskedasticity-robust HC3 standard errors",
    "hc0": "heteroskedasticity-robust HC0 (sandwich) standard errors",
}
SCORE_VARIABLES = (*SCALE_CONSTRUCTS, "reported_purchase", "purchase_count", "spend")


# --- specs ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ModelSpec:
    """A model over known variable names: ``family`` ∈ ols, logit, count."""

    name: str
    family: Literal["ols", "logit", "count"]
    outcome: str
    predictor: str = TRUST
    controls: tuple[str, ...] = ()
    by_tier: bool = False
    se: str = "cluster"
    count_model: Literal["auto", "poisson", "negbin"] = "auto"  # auto: negative binomial when overdispersed


def known_variables(frame: pd.DataFrame, questions: Sequence[QuestionMeta]) -> dict[str, str]:
    """Return {variable: "numeric" | "categorical"} of everything a spec may name."""
    known = {name: "numeric" for name in SCORE_VARIABLES if name in frame}
    if "platform" in frame:
        known["platform"] = "categorical"
    for q in questions:
        if q.construct == "demographic" and q.kind in ("single", "yes_no") and q.code in frame:
            known[q.code] = "categorical"
    return known


def validate_spec(spec: ModelSpec, known: dict[str, str]) -> None:
    """Raise ValueError naming the first unknown variable or option in ``spec``."""
    if spec.family not in ("ols", "logit", "count"):
        raise ValueError(f"family: “{spec.family}” is not one of ols, logit, count")
    if spec.se not in SE_TYPES:
        raise ValueError(f"se: “{spec.se}” is not one of {', '.join(SE_TYPES)}")
    if spec.count_model not in ("auto", "poisson", "negbin"):
        raise ValueError(f"count_model: “{spec.count_model}” is not one of auto, poisson, negbin")
    for role, name in [("outcome", spec.outcome), ("predictor", spec.predictor)] + [
        ("controls", c) for c in spec.controls
    ]:
        if name not in known:
            raise ValueError(f"{role}: “{name}” is not a known variable ({', '.join(sorted(known))})")
    if known[spec.outcome] != "numeric" or known[spec.predictor] != "numeric":
        raise ValueError("outcome and predictor must be numeric scores")
    if len(set(spec.controls) | {spec.outcome, spec.predictor}) != len(spec.controls) + 2:
        raise ValueError("a variable appears twice in the spec")


# --- results --------------------------------------------------------------------------------


@dataclass
class Coefficient:
    name: str
    estimate: float | None
    se: float | None
    statistic: float | None
    p_value: float | None
    ci_low: float | None
    ci_high: float | None
    odds_ratio: float | None = None
    odds_ratio_ci_low: float | None = None
    odds_ratio_ci_high: float | None = None


@dataclass
class ModelResult:
    name: str
    family: str
    model: str
    outcome: str
    predictor: str
    controls: list[str]
    n: int
    dropped: dict[str, int]
    dropped_total: int
    clusters: int | None
    standard_errors: str
    coefficients: list[Coefficient] = field(default_factory=list)
    marginal_effects: list[dict[str, Any]] = field(default_factory=list)
    tier_slopes: list[dict[str, Any]] = field(default_factory=list)
    slopes_equal_test: dict[str, Any] | None = None
    statistics: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    error: str | None = None

    def coefficient(self, name: str) -> Coefficient:
        return next(c for c in self.coefficients if c.name == name)

    def to_dict(self) -> dict[str, Any]:
        return clean_json(asdict(self))


# --- design matrices ------------------------------------------------------------------------


@dataclass
class Design:
    y: pd.Series
    x: pd.DataFrame
    groups: np.ndarray
    n: int
    dropped: dict[str, int]
    dropped_total: int
    tiers: list[str]
    constant_controls: list[str] = field(default_factory=list)


def build_design(frame: pd.DataFrame, spec: ModelSpec, known: dict[str, str]) -> Design:
    """Return the complete-case design of ``spec``: y, X (with constant), creator groups and what was dropped."""
    variables = [spec.outcome, spec.predictor, *spec.controls] + (["tier"] if spec.by_tier else [])
    needed = frame[variables + ["creator_id"]]
    dropped = {v: int(needed[v].isna().sum()) for v in variables if needed[v].isna().any()}
    data = needed.dropna()  # drop missing rows before building groups (statsmodels #1220, #9384)
    x = pd.DataFrame({"const": 1.0, spec.predictor: data[spec.predictor].astype(float)}, index=data.index)
    tiers: list[str] = []
    if spec.by_tier:
        tiers = [t for t in TIERS if (data["tier"] == t).any()]
        for tier in tiers[1:]:
            x[f"tier[{tier}]"] = (data["tier"] == tier).astype(float)
        for tier in tiers[1:]:
            x[f"{spec.predictor}:tier[{tier}]"] = x[spec.predictor] * x[f"tier[{tier}]"]
    constant: list[str] = []
    for control in spec.controls:
        if known[control] == "categorical":
            levels = sorted(data[control].unique(), key=_sort_key)
            if len(levels) < 2:
                constant.append(control)
            for level in levels[1:]:
                x[f"{control}[{_label(level)}]"] = (data[control] == level).astype(float)
        else:
            x[control] = data[control].astype(float)
    groups = pd.factorize(data["creator_id"])[0]
    return Design(
        y=data[spec.outcome].astype(float),
        x=x,
        groups=groups,
        n=len(data),
        dropped=dropped,
        dropped_total=len(needed) - len(data),
        tiers=tiers,
        constant_controls=constant,
    )


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, float(value)) if isinstance(value, int | float | np.number) else (1, str(value))


def _label(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _fit_kwargs(se: str, groups: np.ndarray) -> dict[str, Any]:
    if se == "cluster":
        return {
            "cov_type": "cluster",
            "cov_kwds": {"groups": groups, "use_correction": True, "df_correction": True},
            "use_t": True,
        }
    if se in ("hc3", "hc0"):
        return {"cov_type": se.upper(), "use_t": True}
    return {"cov_type": "nonrobust", "use_t": True}


# --- fitting --------------------------------------------------------------------------------


def _coefficients(result: Any, names: Sequence[str], *, odds: bool = False) -> list[Coefficient]:
    params, bse = np.asarray(result.params), np.asarray(result.bse)
    tvalues, pvalues = np.asarray(result.tvalues), np.asarray(result.pvalues)
    ci = np.asarray(result.conf_int())
    out = []
    for i, name in enumerate(names):
        coefficient = Coefficient(
            name, _f(params[i]), _f(bse[i]), _f(tvalues[i]), _f(pvalues[i]), _f(ci[i, 0]), _f(ci[i, 1])
        )
        if odds:
            coefficient.odds_ratio = _f(math.exp(params[i]))
            coefficient.odds_ratio_ci_low = _f(math.exp(ci[i, 0]))
            coefficient.odds_ratio_ci_high = _f(math.exp(ci[i, 1]))
        out.append(coefficient)
    return out


def _f(value: Any) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return None if math.isnan(value) or math.isinf(value) else value


def _new_result(spec: ModelSpec, design: Design, model: str) -> ModelResult:
    clusters = int(design.groups.max() + 1) if design.n else 0
    result = ModelResult(
        name=spec.name,
        family=spec.family,
        model=model,
        outcome=spec.outcome,
        predictor=spec.predictor,
        controls=list(spec.controls),
        n=design.n,
        dropped=design.dropped,
        dropped_total=design.dropped_total,
        clusters=clusters,
        standard_errors=SE_LABELS[spec.se],
    )
    if spec.se == "cluster" and clusters < MIN_CLUSTERS:
        result.warnings.append(
            f"Only {clusters} creators: cluster-robust standard errors are unreliable with fewer than "
            f"about {MIN_CLUSTERS} clusters; read the intervals as rough."
        )
    return result


def fit_model(frame: pd.DataFrame, spec: ModelSpec, known: dict[str, str]) -> ModelResult:
    """Fit one model on the complete cases of its own variables and return its result."""
    validate_spec(spec, known)
    design = build_design(frame, spec, known)
    label = {"ols": "OLS", "logit": "Logit", "count": "Poisson"}[spec.family]
    result = _new_result(spec, design, label)
    k = design.x.shape[1]
    if design.n <= k + 1:
        result.error = f"Too few complete responses ({design.n}) for {k} coefficients."
        return result
    constant = design.constant_controls + [c for c in design.x.columns if c != "const" and design.x[c].std() == 0]
    if constant:
        result.error = f"No variation in {', '.join(constant)} among the complete responses."
        return result
    se = spec.se
    if se == "hc3" and spec.family != "ols":
        # statsmodels has HC3 for OLS only; asked for it elsewhere it silently computes HC0.
        se = "hc0"
        result.standard_errors = SE_LABELS["hc0"]
        result.warnings.append("HC3 is available for OLS only; this model reports HC0 (sandwich) standard errors.")
    kwargs = _fit_kwargs(se, design.groups)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            if spec.family == "ols":
                fitted = sm.OLS(design.y, design.x).fit(**kwargs)
                result.statistics = {"r_squared": fitted.rsquared, "adj_r_squared": fitted.rsquared_adj}
            elif spec.family == "logit":
                fitted = _fit_logit(design, kwargs, result)
            else:
                fitted = _fit_count(design, kwargs, result, spec.count_model)
        except np.linalg.LinAlgError:
            result.error = "The design matrix is singular (a control duplicates another variable)."
            return result
        except Exception as exc:  # noqa: BLE001 - statsmodels raises many kinds; report, never crash
            if "separation" in str(exc).lower():
                result.error = _SEPARATION
            else:
                result.error = f"The model could not be fitted: {exc}"
            return result
    _collect_warnings(caught, result)
    if fitted is None or result.error:
        return result
    result.coefficients = _coefficients(fitted, list(design.x.columns), odds=spec.family == "logit")
    if spec.by_tier:
        _tier_slopes(fitted, design, spec, result)
    if spec.family == "logit":
        _marginal_effects(fitted, result)
    df_inference = getattr(fitted, "df_resid_inference", None)
    if df_inference is None and getattr(fitted, "use_t", False):
        df_inference = getattr(fitted, "df_resid", None)
    result.statistics = clean_json({**result.statistics, "df_inference": df_inference})
    return result


_SEPARATION = (
    "Perfect or quasi-perfect separation: some values of the predictors predict the outcome exactly, "
    "so the coefficients would be infinite. No estimates are reported; use fewer controls or more data."
)


def _collect_warnings(caught: list[warnings.WarningMessage], result: ModelResult) -> None:
    for warning in caught:
        text = str(warning.message)
        if issubclass(warning.category, PerfectSeparationWarning) or "separation" in text.lower():
            result.error = _SEPARATION
        elif issubclass(warning.category, ConvergenceWarning):
            result.warnings.append(f"The fit did not converge: {text}")


def _fit_logit(design: Design, kwargs: dict[str, Any], result: ModelResult) -> Any:
    if not set(design.y.unique()) <= {0.0, 1.0}:
        raise ValueError("the outcome of a logit model must be 0/1")
    fitted = sm.Logit(design.y, design.x).fit(disp=0, maxiter=200, **kwargs)
    if not fitted.mle_retvals.get("converged", True):
        result.warnings.append("The logit fit did not converge.")
    # Quasi-separation shows as fitted probabilities of exactly 0 or 1.
    probabilities = fitted.predict()
    if ((probabilities < 1e-8) | (probabilities > 1 - 1e-8)).mean() > 0.001:
        result.error = _SEPARATION
    result.statistics = {"pseudo_r_squared": fitted.prsquared, "log_likelihood": fitted.llf}
    return fitted


def _fit_count(design: Design, kwargs: dict[str, Any], result: ModelResult, choice: str) -> Any:
    if (design.y < 0).any() or not np.allclose(design.y, design.y.round()):
        raise ValueError("the outcome of a count model must be whole numbers ≥ 0")
    poisson = sm.GLM(design.y, design.x, family=sm.families.Poisson()).fit(**kwargs)
    dispersion = float(poisson.pearson_chi2 / poisson.df_resid)
    result.statistics = {"pearson_dispersion": dispersion, "poisson_log_likelihood": poisson.llf}
    if choice == "poisson" or (choice == "auto" and dispersion <= OVERDISPERSION):
        result.statistics["why"] = (
            "Poisson requested."
            if choice == "poisson"
            else f"Pearson χ²/df = {dispersion:.2f} ≤ {OVERDISPERSION}: Poisson kept."
        )
        if dispersion > OVERDISPERSION:
            result.warnings.append(f"The counts are overdispersed (Pearson χ²/df = {dispersion:.2f}).")
        return poisson
    negbin = sm.NegativeBinomial(design.y, design.x, loglike_method="nb2").fit(
        disp=0, maxiter=500, method="bfgs", **kwargs
    )
    if not negbin.mle_retvals.get("converged", True):
        result.warnings.append("The negative binomial fit did not converge.")
    alpha = float(negbin.params["alpha"])
    result.model = "negative binomial (NB2)"
    result.statistics.update(
        {
            "why": (
                "Negative binomial requested."
                if choice == "negbin"
                else f"Pearson χ²/df = {dispersion:.2f} > {OVERDISPERSION}: overdispersed, fitted as negative binomial."
            ),
            "alpha": alpha,
            "theta": 1 / alpha if alpha > 0 else None,
            "log_likelihood": negbin.llf,
        }
    )
    return _WithoutAlpha(negbin)


class _WithoutAlpha:
    """A negative binomial result seen without its dispersion parameter (reported separately)."""

    def __init__(self, fitted: Any):
        self.fitted = fitted
        k = len(fitted.params) - 1
        self.params = fitted.params.iloc[:k]
        self.bse = fitted.bse.iloc[:k]
        self.tvalues = fitted.tvalues.iloc[:k]
        self.pvalues = fitted.pvalues.iloc[:k]
        self._ci = fitted.conf_int().iloc[:k]
        self.df_resid_inference = getattr(fitted, "df_resid_inference", None)

    def conf_int(self) -> pd.DataFrame:
        return self._ci

    def t_test(self, matrix: np.ndarray) -> Any:
        full = np.zeros((matrix.shape[0], matrix.shape[1] + 1))
        full[:, : matrix.shape[1]] = matrix
        return self.fitted.t_test(full)

    def wald_test(self, matrix: np.ndarray, **kwargs: Any) -> Any:
        full = np.zeros((matrix.shape[0], matrix.shape[1] + 1))
        full[:, : matrix.shape[1]] = matrix
        return self.fitted.wald_test(full, **kwargs)


def _tier_slopes(fitted: Any, design: Design, spec: ModelSpec, result: ModelResult) -> None:
    columns = list(design.x.columns)
    predictor = columns.index(spec.predictor)
    tier_of = _tier_of(design)
    counts = tier_of.value_counts().to_dict()
    creators = pd.Series(design.groups, index=design.x.index).groupby(tier_of).nunique().to_dict()
    covariance = np.asarray(fitted.cov_params())[: len(columns), : len(columns)]
    params = np.asarray(fitted.params)[: len(columns)]
    for tier in design.tiers:
        row = np.zeros(len(columns))
        row[predictor] = 1.0
        if tier != design.tiers[0]:
            row[columns.index(f"{spec.predictor}:tier[{tier}]")] = 1.0
        slope, se = float(row @ params), float(math.sqrt(row @ covariance @ row))
        n_tier, g_tier = int(counts.get(tier, 0)), int(creators.get(tier, 0))
        # A tier's slope is identified by that tier's creators only: with cluster-robust
        # errors its interval uses t with (creators in the tier − 1) degrees of freedom.
        df = g_tier - 1 if spec.se == "cluster" else float(fitted.df_resid)
        quantile = stats.t.ppf(0.975, df) if df >= 1 else math.nan
        result.tier_slopes.append(
            clean_json(
                {
                    "tier": tier,
                    "n": n_tier,
                    "creators": g_tier,
                    "slope": slope,
                    "se": se,
                    "ci_low": slope - quantile * se,
                    "ci_high": slope + quantile * se,
                    "df": df,
                    "p_value": float(2 * stats.t.sf(abs(slope / se), df)) if df >= 1 and se > 0 else None,
                }
            )
        )
        if n_tier < MIN_TIER_RESPONSES:
            result.warnings.append(f"The {tier} tier has only {n_tier} complete responses; its slope is imprecise.")
    interactions = [i for i, c in enumerate(columns) if c.startswith(f"{spec.predictor}:tier[")]
    if interactions:
        matrix = np.zeros((len(interactions), len(columns)))
        for row, column in enumerate(interactions):
            matrix[row, column] = 1.0
        wald = fitted.wald_test(matrix, use_f=True, scalar=True)
        result.slopes_equal_test = clean_json(
            {
                "hypothesis": f"the {spec.predictor} slope is the same in every tier ({', '.join(design.tiers)})",
                "statistic": float(wald.statistic),
                "df_num": float(wald.df_num),
                "df_denom": float(wald.df_denom),
                "p_value": float(wald.pvalue),
                "test": "Wald F test with the model's covariance",
            }
        )
    if len(design.tiers) < 2:
        result.warnings.append("Only one tier has complete responses; tiers cannot be compared.")


def _tier_of(design: Design) -> pd.Series:
    tier = pd.Series(design.tiers[0] if design.tiers else "", index=design.x.index)
    for name in design.tiers[1:]:
        tier[design.x[f"tier[{name}]"] == 1.0] = name
    return tier


def _marginal_effects(fitted: Any, result: ModelResult) -> None:
    try:
        margins = fitted.get_margeff(at="overall", method="dydx", dummy=True).summary_frame()
    except Exception as exc:  # noqa: BLE001
        result.warnings.append(f"Average marginal effects unavailable: {exc}")
        return
    for name, row in margins.iterrows():
        result.marginal_effects.append(
            clean_json(
                {
                    "name": str(name),
                    "ame": float(row["dy/dx"]),
                    "se": float(row["Std. Err."]),
                    "ci_low": float(row["Conf. Int. Low"]),
                    "ci_high": float(row["Cont. Int. Hi."]),
                    "p_value": float(row["Pr(>|z|)"]),
                }
            )
        )


# --- descriptives ---------------------------------------------------------------------------


def mean_ci(values: pd.Series, level: float = 0.95) -> dict[str, Any]:
    """Return n, mean and a t-based confidence interval of the non-missing ``values``."""
    values = pd.to_numeric(values, errors="coerce").dropna()
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "ci_low": None, "ci_high": None}
    mean = float(values.mean())
    if n < 2:
        return {"n": n, "mean": mean, "ci_low": None, "ci_high": None}
    half = stats.t.ppf(0.5 + level / 2, n - 1) * values.std(ddof=1) / math.sqrt(n)
    return clean_json({"n": n, "mean": mean, "ci_low": mean - half, "ci_high": mean + half})


def rate_ci(values: pd.Series, level: float = 0.95) -> dict[str, Any]:
    """Return n, the rate of 1s and its Wilson interval."""
    values = pd.to_numeric(values, errors="coerce").dropna()
    n, hits = len(values), int((values == 1).sum())
    if n == 0:
        return {"n": 0, "rate": None, "ci_low": None, "ci_high": None}
    low, high = proportion_confint(hits, n, alpha=1 - level, method="wilson")
    return clean_json({"n": n, "rate": hits / n, "ci_low": low, "ci_high": high})


def describe(scored: pd.DataFrame, by: str) -> list[dict[str, Any]]:
    """Return means (95% CIs) of every score and the reported-purchase rate (Wilson CI) per group of ``by``."""
    rows = []
    scores = [c for c in SCORE_VARIABLES if c in scored and c != "reported_purchase"]
    for key, group in scored.groupby(by, sort=True, dropna=False):
        row: dict[str, Any] = {by: key, "responses": len(group)}
        if by == "creator_id":
            row["creator_handle"] = group["creator_handle"].iloc[0]
            row["tier"] = group["tier"].iloc[0]
        for score in scores:
            row[score] = mean_ci(group[score])
        if "reported_purchase" in scored:
            row["reported_purchase"] = rate_ci(group["reported_purchase"])
        rows.append(clean_json(row))
    if by == "tier":
        order = {t: i for i, t in enumerate(TIERS)}
        rows.sort(key=lambda r: order.get(r["tier"], 99))
    return rows


def link_counts(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Return response and quality-flag counts per creator (link)."""
    flags = [c for c in FLAG_COLUMNS if c in frame]
    grouped = frame.groupby(["creator_id", "creator_handle"], sort=True)
    table = grouped[flags].sum().astype(int) if flags else pd.DataFrame(index=grouped.size().index)
    table["responses"] = grouped.size()
    return [
        clean_json({"creator_id": cid, "creator_handle": handle, **row.to_dict()})
        for (cid, handle), row in table.iterrows()
    ]


# --- the whole analysis ---------------------------------------------------------------------


def default_specs(known: dict[str, str], *, controls: Sequence[str] = (), se: str = "cluster") -> list[ModelSpec]:
    """Return the four standard models for the variables the survey has."""
    specs = []
    controls = tuple(c for c in controls if c in known)
    if TRUST in known and "purchase_intent" in known:
        specs.append(ModelSpec("intent_on_trust", "ols", "purchase_intent", controls=controls, se=se))
    if TRUST in known and "reported_purchase" in known:
        specs.append(ModelSpec("purchase_on_trust", "logit", "reported_purchase", controls=controls, se=se))
    if TRUST in known and "purchase_count" in known:
        specs.append(ModelSpec("count_on_trust", "count", "purchase_count", controls=controls, se=se))
    if TRUST in known and "purchase_intent" in known and "tier" in known:
        specs.append(ModelSpec("tier_slopes", "ols", "purchase_intent", controls=controls, by_tier=True, se=se))
    return specs


@dataclass
class Variant:
    label: str
    responses: int
    reliability: list[Reliability]
    by_tier: list[dict[str, Any]]
    by_creator: list[dict[str, Any]]
    models: list[ModelResult]
    multilevel: MultilevelResult | None = None
    ordinal: OrdinalResult | None = None
    ranking: CreatorRanking | None = None


@dataclass
class AnalysisResult:
    responses: int
    test_responses_excluded: int
    flagged: int
    notes: list[str]
    variants: list[Variant]
    link_counts: list[dict[str, Any]]
    warnings: list[str]

    def variant(self, label: str) -> Variant:
        return next(v for v in self.variants if v.label == label)

    def to_dict(self) -> dict[str, Any]:
        return clean_json(asdict(self))


def prepare(frame: pd.DataFrame, questions: Sequence[QuestionMeta]) -> tuple[pd.DataFrame, list[str]]:
    """Return ``frame`` without test responses, joined with the construct scores, and scoring notes."""
    real = frame[~frame["is_test"].astype(bool)] if "is_test" in frame else frame
    scores = score_responses(real, questions)
    extra = [c for c in scores.frame.columns if c not in real.columns]
    return pd.concat([real, scores.frame[extra]], axis=1), scores.notes


def analyze(
    frame: pd.DataFrame,
    questions: Sequence[QuestionMeta],
    *,
    controls: Sequence[str] = (),
    se: str = "cluster",
    specs: Sequence[ModelSpec] | None = None,
    ordinal_outcome: str | None = None,
    min_ranked: int = MIN_RANKED_RESPONSES,
    extended: bool = True,
) -> AnalysisResult:
    """Run scoring, reliability, descriptives and the models; with flags, also without flagged responses.

    ``extended`` adds the multilevel model, the creator ranking and, when
    ``ordinal_outcome`` names an integer question code, the ordinal model.
    """
    if se not in SE_TYPES:
        raise ValueError(f"se: “{se}” is not one of {', '.join(SE_TYPES)}")
    tests = int(frame["is_test"].astype(bool).sum()) if "is_test" in frame else 0
    scored, notes = prepare(frame, questions)
    known = known_variables(scored, questions)
    if "tier" in scored:
        known["tier"] = "categorical"
    for control in controls:
        if control not in known:
            raise ValueError(f"controls: “{control}” is not a known variable ({', '.join(sorted(known))})")
    specs = list(specs) if specs is not None else default_specs(known, controls=controls, se=se)
    flags = [c for c in FLAG_COLUMNS if c in scored]
    flagged_mask = scored[flags].astype(bool).any(axis=1) if flags else pd.Series(False, index=scored.index)
    if ordinal_outcome is not None and ordinal_outcome not in scored:
        raise ValueError(f"ordinal_outcome: “{ordinal_outcome}” is not a question of this survey")
    options = {"ordinal_outcome": ordinal_outcome, "min_ranked": min_ranked, "extended": extended}
    variants = [_variant("all responses", scored, questions, specs, known, **options)]
    if flagged_mask.any():
        variants.append(_variant("excluding flagged responses", scored[~flagged_mask], questions, specs, known, **options))
    general = []
    clusters = scored["creator_id"].nunique() if "creator_id" in scored else 0
    if se == "cluster" and clusters < MIN_CLUSTERS:
        general.append(f"{clusters} creators: fewer than {MIN_CLUSTERS}, so cluster-robust errors are unreliable.")
    return AnalysisResult(
        responses=len(scored),
        test_responses_excluded=tests,
        flagged=int(flagged_mask.sum()),
        notes=notes,
        variants=variants,
        link_counts=link_counts(scored) if "creator_handle" in scored else [],
        warnings=general,
    )


def _variant(
    label: str,
    scored: pd.DataFrame,
    questions: Sequence[QuestionMeta],
    specs: Sequence[ModelSpec],
    known: dict[str, str],
    *,
    ordinal_outcome: str | None,
    min_ranked: int,
    extended: bool,
) -> Variant:
    variant = Variant(
        label=label,
        responses=len(scored),
        reliability=reliabilities(scored, questions),
        by_tier=describe(scored, "tier") if "tier" in scored else [],
        by_creator=describe(scored, "creator_id") if "creator_id" in scored else [],
        models=[fit_model(scored, spec, known) for spec in specs],
    )
    if extended and "creator_id" in scored:
        if TRUST in scored and "purchase_intent" in scored:
            variant.multilevel = fit_multilevel(scored)
        if ordinal_outcome:
            variant.ordinal = fit_ordinal(scored, outcome=ordinal_outcome)
        if TRUST in scored:
            variant.ranking = rank_creators(scored, minimum=min_ranked)
    return variant
