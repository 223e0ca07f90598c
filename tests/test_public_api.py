"""The public poll API (/api/v1/public/links/<token>/…), through the test client and over real HTTP.

Every refusal must come in the project's one error shape
``{"detail": str, "errors": {field: [message, …]}}``.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from datetime import timedelta
from email.message import Message

import pytest
from django.core.cache import cache
from django.test import Client, override_settings
from django.utils import timezone

from surveys.choices import AttributionSource, SurveyStatus
from surveys.design import insert_instrument
from surveys.models import Response
from tests.factories import BrandFactory, CreatorFactory, CreatorLinkFactory, QuestionFactory, SurveyFactory

THANK_YOU = "Thank you for helping {creator}!"
ORIGIN = "https://creator.example"


# --- fixtures and helpers ------------------------------------------------------------------------


@pytest.fixture
def client() -> Client:
    # CSRF enforced: the API must work with no cookie and no CSRF token at all.
    return Client(enforce_csrf_checks=True)


def make_link(*, status: str = SurveyStatus.LIVE, **survey_fields):
    brand = BrandFactory(name="Acme Outdoor", privacy_notice_url="https://brand.example/privacy")
    survey = SurveyFactory(
        brand=brand,
        title="Creator trust poll",
        intro="Tell us about {creator}.",
        thank_you_text=THANK_YOU,
        consent_text="I agree.",
        min_age=16,
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


def definition_url(link) -> str:
    return f"/api/v1/public/links/{link.token}/"


def responses_url(link) -> str:
    return f"/api/v1/public/links/{link.token}/responses/"


def get_token(client: Client, link) -> str:
    response = client.get(definition_url(link))
    assert response.status_code == 200, response.content
    return response.json()["form_token"]


def valid_body(token: str, **answer_overrides) -> dict:
    answers = {"trust": 6, "bought": 1, "buy_count": 2, "spend_3m": 19.99, "attn_check": 4}
    answers.update(answer_overrides)
    return {
        "form_token": token,
        "answers": {k: v for k, v in answers.items() if v is not None},
        "consent": True,
        "age_confirmed": True,
        "utm": {"utm_source": "tiktok"},
    }


def post_json(client: Client, url: str, body, **extra):
    data = body if isinstance(body, str | bytes) else json.dumps(body)
    return client.post(url, data=data, content_type="application/json", **extra)


def assert_error_shape(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"detail", "errors"}, body
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], dict)
    for key, messages in body["errors"].items():
        assert isinstance(key, str)
        assert isinstance(messages, list) and messages
        assert all(isinstance(m, str) and m for m in messages)
    return body


# --- GET the definition --------------------------------------------------------------------------


def test_definition_has_rendered_questions_conditions_and_a_token(client, link):
    response = client.get(definition_url(link))

    assert response.status_code == 200
    assert not response.cookies
    data = response.json()
    assert data["survey"]["title"] == "Creator trust poll"
    assert data["survey"]["brand"] == "Acme Outdoor"
    assert data["survey"]["intro"] == "Tell us about Jamie Rivers."
    assert data["survey"]["privacy_notice_url"] == "https://brand.example/privacy"
    assert data["survey"]["consent_text"] == "I agree."
    assert data["survey"]["min_age"] == 16
    assert data["creator"]["display_name"] == "Jamie Rivers"
    questions = {q["code"]: q for q in data["questions"]}
    assert [q["code"] for q in data["questions"]] == ["trust", "bought", "buy_count", "spend_3m", "attn_check"]
    assert questions["trust"]["wording"] == "How much do you trust Jamie Rivers?"
    assert questions["bought"]["wording"] == "Have you bought something because Jamie Rivers recommended it?"
    assert "{creator}" not in json.dumps(data)
    assert questions["buy_count"]["condition"] == {"code": "bought", "values": [1]}
    assert questions["spend_3m"]["condition"] == {"code": "bought", "values": [1]}
    assert questions["trust"]["condition"] is None
    assert isinstance(data["form_token"], str) and data["form_token"]
    assert data["submit_url"].endswith(responses_url(link))


def test_definition_never_reveals_the_attention_check_answer(client, link):
    response = client.get(definition_url(link))

    raw = response.content.decode()
    assert "expected_answer" not in raw
    attn = next(q for q in response.json()["questions"] if q["code"] == "attn_check")
    assert "expected_answer" not in attn
    assert attn["wording"].startswith("To show that you read this question")


def test_definition_of_unknown_link_is_404_in_the_error_shape(client):
    body = assert_error_shape(client.get("/api/v1/public/links/no-such-link/"), 404)
    assert body["errors"] == {}


def test_definition_of_closed_survey_is_410(client):
    link = make_link(status=SurveyStatus.CLOSED)

    assert_error_shape(client.get(definition_url(link)), 410)


def test_definition_of_draft_survey_is_404(client):
    link = make_link(status=SurveyStatus.DRAFT)

    assert_error_shape(client.get(definition_url(link)), 404)


def test_definition_of_survey_not_open_yet_is_404(client):
    link = make_link(opens_at=timezone.now() + timedelta(days=1))

    assert_error_shape(client.get(definition_url(link)), 404)


# --- POST a response -----------------------------------------------------------------------------


def test_valid_post_is_201_and_replay_is_200(client, link):
    body = valid_body(get_token(client, link))

    created = post_json(client, responses_url(link), body)

    assert created.status_code == 201, created.content
    assert created.json() == {"status": "recorded", "thank_you": "Thank you for helping Jamie Rivers!"}
    assert not created.cookies
    stored = Response.objects.get()
    assert stored.source == AttributionSource.LINK
    assert stored.link_id == link.pk and stored.creator_id == link.creator_id
    assert stored.answers == {"trust": 6, "bought": 1, "buy_count": 2, "spend_3m": 19.99, "attn_check": 4}
    assert stored.utm == {"utm_source": "tiktok"}
    assert stored.is_test is False

    replay = post_json(client, responses_url(link), body)

    assert replay.status_code == 200
    assert replay.json() == {"status": "recorded", "thank_you": "Thank you for helping Jamie Rivers!"}
    assert Response.objects.count() == 1


def test_hidden_conditional_answer_is_dropped_and_listed_as_not_asked(client, link):
    body = valid_body(get_token(client, link), bought=0, buy_count=5)

    response = post_json(client, responses_url(link), body)

    assert response.status_code == 201
    stored = Response.objects.get()
    assert "buy_count" not in stored.answers
    assert "buy_count" in stored.not_asked


def test_invalid_answers_are_400_with_a_message_per_question(client, link):
    body = valid_body(get_token(client, link), trust=9, attn_check=None)
    body["consent"] = False

    response = post_json(client, responses_url(link), body)

    errors = assert_error_shape(response, 400)["errors"]
    assert set(errors) == {"trust", "attn_check", "consent"}
    assert errors["trust"] == ["Choose a whole number from 1 to 7."]
    assert errors["attn_check"] == ["This question is required."]
    assert Response.objects.count() == 0


def test_consent_must_be_a_real_boolean(client, link):
    body = valid_body(get_token(client, link))
    body["consent"] = "true"

    errors = assert_error_shape(post_json(client, responses_url(link), body), 400)["errors"]

    assert "consent" in errors
    assert Response.objects.count() == 0


def test_unknown_answer_code_is_400_naming_it(client, link):
    body = valid_body(get_token(client, link))
    body["answers"]["shoe_size"] = 44

    errors = assert_error_shape(post_json(client, responses_url(link), body), 400)["errors"]

    assert errors == {"shoe_size": ["Unknown question."]}


def test_unknown_top_level_field_is_400_naming_it(client, link):
    body = valid_body(get_token(client, link))
    body["email"] = "someone@example.com"

    errors = assert_error_shape(post_json(client, responses_url(link), body), 400)["errors"]

    assert errors == {"email": ["Unknown field."]}
    assert Response.objects.count() == 0


@pytest.mark.parametrize("raw", ['{"form_token": "abc", "answers": {', "not json", b"\xff\xfe"])
def test_malformed_json_is_400_in_the_error_shape(client, link, raw):
    assert_error_shape(post_json(client, responses_url(link), raw), 400)
    assert Response.objects.count() == 0


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "null"])
def test_json_that_is_not_an_object_is_400_in_the_error_shape(client, link, raw):
    assert_error_shape(post_json(client, responses_url(link), raw), 400)


def test_answers_that_are_not_an_object_are_400(client, link):
    body = valid_body(get_token(client, link))
    body["answers"] = [6, 1]

    errors = assert_error_shape(post_json(client, responses_url(link), body), 400)["errors"]

    assert "answers" in errors


def test_forged_token_is_400_in_the_error_shape(client, link):
    body = assert_error_shape(post_json(client, responses_url(link), valid_body("forged:token:value")), 400)

    assert "form_token" in body["errors"]


def test_missing_token_is_400_in_the_error_shape(client, link):
    body = valid_body("")
    del body["form_token"]

    assert "form_token" in assert_error_shape(post_json(client, responses_url(link), body), 400)["errors"]


def test_token_of_another_link_is_403_in_the_error_shape(client, link):
    other = make_link()

    body = assert_error_shape(post_json(client, responses_url(link), valid_body(get_token(client, other))), 403)

    assert "form_token" in body["errors"]
    assert Response.objects.count() == 0


def test_post_to_unknown_link_is_404_in_the_error_shape(client, link):
    token = get_token(client, link)

    body = assert_error_shape(post_json(client, "/api/v1/public/links/no-such-link/responses/", valid_body(token)), 404)

    assert body["errors"] == {}


def test_post_to_closed_survey_is_410(client, link):
    token = get_token(client, link)
    link.survey.status = SurveyStatus.CLOSED
    link.survey.save()

    assert_error_shape(post_json(client, responses_url(link), valid_body(token)), 410)
    assert Response.objects.count() == 0


def test_post_to_inactive_link_is_410(client, link):
    token = get_token(client, link)
    link.active = False
    link.save()

    assert_error_shape(post_json(client, responses_url(link), valid_body(token)), 410)


def test_form_encoded_post_is_refused_in_the_error_shape(client, link):
    token = get_token(client, link)

    response = client.post(responses_url(link), {"form_token": token, "trust": "6"})

    assert_error_shape(response, 415)


def test_get_on_the_responses_url_is_405_in_the_error_shape(client, link):
    assert_error_shape(client.get(responses_url(link)), 405)


@override_settings(POLL_RATE_LIMIT="3/m")
def test_api_rate_limit_is_429_with_retry_after(client, link):
    cache.clear()
    statuses = []
    for _ in range(4):
        statuses.append(post_json(client, responses_url(link), valid_body(get_token(client, link))))

    assert [r.status_code for r in statuses[:3]] == [201, 201, 201]
    limited = assert_error_shape(statuses[3], 429)
    assert limited["detail"]
    assert int(statuses[3]["Retry-After"]) >= 1
    assert Response.objects.count() == 3


# --- CORS ----------------------------------------------------------------------------------------


def test_cors_preflight_is_allowed(client, link):
    response = client.options(
        responses_url(link),
        HTTP_ORIGIN=ORIGIN,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
    )

    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] in ("*", ORIGIN)
    assert "POST" in response["Access-Control-Allow-Methods"]
    assert "content-type" in response["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in response


def test_cors_headers_on_get_and_post(client, link):
    get = client.get(definition_url(link), HTTP_ORIGIN=ORIGIN)
    assert get["Access-Control-Allow-Origin"] in ("*", ORIGIN)

    post = post_json(client, responses_url(link), valid_body(get.json()["form_token"]), HTTP_ORIGIN=ORIGIN)

    assert post.status_code == 201
    assert post["Access-Control-Allow-Origin"] in ("*", ORIGIN)


def test_cors_headers_on_errors_too(client, link):
    response = post_json(client, responses_url(link), "not json", HTTP_ORIGIN=ORIGIN)

    assert response.status_code == 400
    assert response["Access-Control-Allow-Origin"] in ("*", ORIGIN)


def test_cors_is_not_opened_on_the_poll_page_or_admin(client, link):
    assert "Access-Control-Allow-Origin" not in client.get(f"/s/{link.token}/", HTTP_ORIGIN=ORIGIN)
    assert "Access-Control-Allow-Origin" not in client.get("/admin/login/", HTTP_ORIGIN=ORIGIN)


# --- over real HTTP ------------------------------------------------------------------------------


def http_json(url: str, body: dict | None = None) -> tuple[int, Message, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method="POST" if body is not None else "GET",
        headers={"Content-Type": "application/json", "Accept": "application/json", "Origin": ORIGIN},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, json.loads(exc.read())


@pytest.mark.django_db(transaction=True)
def test_full_round_trip_over_real_http(live_server):
    link = make_link()
    base = live_server.url

    status, headers, definition = http_json(f"{base}{definition_url(link)}")

    assert status == 200
    assert headers.get("Access-Control-Allow-Origin") in ("*", ORIGIN)
    assert "Set-Cookie" not in headers
    assert definition["creator"]["display_name"] == "Jamie Rivers"
    assert definition["submit_url"] == f"{base}{responses_url(link)}"
    answers = {}
    for question in definition["questions"]:
        answers[question["code"]] = {"trust": 5, "bought": 1, "buy_count": 1, "spend_3m": 12, "attn_check": 4}[
            question["code"]
        ]
    body = {
        "form_token": definition["form_token"],
        "answers": answers,
        "consent": True,
        "age_confirmed": definition["survey"]["min_age"] is not None,
        "utm": {"utm_source": "youtube", "utm_campaign": "launch"},
    }

    status, headers, result = http_json(definition["submit_url"], body)

    assert status == 201, result
    assert result == {"status": "recorded", "thank_you": "Thank you for helping Jamie Rivers!"}
    stored = Response.objects.get(link=link)
    assert stored.answers == {"trust": 5, "bought": 1, "buy_count": 1, "spend_3m": 12, "attn_check": 4}
    assert stored.utm == {"utm_source": "youtube", "utm_campaign": "launch"}
    assert stored.source == AttributionSource.LINK
    assert stored.respondent_hash and "127.0.0.1" not in stored.respondent_hash

    status, _, replay = http_json(definition["submit_url"], body)

    assert status == 200
    assert Response.objects.filter(link=link).count() == 1

    status, _, error = http_json(definition["submit_url"], {**body, "form_token": "forged"})

    assert status == 400
    assert set(error) == {"detail", "errors"}
