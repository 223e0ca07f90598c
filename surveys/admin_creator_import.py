"""The admin's creator CSV import: upload → preview → confirm. Thin: surveys.creator_import decides.

The steps (signed payload, preview, confirmation against current data) are
surveys.admin_import's; this module says how the creator preview reads.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from surveys import admin_import, creator_import
from surveys.admin_import import PREVIEW_ROWS, CsvImport
from surveys.choices import Platform, Tier
from surveys.creator_import import ImportPlan, ImportResult
from surveys.models import Brand

SALT = "surveys.admin.creator_import"
TEMPLATE = "admin/surveys/creator/import.html"


def import_view(modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Show the upload form; on upload, the preview; on confirmation, apply and go back to the list."""
    return admin_import.import_view(CREATORS, modeladmin, request)


def _preview(plan: ImportPlan) -> dict[str, Any]:
    counts = plan.counts
    listed = [row for row in plan.rows if row.action != "unchanged"]
    return {
        "counts": [("create", "to create", counts["create"]), ("update", "to update", counts["update"]),
                   ("unchanged", "unchanged", counts["unchanged"])],
        "unchanged": counts["unchanged"],
        "rows": [_row_context(row) for row in listed[:PREVIEW_ROWS]],
        "rows_hidden": max(0, len(listed) - PREVIEW_ROWS),
    }


def _done(brand: Brand, result: ImportResult) -> str:
    return (f"Imported creators into {brand}: {len(result.created)} created, {len(result.updated)} updated, "
            f"{result.unchanged} unchanged.")


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if name == "platform":
        return Platform(value).label
    if name == "tier":
        return Tier(value).label
    if name == "followers":
        return f"{value:,}"
    if name == "engagement_rate":
        return f"{value}%"
    return str(value)


def _row_context(row: creator_import.RowPlan) -> dict[str, Any]:
    return {
        "row": row.row,
        "action": row.action,
        "handle": row.handle,
        "values": {name: _shown(name, value) for name, value in row.values.items()},
        "changes": [(name.replace("_", " "), _shown(name, old), _shown(name, new)) for name, (old, new) in row.changes.items()],
    }


CREATORS: CsvImport[ImportPlan, ImportResult] = CsvImport(
    title="Import creators from CSV",
    salt=SALT,
    template=TEMPLATE,
    file_help="Columns: handle, display_name, platform, followers, niche, engagement_rate. UTF-8, at most "
    f"{creator_import.MAX_BYTES // 1_000_000} MB and {creator_import.MAX_ROWS:,} rows. Existing handles are updated.",
    plan=creator_import.plan_import,
    apply=creator_import.apply_import,
    preview=_preview,
    done=_done,
)
