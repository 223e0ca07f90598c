"""Orders from the brand's shop, imported from CSV and attributed to creators: all or nothing, idempotent.

Columns (header names ignore case; spaces and hyphens read as ``_``):
``order_id``, ``placed_at`` (ISO date or date-time; without a zone, UTC),
``amount`` (``1234.50``, ``1,234.50`` or ``1234,50``), ``currency`` (ISO code),
and ``promo_code`` and/or ``utm_source``.

Attribution is never guessed:
- A promo code names a creator when it is the promo code of that creator's
  links (ignoring case).
- A UTM value names a creator when it equals one of the creator's links'
  ``utm_source``, ``utm_campaign`` or ``utm_content``, or the creator's handle,
  and nothing else's.
- A code or value that names nobody, or more than one creator, is reported;
  the order is still imported, unattributed.

Importing the same file again changes nothing: rows are keyed by ``order_id``.
A changed row updates its order, except that a row without a code or UTM value
keeps the creator a buyer named in the post-purchase poll.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from surveys.creator_import import MAX_ROWS, ImportProblem, ImportRefused, _delimiter, problems_dict
from surveys.models import Brand, CreatorLink, Order, _now

COLUMNS = ("order_id", "placed_at", "amount", "currency", "promo_code", "utm_source")
REQUIRED = ("order_id", "placed_at", "amount", "currency")


@dataclass
class OrdersPlan:
    brand: Brand
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)
    unattributed: dict[str, str] = field(default_factory=dict)  # order id → why

    @property
    def ok(self) -> bool:
        return not self.problems

    def errors(self) -> dict[str, Any]:
        return problems_dict(self.problems)


@dataclass
class OrdersResult:
    created: int
    updated: int
    unchanged: int
    unattributed: dict[str, str]


def _attribution_index(brand: Brand) -> tuple[dict[str, set[int]], dict[str, set[int]]]:
    """Return {promo code: creator ids} and {UTM value: creator ids} of the brand, lower-cased."""
    codes: dict[str, set[int]] = {}
    utm: dict[str, set[int]] = {}
    links = CreatorLink.objects.filter(survey__brand=brand).values_list(
        "creator_id", "promo_code", "utm_source", "utm_campaign", "utm_content", "creator__handle")
    for creator_id, promo, *values in links:
        if promo:
            codes.setdefault(promo.strip().lower(), set()).add(creator_id)
        for value in values:
            if value:
                utm.setdefault(value.strip().lower(), set()).add(creator_id)
    for creator_id, handle in brand.creators.values_list("pk", "handle"):
        utm.setdefault(handle.lower(), set()).add(creator_id)
    return codes, utm


def parse_amount(raw: str) -> Decimal:
    text = raw.strip().replace(" ", "")
    if "," in text and "." in text:
        text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    value = Decimal(text)
    if not value.is_finite() or value < 0:
        raise InvalidOperation
    return value.quantize(Decimal("0.01"))


def parse_time(raw: str) -> datetime:
    moment = parse_datetime(raw.strip())
    if moment is None:
        day = parse_date(raw.strip())
        if day is None:
            raise ValueError
        moment = datetime.combine(day, time())
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def plan_orders(brand: Brand, text: str) -> OrdersPlan:
    """Read ``text`` against the brand's links; return rows, problems by row and column, and unattributed orders."""
    plan = OrdersPlan(brand)
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(text))
    header = [h.strip().lower().replace(" ", "_").replace("-", "_") for h in next(reader, [])]
    for name in header:
        if name not in COLUMNS:
            plan.problems.append(ImportProblem(None, name, f"unknown column; use {', '.join(COLUMNS)}."))
    for name in REQUIRED:
        if name not in header:
            plan.problems.append(ImportProblem(None, name, "this column is required."))
    if "promo_code" not in header and "utm_source" not in header:
        plan.problems.append(ImportProblem(None, "promo_code", "give promo_code and/or utm_source to attribute orders."))
    if plan.problems:
        return plan
    codes, utm = _attribution_index(brand)
    seen: set[str] = set()
    for number, cells in enumerate(reader, start=2):
        if not any(cell.strip() for cell in cells):
            continue
        if number - 1 > MAX_ROWS:
            plan.problems.append(ImportProblem(None, None, f"More than {MAX_ROWS:,} rows: split the file."))
            break
        raw = dict(zip(header, [c.strip() for c in cells], strict=False))
        row: dict[str, Any] = {}
        for name in REQUIRED:
            if not raw.get(name):
                plan.problems.append(ImportProblem(number, name, "required."))
        order_id = raw.get("order_id", "")
        if len(order_id) > 100:
            plan.problems.append(ImportProblem(number, "order_id", "at most 100 characters."))
        elif order_id and order_id in seen:
            plan.problems.append(ImportProblem(number, "order_id", f"order {order_id} appears twice in this file."))
        seen.add(order_id)
        try:
            row["placed_at"] = parse_time(raw["placed_at"]) if raw.get("placed_at") else None
        except ValueError:
            plan.problems.append(ImportProblem(number, "placed_at", "use a date like 2026-11-20 or 2026-11-20T14:05:00+01:00.", raw["placed_at"]))
        try:
            row["amount"] = parse_amount(raw["amount"]) if raw.get("amount") else None
        except (InvalidOperation, ValueError):
            plan.problems.append(ImportProblem(number, "amount", "enter an amount like 49.90.", raw["amount"]))
        currency = raw.get("currency", "").upper()
        if currency and not (len(currency) == 3 and currency.isalpha()):
            plan.problems.append(ImportProblem(number, "currency", "use a three-letter ISO code, e.g. EUR.", raw["currency"]))
        promo, source = raw.get("promo_code", "")[:60], raw.get("utm_source", "")[:100]
        creator_id, attribution, why = None, Order.Attribution.NONE, ""
        for value, index, kind in ((promo, codes, Order.Attribution.PROMO_CODE), (source, utm, Order.Attribution.UTM)):
            if not value:
                continue
            matches = index.get(value.lower(), set())
            if len(matches) == 1:
                creator_id, attribution, why = next(iter(matches)), kind, ""
                break
            why = why or (f"{kind.label.lower()} “{value}” is not a creator's" if not matches
                          else f"{kind.label.lower()} “{value}” belongs to {len(matches)} creators")
        if why and order_id:
            plan.unattributed[order_id] = why
        row.update(order_id=order_id, currency=currency, promo_code=promo, utm_source=source, creator_id=creator_id,
                   attribution=attribution, row=number)
        plan.rows.append(row)
    return plan


def apply_orders(plan: OrdersPlan) -> OrdersResult:
    """Store a problem-free plan in one transaction: create new orders, update changed ones, leave the rest."""
    if not plan.ok:
        raise ImportRefused(plan.problems)
    fields = ("placed_at", "amount", "currency", "promo_code", "utm_source", "creator_id", "attribution")
    new: list[Order] = []
    changed: list[Order] = []
    unchanged = 0
    unattributed = dict(plan.unattributed)
    with transaction.atomic():
        existing: dict[str, Order] = {}
        ids = [r["order_id"] for r in plan.rows]
        for start in range(0, len(ids), 5000):
            existing.update((o.order_id, o) for o in Order.objects.select_for_update().filter(
                brand=plan.brand, order_id__in=ids[start:start + 5000]))
        for row in plan.rows:
            order = existing.get(row["order_id"])
            if order is not None and row["attribution"] == Order.Attribution.NONE and order.attribution == Order.Attribution.NAMED:
                # The buyer named a creator in the post-purchase poll; a row without a code does not undo that.
                row = {**row, "creator_id": order.creator_id, "attribution": order.attribution}
                unattributed.pop(row["order_id"], None)
            if order is None:
                new.append(Order(brand=plan.brand, **{k: row[k] for k in ("order_id", *fields)}))
            elif any(getattr(order, k) != row[k] for k in fields):
                for k in fields:
                    setattr(order, k, row[k])
                order.imported_at = _now()
                changed.append(order)
            else:
                unchanged += 1
        # A few statements per thousand orders, not one per order.
        Order.objects.bulk_create(new, batch_size=1000)
        Order.objects.bulk_update(changed, [*fields, "imported_at"], batch_size=1000)
    created, updated = len(new), len(changed)
    return OrdersResult(created, updated, unchanged, unattributed)
