"""The admin's order CSV import: upload → preview (counts, first rows, problems, unattributed orders) → confirm."""

from __future__ import annotations

import hashlib
import html as html_module
import re
from decimal import Decimal

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from surveys import admin_creator_import
from surveys.admin_order_import import SALT
from surveys.choices import Role
from surveys.models import Order
from surveys.orders import apply_orders, plan_orders
from tests.test_orders import shop  # noqa: F401 - the same brand, creators and codes
from tests.factories import MembershipFactory, UserFactory

IMPORT_PAGE = "admin:surveys_order_import"
CHANGELIST = "admin:surveys_order_changelist"
HEADER = "order_id,placed_at,amount,currency,promo_code,utm_source\n"
CSV = (
    HEADER
    + "1001,2026-11-20T14:05:00+01:00,49.90,EUR,ava10,\n"
    + '1002,2026-11-20,"1,234.50",eur,,ava_ig\n'
    + "1003,2026-11-21 09:00,19,EUR,MAX15,\n"
    + "1004,2026-11-21,10,EUR,NOPE,\n"
    + "1005,2026-11-21,10,EUR,,shared\n"
)


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("orders.csv", text.encode(), content_type="text/csv")


def payload_of(html: str) -> str:
    return re.search(r'name="payload" value="([^"]+)"', html).group(1)


def count(html: str, key: str) -> int:
    return int(re.search(rf'id="count-{key}">(\d+)<', html).group(1))


def table_rows(html: str, table_id: str) -> list[tuple[str, ...]]:
    """Return the body rows of a table: each row's cells as text."""
    table = re.search(rf'<table id="{table_id}">.*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    return [
        tuple(html_module.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", cell))).strip()
              for cell in re.findall(r"<td>(.*?)</td>", row, re.S))
        for row in re.findall(r"<tr.*?>(.*?)</tr>", table, re.S)
    ]


def stored(brand) -> dict[str, tuple]:
    return {o.order_id: (o.creator.handle if o.creator else None, o.attribution, o.amount, o.currency)
            for o in Order.objects.filter(brand=brand).select_related("creator")}


def preview(client, brand, text: str):
    return client.post(reverse(IMPORT_PAGE), {"brand": brand.pk, "file": upload(text)})


def test_the_order_list_offers_the_import_to_editors_for_their_own_brands(client, shop, two_brands):
    client.force_login(two_brands["a"]["editor"])
    listing = client.get(reverse(CHANGELIST)).content.decode()
    assert f'href="{reverse(IMPORT_PAGE)}"' in listing and "Import orders (CSV)" in listing
    assert reverse(IMPORT_PAGE) == "/admin/surveys/order/import/"
    form = client.get(reverse(IMPORT_PAGE))
    assert form.status_code == 200
    assert list(form.context["form"].fields["brand"].queryset) == [shop["brand"]]  # never brand B
    assert form.context["form"].fields["brand"].initial == shop["brand"].pk

    client.force_login(UserFactory(is_superuser=True))
    brands = client.get(reverse(IMPORT_PAGE)).context["form"].fields["brand"].queryset
    assert sorted(b.name for b in brands) == ["Brand A", "Brand B"]


def test_the_preview_counts_new_updated_and_unchanged_lists_unattributed_orders_and_stores_nothing(client, shop, two_brands):
    brand = shop["brand"]
    earlier = HEADER + "1001,2026-11-20T14:05:00+01:00,49.90,EUR,ava10,\n" + "1002,2026-11-20,999.00,EUR,,ava_ig\n"
    apply_orders(plan_orders(brand, earlier))
    before = stored(brand)
    client.force_login(two_brands["a"]["editor"])

    response = preview(client, brand, CSV)

    html = response.content.decode()
    assert response.status_code == 200
    assert (count(html, "create"), count(html, "update"), count(html, "unchanged"), count(html, "unattributed")) == (3, 1, 1, 2)
    assert table_rows(html, "import-unattributed") == [
        ("5", "1004", "promo code “NOPE” is not a creator's"),
        ("6", "1005", "utm value “shared” belongs to 2 creators"),
    ]
    assert table_rows(html, "import-rows") == [
        ("2", "1001", "2026-11-20 13:05 UTC", "49.90", "EUR", "ava10", "", "@ava", "Promo code"),
        ("3", "1002", "2026-11-20 00:00 UTC", "1234.50", "EUR", "", "ava_ig", "@ava", "UTM value"),
        ("4", "1003", "2026-11-21 09:00 UTC", "19.00", "EUR", "MAX15", "", "@max", "Promo code"),
        ("5", "1004", "2026-11-21 00:00 UTC", "10.00", "EUR", "NOPE", "", "—", "Not attributed (promo code “NOPE” is not a creator's)"),
        ("6", "1005", "2026-11-21 00:00 UTC", "10.00", "EUR", "", "shared", "—", "Not attributed (utm value “shared” belongs to 2 creators)"),
    ]
    assert 'value="Confirm import"' in html and "import-errors" not in html
    assert stored(brand) == before == {"1001": ("ava", "promo_code", Decimal("49.90"), "EUR"),
                                       "1002": ("ava", "utm", Decimal("999.00"), "EUR")}


def test_a_bad_file_shows_every_problem_by_row_and_column_offers_no_confirmation_and_stores_nothing(client, shop, two_brands):
    client.force_login(two_brands["a"]["editor"])
    text = (HEADER
            + "2001,2026-11-20,12.00,EUR,AVA10,\n"
            + "2002,yesterday,12.00,EUR,AVA10,\n"
            + "2003,2026-11-20,-5,EUR,AVA10,\n"
            + "2001,2026-11-20,12.00,EURO,AVA10,\n")

    html = preview(client, shop["brand"], text).content.decode()

    assert table_rows(html, "import-errors") == [
        ("3", "placed_at", "yesterday", "use a date like 2026-11-20 or 2026-11-20T14:05:00+01:00."),
        ("4", "amount", "-5", "enter an amount like 49.90."),
        ("5", "order_id", "", "order 2001 appears twice in this file."),
        ("5", "currency", "EURO", "use a three-letter ISO code, e.g. EUR."),
    ]
    assert (count(html, "rows"), count(html, "errors")) == (4, 4)
    assert "Confirm import" not in html and 'name="payload"' not in html
    assert 'id="upload-form"' in html  # upload the corrected file straight away
    assert not Order.objects.exists()

    unknown_column = "order_id,placed_at,amount,currency,coupon\n1,2026-11-20,1,EUR,X\n"
    header_only = preview(client, shop["brand"], unknown_column).content.decode()
    assert table_rows(header_only, "import-errors") == [
        ("—", "coupon", "", "unknown column; use order_id, placed_at, amount, currency, promo_code, utm_source."),
        ("—", "promo_code", "", "give promo_code and/or utm_source to attribute orders."),
    ]
    assert not Order.objects.exists()


def test_confirming_stores_the_orders_with_their_creators_and_confirming_again_changes_nothing(client, shop, two_brands):
    brand = shop["brand"]
    client.force_login(two_brands["a"]["editor"])
    payload = payload_of(preview(client, brand, CSV).content.decode())

    done = client.post(reverse(IMPORT_PAGE), {"payload": payload, "confirm": "Confirm import"}, follow=True)

    assert done.redirect_chain[-1][0] == reverse(CHANGELIST) + f"?brand__id__exact={brand.pk}"
    assert [str(m) for m in done.context["messages"]] == [
        "Imported orders into Brand A: 5 new, 0 updated, 0 unchanged; "
        "2 left unattributed (their code or UTM value names no creator, or several)."]
    assert stored(brand) == {
        "1001": ("ava", "promo_code", Decimal("49.90"), "EUR"),
        "1002": ("ava", "utm", Decimal("1234.50"), "EUR"),
        "1003": ("max", "promo_code", Decimal("19.00"), "EUR"),
        "1004": (None, "none", Decimal("10.00"), "EUR"),
        "1005": (None, "none", Decimal("10.00"), "EUR"),
    }
    assert Order.objects.get(brand=brand, order_id="1001").placed_at.isoformat() == "2026-11-20T13:05:00+00:00"
    assert not Order.objects.filter(brand=two_brands["b"]["brand"]).exists()
    first = dict(Order.objects.values_list("order_id", "imported_at"))

    again = client.post(reverse(IMPORT_PAGE), {"payload": payload, "confirm": "Confirm import"}, follow=True)

    assert [str(m) for m in again.context["messages"]] == [
        "Imported orders into Brand A: 0 new, 0 updated, 5 unchanged; "
        "2 left unattributed (their code or UTM value names no creator, or several)."]
    assert dict(Order.objects.values_list("order_id", "imported_at")) == first  # not one order saved again
    html = preview(client, brand, CSV).content.decode()
    assert (count(html, "create"), count(html, "update"), count(html, "unchanged")) == (0, 0, 5)


def test_a_changed_row_is_previewed_and_confirmed_as_an_update(client, shop, two_brands):
    brand = shop["brand"]
    apply_orders(plan_orders(brand, CSV))
    client.force_login(two_brands["a"]["editor"])
    changed = CSV.replace("1003,2026-11-21 09:00,19,EUR,MAX15,", "1003,2026-11-21 09:00,21.50,EUR,AVA10,")

    html = preview(client, brand, changed).content.decode()
    assert (count(html, "create"), count(html, "update"), count(html, "unchanged")) == (0, 1, 4)
    assert stored(brand)["1003"] == ("max", "promo_code", Decimal("19.00"), "EUR")

    done = client.post(reverse(IMPORT_PAGE), {"payload": payload_of(html), "confirm": "1"}, follow=True)
    assert [str(m) for m in done.context["messages"]] == [
        "Imported orders into Brand A: 0 new, 1 updated, 4 unchanged; "
        "2 left unattributed (their code or UTM value names no creator, or several)."]
    assert stored(brand)["1003"] == ("ava", "promo_code", Decimal("21.50"), "EUR")


def test_a_tampered_or_foreign_payload_is_refused_and_stores_nothing(client, shop, two_brands):
    client.force_login(two_brands["a"]["editor"])
    payload = payload_of(preview(client, shop["brand"], CSV).content.decode())
    data = signing.loads(payload, salt=SALT)
    assert (data["u"], data["b"], data["t"]) == (two_brands["a"]["editor"].pk, shop["brand"].pk, CSV)
    evil = HEADER + "666,2026-11-20,9999,EUR,AVA10,\n"
    forged = [
        payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB"),  # a changed signature
        signing.dumps({**data, "t": evil}, salt=SALT, key="not-the-secret-key"),
        signing.dumps({**data, "t": evil}, salt=admin_creator_import.SALT),  # a creator import's payload
        signing.dumps({**data, "u": two_brands["b"]["editor"].pk}, salt=SALT),  # someone else's preview
        "",
    ]
    for value in forged:
        refused = client.post(reverse(IMPORT_PAGE), {"payload": value, "confirm": "1"})
        assert refused.status_code == 400
        assert "The preview could not be verified: upload the file again." in refused.content.decode()
    assert not Order.objects.exists()


def test_analysts_may_not_import(client, shop):
    analyst = UserFactory()
    MembershipFactory(user=analyst, brand=shop["brand"], role=Role.ANALYST)
    client.force_login(analyst)
    listing = client.get(reverse(CHANGELIST))
    assert listing.status_code == 200 and "Import orders (CSV)" not in listing.content.decode()
    assert client.get(reverse(IMPORT_PAGE)).status_code == 403
    assert preview(client, shop["brand"], CSV).status_code == 403
    signed = signing.dumps({"u": analyst.pk, "b": shop["brand"].pk, "h": hashlib.sha256(CSV.encode()).hexdigest(), "t": CSV},
                           salt=SALT)
    assert client.post(reverse(IMPORT_PAGE), {"payload": signed, "confirm": "1"}).status_code == 403
    assert not Order.objects.exists()


def test_another_brands_import_is_refused(client, shop, two_brands):
    brand_b = two_brands["b"]["brand"]
    client.force_login(two_brands["a"]["editor"])
    response = preview(client, brand_b, CSV)
    assert response.status_code == 200 and "brand" in response.context["form"].errors
    assert "Brand B" not in response.content.decode() and 'name="payload"' not in response.content.decode()

    data = signing.loads(payload_of(preview(client, shop["brand"], CSV).content.decode()), salt=SALT)
    signed_for_b = signing.dumps({**data, "b": brand_b.pk}, salt=SALT)  # signed, but brand B is not A's editor's to edit
    assert client.post(reverse(IMPORT_PAGE), {"payload": signed_for_b, "confirm": "1"}).status_code == 403

    # An editor of brand B who only reads brand A can import into B alone.
    editor_b = two_brands["b"]["editor"]
    MembershipFactory(user=editor_b, brand=shop["brand"], role=Role.ANALYST)
    client.force_login(editor_b)
    assert list(client.get(reverse(IMPORT_PAGE)).context["form"].fields["brand"].queryset) == [brand_b]
    assert "brand" in preview(client, shop["brand"], CSV).context["form"].errors
    assert not Order.objects.exists()
