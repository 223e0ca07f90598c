"""Rate limits for public doors, counted atomically in the shared cache (Redis in production).

Counting uses django-ratelimit's fixed windows (cache ``add`` + ``incr``, both
atomic in Redis). When the cache is unreachable the limiter fails open: the
request goes through and the outage is logged, because losing a respondent's
answers is worse than letting a burst through.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

logger = logging.getLogger("trustpoll.ratelimit")


def retry_after(request: HttpRequest, *, group: str, key: str, rate: str | None = None) -> int | None:
    """Count one hit of ``key``; return seconds to wait when over the limit, else None."""
    return _usage(request, group=group, key=key, rate=rate or settings.POLL_RATE_LIMIT, increment=True, at_limit=False)


def blocked_for(request: HttpRequest, *, group: str, key: str, rate: str) -> int | None:
    """Without counting, return seconds to wait if ``key`` has used up ``rate``, else None."""
    return _usage(request, group=group, key=key, rate=rate, increment=False, at_limit=True)


def count_failure(request: HttpRequest, *, group: str, key: str, rate: str) -> None:
    """Count one failed attempt of ``key`` (e.g. a wrong password)."""
    _usage(request, group=group, key=key, rate=rate, increment=True, at_limit=False)


def _usage(request: HttpRequest, *, group: str, key: str, rate: str, increment: bool, at_limit: bool) -> int | None:
    try:
        usage = get_usage(request, group=group, key=lambda _group, _request: key, rate=rate, increment=increment)
    except Exception as exc:  # noqa: BLE001 - any cache failure: fail open, loudly
        logger.warning("rate limiter unavailable, allowing request: %s", exc.__class__.__name__)
        return None
    if usage is None:
        logger.warning("rate limiter could not count, allowing request")
        return None
    limited = usage["count"] >= usage["limit"] if at_limit else usage["should_limit"]
    return max(1, int(usage["time_left"])) if limited else None
