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
    rate = rate or settings.POLL_RATE_LIMIT
    try:
        usage = get_usage(request, group=group, key=lambda _group, _request: key, rate=rate, increment=True)
    except Exception as exc:  # noqa: BLE001 - any cache failure: fail open, loudly
        logger.warning("rate limiter unavailable, allowing request: %s", exc.__class__.__name__)
        return None
    if usage is None:
        logger.warning("rate limiter could not count, allowing request")
        return None
    if usage["should_limit"]:
        return max(1, int(usage["time_left"]))
    return None
