"""Service: analyse a survey — validate a run's spec, queue it, execute it, store its results.

The frame comes from the selector, the maths from the pure modules
(``scoring``, ``analysis``, ``multilevel``); long runs execute on the task
worker, so a million-response analysis never blocks a web request.
"""

from __future__ import annotations

import platform
from collections.abc import Sequence
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
import scipy
import statsmodels
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from surveys.analysis import SE_TYPES, AnalysisResult, ModelSpec, analyze
from surveys.choices import Platform, QuestionKind, Tier
from surveys.collection import FLAG_FIELDS
from surveys import webhooks
from surveys.models import AnalysisRun, Survey, WebhookEvent, _now
from surveys.multilevel import MIN_RANKED_RESPONSES
from surveys.selectors import question_metas, responses_frame

CONTROL_CHOICES = ("expertise", "attractiveness", "platform", "follow_len", "age_band")


def analyze_survey(
    survey: Survey,
    *,
    controls: Sequence[str] = (),
    se: str = "cluster",
    specs: Sequence[ModelSpec] | None = None,
    ordinal_outcome: str | None = None,
    where: Q | None = None,
) -> AnalysisResult:
    """Return scoring, reliability, descriptives and models for ``survey`` (test responses excluded)."""
    frame = responses_frame(survey, where=where, include_test=True)  # analyze() leaves them out and counts them
    return analyze(frame, question_metas(survey), controls=controls, se=se, specs=specs, ordinal_outcome=ordinal_outcome)


def default_ordinal_outcome(survey: Survey) -> str | None:
    """Return the survey's purchase-probability (or first purchase-intent) item for the ordinal model."""
    questions = survey.questions.filter(kind__in=[QuestionKind.PROBABILITY, QuestionKind.LIKERT, QuestionKind.SEMANTIC])
    for construct in ("purchase_probability", "purchase_intent"):
        question = questions.filter(construct=construct).order_by("position").first()
        if question:
            return question.code
    return None


def clean_spec(survey: Survey, spec: dict[str, Any] | None) -> dict[str, Any]:
    """Return a complete, validated run spec, or raise ValidationError with a message per field."""
    spec = dict(spec or {})
    errors: dict[str, str] = {}
    unknown = sorted(set(spec) - {"controls", "se", "ordinal_outcome", "min_ranked"})
    if unknown:
        errors["spec"] = f"Unknown field(s): {', '.join(unknown)}."
    controls = spec.get("controls", [])
    codes = set(survey.questions.values_list("code", flat=True))
    if not isinstance(controls, list) or any(c not in CONTROL_CHOICES for c in controls):
        errors["controls"] = f"Choose controls from {', '.join(CONTROL_CHOICES)}."
    elif any(c in ("follow_len", "age_band") and c not in codes for c in controls):
        errors["controls"] = "This survey has no follow_len / age_band question to control for."
    se = spec.get("se", "cluster")
    if se not in SE_TYPES:
        errors["se"] = f"Choose one of {', '.join(SE_TYPES)}."
    ordinal = spec.get("ordinal_outcome", default_ordinal_outcome(survey))
    if ordinal is not None:
        question = survey.questions.filter(code=ordinal).first()
        if question is None or question.kind not in (QuestionKind.PROBABILITY, QuestionKind.LIKERT, QuestionKind.SEMANTIC):
            errors["ordinal_outcome"] = "Name a Likert, semantic-differential or 0–10 question of this survey."
    minimum = spec.get("min_ranked", MIN_RANKED_RESPONSES)
    if not isinstance(minimum, int) or isinstance(minimum, bool) or not 1 <= minimum <= 10_000:
        errors["min_ranked"] = "A whole number from 1 to 10000."
    if errors:
        raise ValidationError(errors)
    return {"controls": list(controls), "se": se, "ordinal_outcome": ordinal, "min_ranked": minimum}


def clean_filters(survey: Survey, filters: dict[str, Any] | None) -> dict[str, Any]:
    """Return validated filters (dates as ISO strings, creator handles, tiers, flag handling)."""
    filters = dict(filters or {})
    errors: dict[str, str] = {}
    unknown = sorted(set(filters) - {"date_from", "date_to", "creators", "tiers", "platforms", "exclude_flagged"})
    if unknown:
        errors["filters"] = f"Unknown filter(s): {', '.join(unknown)}."
    clean: dict[str, Any] = {}
    for key in ("date_from", "date_to"):
        if filters.get(key):
            try:
                clean[key] = date.fromisoformat(str(filters[key])).isoformat()
            except ValueError:
                errors[key] = "Use a date like 2026-05-31."
    creators = filters.get("creators") or []
    if creators:
        known = set(survey.brand.creators.values_list("handle", flat=True))
        missing = [c for c in creators if c not in known]
        if missing:
            errors["creators"] = f"Unknown creator(s): {', '.join(map(str, missing[:10]))}."
        clean["creators"] = sorted(creators)
    tiers = filters.get("tiers") or []
    if any(t not in Tier.values for t in tiers):
        errors["tiers"] = f"Choose from {', '.join(Tier.values)}."
    elif tiers:
        clean["tiers"] = [t for t in Tier.values if t in tiers]
    platforms = filters.get("platforms") or []
    if any(p not in Platform.values for p in platforms):
        errors["platforms"] = f"Choose from {', '.join(Platform.values)}."
    elif platforms:
        clean["platforms"] = sorted(platforms)
    if filters.get("exclude_flagged"):
        clean["exclude_flagged"] = True
    if errors:
        raise ValidationError(errors)
    return clean


def filters_q(filters: dict[str, Any]) -> Q:
    """Return the database condition of cleaned ``filters``."""
    q = Q()
    if "date_from" in filters:
        q &= Q(submitted_at__date__gte=filters["date_from"])
    if "date_to" in filters:
        q &= Q(submitted_at__date__lte=filters["date_to"])
    if "creators" in filters:
        q &= Q(creator__handle__in=filters["creators"])
    if "tiers" in filters:
        q &= Q(creator_tier__in=filters["tiers"])
    if "platforms" in filters:
        q &= Q(creator__platform__in=filters["platforms"])
    if filters.get("exclude_flagged"):
        for flag in FLAG_FIELDS:
            q &= Q(**{flag: False})
    return q


def library_versions() -> dict[str, str]:
    return {
        "python": platform.python_version(),
        "statsmodels": statsmodels.__version__,
        "pandas": pd.__version__,
        "numpy": np.__version__,
        "scipy": scipy.__version__,
    }


def request_analysis(
    survey: Survey, *, user: Any = None, spec: dict[str, Any] | None = None, filters: dict[str, Any] | None = None
) -> AnalysisRun:
    """Validate, store and queue an analysis run; the task worker executes it."""
    from surveys.tasks import run_analysis_task

    with transaction.atomic():
        run = AnalysisRun.objects.create(
            survey=survey,
            requested_by=user if getattr(user, "is_authenticated", False) else None,
            spec=clean_spec(survey, spec),
            filters=clean_filters(survey, filters),
            progress_message="Waiting for a worker.",
        )
        # Same database as the run: the task becomes visible to workers when this commits.
        run_analysis_task.enqueue(run.pk)
    run.refresh_from_db()
    return run


def _progress(run: AnalysisRun, percent: int, message: str) -> None:
    run.progress, run.progress_message = percent, message
    AnalysisRun.objects.filter(pk=run.pk).update(progress=percent, progress_message=message)


def execute_analysis(run: AnalysisRun) -> AnalysisRun:
    """Run ``run`` now and store its results, or its error message when it fails."""
    run.status, run.started_at, run.versions = AnalysisRun.Status.RUNNING, _now(), library_versions()
    run.save(update_fields=["status", "started_at", "versions"])
    try:
        _progress(run, 10, "Loading responses.")
        frame = responses_frame(run.survey, where=filters_q(run.filters), include_test=True)
        if frame[~frame["is_test"]].empty:
            raise ValueError("No responses match the filters.")
        _progress(run, 30, f"Analysing {len(frame):,} responses.")
        spec = run.spec
        result = analyze(
            frame,
            question_metas(run.survey),
            controls=spec.get("controls", []),
            se=spec.get("se", "cluster"),
            ordinal_outcome=spec.get("ordinal_outcome"),
            min_ranked=spec.get("min_ranked", MIN_RANKED_RESPONSES),
        )
        _progress(run, 90, "Saving results.")
        run.results = result.to_dict()
        run.warnings = _all_warnings(run.results)
        run.status = AnalysisRun.Status.SUCCEEDED
        run.progress, run.progress_message = 100, "Done."
    except Exception as exc:  # noqa: BLE001 - a failed run keeps its message
        run.status, run.error = AnalysisRun.Status.FAILED, f"{exc.__class__.__name__}: {exc}"
        run.progress_message = "Failed."
    run.finished_at = _now()
    with transaction.atomic():
        run.save()
        webhooks.emit(run.survey.brand_id, WebhookEvent.ANALYSIS_FINISHED, {
            "analysis": run.pk, "survey": run.survey_id, "status": run.status, "error": run.error,
            "warnings": len(run.warnings or []), "finished_at": run.finished_at,
            "status_url": webhooks.absolute_url("surveys:analysis-detail", run.pk),
        })
    return run


def _all_warnings(results: dict[str, Any]) -> list[str]:
    seen: dict[str, None] = dict.fromkeys(results.get("warnings", []))
    for variant in results.get("variants", []):
        for model in variant.get("models", []):
            seen.update(dict.fromkeys(model.get("warnings", [])))
        for part in ("multilevel", "ordinal", "ranking"):
            seen.update(dict.fromkeys((variant.get(part) or {}).get("warnings", [])))
        for reliability in variant.get("reliability", []):
            seen.update(dict.fromkeys(reliability.get("warnings", [])))
    return list(seen)


def known_controls(survey: Survey) -> list[str]:
    """Return the controls this survey's questions allow."""
    codes = set(survey.questions.values_list("code", flat=True))
    constructs = set(survey.questions.values_list("construct", flat=True))
    return [c for c in CONTROL_CHOICES if c in codes or c in constructs or c == "platform"]



