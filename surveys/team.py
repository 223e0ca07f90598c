"""A brand's team: invitations by email, accepting them, roles, removal, and the audit log.

Every change to who belongs to a brand goes through here, so the rules hold
whichever door it came through (admin or API): only owners manage the team,
a brand always keeps at least one owner, and every change is audited.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse

from surveys import access
from surveys.choices import Role
from surveys.models import AuditEvent, Brand, Invitation, Membership, _now

INVITATION_DAYS = 7


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def audit(brand: Brand, actor: Any, action: str, subject: str, **detail: Any) -> AuditEvent:
    """Record a change to ``brand``'s team."""
    actor = actor if getattr(actor, "is_authenticated", False) else None
    return AuditEvent.objects.create(brand=brand, actor=actor, action=action, subject=subject, detail=detail)


def require_owner(user: Any, brand: Brand) -> None:
    """Raise PermissionDenied unless ``user`` owns ``brand`` (or is a superuser)."""
    if not access.has_role(user, brand.pk, frozenset({Role.OWNER})):
        raise PermissionDenied("Only the brand's owners manage its team.")


def invitation_url(key: str) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("surveys:accept_invitation", args=[key])


def invite_member(*, brand: Brand, email: str, role: str, invited_by: Any) -> tuple[Invitation, str]:
    """Invite ``email`` to ``brand`` with ``role``, email the one-time link; return the invitation and its key.

    A pending invitation to the same address is replaced (its link stops working).
    """
    require_owner(invited_by, brand)
    email = get_user_model().objects.normalize_email(email.strip())
    errors: dict[str, str] = {}
    if role not in Role.values:
        errors["role"] = f"Choose one of {', '.join(Role.values)}."
    try:
        from django.core.validators import validate_email

        validate_email(email)
    except ValidationError:
        errors["email"] = "Enter a valid email address."
    if not errors and Membership.objects.filter(brand=brand, user__email__iexact=email).exists():
        errors["email"] = f"{email} is already a member of {brand.name}."
    if errors:
        raise ValidationError(errors)
    key = secrets.token_urlsafe(32)
    now = _now()
    with transaction.atomic():
        Invitation.objects.filter(brand=brand, email__iexact=email, accepted_at=None, revoked_at=None).update(revoked_at=now)
        invitation = Invitation.objects.create(
            brand=brand, email=email, role=role, key_hash=_hash(key), invited_by=invited_by,
            expires_at=now + timedelta(days=INVITATION_DAYS),
        )
        audit(brand, invited_by, AuditEvent.Action.INVITED, email, role=role)
    context = {"invitation": invitation, "url": invitation_url(key), "days": INVITATION_DAYS,
               "inviter": invited_by.get_full_name() or invited_by.get_username()}
    send_mail(
        subject=f"You are invited to {brand.name} on TrustPoll",
        message=render_to_string("surveys/email/invitation.txt", context),
        from_email=None,
        recipient_list=[email],
    )
    return invitation, key


def revoke_invitation(invitation: Invitation, *, by: Any) -> None:
    """Make a pending invitation's link stop working."""
    require_owner(by, invitation.brand)
    if invitation.state == "pending":
        invitation.revoked_at = _now()
        invitation.save(update_fields=["revoked_at"])
        audit(invitation.brand, by, AuditEvent.Action.INVITATION_REVOKED, invitation.email)


def invitation_for_key(key: str) -> Invitation | None:
    """Return the invitation of ``key`` (whatever its state), or None."""
    if not key or len(key) > 100:
        return None
    return Invitation.objects.select_related("brand").filter(key_hash=_hash(key)).first()


def existing_user(invitation: Invitation) -> Any | None:
    """Return the account that already uses the invitation's address, if any."""
    return get_user_model().objects.filter(email__iexact=invitation.email).order_by("pk").first()


def accept_invitation(invitation: Invitation, *, password: str, username: str = "", user: Any = None) -> Any:
    """Join the invitation's brand: with ``user`` (an existing account) or as a new account; return the user.

    The link is single-use: a second acceptance, an expired or a revoked
    invitation raises ValidationError.
    """
    if invitation.state != "pending":
        raise ValidationError({"invitation": f"This invitation is {invitation.state}. Ask an owner of the brand for a new one."})
    User = get_user_model()
    with transaction.atomic():
        # Lock the invitation so two tabs accepting at once cannot both succeed.
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.state != "pending":
            raise ValidationError({"invitation": f"This invitation is {locked.state}."})
        if user is None:
            username = (username or invitation.email).strip()
            errors: dict[str, Any] = {}
            if User.objects.filter(username__iexact=username).exists():
                errors["username"] = "That username is taken: choose another."
            candidate = User(username=username, email=invitation.email)
            try:
                validate_password(password, candidate)
            except ValidationError as exc:
                errors["password"] = exc.messages
            if errors:
                raise ValidationError(errors)
            candidate.set_password(password)
            candidate.is_staff = True  # brand members work in the admin
            candidate.save()
            user = candidate
        elif not user.is_staff:
            user.is_staff = True
            user.save(update_fields=["is_staff"])
        try:
            Membership.objects.create(user=user, brand=invitation.brand, role=invitation.role)
        except IntegrityError:
            raise ValidationError({"invitation": "You are already a member of this brand."}) from None
        locked.accepted_at = _now()
        locked.accepted_by = user
        locked.save(update_fields=["accepted_at", "accepted_by"])
        audit(invitation.brand, user, AuditEvent.Action.JOINED, user.get_username(), role=invitation.role,
              invited_by=invitation.invited_by.get_username() if invitation.invited_by else None)
    return user


def _owners_after(membership: Membership, *, role: str | None) -> int:
    """Return how many owners the brand would have if ``membership`` took ``role`` (None: left)."""
    owners = (
        Membership.objects.select_for_update()
        .filter(brand_id=membership.brand_id, role=Role.OWNER)
        .exclude(pk=membership.pk)
        .count()
    )
    return owners + (1 if role == Role.OWNER else 0)


def change_role(membership: Membership, *, role: str, by: Any) -> Membership:
    """Give a member another role; the brand keeps at least one owner."""
    require_owner(by, membership.brand)
    if role not in Role.values:
        raise ValidationError({"role": f"Choose one of {', '.join(Role.values)}."})
    with transaction.atomic():
        current = Membership.objects.select_for_update().select_related("user", "brand").get(pk=membership.pk)
        if current.role == role:
            return current
        if _owners_after(current, role=role) < 1:
            raise ValidationError({"role": f"{current.brand.name} must keep at least one owner."})
        previous, current.role = current.role, role
        current.save(update_fields=["role"])
        audit(current.brand, by, AuditEvent.Action.ROLE_CHANGED, current.user.get_username(), **{"from": previous, "to": role})
    return current


def remove_member(membership: Membership, *, by: Any) -> None:
    """Remove a member from the brand (their account stays); the brand keeps at least one owner."""
    require_owner(by, membership.brand)
    with transaction.atomic():
        current = Membership.objects.select_for_update().select_related("user", "brand").get(pk=membership.pk)
        if _owners_after(current, role=None) < 1:
            raise ValidationError({"membership": f"{current.brand.name} must keep at least one owner."})
        current.delete()
        audit(current.brand, by, AuditEvent.Action.REMOVED, current.user.get_username(), role=current.role)
        # API tokens are per user; with no brand left they simply reach nothing.


def add_founding_owner(brand: Brand, user: Any) -> None:
    """Make the person who created ``brand`` its first owner."""
    if not Membership.objects.filter(brand=brand).exists():
        Membership.objects.create(user=user, brand=brand, role=Role.OWNER)
        audit(brand, user, AuditEvent.Action.JOINED, user.get_username(), role=Role.OWNER, founder=True)


def owner_emails(brand: Brand) -> list[str]:
    """Return the addresses of the brand's owners."""
    return [
        e for e in Membership.objects.filter(brand=brand, role=Role.OWNER, user__is_active=True)
        .values_list("user__email", flat=True) if e
    ]
