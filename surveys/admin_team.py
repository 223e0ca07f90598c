"""Admin for a brand's team (members, invitations, audit log) and its webhooks. Thin: team and webhooks decide."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.utils.html import format_html

from surveys import access, team, webhooks
from surveys.admin import BrandScopedAdmin, add_errors
from surveys.choices import Role
from surveys.models import (
    AuditEvent,
    Brand,
    Invitation,
    Membership,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

OWNERS = frozenset({Role.OWNER})


def _owned_brands(request: HttpRequest) -> QuerySet[Brand]:
    if request.user.is_superuser:
        return Brand.objects.all()
    return Brand.objects.filter(pk__in=access.brand_ids(request.user, OWNERS))


# --- members ------------------------------------------------------------------------------------


class MembershipForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ["user", "brand", "role"]


@admin.register(Membership)
class MembershipAdmin(BrandScopedAdmin):
    """Owners see their brands' members, change roles and remove members; new members come by invitation."""

    form = MembershipForm
    view_roles = OWNERS
    edit_roles = OWNERS
    list_display = ("user", "email", "brand", "role", "created_at")
    list_filter = ("role", ("brand", admin.RelatedOnlyFieldListFilter))
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "brand")

    @admin.display(description="email", ordering="user__email")
    def email(self, obj: Membership) -> str:
        return obj.user.email

    def has_add_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser  # everyone else invites

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return ("user", "brand", "created_at") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            team.audit(obj.brand, request.user, AuditEvent.Action.JOINED, obj.user.get_username(), role=obj.role, added_by_admin=True)
            return
        team.change_role(obj, role=obj.role, by=request.user)

    def changeform_view(self, request: HttpRequest, object_id: str | None = None, form_url: str = "", extra_context: Any = None) -> Any:
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.path)

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        team.remove_member(obj, by=request.user)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for membership in queryset:
            team.remove_member(membership, by=request.user)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> Any:
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect("../change/")

    def response_action(self, request: HttpRequest, queryset: QuerySet) -> Any:
        try:
            return super().response_action(request, queryset)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return None


# --- invitations --------------------------------------------------------------------------------


class InvitationForm(forms.ModelForm):
    class Meta:
        model = Invitation
        fields = ["brand", "email", "role"]


@admin.register(Invitation)
class InvitationAdmin(BrandScopedAdmin):
    """Owners invite people by email with a role; the link in the email works once and expires in a week."""

    form = InvitationForm
    view_roles = OWNERS
    edit_roles = OWNERS
    list_display = ("email", "brand", "role", "state", "invited_by", "created_at", "expires_at")
    list_filter = ("role", ("brand", admin.RelatedOnlyFieldListFilter))
    search_fields = ("email",)
    list_select_related = ("brand", "invited_by")
    actions = ("revoke", "resend")

    @admin.display(description="state")
    def state(self, obj: Invitation) -> str:
        return obj.state

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False  # an invitation is sent, revoked or re-sent; never edited

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "brand":
            kwargs["queryset"] = _owned_brands(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        owned = list(_owned_brands(request).values_list("pk", flat=True)[:2])
        return {"brand": owned[0]} if len(owned) == 1 else {}

    def save_model(self, request: HttpRequest, obj: Invitation, form: Any, change: bool) -> None:
        invitation, _ = team.invite_member(brand=obj.brand, email=obj.email, role=obj.role, invited_by=request.user)
        obj.pk, obj.key_hash, obj.expires_at, obj.created_at = invitation.pk, invitation.key_hash, invitation.expires_at, invitation.created_at
        self.message_user(request, f"Invitation emailed to {invitation.email}; the link works until {invitation.expires_at:%d %b %Y %H:%M} UTC.")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form_class = super().get_form(request, obj, change, **kwargs)

        class Checked(form_class):  # type: ignore[misc, valid-type]
            def clean(self) -> dict[str, Any]:
                data = super().clean()
                brand, email = data.get("brand"), data.get("email")
                if brand and email and Membership.objects.filter(brand=brand, user__email__iexact=email).exists():
                    self.add_error("email", f"{email} is already a member of {brand.name}.")
                return data

        return Checked

    @admin.action(description="Revoke the selected invitations")
    def revoke(self, request: HttpRequest, queryset: QuerySet) -> None:
        for invitation in queryset.select_related("brand"):
            team.revoke_invitation(invitation, by=request.user)
        self.message_user(request, f"Revoked {queryset.count()} invitation(s); their links no longer work.")

    @admin.action(description="Send the selected invitations again (new links)")
    def resend(self, request: HttpRequest, queryset: QuerySet) -> None:
        sent = 0
        for invitation in queryset.select_related("brand").filter(accepted_at=None):
            try:
                team.invite_member(brand=invitation.brand, email=invitation.email, role=invitation.role, invited_by=request.user)
                sent += 1
            except ValidationError as exc:
                self.message_user(request, f"{invitation.email}: {' '.join(exc.messages)}", messages.ERROR)
        self.message_user(request, f"Sent {sent} new invitation(s); the old links no longer work.")


@admin.register(AuditEvent)
class AuditEventAdmin(BrandScopedAdmin):
    """Who joined, left or changed role, and when: visible to the brand's owners, never edited."""

    view_roles = OWNERS
    edit_roles = frozenset()
    list_display = ("at", "brand", "action", "subject", "actor", "details")
    list_filter = ("action", ("brand", admin.RelatedOnlyFieldListFilter))
    search_fields = ("subject", "actor__username")
    list_select_related = ("brand", "actor")
    date_hierarchy = "at"

    @admin.display(description="detail")
    def details(self, obj: AuditEvent) -> str:
        return ", ".join(f"{k}: {v}" for k, v in obj.detail.items())

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


# --- webhooks -----------------------------------------------------------------------------------


class WebhookEndpointForm(forms.ModelForm):
    events = forms.MultipleChoiceField(choices=WebhookEvent.choices, widget=forms.CheckboxSelectMultiple,
                                       initial=list(WebhookEvent.values))

    class Meta:
        model = WebhookEndpoint
        fields = ["brand", "url", "events", "description", "active"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            if data.get("url"):
                webhooks.clean_url(data["url"])
        except ValidationError as exc:
            add_errors(self, exc)
        return data


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("at", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return True  # the delivery page itself is brand-scoped by WebhookDeliveryAdmin


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(BrandScopedAdmin):
    """A brand's webhook endpoints; the signing secret is shown once, when created or rotated."""

    form = WebhookEndpointForm
    list_display = ("url", "brand", "event_list", "active", "failing_since", "disabled_reason")
    list_filter = ("active", ("brand", admin.RelatedOnlyFieldListFilter))
    search_fields = ("url", "description")
    readonly_fields = ("failing_since", "disabled_reason", "created_at", "secret_hint")
    actions = ("rotate_secret", "send_test")

    @admin.display(description="events")
    def event_list(self, obj: WebhookEndpoint) -> str:
        return ", ".join(obj.events)

    @admin.display(description="secret")
    def secret_hint(self, obj: WebhookEndpoint) -> str:
        return f"{obj.secret[:10]}… (shown in full only when created or rotated)" if obj.secret else "—"

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        return (*self.readonly_fields, "brand") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: WebhookEndpoint, form: Any, change: bool) -> None:
        if not self._allowed(request, obj, self.edit_roles):
            raise PermissionDenied
        if change:
            if "active" in form.changed_data and obj.active:
                obj.failing_since, obj.disabled_reason = None, ""
            obj.save()
            webhooks.forget_endpoints(obj.brand_id)
            return
        created = webhooks.create_endpoint(brand=obj.brand, url=obj.url, events=obj.events, description=obj.description)
        obj.pk, obj.secret, obj.created_at = created.pk, created.secret, created.created_at
        self.message_user(request, f"Signing secret (copy it now; it is not shown again): {created.secret}", messages.WARNING)

    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        super().delete_model(request, obj)
        webhooks.forget_endpoints(obj.brand_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        brands = set(queryset.values_list("brand_id", flat=True))
        super().delete_queryset(request, queryset)
        for brand_id in brands:
            webhooks.forget_endpoints(brand_id)

    @admin.action(description="Rotate the signing secret (shows the new one once)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        for endpoint in queryset:
            self.message_user(request, f"New secret for {endpoint.url} (copy it now): {webhooks.rotate_secret(endpoint)}", messages.WARNING)

    @admin.action(description="Send a test event (response.submitted with sample data)")
    def send_test(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        for endpoint in queryset.filter(active=True):
            delivery = webhooks.send_test(endpoint)
            self.message_user(request, format_html("Queued a test delivery to {} ({}).", endpoint.url, delivery.pk))


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(BrandScopedAdmin):
    """Every event sent to an endpoint, with each attempt's status code and duration."""

    brand_path = "endpoint__brand"
    list_display = ("created_at", "event", "endpoint", "status", "attempts", "next_attempt_at", "delivered_at")
    list_filter = ("status", "event")
    search_fields = ("endpoint__url",)
    list_select_related = ("endpoint",)
    readonly_fields = ("id", "endpoint", "event", "status", "attempts", "created_at", "next_attempt_at", "delivered_at", "payload")
    inlines = [WebhookAttemptInline]
    actions = ("retry_now",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return obj is None and super().has_change_permission(request, obj)  # actions only

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    @admin.action(description="Retry now")
    def retry_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        self.require_editable(request, queryset)
        count = webhooks.retry(queryset.filter(endpoint__active=True))
        self.message_user(request, f"Queued {count} deliver{'y' if count == 1 else 'ies'} again.")
