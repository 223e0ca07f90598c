"""A brand's team: invitations by email, and the audit log of membership changes."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from surveys.choices import Role


def _now():  # noqa: ANN202 - the package's seam, imported lazily to avoid a cycle
    from surveys.models import _now as now

    return now()


class Invitation(models.Model):
    """An invitation to join a brand with a role; the emailed key is stored only as a hash."""

    brand = models.ForeignKey("surveys.Brand", on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    invited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=_now, editable=False)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True, editable=False)
    accepted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["brand", "email"], name="invitation_brand_email")]

    def __str__(self) -> str:
        return f"{self.email} as {self.get_role_display()} of {self.brand}"

    @property
    def state(self) -> str:
        if self.accepted_at:
            return "accepted"
        if self.revoked_at:
            return "revoked"
        if self.expires_at <= _now():
            return "expired"
        return "pending"


class AuditEvent(models.Model):
    """Who changed a brand's team, and how. Written by the team services, never edited."""

    class Action(models.TextChoices):
        INVITED = "invited", "Invited"
        INVITATION_REVOKED = "invitation_revoked", "Invitation revoked"
        JOINED = "joined", "Joined"
        ROLE_CHANGED = "role_changed", "Role changed"
        REMOVED = "removed", "Removed"
        WEBHOOK_DISABLED = "webhook_disabled", "Webhook disabled"
        ORDER_SECRET_ROTATED = "order_secret", "Order signing secret rotated"

    brand = models.ForeignKey("surveys.Brand", on_delete=models.CASCADE, related_name="audit_events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=20, choices=Action.choices)
    subject = models.CharField(max_length=254, help_text="The member or address concerned.")
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(default=_now, editable=False, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit event"

    def __str__(self) -> str:
        return f"{self.get_action_display()}: {self.subject}"
