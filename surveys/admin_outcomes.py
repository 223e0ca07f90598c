"""Admin for campaign outcomes: imported orders (read-only; they come from the shop's CSV)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Model
from django.http import HttpRequest

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
        return False  # orders come from `manage.py import_orders`

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


def outcomes_view(modeladmin: admin.ModelAdmin, request: HttpRequest, object_id: str) -> Any:
    """The brand's outcome table: per creator and per tier, with the caveat on reported against verified."""
    from django.template.response import TemplateResponse

    from surveys.outcomes import CAVEAT, main_currency, outcome_rows, outcome_table

    brand = modeladmin.get_object(request, object_id)  # 404 for another brand's
    if not modeladmin.has_view_permission(request, brand):
        raise PermissionDenied
    currency = (request.GET.get("currency") or main_currency(brand)).upper()[:3]
    creators, tiers = outcome_table(outcome_rows(brand, currency=currency))
    context = {**modeladmin.admin_site.each_context(request), "title": f"Outcomes of {brand.name} ({currency})",
               "opts": modeladmin.model._meta, "original": brand, "creators": creators, "tiers": tiers,
               "caveat": CAVEAT, "currency": currency}
    return TemplateResponse(request, "admin/surveys/brand/outcomes.html", context)
