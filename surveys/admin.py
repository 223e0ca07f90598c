"""The brand admin: every list, form, choice and action is limited to the user's brands.

Access comes from Membership roles, not Django's model permissions: owners and
editors change surveys, creators and links; analysts read them. Another brand's
object is a 404 everywhere. Superusers see everything.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, IntegerField, Model, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.forms.models import BaseInlineFormSet
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from surveys import access, analyses, attribution, caching, collection, design, embed, files, readings, retention, selectors, team, tokens
from surveys import exports as exports_module
from surveys.choices import Platform, Role, Tier
from surveys.instruments import INSTRUMENTS
from surveys.models import (
    AnalysisRun,
    ClickCount,
    ApiToken,
    Export,
    Brand,
    Creator,
    CreatorLink,
    Membership,
    Question,
    QuestionWording,
    Response,
    Survey,
)

ADMIN_JS = ("surveys/admin.js",)


def add_errors(form: forms.Form, exc: ValidationError) -> None:
    """Put a service's ValidationError on the form, field by field."""
    for field, messages_ in exc.message_dict.items():
        form.add_error(field if field in form.fields else None, messages_)


def tool_page(modeladmin: admin.ModelAdmin, request: HttpRequest, survey: Any, form: forms.Form, *, title: str, template: str) -> HttpResponse:
    """Render a survey tool page (run analysis, export) with the admin's context."""
    context = {**modeladmin.admin_site.each_context(request), "title": title, "opts": Survey._meta, "original": survey, "form": form}
    return TemplateResponse(request, template, context)


def scoped_choices(model: type[Model], user: Any) -> QuerySet | None:
    """Return the objects of ``model`` a non-superuser may pick in a form, or None if unscoped."""
    brands = access.brand_ids(user, access.EDIT_ROLES)
    if model is Brand:
        return Brand.objects.filter(pk__in=brands)
    if model in (Creator, Survey):
        return model.objects.filter(brand_id__in=brands)
    if model in (Question, CreatorLink):
        return model.objects.filter(survey__brand_id__in=brands)
    return None


def _response_count(**outer: str) -> Coalesce:
    """Return a subquery counting real responses, joined on ``outer`` (field → outer ref)."""
    counts = (
        Response.objects.filter(is_test=False, **{k: OuterRef(v) for k, v in outer.items()})
        .order_by()
        .values(*outer)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counts, output_field=IntegerField()), 0)


class BrandScoped:
    """Role- and brand-based permissions shared by model admins and inlines."""

    brand_path = "brand"
    view_roles: frozenset[str] = access.ALL_ROLES
    edit_roles: frozenset[str] = access.EDIT_ROLES

    def brand_id_of(self, obj: Model) -> int | None:
        *parents, last = self.brand_path.split("__")
        for name in parents:
            obj = getattr(obj, name, None)
            if obj is None:
                return None
        if last == "pk":
            return obj.pk
        return getattr(obj, f"{last}_id", None)

    def _allowed(self, request: HttpRequest, obj: Model | None, roles: frozenset[str]) -> bool:
        user = request.user
        if user.is_superuser:
            return True
        if obj is None:
            return bool(access.brand_ids(user, roles))
        return access.has_role(user, self.brand_id_of(obj), roles)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser or bool(access.brand_roles(request.user))

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj, self.view_roles)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj, self.edit_roles)

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj, self.edit_roles)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if not request.user.is_superuser and "queryset" not in kwargs:
            choices = scoped_choices(db_field.related_model, request.user)
            if choices is not None:
                kwargs["queryset"] = choices
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


class BrandScopedAdmin(BrandScoped, admin.ModelAdmin):
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.brand_path}__in": access.brand_ids(request.user, self.view_roles)})

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request, None, self.edit_roles)

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404(f"No {self.opts.verbose_name} with ID “{object_id}”.")
        return obj

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        initial = super().get_changeform_initial_data(request)
        brands = access.brand_ids(request.user, self.edit_roles)
        if len(brands) == 1 and any(f.name == "brand" for f in self.model._meta.fields):
            initial.setdefault("brand", next(iter(brands)))
        return initial

    def require_editable(self, request: HttpRequest, queryset: QuerySet) -> None:
        """Refuse an action when any selected object is outside the user's editable brands."""
        if request.user.is_superuser:
            return
        editable = access.brand_ids(request.user, self.edit_roles)
        if queryset.exclude(**{f"{self.brand_path}__in": editable}).exists():
            raise PermissionDenied

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        if not self._allowed(request, obj, self.edit_roles):
            raise PermissionDenied
        super().save_model(request, obj, form, change)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        super().delete_queryset(request, queryset)


class BrandScopedInline(BrandScoped):
    """Inline permissions follow the parent object's brand (``obj`` is the parent)."""

    parent_brand_path = "brand"

    def brand_id_of(self, obj: Model) -> int | None:
        return getattr(obj, f"{self.parent_brand_path}_id", None)

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self._allowed(request, obj, self.edit_roles)

    def get_formset(self, request: HttpRequest, obj: Model | None = None, **kwargs: Any) -> Any:
        request._trustpoll_parent = obj  # read by formfield_for_foreignkey
        return super().get_formset(request, obj, **kwargs)  # type: ignore[misc]


class ChoiceForm(forms.Form):
    """The intermediate form of an action that needs one choice."""

    def __init__(self, *args: Any, field: forms.Field, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["choice"] = field


def choice_action(
    modeladmin: admin.ModelAdmin,
    request: HttpRequest,
    queryset: QuerySet,
    *,
    title: str,
    field: forms.Field,
    apply: Callable[[Any], str],
    help_html: str = "",
) -> HttpResponse | None:
    """Run an action that first asks for one value on an intermediate page."""
    form = ChoiceForm(request.POST if "apply" in request.POST else None, field=field)
    if "apply" in request.POST and form.is_valid():
        try:
            modeladmin.message_user(request, apply(form.cleaned_data["choice"]), messages.SUCCESS)
        except ValidationError as exc:
            modeladmin.message_user(request, " ".join(exc.messages), messages.ERROR)
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": title,
        "opts": modeladmin.model._meta,
        "queryset": queryset,
        "form": form,
        "action": request.POST.get("action", ""),
        "help_html": help_html,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
    }
    return TemplateResponse(request, "admin/surveys/choice_action.html", context)


def instrument_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Instrument",
        choices=[(key, f"{i.name} — {len(i.items)} items") for key, i in INSTRUMENTS.items()],
    )


def instrument_help() -> str:
    return format_html_join(
        "",
        "<p><strong>{}</strong>: {}<br><small>{}</small></p>",
        ((i.name, i.description, i.citation) for i in INSTRUMENTS.values()),
    )


# --- brands and members ---------------------------------------------------------------------


@admin.register(Brand)
class BrandAdmin(BrandScopedAdmin):
    brand_path = "pk"
    edit_roles = frozenset({Role.OWNER})
    list_display = ("name", "slug", "tier_micro_min", "tier_macro_min", "tier_celebrity_min", "outcomes")
    search_fields = ("name", "slug")
    readonly_fields = ("order_secret_hint",)
    actions = ("rotate_order_secret",)

    @admin.display(description="outcomes")
    def outcomes(self, obj: Brand) -> str:
        return format_html('<a href="{}">Outcomes per creator</a>', reverse("admin:surveys_brand_outcomes", args=[obj.pk]))

    @admin.display(description="order signing secret")
    def order_secret_hint(self, obj: Brand) -> str:
        if not obj.order_secret:
            return "None yet: choose “Create or rotate the order signing secret” in the brand list."
        return f"{obj.order_secret[:10]}… (shown in full only when created or rotated)"

    @admin.action(description="Create or rotate the order signing secret (shows it once)")
    def rotate_order_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        for brand in queryset:
            secret = attribution.rotate_order_secret(brand, by=request.user)
            self.message_user(request, f"Order signing secret of {brand.name} (copy it into your shop now; it is not "
                              f"shown again, and addresses signed with the old one stop working): {secret}", messages.WARNING)

    fieldsets = (
        (None, {"fields": ("name", "slug", "privacy_notice_url")}),
        (
            "Creator tiers",
            {
                "fields": ("tier_micro_min", "tier_macro_min", "tier_celebrity_min"),
                "description": "Nano below the micro threshold; every creator's tier is "
                "recomputed when these change. Responses keep the tier they had.",
            },
        ),
        (
            "Post-purchase attribution",
            {
                "fields": ("order_secret_hint",),
                "description": "Your shop signs the order id and amount into the address of a post-purchase "
                "poll with this secret (see the survey page of a post-purchase survey for the snippet).",
            },
        ),
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=access.brand_ids(request.user, self.view_roles))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return request.user.is_superuser

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return self.readonly_fields if request.user.is_superuser else (*self.readonly_fields, "slug")

    def save_model(self, request: HttpRequest, obj: Model, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if not change:
            team.add_founding_owner(obj, request.user)  # whoever creates a brand owns it and can invite the rest

    def get_urls(self) -> list[Any]:
        from surveys.admin_outcomes import outcomes_view

        view = self.admin_site.admin_view(lambda request, object_id: outcomes_view(self, request, object_id))
        return [path("<path:object_id>/outcomes/", view, name="surveys_brand_outcomes"), *super().get_urls()]


# --- creators ---------------------------------------------------------------------------------


@admin.register(Creator)
class CreatorAdmin(BrandScopedAdmin):
    list_display = ("display_name", "handle", "platform", "tier", "followers", "active", "responses")
    list_filter = ("tier", "platform", "active", ("brand", admin.RelatedOnlyFieldListFilter))
    search_fields = ("handle", "display_name", "niche")
    readonly_fields = ("tier",)
    actions = ("create_links", "deactivate")
    fields = ("brand", "handle", "display_name", "platform", "followers", "tier", "niche", "engagement_rate", "active")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return super().get_queryset(request).annotate(n_responses=_response_count(creator="pk"))

    @admin.display(description="responses", ordering="n_responses")
    def responses(self, obj: Creator) -> int:
        return obj.n_responses

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return ("tier", "brand") if obj else ("tier",)

    def get_urls(self) -> list[Any]:
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="surveys_creator_import"),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV of creators, preview what it creates and updates, confirm to store it all at once."""
        from surveys.admin_creator_import import import_view  # it imports scoped_choices from this module

        if not self.has_add_permission(request):  # owners and editors of at least one brand
            raise PermissionDenied
        return import_view(self, request)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, list[str]]:
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        if protected:
            answered = (
                Creator.objects.filter(pk__in=[o.pk for o in objs])
                .annotate(n=Count("responses"))
                .filter(n__gt=0)
            )
            protected = [
                f"@{c.handle} has {c.n} responses: deactivate the creator instead of deleting it."
                for c in answered
            ]
            perms = set()  # responses are never deletable here; say why instead of "no permission"
        return deleted, counts, perms, protected

    @admin.action(description="Create links to a survey for the selected creators", permissions=["change"])
    def create_links(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        self.require_editable(request, queryset)
        surveys = scoped_choices(Survey, request.user) if not request.user.is_superuser else Survey.objects.all()
        surveys = surveys.filter(brand_id__in=queryset.values("brand_id"))

        def apply(survey: Survey) -> str:
            new, existing = design.create_links(survey, queryset)
            return f"Created {len(new)} link(s) to “{survey.title}”; {existing} creator(s) already had one."

        field = forms.ModelChoiceField(queryset=surveys.select_related("brand"), label="Survey")
        return choice_action(self, request, queryset, title="Create links to a survey", field=field, apply=apply)

    @admin.action(description="Deactivate the selected creators", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        ids = list(queryset.values_list("pk", flat=True))
        count = queryset.update(active=False)
        caching.forget_creators(ids)  # update() sends no signals
        self.message_user(request, f"Deactivated {count} creator(s); their responses are kept.")


# --- surveys ----------------------------------------------------------------------------------


class QuestionFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        problems = []
        for form in self.deleted_forms:
            if form.instance.pk:
                problem = design.deletion_problem(form.instance)
                if problem:
                    problems.append(problem)
        if problems:
            raise ValidationError(problems)


class QuestionInline(BrandScopedInline, admin.StackedInline):
    model = Question
    formset = QuestionFormSet
    extra = 0
    ordering = ("position", "id")
    classes = ("trustpoll-questions",)
    fieldsets = (
        (None, {"fields": (("position", "code", "kind", "construct"), "wording", ("required", "reverse_coded"))}),
        (
            "Answer options",
            {
                "classes": ("collapse",),
                "fields": (
                    ("scale_points", "left_label", "right_label"),
                    "choices",
                    ("min_value", "max_value"),
                    "expected_answer",
                    "help_text",
                ),
            },
        ),
        ("Display condition", {"classes": ("collapse",), "fields": (("condition_question", "condition_values"),)}),
    )

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "condition_question":
            parent = getattr(request, "_trustpoll_parent", None)
            kwargs["queryset"] = Question.objects.filter(survey=parent) if parent else Question.objects.none()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class CreatorLinkInlineForm(forms.ModelForm):
    """An existing link keeps its creator: its responses are attributed to them."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if self.instance.pk and "creator" in self.fields:
            self.fields["creator"].disabled = True


class CreatorLinkInline(BrandScopedInline, admin.TabularInline):
    model = CreatorLink
    form = CreatorLinkInlineForm
    extra = 0
    fields = ("creator", "active", "promo_code", "responses", "flags", "share")
    readonly_fields = ("responses", "flags", "share")
    verbose_name = "creator link"
    show_change_link = True  # UTM parameters and the destination are edited on the link's page

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return selectors.annotate_link_counts(super().get_queryset(request).select_related("creator", "survey__brand"))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "creator":
            parent = getattr(request, "_trustpoll_parent", None)
            kwargs["queryset"] = (
                Creator.objects.filter(brand_id=parent.brand_id) if parent else Creator.objects.none()
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_dbfield(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        field = super().formfield_for_dbfield(db_field, request, **kwargs)
        if db_field.name == "creator" and field is not None:
            # A plain select: creators are edited on their own page, not from a link row.
            field.widget.can_add_related = field.widget.can_change_related = False
            field.widget.can_view_related = field.widget.can_delete_related = False
        return field

    @admin.display(description="responses")
    def responses(self, obj: CreatorLink) -> int:
        return getattr(obj, "response_count", 0)

    @admin.display(description="quality flags")
    def flags(self, obj: CreatorLink) -> str:
        return flag_summary(obj)

    @admin.display(description="share URL and embed codes")
    def share(self, obj: CreatorLink) -> str:
        if not obj.pk:
            return "—"
        snippets = format_html_join(
            "",
            '<div class="trustpoll-snippet"><label><span>{}</span><input type="text" readonly value="{}" size="40"></label>'
            ' <button type="button" class="button trustpoll-copy">Copy</button></div>',
            embed.snippets(obj),
        )
        preview = f"{obj.share_url}?preview={collection.preview_key(obj)}"
        return format_html('{}<a href="{}" target="_blank" rel="noopener">Preview this poll</a>', snippets, preview)


def flag_summary(link: CreatorLink) -> str:
    """Return "speeder 3 · attention 1" for the flags a link's responses carry."""
    parts = [
        f"{label} {getattr(link, f'n_{flag}', 0)}"
        for flag, label in selectors.FLAG_LABELS.items()
        if getattr(link, f"n_{flag}", 0)
    ]
    return " · ".join(parts) or "—"


class RunAnalysisForm(forms.Form):
    """The options of an analysis run, over the survey's known variables."""

    controls = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, help_text="Optional controls in every model.")
    se = forms.ChoiceField(
        label="Standard errors",
        choices=[("cluster", "Cluster-robust by creator (recommended)"), ("classic", "Classical"), ("hc3", "HC3 robust")],
        initial="cluster",
    )
    ordinal_outcome = forms.ChoiceField(label="Ordinal model outcome", required=False)
    min_ranked = forms.IntegerField(label="Fewest responses to rank a creator", initial=10, min_value=1, max_value=10_000)
    date_from = forms.DateField(required=False, help_text="YYYY-MM-DD")
    date_to = forms.DateField(required=False)
    tiers = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, choices=Tier.choices, help_text="None ticked: all tiers.")
    exclude_flagged = forms.BooleanField(required=False, label="Only unflagged responses", help_text="Results are shown with and without flagged responses anyway.")

    def __init__(self, *args: Any, survey: Survey, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["controls"].choices = [(c, c.replace("_", " ")) for c in analyses.known_controls(survey)]
        scales = survey.questions.filter(kind__in=["likert", "semantic", "probability"]).order_by("position")
        self.fields["ordinal_outcome"].choices = [("", "— none —")] + [(q.code, f"{q.code}: {q.wording[:50]}") for q in scales]
        self.fields["ordinal_outcome"].initial = analyses.default_ordinal_outcome(survey) or ""

    def spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "controls": data["controls"],
            "se": data["se"],
            "ordinal_outcome": data["ordinal_outcome"] or None,
            "min_ranked": data["min_ranked"],
        }

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        filters: dict[str, Any] = {"tiers": data["tiers"], "exclude_flagged": data["exclude_flagged"]}
        for key in ("date_from", "date_to"):
            if data[key]:
                filters[key] = data[key].isoformat()
        return filters


class RecordAdmin(BrandScopedAdmin):
    """Read-only records of a survey (runs, exports): every brand member may view and delete them."""

    brand_path = "survey__brand"
    edit_roles = access.ALL_ROLES

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(AnalysisRun)
class AnalysisRunAdmin(RecordAdmin):
    """Analysis runs: their progress and, when done, every result with its reading."""

    list_display = ("id", "survey", "status", "progress", "created_at", "seconds", "requested_by")
    list_filter = ("status", ("survey", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("survey", "requested_by")
    fields = ("survey", "status", "progress", "progress_message", "created_at", "started_at", "finished_at")
    readonly_fields = fields

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        run = self.get_object(request, object_id)
        report = readings.annotate(run.results) if run.results else None
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "report": report})


class ExportForm(forms.Form):
    """What to export and which responses."""

    format = forms.ChoiceField(choices=Export.Format.choices)
    creator = forms.ModelChoiceField(queryset=Creator.objects.none(), required=False, help_text="For the creator report.")
    run = forms.ModelChoiceField(queryset=AnalysisRun.objects.none(), required=False, help_text="For the bundle, the report and the Excel Models sheet (default: the latest).")
    date_from = forms.DateField(required=False, help_text="YYYY-MM-DD")
    date_to = forms.DateField(required=False)
    tiers = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, choices=Tier.choices)
    platforms = forms.MultipleChoiceField(required=False, widget=forms.CheckboxSelectMultiple, choices=Platform.choices)
    exclude_flagged = forms.BooleanField(required=False, label="Only unflagged responses")

    def __init__(self, *args: Any, survey: Survey, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["creator"].queryset = Creator.objects.filter(brand_id=survey.brand_id)
        self.fields["run"].queryset = survey.analysis_runs.filter(status=AnalysisRun.Status.SUCCEEDED)

    def filters(self) -> dict[str, Any]:
        data = self.cleaned_data
        filters: dict[str, Any] = {"tiers": data["tiers"], "platforms": data["platforms"], "exclude_flagged": data["exclude_flagged"]}
        for key in ("date_from", "date_to"):
            if data[key]:
                filters[key] = data[key].isoformat()
        return filters


@admin.register(Export)
class ExportAdmin(RecordAdmin):
    """Exports with a download link once ready."""

    list_display = ("id", "survey", "format", "status", "rows", "size", "created_at", "expires_at", "download")
    list_filter = ("format", "status", ("survey", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("survey",)
    fields = ("survey", "format", "status", "progress_message", "filters", "rows", "size", "error", "created_at", "finished_at", "expires_at", "download")
    readonly_fields = fields

    @admin.display(description="download")
    def download(self, obj: Export) -> str:
        if obj.status != Export.Status.READY:
            return obj.get_status_display()
        return format_html('<a href="{}">{}</a>', reverse("surveys:export-download", args=[obj.pk]), obj.filename)


def export_view(modeladmin: admin.ModelAdmin, request: HttpRequest, survey: Survey, *, run: AnalysisRun | None = None) -> HttpResponse:
    """Stream a small export straight away, or queue a large one and show its page."""
    form = ExportForm(request.POST or None, survey=survey, initial={"run": run})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        chosen_run = data["run"] or run or exports_module.latest_run(survey)
        fmt = data["format"]
        try:
            filters = files.validate_request(survey, format=fmt, filters=form.filters(), run=chosen_run, creator=data["creator"])
            small = fmt in ("codebook", "codebook-json", "creator-report") or (
                fmt == "csv" and survey.responses.filter(analyses.filters_q(filters), is_test=False).count() <= settings.STREAM_MAX_ROWS
            )
            if small:
                body, name, content_type = files.stream_now(survey, format=fmt, filters=filters, creator=data["creator"])
                response = StreamingHttpResponse(body(), content_type=content_type)
                response["Content-Disposition"] = f'attachment; filename="{name}"'
                return response
            export = files.request_export(survey, format=fmt, user=request.user, filters=filters, run=chosen_run, creator=data["creator"])
        except ValidationError as exc:
            add_errors(form, exc)
        else:
            modeladmin.message_user(request, f"{export.get_format_display()} is being built; it appears below when ready.")
            return HttpResponseRedirect(reverse("admin:surveys_export_change", args=[export.pk]))
    return tool_page(modeladmin, request, survey, form, title=f"Export “{survey.title}”", template="admin/surveys/survey/export.html")


@admin.register(Survey)
class SurveyAdmin(BrandScopedAdmin):
    list_display = ("title", "brand", "slug", "status", "questions_count", "responses", "launched_at")
    list_filter = ("status", ("brand", admin.RelatedOnlyFieldListFilter))
    search_fields = ("title", "slug")
    prepopulated_fields = {"slug": ("title",)}
    inlines = (QuestionInline, CreatorLinkInline)
    actions = ("duplicate", "add_instrument", "link_all_creators", "delete_test_responses", "purge_responses")
    readonly_fields = ("launched_at", "created_at", "purchase_snippet")
    fieldsets = (
        (None, {"fields": ("brand", "title", "slug", "status", "language")}),
        ("Texts", {"fields": ("intro", "thank_you_text")}),
        ("Privacy and screening", {"fields": ("privacy_notice_url", "consent_text", "min_age", "retention_days")}),
        ("Schedule and embedding", {"fields": ("opens_at", "closes_at", "allowed_origins", "launched_at", "created_at")}),
        ("Post-purchase attribution", {"fields": ("post_purchase", "purchase_snippet")}),
    )

    @admin.display(description="order confirmation page")
    def purchase_snippet(self, obj: Survey) -> str:
        if not obj.pk or not obj.post_purchase:
            return "Tick “post-purchase poll” and save to get the address for your order confirmation page."
        return format_html(
            "<p>Address (your shop appends the signed order, see the README's “Post-purchase attribution”):</p>"
            "<pre>{}?order=…&amp;amount=…&amp;currency=…&amp;t=…&amp;sig=…</pre><p>Embed:</p><pre>{}</pre>{}",
            attribution.poll_url(obj), attribution.embed_snippet(obj),
            "" if obj.brand.order_secret else format_html(
                "<p><strong>{} has no order signing secret yet</strong>: create one with the brand list's action.</p>",
                obj.brand.name))

    class Media:
        js = ADMIN_JS
        css = {"all": ("surveys/admin.css",)}

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return (
            super()
            .get_queryset(request)
            .select_related("brand")
            .annotate(n_questions=Count("questions", distinct=True), n_responses=_response_count(survey="pk"))
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "brand") if obj else self.readonly_fields

    def get_prepopulated_fields(self, request: HttpRequest, obj: Model | None = None) -> dict[str, Any]:
        return {} if obj else self.prepopulated_fields

    @admin.display(description="questions", ordering="n_questions")
    def questions_count(self, obj: Survey) -> int:
        return obj.n_questions

    @admin.display(description="responses", ordering="n_responses")
    def responses(self, obj: Survey) -> int:
        return obj.n_responses

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<path:object_id>/export/",
                self.admin_site.admin_view(self.export_view),
                name="surveys_survey_export",
            ),
            path(
                "<path:object_id>/run-analysis/",
                self.admin_site.admin_view(self.run_analysis_view),
                name="surveys_survey_run_analysis",
            ),
            path(
                "<path:object_id>/add-instrument/",
                self.admin_site.admin_view(self.add_instrument_view),
                name="surveys_survey_add_instrument",
            ),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None) -> HttpResponse:
        survey = self.get_object(request, object_id)
        link = survey.links.select_related("creator").order_by("creator__display_name").first()
        preview = f"{link.share_url}?preview={collection.preview_key(link)}" if link else ""
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "preview_url": preview})

    def export_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        survey = self.get_object(request, object_id)
        if not self.has_view_permission(request, survey):
            raise PermissionDenied
        run = survey.analysis_runs.filter(pk=request.GET.get("run")).first() if request.GET.get("run") else None
        return export_view(self, request, survey, run=run)

    def run_analysis_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        survey = self.get_object(request, object_id)
        if not self.has_view_permission(request, survey):
            raise PermissionDenied
        form = RunAnalysisForm(request.POST or None, survey=survey)
        if request.method == "POST" and form.is_valid():
            try:
                run = analyses.request_analysis(survey, user=request.user, spec=form.spec(), filters=form.filters())
            except ValidationError as exc:
                add_errors(form, exc)
            else:
                self.message_user(request, f"Analysis {run.pk} queued.")
                return HttpResponseRedirect(reverse("admin:surveys_analysisrun_change", args=[run.pk]))
        return tool_page(self, request, survey, form, title=f"Run an analysis of “{survey.title}”",
                         template="admin/surveys/survey/run_analysis.html")

    def add_instrument_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        survey = self.get_object(request, object_id)
        if not self.has_change_permission(request, survey):
            raise PermissionDenied
        form = ChoiceForm(request.POST or None, field=instrument_field())
        if request.method == "POST" and form.is_valid():
            try:
                added = design.insert_instrument(survey, form.cleaned_data["choice"])
            except ValidationError as exc:
                form.add_error("choice", exc)
            else:
                self.message_user(request, f"Added {len(added)} questions: {', '.join(q.code for q in added)}.")
                return HttpResponseRedirect(reverse("admin:surveys_survey_change", args=[survey.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Add an instrument to “{survey.title}”",
            "opts": self.opts,
            "original": survey,
            "form": form,
            "help_html": instrument_help(),
        }
        return TemplateResponse(request, "admin/surveys/survey/add_instrument.html", context)

    @admin.action(description="Duplicate the selected surveys (as drafts)", permissions=["add"])
    def duplicate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        copies = [design.duplicate_survey(survey) for survey in queryset]
        self.message_user(request, "Created " + ", ".join(f"“{c.slug}”" for c in copies) + ".")

    @admin.action(description="Create links for every active creator of the brand", permissions=["change"])
    def link_all_creators(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        for survey in queryset:
            new, existing = design.create_links(survey, Creator.objects.filter(brand_id=survey.brand_id, active=True))
            self.message_user(request, f"“{survey.title}”: {len(new)} new link(s), {existing} already linked.")

    @admin.action(description="Delete the test (preview) responses", permissions=["change"])
    def delete_test_responses(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        count = sum(retention.erase_responses(survey, test_only=True) for survey in queryset)
        self.message_user(request, f"Deleted {count} test response(s).")

    @admin.action(description="Purge ALL responses (respondent rights; cannot be undone)", permissions=["change"])
    def purge_responses(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        self.require_editable(request, queryset)
        slugs = sorted(queryset.values_list("slug", flat=True))

        def apply(confirmation: str) -> str:
            if confirmation.strip() != ", ".join(slugs):
                raise ValidationError("The confirmation did not match; nothing was deleted.")
            count = sum(retention.erase_responses(survey) for survey in queryset)
            return f"Deleted {count} response(s)."

        field = forms.CharField(
            label="Type the slug(s) to confirm",
            help_text=f"Type: {', '.join(slugs)}",
        )
        return choice_action(
            self, request, queryset, title="Purge all responses of these surveys", field=field, apply=apply
        )

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, list[str]]:
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        if protected:
            answered = Survey.objects.filter(pk__in=[o.pk for o in objs]).annotate(n=Count("responses")).filter(n__gt=0)
            protected = [f"“{s.title}” has {s.n} responses: close the survey instead of deleting it." for s in answered]
            perms = set()  # responses are never deletable here; say why instead of "no permission"
        return deleted, counts, perms, protected

    @admin.action(description="Add an instrument from the scale library", permissions=["change"])
    def add_instrument(self, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
        self.require_editable(request, queryset)

        def apply(key: str) -> str:
            added = sum(len(design.insert_instrument(survey, key)) for survey in queryset)
            return f"Added {added} questions from {INSTRUMENTS[key].name}."

        return choice_action(
            self,
            request,
            queryset,
            title="Add an instrument from the scale library",
            field=instrument_field(),
            apply=apply,
            help_html=instrument_help(),
        )


class QuestionWordingInline(admin.TabularInline):
    model = QuestionWording
    extra = 0
    can_delete = False
    fields = ("recorded_at", "wording")
    readonly_fields = fields
    verbose_name_plural = "wording history"

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True


@admin.register(Question)
class QuestionAdmin(BrandScopedAdmin):
    brand_path = "survey__brand"
    list_display = ("code", "survey", "position", "kind", "construct", "reverse_coded", "required")
    list_filter = ("kind", "construct", ("survey", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "wording")
    list_select_related = ("survey",)
    inlines = (QuestionWordingInline,)
    exclude = ()

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return ("survey", "instrument") if obj else ("instrument",)

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "condition_question" and not request.user.is_superuser:
            kwargs["queryset"] = scoped_choices(Question, request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, list[str]]:
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        problems = [p for p in (design.deletion_problem(q) for q in objs) if p]
        return deleted, counts, perms, [*protected, *problems] if problems else protected


@admin.register(CreatorLink)
class CreatorLinkAdmin(BrandScopedAdmin):
    brand_path = "survey__brand"
    list_display = ("creator", "survey", "active", "promo_code", "responses", "clicks", "flags", "share_url")
    list_filter = ("active", ("survey", admin.RelatedOnlyFieldListFilter), "creator__tier")
    search_fields = ("creator__handle", "creator__display_name", "promo_code", "token")
    list_select_related = ("creator", "survey")
    readonly_fields = ("token", "share", "click_link", "clicks")
    actions = ("deactivate",)

    @admin.display(description="click-through link")
    def click_link(self, obj: CreatorLink) -> str:
        if not obj.pk:
            return "—"
        if not obj.destination_url:
            return "Set a destination URL to get a short link that counts clicks."
        return obj.click_url

    @admin.display(description="clicks", ordering="n_clicks")
    def clicks(self, obj: CreatorLink) -> int:
        return getattr(obj, "n_clicks", None) or 0

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        clicks = ClickCount.objects.filter(link=OuterRef("pk")).order_by().values("link").annotate(n=Sum("clicks")).values("n")
        return selectors.annotate_link_counts(super().get_queryset(request)).annotate(
            n_clicks=Coalesce(Subquery(clicks, output_field=IntegerField()), 0))

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return ("survey", "creator", "token", "share", "click_link", "clicks") if obj else ("token", "share", "click_link", "clicks")

    @admin.display(description="responses", ordering="response_count")
    def responses(self, obj: CreatorLink) -> int:
        return obj.response_count

    share = CreatorLinkInline.share
    flags = CreatorLinkInline.flags

    class Media:
        js = ADMIN_JS
        css = {"all": ("surveys/admin.css",)}

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[Any, Any, Any, list[str]]:
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)
        if protected:
            protected = ["Links with responses cannot be deleted: deactivate them instead (responses are kept)."]
            perms = set()  # responses are never deletable here; say why instead of "no permission"
        return deleted, counts, perms, protected

    @admin.action(description="Deactivate the selected links", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        tokens = list(queryset.values_list("token", flat=True))
        count = queryset.update(active=False)
        caching.forget_links(tokens)  # update() sends no signals
        self.message_user(request, f"Deactivated {count} link(s).")


# --- responses --------------------------------------------------------------------------------


class TestResponseFilter(admin.SimpleListFilter):
    """Preview (test) responses are hidden unless asked for."""

    title = "test responses"
    parameter_name = "test"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("only", "Only test responses"), ("all", "Real and test")]

    def choices(self, changelist: Any) -> Any:
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=[self.parameter_name]),
            "display": "Real responses only",
        }
        for lookup, title in self.lookup_choices:
            yield {
                "selected": self.value() == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "only":
            return queryset.filter(is_test=True)
        if self.value() == "all":
            return queryset
        return queryset.filter(is_test=False)


@admin.register(Response)
class ResponseAdmin(BrandScopedAdmin):
    """Responses are read-only; owners and editors may delete them (respondents' erasure requests)."""

    brand_path = "survey__brand"
    list_display = (
        "id",
        "survey",
        "creator",
        "creator_tier",
        "source",
        "submitted_at",
        "completion_seconds",
        "flag_speeder",
        "flag_straightliner",
        "flag_attention",
        "flag_duplicate",
        "flag_honeypot",
        "is_test",
    )
    list_filter = (
        TestResponseFilter,
        "creator_tier",
        "source",
        "flag_speeder",
        "flag_straightliner",
        "flag_attention",
        "flag_duplicate",
        "flag_honeypot",
        ("survey", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("=id", "creator__handle", "external_id")
    list_select_related = ("survey", "creator")
    show_full_result_count = False
    date_hierarchy = "submitted_at"
    exclude = ("respondent_hash", "form_token")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class ApiTokenForm(forms.ModelForm):
    class Meta:
        model = ApiToken
        fields = ["name"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Each user creates and revokes their own API tokens; the key is shown once."""

    form = ApiTokenForm
    list_display = ("name", "prefix", "user", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "created_at", "last_used_at", "revoked_at")
    actions = ("revoke",)

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        queryset = super().get_queryset(request).select_related("user")
        return queryset if request.user.is_superuser else queryset.filter(user=request.user)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return self.has_module_permission(request) and (obj is None or request.user.is_superuser or obj.user_id == request.user.pk)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self.has_module_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is None:
            raise Http404("No such token.")
        return obj

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Any, change: bool) -> None:
        token, key = tokens.issue_token(request.user, obj.name)
        obj.pk, obj.prefix, obj.created_at = token.pk, token.prefix, token.created_at
        self.message_user(request, f"Your new token (copy it now; it is not shown again): {key}", messages.WARNING)

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        for token in queryset:
            tokens.revoke_token(token)
        self.message_user(request, f"Revoked {queryset.count()} token(s).")


from surveys import admin_team  # noqa: E402,F401 - registers the team and webhook admins
from surveys import admin_outcomes  # noqa: E402,F401 - registers the outcome admins
