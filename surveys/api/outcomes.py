"""Campaign outcomes through the API: orders (list, CSV import) and the outcome table per creator and tier."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from surveys import access, orders, outcomes
from surveys.api.auth import BrandRolePermission, TokenRateThrottle
from surveys.api.resources import BrandScopedViewSet, _bool_param, _id_param, _import_input, _import_refused
from surveys.creator_import import ImportRefused
from surveys.models import Brand, Order


class OrderSerializer(serializers.ModelSerializer):
    creator_handle = serializers.CharField(source="creator.handle", read_only=True, default=None)

    class Meta:
        model = Order
        fields = ["id", "brand", "order_id", "placed_at", "amount", "currency", "promo_code", "utm_source", "creator",
                  "creator_handle", "attribution"]


class OrderViewSet(BrandScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Imported orders (filters: ?brand=, ?creator=, ?attribution=); POST ``import/`` adds or updates them from a CSV."""

    serializer_class = OrderSerializer
    ordering_fields = ["id", "placed_at", "amount"]

    def get_queryset(self) -> QuerySet[Order]:
        queryset = self.scoped(Order.objects.select_related("creator")).order_by("-placed_at", "-id")
        params = self.request.query_params
        for name in ("brand", "creator"):
            if params.get(name):
                queryset = queryset.filter(**{name: _id_param(params, name)})
        if params.get("attribution"):
            if params["attribution"] not in Order.Attribution.values:
                raise ValidationError({"attribution": [f"One of {', '.join(Order.Attribution.values)}."]})
            queryset = queryset.filter(attribution=params["attribution"])
        return queryset

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT},
                   parameters=[OpenApiParameter("dry_run", bool, description="check and report, store nothing")])
    @action(detail=False, methods=["post"], url_path="import", pagination_class=None)
    def import_csv(self, request: Request) -> ApiResponse:
        """Import orders from a CSV (multipart ``file`` or ``csv`` text, beside ``brand``): all or nothing, idempotent."""
        brand, text = _import_input(request)
        plan = orders.plan_orders(brand, text)
        if not plan.ok:
            return _import_refused(plan.problems)
        if _bool_param(request.query_params, "dry_run"):
            return ApiResponse({"dry_run": True, "orders": len(plan.rows), "unattributed": plan.unattributed})
        try:
            result = orders.apply_orders(plan)
        except ImportRefused as exc:
            return _import_refused(exc.problems)
        body = {"dry_run": False, "created": result.created, "updated": result.updated, "unchanged": result.unchanged,
                "unattributed": result.unattributed}
        return ApiResponse(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)


class OutcomeViewSet(viewsets.ViewSet):
    """The outcome table of one brand per creator and per tier, the caveat, and the verified-value model (or null)."""

    authentication_classes = BrandScopedViewSet.authentication_classes
    permission_classes = [BrandRolePermission]
    throttle_classes = [TokenRateThrottle]

    @extend_schema(parameters=[OpenApiParameter("brand", int, required=True),
                               OpenApiParameter("currency", str, description="ISO code; default the brand's most used")],
                   responses={200: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    def list(self, request: Request) -> ApiResponse:
        brand_id = _id_param(request.query_params, "brand")
        brand = Brand.objects.filter(pk=brand_id).first()
        if brand is None or not access.has_role(request.user, brand.pk):
            raise ValidationError({"brand": ["Give the id of one of your brands."]})
        currency = (request.query_params.get("currency") or outcomes.main_currency(brand)).upper()
        if not (len(currency) == 3 and currency.isalpha()):
            raise ValidationError({"currency": ["A three-letter ISO code, e.g. EUR."]})
        body: dict[str, Any] = {"brand": brand.pk, **outcomes.section_data(outcomes.outcome_section(brand, currency=currency))}
        return ApiResponse(body)
