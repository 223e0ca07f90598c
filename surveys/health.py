"""Health checks for load balancers and orchestrators: liveness and readiness."""

from __future__ import annotations

import logging

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

logger = logging.getLogger("trustpoll.health")


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Return 200 "ok" while the process serves requests (liveness: touches nothing else)."""
    return HttpResponse("ok", content_type="text/plain")


def _check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready; say which
        connection.close()  # a broken connection must not be reused by the next request
        return f"database unreachable ({exc.__class__.__name__})"
    return None


def _check_cache() -> str | None:
    try:
        cache.set("readyz", "1", 5)
        if cache.get("readyz") != "1":
            return "cache did not keep a value"
    except Exception as exc:  # noqa: BLE001
        return f"cache unreachable ({exc.__class__.__name__})"
    return None


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    """Return 200 when the database and the cache answer, else 503 naming what is down (readiness)."""
    checks = {"database": _check_database(), "cache": _check_cache()}
    problems = {name: problem for name, problem in checks.items() if problem}
    if problems:
        logger.warning("not ready: %s", "; ".join(problems.values()))
        return JsonResponse({"status": "unavailable", "problems": problems}, status=503)
    return JsonResponse({"status": "ready", "checks": {name: "ok" for name in checks}})
