"""Signed webhooks: endpoints, events, deliveries by the task worker with retries, and the signature.

A delivery is a row written in the same transaction as the event it reports
(a response, a finished run, a ready export) and a task queued beside it. The
worker POSTs it; the respondent's request never waits for a receiver. A
failure is retried with exponential backoff (30 s doubling to an hour, with
jitter) until it succeeds or is a day old; an endpoint that has failed for a
day is switched off and its brand's owners are told by email.

Signature (header ``TrustPoll-Signature: t=<unix time>,v1=<hex>``)::

    v1 = HMAC-SHA256(secret, f"{t}.{raw body}")
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from surveys.models import (
    AuditEvent,
    Brand,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    _now,
)

logger = logging.getLogger("trustpoll.webhooks")

SIGNATURE_HEADER = "TrustPoll-Signature"
TOLERANCE_SECONDS = 300
GIVE_UP_AFTER = timedelta(days=1)
FIRST_RETRY_SECONDS = 30
LONGEST_RETRY_SECONDS = 3600
_CACHE_KEY = "webhooks:brand:{}"


# --- the signature ------------------------------------------------------------------------------


def sign(secret: str, body: bytes, *, timestamp: int | None = None) -> str:
    """Return the signature header value for ``body`` at ``timestamp`` (now by default)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = TOLERANCE_SECONDS, now: float | None = None) -> bool:
    """Return whether ``header`` signs ``body`` with ``secret`` and is at most ``tolerance`` seconds old.

    The same check a receiver makes (see the README): the timestamp is part of
    the signed text, so an old delivery replayed later fails.
    """
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
    except (ValueError, KeyError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts.get("v1", ""))


# --- endpoints ----------------------------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def clean_events(events: Any) -> list[str]:
    """Return the known events of ``events``, or raise ValidationError naming the unknown ones."""
    if not isinstance(events, list) or not events:
        raise ValidationError({"events": f"List one or more of {', '.join(WebhookEvent.values)}."})
    unknown = [e for e in events if e not in WebhookEvent.values]
    if unknown:
        raise ValidationError({"events": f"Unknown event(s) {', '.join(map(str, unknown))}: choose from {', '.join(WebhookEvent.values)}."})
    return [e for e in WebhookEvent.values if e in events]


def clean_url(url: str) -> str:
    """Return ``url`` if it is an http(s) URL a delivery may go to, else raise ValidationError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError({"url": "Give an http:// or https:// URL."})
    if not settings.DEBUG and parts.scheme != "https" and not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES:
        raise ValidationError({"url": "Use https:// so deliveries cannot be read on the way."})
    return url


def create_endpoint(*, brand: Brand, url: str, events: Any = None, description: str = "") -> WebhookEndpoint:
    """Register an endpoint for ``brand`` with a fresh secret (shown to the user once)."""
    endpoint = WebhookEndpoint(brand=brand, url=clean_url(url), events=clean_events(events or list(WebhookEvent.values)),
                               description=description, secret=new_secret())
    endpoint.full_clean()
    endpoint.save()
    forget_endpoints(brand.pk)
    return endpoint


def rotate_secret(endpoint: WebhookEndpoint) -> str:
    """Give ``endpoint`` a new secret and return it; deliveries are signed with it from now on."""
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret"])
    return endpoint.secret


def forget_endpoints(brand_id: int) -> None:
    """Drop the cached endpoint list of a brand after a change."""
    try:
        cache.delete(_CACHE_KEY.format(brand_id))
    except Exception:  # noqa: BLE001 - a cache outage must not block a change; entries expire anyway
        logger.warning("could not clear the webhook endpoint cache of brand %s", brand_id)


def _subscriptions(brand_id: int) -> list[tuple[int, list[str]]]:
    """Return [(endpoint id, events)] of the brand's active endpoints, from the shared cache when possible."""
    key = _CACHE_KEY.format(brand_id)
    try:
        cached = cache.get(key)
    except Exception:  # noqa: BLE001 - cache down: ask the database
        cached = None
    if cached is not None:
        return cached
    found = [(pk, list(events)) for pk, events in
             WebhookEndpoint.objects.filter(brand_id=brand_id, active=True).values_list("pk", "events")]
    try:
        cache.set(key, found, 300)
    except Exception:  # noqa: BLE001
        pass
    return found


# --- events -------------------------------------------------------------------------------------


def emit(brand_id: int, event: str, data: dict[str, Any]) -> list[WebhookDelivery]:
    """Queue ``event`` for every active endpoint of the brand that wants it; return the deliveries.

    Call inside the transaction that stores what the event reports: the
    deliveries and their tasks commit with it, or not at all.
    """
    endpoint_ids = [pk for pk, events in _subscriptions(brand_id) if event in events]
    if not endpoint_ids:
        return []
    deliveries = [_new_delivery(endpoint_id, event, data) for endpoint_id in endpoint_ids]
    WebhookDelivery.objects.bulk_create(deliveries)
    for delivery in deliveries:
        # With the database task backend the task row commits with the delivery row: neither exists alone.
        _enqueue(delivery.pk)
    return deliveries


def _new_delivery(endpoint_id: int, event: str, data: dict[str, Any], *, test: bool = False) -> WebhookDelivery:
    """Return an unsaved delivery whose payload is ``{"id", "event", "created", "data"}`` (and ``"test": true``)."""
    created = _now()
    delivery = WebhookDelivery(endpoint_id=endpoint_id, event=event, created_at=created, next_attempt_at=created)
    body = {"id": str(delivery.id), "event": event, "created": created.isoformat(), **({"test": True} if test else {}),
            "data": data}
    delivery.payload = json.loads(json.dumps(body, cls=DjangoJSONEncoder))
    return delivery


def _enqueue(delivery_id: Any, run_after: datetime | None = None) -> None:
    from surveys.tasks import deliver_webhook_task

    task = deliver_webhook_task.using(backend=settings.WEBHOOK_TASK_BACKEND)
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return  # picked up by retry_due_webhooks()
        task = task.using(run_after=run_after)
    task.enqueue(str(delivery_id))


def send_test(endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Queue a sample response.submitted delivery to ``endpoint`` (marked ``"test": true``)."""
    delivery = _new_delivery(endpoint.pk, WebhookEvent.RESPONSE_SUBMITTED,
                             {"response": 0, "survey": 0, "creator_handle": "sample", "answers": {"trust_1": 6}}, test=True)
    with transaction.atomic():
        delivery.save(force_insert=True)
        _enqueue(delivery.pk)
    return delivery


def retry(deliveries: Any) -> int:
    """Queue failed or pending ``deliveries`` again, now; return how many."""
    ids = list(deliveries.exclude(status=WebhookDelivery.Status.DELIVERED).values_list("pk", flat=True))
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk__in=ids).update(status=WebhookDelivery.Status.PENDING, next_attempt_at=_now(),
                                                           created_at=_now())
        for pk in ids:
            _enqueue(pk)
    return len(ids)


def absolute_url(name: str, pk: Any) -> str:
    """Return the public address of a named URL with ``pk``."""
    from django.urls import reverse

    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse(name, args=[pk])


def response_data(response: Any) -> dict[str, Any]:
    """Return what a response.submitted event says: the response without anything identifying the respondent."""
    return {
        "response": response.pk, "survey": response.survey_id, "creator": response.creator_id,
        "creator_handle": response.creator.handle, "link": response.link_id, "source": response.source,
        "creator_tier": response.creator_tier, "submitted_at": response.submitted_at,
        "answers": response.answers, "not_asked": response.not_asked, "utm": response.utm,
        "flags": {name: getattr(response, f"flag_{name}") for name in
                  ("honeypot", "speeder", "straightliner", "attention", "duplicate")},
    }


# --- delivery -----------------------------------------------------------------------------------


def _private(host: str) -> bool:
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError:
        return False  # unresolvable: the attempt fails on its own
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if address.is_private or address.is_loopback or address.is_link_local or address.is_reserved or address.is_multicast:
            return True
    return False


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a 3xx is an answer like any other: not followed, counted as a failure


_opener = urllib.request.build_opener(_NoRedirects)


def post(endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> tuple[int | None, str, int]:
    """POST one delivery; return (status code or None, error text, milliseconds)."""
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "TrustPoll-Webhooks/1",
        SIGNATURE_HEADER: sign(endpoint.secret, body),
        "TrustPoll-Event": delivery.event,
        "TrustPoll-Delivery": str(delivery.pk),
    }
    started = time.monotonic()
    host = urlsplit(endpoint.url).hostname or ""
    if not settings.WEBHOOK_ALLOW_PRIVATE_ADDRESSES and _private(host):
        return None, "refused: the URL points to a private or loopback address", 0
    try:
        with _opener.open(urllib.request.Request(endpoint.url, data=body, headers=headers, method="POST"),
                          timeout=settings.WEBHOOK_TIMEOUT) as reply:
            reply.read(65536)
            status, error = reply.status, ""
    except urllib.error.HTTPError as exc:
        status, error = exc.code, f"HTTP {exc.code}"
    except http.client.HTTPException as exc:  # not HTTP, or a broken answer: urllib does not wrap these
        status, error = None, f"{exc.__class__.__name__}: {exc}".strip()[:300]
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        status, error = None, ("timed out" if isinstance(reason, TimeoutError | socket.timeout) else str(reason))[:300]
    return status, error, round((time.monotonic() - started) * 1000)


def backoff_seconds(attempts: int) -> float:
    """Return the wait before the next try after ``attempts`` failures: 30 s doubling, at most an hour, ±10 %."""
    base = min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1))
    return base * random.uniform(0.9, 1.1)


def deliver(delivery_id: Any, *, now: datetime | None = None) -> str:
    """Make one attempt of a pending, due delivery; schedule the next one on failure; return the status.

    No transaction is held while the receiver is called (a slow receiver must
    not hold locks that submissions wait for). Instead the attempt is claimed by
    one conditional UPDATE that moves ``next_attempt_at`` past the attempt's
    time-out, so two workers never post the same delivery at once.
    """
    now = now or _now()
    lease = now + timedelta(seconds=settings.WEBHOOK_TIMEOUT + 30)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now + timedelta(seconds=5),
    ).update(next_attempt_at=lease)
    delivery = WebhookDelivery.objects.select_related("endpoint__brand").filter(pk=delivery_id).first()
    if delivery is None:
        return "missing"
    if not claimed:
        return delivery.status  # delivered, failed, not yet due, or another worker has it
    endpoint = delivery.endpoint
    if not endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.FAILED)
        return WebhookDelivery.Status.FAILED
    status, error, ms = post(endpoint, delivery)
    with transaction.atomic():
        WebhookAttempt.objects.create(delivery=delivery, at=now, status_code=status, error=error, duration_ms=ms)
        delivery.attempts += 1
        if status is not None and 200 <= status < 300:
            delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, now
            delivery.save(update_fields=["status", "attempts", "delivered_at"])
            WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=False).update(failing_since=None)
            return delivery.status
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since__isnull=True).update(failing_since=now)
        failing_since = endpoint.failing_since or now
        if now - delivery.created_at >= GIVE_UP_AFTER:
            delivery.status = WebhookDelivery.Status.FAILED
        else:
            delivery.next_attempt_at = now + timedelta(seconds=backoff_seconds(delivery.attempts))
        delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
        if now - failing_since >= GIVE_UP_AFTER:
            disable_endpoint(endpoint, reason=f"Every delivery failed for a day (last: {error or status}).")
            delivery.status = WebhookDelivery.Status.FAILED
        elif delivery.status == WebhookDelivery.Status.PENDING:
            _enqueue(delivery.pk, run_after=delivery.next_attempt_at)
    return delivery.status


def disable_endpoint(endpoint: WebhookEndpoint, *, reason: str) -> None:
    """Switch an endpoint off, fail its pending deliveries and tell the brand's owners."""
    from surveys import team

    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason=reason[:300])
    WebhookDelivery.objects.filter(endpoint=endpoint, status=WebhookDelivery.Status.PENDING).update(
        status=WebhookDelivery.Status.FAILED)
    team.audit(endpoint.brand, None, AuditEvent.Action.WEBHOOK_DISABLED, endpoint.url, reason=reason)
    # After the commit: the cache must not be refilled with the still-active endpoint, and a mail
    # server error must not undo the switch-off.
    transaction.on_commit(lambda: _after_disable(endpoint, reason))


def _after_disable(endpoint: WebhookEndpoint, reason: str) -> None:
    from surveys import team

    forget_endpoints(endpoint.brand_id)
    recipients = team.owner_emails(endpoint.brand)
    if recipients:
        send_mail(
            subject=f"TrustPoll switched off a webhook of {endpoint.brand.name}",
            message=(f"The webhook endpoint {endpoint.url} has failed every delivery for a day, so TrustPoll has "
                     f"switched it off.\n\nReason: {reason}\n\nFix the receiver, then tick “active” on the endpoint "
                     "in the admin to switch it on again; new events are delivered from then on."),
            from_email=None,
            recipient_list=recipients,
            fail_silently=True,
        )
    logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)


def retry_due_webhooks(*, now: datetime | None = None, limit: int = 500) -> int:
    """Attempt every pending delivery that is due (a sweep beside the per-delivery tasks); return how many."""
    now = now or _now()
    due = list(WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    for pk in due:
        deliver(pk, now=now)
    return len(due)
