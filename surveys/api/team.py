"""The team and webhook resources: members, invitations, the audit log, webhook endpoints and deliveries."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse

from surveys import access, team, webhooks
from surveys.api.resources import BrandField, BrandScopedViewSet, _id_param
from surveys.choices import Role
from surveys.models import AuditEvent, Brand, Invitation, Membership, WebhookDelivery, WebhookEndpoint, WebhookEvent

OWNERS = frozenset({Role.OWNER})


class OwnedBrandField(BrandField):
    """A brand the user owns; any other id is "invalid"."""

    def get_queryset(self) -> QuerySet[Brand]:
        user = self.context["request"].user
        return Brand.objects.all() if user.is_superuser else Brand.objects.filter(pk__in=access.brand_ids(user, OWNERS))


class MemberSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username", read_only=True)
    email = serializers.CharField(source="user.email", read_only=True)

    class Meta:
        model = Membership
        fields = ["id", "brand", "username", "email", "role", "created_at"]
        read_only_fields = ["brand", "created_at"]


class OwnerScopedViewSet(BrandScopedViewSet):
    """Visible to the brand's owners only; everyone else finds nothing (404)."""

    def scoped(self, queryset: QuerySet) -> QuerySet:
        user = self.request.user
        if user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.brand_path}__in": access.brand_ids(user, OWNERS)})


@extend_schema_view(partial_update=extend_schema(examples=[OpenApiExample("Make an editor an analyst", request_only=True, value={"role": "analyst"})]))
class MemberViewSet(OwnerScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin):
    """Members of the brands the user owns (filter ?brand=): change a role (PATCH) or remove a member (DELETE); a brand keeps one owner."""

    serializer_class = MemberSerializer
    ordering_fields = ["id", "created_at", "role"]

    def get_queryset(self) -> QuerySet[Membership]:
        queryset = self.scoped(Membership.objects.select_related("user", "brand")).order_by("brand__name", "user__username")
        if self.request.query_params.get("brand"):
            queryset = queryset.filter(brand_id=_id_param(self.request.query_params, "brand"))
        return queryset

    def perform_update(self, serializer: MemberSerializer) -> None:
        role = serializer.validated_data.get("role", serializer.instance.role)
        serializer.instance = team.change_role(serializer.instance, role=role, by=self.request.user)

    def perform_destroy(self, membership: Membership) -> None:
        team.remove_member(membership, by=self.request.user)


class InvitationSerializer(serializers.ModelSerializer):
    brand = OwnedBrandField()
    state = serializers.CharField(read_only=True)
    invited_by = serializers.CharField(source="invited_by.username", read_only=True, default=None)

    class Meta:
        model = Invitation
        fields = ["id", "brand", "email", "role", "state", "invited_by", "created_at", "expires_at", "accepted_at"]
        read_only_fields = ["created_at", "expires_at", "accepted_at"]
        extra_kwargs = {"role": {"required": True}}


@extend_schema_view(create=extend_schema(examples=[OpenApiExample("Invite an analyst", request_only=True, value={
    "brand": 1, "email": "analyst@agency.example", "role": "analyst"})]))
class InvitationViewSet(OwnerScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, mixins.DestroyModelMixin):
    """Invitations of the brands the user owns. POST emails a one-time link (never returned here); DELETE revokes it."""

    serializer_class = InvitationSerializer

    def get_queryset(self) -> QuerySet[Invitation]:
        return self.scoped(Invitation.objects.select_related("brand", "invited_by")).order_by("-created_at", "-id")

    def perform_create(self, serializer: InvitationSerializer) -> None:
        data = serializer.validated_data
        serializer.instance, _ = team.invite_member(brand=data["brand"], email=data["email"], role=data["role"],
                                                    invited_by=self.request.user)

    def perform_destroy(self, invitation: Invitation) -> None:
        team.revoke_invitation(invitation, by=self.request.user)


class AuditEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor.username", read_only=True, default=None)

    class Meta:
        model = AuditEvent
        fields = ["id", "brand", "at", "action", "subject", "actor", "detail"]


class AuditEventViewSet(OwnerScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """The audit log of membership and role changes, newest first (owners only)."""

    serializer_class = AuditEventSerializer

    def get_queryset(self) -> QuerySet[AuditEvent]:
        return self.scoped(AuditEvent.objects.select_related("actor")).order_by("-at", "-id")


# --- webhooks -----------------------------------------------------------------------------------


class WebhookEndpointSerializer(serializers.ModelSerializer):
    brand = BrandField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices), required=False,
                                   allow_empty=False)

    class Meta:
        model = WebhookEndpoint
        fields = ["id", "brand", "url", "events", "description", "active", "failing_since", "disabled_reason", "created_at"]
        read_only_fields = ["failing_since", "disabled_reason", "created_at"]

    def validate_url(self, url: str) -> str:
        try:
            return webhooks.clean_url(url)
        except DjangoValidationError as exc:  # clean_url names the field itself; inside a field validator that nests
            raise ValidationError(exc.message_dict.get("url", exc.messages)) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if self.instance is not None and "brand" in attrs and attrs["brand"] != self.instance.brand:
            raise ValidationError({"brand": ["An endpoint cannot move to another brand."]})
        return attrs


class DeliverySerializer(serializers.ModelSerializer):
    attempt_log = serializers.SerializerMethodField()

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event", "status", "attempts", "created_at", "next_attempt_at", "delivered_at", "payload", "attempt_log"]

    def get_attempt_log(self, delivery: WebhookDelivery) -> list[dict[str, Any]]:
        return [{"at": a.at, "status_code": a.status_code, "error": a.error, "duration_ms": a.duration_ms}
                for a in delivery.attempt_log.all()]


@extend_schema_view(create=extend_schema(examples=[OpenApiExample("Hear about new responses", request_only=True, value={
    "brand": 1, "url": "https://crm.example/hooks/trustpoll", "events": ["response.submitted"]})]))
class WebhookEndpointViewSet(
    BrandScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.UpdateModelMixin, mixins.DestroyModelMixin,
):
    """Webhook endpoints. POST answers the signing ``secret`` once; ``rotate_secret`` makes a new one; ``deliveries`` lists attempts."""

    serializer_class = WebhookEndpointSerializer

    def get_queryset(self) -> QuerySet[WebhookEndpoint]:
        return self.scoped(WebhookEndpoint.objects.select_related("brand")).order_by("id")

    def _editable(self, brand_id: int) -> None:
        if not access.has_role(self.request.user, brand_id, access.EDIT_ROLES):
            raise PermissionDenied("Only owners and editors manage webhooks.")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> ApiResponse:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        self._editable(data["brand"].pk)
        endpoint = webhooks.create_endpoint(brand=data["brand"], url=data["url"], events=data.get("events"),
                                            description=data.get("description", ""))
        return ApiResponse({**self.get_serializer(endpoint).data, "secret": endpoint.secret}, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer: WebhookEndpointSerializer) -> None:
        self._editable(serializer.instance.brand_id)
        endpoint = serializer.instance
        data = dict(serializer.validated_data)
        if "events" in data:
            data["events"] = webhooks.clean_events(data["events"])
        if data.get("active") and not endpoint.active:
            endpoint.failing_since, endpoint.disabled_reason = None, ""
        for field, value in data.items():
            setattr(endpoint, field, value)
        endpoint.save()
        webhooks.forget_endpoints(endpoint.brand_id)

    def perform_destroy(self, endpoint: WebhookEndpoint) -> None:
        self._editable(endpoint.brand_id)
        endpoint.delete()
        webhooks.forget_endpoints(endpoint.brand_id)

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def rotate_secret(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Give the endpoint a new signing secret, answered once."""
        endpoint = self.get_object()
        self._editable(endpoint.brand_id)
        return ApiResponse({"id": endpoint.pk, "secret": webhooks.rotate_secret(endpoint)})

    @extend_schema(request=None, responses={202: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path="test")
    def send_test(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Queue a sample response.submitted delivery (``"test": true``) to check the receiver and its signature check."""
        endpoint = self.get_object()
        self._editable(endpoint.brand_id)
        if not endpoint.active:
            raise ValidationError({"active": ["The endpoint is switched off: PATCH active=true first."]})
        delivery = webhooks.send_test(endpoint)
        delivery.refresh_from_db()
        return ApiResponse({"delivery": str(delivery.pk), "status": delivery.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={200: DeliverySerializer(many=True)})
    @action(detail=True, methods=["get"], pagination_class=None)  # the latest 100
    def deliveries(self, request: Request, pk: str | None = None) -> ApiResponse:
        """The endpoint's latest deliveries (100), each with its attempts: status code, error and duration."""
        endpoint = self.get_object()
        recent = endpoint.deliveries.prefetch_related("attempt_log").order_by("-created_at")[:100]
        return ApiResponse(DeliverySerializer(recent, many=True).data)



