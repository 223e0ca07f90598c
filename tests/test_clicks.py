"""Click tracking through /r/<token>/, and a collaboration's costs on its link."""

from datetime import datetime, timezone
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from surveys import clicks
from surveys.models import ClickCount
from tests.factories import CreatorLinkFactory

PHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 Instagram 350.0"


@pytest.fixture
def link():
    return CreatorLinkFactory(destination_url="https://shop.example/serum?ref=home&utm_source=old",
                              utm_source="instagram", utm_medium="social", utm_campaign="spring")


def test_the_redirect_adds_the_links_utm_parameters_and_counts_the_click(client, link):
    reply = client.get(f"/r/{link.token}/", HTTP_USER_AGENT=PHONE)
    assert reply.status_code == 302
    assert reply["Location"] == "https://shop.example/serum?ref=home&utm_source=instagram&utm_medium=social&utm_campaign=spring"
    assert reply["Referrer-Policy"] == "no-referrer" and "no-store" in reply["Cache-Control"] and not reply.cookies
    client.get(f"/r/{link.token}/", HTTP_USER_AGENT=PHONE)
    assert list(ClickCount.objects.values_list("link_id", "clicks")) == [(link.pk, 2)]
    assert clicks.clicks_by_link([link.pk]) == {link.pk: 2}


@pytest.mark.parametrize("agent", ["", "facebookexternalhit/1.1", "Mozilla/5.0 (compatible; Googlebot/2.1)", "curl/8.5.0",
                                   "WhatsApp/2.23.20", "python-requests/2.32", "Slackbot-LinkExpanding 1.0"])
def test_bots_and_link_previews_are_redirected_but_not_counted(client, link, agent):
    assert client.get(f"/r/{link.token}/", HTTP_USER_AGENT=agent).status_code == 302
    assert not ClickCount.objects.exists()


def test_head_requests_are_not_counted(client, link):
    assert client.head(f"/r/{link.token}/", HTTP_USER_AGENT=PHONE).status_code == 302
    assert not ClickCount.objects.exists()


def test_unknown_tokens_and_links_without_a_destination_are_a_404(client):
    assert client.get("/r/no-such-token/", HTTP_USER_AGENT=PHONE).status_code == 404
    bare = CreatorLinkFactory(destination_url="")
    reply = client.get(f"/r/{bare.token}/", HTTP_USER_AGENT=PHONE)
    assert reply.status_code == 404 and "does not lead anywhere" in reply.content.decode()
    assert not ClickCount.objects.exists()


def test_clicks_are_counted_per_day(link):
    clicks.count_click(link, at=datetime(2026, 11, 20, 23, 59, tzinfo=timezone.utc))
    clicks.count_click(link, at=datetime(2026, 11, 21, 0, 1, tzinfo=timezone.utc))
    clicks.count_click(link, at=datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc))
    assert sorted((c.day.isoformat(), c.clicks) for c in ClickCount.objects.all()) == [("2026-11-20", 1), ("2026-11-21", 2)]


def test_costs_need_a_currency_and_cannot_be_negative(link):
    link.fee, link.currency = Decimal("250.00"), ""
    with pytest.raises(ValidationError, match="currency"):
        link.full_clean()
    link.currency = "euro"
    with pytest.raises(ValidationError, match="three-letter"):
        link.full_clean()
    link.currency, link.product_cost = "eur", Decimal("-1")
    with pytest.raises(ValidationError, match="product_cost"):
        link.full_clean()
    link.product_cost = Decimal("40")
    link.full_clean()
    assert link.currency == "EUR"


def test_the_admin_and_the_api_show_the_click_link_the_counts_and_the_costs(client, two_brands):
    from tests.test_api_walkthrough import token_client

    link = two_brands["a"]["link"]
    api = token_client(two_brands["a"]["editor"])
    changed = api.patch(f"/api/v1/links/{link.pk}/", {"destination_url": "https://a.example/p", "fee": "300.00",
                                                       "product_cost": "45.50", "currency": "usd"}, format="json")
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert (body["fee"], body["product_cost"], body["currency"]) == ("300.00", "45.50", "USD")
    assert body["click_url"].endswith(f"/r/{link.token}/")
    refused = api.patch(f"/api/v1/links/{link.pk}/", {"fee": "10", "currency": ""}, format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["currency"]
    client.get(f"/r/{link.token}/", HTTP_USER_AGENT=PHONE)
    client.force_login(two_brands["a"]["editor"])
    listing = client.get("/admin/surveys/creatorlink/")
    assert [row.n_clicks for row in listing.context["cl"].result_list] == [1]
    page = client.get(f"/admin/surveys/creatorlink/{link.pk}/change/").content.decode()
    assert f"/r/{link.token}/" in page and 'name="fee"' in page
