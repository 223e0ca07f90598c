"""The permission-checked download of exported files (never a public media URL)."""

from __future__ import annotations

from pathlib import Path

from django.contrib.admin.views.decorators import staff_member_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.utils import timezone

from surveys import access
from surveys.files import CONTENT_TYPES, EXTENSIONS
from surveys.models import Export


@staff_member_required
def download_export(request: HttpRequest, export_id: int) -> HttpResponse:
    """Send a ready export to a member of its survey's brand; anything else is a 404."""
    export = Export.objects.select_related("survey").filter(pk=export_id).first()
    if export is None or not access.has_role(request.user, export.survey.brand_id):
        raise Http404("No such export.")
    expired = export.expires_at is not None and export.expires_at <= timezone.now()
    if export.status != Export.Status.READY or expired or not export.path or not Path(export.path).exists():
        raise Http404("This export is not ready or has expired.")
    response = FileResponse(open(export.path, "rb"), as_attachment=True, filename=export.filename)
    response["Content-Type"] = CONTENT_TYPES[EXTENSIONS[export.format]]
    response["Cache-Control"] = "private, no-store"
    return response
