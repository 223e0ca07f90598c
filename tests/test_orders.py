"""Orders imported from CSV: attribution by promo code or UTM value, row-level errors, all or nothing, idempotent."""

from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from surveys.models import Order
from tests.factories import CreatorFactory, CreatorLinkFactory, SurveyFactory


@pytest.fixture
def shop(two_brands):
    brand = two_brands["a"]["brand"]
    ava = CreatorFactory(brand=brand, handle="ava")
    max_ = CreatorFactory(brand=brand, handle="max")
    survey = SurveyFactory(brand=brand)
    CreatorLinkFactory(survey=survey, creator=ava, promo_code="AVA10", utm_source="ava_ig")
    CreatorLinkFactory(survey=survey, creator=max_, promo_code="MAX15", utm_campaign="shared")
    two_brands["a"]["link"].utm_campaign = "shared"  # the fixture's own link: a second creator with the same value
    two_brands["a"]["link"].save()
    # Brand B also uses AVA10: never attributed across brands.
    CreatorLinkFactory(survey=two_brands["b"]["survey"], creator=CreatorFactory(brand=two_brands["b"]["brand"]), promo_code="AVA10")
    return {"brand": brand, "ava": ava, "max": max_}


CSV = """order_id,placed_at,amount,currency,promo_code,utm_source
1001,2026-11-20T14:05:00+01:00,49.90,EUR,ava10,
1002,2026-11-20,"1,234.50",eur,,ava_ig
1003,2026-11-21 09:00,19,EUR,,max
1004,2026-11-21,10,EUR,NOPE,
1005,2026-11-21,10,EUR,,shared
"""


def test_orders_are_attributed_by_code_or_utm_and_unknown_ones_reported(shop, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    out = call_command_text("import_orders", shop["brand"].slug, str(path))
    assert "5 created, 0 updated, 0 unchanged" in out
    assert "order 1004 not attributed: promo code “NOPE” is not a creator's" in out
    assert "order 1005 not attributed: utm value “shared” belongs to 2 creators" in out
    orders = {o.order_id: o for o in Order.objects.all()}
    assert (orders["1001"].creator, orders["1001"].attribution) == (shop["ava"], "promo_code")
    assert orders["1001"].placed_at.isoformat() == "2026-11-20T13:05:00+00:00"
    assert (orders["1002"].creator, orders["1002"].attribution, orders["1002"].amount) == (shop["ava"], "utm", Decimal("1234.50"))
    assert orders["1002"].currency == "EUR"
    assert (orders["1003"].creator, orders["1003"].attribution) == (shop["max"], "utm")  # the creator's handle
    assert orders["1004"].creator is None and orders["1005"].creator is None


def test_reimporting_changes_nothing_and_a_changed_row_updates_its_order(shop, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text(CSV)
    call_command_text("import_orders", shop["brand"].slug, str(path))
    assert "0 created, 0 updated, 5 unchanged" in call_command_text("import_orders", shop["brand"].slug, str(path))
    path.write_text(CSV.replace("1003,2026-11-21 09:00,19,", "1003,2026-11-21 09:00,21.50,"))
    assert "0 created, 1 updated, 4 unchanged" in call_command_text("import_orders", shop["brand"].slug, str(path))
    assert Order.objects.get(order_id="1003").amount == Decimal("21.50") and Order.objects.count() == 5


def test_bad_rows_are_named_by_row_and_column_and_nothing_is_stored(shop, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,placed_at,amount,currency,promo_code\n"
                    "2001,2026-11-20,12.00,EUR,AVA10\n"
                    "2002,yesterday,12.00,EUR,AVA10\n"
                    "2003,2026-11-20,-5,EUR,AVA10\n"
                    "2001,2026-11-20,12.00,EURO,AVA10\n")
    with pytest.raises(CommandError) as refused:
        call_command("import_orders", shop["brand"].slug, str(path))
    message = str(refused.value)
    assert "row 3, placed_at: use a date like 2026-11-20" in message
    assert "row 4, amount: enter an amount like 49.90." in message
    assert "row 5, order_id: order 2001 appears twice in this file." in message
    assert "row 5, currency: use a three-letter ISO code" in message
    assert not Order.objects.exists()


def test_a_file_without_attribution_columns_or_with_unknown_ones_is_refused(shop, tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("order_id,placed_at,amount,currency,coupon\n1,2026-11-20,1,EUR,X\n")
    with pytest.raises(CommandError, match="column coupon: unknown column"):
        call_command("import_orders", shop["brand"].slug, str(path))
    with pytest.raises(CommandError, match="No brand"):
        call_command("import_orders", "nope", str(path))


def call_command_text(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_the_order_list_shows_only_the_users_brands(shop, two_brands, client, tmp_path):
    from django.utils import timezone

    own = Order.objects.create(brand=shop["brand"], order_id="A-1", placed_at=timezone.now(), amount=1, currency="EUR")
    other = Order.objects.create(brand=two_brands["b"]["brand"], order_id="B-1", placed_at=timezone.now(), amount=1, currency="EUR")
    client.force_login(two_brands["a"]["editor"])
    listing = client.get("/admin/surveys/order/")
    assert [o.pk for o in listing.context["cl"].result_list] == [own.pk]
    assert client.get(f"/admin/surveys/order/{other.pk}/change/").status_code == 404
    assert client.get("/admin/surveys/order/add/").status_code == 403


def test_orders_and_outcomes_through_the_api(shop, two_brands):
    from tests.test_api_walkthrough import token_client

    api = token_client(two_brands["a"]["editor"])
    brand = shop["brand"]
    preview = api.post("/api/v1/orders/import/?dry_run=true", {"brand": brand.pk, "csv": CSV}, format="json")
    assert preview.status_code == 200 and preview.json()["orders"] == 5 and not Order.objects.exists()
    stored = api.post("/api/v1/orders/import/", {"brand": brand.pk, "csv": CSV}, format="json")
    assert stored.status_code == 201 and stored.json()["created"] == 5
    assert set(stored.json()["unattributed"]) == {"1004", "1005"}
    again = api.post("/api/v1/orders/import/", {"brand": brand.pk, "csv": CSV}, format="json")
    assert again.status_code == 200 and (again.json()["created"], again.json()["unchanged"]) == (0, 5)
    bad = api.post("/api/v1/orders/import/", {"brand": brand.pk, "csv": CSV.replace("49.90", "lots")}, format="json")
    assert bad.status_code == 400 and bad.json()["errors"] == {"row 2.amount": ["enter an amount like 49.90."]}
    listed = api.get("/api/v1/orders/", {"attribution": "promo_code"}).json()
    assert [o["order_id"] for o in listed["results"]] == ["1001"] and listed["results"][0]["creator_handle"] == "ava"
    table = api.get("/api/v1/outcomes/", {"brand": brand.pk}).json()
    ava = next(row for row in table["creators"] if row["label"] == "@ava")
    assert (ava["orders"], ava["revenue"], table["currency"]) == (2, "1284.40", "EUR") and "different groups" in table["caveat"]
    other = token_client(two_brands["b"]["editor"])
    assert other.get("/api/v1/outcomes/", {"brand": brand.pk}).status_code == 400
    assert other.post("/api/v1/orders/import/", {"brand": brand.pk, "csv": CSV}, format="json").status_code == 400
