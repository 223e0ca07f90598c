"""Signed webhooks (surveys/webhooks.py) against a real HTTP receiver on loopback.

No part of TrustPoll is mocked: every delivery is a real POST to a
``ThreadingHTTPServer`` that records each request's headers and raw body and
answers with a scripted sequence of status codes and delays.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.test import Client as HttpClient
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from rest_framework.test import APIClient

from surveys import files, webhooks
from surveys.analyses import request_analysis
from surveys.choices import Role, SurveyStatus
from surveys.collection import Client, Submission, issue_form_token, submit_response
from surveys.models import (
    AnalysisRun,
    AuditEvent,
    Export,
    Response,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from surveys.tokens import issue_token
from tests.factories import MembershipFactory, UserFactory

RESPONDENT_ADDRESS = "203.0.113.7"
RESPONDENT_AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Instagram 300.0"


# --- the receiver -------------------------------------------------------------------------------


@dataclass
class Received:
    """One request as the receiver saw it."""

    path: str
    headers: dict[str, str]  # lower-cased names: HTTP header names are case-insensitive
    body: bytes
    at: float  # time.monotonic() on arrival

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Receiver:
    """A webhook receiver on 127.0.0.1 whose answers are scripted per request."""

    url: str = ""
    requests: list[Received] = field(default_factory=list)
    connections: int = 0
    script: list[tuple[int | bytes, float]] = field(default_factory=list)  # a status code, or raw bytes to send
    default: tuple[int | bytes, float] = (200, 0.0)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)
    handler_threads: list[threading.Thread] = field(default_factory=list)

    def answer(self, *statuses: int | bytes, delay: float = 0.0) -> None:
        """Answer the next requests with ``statuses`` in turn (then the default), each after ``delay`` seconds.

        A ``bytes`` entry is written to the socket as it is, instead of an HTTP response.
        """
        with self.lock:
            self.script.extend((status, delay) for status in statuses)

    def always(self, status: int | bytes, *, delay: float = 0.0) -> None:
        with self.lock:
            self.default = (status, delay)

    def take(self, request: Received) -> tuple[int | bytes, float]:
        with self.lock:
            self.handler_threads.append(threading.current_thread())
            self.requests.append(request)
            return self.script.pop(0) if self.script else self.default


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        status, delay = self.server.receiver.take(Received(self.path, headers, body, time.monotonic()))
        if delay:
            self.server.receiver.stop.wait(delay)  # cut short at teardown
        try:
            if isinstance(status, bytes):
                self.wfile.write(status)
                self.close_connection = True
                return
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the sender gave up waiting (a timeout test)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class _Server(ThreadingHTTPServer):
    # Non-daemon handler threads are the ones server_close() joins (socketserver skips daemon threads);
    # the stop event cuts every scripted delay short, so the join is quick.
    daemon_threads = False
    block_on_close = True

    def __init__(self, receiver: Receiver):
        self.receiver = receiver
        super().__init__(("127.0.0.1", 0), _Handler)

    def process_request(self, request, client_address) -> None:  # noqa: ANN001
        with self.receiver.lock:
            self.receiver.connections += 1
        super().process_request(request, client_address)


@pytest.fixture
def receiver():
    state = Receiver()
    server = _Server(state)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/trustpoll"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    state.stop.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)
    assert not thread.is_alive(), "the receiver's server thread did not stop"
    assert not [t for t in state.handler_threads if t.is_alive()], "a request handler thread is still running"


# --- helpers ------------------------------------------------------------------------------------


def readme_check(secret: str, header: str, raw_body: bytes, *, now: float, tolerance: int = 300) -> bool:
    """The receiver's check, written from the documented recipe alone (not from surveys.webhooks).

    ``TrustPoll-Signature: t=<unix>,v1=<hex>`` with hex = HMAC-SHA256(secret, f"{t}.{raw body}").
    """
    parts = dict(item.split("=", 1) for item in header.split(","))
    timestamp = int(parts["t"])
    signed_text = f"{timestamp}.{raw_body.decode('utf-8')}"
    expected = hmac.new(secret.encode("utf-8"), signed_text.encode("utf-8"), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"]) and abs(now - timestamp) <= tolerance


def go_live(link) -> None:
    link.survey.status = SurveyStatus.LIVE
    link.survey.save(update_fields=["status"])


def respondent() -> Client:
    return Client.from_meta({"REMOTE_ADDR": RESPONDENT_ADDRESS, "HTTP_USER_AGENT": RESPONDENT_AGENT})


def submit(link, answers: dict, *, preview: bool = False, token: str | None = None):
    return submit_response(
        link=link,
        form_token=token or issue_form_token(link, preview=preview),
        submission=Submission(answers=answers, utm={"utm_source": "tiktok"}),
        client=respondent(),
    )


def endpoint_for(brand, receiver: Receiver, events: list[str] | None = None) -> WebhookEndpoint:
    return webhooks.create_endpoint(brand=brand, url=receiver.url, events=events or [WebhookEvent.RESPONSE_SUBMITTED])


def token_client(user) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user, 't')[1]}")
    return api


@pytest.fixture
def brand_a(two_brands):
    go_live(two_brands["a"]["link"])
    return two_brands["a"]


# --- 1. the signature and the payload -------------------------------------------------------------


def test_a_delivery_is_signed_with_the_endpoint_secret_and_carries_no_respondent_identity(brand_a, receiver):
    endpoint = endpoint_for(brand_a["brand"], receiver)
    token = issue_form_token(brand_a["link"])

    result = submit(brand_a["link"], {"trust_a": 6}, token=token)

    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    delivery = WebhookDelivery.objects.get()
    header = got.header("TrustPoll-Signature")
    assert header.startswith("t=") and ",v1=" in header
    assert webhooks.verify(endpoint.secret, header, got.body)
    assert readme_check(endpoint.secret, header, got.body, now=time.time())
    assert got.header("TrustPoll-Event") == "response.submitted"
    assert got.header("TrustPoll-Delivery") == str(delivery.pk)
    assert got.header("Content-Type") == "application/json"
    assert got.path == "/hooks/trustpoll"

    payload = json.loads(got.body)
    assert set(payload) == {"id", "event", "created", "data"}
    assert payload["id"] == str(delivery.pk)
    assert payload["event"] == "response.submitted"
    assert payload["created"] == delivery.created_at.isoformat()
    data = payload["data"]
    response = result.response
    assert data["response"] == response.pk
    assert data["survey"] == brand_a["survey"].pk
    assert data["creator_handle"] == "creator_a"
    assert data["answers"] == {"trust_a": 6}
    assert data["utm"] == {"utm_source": "tiktok"}

    stored = Response.objects.get(pk=response.pk)
    assert stored.respondent_hash  # the response has an identity hash: the body must not
    raw = got.body.decode()
    for secret_thing in (stored.respondent_hash, respondent().address_hash, RESPONDENT_ADDRESS, RESPONDENT_AGENT,
                         stored.form_token, token):
        assert secret_thing not in raw
    assert "respondent" not in raw and "form_token" not in raw and "address" not in raw
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED


# --- 2. replay, tampering, wrong secret ------------------------------------------------------------


def test_a_recorded_delivery_replayed_tampered_or_checked_with_another_secret_fails(brand_a, receiver):
    endpoint = endpoint_for(brand_a["brand"], receiver)
    submit(brand_a["link"], {"trust_a": 6})
    got = receiver.requests[0]
    header = got.header("TrustPoll-Signature")
    signed_at = int(dict(p.split("=", 1) for p in header.split(","))["t"])

    assert webhooks.verify(endpoint.secret, header, got.body, now=signed_at + 60)
    assert readme_check(endpoint.secret, header, got.body, now=signed_at + 60)

    ten_minutes_later = signed_at + 600
    assert not webhooks.verify(endpoint.secret, header, got.body, now=ten_minutes_later)
    assert not readme_check(endpoint.secret, header, got.body, now=ten_minutes_later)

    tampered = got.body.replace(b'"trust_a":6', b'"trust_a":1')
    assert tampered != got.body
    assert not webhooks.verify(endpoint.secret, header, tampered, now=signed_at)
    assert not readme_check(endpoint.secret, header, tampered, now=signed_at)

    wrong = webhooks.new_secret()
    assert not webhooks.verify(wrong, header, got.body, now=signed_at)
    assert not readme_check(wrong, header, got.body, now=signed_at)

    for garbage in ("", "t=abc,v1=00", "v1=" + "0" * 64, f"t={signed_at}"):
        assert not webhooks.verify(endpoint.secret, garbage, got.body, now=signed_at)


# --- 3. retries, timeouts, backoff ---------------------------------------------------------------


def test_a_500_is_retried_with_backoff_and_the_second_attempt_succeeds(brand_a, receiver):
    endpoint = endpoint_for(brand_a["brand"], receiver)
    receiver.answer(500, 200)

    (delivery,) = webhooks.emit(brand_a["brand"].pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})

    # The immediate backend made the first attempt on emit.
    assert len(receiver.requests) == 1
    delivery.refresh_from_db()
    first = WebhookAttempt.objects.get(delivery=delivery)
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 1)
    assert (first.status_code, first.error) == (500, "HTTP 500")
    wait = (delivery.next_attempt_at - first.at).total_seconds()
    assert 27 <= wait <= 33, wait
    endpoint.refresh_from_db()
    assert endpoint.failing_since == first.at

    assert webhooks.retry_due_webhooks(now=delivery.next_attempt_at - timedelta(seconds=1)) == 0
    assert len(receiver.requests) == 1

    retry_at = delivery.next_attempt_at + timedelta(seconds=1)
    assert webhooks.retry_due_webhooks(now=retry_at) == 1

    assert len(receiver.requests) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 2)
    assert delivery.delivered_at == retry_at
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("at"))
    assert [a.status_code for a in attempts] == [500, 200]
    assert [a.error for a in attempts] == ["HTTP 500", ""]
    assert all(isinstance(a.duration_ms, int) and 0 <= a.duration_ms < 2000 for a in attempts)
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None and endpoint.active
    # Both attempts carried the same delivery id and the same body, each freshly signed.
    assert receiver.requests[0].body == receiver.requests[1].body
    assert {r.header("TrustPoll-Delivery") for r in receiver.requests} == {str(delivery.pk)}
    assert all(webhooks.verify(endpoint.secret, r.header("TrustPoll-Signature"), r.body) for r in receiver.requests)


def test_a_receiver_slower_than_the_timeout_is_an_attempt_that_timed_out(brand_a, receiver, settings):
    settings.WEBHOOK_TIMEOUT = 0.3
    endpoint_for(brand_a["brand"], receiver)
    receiver.answer(200, delay=1.5)

    started = time.monotonic()
    (delivery,) = webhooks.emit(brand_a["brand"].pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})
    elapsed = time.monotonic() - started

    assert elapsed < 1.2, elapsed  # the sender gave up after the timeout, not after the receiver's delay
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.status_code, attempt.error) == (None, "timed out")
    assert 250 <= attempt.duration_ms < 1200, attempt.duration_ms
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 1)
    assert len(receiver.requests) == 1


@pytest.mark.nodb
def test_backoff_doubles_from_30_seconds_to_an_hour_with_ten_percent_jitter():
    expected = [30, 60, 120, 240, 480, 960, 1920, 3600]
    for attempts, base in enumerate(expected, start=1):
        waits = [webhooks.backoff_seconds(attempts) for _ in range(200)]
        assert all(0.9 * base <= w <= 1.1 * base for w in waits), (attempts, min(waits), max(waits))
        assert max(waits) - min(waits) > 0.05 * base  # there is jitter
    assert all(webhooks.backoff_seconds(n) <= 3960 for n in (9, 20, 64))


# --- 4. a day of failures switches the endpoint off ----------------------------------------------------


def test_a_day_of_failures_disables_the_endpoint_tells_the_owners_and_stops_new_deliveries(brand_a, receiver, django_capture_on_commit_callbacks):
    brand = brand_a["brand"]
    endpoint = endpoint_for(brand, receiver)
    receiver.always(500)
    (delivery,) = webhooks.emit(brand.pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})
    endpoint.refresh_from_db()
    first_failure = endpoint.failing_since
    assert first_failure is not None and endpoint.active
    assert mail.outbox == []

    a_day_later = delivery.created_at + timedelta(days=1, minutes=1)
    with django_capture_on_commit_callbacks(execute=True) as after_commit:  # the email and cache drop wait for the commit
        assert webhooks.retry_due_webhooks(now=a_day_later) == 1
    assert len(after_commit) == 1

    assert len(receiver.requests) == 2
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.FAILED, 2)
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert endpoint.disabled_reason == "Every delivery failed for a day (last: HTTP 500)."
    event = AuditEvent.objects.get(brand=brand, action=AuditEvent.Action.WEBHOOK_DISABLED)
    assert event.subject == receiver.url
    assert event.detail == {"reason": endpoint.disabled_reason}
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["owner@a.example"]
    assert "Brand A" in message.subject
    assert receiver.url in message.body and endpoint.disabled_reason in message.body

    # The cached subscription list was forgotten: emit creates nothing for the switched-off endpoint.
    assert webhooks.emit(brand.pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 2}) == []
    submit(brand_a["link"], {"trust_a": 5})
    assert WebhookDelivery.objects.count() == 1
    assert len(receiver.requests) == 2
    assert webhooks.retry_due_webhooks(now=a_day_later + timedelta(hours=2)) == 0


def test_failures_for_less_than_a_day_keep_the_endpoint_on(brand_a, receiver):
    endpoint = endpoint_for(brand_a["brand"], receiver)
    receiver.always(503)
    (delivery,) = webhooks.emit(brand_a["brand"].pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})

    assert webhooks.retry_due_webhooks(now=delivery.created_at + timedelta(hours=23)) == 1

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 2)
    assert endpoint.active and endpoint.disabled_reason == ""
    assert mail.outbox == []


# --- 5. the respondent never waits for the receiver ---------------------------------------------------


def public_submit(http: HttpClient, link, answers: dict) -> tuple[object, float]:
    """Submit through the public JSON API; return the answer and how long the POST took."""
    definition = http.get(f"/api/v1/public/links/{link.token}/")
    assert definition.status_code == 200, definition.content
    body = json.dumps({"form_token": definition.json()["form_token"], "answers": answers})
    started = time.monotonic()
    answer = http.post(f"/api/v1/public/links/{link.token}/responses/", data=body, content_type="application/json",
                       REMOTE_ADDR=RESPONDENT_ADDRESS, HTTP_USER_AGENT=RESPONDENT_AGENT)
    return answer, time.monotonic() - started


@pytest.mark.django_db(transaction=True)  # the worker reads what the request committed
def test_submission_is_fast_with_a_slow_receiver_and_the_worker_delivers_it(two_brands, receiver, settings):
    from django_tasks_db.models import DBTaskResult

    settings.WEBHOOK_TASK_BACKEND = "database"
    a, b = two_brands["a"], two_brands["b"]
    go_live(a["link"])
    go_live(b["link"])
    endpoint = endpoint_for(a["brand"], receiver)
    receiver.always(200, delay=1.5)
    http = HttpClient(enforce_csrf_checks=True)

    without_endpoint, plain_seconds = public_submit(http, b["link"], {"trust_b": 4})
    with_endpoint, hooked_seconds = public_submit(http, a["link"], {"trust_a": 6})

    assert (without_endpoint.status_code, with_endpoint.status_code) == (201, 201)
    assert plain_seconds < 0.5, plain_seconds
    assert hooked_seconds < 0.5, f"submitting took {hooked_seconds:.2f} s: it waited for the receiver"
    assert receiver.requests == [] and receiver.connections == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 0)
    assert DBTaskResult.objects.get().status == "READY"

    call_command("db_worker", "--backend", "database", "--batch", "--no-startup-delay", "--no-reload")

    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert webhooks.verify(endpoint.secret, got.header("TrustPoll-Signature"), got.body)
    payload = json.loads(got.body)
    response = Response.objects.get(survey=a["survey"])
    assert (payload["event"], payload["data"]["response"], payload["data"]["answers"]) == (
        "response.submitted", response.pk, {"trust_a": 6})
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 1)
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 200 and attempt.duration_ms >= 1400
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


# --- 6. analysis.finished and export.ready ---------------------------------------------------------------


def test_a_finished_analysis_run_is_announced_with_its_status_url(receiver, settings):
    from surveys.demo import seed_demo

    summary = seed_demo(responses=150, seed=5)
    endpoint = endpoint_for(summary.brand, receiver, [WebhookEvent.ANALYSIS_FINISHED])

    run = request_analysis(summary.survey)

    assert run.status == AnalysisRun.Status.SUCCEEDED, run.error
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got.header("TrustPoll-Event") == "analysis.finished"
    assert webhooks.verify(endpoint.secret, got.header("TrustPoll-Signature"), got.body)
    data = json.loads(got.body)["data"]
    assert data["analysis"] == run.pk and data["survey"] == summary.survey.pk
    assert (data["status"], data["error"]) == ("succeeded", "")
    assert data["warnings"] == len(run.warnings)
    assert data["status_url"] == settings.PUBLIC_BASE_URL + reverse("surveys:analysis-detail", args=[run.pk])
    assert data["status_url"].endswith(f"/api/v1/analyses/{run.pk}/")
    assert WebhookDelivery.objects.get().status == WebhookDelivery.Status.DELIVERED


def test_a_failed_analysis_run_is_announced_too(brand_a, receiver):
    endpoint_for(brand_a["brand"], receiver, [WebhookEvent.ANALYSIS_FINISHED])

    run = request_analysis(brand_a["survey"])  # no responses: the run fails

    assert run.status == AnalysisRun.Status.FAILED
    data = json.loads(receiver.requests[0].body)["data"]
    assert (data["analysis"], data["status"]) == (run.pk, "failed")
    assert "No responses match the filters." in data["error"]


def test_a_ready_export_is_announced_with_its_download_url(brand_a, receiver, settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    endpoint = endpoint_for(brand_a["brand"], receiver, [WebhookEvent.EXPORT_READY])
    submit(brand_a["link"], {"trust_a": 6})  # not subscribed: nothing sent
    assert receiver.requests == []

    export = files.request_export(brand_a["survey"], format="csv")

    assert export.status == Export.Status.READY, export.error
    assert len(receiver.requests) == 1
    got = receiver.requests[0]
    assert got.header("TrustPoll-Event") == "export.ready"
    assert webhooks.verify(endpoint.secret, got.header("TrustPoll-Signature"), got.body)
    data = json.loads(got.body)["data"]
    assert (data["export"], data["survey"], data["format"], data["rows"]) == (export.pk, brand_a["survey"].pk, "csv", 1)
    assert data["size"] == export.size > 0
    assert data["download_url"] == f"{settings.PUBLIC_BASE_URL}/exports/{export.pk}/download/"
    expires = export.expires_at
    assert parse_datetime(data["expires_at"]) == expires.replace(microsecond=expires.microsecond // 1000 * 1000)


# --- 7. what is not sent ------------------------------------------------------------------------------


def test_test_responses_emit_nothing(brand_a, receiver):
    endpoint_for(brand_a["brand"], receiver, list(WebhookEvent.values))

    result = submit(brand_a["link"], {"trust_a": 6}, preview=True)

    assert result.created and result.response.is_test
    assert WebhookDelivery.objects.count() == 0
    assert receiver.requests == [] and receiver.connections == 0


def test_an_endpoint_subscribed_only_to_exports_hears_nothing_of_responses(brand_a, receiver):
    endpoint_for(brand_a["brand"], receiver, [WebhookEvent.EXPORT_READY])
    other = webhooks.create_endpoint(brand=brand_a["brand"], url=receiver.url + "/all", events=list(WebhookEvent.values))

    submit(brand_a["link"], {"trust_a": 6})

    assert list(WebhookDelivery.objects.values_list("endpoint_id", "event")) == [(other.pk, "response.submitted")]
    assert [r.path for r in receiver.requests] == ["/hooks/trustpoll/all"]


# --- 8. the API ----------------------------------------------------------------------------------


def test_the_api_answers_the_secret_once_and_rotation_changes_what_signs(brand_a, receiver):
    api = token_client(brand_a["owner"])

    created = api.post("/api/v1/webhooks/", {"brand": brand_a["brand"].pk, "url": receiver.url,
                                             "events": ["response.submitted"], "description": "CRM"}, format="json")

    assert created.status_code == 201, created.content
    body = created.json()
    endpoint = WebhookEndpoint.objects.get()
    assert body["secret"] == endpoint.secret and body["secret"].startswith("whsec_")
    assert (body["id"], body["url"], body["events"], body["active"]) == (endpoint.pk, receiver.url, ["response.submitted"], True)
    listed = api.get("/api/v1/webhooks/")
    detail = api.get(f"/api/v1/webhooks/{endpoint.pk}/")
    assert listed.status_code == detail.status_code == 200
    assert [e["id"] for e in _results(listed.json())] == [endpoint.pk]
    assert detail.json()["url"] == receiver.url
    for page in (listed, detail):
        assert "secret" not in page.content.decode() and endpoint.secret not in page.content.decode()

    old_secret = endpoint.secret
    rotated = api.post(f"/api/v1/webhooks/{endpoint.pk}/rotate_secret/")
    assert rotated.status_code == 200
    new_secret = rotated.json()["secret"]
    assert new_secret != old_secret and rotated.json() == {"id": endpoint.pk, "secret": new_secret}
    assert WebhookEndpoint.objects.get().secret == new_secret

    submit(brand_a["link"], {"trust_a": 6})

    got = receiver.requests[0]
    header = got.header("TrustPoll-Signature")
    assert webhooks.verify(new_secret, header, got.body) and readme_check(new_secret, header, got.body, now=time.time())
    assert not webhooks.verify(old_secret, header, got.body)
    assert not readme_check(old_secret, header, got.body, now=time.time())


def test_the_api_lists_deliveries_with_each_attempts_status_and_duration(brand_a, receiver):
    endpoint = endpoint_for(brand_a["brand"], receiver)
    receiver.answer(500, 200)
    (delivery,) = webhooks.emit(brand_a["brand"].pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})
    delivery.refresh_from_db()
    webhooks.retry_due_webhooks(now=delivery.next_attempt_at + timedelta(seconds=1))

    answer = token_client(brand_a["editor"]).get(f"/api/v1/webhooks/{endpoint.pk}/deliveries/")

    assert answer.status_code == 200
    (listed,) = answer.json()
    assert (listed["id"], listed["event"], listed["status"], listed["attempts"]) == (
        str(delivery.pk), "response.submitted", "delivered", 2)
    assert listed["payload"]["data"] == {"response": 1}
    log = listed["attempt_log"]
    assert [(a["status_code"], a["error"]) for a in log] == [(500, "HTTP 500"), (200, "")]
    stored = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("at").values_list("duration_ms", flat=True))
    assert [a["duration_ms"] for a in log] == stored
    assert all(isinstance(a["duration_ms"], int) for a in log)


@pytest.mark.parametrize("url", ["ftp://files.example/hooks", "file:///etc/passwd", "javascript:alert(1)", "gopher://x.example/"])
def test_the_api_refuses_a_url_that_is_not_http_naming_url(brand_a, url):
    api = token_client(brand_a["owner"])

    answer = api.post("/api/v1/webhooks/", {"brand": brand_a["brand"].pk, "url": url}, format="json")

    assert answer.status_code == 400, answer.content
    assert list(answer.json()["errors"]) == ["url"], (
        f"BUG: the error must be keyed 'url', got {answer.json()['errors']}: WebhookEndpointSerializer.validate_url "
        "re-raises clean_url's {'url': [...]} dict inside the url field, which nests it as 'url.url'")
    assert WebhookEndpoint.objects.count() == 0


def test_the_api_refuses_an_unknown_event_naming_events(brand_a, receiver):
    api = token_client(brand_a["owner"])

    answer = api.post("/api/v1/webhooks/", {"brand": brand_a["brand"].pk, "url": receiver.url,
                                            "events": ["response.submitted", "response.deleted"]}, format="json")

    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert errors == {"events.1": ['"response.deleted" is not a valid choice.']}, errors
    assert "response.deleted" in json.dumps(errors)
    assert WebhookEndpoint.objects.count() == 0


def test_an_analyst_cannot_manage_endpoints_and_another_brands_endpoint_is_a_404(two_brands, receiver):
    analyst = UserFactory()
    MembershipFactory(user=analyst, brand=two_brands["a"]["brand"], role=Role.ANALYST)
    analyst_api = token_client(analyst)

    refused = analyst_api.post("/api/v1/webhooks/", {"brand": two_brands["a"]["brand"].pk, "url": receiver.url}, format="json")

    # The house rule for every brand-owned resource (see test_api.py, creators): a brand the user may not
    # edit is an invalid choice of the brand field, a 400 naming brand, before any 403 could be reached.
    assert refused.status_code == 400, refused.content
    assert list(refused.json()["errors"]) == ["brand"]
    assert WebhookEndpoint.objects.count() == 0
    mine = endpoint_for(two_brands["a"]["brand"], receiver)
    assert analyst_api.get(f"/api/v1/webhooks/{mine.pk}/").status_code == 200  # analysts read
    assert analyst_api.post(f"/api/v1/webhooks/{mine.pk}/rotate_secret/").status_code == 403
    assert analyst_api.patch(f"/api/v1/webhooks/{mine.pk}/", {"active": False}, format="json").status_code == 403
    assert analyst_api.delete(f"/api/v1/webhooks/{mine.pk}/").status_code == 403
    mine_now = WebhookEndpoint.objects.get(pk=mine.pk)
    assert (mine_now.secret, mine_now.active) == (mine.secret, True)

    theirs = endpoint_for(two_brands["b"]["brand"], receiver)
    api_a = token_client(two_brands["a"]["owner"])
    for method, path in (("get", ""), ("get", "deliveries/"), ("post", "rotate_secret/"), ("patch", ""), ("delete", "")):
        answer = getattr(api_a, method)(f"/api/v1/webhooks/{theirs.pk}/{path}", {}, format="json")
        assert answer.status_code == 404, (method, path, answer.status_code)
    assert WebhookEndpoint.objects.get(pk=theirs.pk).secret == theirs.secret
    assert theirs.pk not in [e["id"] for e in _results(api_a.get("/api/v1/webhooks/").json())]


def _results(page):
    return page["results"] if isinstance(page, dict) else page


# --- 9. the admin ---------------------------------------------------------------------------------


def test_an_owner_adding_an_endpoint_in_the_admin_sees_the_secret_once(brand_a, receiver, client):
    client.force_login(brand_a["owner"])

    added = client.post("/admin/surveys/webhookendpoint/add/", {
        "brand": brand_a["brand"].pk, "url": receiver.url, "events": ["response.submitted", "export.ready"],
        "description": "CRM", "active": "on",
    }, follow=True)

    assert added.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert (endpoint.brand_id, endpoint.url, endpoint.events) == (brand_a["brand"].pk, receiver.url,
                                                                  ["response.submitted", "export.ready"])
    shown = [str(m) for m in added.context["messages"]]
    assert any(endpoint.secret in m for m in shown), shown
    assert endpoint.secret in added.content.decode()
    change = client.get(f"/admin/surveys/webhookendpoint/{endpoint.pk}/change/")
    assert change.status_code == 200
    assert endpoint.secret not in change.content.decode() and endpoint.secret[:10] in change.content.decode()
    assert endpoint.secret not in client.get("/admin/surveys/webhookendpoint/").content.decode()

    submit(brand_a["link"], {"trust_a": 6})  # the admin's endpoint is live at once
    assert webhooks.verify(endpoint.secret, receiver.requests[0].header("TrustPoll-Signature"), receiver.requests[0].body)


def two_failed_attempts(brand_a, receiver) -> WebhookDelivery:
    """A delivery with two 500s, then marked failed as if its day had run out (its endpoint still on)."""
    endpoint_for(brand_a["brand"], receiver)
    receiver.answer(500, 500)
    (delivery,) = webhooks.emit(brand_a["brand"].pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})
    webhooks.retry_due_webhooks(now=delivery.created_at + timedelta(hours=23))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.FAILED)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.FAILED, 2)
    return delivery


def test_an_owner_sees_the_attempts_inline_on_the_delivery_page(brand_a, receiver, client):
    delivery = two_failed_attempts(brand_a, receiver)
    client.force_login(brand_a["owner"])

    page = client.get(f"/admin/surveys/webhookdelivery/{delivery.pk}/change/")

    assert page.status_code == 200
    html = page.content.decode()
    assert html.count("HTTP 500") == 2, (
        "BUG: the owner's delivery page must list both attempts inline (status code, error, duration), but "
        "WebhookAttemptInline keeps Django's model-permission check, so only superusers see it "
        "(fix: has_view_permission -> True, as QuestionWordingInline does)")


def test_retry_now_in_the_admin_sends_a_failed_delivery_again(brand_a, receiver, client):
    delivery = two_failed_attempts(brand_a, receiver)
    client.force_login(brand_a["owner"])

    acted = client.post("/admin/surveys/webhookdelivery/", {"action": "retry_now", "_selected_action": [str(delivery.pk)]},
                        follow=True)

    assert acted.status_code == 200
    assert "Queued 1 delivery again." in [str(m) for m in acted.context["messages"]]
    delivery.refresh_from_db()
    # The unit-test task backend runs the re-queued task at once.
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.DELIVERED, 3)
    assert len(receiver.requests) == 3
    assert list(WebhookAttempt.objects.filter(delivery=delivery).order_by("id").values_list("status_code", flat=True)) == [500, 500, 200]


def test_the_superuser_delivery_page_lists_the_attempts_inline(brand_a, receiver, client, django_user_model):
    endpoint_for(brand_a["brand"], receiver)
    receiver.answer(500)
    (delivery,) = webhooks.emit(brand_a["brand"].pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})
    client.force_login(django_user_model.objects.create_superuser("root", "root@example.com", "pass-word-123"))

    html = client.get(f"/admin/surveys/webhookdelivery/{delivery.pk}/change/").content.decode()

    assert "HTTP 500" in html
    assert str(WebhookAttempt.objects.get().duration_ms) in html


# --- 10. private addresses -------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
def test_a_private_address_is_refused_without_a_request(brand_a, receiver, settings, host):
    endpoint = endpoint_for(brand_a["brand"], receiver)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url.replace("127.0.0.1", host))
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    (delivery,) = webhooks.emit(brand_a["brand"].pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})

    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None
    assert "private" in attempt.error
    assert attempt.duration_ms == 0
    time.sleep(0.1)  # a connection, had one been opened, would have been accepted by now
    assert receiver.connections == 0 and receiver.requests == []
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 1)


def test_with_private_addresses_refused_an_http_url_cannot_be_registered(brand_a, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES = False

    with pytest.raises(ValidationError) as refused:
        webhooks.create_endpoint(brand=brand_a["brand"], url="http://crm.example/hooks")

    assert "url" in refused.value.message_dict



# --- defects found while writing these tests (each fails until fixed; see the messages) -------------


@pytest.mark.django_db(transaction=True)  # a real worker and a concurrent request, each on its own connection
def test_a_submission_while_the_worker_waits_for_a_slow_receiver_is_still_fast(two_brands, receiver, settings):
    from django.db import connections

    settings.WEBHOOK_TASK_BACKEND = "database"
    a = two_brands["a"]
    go_live(a["link"])
    endpoint_for(a["brand"], receiver)
    receiver.always(200, delay=1.0)
    public_submit(HttpClient(), a["link"], {"trust_a": 6})  # queues one delivery
    outcome: dict[str, object] = {}

    def respondent_arrives_during_the_post() -> None:
        try:
            deadline = time.monotonic() + 5
            while not receiver.requests and time.monotonic() < deadline:
                time.sleep(0.01)
            try:
                answer, seconds = public_submit(HttpClient(), a["link"], {"trust_a": 5})
                outcome.update(status=answer.status_code, seconds=seconds)
            except Exception as exc:  # noqa: BLE001 - reported by the assertion below
                outcome.update(status=repr(exc), seconds=None)
        finally:
            connections.close_all()

    respondent_thread = threading.Thread(target=respondent_arrives_during_the_post)
    respondent_thread.start()
    call_command("db_worker", "--backend", "database", "--batch", "--no-startup-delay", "--no-reload")
    respondent_thread.join(timeout=10)

    assert outcome.get("status") == 201 and outcome["seconds"] < 0.5, (
        f"BUG: a respondent who submits while the worker is POSTing to a slow receiver got {outcome}. "
        "deliver() makes the HTTP request inside transaction.atomic() (select_for_update), so on SQLite "
        "(transaction_mode IMMEDIATE, the default `make run` database) the worker holds the write lock for "
        "the whole POST: with a file database the submission waits for the receiver (up to WEBHOOK_TIMEOUT), "
        "with the test's shared in-memory database it fails with 'database table is locked'. "
        "Fix: claim the delivery in one short transaction, POST outside any transaction, record the outcome "
        "in a second short transaction.")
    # The worker then delivered both responses, each once.
    delivered = sorted(json.loads(r.body)["data"]["response"] for r in receiver.requests)
    assert delivered == sorted(Response.objects.values_list("pk", flat=True))
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {WebhookDelivery.Status.DELIVERED}


def test_an_extra_task_for_a_delivery_that_is_not_due_makes_no_attempt(brand_a, receiver):
    """The retry sweep, a deferred task and "Retry now" can each hold a task for the same delivery."""
    endpoint_for(brand_a["brand"], receiver)
    receiver.always(500)
    (delivery,) = webhooks.emit(brand_a["brand"].pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})
    delivery.refresh_from_db()
    due = delivery.next_attempt_at  # with the database backend a task is deferred to this moment
    # The backstop sweep gets there first and makes the second attempt; the next one is a minute away.
    assert webhooks.retry_due_webhooks(now=due + timedelta(seconds=1)) == 1
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - (due + timedelta(seconds=1)) >= timedelta(seconds=54)

    # The deferred task then runs (a second later) and calls the same service.
    webhooks.deliver(delivery.pk, now=due + timedelta(seconds=2))

    assert len(receiver.requests) == 2, (
        f"BUG: {len(receiver.requests)} POSTs: deliver() attempts any pending delivery, due or not, so a "
        "deferred task that overlaps the retry sweep (or a 'Retry now' of a pending delivery, which queues a "
        "second task next to the deferred one) makes an extra attempt and queues yet another task; the chains "
        "multiply. Fix: skip deliveries that are not due (next_attempt_at > now), or better pass the attempt "
        "number in the task and skip when delivery.attempts has moved on.")


def test_a_receiver_that_does_not_speak_http_is_a_failed_attempt_that_is_retried(brand_a, receiver):
    endpoint_for(brand_a["brand"], receiver)
    receiver.answer(b"SSH-2.0-OpenSSH_9.6\r\n")  # e.g. the URL names the wrong port

    (delivery,) = webhooks.emit(brand_a["brand"].pk, WebhookEvent.RESPONSE_SUBMITTED, {"response": 1})

    assert len(receiver.requests) == 1
    attempts = list(WebhookAttempt.objects.filter(delivery=delivery).values_list("status_code", "error"))
    assert len(attempts) == 1, (
        "BUG: a receiver that answers something other than HTTP left no attempt: post() catches URLError, "
        "OSError and ValueError but not http.client.HTTPException (BadStatusLine, IncompleteRead, "
        "LineTooLong...), which urllib lets through from getresponse()/read(). The task dies, no retry is "
        "queued, and the delivery stays pending with attempts=0 (and, with the claim/lease, a next_attempt_at "
        "in the future), so it is never tried again by the task chain. Fix: add http.client.HTTPException "
        "to the except tuple in post(), e.g. `except (urllib.error.URLError, OSError, ValueError, "
        "http.client.HTTPException) as exc:` (error text e.g. f'{exc.__class__.__name__}: {exc}').")
    ((status_code, error),) = attempts
    assert status_code is None and ("BadStatusLine" in error or "SSH-2.0" in error), error
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (WebhookDelivery.Status.PENDING, 1)
    assert webhooks.retry_due_webhooks(now=delivery.next_attempt_at + timedelta(seconds=1)) == 1
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
