"""Admin for campaign outcomes: imported orders (read-only; they come from the shop's CSV, see admin_order_import)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.urls import path

from surveys import admin_order_import
from surveys.admin import BrandScopedAdmin
from surveys.models import Order


@admin.register(Order)
class OrderAdmin(BrandScopedAdmin):
    list_display = ("order_id", "brand", "placed_at", "amount", "currency", "creator", "attribution", "promo_code", "utm_source")
    list_filter = ("attribution", "currency", ("brand", admin.RelatedOnlyFieldListFilter))
    search_fields = ("order_id", "promo_code", "utm_source", "creator__handle")
    list_select_related = ("brand", "creator")
    date_hierarchy = "placed_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # orders come from the CSV import below, `manage.py import_orders` or the API

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_import_permission(self, request: HttpRequest) -> bool:
        """Owners and editors of at least one brand import orders (into those brands only); analysts do not."""
        return self._allowed(request, None, self.edit_roles)

    def get_urls(self) -> list[Any]:
        return [
            path("import/", self.admin_site.admin_view(self.import_view), name="surveys_order_import"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "can_import": self.has_import_permission(request)}
        return super().changelist_view(request, extra_context)

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV of orders, preview what it adds, updates and leaves unattributed, confirm to store it all at once."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        return admin_order_import.import_view(self, request)


def outcomes_view(modeladmin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> Any:
    """The brand's outcome table: per creator and per tier, with the caveat on reported against verified."""
    from django.template.response import TemplateResponse

    from surveys.outcomes import outcome_section

    brand = modeladmin.get_object(request, object_id)  # 404 for another brand's
    if not modeladmin.has_view_permission(request, brand):
        raise PermissionDenied
    section = outcome_section(brand, currency=(request.GET.get("currency") or "").strip()[:3] or None)
    context = {**modeladmin.admin_site.each_context(request), "title": f"Outcomes of {brand.name} ({section['currency']})",
               "opts": modeladmin.model._meta, "original": brand, "creators": section["creators"], "tiers": section["tiers"],
               "caveat": section["caveat"], "currency": section["currency"], "value_model": section["value_model"]}
    return TemplateResponse(request, "admin/surveys/brand/outcomes.html", context)
