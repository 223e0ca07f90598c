"""Who may do what in which brand: membership roles, read once per request."""

from __future__ import annotations

from typing import Any

from surveys.choices import Role
from surveys.models import Membership

EDIT_ROLES = frozenset({Role.OWNER, Role.EDITOR})
ALL_ROLES = frozenset(Role)


def brand_roles(user: Any) -> dict[int, str]:
    """Return {brand id: role} for ``user``, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return {}
    cached = getattr(user, "_trustpoll_brand_roles", None)
    if cached is None:
        cached = dict(Membership.objects.filter(user=user).values_list("brand_id", "role"))
        user._trustpoll_brand_roles = cached
    return cached


def brand_ids(user: Any, roles: frozenset[str] = ALL_ROLES) -> set[int]:
    """Return the ids of the brands where ``user`` has one of ``roles``."""
    return {brand_id for brand_id, role in brand_roles(user).items() if role in roles}


def has_role(user: Any, brand_id: int | None, roles: frozenset[str] = ALL_ROLES) -> bool:
    """Return whether ``user`` has one of ``roles`` in the brand (superusers always do)."""
    if getattr(user, "is_superuser", False):
        return True
    return brand_id is not None and brand_roles(user).get(brand_id) in roles
