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


class DatabaseUnavailableMiddleware:
    """Turn a lost database into a clean 503 instead of a 500: the answers are kept, the client told to retry.

    A poll submission gets a short page that re-sends exactly what was posted
    (the form token stays valid until a response is stored, so the retry is
    exactly-once like any other); the API gets the one error shape. Nothing
    was stored, so nothing is acknowledged.
    """

    RETRY_AFTER = "5"

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        from django.db import InterfaceError, OperationalError

        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("database unavailable: %s %s", request.method, exception.__class__.__name__)
        if request.path.startswith("/api/"):
            from django.http import JsonResponse

            response = JsonResponse({"detail": "The service is briefly unavailable; nothing was stored. Please retry.",
                                     "errors": {}}, status=503)
        else:
            from django.shortcuts import render

            fields = [(k, v) for k, values in request.POST.lists() for v in values] if request.method == "POST" else []
            response = render(request, "surveys/try_again.html", {"fields": fields, "action": request.path}, status=503)
            match = getattr(request, "resolver_match", None)
            if match is not None and match.url_name == "poll-embed":
                # Inside a creator's page: the survey's embedding origins may frame this page too (from the cache).
                from surveys.caching import peek_link
                from surveys.embed import allow_framing

                link = peek_link(match.kwargs.get("token", ""))
                if link is not None:
                    allow_framing(response, link.survey)
        response["Retry-After"] = self.RETRY_AFTER
        return response
