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

from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

import pandas as pd
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.fields.json import KeyTransform

from surveys.analysis import TRUST, ModelResult, ModelSpec, fit_model, prepare
from surveys.choices import Construct, Tier
from surveys.models import Brand, ClickCount, Creator, CreatorLink, Order, Question, Response, Survey
from surveys.selectors import question_metas, responses_frame

ORDER_VALUE = "order_value"
VALUE_CAVEAT = (
    "Every answer in this model comes from a buyer, on the order confirmation page, about the creator the buyer "
    "named; the order's value is the shop's signed figure, not a report. So the slope compares what buyers who "
    "trust their creator more spend per order with what buyers who trust less spend. It says nothing about the "
    "followers who did not buy, and, as with every survey, it shows an association, not that trust caused the "
    "spending."
)

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


def outcome_rows(brand: Brand, *, currency: str, survey: Survey | None = None) -> list[OutcomeRow]:
    """Return one row per creator of ``brand`` (money in ``currency`` only; other currencies are left out).

    With ``survey``, clicks, responses and costs count that survey's links and
    responses only, and the rows are the creators with a link in it (or a
    response to it, imported without a link); their verified orders are still
    all of the brand's orders credited to them, because an order belongs to a
    brand and a creator, not to a survey.
    """
    if survey is not None and survey.brand_id != brand.pk:
        raise ValueError("The survey belongs to another brand.")
    # Brand-wide, buyers' post-purchase answers are not followers' responses: they stay out of these columns.
    in_scope = Q(survey__brand=brand, survey__post_purchase=False) if survey is None else Q(survey=survey)
    purchase_codes = list(Question.objects.filter(in_scope, construct=Construct.REPORTED_PURCHASE)
                          .values_list("code", flat=True).distinct())
    responses = Response.objects.filter(in_scope, is_test=False)
    # Counted by the database: an export of a million responses reads one row per creator here. Each code's
    # answer gets an alias of our own naming, so a code can never be read as a lookup name.
    asked = bought = Q(pk__in=[])
    for i, code in enumerate(purchase_codes):
        responses = responses.alias(**{f"purchase_{i}": KeyTransform(code, "answers")})
        asked |= Q(answers__has_key=code)  # answers are never stored as null: a key means an answer
        bought |= Q(**{f"purchase_{i}": 1})
    per_creator = {
        row["creator_id"]: row for row in responses.values("creator_id").annotate(
            responses=Count("pk"), asked=Count("pk", filter=asked), bought=Count("pk", filter=bought))
    }
    click_scope = Q(link__survey__brand=brand) if survey is None else Q(link__survey=survey)
    clicks = dict(ClickCount.objects.filter(click_scope).values("link__creator_id")
                  .annotate(n=Sum("clicks")).values_list("link__creator_id", "n"))
    orders = {cid: (n, Decimal(total or 0).quantize(Decimal("0.01"))) for cid, n, total in Order.objects.filter(brand=brand, currency=currency)
              .exclude(creator=None).values("creator_id").annotate(n=Count("pk"), total=Sum("amount"))
              .values_list("creator_id", "n", "total")}
    costs: dict[int, Decimal] = {}
    for creator_id, fee, product in CreatorLink.objects.filter(in_scope, currency=currency).filter(
            Q(fee__isnull=False) | Q(product_cost__isnull=False)).values_list("creator_id", "fee", "product_cost"):
        costs[creator_id] = (costs.get(creator_id, Decimal("0")) + (fee or 0) + (product or 0)).quantize(Decimal("0.01"))
    creators = Creator.objects.filter(brand=brand)
    if survey is not None:
        # A response imported for a creator without a link still makes the creator one of the survey's.
        creators = creators.filter(Q(pk__in=CreatorLink.objects.filter(survey=survey).values("creator_id"))
                                   | Q(pk__in=list(per_creator)))
    rows = []
    for creator in creators.order_by("display_name"):
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
    return _most_used_currency(CreatorLink.objects.filter(survey__brand=brand), Order.objects.filter(brand=brand))


def _most_used_currency(links: QuerySet[CreatorLink], orders: QuerySet[Order]) -> str:
    # Counted by the database: every report and export asks, and a brand may have many thousands of orders.
    counts: dict[str, int] = {}
    for rows in (links.exclude(currency=""), orders):
        for code, n in rows.order_by().values("currency").annotate(n=Count("pk")).values_list("currency", "n"):
            counts[code] = counts.get(code, 0) + n
    return max(counts, key=counts.get) if counts else "EUR"


def verified_value_frame(brand: Brand, *, currency: str) -> pd.DataFrame:
    """Return one row per post-purchase answer linked to an order in ``currency``: trust score, order value, creator, tier."""
    frames = []
    for survey in brand.surveys.filter(post_purchase=True).order_by("pk"):
        frame, _notes = prepare(responses_frame(survey, where=Q(order__currency=currency)), question_metas(survey))
        if frame.empty or TRUST not in frame:
            continue
        values = dict(Response.objects.filter(pk__in=frame["response_id"].tolist()).values_list("pk", "order__amount"))
        frame[ORDER_VALUE] = frame["response_id"].map(lambda pk: float(values[pk]))
        frames.append(frame[["response_id", "creator_id", "creator_handle", "tier", TRUST, ORDER_VALUE]])
    if not frames:
        return pd.DataFrame(columns=["response_id", "creator_id", "creator_handle", "tier", TRUST, ORDER_VALUE])
    return pd.concat(frames, ignore_index=True)


def verified_value_model(frame: pd.DataFrame) -> ModelResult | None:
    """Return OLS of the verified order value on the buyer's trust score, cluster-robust by creator. Pure.

    None when there are no post-purchase answers at all.
    """
    if frame.empty:
        return None
    spec = ModelSpec(name="verified_value", family="ols", outcome=ORDER_VALUE, predictor=TRUST)
    return fit_model(frame, spec, {ORDER_VALUE: "numeric", TRUST: "numeric"})


# --- the outcomes section of the report, the XLSX export and the admin page -------------------

COEFFICIENT_LABELS = {"const": "intercept", TRUST: "trust (per scale point)"}


def outcome_section(brand: Brand, *, survey: Survey | None = None, currency: str | None = None) -> dict[str, Any]:
    """Return everything the Outcomes section shows, for the report, the XLSX export and the admin page alike.

    With ``survey``, the table is scoped to that survey (see ``outcome_rows``);
    the verified-value model always uses all of the brand's post-purchase answers.
    """
    if currency:
        currency = currency.strip().upper()
    elif survey is None:
        currency = main_currency(brand)
    else:
        currency = _most_used_currency(CreatorLink.objects.filter(survey=survey),
                                       Order.objects.filter(brand=brand, creator__links__survey=survey))
    creators, tiers = outcome_table(outcome_rows(brand, currency=currency, survey=survey))
    whose = "this survey's creators" if survey is not None else "this brand's creators"
    notes = []
    if survey is not None:
        notes.append(
            "Clicks, responses and costs count this survey's links only. Verified orders are all of the brand's orders "
            "credited to these creators, whichever campaign they came from: an order belongs to a creator, not to a survey."
        )
        notes.append("Responses count every answer to this survey except test answers, whatever filters the analysis used.")
    value_model = summarize_value_model(verified_value_model(verified_value_frame(brand, currency=currency)), currency=currency)
    if value_model is not None and survey is not None:
        value_model["scope_note"] = ("This model uses every post-purchase answer the brand has, about any creator, "
                                     "not only this survey's.")
    return {
        "currency": currency,
        "creators": creators,
        "tiers": tiers,
        "tables": [{"caption": f"Outcomes per tier ({currency})", "rows": tiers, "by_tier": True},
                   {"caption": f"Outcomes per creator ({currency})", "rows": creators, "by_tier": False}],
        "has_data": any(row.clicks or row.orders or row.cost for row in creators),
        "empty_text": f"No clicks, and no verified orders or collaboration costs in {currency}, are recorded for "
                      f"{whose} yet, so there are no outcomes to show.",
        "currency_note": f"Money in {currency}; orders and costs in other currencies are left out.",
        "notes": notes,
        "caveat": CAVEAT,
        "value_model": value_model,
    }


def section_data(section: dict[str, Any]) -> dict[str, Any]:
    """Return ``outcome_section``'s result as plain JSON data, for the API and ``manage.py outcomes --json``."""
    return {"currency": section["currency"], "creators": [r.as_dict() for r in section["creators"]],
            "tiers": [r.as_dict() for r in section["tiers"]], "caveat": section["caveat"],
            "verified_value_model": section["value_model"]}


def summarize_value_model(result: ModelResult | None, *, currency: str) -> dict[str, Any] | None:
    """Return the verified-value model as plain figures and one sentence (None when there is no model). Pure."""
    if result is None:
        return None
    summary: dict[str, Any] = {
        "n": result.n, "clusters": result.clusters, "standard_errors": result.standard_errors,
        "r_squared": result.statistics.get("r_squared"), "warnings": list(result.warnings), "error": result.error,
        "coefficients": [{**asdict(c), "label": COEFFICIENT_LABELS.get(c.name, c.name)} for c in result.coefficients],
        "slope": None, "reading": None, "caveat": VALUE_CAVEAT, "scope_note": None, "currency": currency,
    }
    if result.error or not result.coefficients:
        return summary
    slope = result.coefficient(TRUST)
    summary["slope"] = asdict(slope)
    if slope.estimate is not None and slope.ci_low is not None and slope.ci_high is not None:
        direction = "more" if slope.estimate >= 0 else "less"
        p = ("p not available" if slope.p_value is None else
             "p < 0.001" if slope.p_value < 0.001 else f"p = {slope.p_value:.3f}")
        summary["reading"] = (
            f"Each extra point of trust goes with {abs(slope.estimate):.2f} {currency} {direction} per verified order "
            f"(95% CI {slope.ci_low:.2f} to {slope.ci_high:.2f} {currency}; {p}), among {result.n} buyers of "
            f"{result.clusters} creators."
        )
    return summary
