"""One plain-language sentence per result, for the admin result page and the command line. Pure."""

from __future__ import annotations

import math
from typing import Any

LABELS = {
    "trustworthiness": "trust",
    "purchase_intent": "purchase intent",
    "reported_purchase": "a reported purchase",
    "purchase_count": "purchases",
}


def _n(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _signed(value: float, digits: int = 2) -> str:
    return f"{value:+.{digits}f}"


def model_reading(model: dict[str, Any]) -> str:
    """Return one sentence saying what ``model`` (a ModelResult dict) found."""
    if model.get("error"):
        return f"Not estimated: {model['error']}"
    predictor = model["predictor"]
    coefficient = next((c for c in model["coefficients"] if c["name"] == predictor), None)
    if coefficient is None or coefficient["estimate"] is None:
        return "No estimate."
    who = f"across {model['clusters']} creators and {model['n']:,} responses"
    subject = LABELS.get(predictor, predictor)
    if model.get("tier_slopes"):
        slopes = ", ".join(f"{s['tier']} {_n(s['slope'])} ({_n(s['ci_low'])}–{_n(s['ci_high'])})" for s in model["tier_slopes"])
        test = model.get("slopes_equal_test") or {}
        verdict = ""
        if test.get("p_value") is not None:
            decision = "differ" if test["p_value"] < 0.05 else "do not differ detectably"
            verdict = f"; the tiers' slopes {decision} (F = {_n(test['statistic'])}, p = {_p(test['p_value'])})"
        return f"Points of {LABELS.get(model['outcome'], model['outcome'])} per point of {subject}, by tier (95% CI): {slopes}{verdict}."
    ci = f"95% CI {_n(coefficient['ci_low'])}–{_n(coefficient['ci_high'])}"
    if model["family"] == "logit":
        ame = next((m for m in model.get("marginal_effects", []) if m["name"] == predictor), None)
        extra = f"; on average it raises the probability of a purchase by {ame['ame'] * 100:.1f} percentage points" if ame else ""
        return (
            f"Each extra point of {subject} multiplies the odds of {LABELS['reported_purchase']} by "
            f"{_n(coefficient['odds_ratio'])} (95% CI {_n(coefficient['odds_ratio_ci_low'])}–"
            f"{_n(coefficient['odds_ratio_ci_high'])}){extra}, {who}."
        )
    if model["family"] == "count":
        ratio = math.exp(coefficient["estimate"])
        low, high = math.exp(coefficient["ci_low"]), math.exp(coefficient["ci_high"])
        return (
            f"Each extra point of {subject} goes with {(ratio - 1) * 100:+.0f}% purchases "
            f"(rate ratio {_n(ratio)}, 95% CI {_n(low)}–{_n(high)}; {model['model']}), {who}."
        )
    return (
        f"Each extra point of {subject} goes with {_signed(coefficient['estimate'])} points of "
        f"{LABELS.get(model['outcome'], model['outcome'])} ({ci}), {who}."
    )


def multilevel_reading(result: dict[str, Any]) -> str:
    if result.get("error"):
        return f"Not estimated: {result['error']}"
    slope = next(f for f in result["fixed_effects"] if f["name"] == result["predictor"])
    icc = result.get("icc")
    share = f"; {icc * 100:.0f}% of the variation in purchase intent lies between creators (ICC)" if icc is not None else ""
    return (
        f"Allowing each creator their own baseline, each extra point of trust goes with {_signed(slope['estimate'])} "
        f"points of purchase intent (95% CI {_n(slope['ci_low'])}–{_n(slope['ci_high'])}){share}."
    )


def ordinal_reading(result: dict[str, Any]) -> str:
    if result.get("error"):
        return f"Not estimated: {result['error']}"
    c = result["coefficient"]
    sample = f" ({result['subsample']})" if result.get("subsample") else ""
    return (
        f"Each extra point of trust multiplies the odds of a higher answer to {result['outcome']} by "
        f"{_n(c['odds_ratio'])} (log-odds {_n(c['estimate'])}, 95% CI {_n(c['ci_low'])}–{_n(c['ci_high'])}){sample}."
    )


def _p(value: float) -> str:
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


MODEL_TITLES = {
    "intent_on_trust": "Trust and purchase intent",
    "purchase_on_trust": "Trust and reported purchases",
    "count_on_trust": "Trust and the number of purchases",
    "tier_slopes": "Does trust matter more for smaller creators?",
}


def annotate(results: dict[str, Any]) -> dict[str, Any]:
    """Return a copy of stored results with a ``reading`` sentence on every model."""
    import copy

    out = copy.deepcopy(results)
    for variant in out.get("variants", []):
        for model in variant.get("models", []):
            model["reading"] = model_reading(model)
            model["title"] = MODEL_TITLES.get(model["name"], model["name"].replace("_", " "))
        if variant.get("multilevel"):
            variant["multilevel"]["reading"] = multilevel_reading(variant["multilevel"])
        if variant.get("ordinal"):
            variant["ordinal"]["reading"] = ordinal_reading(variant["ordinal"])
    return out
