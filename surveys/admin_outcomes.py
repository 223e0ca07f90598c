"""Admin for campaign outcomes: imported orders (read-only; they come from the shop's CSV)."""

from __future__ import annotations

from django.contrib import admin
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
