"""Framing rules, the embed view, the loader, compression and languages of the respondent pages."""

import gzip

import pytest
from django.test import Client

from surveys import embed
from surveys.design import insert_instrument
from tests.factories import CreatorLinkFactory, SurveyFactory


@pytest.fixture
def link():
    survey = SurveyFactory(status="live", allowed_origins="https://shop.example\nhttps://blog.example:8443")
    insert_instrument(survey, "reported_purchase")
    return CreatorLinkFactory(survey=survey)


def csp(response) -> dict[str, str]:
    parts = [p.strip().split(" ", 1) for p in response["Content-Security-Policy"].split(";")]
    return {p[0]: p[1] if len(p) > 1 else "" for p in parts}


@pytest.mark.parametrize("suffix", ["", "embed/"])
def test_poll_pages_may_be_framed_only_by_the_allowed_origins(client, link, suffix):
    response = client.get(f"/s/{link.token}/{suffix}")
    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert csp(response)["frame-ancestors"] == "https://shop.example https://blog.example:8443"
    assert csp(response)["script-src"] == "'self'"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_any_origin_may_frame_a_survey_without_allowed_origins(client):
    link = CreatorLinkFactory(survey=SurveyFactory(status="live"))
    assert csp(client.get(f"/s/{link.token}/embed/"))["frame-ancestors"] == "*"


def test_thank_you_and_error_pages_are_framable_too(client, link):
    response = client.post(f"/s/{link.token}/embed/", {"form_token": "forged"})
    assert response.status_code == 400
    assert "X-Frame-Options" not in response
    assert csp(response)["frame-ancestors"].startswith("https://shop.example")


def test_everything_else_refuses_framing(client, admin_user):
    assert client.get("/admin/login/")["X-Frame-Options"] == "DENY"
    assert client.get("/healthz/")["X-Frame-Options"] == "DENY"
    assert csp(client.get("/healthz/"))["frame-ancestors"] == "'none'"


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("https://shop.example", "https://shop.example"),
        ("https://evil.example", ""),
        ("https://shop.example/path", ""),
        ("javascript:alert(1)", ""),
        ("", ""),
    ],
)
def test_the_iframe_posts_heights_only_to_an_allowed_parent_origin(client, link, origin, expected):
    html = client.get(f"/s/{link.token}/embed/", {"origin": origin}).content.decode()
    assert (f'data-parent-origin="{expected}"' in html) == bool(expected)
    assert "surveys/frame.js" in html


def test_parent_origin_accepts_any_site_when_no_origins_are_listed():
    survey = SurveyFactory()
    assert embed.parent_origin("http://localhost:9000", survey) == "http://localhost:9000"
    assert embed.parent_origin("ftp://x.example", survey) == ""


def test_the_standalone_poll_has_no_frame_script(client, link):
    assert "surveys/frame.js" not in client.get(f"/s/{link.token}/").content.decode()


def test_html_is_gzipped(client, link):
    response = client.get(f"/s/{link.token}/", HTTP_ACCEPT_ENCODING="gzip")
    assert response["Content-Encoding"] == "gzip"
    assert b"<fieldset" in gzip.decompress(response.content)


def test_the_loader_is_served_with_a_short_cache_lifetime(client):
    response = client.get("/embed.js")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    assert response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert "trustpoll:height" in body and "/embed/" in body


def test_embed_snippets_name_the_loader_and_the_embed_url(link, settings):
    settings.PUBLIC_BASE_URL = "https://polls.example"
    assert embed.script_snippet(link) == (
        f'<div data-trustpoll="{link.token}"></div><script async src="https://polls.example/embed.js"></script>'
    )
    assert f'src="https://polls.example/s/{link.token}/embed/"' in embed.iframe_snippet(link)
    assert 'data-mode="popup"' in embed.script_snippet(link, popup=True)


def test_a_german_survey_speaks_german(link):
    survey = link.survey
    survey.language = "de"
    survey.consent_text = "Ich stimme zu."
    survey.save()
    page = Client().get(f"/s/{link.token}/")
    html = page.content.decode()
    assert page["Content-Language"] == "de"
    assert '<html lang="de"' in html
    assert "Antworten senden" in html and "Vor dem Absenden" in html
    reply = Client().post(f"/s/{link.token}/", {"form_token": _token(html)})
    assert "Diese Frage ist eine Pflichtfrage." in reply.content.decode()
    assert "Bitte stimmen Sie der Teilnahme zu" in reply.content.decode()


def test_an_unshipped_language_falls_back_to_english(link):
    link.survey.language = "pt-BR"
    link.survey.save()
    assert "Send my answers" in Client().get(f"/s/{link.token}/").content.decode()


def _token(html: str) -> str:
    import re

    return re.search(r'name="form_token" value="([^"]+)"', html).group(1)
