"""Health checks and the structured request log."""

import json
import logging

from django.conf import settings

from tests.factories import CreatorLinkFactory


def test_healthz_and_readyz_answer_when_everything_is_up(client):
    assert client.get("/healthz/").content == b"ok"
    ready = client.get("/readyz/")
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "checks": {"database": "ok", "cache": "ok"}}
    assert "no-store" in ready["Cache-Control"]


def test_readyz_is_a_503_naming_an_unreachable_cache(client, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0", "OPTIONS": {"socket_connect_timeout": 0.2}}}
    reply = client.get("/readyz/")
    assert reply.status_code == 503
    assert reply.json() == {"status": "unavailable", "problems": {"cache": "cache unreachable (ConnectionError)"}}
    assert client.get("/healthz/").status_code == 200  # alive, just not ready


def test_each_request_is_logged_once_with_its_pattern_never_its_path(client, caplog):
    link = CreatorLinkFactory(survey__status="live")
    caplog.set_level(logging.INFO, logger="trustpoll.request")
    reply = client.get(f"/s/{link.token}/?utm_source=ig&email=someone@example.com", HTTP_X_REQUEST_ID="lb-1234abcd",
                       REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="PhoneBrowser/1")
    assert reply.status_code == 200 and reply["X-Request-ID"] == "lb-1234abcd"
    [record] = [r for r in caplog.records if r.name == "trustpoll.request"]
    assert (record.method, record.route, record.view, record.status) == ("GET", "/s/<str:token>/", "surveys:poll", 200)
    assert record.request_id == "lb-1234abcd" and record.duration_ms > 0
    line = _json_line(record)
    logged = json.loads(line)
    assert {"time", "level", "logger", "message", "request_id", "route", "status", "duration_ms"} <= set(logged)
    for secret in (link.token, "someone@example.com", "203.0.113.9", "PhoneBrowser", "utm_source"):
        assert secret not in line


def test_a_request_id_that_does_not_look_like_one_is_replaced(client):
    reply = client.get("/healthz/", HTTP_X_REQUEST_ID="<script>")
    assert reply["X-Request-ID"] != "<script>" and len(reply["X-Request-ID"]) == 32
    assert client.get("/healthz/")["X-Request-ID"] != reply["X-Request-ID"]


def _json_line(record: logging.LogRecord) -> str:
    """Format ``record`` with the JSON formatter production logging is configured with."""
    from pythonjsonlogger.json import JsonFormatter

    spec = settings.LOGGING["formatters"]["json"]
    return JsonFormatter(spec["fmt"], rename_fields=spec["rename_fields"]).format(record)
