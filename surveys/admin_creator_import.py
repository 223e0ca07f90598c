"""The admin's creator CSV import: upload → preview → confirm. Thin: surveys.creator_import decides.

Between the preview and the confirmation the file's text travels in a hidden
field signed with django.core.signing (salted, bound to the user and the brand,
valid for an hour), so nothing is kept on the server and a changed payload is
refused. A file too large for a form field (DATA_UPLOAD_MAX_MEMORY_SIZE) is
instead chosen again on the preview page and must match the previewed file's
SHA-256. The confirmation reads the file against the creators as they are then,
so it never applies a stale preview.
"""

from __future__ import annotations

import hashlib
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from surveys import creator_import
from surveys.choices import Platform, Tier
from surveys.creator_import import ImportPlan, ImportProblem, ImportRefused
from surveys.models import Brand

SALT = "surveys.admin.creator_import"
MAX_AGE = 60 * 60
PREVIEW_ROWS = 1000
TEMPLATE = "admin/surveys/creator/import.html"


def editable_brands(user: Any) -> QuerySet[Brand]:
    """Return the brands ``user`` may import creators into (owner or editor; superusers: all)."""
    from surveys.admin import scoped_choices  # the admin imports this module's view lazily

    return Brand.objects.all() if user.is_superuser else scoped_choices(Brand, user)


class CreatorImportForm(forms.Form):
    """Step one: the brand and the CSV file."""

    brand = forms.ModelChoiceField(queryset=Brand.objects.none())
    file = forms.FileField(
        label="CSV file",
        help_text="Columns: handle, display_name, platform, followers, niche, engagement_rate. UTF-8, at most "
        f"{creator_import.MAX_BYTES // 1_000_000} MB and {creator_import.MAX_ROWS:,} rows. Existing handles are updated.",
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        brands = editable_brands(user)
        self.fields["brand"].queryset = brands
        if not self.is_bound and len(ids := list(brands.values_list("pk", flat=True)[:2])) == 1:
            self.fields["brand"].initial = ids[0]

    def clean_file(self) -> str:
        """Return the uploaded file's text."""
        upload = self.cleaned_data["file"]
        return read_upload(upload)


def read_upload(upload: Any) -> str:
    """Return an upload's text, or raise a form error when too big or not UTF-8."""
    if upload.size > creator_import.MAX_BYTES:
        raise forms.ValidationError(f"The file is larger than {creator_import.MAX_BYTES // 1_000_000} MB: split it.")
    try:
        return creator_import.decode_upload(upload.read(creator_import.MAX_BYTES + 1))
    except ImportRefused as exc:
        raise forms.ValidationError([p.message for p in exc.problems]) from None


def sign_upload(*, user: Any, brand: Brand, text: str) -> tuple[str, bool]:
    """Return the signed payload of a previewed file, and whether the file must be chosen again to confirm."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    payload = signing.dumps({"u": user.pk, "b": brand.pk, "h": digest, "t": text}, salt=SALT, compress=True)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and len(payload) > limit - 10_000:
        return signing.dumps({"u": user.pk, "b": brand.pk, "h": digest, "t": None}, salt=SALT), True
    return payload, False


def import_view(modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Show the upload form; on upload, the preview; on confirmation, apply and go back to the list."""
    if request.method == "POST" and "confirm" in request.POST:
        return _confirm(modeladmin, request)
    form = CreatorImportForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        brand, text = form.cleaned_data["brand"], form.cleaned_data["file"]
        plan = creator_import.plan_import(brand, text)
        payload, needs_file = sign_upload(user=request.user, brand=brand, text=text) if plan.ok else ("", False)
        if not plan.ok:  # the next step is a corrected file: keep the brand chosen
            form = CreatorImportForm(initial={"brand": brand.pk}, user=request.user)
        return _render(modeladmin, request, form=form, plan=plan, payload=payload, needs_file=needs_file)
    return _render(modeladmin, request, form=form)


def _confirm(modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    form = CreatorImportForm(user=request.user)
    try:
        data = signing.loads(request.POST.get("payload", ""), salt=SALT, max_age=MAX_AGE)
    except signing.SignatureExpired:
        return _render(modeladmin, request, form=form, error="The preview is more than an hour old: upload the file again.", status=400)
    except signing.BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("u") != request.user.pk:
        return _render(modeladmin, request, form=form, error="The preview could not be verified: upload the file again.", status=400)
    brand = editable_brands(request.user).filter(pk=data.get("b")).first()
    if brand is None:  # the user lost the editor role since the preview
        raise PermissionDenied
    text = data.get("t")
    if text is None:  # too large to travel in the form: the same file, chosen again
        upload = request.FILES.get("file")
        try:
            text = read_upload(upload) if upload is not None else None
        except forms.ValidationError:
            text = None
        if text is None or hashlib.sha256(text.encode()).hexdigest() != data.get("h"):
            return _render(modeladmin, request, form=form, error="Choose the same file you previewed to confirm the import.", status=400)
    plan = creator_import.plan_import(brand, text)
    try:
        result = creator_import.apply_import(plan)
    except ImportRefused as exc:
        plan.problems = plan.problems or exc.problems
        return _render(modeladmin, request, form=CreatorImportForm(initial={"brand": brand.pk}, user=request.user), plan=plan)
    modeladmin.message_user(
        request,
        f"Imported creators into {brand}: {len(result.created)} created, {len(result.updated)} updated, "
        f"{result.unchanged} unchanged.",
        messages.SUCCESS,
    )
    return HttpResponseRedirect(reverse("admin:surveys_creator_changelist") + f"?brand__id__exact={brand.pk}")


def _render(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    form: CreatorImportForm,
    plan: ImportPlan | None = None,
    payload: str = "",
    needs_file: bool = False,
    error: str = "",
    status: int = 200,
) -> TemplateResponse:
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "title": "Import creators from CSV",
        "opts": modeladmin.model._meta,
        "form": form,
        "error": error,
        "plan": plan,
        "payload": payload,
        "needs_file": needs_file,
    }
    if plan is not None:
        listed = [row for row in plan.rows if row.action != "unchanged"]
        context.update(
            counts=plan.counts,
            rows=[_row_context(row) for row in listed[:PREVIEW_ROWS]],
            rows_hidden=max(0, len(listed) - PREVIEW_ROWS),
            problems=[_problem_context(p) for p in plan.problems[:PREVIEW_ROWS]],
            problems_hidden=max(0, len(plan.problems) - PREVIEW_ROWS),
            brand=plan.brand,
        )
    return TemplateResponse(request, TEMPLATE, context, status=status)


def _shown(name: str, value: Any) -> str:
    if value is None or value == "":
        return "—"
    if name == "platform":
        return Platform(value).label
    if name == "tier":
        return Tier(value).label
    if name == "followers":
        return f"{value:,}"
    if name == "engagement_rate":
        return f"{value}%"
    return str(value)


def _row_context(row: creator_import.RowPlan) -> dict[str, Any]:
    return {
        "row": row.row,
        "action": row.action,
        "handle": row.handle,
        "values": {name: _shown(name, value) for name, value in row.values.items()},
        "changes": [(name.replace("_", " "), _shown(name, old), _shown(name, new)) for name, (old, new) in row.changes.items()],
    }


def _problem_context(problem: ImportProblem) -> dict[str, Any]:
    return {
        "row": problem.row if problem.row is not None else "—",
        "column": problem.column or "—",
        "value": problem.value,
        "message": problem.message,
    }
