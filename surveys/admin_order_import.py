"""The admin's order CSV import: upload → preview → confirm. Thin: surveys.orders decides.

The steps (signed payload, preview, confirmation against current data) are
surveys.admin_import's; this module says how the order preview reads.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import transaction
from django.http import HttpRequest, HttpResponse

from surveys import admin_import, creator_import, orders
from surveys.admin_import import PREVIEW_ROWS, CsvImport
from surveys.models import Brand, Order
from surveys.orders import OrdersPlan, OrdersResult

SALT = "surveys.admin.order_import"
TEMPLATE = "admin/surveys/order/import.html"
FIRST_ROWS = 100  # the preview shows the file's first rows; the counts and problems cover all of them


def import_view(modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Show the upload form; on upload, the preview; on confirmation, apply and go back to the list."""
    return admin_import.import_view(ORDERS, modeladmin, request)


def forecast_orders(plan: OrdersPlan) -> OrdersResult:
    """Return what applying a problem-free ``plan`` would do, storing nothing.

    The plan is applied by orders.apply_orders itself, in a transaction that is
    then rolled back, so the preview's counts cannot disagree with the
    confirmation's (an order a buyer named in the post-purchase poll, for one).
    """
    with transaction.atomic():
        result = orders.apply_orders(plan)
        transaction.set_rollback(True)
    return result


def _preview(plan: OrdersPlan) -> dict[str, Any]:
    # The forecast's list, not the plan's: an order a buyer already credited in the post-purchase poll stays credited.
    result = forecast_orders(plan) if plan.ok else None
    unattributed = result.unattributed if result is not None else plan.unattributed
    context: dict[str, Any] = {
        "rows": _rows_context(plan, plan.rows[:FIRST_ROWS]),
        "rows_hidden": max(0, len(plan.rows) - FIRST_ROWS),
        "unattributed": _unattributed_context(plan, unattributed),
        "unattributed_hidden": max(0, len(unattributed) - PREVIEW_ROWS),
    }
    if result is not None:
        context["counts"] = [("create", "new", result.created), ("update", "to update", result.updated),
                             ("unchanged", "unchanged", result.unchanged),
                             ("unattributed", "left unattributed", len(result.unattributed))]
    else:  # nothing can be applied: say how many rows were read
        context["counts"] = [("rows", "order row" if len(plan.rows) == 1 else "order rows", len(plan.rows))]
    return context


def _rows_context(plan: OrdersPlan, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    handles = dict(plan.brand.creators.filter(pk__in={r["creator_id"] for r in rows if r["creator_id"]})
                   .values_list("pk", "handle"))
    return [
        {
            "row": r["row"],
            "order_id": r["order_id"],
            "placed_at": r.get("placed_at"),
            "amount": r.get("amount"),
            "currency": r["currency"],
            "promo_code": r["promo_code"],
            "utm_source": r["utm_source"],
            "creator": f"@{handles[r['creator_id']]}" if r["creator_id"] in handles else "",
            "attribution": Order.Attribution(r["attribution"]).label,
            "why": plan.unattributed.get(r["order_id"], ""),
        }
        for r in rows
    ]


def _unattributed_context(plan: OrdersPlan, unattributed: dict[str, str]) -> list[dict[str, Any]]:
    row_of = {r["order_id"]: r["row"] for r in plan.rows}
    return [{"row": row_of.get(order_id, "—"), "order_id": order_id, "why": why}
            for order_id, why in list(unattributed.items())[:PREVIEW_ROWS]]


def _done(brand: Brand, result: OrdersResult) -> str:
    message = f"Imported orders into {brand}: {result.created} new, {result.updated} updated, {result.unchanged} unchanged"
    if result.unattributed:
        message += f"; {len(result.unattributed)} left unattributed (their code or UTM value names no creator, or several)"
    return message + "."


ORDERS: CsvImport[OrdersPlan, OrdersResult] = CsvImport(
    title="Import orders from CSV",
    salt=SALT,
    template=TEMPLATE,
    file_help="Columns: order_id, placed_at, amount, currency, and promo_code and/or utm_source. UTF-8, at most "
    f"{creator_import.MAX_BYTES // 1_000_000} MB and {creator_import.MAX_ROWS:,} rows. Existing order ids are updated.",
    plan=orders.plan_orders,
    apply=orders.apply_orders,
    preview=_preview,
    done=_done,
)
