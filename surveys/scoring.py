"""Scale scores and reliability. Pure: pandas and numpy in, plain data out; no ORM.

Conventions (the README's analyst guide explains them):
- Reverse coding: ``min + max − x`` on the item's own scale.
- A construct score is the mean of the answered items after reverse coding,
  when at least half of the construct's items are answered; otherwise missing.
- Cronbach's alpha uses respondents who answered every item of the construct.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

# Constructs measured by multi-item (or single-item) scales, scored as item means.
SCALE_CONSTRUCTS = (
    "trustworthiness",
    "expertise",
    "attractiveness",
    "purchase_intent",
    "purchase_probability",
    "parasocial",
)
SCALE_KINDS = ("likert", "semantic", "probability")
LOW_ALPHA = 0.70


@dataclass(frozen=True)
class QuestionMeta:
    """What scoring needs to know about one question."""

    code: str
    construct: str
    kind: str
    reverse_coded: bool = False
    low: float | None = None
    high: float | None = None
    condition_code: str | None = None
    condition_values: tuple[int, ...] = ()


def reverse_code(values: pd.Series | np.ndarray | float, low: float, high: float) -> Any:
    """Return ``low + high − x``: reverse coding on a scale from ``low`` to ``high``."""
    return low + high - values


def scale_items(questions: Iterable[QuestionMeta]) -> dict[str, list[QuestionMeta]]:
    """Return the scale items of each scored construct, in question order."""
    items: dict[str, list[QuestionMeta]] = {}
    for q in questions:
        if q.construct in SCALE_CONSTRUCTS and q.kind in SCALE_KINDS:
            items.setdefault(q.construct, []).append(q)
    return items


def recoded_items(frame: pd.DataFrame, items: Sequence[QuestionMeta]) -> pd.DataFrame:
    """Return the items' columns as floats, reverse-coded where flagged (missing stays missing)."""
    columns = {}
    for q in items:
        values = pd.to_numeric(frame[q.code], errors="coerce").astype(float) if q.code in frame else pd.Series(
            np.nan, index=frame.index
        )
        if q.reverse_coded:
            if q.low is None or q.high is None:
                raise ValueError(f"{q.code} is reverse-coded but has no scale bounds")
            values = reverse_code(values, q.low, q.high)
        columns[q.code] = values
    return pd.DataFrame(columns, index=frame.index)


def half_rule_mean(items: pd.DataFrame) -> pd.Series:
    """Return the row mean of answered items where at least half the items are answered, else NaN."""
    answered = items.notna().sum(axis=1)
    enough = answered * 2 >= items.shape[1]
    return items.mean(axis=1, skipna=True).where(enough & (answered > 0))


def asked(frame: pd.DataFrame, question: QuestionMeta, by_code: dict[str, QuestionMeta]) -> pd.Series:
    """Return whether ``question`` was shown to each respondent, following its display conditions."""
    if not question.condition_code:
        return pd.Series(True, index=frame.index)
    source = by_code.get(question.condition_code)
    if source is None or source.code not in frame:
        return pd.Series(False, index=frame.index)
    source_asked = asked(frame, source, by_code)
    answer = frame[source.code]
    if source.kind == "multiple":
        met = answer.map(lambda v: isinstance(v, list) and any(x in question.condition_values for x in v))
    else:
        met = pd.to_numeric(answer, errors="coerce").isin(question.condition_values)
    return source_asked & met.astype(bool)


def answered_otherwise(frame: pd.DataFrame, question: QuestionMeta, by_code: dict[str, QuestionMeta]) -> pd.Series:
    """Return where ``question`` was hidden because its source question got another answer.

    Only these respondents are structural zeros; where the source question
    itself is unanswered, whether the respondent qualifies is unknown (missing).
    """
    source = by_code.get(question.condition_code or "")
    if source is None or source.code not in frame:
        return pd.Series(False, index=frame.index)
    answer = frame[source.code]
    answered = answer.map(lambda v: isinstance(v, list) and len(v) > 0) if source.kind == "multiple" else answer.notna()
    return answered.astype(bool) & asked(frame, source, by_code) & ~asked(frame, question, by_code)


@dataclass
class Scores:
    """Construct scores per response, plus notes on how they were formed."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def score_responses(frame: pd.DataFrame, questions: Sequence[QuestionMeta]) -> Scores:
    """Return construct scores and outcome variables for every response in ``frame``.

    Columns: one per scored construct present (``trustworthiness``, …), and
    ``reported_purchase`` (0/1), ``purchase_count`` and ``spend`` where the
    survey has them. Count and spend questions not asked because of their
    display condition (non-buyers) are structural zeros.
    """
    notes: list[str] = []
    out = pd.DataFrame(index=frame.index)
    for construct, items in scale_items(questions).items():
        out[construct] = half_rule_mean(recoded_items(frame, items))
    by_code = {q.code: q for q in questions}
    for construct in ("reported_purchase", "purchase_count", "spend"):
        question = next((q for q in questions if q.construct == construct and q.code in frame), None)
        if question is None:
            continue
        values = pd.to_numeric(frame[question.code], errors="coerce").astype(float)
        if question.condition_code:
            values = values.mask(answered_otherwise(frame, question, by_code) & values.isna(), 0.0)
            notes.append(
                f"{construct} ({question.code}) is coded 0 for respondents who were not asked it "
                f"(their answer to {question.condition_code} did not meet the display condition)."
            )
        out[construct] = values
    return Scores(frame=out, notes=notes)


# --- reliability ----------------------------------------------------------------------------


@dataclass
class ItemStatistics:
    code: str
    reverse_coded: bool
    corrected_item_total: float | None
    alpha_if_deleted: float | None


@dataclass
class Reliability:
    construct: str
    items: int
    n_complete: int
    alpha: float | None
    alpha_ci_low: float | None
    alpha_ci_high: float | None
    omega: float | None
    item_statistics: list[ItemStatistics]
    warnings: list[str]

    def to_dict(self) -> dict[str, Any]:
        return clean_json(asdict(self))


def cronbach_alpha(items: pd.DataFrame) -> float:
    """Return Cronbach's alpha of complete rows of ``items`` (columns = items)."""
    complete = items.dropna()
    k = complete.shape[1]
    if k < 2 or len(complete) < 2:
        return math.nan
    item_variances = complete.var(axis=0, ddof=1).sum()
    total_variance = complete.sum(axis=1).var(ddof=1)
    if total_variance == 0:
        return math.nan
    return float(k / (k - 1) * (1 - item_variances / total_variance))


def feldt_interval(alpha: float, n: int, k: int, level: float = 0.95) -> tuple[float, float]:
    """Return Feldt's (1965) confidence interval for alpha from ``n`` respondents and ``k`` items."""
    df1, df2 = n - 1, (n - 1) * (k - 1)
    tail = (1 - level) / 2
    low = 1 - (1 - alpha) * stats.f.ppf(1 - tail, df1, df2)
    high = 1 - (1 - alpha) * stats.f.ppf(tail, df1, df2)
    return float(low), float(high)


def one_factor_omega(items: pd.DataFrame) -> tuple[float | None, str | None]:
    """Return McDonald's omega from a one-factor ML fit, or (None, reason) when the fit is not trustworthy."""
    from statsmodels.multivariate.factor import Factor

    complete = items.dropna()
    if complete.shape[1] < 3:
        return None, "omega needs at least 3 items"
    if len(complete) < 50:
        return None, "omega needs at least 50 complete responses"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = Factor(complete.to_numpy(), n_factor=1, method="ml").fit()
        except Exception as exc:  # noqa: BLE001 - report, don't crash
            return None, f"the one-factor fit failed ({exc.__class__.__name__})"
    loadings = fit.loadings[:, 0]
    uniqueness = fit.uniqueness
    retvals = getattr(fit, "mle_retvals", None)
    if retvals is not None and not getattr(retvals, "success", True):
        return None, "the one-factor fit did not converge"
    if loadings.sum() < 0:
        loadings = -loadings
    if (loadings <= 0).any():
        return None, "an item loads negatively after reverse coding; check the reverse-coded flags"
    if (uniqueness < 0.005).any():
        return None, "Heywood case (an item's uniqueness is near zero); omega not reported"
    # Loadings are on the correlation scale; omega of the standardized items.
    common = loadings.sum() ** 2
    return float(common / (common + uniqueness.sum())), None


def reliability(frame: pd.DataFrame, construct: str, items: Sequence[QuestionMeta]) -> Reliability:
    """Return alpha (with Feldt CI), item statistics and omega for one construct."""
    data = recoded_items(frame, items)
    complete = data.dropna()
    n, k = len(complete), len(items)
    notes: list[str] = []
    alpha = cronbach_alpha(data) if k >= 2 else math.nan
    low = high = None
    if not math.isnan(alpha) and n > 2:
        low, high = feldt_interval(alpha, n, k)
    stats_rows = []
    total = complete.sum(axis=1)
    for q in items:
        if k < 2 or n < 3:
            stats_rows.append(ItemStatistics(q.code, q.reverse_coded, None, None))
            continue
        rest = total - complete[q.code]
        r = complete[q.code].corr(rest)
        stats_rows.append(
            ItemStatistics(
                q.code,
                q.reverse_coded,
                _num(r),
                _num(cronbach_alpha(complete.drop(columns=q.code))) if k > 2 else None,
            )
        )
    omega, problem = one_factor_omega(data) if k >= 3 else (None, None)
    if problem:
        notes.append(f"{construct}: {problem}.")
    if k < 2:
        notes.append(f"{construct} has a single item; reliability does not apply.")
    elif math.isnan(alpha):
        notes.append(f"{construct}: alpha cannot be computed (too few complete responses or no variance).")
    elif alpha < LOW_ALPHA:
        notes.append(f"{construct}: alpha {alpha:.2f} is below {LOW_ALPHA:.2f}; the scale may not measure one thing.")
    return Reliability(construct, k, n, _num(alpha), _num(low), _num(high), omega, stats_rows, notes)


def reliabilities(frame: pd.DataFrame, questions: Sequence[QuestionMeta]) -> list[Reliability]:
    """Return the reliability of every scored construct with two or more items."""
    return [reliability(frame, c, items) for c, items in scale_items(questions).items() if len(items) >= 2]


# --- JSON -----------------------------------------------------------------------------------


def _num(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) or math.isinf(value) else value


def clean_json(value: Any) -> Any:
    """Return ``value`` with numpy scalars as Python numbers and NaN/inf as None."""
    if isinstance(value, dict):
        return {str(k): clean_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean_json(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value
