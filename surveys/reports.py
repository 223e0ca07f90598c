"""Reports: the survey report and the creator report, self-contained HTML with SVG charts.

The survey report reads an analysis run's stored results (plus the responses
for the trust-level chart, and the survey's outcomes from ``outcomes.outcome_section``); the creator report shows one creator's audience
against the rest of their tier and never a figure about fewer than
``MIN_GROUP`` responses, nor two figures that could be subtracted to reveal one.
"""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from django.template.loader import render_to_string  # noqa: E402
from django.utils import timezone  # noqa: E402

from surveys import readings  # noqa: E402
from surveys.outcomes import outcome_section  # noqa: E402
from surveys.analyses import filters_q  # noqa: E402
from surveys.analysis import mean_ci, prepare, rate_ci  # noqa: E402
from surveys.models import AnalysisRun, Creator, Survey  # noqa: E402
from surveys.selectors import question_metas, responses_frame  # noqa: E402

MIN_GROUP = 10
TIERS = ("nano", "micro", "macro", "celebrity")
BLUE, GREY = "#0b57a4", "#6b6b6b"
plt.rcParams.update({"svg.fonttype": "none", "font.size": 10, "axes.spines.top": False, "axes.spines.right": False})


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg"):]  # drop the XML prolog: the SVG is inlined in HTML


def _interval_chart(labels: list[str], centres: list[float], lows: list[float], highs: list[float], *, xlabel: str, truth: dict | None = None, height: float | None = None) -> str:
    figure, axis = plt.subplots(figsize=(6.2, height or 0.45 * len(labels) + 0.9))
    y = np.arange(len(labels))[::-1]
    axis.errorbar(centres, y, xerr=[np.subtract(centres, lows), np.subtract(highs, centres)], fmt="o", color=BLUE, ecolor=GREY, capsize=3)
    axis.set_yticks(y, labels)
    axis.set_xlabel(xlabel)
    axis.grid(axis="x", color="#dddddd")
    return _svg(figure)


def tier_chart(by_tier: list[dict[str, Any]], key: str, xlabel: str) -> str | None:
    rows = [r for r in by_tier if (r.get(key) or {}).get("ci_low") is not None]
    if not rows:
        return None
    value = "rate" if key == "reported_purchase" else "mean"
    return _interval_chart([r["tier"] for r in rows], [r[key][value] for r in rows], [r[key]["ci_low"] for r in rows], [r[key]["ci_high"] for r in rows], xlabel=xlabel)


def slopes_chart(model: dict[str, Any]) -> str | None:
    slopes = model.get("tier_slopes") or []
    if not slopes:
        return None
    return _interval_chart([s["tier"] for s in slopes], [s["slope"] for s in slopes], [s["ci_low"] for s in slopes], [s["ci_high"] for s in slopes],
                           xlabel="points of purchase intent per point of trust (95% CI)")


def ranking_chart(ranking: dict[str, Any], limit: int = 25) -> str | None:
    rows = [r for r in ranking.get("rows", []) if r.get("rank")][:limit]
    if not rows:
        return None
    return _interval_chart([f"{r['rank']}. @{r['creator_handle']}" for r in rows], [r["trust_shrunken"] for r in rows],
                           [r["trust_ci_low"] for r in rows], [r["trust_ci_high"] for r in rows], xlabel="trust, shrunken mean (95% CI)")


def trust_levels_chart(frame: pd.DataFrame) -> str | None:
    if "trustworthiness" not in frame or "reported_purchase" not in frame:
        return None
    data = frame[["trustworthiness", "reported_purchase"]].dropna()
    if data.empty:
        return None
    bands = pd.cut(data["trustworthiness"], bins=[0.999, 2, 3, 4, 5, 6, 7.001], labels=["1–2", "2–3", "3–4", "4–5", "5–6", "6–7"])
    labels, rates, lows, highs = [], [], [], []
    for band, group in data.groupby(bands, observed=True):
        if len(group) < MIN_GROUP:
            continue
        r = rate_ci(group["reported_purchase"])
        labels.append(f"{band} (n={r['n']})")
        rates.append(r["rate"])
        lows.append(r["ci_low"])
        highs.append(r["ci_high"])
    if not labels:
        return None
    figure, axis = plt.subplots(figsize=(6.2, 2.8))
    x = np.arange(len(labels))
    axis.errorbar(x, rates, yerr=[np.subtract(rates, lows), np.subtract(highs, rates)], fmt="o-", color=BLUE, ecolor=GREY, capsize=3)
    axis.set_xticks(x, labels, rotation=0, fontsize=8)
    axis.set_xlabel("trust score band")
    axis.set_ylabel("reported purchase rate")
    axis.set_ylim(0, 1)
    axis.grid(axis="y", color="#dddddd")
    return _svg(figure)


def survey_report(run: AnalysisRun) -> str:
    """Return the survey report of a finished run as one self-contained HTML page."""
    if run.status != AnalysisRun.Status.SUCCEEDED or not run.results:
        raise ValueError("The analysis run has no results yet.")
    survey = run.survey
    results = readings.annotate(run.results)
    frame, _ = prepare(responses_frame(survey, where=filters_q(run.filters)), question_metas(survey))
    variants = []
    for variant in results["variants"]:
        models = {m["name"]: m for m in variant["models"]}
        tier_model = models.get("tier_slopes")
        variants.append(
            {
                **variant,
                "charts": {
                    "trust_by_tier": tier_chart(variant["by_tier"], "trustworthiness", "mean trust score (95% CI)"),
                    "purchase_by_tier": tier_chart(variant["by_tier"], "reported_purchase", "reported purchase rate (95% CI)"),
                    "slopes": slopes_chart(tier_model) if tier_model else None,
                    "ranking": ranking_chart(variant["ranking"]) if variant.get("ranking") else None,
                },
            }
        )
    flags = {name: sum(row.get(name, 0) for row in results.get("link_counts", [])) for name in
             ("flag_speeder", "flag_straightliner", "flag_attention", "flag_duplicate", "flag_honeypot")}
    return render_to_string(
        "surveys/report.html",
        {
            "survey": survey,
            "run": run,
            "results": results,
            "variants": variants,
            "flags": flags,
            "trust_levels": trust_levels_chart(frame),
            "outcomes": outcome_section(survey.brand, survey=survey),
            "generated": timezone.now(),
        },
    )


# --- the creator report ---------------------------------------------------------------------

CREATOR_METRICS = (
    ("trustworthiness", "Trust", "mean"),
    ("expertise", "Expertise", "mean"),
    ("attractiveness", "Attractiveness", "mean"),
    ("purchase_intent", "Purchase intent", "mean"),
    ("reported_purchase", "Bought because of you", "rate"),
)


def creator_figures(frame: pd.DataFrame, creator_id: int, tier: str, *, minimum: int = MIN_GROUP) -> dict[str, Any]:
    """Return the creator's figures against the rest of their tier, suppressing every small group.

    Only two groups are ever shown: this creator's audience and the rest of the
    tier (never the tier including the creator, which could be differenced).
    A group, or a single figure, based on fewer than ``minimum`` responses is withheld.
    """
    own = frame[frame["creator_id"] == creator_id]
    others = frame[(frame["tier"] == tier) & (frame["creator_id"] != creator_id)]
    if len(own) < minimum:
        return {"shown": False, "reason": f"Results appear once at least {minimum} followers have answered."}
    compare = len(others) >= minimum and others["creator_id"].nunique() >= 2
    rows = []
    for column, label, kind in CREATOR_METRICS:
        if column not in frame:
            continue
        mine = mean_ci(own[column]) if kind == "mean" else rate_ci(own[column])
        if mine["n"] < minimum:
            continue
        theirs = (mean_ci(others[column]) if kind == "mean" else rate_ci(others[column])) if compare else None
        if theirs is not None and theirs["n"] < minimum:
            theirs = None
        rows.append({"label": label, "kind": kind, "mine": mine, "theirs": theirs})
    return {
        "shown": True,
        "responses": len(own),
        "compared": compare,
        "compare_note": None if compare else f"Too few other {tier} creators' followers answered to compare (at least {minimum} from 2 or more creators are needed).",
        "rows": rows,
    }


def creator_report(survey: Survey, creator: Creator, *, filters: dict[str, Any] | None = None, minimum: int = MIN_GROUP) -> str:
    """Return one creator's audience report (for the brand to share with the creator) as HTML."""
    where = filters_q(filters or {})
    frame, _ = prepare(responses_frame(survey, where=where), question_metas(survey))
    tier = creator.tier
    figures = creator_figures(frame, creator.pk, tier, minimum=minimum)
    return render_to_string(
        "surveys/creator_report.html",
        {"survey": survey, "creator": creator, "tier": tier, "figures": figures, "minimum": minimum, "generated": timezone.now(), "math": math},
    )
