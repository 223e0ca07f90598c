"""API tokens: issue (shown once), authenticate by hash, revoke."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from surveys.models import ApiToken, _now

PREFIX = "tp_"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def issue_token(user: Any, name: str) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return it and its key, which is never stored and never shown again."""
    key = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:8], key_hash=hash_key(key))
    return token, key


def user_for_key(key: str) -> Any | None:
    """Return the active user of an unrevoked token ``key``, or None."""
    if not key or not key.startswith(PREFIX) or len(key) > 100:
        return None
    token = ApiToken.objects.select_related("user").filter(key_hash=hash_key(key), revoked_at__isnull=True).first()
    if token is None or not token.user.is_active:
        return None
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=_now())
    return token.user


def revoke_token(token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = _now()
        token.save(update_fields=["revoked_at"])
