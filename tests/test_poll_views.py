"""The respondent's poll page at /s/<token>/, driven through Django's test client.

The client enforces CSRF checks, so every POST here proves the poll needs no
CSRF cookie: the signed form token does that job. Assertions are on the HTML
the follower sees and on the rows stored in the database.
"""

from __future__ import annotations

import logging
import os
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from surveys import collection
from surveys.choices import AttributionSource, SurveyStatus
from surveys.design import insert_instrument
from surveys.models import Response
from tests.factories import BrandFactory, CreatorFactory, CreatorLinkFactory, QuestionFactory, SurveyFactory

THANK_YOU = "Thanks a lot, your answers about {creator} help us a great deal."
PRIVACY_URL = "https://brand.example/privacy"
FORM_TOKEN_RE = re.compile(r'<input type="hidden" name="form_token" value="([^"]+)">')
UNREACHABLE_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_timeout": 0.2, "socket_connect_timeout": 0.2},
    }
}


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def client() -> Client:
    return Client(enforce_csrf_checks=True)


def make_link(*, status: str = SurveyStatus.LIVE, consent: bool = True, min_age: int | None = 16, **survey_fields):
    """A survey with a trust question, the reported-purchase set and an attention check, and one link."""
    brand = BrandFactory(name="Acme Outdoor", privacy_notice_url=PRIVACY_URL)
    survey = SurveyFactory(
        brand=brand,
        title="Creator trust poll",
        intro="A few questions about {creator}.",
        thank_you_text=THANK_YOU,
        consent_text="I agree that Acme Outdoor stores my answers." if consent else "",
        min_age=min_age,
        status=status,
        **survey_fields,
    )
    QuestionFactory(survey=survey, position=1, code="trust", wording="How much do you trust {creator}?")
    insert_instrument(survey, "reported_purchase")
    insert_instrument(survey, "attention_check")
    creator = CreatorFactory(brand=brand, display_name="Jamie Rivers", handle="jamierivers")
    return CreatorLinkFactory(survey=survey, creator=creator)


@pytest.fixture
def link():
    return make_link()


def poll_path(link) -> str:
    return f"/s/{link.token}/"


def form_token(response) -> str:
    match = FORM_TOKEN_RE.search(response.content.decode())
    assert match, "the poll page has no hidden form_token input"
    return match.group(1)


def fresh_token(client: Client, link, query: str = "") -> str:
    response = client.get(poll_path(link) + query)
    assert response.status_code == 200
    return form_token(response)


def valid_answers(**overrides) -> dict[str, str]:
    data = {
        "trust": "6",
        "bought": "1",
        "buy_count": "3",
        "spend_3m": "42.50",
        "attn_check": "4",
        "consent": "on",
        "age_confirmed": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def fieldset(html: str, code: str) -> str:
    match = re.search(rf'<fieldset[^>]*\bid="q-{code}"[^>]*>.*?</fieldset>', html, re.S)
    assert match, f"no fieldset for {code}"
    return match.group(0)


def assert_no_traceback(response) -> None:
    text = response.content.decode()
    assert "Traceback" not in text
    assert 'File "' not in text
    assert "Exception" not in text


# --- GET ---------------------------------------------------------------------------------------


def test_get_shows_the_poll_without_setting_any_cookie(client, link):
    response = client.get(poll_path(link))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Acme Outdoor" in html
    assert f'href="{PRIVACY_URL}"' in html and "Privacy notice" in html
    assert "How much do you trust Jamie Rivers?" in html
    assert "Have you bought something because Jamie Rivers recommended it?" in html
    assert "A few questions about Jamie Rivers." in html
    assert "{creator}" not in html
    assert re.search(r'<input type="checkbox" name="consent"', html)
    assert "I agree that Acme Outdoor stores my answers." in html
    assert re.search(r'<input type="checkbox" name="age_confirmed"', html)
    assert "I am at least 16 years old." in html
    assert form_token(response)
    for code in ("trust", "bought", "buy_count", "spend_3m", "attn_check"):
        assert f'id="q-{code}"' in html
    assert not response.cookies, f"the poll set cookies: {list(response.cookies)}"
    assert not client.cookies
    assert "no-cache" in response["Cache-Control"] or "no-store" in response["Cache-Control"]


def test_get_without_consent_or_age_shows_no_checkboxes(client):
    link = make_link(consent=False, min_age=None)

    html = client.get(poll_path(link)).content.decode()

    assert 'name="consent"' not in html
    assert 'name="age_confirmed"' not in html


# --- POST: storing and replaying ---------------------------------------------------------------


def test_valid_post_without_cookies_stores_one_response_and_thanks(client, link):
    token = fresh_token(client, link)
    assert not client.cookies
    body = {"form_token": token, **valid_answers()}

    response = client.post(poll_path(link), body)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Thanks a lot, your answers about Jamie Rivers help us a great deal." in html
    assert not response.cookies
    stored = Response.objects.get()
    assert stored.source == AttributionSource.LINK
    assert stored.link_id == link.pk
    assert stored.creator_id == link.creator_id
    assert stored.survey_id == link.survey_id
    assert stored.is_test is False
    assert stored.answers == {"trust": 6, "bought": 1, "buy_count": 3, "spend_3m": 42.5, "attn_check": 4}
    assert stored.not_asked == []
    assert stored.consent is True and stored.age_confirmed is True
    assert stored.flag_attention is False

    replay = client.post(poll_path(link), body)

    assert replay.status_code == 200
    assert "Thanks a lot, your answers about Jamie Rivers help us a great deal." in replay.content.decode()
    assert Response.objects.count() == 1


def test_invalid_answers_rerender_the_form_with_messages_in_place_and_answers_kept(client, link):
    token = fresh_token(client, link)

    response = client.post(
        poll_path(link),
        {"form_token": token, **valid_answers(trust="9", attn_check=None, bought="1", buy_count="3")},
    )

    assert response.status_code == 400
    html = response.content.decode()
    trust = fieldset(html, "trust")
    assert "Choose a whole number from 1 to 7." in trust
    assert "has-error" in trust
    attn = fieldset(html, "attn_check")
    assert "This question is required." in attn
    # The message sits next to its own question only.
    assert "Choose a whole number from 1 to 7." not in fieldset(html, "bought")
    assert "This question is required." not in fieldset(html, "trust")
    # The follower's other answers are kept.
    assert re.search(r'<input type="radio" name="bought" value="1" checked>', fieldset(html, "bought"))
    assert not re.search(r'name="bought" value="0" checked', html)
    assert 'value="3"' in fieldset(html, "buy_count")
    assert 'value="42.50"' in fieldset(html, "spend_3m")
    assert re.search(r'<input type="checkbox" name="consent"[^>]* checked', html)
    assert re.search(r'<input type="checkbox" name="age_confirmed"[^>]* checked', html)
    assert form_token(response)
    assert Response.objects.count() == 0


def test_missing_consent_and_age_are_reported_next_to_their_checkboxes(client, link):
    token = fresh_token(client, link)

    response = client.post(poll_path(link), {"form_token": token, **valid_answers(consent=None, age_confirmed=None)})

    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r'id="err-consent">Please agree to take part', html)
    assert re.search(r'id="err-age_confirmed">Please confirm that you are at least 16 years old.', html)
    assert re.search(r'<input type="radio" name="trust" value="6" checked>', html)
    assert Response.objects.count() == 0


def test_fixed_answers_after_an_error_are_accepted(client, link):
    token = fresh_token(client, link)
    first = client.post(poll_path(link), {"form_token": token, **valid_answers(trust="")})
    assert first.status_code == 400

    retry = client.post(poll_path(link), {"form_token": form_token(first), **valid_answers()})

    assert retry.status_code == 200
    assert Response.objects.count() == 1


# --- conditions without JavaScript -------------------------------------------------------------


def test_conditional_questions_carry_a_note_and_unshown_answers_are_dropped(client, link):
    response = client.get(poll_path(link))
    html = response.content.decode()
    note = "Answer only if you answered “Yes” to “Have you bought something because Jamie Rivers recommended it?”."
    assert note in fieldset(html, "buy_count")
    assert note in fieldset(html, "spend_3m")
    assert "Answer only if" not in fieldset(html, "trust")
    assert 'data-condition-code="bought"' in fieldset(html, "buy_count")

    posted = client.post(
        poll_path(link), {"form_token": form_token(response), **valid_answers(bought="0", buy_count="5", spend_3m="10")}
    )

    assert posted.status_code == 200
    stored = Response.objects.get()
    assert stored.answers["bought"] == 0
    assert "buy_count" not in stored.answers
    assert "spend_3m" not in stored.answers
    assert "buy_count" in stored.not_asked
    assert "spend_3m" in stored.not_asked


# --- status pages --------------------------------------------------------------------------------


def test_unknown_token_is_404(client):
    response = client.get("/s/no-such-token-at-all/")

    assert response.status_code == 404
    assert "does not exist" in response.content.decode()
    assert_no_traceback(response)


def test_draft_survey_is_404(client):
    link = make_link(status=SurveyStatus.DRAFT)

    response = client.get(poll_path(link))

    assert response.status_code == 404
    assert "has not been published" in response.content.decode()
    assert_no_traceback(response)


def test_closed_survey_is_410(client):
    link = make_link(status=SurveyStatus.CLOSED)

    response = client.get(poll_path(link))

    assert response.status_code == 410
    assert "This poll has closed" in response.content.decode()
    assert_no_traceback(response)


def test_survey_past_closes_at_is_410(client):
    link = make_link(closes_at=timezone.now() - timedelta(minutes=1))

    response = client.get(poll_path(link))

    assert response.status_code == 410
    assert_no_traceback(response)


def test_inactive_link_is_410(client, link):
    link.active = False
    link.save()

    response = client.get(poll_path(link))

    assert response.status_code == 410
    assert "no longer active" in response.content.decode()
    assert_no_traceback(response)


def test_survey_not_open_yet_is_404(client):
    link = make_link(opens_at=timezone.now() + timedelta(days=2))

    response = client.get(poll_path(link))

    assert response.status_code == 404
    assert "not open yet" in response.content.decode()
    assert_no_traceback(response)


def test_post_after_the_survey_closed_is_410_and_stores_nothing(client, link):
    token = fresh_token(client, link)
    link.survey.status = SurveyStatus.CLOSED
    link.survey.save()

    response = client.post(poll_path(link), {"form_token": token, **valid_answers()})

    assert response.status_code == 410
    assert_no_traceback(response)
    assert Response.objects.count() == 0


# --- admin preview -----------------------------------------------------------------------------


def preview_path(link) -> str:
    parts = urlsplit(link.share_url + "?preview=" + collection.preview_key(link))
    return f"{parts.path}?{parts.query}"


def test_preview_works_on_a_draft_survey_and_stores_a_test_response(client):
    link = make_link(status=SurveyStatus.DRAFT)
    path = preview_path(link)

    page = client.get(path)

    assert page.status_code == 200
    html = page.content.decode()
    assert 'class="preview-banner"' in html
    assert "Preview — answers are stored as test responses" in html
    assert "How much do you trust Jamie Rivers?" in html

    posted = client.post(path, {"form_token": form_token(page), **valid_answers()})

    assert posted.status_code == 200
    assert 'class="preview-banner"' in posted.content.decode()
    stored = Response.objects.get()
    assert stored.is_test is True
    assert stored.link_id == link.pk


def test_bogus_preview_value_on_a_draft_survey_is_404(client):
    link = make_link(status=SurveyStatus.DRAFT)

    response = client.get(poll_path(link) + "?preview=not-a-real-preview-key")

    assert response.status_code == 404
    assert 'class="preview-banner"' not in response.content.decode()
    assert_no_traceback(response)


def test_preview_key_of_another_link_is_refused(client):
    link = make_link(status=SurveyStatus.DRAFT)
    other = make_link(status=SurveyStatus.DRAFT)

    response = client.get(poll_path(link) + "?preview=" + collection.preview_key(other))

    assert response.status_code == 404


def test_a_normal_token_cannot_post_to_a_draft_survey(client, link):
    token = fresh_token(client, link)
    link.survey.status = SurveyStatus.DRAFT
    link.survey.save()

    response = client.post(poll_path(link), {"form_token": token, **valid_answers()})

    assert response.status_code == 404
    assert Response.objects.count() == 0


# --- refused submissions -------------------------------------------------------------------------


def test_unknown_post_field_is_400_and_named(client, link):
    token = fresh_token(client, link)

    response = client.post(poll_path(link), {"form_token": token, **valid_answers(), "favourite_colour": "red"})

    assert response.status_code == 400
    html = response.content.decode()
    assert "favourite_colour" in html
    assert "Unknown field." in html
    assert Response.objects.count() == 0


def test_tampered_form_token_is_400(client, link):
    token = fresh_token(client, link)
    tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")

    response = client.post(poll_path(link), {"form_token": tampered, **valid_answers()})

    assert response.status_code == 400
    assert "not valid" in response.content.decode()
    assert_no_traceback(response)
    assert Response.objects.count() == 0


def test_missing_form_token_is_400(client, link):
    response = client.post(poll_path(link), valid_answers())

    assert response.status_code == 400
    assert Response.objects.count() == 0


def test_token_from_another_surveys_link_is_403(client, link):
    other = make_link()
    foreign_token = fresh_token(client, other)

    response = client.post(poll_path(link), {"form_token": foreign_token, **valid_answers()})

    assert response.status_code == 403
    assert "another poll" in response.content.decode()
    assert_no_traceback(response)
    assert Response.objects.count() == 0


def test_expired_form_token_keeps_answers_and_hands_out_a_fresh_token(client, link):
    token = fresh_token(client, link)

    with override_settings(FORM_TOKEN_MAX_AGE=-1):
        response = client.post(poll_path(link), {"form_token": token, **valid_answers()})

    assert response.status_code == 400
    html = response.content.decode()
    assert "expired" in html
    assert re.search(r'<input type="radio" name="trust" value="6" checked>', html)
    assert form_token(response) != token
    assert Response.objects.count() == 0


# --- UTM parameters ------------------------------------------------------------------------------


def test_utm_parameters_are_carried_and_stored(client, link):
    page = client.get(poll_path(link) + "?utm_source=instagram&utm_campaign=spring+drop&utm_medium=story&evil=1")

    html = page.content.decode()
    assert '<input type="hidden" name="utm_source" value="instagram">' in html
    assert '<input type="hidden" name="utm_campaign" value="spring drop">' in html
    assert '<input type="hidden" name="utm_medium" value="story">' in html
    assert 'name="evil"' not in html

    response = client.post(
        poll_path(link),
        {
            "form_token": form_token(page),
            "utm_source": "instagram",
            "utm_campaign": "spring drop",
            "utm_medium": "story",
            **valid_answers(),
        },
    )

    assert response.status_code == 200
    assert Response.objects.get().utm == {"utm_source": "instagram", "utm_campaign": "spring drop", "utm_medium": "story"}


# --- rate limits ---------------------------------------------------------------------------------


def post_n_times(client: Client, link, n: int, **extra) -> list:
    responses = []
    for _ in range(n):
        token = fresh_token(client, link)
        responses.append(client.post(poll_path(link), {"form_token": token, **valid_answers()}, **extra))
    return responses


@override_settings(POLL_RATE_LIMIT="3/m")
def test_fourth_post_from_one_address_is_429_with_retry_after(client, link):
    cache.clear()

    responses = post_n_times(client, link, 4, REMOTE_ADDR="198.51.100.20")

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    limited = responses[-1]
    assert int(limited["Retry-After"]) >= 1
    assert "Too many submissions" in limited.content.decode()
    assert_no_traceback(limited)
    assert Response.objects.count() == 3

    other = post_n_times(client, link, 1, REMOTE_ADDR="198.51.100.21")[0]

    assert other.status_code == 200
    assert Response.objects.count() == 4


@override_settings(POLL_RATE_LIMIT="3/m")
def test_rate_limit_is_per_link(client, link):
    cache.clear()
    other = make_link()
    post_n_times(client, link, 3)

    response = post_n_times(client, other, 1)[0]

    assert response.status_code == 200


def test_unreachable_cache_fails_open_and_logs(client, link, caplog):
    token = fresh_token(client, link)

    with override_settings(CACHES=UNREACHABLE_REDIS), caplog.at_level(logging.WARNING, logger="trustpoll.ratelimit"):
        response = client.post(poll_path(link), {"form_token": token, **valid_answers()})

    assert response.status_code == 200
    assert "Thanks a lot" in response.content.decode()
    assert Response.objects.count() == 1
    warnings = [r for r in caplog.records if r.name == "trustpoll.ratelimit" and r.levelno == logging.WARNING]
    assert warnings, "the limiter outage was not logged"
    assert "rate limiter unavailable" in warnings[0].getMessage()


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/15"


def test_rate_limit_counts_in_real_redis(client, link):
    import redis

    url = redis_url()
    try:
        redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5).ping()
    except redis.exceptions.RedisError as exc:
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    caches = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": url,
            # A fresh prefix per run: no counter of an earlier run can leak in.
            "KEY_PREFIX": f"trustpoll-test-{os.getpid()}-{link.pk}-{timezone.now().timestamp()}",
        }
    }

    with override_settings(CACHES=caches, POLL_RATE_LIMIT="3/m"):
        responses = post_n_times(client, link, 4, REMOTE_ADDR="198.51.100.30")
        other = post_n_times(client, link, 1, REMOTE_ADDR="198.51.100.31")[0]
        cache.clear()

    assert [r.status_code for r in responses] == [200, 200, 200, 429]
    assert int(responses[-1]["Retry-After"]) >= 1
    assert other.status_code == 200
    assert Response.objects.count() == 4


# --- privacy -------------------------------------------------------------------------------------


def test_no_raw_address_is_stored(client, link):
    address = "203.0.113.7"
    token = fresh_token(client, link)

    response = client.post(
        poll_path(link),
        {"form_token": token, **valid_answers()},
        REMOTE_ADDR=address,
        HTTP_X_FORWARDED_FOR=address,
        HTTP_USER_AGENT="Mozilla/5.0 test",
    )

    assert response.status_code == 200
    stored = Response.objects.get()
    assert stored.respondent_hash and len(stored.respondent_hash) == 64
    for field in Response._meta.concrete_fields:
        value = field.value_from_object(stored)
        assert address not in str(value), f"{field.name} holds the raw address"
