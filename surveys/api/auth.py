"""Authentication and brand permissions of the REST API."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import authentication, exceptions, permissions, throttling

from surveys import access, tokens


class TokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token tp_…`` with a personal token created in the admin."""

    keyword = "Token"

    def authenticate(self, request: Any) -> tuple[Any, None] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send the header as: Authorization: Token <key>.")
        user = tokens.user_for_key(header[1].decode(errors="ignore"))
        if user is None:
            raise exceptions.AuthenticationFailed("The token is unknown or revoked.")
        return user, None

    def authenticate_header(self, request: Any) -> str:
        return self.keyword


class TokenRateThrottle(throttling.BaseThrottle):
    """Requests per user (token or session), counted in the shared cache by the poll's limiter."""

    def allow_request(self, request: Any, view: Any) -> bool:
        from surveys.ratelimits import retry_after

        if not getattr(request.user, "is_authenticated", False):
            return True
        self.wait_seconds = retry_after(request, group="api", key=f"user:{request.user.pk}", rate=settings.API_RATE_LIMIT)
        return self.wait_seconds is None

    def wait(self) -> float | None:
        return self.wait_seconds


class BrandRolePermission(permissions.BasePermission):
    """Members read their brands' objects; owners and editors change them."""

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and (user.is_superuser or access.brand_roles(user)))

    def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
        brand_id = view.brand_id_of(obj)
        roles = access.ALL_ROLES if request.method in permissions.SAFE_METHODS else access.EDIT_ROLES
        return access.has_role(request.user, brand_id, roles)


from drf_spectacular.extensions import OpenApiAuthenticationExtension  # noqa: E402


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    """Describe ``Authorization: Token tp_…`` in the OpenAPI schema."""

    target_class = "surveys.api.auth.TokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Token tp_… (create one in the admin)"}
