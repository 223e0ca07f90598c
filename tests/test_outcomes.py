"""Campaign outcomes per creator and per tier."""

from datetime import date
from decimal import Decimal
from io import StringIO

from django.core.management import call_command
from django.utils import timezone

from surveys.models import ClickCount, Order
from surveys.outcomes import outcome_rows, outcome_table
from tests.factories import BrandFactory, CreatorFactory, CreatorLinkFactory, QuestionFactory, ResponseFactory, SurveyFactory


def test_outcomes_per_creator_and_tier_from_clicks_responses_orders_and_costs():
    brand = BrandFactory(slug="glow")
    survey = SurveyFactory(brand=brand, status="live")
    QuestionFactory(survey=survey, code="bought", kind="yesno", construct="reported_purchase", scale_points=None,
                    left_label="", right_label="")
    nano = CreatorFactory(brand=brand, handle="nina", followers=5_000)
    micro = CreatorFactory(brand=brand, handle="milo", followers=50_000)
    nano_link = CreatorLinkFactory(survey=survey, creator=nano, fee=Decimal("100"), product_cost=Decimal("20"), currency="EUR")
    micro_link = CreatorLinkFactory(survey=survey, creator=micro, fee=Decimal("400"), currency="EUR")
    for bought in (1, 1, 0, 0):
        ResponseFactory(link=nano_link, answers={"bought": bought})
    ResponseFactory(link=micro_link, answers={"bought": 0})
    ResponseFactory(link=micro_link, answers={})  # not asked about buying
    ResponseFactory(link=micro_link, answers={"bought": 1}, is_test=True)  # a preview: left out
    ClickCount.objects.create(link=nano_link, day=date(2026, 11, 20), clicks=30)
    ClickCount.objects.create(link=nano_link, day=date(2026, 11, 21), clicks=12)
    now = timezone.now()
    for n, (creator, amount, currency) in enumerate([(nano, "60", "EUR"), (nano, "90", "EUR"), (micro, "200", "EUR"),
                                                     (micro, "999", "USD"), (None, "50", "EUR")]):
        Order.objects.create(brand=brand, order_id=str(n), placed_at=now, amount=Decimal(amount), currency=currency, creator=creator)

    creators, tiers = outcome_table(outcome_rows(brand, currency="EUR"))
    by_handle = {row.label: row for row in creators}
    nina, milo = by_handle["@nina"], by_handle["@milo"]
    assert (nina.clicks, nina.responses, nina.reported_purchase_rate, nina.orders, nina.revenue, nina.cost) == (
        42, 4, 0.5, 2, Decimal("150"), Decimal("120"))
    assert nina.cost_per_order == Decimal("60.00") and nina.return_on_spend == 1.25
    assert (milo.responses, milo.reported_purchase_rate, milo.orders, milo.revenue, milo.return_on_spend) == (
        2, 0.0, 1, Decimal("200"), 0.5)  # the USD order is left out of a EUR table
    assert [(t.tier, t.orders, t.revenue, t.cost) for t in tiers] == [("nano", 2, Decimal("150"), Decimal("120")),
                                                                     ("micro", 1, Decimal("200"), Decimal("400"))]


def test_the_command_prints_the_table_and_the_caveat():
    brand = BrandFactory(slug="plain")
    CreatorFactory(brand=brand, handle="solo")
    out = StringIO()
    call_command("outcomes", "plain", stdout=out)
    text = out.getvalue()
    assert "Outcomes of" in text and "@solo" in text and "different groups of people" in text


def test_the_admin_shows_the_outcome_table_to_the_brands_members_only(two_brands, client):
    brand = two_brands["a"]["brand"]
    link = two_brands["a"]["link"]
    link.fee, link.currency = Decimal("80"), "EUR"
    link.save()
    Order.objects.create(brand=brand, order_id="1", placed_at=timezone.now(), amount=Decimal("200"), currency="EUR",
                         creator=link.creator)
    client.force_login(two_brands["a"]["editor"])
    page = client.get(f"/admin/surveys/brand/{brand.pk}/outcomes/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"@{link.creator.handle}" in html and "200.00" in html and "2.50×" in html and "different groups of people" in html
    assert client.get(f"/admin/surveys/brand/{two_brands['b']['brand'].pk}/outcomes/").status_code == 404
    assert "Outcomes per creator" in client.get("/admin/surveys/brand/").content.decode()
