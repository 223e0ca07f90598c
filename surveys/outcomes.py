"""Campaign outcomes per creator and per tier: clicks, responses, reported purchases, verified orders, cost, return.

The reads (``outcome_rows``) gather one plain row per creator; the table
(``outcome_table``) is pure arithmetic on those rows, without the ORM.
Reported and verified purchases come from different people: respondents are
the followers who chose to answer the poll, and orders come from every
customer who used the creator's code or link. So the two are shown side by
side as rates and totals, and never joined person by person (until the
post-purchase poll links an order to a respondent).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, Sum

from surveys.choices import Construct, Tier
from surveys.models import Brand, ClickCount, Creator, CreatorLink, Order, Question, Response

CAVEAT = (
    "Reported purchases come from the followers who answered the poll; verified orders come from every customer "
    "who used the creator's code or link. They are different groups of people, so compare them as rates and totals "
    "side by side. They say which creators' audiences buy, not that trust caused the purchases."
)


@dataclass
class OutcomeRow:
    label: str
    tier: str
    clicks: int
    responses: int
    reported_buyers: int
    asked_about_buying: int
    orders: int
    revenue: Decimal
    cost: Decimal

    @property
    def reported_purchase_rate(self) -> float | None:
        return self.reported_buyers / self.asked_about_buying if self.asked_about_buying else None

    @property
    def cost_per_order(self) -> Decimal | None:
        return (self.cost / self.orders).quantize(Decimal("0.01")) if self.orders and self.cost else None

    @property
    def return_on_spend(self) -> float | None:
        return float(self.revenue / self.cost) if self.cost else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label, "tier": self.tier, "clicks": self.clicks, "responses": self.responses,
            "reported_purchase_rate": self.reported_purchase_rate, "orders": self.orders, "revenue": str(self.revenue),
            "cost": str(self.cost), "cost_per_order": None if self.cost_per_order is None else str(self.cost_per_order),
            "return_on_spend": self.return_on_spend,
        }


def outcome_rows(brand: Brand, *, currency: str) -> list[OutcomeRow]:
    """Return one row per creator of ``brand`` (money in ``currency`` only; other currencies are left out)."""
    purchase_codes = list(Question.objects.filter(survey__brand=brand, construct=Construct.REPORTED_PURCHASE)
                          .values_list("code", flat=True).distinct())
    responses = Response.objects.filter(survey__brand=brand, is_test=False)
    per_creator: dict[int, dict[str, int]] = {}
    for creator_id, answers in responses.values_list("creator_id", "answers").iterator(chunk_size=5000):
        row = per_creator.setdefault(creator_id, {"responses": 0, "asked": 0, "bought": 0})
        row["responses"] += 1
        given = [answers.get(code) for code in purchase_codes if answers.get(code) is not None]
        if given:
            row["asked"] += 1
            row["bought"] += any(value == 1 for value in given)
    clicks = dict(ClickCount.objects.filter(link__survey__brand=brand).values("link__creator_id")
                  .annotate(n=Sum("clicks")).values_list("link__creator_id", "n"))
    orders = {cid: (n, Decimal(total or 0).quantize(Decimal("0.01"))) for cid, n, total in Order.objects.filter(brand=brand, currency=currency)
              .exclude(creator=None).values("creator_id").annotate(n=Count("pk"), total=Sum("amount"))
              .values_list("creator_id", "n", "total")}
    costs: dict[int, Decimal] = {}
    for creator_id, fee, product in CreatorLink.objects.filter(survey__brand=brand, currency=currency).filter(
            Q(fee__isnull=False) | Q(product_cost__isnull=False)).values_list("creator_id", "fee", "product_cost"):
        costs[creator_id] = (costs.get(creator_id, Decimal("0")) + (fee or 0) + (product or 0)).quantize(Decimal("0.01"))
    rows = []
    for creator in Creator.objects.filter(brand=brand).order_by("display_name"):
        stats = per_creator.get(creator.pk, {"responses": 0, "asked": 0, "bought": 0})
        n_orders, revenue = orders.get(creator.pk, (0, Decimal("0")))
        rows.append(OutcomeRow(f"@{creator.handle}", creator.tier, clicks.get(creator.pk, 0), stats["responses"],
                               stats["bought"], stats["asked"], n_orders, revenue, costs.get(creator.pk, Decimal("0"))))
    return rows


def outcome_table(rows: list[OutcomeRow]) -> tuple[list[OutcomeRow], list[OutcomeRow]]:
    """Return the creator rows and one summed row per tier (in tier order). Pure."""
    tiers = []
    for tier in Tier.values:
        members = [r for r in rows if r.tier == tier]
        if members:
            tiers.append(OutcomeRow(
                Tier(tier).label, tier, sum(r.clicks for r in members), sum(r.responses for r in members),
                sum(r.reported_buyers for r in members), sum(r.asked_about_buying for r in members),
                sum(r.orders for r in members), sum((r.revenue for r in members), Decimal("0")),
                sum((r.cost for r in members), Decimal("0"))))
    return rows, tiers


def main_currency(brand: Brand) -> str:
    """Return the brand's most used currency across link costs and orders (EUR when there is none)."""
    counts: dict[str, int] = {}
    for code in list(CreatorLink.objects.filter(survey__brand=brand).exclude(currency="").values_list("currency", flat=True)) + \
            list(Order.objects.filter(brand=brand).values_list("currency", flat=True)):
        counts[code] = counts.get(code, 0) + 1
    return max(counts, key=counts.get) if counts else "EUR"
