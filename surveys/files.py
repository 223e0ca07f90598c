"""Service: build exported files and reports, keep them for a while, clean them up.

Small files stream straight to the browser; large ones are built on the task
worker (``request_export``) and downloaded through a permission-checked view.
Files live under ``EXPORT_ROOT``, which is never served as public media.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction

from surveys import exports, reports, webhooks
from surveys.analyses import clean_filters, filters_q
from surveys.models import AnalysisRun, Creator, Export, Survey, WebhookEvent, _now

EXTENSIONS = {
    "csv": "csv", "xlsx": "xlsx", "sav": "sav", "dta": "dta", "codebook": "csv", "codebook-json": "json",
    "bundle": "zip", "report": "html", "creator-report": "html",
}
CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8", "json": "application/json", "zip": "application/zip", "html": "text/html; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "sav": "application/x-spss-sav", "dta": "application/x-stata-dta",
}
NEEDS_RUN = {"bundle", "report"}


def export_root() -> Path:
    root = Path(getattr(settings, "EXPORT_ROOT", settings.MEDIA_ROOT / "exports"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def filename_for(export: Export) -> str:
    stamp = (export.created_at or _now()).strftime("%Y%m%d-%H%M")
    extra = f"-{export.creator.handle}" if export.creator_id else ""
    base = "codebook" if export.format.startswith("codebook") else export.format
    return f"{export.survey.brand.slug}-{export.survey.slug}{extra}-{base}-{stamp}.{EXTENSIONS[export.format]}"


def validate_request(survey: Survey, *, format: str, filters: dict[str, Any] | None, run: AnalysisRun | None, creator: Creator | None) -> dict[str, Any]:
    """Return cleaned filters, or raise ValidationError naming the field."""
    if format not in EXTENSIONS:
        raise ValidationError({"format": f"Choose one of {', '.join(EXTENSIONS)}."})
    if format in NEEDS_RUN:
        if run is None or run.status != AnalysisRun.Status.SUCCEEDED:
            raise ValidationError({"run": "This format needs a finished analysis run of the survey."})
        if run.survey_id != survey.pk:
            raise ValidationError({"run": "The analysis run belongs to another survey."})
    if format == "creator-report":
        if creator is None:
            raise ValidationError({"creator": "Choose the creator the report is for."})
        if creator.brand_id != survey.brand_id:
            raise ValidationError({"creator": "The creator belongs to another brand."})
    return clean_filters(survey, filters)


def write_file(export: Export, path: Path) -> int | None:
    """Write ``export`` to ``path``; return the number of data rows where that applies."""
    survey, where = export.survey, filters_q(export.filters)
    fmt = export.format
    if fmt == "csv":
        with path.open("w", encoding="utf-8", newline="") as stream:
            return exports.write_csv(survey, stream, where=where)
    if fmt == "xlsx":
        return exports.write_xlsx(survey, path, where=where, run=export.run)
    if fmt == "sav":
        return exports.write_sav(survey, path, where=where)
    if fmt == "dta":
        return exports.write_dta(survey, path, where=where)
    if fmt in ("codebook", "codebook-json"):
        with path.open("w", encoding="utf-8", newline="") as stream:
            (exports.write_codebook_csv if fmt == "codebook" else exports.write_codebook_json)(survey, stream)
        return None
    if fmt == "bundle":
        # The bundle's data are the run's own responses, so the script reproduces the run.
        return exports.write_bundle(survey, path, run=export.run, where=filters_q(export.run.filters))
    if fmt == "report":
        path.write_text(reports.survey_report(export.run), encoding="utf-8")
        return None
    path.write_text(reports.creator_report(survey, export.creator, filters=export.filters), encoding="utf-8")
    return None


def build_export(export: Export) -> Export:
    """Build the file of ``export`` now; a failure keeps its message."""
    export.status, export.progress_message = Export.Status.RUNNING, "Writing the file."
    export.save(update_fields=["status", "progress_message"])
    export.filename = filename_for(export)
    path = export_root() / f"{export.pk}-{export.filename}"
    try:
        export.rows = write_file(export, path)
        export.path, export.size = str(path), path.stat().st_size
        export.status, export.progress_message = Export.Status.READY, "Ready to download."
    except Exception as exc:  # noqa: BLE001 - the export keeps its error message
        path.unlink(missing_ok=True)
        export.status, export.error, export.progress_message = Export.Status.FAILED, f"{exc.__class__.__name__}: {exc}", "Failed."
    export.finished_at = _now()
    export.expires_at = export.finished_at + timedelta(hours=settings.EXPORT_RETENTION_HOURS)
    with transaction.atomic():
        export.save()
        if export.status == Export.Status.READY:
            webhooks.emit(export.survey.brand_id, WebhookEvent.EXPORT_READY, {
                "export": export.pk, "survey": export.survey_id, "format": export.format, "rows": export.rows,
                "size": export.size, "expires_at": export.expires_at,
                "download_url": webhooks.absolute_url("surveys:export-download", export.pk),
            })
    delete_expired_exports()  # every build also clears what has outlived its keeping time
    return export


def request_export(
    survey: Survey, *, format: str, user: Any = None, filters: dict[str, Any] | None = None,
    run: AnalysisRun | None = None, creator: Creator | None = None,
) -> Export:
    """Validate and queue an export on the task worker."""
    from surveys.tasks import build_export_task

    clean = validate_request(survey, format=format, filters=filters, run=run, creator=creator)
    with transaction.atomic():
        export = Export.objects.create(
            survey=survey, format=format, filters=clean, run=run, creator=creator,
            requested_by=user if getattr(user, "is_authenticated", False) else None,
            progress_message="Waiting for a worker.",
        )
        build_export_task.enqueue(export.pk)
    export.refresh_from_db()
    return export


def stream_now(survey: Survey, *, format: str, filters: dict[str, Any], creator: Creator | None = None) -> tuple[Callable[[], Any], str, str]:
    """Return (body, filename, content type) for a format small enough to send straight away."""
    where = filters_q(filters)
    stub = Export(survey=survey, format=format, creator=creator, created_at=_now())
    name = filename_for(stub)
    if format == "csv":
        return (lambda: exports.csv_stream(survey, where=where)), name, CONTENT_TYPES["csv"]
    buffer = io.StringIO()
    if format == "codebook":
        exports.write_codebook_csv(survey, buffer)
    elif format == "codebook-json":
        exports.write_codebook_json(survey, buffer)
    elif format == "creator-report":
        buffer.write(reports.creator_report(survey, creator, filters=filters))
    else:
        raise ValueError(f"{format} is built as a task")
    return (lambda: [buffer.getvalue().encode("utf-8")]), name, CONTENT_TYPES[EXTENSIONS[format]]


def delete_expired_exports() -> int:
    """Delete exports past their keeping time, with their files; return how many."""
    expired = list(Export.objects.filter(expires_at__lt=_now()))
    for export in expired:
        if export.path:
            Path(export.path).unlink(missing_ok=True)
        export.delete()
    return len(expired)
