"""Request logging: one structured line per request, with a request id and timing, and nothing personal."""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("trustpoll.request")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestLogMiddleware:
    """Log method, route pattern, status and duration of every request under a request id.

    The id comes from a proxy's ``X-Request-ID`` when it looks like one, else
    is made here, and is returned in the response's ``X-Request-ID``. What is
    logged is the URL *pattern* (``s/<str:token>/``), never the path, query,
    address, user agent or body: paths carry link tokens and invitation keys,
    bodies carry answers.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request.request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        response["X-Request-ID"] = request.request_id
        match = getattr(request, "resolver_match", None)
        route = f"/{match.route}" if match is not None else "(unmatched)"
        logger.info(
            "%s %s %s %.1fms", request.method, route, response.status_code, duration_ms,
            extra={
                "request_id": request.request_id, "method": request.method, "route": route,
                "view": match.view_name if match is not None else None, "status": response.status_code,
                "duration_ms": duration_ms, "user_id": getattr(getattr(request, "user", None), "pk", None),
            },
        )
        return response
