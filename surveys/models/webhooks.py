"""Webhook endpoints a brand registers, and every delivery and attempt made to them."""

from __future__ import annotations

import uuid

from django.db import models


def _now():  # noqa: ANN202 - the package's seam, imported lazily to avoid a cycle
    from surveys.models import _now as now

    return now()


class WebhookEvent(models.TextChoices):
    RESPONSE_SUBMITTED = "response.submitted", "Response submitted"
    ANALYSIS_FINISHED = "analysis.finished", "Analysis finished"
    EXPORT_READY = "export.ready", "Export ready"


def _all_events() -> list[str]:
    return list(WebhookEvent.values)


class WebhookEndpoint(models.Model):
    """A URL of the brand's that hears about events, signed with the endpoint's secret."""

    brand = models.ForeignKey("surveys.Brand", on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=500, help_text="Where TrustPoll POSTs the events (https in production).")
    events = models.JSONField(default=_all_events, help_text="Events to send.")
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=80, editable=False, help_text="Signs every delivery; shown once.")
    active = models.BooleanField(default=True)
    failing_since = models.DateTimeField(null=True, blank=True, editable=False,
                                         help_text="First failure since the last success.")
    disabled_reason = models.CharField(max_length=300, blank=True, editable=False)
    created_at = models.DateTimeField(default=_now, editable=False)

    class Meta:
        ordering = ["brand__name", "url"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """One event for one endpoint; retried until delivered or given up."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=WebhookEvent.choices)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    attempts = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=_now, editable=False)
    next_attempt_at = models.DateTimeField(default=_now, db_index=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event} → {self.endpoint}"


class WebhookAttempt(models.Model):
    """One HTTP attempt of a delivery: when, the status code or error, and how long it took."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    at = models.DateTimeField(default=_now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["at", "id"]

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
