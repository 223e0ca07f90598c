"""Creators imported from CSV: the plan, all-or-nothing application, the admin's preview and the API."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from rest_framework.test import APIClient

from surveys import creator_import
from surveys.admin_creator_import import SALT
from surveys.choices import Role
from surveys.creator_import import ImportRefused, apply_import, plan_import
from surveys.models import Creator
from surveys.tokens import issue_token
from tests.factories import BrandFactory, CreatorFactory, MembershipFactory, UserFactory

HEADER = "handle,display_name,platform,followers,niche,engagement_rate\n"
GOOD = (
    HEADER
    + "@ava_bloom,Ava Bloom,Instagram,\"42,000\",beauty,3.5%\n"
    + "max_moves,Max Moves,tiktok,950,fitness,\n"
    + "creator_a,Creator A,instagram,25000,,\n"
)
IMPORT_URL = "/api/v1/creators/import/"


def handles(brand) -> list[str]:
    return sorted(Creator.objects.filter(brand=brand).values_list("handle", flat=True))


def problems_of(plan) -> list[str]:
    return [str(p) for p in plan.problems]


@pytest.fixture
def brand_a(two_brands):
    """Brand A, whose only creator is @creator_a (Creator A, instagram, 25,000 followers, micro)."""
    brand = two_brands["a"]["brand"]
    Creator.objects.filter(pk=two_brands["a"]["creator"].pk).update(display_name="Creator A", niche="", engagement_rate=None)
    return brand


# --- the plan and its application ---------------------------------------------------------------


def test_the_preview_lists_creates_updates_and_unchanged_rows_and_stores_nothing(brand_a):
    CreatorFactory(brand=brand_a, handle="max_moves", display_name="Max Moves", platform="tiktok", followers=900, niche="fitness")

    plan = plan_import(brand_a, GOOD)

    assert plan.ok and plan.counts == {"create": 1, "update": 1, "unchanged": 1}
    [create] = plan.rows_to("create")
    assert (create.row, create.handle) == (2, "ava_bloom")
    assert create.values == {"handle": "ava_bloom", "display_name": "Ava Bloom", "platform": "instagram", "followers": 42_000,
                             "niche": "beauty", "engagement_rate": Decimal("3.50"), "tier": "micro"}
    [update] = plan.rows_to("update")
    assert (update.row, update.handle, update.changes) == (3, "max_moves", {"followers": (900, 950)})
    assert [r.handle for r in plan.rows_to("unchanged")] == ["creator_a"]
    assert handles(brand_a) == ["creator_a", "max_moves"]  # a plan writes nothing
    assert Creator.objects.get(brand=brand_a, handle="max_moves").followers == 900


def test_applying_stores_everything_and_reimporting_the_same_file_changes_nothing(brand_a):
    result = apply_import(plan_import(brand_a, GOOD))

    assert [c.handle for c in result.created] == ["ava_bloom", "max_moves"] and result.updated == [] and result.unchanged == 1
    ava = Creator.objects.get(brand=brand_a, handle="ava_bloom")
    assert (ava.display_name, ava.platform, ava.followers, ava.tier, ava.niche, ava.engagement_rate) == (
        "Ava Bloom", "instagram", 42_000, "micro", "beauty", Decimal("3.50"))
    assert Creator.objects.get(brand=brand_a, handle="max_moves").tier == "nano"

    again = plan_import(brand_a, GOOD)
    assert again.counts == {"create": 0, "update": 0, "unchanged": 3}
    second = apply_import(again)
    assert (second.created, second.updated, second.unchanged) == ([], [], 3)
    assert handles(brand_a) == ["ava_bloom", "creator_a", "max_moves"]


def test_an_update_by_handle_changes_followers_and_the_tier_and_keeps_the_stored_spelling(brand_a):
    CreatorFactory(brand=brand_a, handle="Ava_Bloom", display_name="Ava Bloom", followers=9_000, platform="instagram")
    assert Creator.objects.get(handle="Ava_Bloom").tier == "nano"

    plan = plan_import(brand_a, "handle,followers\n@ava_bloom,150 000\n")
    [row] = plan.rows
    assert (row.action, row.handle, row.changes) == ("update", "Ava_Bloom", {"followers": (9_000, 150_000), "tier": ("nano", "macro")})
    result = apply_import(plan)

    ava = Creator.objects.get(brand=brand_a, handle="Ava_Bloom")
    assert [c.pk for c in result.updated] == [ava.pk]
    assert (ava.followers, ava.tier, ava.display_name) == (150_000, "macro", "Ava Bloom")  # columns left out are kept
    assert Creator.objects.filter(brand=brand_a).count() == 2


def test_the_tier_follows_the_brands_own_thresholds():
    brand = BrandFactory(tier_micro_min=1_000, tier_macro_min=5_000, tier_celebrity_min=20_000)
    apply_import(plan_import(brand, HEADER + "big,Big,x,25000,,\nsmall,Small,x,999,,\n"))
    assert dict(Creator.objects.filter(brand=brand).values_list("handle", "tier")) == {"big": "celebrity", "small": "nano"}


def test_bad_rows_are_reported_by_row_and_column_and_nothing_is_stored(brand_a):
    text = (
        HEADER
        + "fine_one,Fine,instagram,1000,,\n"
        + "lots_of_fans,Lots,instagram,lots,,\n"
        + "myspace_star,Tom,myspace,100,,\n"
        + ",No Handle,x,5,,\n"
        + "rate_too_high,Rate,x,5,,250%\n"
        + "no_name,,x,5,,\n"
    )
    plan = plan_import(brand_a, text)

    assert problems_of(plan) == [
        "row 3, followers: enter a whole number, e.g. 12000 or 12,000.",
        "row 4, platform: choose one of instagram, tiktok, youtube, x, linkedin, twitch, blog, other.",
        "row 5, handle: required.",
        "row 6, engagement_rate: enter a percent from 0 to 100, e.g. 3.5 or 3.5%.",
        "row 7, display_name: required.",
    ]
    assert plan.problems[0].value == "lots"
    assert plan.errors()["row 3"] == {"followers": ["enter a whole number, e.g. 12000 or 12,000."]}
    with pytest.raises(ImportRefused) as refused:
        apply_import(plan)
    assert refused.value.problems == plan.problems
    assert handles(brand_a) == ["creator_a"]  # not even the good row


def test_the_models_own_rules_are_row_errors_too(brand_a):
    plan = plan_import(brand_a, HEADER + f"{'h' * 101},Long,x,5,,\n")
    assert problems_of(plan) == ["row 2, handle: Ensure this value has at most 100 characters (it has 101)."]


def test_a_handle_twice_in_the_file_is_an_error_even_with_another_case_or_at(brand_a):
    plan = plan_import(brand_a, HEADER + "twin,One,x,5,,\n\n@TWIN,Two,x,6,,\n")
    assert problems_of(plan) == ["row 4, handle: @TWIN is also on row 2."]  # the blank line 3 still counts


def test_a_new_creator_needs_the_required_columns(brand_a):
    plan = plan_import(brand_a, "handle,followers\ncreator_a,30000\nnewbie,100\n")
    assert problems_of(plan) == [
        "row 3, display_name: required for a new creator; the file has no display_name column.",
        "row 3, platform: required for a new creator; the file has no platform column.",
    ]


def test_header_names_are_flexible_and_unknown_or_repeated_columns_are_reported(brand_a):
    flexible = "\ufeffHandle;Display Name;PLATFORM;Followers;Niche;Engagement Rate (%)\r\nnew_one;New One;YouTube;12 000;tech;4,25\r\n"
    plan = plan_import(brand_a, flexible)
    assert plan.ok and plan.columns == list(creator_import.FIELDS)
    assert plan.rows[0].values["platform"] == "youtube" and plan.rows[0].values["engagement_rate"] == Decimal("4.25")

    plan = plan_import(brand_a, "handle,folowers,display_name,display name\ncreator_a,1,X,Y\n")
    assert problems_of(plan) == [
        "column folowers: unknown column; the columns are handle, display_name, platform, followers, niche, engagement_rate.",
        "column display name: a second display_name column.",
    ]
    assert problems_of(plan_import(brand_a, "name,followers\nX,1\n")) == ["column handle: missing: every row needs the creator's handle."]
    assert problems_of(plan_import(brand_a, "")) == ["The file is empty: its first line must name the columns (handle, display_name, …)."]
    assert problems_of(plan_import(brand_a, "handle\n" + "x" * 200_000 + "\n")) == [
        "Line 2 is not valid CSV: field larger than field limit (131072)."]


def test_values_without_a_column_name_are_errors_but_empty_extra_cells_are_not(brand_a):
    assert plan_import(brand_a, "handle,display_name,\ncreator_a,Creator A,\n").ok
    plan = plan_import(brand_a, "handle,display_name\ncreator_a,Creator A,surprise\n")
    assert problems_of(plan) == ["row 2, column 3: a value in a column without a name."]


@pytest.mark.nodb
@pytest.mark.parametrize("raw, expected", [("12000", 12_000), ("12,000", 12_000), ("1,234,567", 1_234_567), ("12 000", 12_000),
                                           ("12_000", 12_000), ("12000.0", 12_000), (" 0 ", 0)])
def test_followers_accept_thousands_separators_that_group_by_three(raw, expected):
    assert creator_import.parse_followers(raw) == expected


@pytest.mark.nodb
@pytest.mark.parametrize("raw", ["lots", "12k", "1,2", "12,00", "12.5", "-5", "1,000 000", "١٢", "9" * 19])
def test_followers_refuse_anything_but_a_whole_number(raw):
    with pytest.raises(ValueError, match="enter a whole number"):
        creator_import.parse_followers(raw)


@pytest.mark.nodb
@pytest.mark.parametrize("raw, expected", [("3.5", Decimal("3.50")), ("3.5%", Decimal("3.50")), ("3,5 %", Decimal("3.50")),
                                           ("0.125", Decimal("0.13")), ("100", Decimal("100.00")), ("", None)])
def test_the_engagement_rate_is_a_percent_with_two_decimals(raw, expected):
    assert creator_import.parse_engagement_rate(raw) == expected


@pytest.mark.nodb
@pytest.mark.parametrize("raw", ["high", "-1", "100.01", "NaN", "Infinity"])
def test_the_engagement_rate_refuses_what_is_not_a_percent(raw):
    with pytest.raises(ValueError, match="enter a percent from 0 to 100"):
        creator_import.parse_engagement_rate(raw)


def test_a_blank_optional_cell_clears_the_value(brand_a):
    Creator.objects.filter(brand=brand_a).update(niche="beauty", engagement_rate=Decimal("2.00"))
    plan = plan_import(brand_a, "handle,niche,engagement_rate\ncreator_a,,\n")
    assert plan.rows[0].changes == {"niche": ("beauty", ""), "engagement_rate": (Decimal("2.00"), None)}


def test_files_over_the_size_or_row_limit_are_refused(brand_a, monkeypatch):
    assert problems_of(plan_import(brand_a, HEADER + "x" * creator_import.MAX_BYTES)) == ["The file is larger than 5 MB: split it into smaller files."]
    with pytest.raises(ImportRefused, match="larger than 5 MB"):
        creator_import.decode_upload(b"x" * (creator_import.MAX_BYTES + 1))
    with pytest.raises(ImportRefused, match="not UTF-8"):
        creator_import.decode_upload("handle\ncafé\n".encode("latin-1"))
    monkeypatch.setattr(creator_import, "MAX_ROWS", 2)
    assert problems_of(plan_import(brand_a, HEADER + "a,A,x,1,,\nb,B,x,1,,\nc,C,x,1,,\n")) == ["More than 2 rows: split the file."]


def test_apply_refuses_a_plan_overtaken_by_a_new_creator_and_stores_nothing(brand_a):
    plan = plan_import(brand_a, HEADER + "first,First,x,5,,\nlate,Late,x,5,,\n")
    CreatorFactory(brand=brand_a, handle="Late")  # someone else adds it between preview and confirmation
    with pytest.raises(ImportRefused) as refused:
        apply_import(plan)
    assert [str(p) for p in refused.value.problems] == ["row 3, handle: @late was added since the preview; preview again."]
    assert handles(brand_a) == ["Late", "creator_a"]


def test_an_import_never_touches_another_brands_creator_with_the_same_handle(two_brands):
    brand_b_creator = two_brands["b"]["creator"]
    apply_import(plan_import(two_brands["a"]["brand"], HEADER + "creator_b,Mine,x,5,,\n"))
    brand_b_creator.refresh_from_db()
    assert brand_b_creator.display_name != "Mine" and Creator.objects.filter(handle="creator_b").count() == 2


# --- the admin ---------------------------------------------------------------------------------------


IMPORT_PAGE = "admin:surveys_creator_import"


def upload(text: str) -> SimpleUploadedFile:
    return SimpleUploadedFile("creators.csv", text.encode(), content_type="text/csv")


def payload_of(html: str) -> str:
    return re.search(r'name="payload" value="([^"]+)"', html).group(1)


def count(html: str, action: str) -> int:
    return int(re.search(rf'id="count-{action}">(\d+)<', html).group(1))


def test_admin_upload_preview_confirm(client, brand_a, two_brands):
    client.force_login(two_brands["a"]["editor"])
    listing = client.get(reverse("admin:surveys_creator_changelist")).content.decode()
    assert f'href="{reverse(IMPORT_PAGE)}"' in listing and "Import CSV" in listing
    form = client.get(reverse(IMPORT_PAGE))
    assert form.status_code == 200
    assert list(form.context["form"].fields["brand"].queryset) == [brand_a]  # never brand B

    preview = client.post(reverse(IMPORT_PAGE), {"brand": brand_a.pk, "file": upload(GOOD)})
    html = preview.content.decode()
    assert preview.status_code == 200
    assert (count(html, "create"), count(html, "update"), count(html, "unchanged")) == (2, 0, 1)
    assert "@ava_bloom" in html and "42,000" in html and 'value="Confirm import"' in html
    assert handles(brand_a) == ["creator_a"]

    done = client.post(reverse(IMPORT_PAGE), {"payload": payload_of(html), "confirm": "Confirm import"}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("admin:surveys_creator_changelist") + f"?brand__id__exact={brand_a.pk}"
    assert [str(m) for m in done.context["messages"]] == ["Imported creators into Brand A: 2 created, 0 updated, 1 unchanged."]
    assert handles(brand_a) == ["ava_bloom", "creator_a", "max_moves"]
    assert Creator.objects.get(brand=brand_a, handle="ava_bloom").engagement_rate == Decimal("3.50")


def test_admin_preview_with_errors_offers_no_confirmation(client, brand_a, two_brands):
    client.force_login(two_brands["a"]["editor"])
    html = client.post(reverse(IMPORT_PAGE), {"brand": brand_a.pk, "file": upload(HEADER + "ok,OK,x,5,,\nbad,Bad,x,lots,,\n")}).content.decode()
    assert "Confirm import" not in html and 'name="payload"' not in html
    errors = re.search(r'<table id="import-errors">.*?</table>', html, re.S).group(0)
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", errors)).split("Problem")[1].strip() == (
        "3 followers lots enter a whole number, e.g. 12000 or 12,000.")
    assert 'id="upload-form"' in html  # upload the corrected file straight away
    assert handles(brand_a) == ["creator_a"]


def test_admin_refuses_a_tampered_or_foreign_payload(client, brand_a, two_brands):
    client.force_login(two_brands["a"]["editor"])
    html = client.post(reverse(IMPORT_PAGE), {"brand": brand_a.pk, "file": upload(GOOD)}).content.decode()
    payload = payload_of(html)
    data = signing.loads(payload, salt=SALT)
    forged = [
        payload[:-3] + ("AAA" if not payload.endswith("AAA") else "BBB"),  # a changed signature
        signing.dumps({**data, "t": HEADER + "evil,Evil,x,5,,\n"}, salt=SALT, key="not-the-secret-key"),
        signing.dumps({**data, "t": HEADER + "evil,Evil,x,5,,\n"}, salt="another.salt"),
        signing.dumps({**data, "u": two_brands["b"]["editor"].pk}, salt=SALT),  # someone else's preview
    ]
    for value in forged:
        refused = client.post(reverse(IMPORT_PAGE), {"payload": value, "confirm": "1"})
        assert refused.status_code == 400
        assert "The preview could not be verified" in refused.content.decode()
    other_brand = signing.dumps({**data, "b": two_brands["b"]["brand"].pk}, salt=SALT)  # signed, but not a brand A's editor may edit
    assert client.post(reverse(IMPORT_PAGE), {"payload": other_brand, "confirm": "1"}).status_code == 403
    assert handles(brand_a) == ["creator_a"] and handles(two_brands["b"]["brand"]) == ["creator_b"]


def test_admin_large_files_are_chosen_again_and_must_match(client, brand_a, two_brands, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_100  # too small to carry the text in the form
    client.force_login(two_brands["a"]["editor"])
    html = client.post(reverse(IMPORT_PAGE), {"brand": brand_a.pk, "file": upload(GOOD)}).content.decode()
    assert "choose the same file again" in html
    payload = payload_of(html)
    assert signing.loads(payload, salt=SALT)["t"] is None
    wrong = client.post(reverse(IMPORT_PAGE), {"payload": payload, "confirm": "1", "file": upload(GOOD + "extra,E,x,1,,\n")})
    assert wrong.status_code == 400 and handles(brand_a) == ["creator_a"]
    right = client.post(reverse(IMPORT_PAGE), {"payload": payload, "confirm": "1", "file": upload(GOOD)})
    assert right.status_code == 302 and handles(brand_a) == ["ava_bloom", "creator_a", "max_moves"]


def test_admin_brand_choices_exclude_other_brands(client, brand_a, two_brands):
    client.force_login(two_brands["a"]["editor"])
    response = client.post(reverse(IMPORT_PAGE), {"brand": two_brands["b"]["brand"].pk, "file": upload(GOOD)})
    assert response.status_code == 200 and "brand" in response.context["form"].errors
    assert "Brand B" not in response.content.decode()
    assert handles(two_brands["b"]["brand"]) == ["creator_b"]


def test_admin_import_is_forbidden_to_analysts(client, brand_a):
    analyst = UserFactory()
    MembershipFactory(user=analyst, brand=brand_a, role=Role.ANALYST)
    client.force_login(analyst)
    assert "Import CSV" not in client.get(reverse("admin:surveys_creator_changelist")).content.decode()
    assert client.get(reverse(IMPORT_PAGE)).status_code == 403
    assert client.post(reverse(IMPORT_PAGE), {"brand": brand_a.pk, "file": upload(GOOD)}).status_code == 403
    assert handles(brand_a) == ["creator_a"]


# --- the API -----------------------------------------------------------------------------------------


def api_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user, 'tests')[1]}")
    return client


def test_api_dry_run_previews_and_stores_nothing(brand_a, two_brands):
    api = api_for(two_brands["a"]["editor"])
    Creator.objects.filter(brand=brand_a).update(followers=5_000, tier="nano")

    response = api.post(f"{IMPORT_URL}?dry_run=true", {"brand": brand_a.pk, "csv": GOOD}, format="json")

    assert response.status_code == 200
    assert response.json() == {
        "dry_run": True,
        "created": [
            {"row": 2, "id": None, "handle": "ava_bloom", "display_name": "Ava Bloom", "platform": "instagram",
             "followers": 42000, "niche": "beauty", "engagement_rate": "3.50", "tier": "micro"},
            {"row": 3, "id": None, "handle": "max_moves", "display_name": "Max Moves", "platform": "tiktok",
             "followers": 950, "niche": "fitness", "engagement_rate": None, "tier": "nano"},
        ],
        "updated": [{"row": 4, "id": two_brands["a"]["creator"].pk, "handle": "creator_a",
                     "changes": {"followers": {"from": 5000, "to": 25000}, "tier": {"from": "nano", "to": "micro"}}}],
        "unchanged": 0,
        "errors": {},
    }
    assert handles(brand_a) == ["creator_a"]


def test_api_applies_a_file_upload_then_a_reimport_changes_nothing(brand_a, two_brands):
    api = api_for(two_brands["a"]["editor"])

    created = api.post(IMPORT_URL, {"brand": brand_a.pk, "file": upload(GOOD)}, format="multipart")
    assert created.status_code == 201, created.json()
    body = created.json()
    stored = dict(Creator.objects.filter(brand=brand_a).values_list("handle", "pk"))
    assert [(c["handle"], c["id"]) for c in body["created"]] == [("ava_bloom", stored["ava_bloom"]), ("max_moves", stored["max_moves"])]
    assert (body["dry_run"], body["updated"], body["unchanged"], body["errors"]) == (False, [], 1, {})

    again = api.post(IMPORT_URL, {"brand": brand_a.pk, "csv": GOOD}, format="json")
    assert again.status_code == 200
    assert (again.json()["created"], again.json()["updated"], again.json()["unchanged"]) == ([], [], 3)
    assert Creator.objects.filter(brand=brand_a).count() == 3


def test_api_an_error_row_is_a_400_by_row_and_column_and_nothing_is_stored(brand_a, two_brands):
    api = api_for(two_brands["a"]["editor"])
    text = GOOD + "bad_one,Bad,myspace,lots,,\n"

    refused = api.post(IMPORT_URL, {"brand": brand_a.pk, "csv": text}, format="json")

    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "1 row(s) are invalid; nothing was imported.",
        "errors": {"row 5.platform": ["choose one of instagram, tiktok, youtube, x, linkedin, twitch, blog, other."],
                   "row 5.followers": ["enter a whole number, e.g. 12000 or 12,000."]},
    }
    assert handles(brand_a) == ["creator_a"]
    preview = api.post(f"{IMPORT_URL}?dry_run=true", {"brand": brand_a.pk, "csv": text}, format="json")
    assert preview.status_code == 200 and set(preview.json()["errors"]) == {"row 5.platform", "row 5.followers"}
    unknown = api.post(IMPORT_URL, {"brand": brand_a.pk, "csv": "handle,folowers\ncreator_a,1\n"}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()["errors"]) == ["columns.folowers"]


def test_api_another_brands_id_is_refused_like_a_missing_one(brand_a, two_brands):
    api = api_for(two_brands["a"]["editor"])
    other = api.post(IMPORT_URL, {"brand": two_brands["b"]["brand"].pk, "csv": GOOD}, format="json")
    missing = api.post(IMPORT_URL, {"brand": 999_999, "csv": GOOD}, format="json")
    huge = api.post(IMPORT_URL, {"brand": 10**30, "csv": GOOD}, format="json")
    for response, raw in ((other, two_brands["b"]["brand"].pk), (missing, 999_999), (huge, 10**30)):
        assert response.status_code == 400
        assert response.json()["errors"] == {"brand": [f'Invalid pk "{raw}" - object does not exist.']}
    assert handles(two_brands["b"]["brand"]) == ["creator_b"] and not Creator.objects.filter(handle="ava_bloom").exists()


def test_api_analysts_are_refused(brand_a):
    analyst = UserFactory()
    MembershipFactory(user=analyst, brand=brand_a, role=Role.ANALYST)
    refused = api_for(analyst).post(f"{IMPORT_URL}?dry_run=true", {"brand": brand_a.pk, "csv": GOOD}, format="json")
    assert refused.status_code == 403
    assert refused.json() == {"detail": "Only owners and editors import files.", "errors": {}}
    assert handles(brand_a) == ["creator_a"]


@pytest.mark.parametrize("body, query, error_key", [
    ({"csv": GOOD}, "", "brand"),
    ({"brand": "one", "csv": GOOD}, "", "brand"),
    ({"brand": True, "csv": GOOD}, "", "brand"),
    ({"brand": "BRAND"}, "", "file"),
    ({"brand": "BRAND", "csv": 42}, "", "file"),
    ({"brand": "BRAND", "csv": GOOD}, "?dry_run=maybe", "dry_run"),
    ({"brand": "BRAND", "csv": "x" * (creator_import.MAX_BYTES + 1)}, "", "csv"),  # over the JSON body limit
])
def test_api_malformed_requests_are_400s_naming_the_field(brand_a, two_brands, body, query, error_key):
    body = {k: brand_a.pk if v == "BRAND" else v for k, v in body.items()}
    response = api_for(two_brands["a"]["editor"]).post(IMPORT_URL + query, body, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == [error_key]
    assert handles(brand_a) == ["creator_a"]


def test_api_takes_a_file_or_text_but_not_both(brand_a, two_brands):
    response = api_for(two_brands["a"]["editor"]).post(IMPORT_URL, {"brand": brand_a.pk, "file": upload(GOOD), "csv": GOOD}, format="multipart")
    assert response.status_code == 400 and response.json()["errors"] == {"csv": ["Send the CSV either as a file or as text, not both."]}
    latin1 = SimpleUploadedFile("creators.csv", "handle\ncafé\n".encode("latin-1"))
    response = api_for(two_brands["a"]["editor"]).post(IMPORT_URL, {"brand": brand_a.pk, "file": latin1}, format="multipart")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["file"]
