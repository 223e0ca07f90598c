"""Liveness: the process answers."""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Return 200 "ok" while the process serves requests."""
    return HttpResponse("ok", content_type="text/plain")
