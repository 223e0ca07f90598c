"""The permission-checked download of exported files (never a public media URL)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils import timezone

from surveys import access, tokens
from surveys.files import CONTENT_TYPES, EXTENSIONS
from surveys.models import Export


def download_export(request: HttpRequest, export_id: int) -> HttpResponse:
    """Send a ready export to a member of its survey's brand (admin session or API token); anything else is a 404."""
    user = request.user
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if header.startswith("Token "):
        user = tokens.user_for_key(header[6:].strip())
        if user is None:
            return HttpResponse("The token is unknown or revoked.", status=401, content_type="text/plain")
    elif not (user.is_authenticated and user.is_staff):
        return staff_member_required(lambda r: None)(request)  # the admin login redirect
    export = Export.objects.select_related("survey").filter(pk=export_id).first()
    if export is None or not access.has_role(user, export.survey.brand_id):
        raise Http404("No such export.")
    expired = export.expires_at is not None and export.expires_at <= timezone.now()
    if export.status != Export.Status.READY or expired or not export.path or not Path(export.path).exists():
        raise Http404("This export is not ready or has expired.")
    response = FileResponse(open(export.path, "rb"), as_attachment=True, filename=export.filename)
    response["Content-Type"] = CONTENT_TYPES[EXTENSIONS[export.format]]
    response["Cache-Control"] = "private, no-store"
    return response
