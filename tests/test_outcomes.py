"""Campaign outcomes per creator and per tier."""

from datetime import date
from decimal import Decimal
from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from django.utils import timezone

from surveys.choices import AttributionSource, Construct, SurveyStatus
from surveys.collection import BatchRow, submit_responses
from surveys.design import create_links, insert_instrument
from surveys.models import ClickCount, Creator, Order
from surveys.outcomes import CAVEAT, VALUE_CAVEAT, outcome_rows, outcome_section, outcome_table
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


# --- one survey's outcomes, and the verified-value model ----------------------------------------


def bought_question(survey) -> None:
    QuestionFactory(survey=survey, code="bought", kind="yesno", construct="reported_purchase", scale_points=None,
                    left_label="", right_label="")


def two_surveys_of_one_brand():
    """Spring and autumn campaigns; @both works on both, @springer on spring only, @autumnal on autumn only.

    Spring, @both: costs 200 + 50 EUR, 40 clicks, 2 answers (1 bought). Autumn, @both: 1000 EUR, 500 clicks,
    3 answers (all bought). @both's verified orders (150 + 350 EUR) belong to neither campaign.
    """
    brand = BrandFactory(slug="seasons")
    spring = SurveyFactory(brand=brand, slug="spring", status="live")
    autumn = SurveyFactory(brand=brand, slug="autumn", status="live")
    bought_question(spring)
    bought_question(autumn)
    both = CreatorFactory(brand=brand, handle="both", display_name="A Both", followers=5_000)
    springer = CreatorFactory(brand=brand, handle="springer", display_name="B Springer", followers=5_000)
    autumnal = CreatorFactory(brand=brand, handle="autumnal", display_name="C Autumnal", followers=50_000)
    both_spring = CreatorLinkFactory(survey=spring, creator=both, fee=Decimal("200"), product_cost=Decimal("50"), currency="EUR")
    both_autumn = CreatorLinkFactory(survey=autumn, creator=both, fee=Decimal("1000"), currency="EUR")
    CreatorLinkFactory(survey=spring, creator=springer)  # no cost recorded
    autumnal_link = CreatorLinkFactory(survey=autumn, creator=autumnal, fee=Decimal("300"), currency="EUR")
    for bought in (1, 0):
        ResponseFactory(link=both_spring, answers={"bought": bought})
    for _ in range(3):
        ResponseFactory(link=both_autumn, answers={"bought": 1})
    ResponseFactory(link=autumnal_link, answers={"bought": 0})
    ClickCount.objects.create(link=both_spring, day=date(2026, 3, 1), clicks=40)
    ClickCount.objects.create(link=both_autumn, day=date(2026, 10, 1), clicks=500)
    now = timezone.now()
    for n, (creator, amount) in enumerate([(both, "150"), (both, "350"), (autumnal, "80"), (None, "20")]):
        Order.objects.create(brand=brand, order_id=f"S-{n}", placed_at=now, amount=Decimal(amount), currency="EUR", creator=creator)
    return {"brand": brand, "spring": spring, "autumn": autumn}


def test_a_survey_scoped_table_counts_only_that_surveys_clicks_responses_and_costs():
    world = two_surveys_of_one_brand()
    rows = outcome_rows(world["brand"], currency="EUR", survey=world["spring"])
    assert [row.label for row in rows] == ["@both", "@springer"]  # @autumnal has no link in spring
    both, springer = rows
    assert (both.clicks, both.responses, both.reported_buyers, both.asked_about_buying) == (40, 2, 1, 2)
    assert (both.orders, both.revenue, both.cost) == (2, Decimal("500.00"), Decimal("250.00"))
    assert both.cost_per_order == Decimal("125.00") and both.return_on_spend == 2.0
    assert (springer.clicks, springer.responses, springer.orders, springer.cost) == (0, 0, 0, Decimal("0"))
    assert (springer.reported_purchase_rate, springer.cost_per_order, springer.return_on_spend) == (None, None, None)


def test_without_a_survey_the_table_stays_brand_wide():
    world = two_surveys_of_one_brand()
    rows = {row.label: row for row in outcome_rows(world["brand"], currency="EUR")}
    assert list(rows) == ["@both", "@springer", "@autumnal"]
    both = rows["@both"]
    assert (both.clicks, both.responses, both.reported_buyers, both.asked_about_buying, both.orders, both.cost) == (
        540, 5, 4, 5, 2, Decimal("1250.00"))
    assert both.cost_per_order == Decimal("625.00") and both.return_on_spend == 0.4


def test_a_response_imported_without_a_link_still_lists_its_creator():
    world = two_surveys_of_one_brand()
    newcomer = CreatorFactory(brand=world["brand"], handle="newcomer", display_name="D Newcomer", followers=5_000)
    ResponseFactory(link=None, survey=world["spring"], creator=newcomer, creator_tier="nano", creator_followers=5_000,
                    answers={"bought": 1})
    rows = {row.label: row for row in outcome_rows(world["brand"], currency="EUR", survey=world["spring"])}
    assert list(rows) == ["@both", "@springer", "@newcomer"]
    assert (rows["@newcomer"].responses, rows["@newcomer"].reported_purchase_rate) == (1, 1.0)


def test_a_survey_of_another_brand_is_refused():
    world = two_surveys_of_one_brand()
    with pytest.raises(ValueError, match="another brand"):
        outcome_rows(BrandFactory(), currency="EUR", survey=world["spring"])


def test_the_section_of_one_survey_has_both_tables_notes_and_no_model_without_post_purchase_answers():
    world = two_surveys_of_one_brand()
    section = outcome_section(world["brand"], survey=world["spring"])
    assert section["currency"] == "EUR" and section["has_data"] is True
    assert [(t.label, t.clicks, t.orders, t.revenue, t.cost, t.cost_per_order) for t in section["tiers"]] == [
        ("Nano", 40, 2, Decimal("500.00"), Decimal("250.00"), Decimal("125.00"))]
    assert [row.label for row in section["creators"]] == ["@both", "@springer"]
    assert section["caveat"] == CAVEAT
    assert any("orders are all of the brand's orders" in note for note in section["notes"])
    assert section["value_model"] is None
    # The brand-wide section (the admin page's) has the same shape, without the survey notes.
    brand_wide = outcome_section(world["brand"])
    assert [row.label for row in brand_wide["creators"]] == ["@both", "@springer", "@autumnal"]
    assert brand_wide["notes"] == []


def test_the_section_picks_the_currency_of_the_surveys_own_links_and_orders():
    brand = BrandFactory()
    euros, dollars = SurveyFactory(brand=brand), SurveyFactory(brand=brand)
    for _ in range(3):
        CreatorLinkFactory(survey=euros, fee=Decimal("10"), currency="EUR")
    CreatorLinkFactory(survey=dollars, fee=Decimal("10"), currency="USD")
    assert outcome_section(brand)["currency"] == "EUR"
    assert outcome_section(brand, survey=dollars)["currency"] == "USD"
    assert outcome_section(brand, survey=dollars, currency="gbp")["currency"] == "GBP"


def test_a_survey_without_clicks_orders_or_costs_says_so_in_one_sentence():
    brand = BrandFactory()
    survey = SurveyFactory(brand=brand)
    bought_question(survey)
    ResponseFactory(link=CreatorLinkFactory(survey=survey), answers={"bought": 1})
    section = outcome_section(brand, survey=survey)
    assert section["has_data"] is False
    assert section["empty_text"] == ("No clicks, and no verified orders or collaboration costs in EUR, are recorded for "
                                     "this survey's creators yet, so there are no outcomes to show.")


# Known truth of the simulated buyers: order value = 20 + 15 · trust + noise (sd 8), in EUR.
TRUE_INTERCEPT, TRUE_SLOPE = 20.0, 15.0


def add_post_purchase_answers(brand, *, creators: int = 24, per_creator: int = 5, seed: int = 3) -> pd.DataFrame:
    """Add a post-purchase survey answered by ``creators × per_creator`` buyers, each linked to a verified EUR order.

    Every buyer answers the five Ohanian trust items with one value (items 2 and 4
    reverse-coded), so the trust score is exactly that value. Returns the simulated
    (trust, amount, handle) rows, amounts rounded to cents as the shop stores them.
    """
    rng = np.random.default_rng(seed)
    survey = SurveyFactory(brand=brand, slug=f"after-purchase-{seed}", status=SurveyStatus.LIVE, post_purchase=True)
    insert_instrument(survey, "ohanian_1990", constructs={Construct.TRUSTWORTHINESS})
    buyers = [CreatorFactory(brand=brand, handle=f"pp{seed}_{k}", display_name=f"Z buyer creator {k}") for k in range(creators)]
    create_links(survey, buyers)
    simulated, rows = [], []
    for k, creator in enumerate(buyers):
        for j in range(per_creator):
            trust = int(rng.integers(1, 8))
            amount = round(max(1.0, TRUE_INTERCEPT + TRUE_SLOPE * trust + rng.normal(0, 8)), 2)
            order = Order.objects.create(brand=brand, order_id=f"PP-{seed}-{k}-{j}", placed_at=timezone.now(),
                                         amount=Decimal(f"{amount:.2f}"), currency="EUR", creator=creator,
                                         attribution=Order.Attribution.NAMED)
            answers = {f"tru_{n}": 8 - trust if n in (2, 4) else trust for n in range(1, 6)}
            rows.append(BatchRow(key=f"pp:{seed}:{k}:{j}", creator=creator, answers=answers,
                                 source=AttributionSource.NAMED, order=order))
            simulated.append({"trust": float(trust), "amount": amount, "handle": creator.handle})
    result = submit_responses(survey=survey, rows=rows)
    assert result.created == len(rows), result.errors
    return pd.DataFrame(simulated)


def ols_line(simulated: pd.DataFrame) -> tuple[float, float, float]:
    """Return (intercept, slope, R²) of amount on trust by plain least squares."""
    slope, intercept = np.polyfit(simulated["trust"], simulated["amount"], 1)
    r_squared = float(np.corrcoef(simulated["trust"], simulated["amount"])[0, 1] ** 2)
    return float(intercept), float(slope), r_squared


def test_the_verified_value_model_recovers_the_simulated_slope_of_order_value_on_trust():
    brand = BrandFactory()
    simulated = add_post_purchase_answers(brand)
    # An order in another currency is left out of a EUR model.
    usd = Order.objects.create(brand=brand, order_id="USD-1", placed_at=timezone.now(), amount=Decimal("9999"),
                               currency="USD", creator=Creator.objects.get(handle="pp3_0"))
    survey = brand.surveys.get(post_purchase=True)
    stored = submit_responses(survey=survey, rows=[BatchRow(key="pp:usd", creator=usd.creator, source=AttributionSource.NAMED,
                                                            answers={f"tru_{n}": 4 for n in range(1, 6)}, order=usd)])
    assert stored.created == 1, stored.errors
    model = outcome_section(brand, currency="EUR")["value_model"]
    intercept, slope, r_squared = ols_line(simulated)
    assert (model["n"], model["clusters"], model["error"]) == (120, 24, None)
    assert model["slope"]["estimate"] == pytest.approx(slope, rel=1e-9)
    assert model["slope"]["estimate"] == pytest.approx(TRUE_SLOPE, abs=1.0)
    assert model["slope"]["ci_low"] < TRUE_SLOPE < model["slope"]["ci_high"]
    assert model["slope"]["p_value"] < 0.001
    assert model["coefficients"][0]["estimate"] == pytest.approx(intercept, rel=1e-9)
    assert model["r_squared"] == pytest.approx(r_squared, rel=1e-9)
    assert "cluster-robust by creator" in model["standard_errors"] and model["warnings"] == []
    assert model["reading"].startswith(f"Each extra point of trust goes with {slope:.2f} EUR more per verified order (95% CI ")
    assert model["caveat"] == VALUE_CAVEAT


def test_few_creators_in_the_verified_value_model_bring_the_cluster_warning():
    brand = BrandFactory()
    add_post_purchase_answers(brand, creators=4, per_creator=10, seed=4)
    model = outcome_section(brand)["value_model"]
    assert (model["n"], model["clusters"]) == (40, 4)
    assert model["warnings"] == ["Only 4 creators: cluster-robust standard errors are unreliable with fewer than about 20 "
                                 "clusters; read the intervals as rough."]


def test_the_admin_page_shows_the_verified_value_model(two_brands, client):
    brand = two_brands["a"]["brand"]
    simulated = add_post_purchase_answers(brand)
    client.force_login(two_brands["a"]["editor"])
    html = client.get(f"/admin/surveys/brand/{brand.pk}/outcomes/").content.decode()
    _, slope, _ = ols_line(simulated)
    assert "<h2>Order value and the buyer's trust (post-purchase answers)</h2>" in html
    assert f"Each extra point of trust goes with {slope:.2f} EUR more per verified order" in html
    assert "n = 120 buyers, 24 creators" in html
