"""The post-purchase attribution poll at /o/<brand>/<survey>/: a shop-signed order, a named creator, one answer per order.

Driven through Django's test client with CSRF checks on. Every refusal is
checked against the database: a forged, expired or replayed address stores
neither a response nor an order.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlencode

import pytest
from django.test import Client

from surveys import attribution
from surveys.choices import AttributionSource, SurveyStatus
from surveys.design import insert_instrument
from surveys.models import CreatorLink, Order, Response
from surveys.orders import apply_orders, plan_orders
from tests.factories import BrandFactory, CreatorFactory, CreatorLinkFactory, QuestionFactory, SurveyFactory

FORM_TOKEN_RE = re.compile(r'<input type="hidden" name="form_token" value="([^"]+)">')
SECRET = "ordsec_test-secret-of-the-shop"


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def shop():
    """A brand with an order secret, a live post-purchase survey, two active creators and one inactive."""
    brand = BrandFactory(name="Acme Outdoor", slug="acme", order_secret=SECRET)
    survey = SurveyFactory(brand=brand, slug="after-purchase", title="Thanks for your order", status=SurveyStatus.LIVE,
                           post_purchase=True, thank_you_text="Thank you, your answers about {creator} help us.")
    QuestionFactory(survey=survey, position=1, code="trust", wording="How much do you trust {creator}?")
    insert_instrument(survey, "spears_singh_2004")
    jamie = CreatorFactory(brand=brand, handle="jamierivers", display_name="Jamie Rivers")
    ola = CreatorFactory(brand=brand, handle="ola", display_name="Ola Berg")
    CreatorFactory(brand=brand, handle="gone", display_name="Gone Away", active=False)
    return {"brand": brand, "survey": survey, "jamie": jamie, "ola": ola}


def signed(order: str = "A-1001", amount: str = "59.90", currency: str = "EUR", *, t: int | None = None,
           secret: str = SECRET, **extra: str) -> str:
    query = attribution.signed_query(secret, order_id=order, amount=amount, currency=currency,
                                     timestamp=int(time.time()) if t is None else t)
    return query + ("&" + urlencode(extra) if extra else "")


PATH = "/o/acme/after-purchase/"


def answers(**overrides: str) -> dict[str, str]:
    data = {"trust": "6", **{f"pi_{n}": "5" for n in range(1, 6)}}
    data.update(overrides)
    return data


def answer(client: Client, query: str, handle: str = "jamierivers", **overrides: str):
    page = client.get(f"{PATH}?{query}&creator={handle}")
    assert page.status_code == 200, page.content.decode()[:500]
    token = FORM_TOKEN_RE.search(page.content.decode()).group(1)
    return client.post(f"{PATH}?{query}&creator={handle}", {"form_token": token, **answers(**overrides)})


def nothing_stored() -> None:
    assert Response.objects.count() == 0
    assert Order.objects.count() == 0


# --- the signature ------------------------------------------------------------------------------


def test_the_signature_is_hmac_sha256_of_the_four_fields_one_per_line():
    expected = hmac.new(SECRET.encode(), b"A-1001\n59.90\nEUR\n1763800000", hashlib.sha256).hexdigest()

    assert attribution.order_signature(SECRET, order_id="A-1001", amount="59.90", currency="EUR",
                                       timestamp=1763800000) == expected


# --- the whole flow -----------------------------------------------------------------------------


def test_a_buyer_names_a_creator_and_the_answer_is_linked_to_the_verified_order(client, shop):
    t = int(time.time()) - 60
    query = signed(t=t)

    first = client.get(f"{PATH}?{query}")
    html = first.content.decode()
    assert first.status_code == 200
    assert "Which creator led you to this purchase?" in html
    assert 'value="jamierivers"' in html and "Jamie Rivers" in html and 'value="ola"' in html
    assert "Gone Away" not in html, "inactive creators are not offered"
    assert 'value="-"' in html
    for name in ("order", "amount", "currency", "t", "sig"):
        assert re.search(rf'<input type="hidden" name="{name}" value="[^"]+">', html), name
    assert not first.cookies

    poll = client.get(f"{PATH}?{query}&creator=jamierivers")
    assert "How much do you trust Jamie Rivers?" in poll.content.decode()
    assert "Choose another creator" in poll.content.decode()

    done = answer(client, query)

    assert done.status_code == 200
    assert "Thank you, your answers about Jamie Rivers help us." in done.content.decode()
    response = Response.objects.get()
    assert response.source == AttributionSource.NAMED
    assert response.creator == shop["jamie"]
    assert response.link.survey == shop["survey"] and response.link.creator == shop["jamie"]
    assert response.answers == {"trust": 6, **{f"pi_{n}": 5 for n in range(1, 6)}}
    order = response.order
    assert (order.brand, order.order_id, order.amount, order.currency) == (shop["brand"], "A-1001", Decimal("59.90"), "EUR")
    assert order.placed_at == datetime.fromtimestamp(t, tz=UTC)
    assert (order.creator, order.attribution) == (shop["jamie"], Order.Attribution.NAMED)


def test_the_embedded_variant_may_be_framed_by_the_shop(client, shop):
    shop["survey"].allowed_origins = "https://shop.example"
    shop["survey"].save()

    page = client.get(f"{PATH}embed/?{signed()}&origin=https://shop.example")

    assert page.status_code == 200
    assert "X-Frame-Options" not in page
    assert "frame-ancestors https://shop.example" in page["Content-Security-Policy"]
    assert 'data-parent-origin="https://shop.example"' in page.content.decode()
    assert '<input type="hidden" name="origin" value="https://shop.example">' in page.content.decode()


def test_none_of_these_thanks_the_buyer_and_stores_nothing(client, shop):
    page = client.get(f"{PATH}?{signed()}&creator=-")

    assert page.status_code == 200
    assert "Thank you! Enjoy your purchase." in page.content.decode()
    nothing_stored()


def test_an_unknown_or_inactive_creator_asks_again(client, shop):
    for handle in ("nobody", "gone"):
        page = client.get(f"{PATH}?{signed()}&creator={handle}")
        assert page.status_code == 400
        assert "Please choose one of the creators." in page.content.decode()
    nothing_stored()


def test_an_order_the_shop_attributed_by_promo_code_keeps_that_attribution(client, shop):
    CreatorLinkFactory(survey=SurveyFactory(brand=shop["brand"]), creator=shop["ola"], promo_code="OLA10")
    plan = plan_orders(shop["brand"], "order_id,placed_at,amount,currency,promo_code\nA-1001,2026-11-20,59.90,EUR,OLA10\n")
    apply_orders(plan)

    assert answer(client, signed(), handle="jamierivers").status_code == 200

    order = Order.objects.get()
    assert (order.creator, order.attribution) == (shop["ola"], Order.Attribution.PROMO_CODE)
    assert Response.objects.get().order == order
    assert Response.objects.get().creator == shop["jamie"], "the answer is about the creator the buyer named"


def test_an_imported_order_without_a_code_is_credited_to_the_named_creator_and_reimport_keeps_it(client, shop):
    csv_text = "order_id,placed_at,amount,currency,promo_code\nA-1001,2026-11-20,59.90,EUR,\n"
    apply_orders(plan_orders(shop["brand"], csv_text))

    assert answer(client, signed(), handle="ola").status_code == 200
    result = apply_orders(plan_orders(shop["brand"], csv_text))

    order = Order.objects.get()
    assert (order.creator, order.attribution) == (shop["ola"], Order.Attribution.NAMED)
    assert (result.created, result.updated, result.unchanged) == (0, 0, 1)


# --- forgery ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda q: q.replace("amount=59.90", "amount=5.90"), id="amount lowered"),
        pytest.param(lambda q: q.replace("order=A-1001", "order=A-1002"), id="another order id"),
        pytest.param(lambda q: q.replace("currency=EUR", "currency=USD"), id="another currency"),
        pytest.param(lambda q: re.sub(r"t=(\d+)", lambda m: f"t={int(m.group(1)) + 1}", q), id="timestamp moved"),
        pytest.param(lambda q: re.sub(r"sig=[0-9a-f]{64}", "sig=" + "0" * 64, q), id="made-up signature"),
        pytest.param(lambda q: re.sub(r"sig=([0-9a-f]{64})", lambda m: "sig=" + m.group(1).upper(), q), id="signature re-cased"),
    ],
)
def test_an_altered_address_is_refused_and_stores_nothing(client, shop, tamper):
    query = tamper(signed())

    page = client.get(f"{PATH}?{query}")
    post = client.post(f"{PATH}?{query}&creator=jamierivers", answers())

    assert page.status_code == 403 and post.status_code == 403
    assert "This survey address is not valid." in page.content.decode()
    nothing_stored()


def test_a_signature_made_with_another_brands_secret_is_refused(client, shop):
    BrandFactory(slug="rival", order_secret="ordsec_rival")

    page = client.get(f"{PATH}?{signed(secret='ordsec_rival')}")

    assert page.status_code == 403
    nothing_stored()


def test_a_rotated_secret_refuses_addresses_signed_with_the_old_one(client, shop):
    old = signed()
    new_secret = attribution.rotate_order_secret(shop["brand"])

    assert client.get(f"{PATH}?{old}").status_code == 403
    assert client.get(f"{PATH}?{signed(secret=new_secret)}").status_code == 200


def test_a_separator_smuggled_into_the_order_id_cannot_reuse_a_signature(client, shop):
    # "A\n59.90" as an order id with amount "EUR..." would hash the same bytes if ids could hold newlines.
    sig = attribution.order_signature(SECRET, order_id="A-1", amount="5", currency="EUR", timestamp=int(time.time()))
    query = urlencode({"order": "A-1\n5", "amount": "EUR", "currency": "EUR", "t": int(time.time()), "sig": sig})

    assert client.get(f"{PATH}?{query}").status_code == 403


def test_a_missing_parameter_is_a_400_naming_it(client, shop):
    query = re.sub(r"&sig=[0-9a-f]+", "", signed())

    page = client.get(f"{PATH}?{query}")

    assert page.status_code == 400
    assert "This survey address is incomplete." in page.content.decode()


def test_a_brand_without_a_secret_has_no_post_purchase_poll_yet(client, shop):
    shop["brand"].order_secret = ""
    shop["brand"].save()

    page = client.get(f"{PATH}?{signed()}")

    assert page.status_code == 404
    assert "has not set up its post-purchase survey" in page.content.decode()


def test_an_old_address_has_expired_and_one_from_the_future_is_refused(client, shop):
    old = int((datetime.now(UTC) - attribution.ORDER_MAX_AGE - timedelta(minutes=1)).timestamp())
    future = int((datetime.now(UTC) + timedelta(hours=1)).timestamp())

    assert client.get(f"{PATH}?{signed(t=old)}").status_code == 410
    assert client.get(f"{PATH}?{signed(t=future)}").status_code == 403
    assert client.get(f"{PATH}?{signed(t=int(time.time()) + 60)}").status_code == 200, "a minute of clock skew is fine"


# --- replay -------------------------------------------------------------------------------------


def test_the_same_address_cannot_answer_twice(client, shop):
    query = signed()
    assert answer(client, query).status_code == 200

    again = client.get(f"{PATH}?{query}")

    assert again.status_code == 409
    assert "already been answered" in again.content.decode()
    assert Response.objects.count() == 1


def test_a_fresh_signature_for_an_answered_order_is_refused_too(client, shop):
    assert answer(client, signed(t=int(time.time()) - 100)).status_code == 200

    replay = client.get(f"{PATH}?{signed(t=int(time.time()))}")

    assert replay.status_code == 409
    assert Response.objects.count() == 1


def test_two_tabs_open_before_either_answers_store_one_answer(client, shop):
    query = signed()
    tokens = []
    for handle in ("jamierivers", "ola"):  # the buyer hesitated between two creators, one tab each
        page = client.get(f"{PATH}?{query}&creator={handle}")
        tokens.append(FORM_TOKEN_RE.search(page.content.decode()).group(1))

    first = client.post(f"{PATH}?{query}&creator=jamierivers", {"form_token": tokens[0], **answers()})
    second = client.post(f"{PATH}?{query}&creator=ola", {"form_token": tokens[1], **answers()})

    assert first.status_code == 200
    assert second.status_code == 409
    assert Response.objects.count() == 1 and Order.objects.count() == 1
    assert Response.objects.get().creator == shop["jamie"]


def test_the_second_of_two_concurrent_answers_gets_409_from_the_unique_order(shop):
    """Both pass the early check; the unique key on Response.order decides at the INSERT."""
    from surveys import collection
    from surveys.collection import Submission

    claim = attribution.read_order(shop["brand"], dict(pair.split("=", 1) for pair in signed().split("&")))
    links = [attribution.link_for(shop["survey"], shop[name]) for name in ("jamie", "ola")]
    submission = Submission(answers=answers())

    collection.submit_response(link=links[0], form_token=collection.issue_form_token(links[0]),
                               submission=submission, order=claim)
    with pytest.raises(attribution.OrderRefused) as refused:
        collection.submit_response(link=links[1], form_token=collection.issue_form_token(links[1]),
                                   submission=submission, order=claim)

    assert refused.value.status == 409
    assert Response.objects.count() == 1


# --- the two kinds of survey stay apart ---------------------------------------------------------


def test_creator_links_of_a_post_purchase_survey_take_no_answers(client, shop):
    link = attribution.link_for(shop["survey"], shop["jamie"])

    page = client.get(f"/s/{link.token}/")
    api = client.get(f"/api/v1/public/links/{link.token}/")

    assert page.status_code == 404
    assert "answered from an order confirmation page" in page.content.decode()
    assert api.status_code == 404
    assert CreatorLink.objects.filter(survey=shop["survey"]).count() == 1


def test_a_follower_survey_has_no_post_purchase_address(client, shop):
    SurveyFactory(brand=shop["brand"], slug="followers", status=SurveyStatus.LIVE)

    assert client.get(f"/o/acme/followers/?{signed()}").status_code == 404


def test_a_closed_post_purchase_survey_says_so(client, shop):
    shop["survey"].status = SurveyStatus.CLOSED
    shop["survey"].save()

    page = client.get(f"{PATH}?{signed()}")

    assert page.status_code == 410
    assert "This poll has closed." in page.content.decode()
    nothing_stored()


# --- the brand's side in the admin --------------------------------------------------------------


def _member(brand, role):
    from tests.factories import MembershipFactory

    membership = MembershipFactory(brand=brand, role=role)
    browser = Client()
    browser.force_login(membership.user)
    return browser


def test_an_owner_creates_the_order_secret_once_and_sees_it_once(shop):
    from surveys.models import AuditEvent

    owner = _member(shop["brand"], "owner")
    page = owner.post("/admin/surveys/brand/", {"action": "rotate_order_secret", "_selected_action": [shop["brand"].pk],
                                                "index": "0"}, follow=True)

    shop["brand"].refresh_from_db()
    secret = shop["brand"].order_secret
    assert secret.startswith("ordsec_") and secret != SECRET
    assert secret in page.content.decode()
    change = owner.get(f"/admin/surveys/brand/{shop['brand'].pk}/change/").content.decode()
    assert secret[:10] in change and secret not in change, "the full secret is shown only once"
    event = AuditEvent.objects.get(brand=shop["brand"], action=AuditEvent.Action.ORDER_SECRET_ROTATED)
    assert event.actor is not None and event.subject == "acme"


def test_an_editor_cannot_rotate_the_order_secret(shop):
    editor = _member(shop["brand"], "editor")

    page = editor.post("/admin/surveys/brand/", {"action": "rotate_order_secret", "_selected_action": [shop["brand"].pk],
                                                 "index": "0"})

    assert page.status_code == 403
    shop["brand"].refresh_from_db()
    assert shop["brand"].order_secret == SECRET


def test_the_survey_page_gives_the_confirmation_page_address_and_embed(shop):
    editor = _member(shop["brand"], "editor")

    html = editor.get(f"/admin/surveys/survey/{shop['survey'].pk}/change/").content.decode()

    assert re.search(r"https?://[^/\s]+/o/acme/after-purchase/\?order=…", html)
    assert "data-trustpoll-purchase=&quot;acme/after-purchase&quot;" in html


def test_a_survey_with_responses_cannot_switch_kind(shop):
    from django.core.exceptions import ValidationError

    assert answer(Client(), signed()).status_code == 200
    survey = shop["survey"]
    survey.post_purchase = False

    with pytest.raises(ValidationError) as error:
        survey.full_clean()

    assert "post_purchase" in error.value.message_dict


def test_the_api_lists_the_answer_with_its_order_id(shop):
    from rest_framework.test import APIClient

    from tests.factories import MembershipFactory

    assert answer(Client(), signed()).status_code == 200
    analyst = MembershipFactory(brand=shop["brand"], role="analyst").user
    api = APIClient()
    api.force_authenticate(analyst)

    rows = api.get(f"/api/v1/responses/?survey={shop['survey'].pk}").json()["results"]

    assert [(r["source"], r["order_id"], r["creator_handle"]) for r in rows] == [("named", "A-1001", "jamierivers")]


def test_the_outcome_table_counts_the_buyers_order_but_not_their_answer_as_a_followers_response(client, shop):
    from surveys.outcomes import outcome_rows

    assert answer(client, signed()).status_code == 200

    rows = {row.label: row for row in outcome_rows(shop["brand"], currency="EUR")}

    assert (rows["@jamierivers"].responses, rows["@jamierivers"].orders, rows["@jamierivers"].revenue) == (0, 1, Decimal("59.90"))
    assert (rows["@ola"].responses, rows["@ola"].orders) == (0, 0)


def test_the_api_and_the_command_carry_the_verified_value_model(client, shop):
    import io
    import json

    from django.core.management import call_command
    from rest_framework.test import APIClient

    from tests.factories import MembershipFactory

    api = APIClient()
    api.force_authenticate(MembershipFactory(brand=shop["brand"], role="analyst").user)
    assert api.get("/api/v1/outcomes/", {"brand": shop["brand"].pk}).json()["verified_value_model"] is None
    for i, (amount, trust) in enumerate([("20.00", "2"), ("40.00", "3"), ("60.00", "4"), ("80.00", "5"), ("100.00", "6")]):
        query = signed(order=f"A-{i}", amount=amount)
        assert answer(client, query, handle=("jamierivers", "ola")[i % 2], trust=trust).status_code == 200

    model = api.get("/api/v1/outcomes/", {"brand": shop["brand"].pk}).json()["verified_value_model"]
    out = io.StringIO()
    call_command("outcomes", "acme", "--json", stdout=out)

    assert model["n"] == 5 and model["clusters"] == 2
    assert model["slope"]["estimate"] == pytest.approx(20.0)  # the survey's trust score is the one item: 20 EUR a point
    assert json.loads(out.getvalue())["verified_value_model"]["slope"]["estimate"] == pytest.approx(20.0)
    assert any("cluster" in warning for warning in model["warnings"])


def test_a_german_post_purchase_poll_speaks_german(client, shop):
    shop["survey"].language = "de"
    shop["survey"].save()

    first = client.get(f"{PATH}?{signed()}").content.decode()
    poll = client.get(f"{PATH}?{signed()}&creator=jamierivers").content.decode()
    forged = client.get(f"{PATH}?{signed(secret='ordsec_other')}").content.decode()

    assert "Wer hat Sie zu diesem Kauf gebracht?" in first and "Weiter" in first
    assert "Jemand anderen wählen" in poll and "Antworten senden" in poll
    assert "Diese Umfrage-Adresse ist ungültig." in forged


def test_a_resent_form_gets_its_thank_you_again_and_stores_once(client, shop):
    query = signed()
    page = client.get(f"{PATH}?{query}&creator=jamierivers")
    form = {"form_token": FORM_TOKEN_RE.search(page.content.decode()).group(1), **answers()}

    first = client.post(f"{PATH}?{query}&creator=jamierivers", form)
    again = client.post(f"{PATH}?{query}&creator=jamierivers", form)  # a double tap, or a reply lost on the way

    assert first.status_code == again.status_code == 200
    assert "Thank you, your answers about Jamie Rivers help us." in again.content.decode()
    assert Response.objects.count() == 1


def test_a_timestamp_beyond_any_date_is_refused_not_a_crash(client, shop):
    t = 10**11 + 5  # twelve digits: past year 5000
    sig = attribution.order_signature(SECRET, order_id="A-1", amount="5.00", currency="EUR", timestamp=t)
    query = urlencode({"order": "A-1", "amount": "5.00", "currency": "EUR", "t": t, "sig": sig})

    assert client.get(f"{PATH}?{query}").status_code == 403


def test_an_order_a_buyer_credited_is_not_reported_unattributed_by_a_later_import(client, shop):
    assert answer(client, signed(), handle="ola").status_code == 200

    result = apply_orders(plan_orders(shop["brand"], "order_id,placed_at,amount,currency,promo_code\nA-1001,2026-11-20,59.90,EUR,NOPE\n"))

    assert result.unattributed == {}
    assert Order.objects.get().attribution == Order.Attribution.NAMED


def test_the_secret_shown_once_never_travels_in_a_cookie(shop):
    owner = _member(shop["brand"], "owner")

    reply = owner.post("/admin/surveys/brand/", {"action": "rotate_order_secret", "_selected_action": [shop["brand"].pk],
                                                 "index": "0"})

    shop["brand"].refresh_from_db()
    assert reply.status_code == 302
    assert all(shop["brand"].order_secret not in morsel.value for morsel in reply.cookies.values())
    assert shop["brand"].order_secret in owner.get(reply["Location"]).content.decode()
