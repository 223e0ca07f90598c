"""Brand-scoped REST resources. Thin: serializers validate shape, services do the work."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from rest_framework import mixins, serializers, viewsets
from rest_framework.exceptions import PermissionDenied

from surveys import access
from surveys.api.auth import BrandRolePermission, TokenAuthentication
from surveys.models import Brand, Creator


class BrandSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Brand
        fields = ["id", "name", "slug", "privacy_notice_url", "tier_micro_min", "tier_macro_min", "tier_celebrity_min", "role"]

    def get_role(self, brand: Brand) -> str | None:
        return access.brand_roles(self.context["request"].user).get(brand.pk)


class BrandField(serializers.PrimaryKeyRelatedField):
    """A brand the user may edit; any other id is "invalid" (never revealing that it exists)."""

    def get_queryset(self) -> QuerySet[Brand]:
        user = self.context["request"].user
        if user.is_superuser:
            return Brand.objects.all()
        return Brand.objects.filter(pk__in=access.brand_ids(user, access.EDIT_ROLES))


class CreatorSerializer(serializers.ModelSerializer):
    brand = BrandField()

    class Meta:
        model = Creator
        fields = ["id", "brand", "handle", "display_name", "platform", "followers", "tier", "niche", "engagement_rate", "active", "created_at"]
        read_only_fields = ["tier", "created_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        brand = attrs.get("brand") or getattr(self.instance, "brand", None)
        handle = attrs.get("handle", getattr(self.instance, "handle", "")).strip().lstrip("@")
        if self.instance is not None and "brand" in attrs and attrs["brand"] != self.instance.brand:
            raise serializers.ValidationError({"brand": ["A creator cannot move to another brand."]})
        clash = Creator.objects.filter(brand=brand, handle=handle).exclude(pk=getattr(self.instance, "pk", None))
        if handle and clash.exists():
            raise serializers.ValidationError({"handle": [f"@{handle} already exists in this brand."]})
        return attrs


class BrandScopedViewSet(viewsets.GenericViewSet):
    authentication_classes = [TokenAuthentication, *viewsets.GenericViewSet.authentication_classes]
    permission_classes = [BrandRolePermission]
    brand_path = "brand"

    def brand_id_of(self, obj: Any) -> int | None:
        *parents, last = self.brand_path.split("__")
        for name in parents:
            obj = getattr(obj, name)
        return obj.pk if last == "pk" else getattr(obj, f"{last}_id")

    def scoped(self, queryset: QuerySet) -> QuerySet:
        user = self.request.user
        if user.is_superuser:
            return queryset
        # Another brand's objects are simply not found: a 404, never a 403.
        return queryset.filter(**{f"{self.brand_path}__in": access.brand_ids(user)})


class BrandViewSet(BrandScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The brands the user belongs to, with the user's role in each."""

    serializer_class = BrandSerializer
    brand_path = "pk"

    def get_queryset(self) -> QuerySet[Brand]:
        return self.scoped(Brand.objects.all()).order_by("name")


class CreatorViewSet(
    BrandScopedViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    """Creators of the user's brands (filters: ?brand=, ?tier=, ?platform=, ?active=)."""

    serializer_class = CreatorSerializer

    def get_queryset(self) -> QuerySet[Creator]:
        queryset = self.scoped(Creator.objects.select_related("brand")).order_by("display_name", "id")
        params = self.request.query_params
        for field in ("brand", "tier", "platform"):
            if params.get(field):
                queryset = queryset.filter(**{field: params[field]})
        if params.get("active") in ("true", "false"):
            queryset = queryset.filter(active=params["active"] == "true")
        return queryset

    def perform_create(self, serializer: CreatorSerializer) -> None:
        brand = serializer.validated_data["brand"]
        if not access.has_role(self.request.user, brand.pk, access.EDIT_ROLES):
            raise PermissionDenied("Only owners and editors create creators.")
        creator = Creator(**serializer.validated_data)
        creator.full_clean()
        creator.save()
        serializer.instance = creator

    def perform_destroy(self, instance: Creator) -> None:
        if instance.responses.exists():
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"creator": [f"@{instance.handle} has responses: deactivate the creator instead (PATCH active=false)."]})
        instance.delete()
