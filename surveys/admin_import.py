"""The admin's CSV imports: upload → preview → confirm, shared by the creator and the order import.

Each import is a :class:`CsvImport`: its service's plan and apply functions and
how its preview looks. This module owns the steps between them. Between the
preview and the confirmation the file's text travels in a hidden field signed
with django.core.signing (salted per import, bound to the user and the brand,
valid for an hour), so nothing is kept on the server and a changed payload is
refused. A file too large for a form field (DATA_UPLOAD_MAX_MEMORY_SIZE) is
instead chosen again on the preview page and must match the previewed file's
SHA-256. The confirmation plans the file again against the data as it is then,
so it never applies a stale preview.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

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
from surveys.creator_import import ImportProblem, ImportRefused
from surveys.models import Brand

MAX_AGE = 60 * 60
PREVIEW_ROWS = 1000


class ServicePlan(Protocol):
    """What every import service's plan offers: the brand it is for and its problems."""

    brand: Brand
    problems: list[ImportProblem]

    @property
    def ok(self) -> bool: ...


PlanT = TypeVar("PlanT", bound=ServicePlan)
ResultT = TypeVar("ResultT")


@dataclass(frozen=True)
class CsvImport(Generic[PlanT, ResultT]):
    """One CSV import of the admin: the service that plans and applies it, and how its pages read.

    ``preview`` returns the template context of a plan beside the shared one
    (``counts``: ``(key, label, number)`` triples, shown as ``id="count-KEY"``;
    anything its template shows). ``done`` returns the success message.
    """

    title: str
    salt: str
    template: str
    file_help: str
    plan: Callable[[Brand, str], PlanT]
    apply: Callable[[PlanT], ResultT]
    preview: Callable[[PlanT], dict[str, Any]]
    done: Callable[[Brand, ResultT], str]


def editable_brands(user: Any) -> QuerySet[Brand]:
    """Return the brands ``user`` may import into (owner or editor; superusers: all)."""
    from surveys.admin import scoped_choices  # surveys.admin imports the import views lazily

    return Brand.objects.all() if user.is_superuser else scoped_choices(Brand, user)


class ImportForm(forms.Form):
    """Step one: the brand and the CSV file."""

    brand = forms.ModelChoiceField(queryset=Brand.objects.none())
    file = forms.FileField(label="CSV file")

    def __init__(self, *args: Any, user: Any, file_help: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        brands = editable_brands(user)
        self.fields["brand"].queryset = brands
        self.fields["file"].help_text = file_help
        if not self.is_bound and len(ids := list(brands.values_list("pk", flat=True)[:2])) == 1:
            self.fields["brand"].initial = ids[0]

    def clean_file(self) -> str:
        """Return the uploaded file's text."""
        return read_upload(self.cleaned_data["file"])


def read_upload(upload: Any) -> str:
    """Return an upload's text, or raise a form error when too big or not UTF-8."""
    if upload.size > creator_import.MAX_BYTES:
        raise forms.ValidationError(f"The file is larger than {creator_import.MAX_BYTES // 1_000_000} MB: split it.")
    try:
        return creator_import.decode_upload(upload.read(creator_import.MAX_BYTES + 1))
    except ImportRefused as exc:
        raise forms.ValidationError([p.message for p in exc.problems]) from None


def sign_upload(*, salt: str, user: Any, brand: Brand, text: str) -> tuple[str, bool]:
    """Return the signed payload of a previewed file, and whether the file must be chosen again to confirm."""
    digest = hashlib.sha256(text.encode()).hexdigest()
    payload = signing.dumps({"u": user.pk, "b": brand.pk, "h": digest, "t": text}, salt=salt, compress=True)
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if limit is not None and len(payload) > limit - 10_000:
        return signing.dumps({"u": user.pk, "b": brand.pk, "h": digest, "t": None}, salt=salt), True
    return payload, False


def import_view(kind: CsvImport[Any, Any], modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    """Show the upload form; on upload, the preview; on confirmation, apply and go back to the list.

    The caller has checked that the user may import at all; the brand is checked here.
    """
    if request.method == "POST" and "confirm" in request.POST:
        return _confirm(kind, modeladmin, request)
    form = _form(kind, request, data=request.POST or None, files=request.FILES or None)
    if request.method == "POST" and form.is_valid():
        brand, text = form.cleaned_data["brand"], form.cleaned_data["file"]
        plan = kind.plan(brand, text)
        payload, needs_file = sign_upload(salt=kind.salt, user=request.user, brand=brand, text=text) if plan.ok else ("", False)
        if not plan.ok:  # the next step is a corrected file: keep the brand chosen
            form = _form(kind, request, initial={"brand": brand.pk})
        return _render(kind, modeladmin, request, form=form, plan=plan, payload=payload, needs_file=needs_file)
    return _render(kind, modeladmin, request, form=form)


def _form(kind: CsvImport[Any, Any], request: HttpRequest, **kwargs: Any) -> ImportForm:
    return ImportForm(user=request.user, file_help=kind.file_help, **kwargs)


def _confirm(kind: CsvImport[Any, Any], modeladmin: admin.ModelAdmin, request: HttpRequest) -> HttpResponse:
    form = _form(kind, request)
    try:
        data = signing.loads(request.POST.get("payload", ""), salt=kind.salt, max_age=MAX_AGE)
    except signing.SignatureExpired:
        return _render(kind, modeladmin, request, form=form, error="The preview is more than an hour old: upload the file again.", status=400)
    except signing.BadSignature:
        data = None
    if not isinstance(data, dict) or data.get("u") != request.user.pk:
        return _render(kind, modeladmin, request, form=form, error="The preview could not be verified: upload the file again.", status=400)
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
            return _render(kind, modeladmin, request, form=form, error="Choose the same file you previewed to confirm the import.", status=400)
    plan = kind.plan(brand, text)
    try:
        result = kind.apply(plan)
    except ImportRefused as exc:
        plan.problems = plan.problems or exc.problems
        return _render(kind, modeladmin, request, form=_form(kind, request, initial={"brand": brand.pk}), plan=plan)
    modeladmin.message_user(request, kind.done(brand, result), messages.SUCCESS)
    opts = modeladmin.model._meta
    return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") + f"?brand__id__exact={brand.pk}")


def _render(
    kind: CsvImport[Any, Any],
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    *,
    form: ImportForm,
    plan: ServicePlan | None = None,
    payload: str = "",
    needs_file: bool = False,
    error: str = "",
    status: int = 200,
) -> TemplateResponse:
    context: dict[str, Any] = {
        **modeladmin.admin_site.each_context(request),
        "title": kind.title,
        "opts": modeladmin.model._meta,
        "form": form,
        "error": error,
        "plan": plan,
        "payload": payload,
        "needs_file": needs_file,
    }
    if plan is not None:
        context.update(
            problems=[_problem_context(p) for p in plan.problems[:PREVIEW_ROWS]],
            problems_hidden=max(0, len(plan.problems) - PREVIEW_ROWS),
            brand=plan.brand,
            **kind.preview(plan),
        )
    return TemplateResponse(request, kind.template, context, status=status)


def _problem_context(problem: ImportProblem) -> dict[str, Any]:
    return {
        "row": problem.row if problem.row is not None else "—",
        "column": problem.column or "—",
        "value": problem.value,
        "message": problem.message,
    }
