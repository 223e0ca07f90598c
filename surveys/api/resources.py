"""Brand-scoped REST resources. Thin: serializers validate shape, services do the work."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import OrderingFilter
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.pagination import CursorPagination, PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response as ApiResponse
from rest_framework.reverse import reverse

from surveys import access, analyses, creator_import, design, embed, files
from surveys.api.errors import error_body
from surveys.choices import Platform, Tier
from surveys.api.auth import BrandRolePermission, TokenAuthentication, TokenRateThrottle
from surveys.instruments import INSTRUMENTS
from surveys.models import AnalysisRun, Brand, Creator, CreatorLink, Export, Question, Response, Survey


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


class Pages(PageNumberPagination):
    """Lists come in pages: ``{"count", "next", "previous", "results"}``; ``?page=2&page_size=500``."""

    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class BrandScopedViewSet(viewsets.GenericViewSet):
    authentication_classes = [TokenAuthentication, *viewsets.GenericViewSet.authentication_classes]
    permission_classes = [BrandRolePermission]
    throttle_classes = [TokenRateThrottle]
    filter_backends = [OrderingFilter]
    ordering_fields = ["id"]
    pagination_class = Pages
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


@extend_schema_view(
    create=extend_schema(examples=[OpenApiExample("A micro creator", request_only=True, value={
        "brand": 1, "handle": "ava_bloom", "display_name": "Ava Bloom", "platform": "instagram", "followers": 42000, "niche": "beauty"})]),
)
class CreatorViewSet(
    BrandScopedViewSet,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
):
    """Creators of the user's brands (filters: ?brand=, ?tier=, ?platform=, ?active=; ?ordering=followers, -followers, …)."""

    serializer_class = CreatorSerializer
    ordering_fields = ["id", "handle", "display_name", "followers", "tier", "created_at"]

    def get_queryset(self) -> QuerySet[Creator]:
        queryset = self.scoped(Creator.objects.select_related("brand")).order_by("display_name", "id")
        params = self.request.query_params
        if params.get("brand"):
            queryset = queryset.filter(brand=_id_param(params, "brand"))
        for field in ("tier", "platform"):
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

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def bulk(self, request: Request) -> ApiResponse:
        """Create many creators: a JSON list, or a CSV upload (``file``) with a ``brand`` field.

        Every row is checked; with any bad row nothing is created (errors by row)
        unless ``?partial=true``, which creates the good rows and reports the others.
        """
        rows, brand_id = _bulk_rows(request)
        partial = request.query_params.get("partial") == "true"
        good, errors = [], {}
        seen: set[tuple[Any, str]] = set()
        for number, row in enumerate(rows, start=1):
            if brand_id is not None and isinstance(row, dict):
                row = {**row, "brand": brand_id}
            serializer = CreatorSerializer(data=row, context={"request": request})
            if not serializer.is_valid():
                errors[f"row {number}"] = serializer.errors
                continue
            key = (serializer.validated_data["brand"].pk, serializer.validated_data["handle"].strip().lstrip("@"))
            if key in seen:
                errors[f"row {number}"] = {"handle": [f"@{key[1]} appears twice in this upload."]}
                continue
            seen.add(key)
            good.append(serializer.validated_data)
        if errors and not partial:
            raise ValidationError({"rows": [f"{len(errors)} row(s) are invalid; nothing was created."], **errors})
        for data in good:
            if not access.has_role(request.user, data["brand"].pk, access.EDIT_ROLES):
                raise PermissionDenied("Only owners and editors create creators.")
        with transaction.atomic():
            created = [_save(Creator(**data)) for data in good]
        return ApiResponse(
            {"created": CreatorSerializer(created, many=True, context={"request": request}).data, "errors": errors},
            status=status.HTTP_201_CREATED,
        )

    # The import's answer (one component for both 200 and 201).
    _import_result_schema = inline_serializer("CreatorImportResult", {
        "dry_run": serializers.BooleanField(),
        "created": inline_serializer("CreatorImportCreated", {
            "row": serializers.IntegerField(), "id": serializers.IntegerField(allow_null=True),
            "handle": serializers.CharField(), "display_name": serializers.CharField(),
            "platform": serializers.ChoiceField(choices=Platform.choices), "followers": serializers.IntegerField(),
            "tier": serializers.ChoiceField(choices=Tier.choices), "niche": serializers.CharField(allow_blank=True),
            "engagement_rate": serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)}, many=True),
        "updated": inline_serializer("CreatorImportUpdated", {
            "row": serializers.IntegerField(), "id": serializers.IntegerField(), "handle": serializers.CharField(),
            "changes": serializers.DictField(child=inline_serializer("CreatorImportChange", {
                "from": serializers.JSONField(allow_null=True), "to": serializers.JSONField(allow_null=True)}),
                help_text="Each changing field (the tier too) with its old and new value.")}, many=True),
        "unchanged": serializers.IntegerField(help_text="Rows that match the creator as stored."),
        "errors": serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                        help_text="Dry run only: problems keyed “row 3.followers”, “columns.<name>” or “file”."),
    })

    @extend_schema(
        summary="Import creators from CSV (preview with ?dry_run=true)",
        parameters=[OpenApiParameter("dry_run", OpenApiTypes.BOOL, OpenApiParameter.QUERY,
                                     description="true: only report what the file would create and update (200); nothing is stored.")],
        request={
            "multipart/form-data": inline_serializer("CreatorImportUpload", {
                "brand": serializers.IntegerField(help_text="A brand where you are owner or editor."),
                "file": serializers.FileField(help_text="UTF-8 CSV: handle, display_name, platform, followers, niche, engagement_rate.")}),
            "application/json": inline_serializer("CreatorImportText", {
                "brand": serializers.IntegerField(help_text="A brand where you are owner or editor."),
                "csv": serializers.CharField(help_text="The CSV text, header line first.")}),
        },
        responses={200: _import_result_schema, 201: _import_result_schema, 403: OpenApiTypes.OBJECT},
        examples=[OpenApiExample("CSV text", request_only=True, media_type="application/json", value={
            "brand": 1, "csv": "handle,display_name,platform,followers,niche,engagement_rate\n@ava_bloom,Ava Bloom,Instagram,\"42,000\",beauty,3.5%\n"})],
    )
    @action(detail=False, methods=["post"], url_path="import")
    def import_csv(self, request: Request) -> ApiResponse:
        """Create or update (by handle) a brand's creators from a CSV: all rows or none.

        ``?dry_run=true`` returns the preview with any errors (200). Otherwise any
        error is a 400 by row and column and nothing is stored; success is 201
        when a creator was created, else 200. Re-importing a file changes nothing.
        """
        dry_run = _bool_param(request.query_params, "dry_run")
        brand, text = _import_input(request)
        plan = creator_import.plan_import(brand, text)
        if dry_run:
            return ApiResponse(_import_body(plan, dry_run=True))
        if not plan.ok:
            return _import_refused(plan.problems)
        try:
            result = creator_import.apply_import(plan)
        except creator_import.ImportRefused as exc:
            return _import_refused(exc.problems)
        ids = {c.handle: c.pk for c in result.created}
        body = _import_body(plan, dry_run=False, ids=ids)
        return ApiResponse(body, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK)

    def perform_destroy(self, instance: Creator) -> None:
        if instance.responses.exists():
            from rest_framework.exceptions import ValidationError

            raise ValidationError({"creator": [f"@{instance.handle} has responses: deactivate the creator instead (PATCH active=false)."]})
        instance.delete()


# --- surveys, instruments, links ------------------------------------------------------------


class QuestionSerializer(serializers.ModelSerializer):
    condition = serializers.SerializerMethodField()

    class Meta:
        model = Question
        fields = ["id", "position", "code", "wording", "help_text", "kind", "required", "construct", "reverse_coded",
                  "scale_points", "left_label", "right_label", "choices", "min_value", "max_value", "condition", "instrument"]

    def get_condition(self, question: Question) -> dict[str, Any] | None:
        if not question.condition_question_id:
            return None
        return {"code": question.condition_question.code, "values": question.condition_values}


class SurveySerializer(serializers.ModelSerializer):
    brand = BrandField()
    questions = QuestionSerializer(many=True, read_only=True)
    allowed_origins = serializers.ListField(child=serializers.CharField(max_length=200), required=False)

    class Meta:
        model = Survey
        fields = ["id", "brand", "title", "slug", "status", "intro", "thank_you_text", "language", "privacy_notice_url",
                  "consent_text", "min_age", "opens_at", "closes_at", "allowed_origins", "retention_days", "launched_at",
                  "created_at", "questions"]
        read_only_fields = ["launched_at", "created_at"]

    def to_representation(self, survey: Survey) -> dict[str, Any]:
        data = super().to_representation(survey)
        data["allowed_origins"] = survey.origin_list
        return data

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "allowed_origins" in attrs:
            attrs["allowed_origins"] = "\n".join(attrs["allowed_origins"])
        if self.instance is not None and "brand" in attrs and attrs["brand"] != self.instance.brand:
            raise ValidationError({"brand": ["A survey cannot move to another brand."]})
        return attrs


def _save(instance: Any) -> Any:
    """full_clean() then save: the model's rules (and the refusals after launch) apply to the API too.

    A refusal is Django's ValidationError, which the API's exception handler answers as a 400 by field.
    """
    instance.full_clean()
    instance.save()
    return instance


class QuestionWriteSerializer(serializers.ModelSerializer):
    """A question as written through the API; the model's clean() decides what is valid."""

    condition_code = serializers.CharField(required=False, allow_blank=True, write_only=True)

    class Meta:
        model = Question
        fields = ["id", "survey", "position", "code", "wording", "help_text", "kind", "required", "construct",
                  "reverse_coded", "scale_points", "left_label", "right_label", "choices", "min_value", "max_value",
                  "expected_answer", "condition_code", "condition_values", "instrument"]
        read_only_fields = ["survey", "instrument"]


class QuestionViewSet(BrandScopedViewSet, mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin):
    """One question: PATCH (wording fixes are recorded; breaking changes to answered questions are refused), DELETE."""

    serializer_class = QuestionWriteSerializer
    brand_path = "survey__brand"

    def get_queryset(self) -> QuerySet[Question]:
        return self.scoped(Question.objects.select_related("survey__brand", "condition_question"))

    def perform_update(self, serializer: QuestionWriteSerializer) -> None:
        serializer.instance = _write_question(serializer.instance, serializer.validated_data)

    def perform_destroy(self, question: Question) -> None:
        problem = design.deletion_problem(question)
        if problem:
            raise ValidationError({"question": [problem]})
        question.delete()


def _write_question(question: Question, data: dict[str, Any]) -> Question:
    code = data.pop("condition_code", None)
    for field, value in data.items():
        setattr(question, field, value)
    if code is not None:
        source = question.survey.questions.filter(code=code).first() if code else None
        if code and source is None:
            raise ValidationError({"condition_code": [f"“{code}” is not a question of this survey."]})
        question.condition_question = source
    return _save(question)


class LinkSerializer(serializers.ModelSerializer):
    creator_handle = serializers.CharField(source="creator.handle", read_only=True)
    share_url = serializers.CharField(read_only=True)
    click_url = serializers.CharField(read_only=True)
    embed_snippets = serializers.SerializerMethodField()

    class Meta:
        model = CreatorLink
        fields = ["id", "survey", "creator", "creator_handle", "token", "active", "promo_code", "utm_source", "utm_medium",
                  "utm_campaign", "utm_content", "utm_term", "destination_url", "fee", "product_cost", "currency",
                  "share_url", "click_url", "embed_snippets"]
        read_only_fields = ["survey", "creator", "token"]

    def get_embed_snippets(self, link: CreatorLink) -> dict[str, str]:
        return {label: text for label, text in embed.snippets(link)}


@extend_schema_view(
    create=extend_schema(examples=[OpenApiExample("A draft survey", request_only=True, value={
        "brand": 1, "title": "Creator trust 2026", "slug": "trust-2026", "consent_text": "I agree.", "min_age": 16,
        "allowed_origins": ["https://shop.example"]})]),
    partial_update=extend_schema(examples=[OpenApiExample("Launch", request_only=True, value={"status": "live"})]),
)
class SurveyViewSet(
    BrandScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
    mixins.UpdateModelMixin, mixins.DestroyModelMixin,
):
    """Surveys with their questions (filters: ?brand=, ?slug=, ?status=; ?ordering=title, -created_at, …); status changes follow the admin's rules."""

    serializer_class = SurveySerializer
    ordering_fields = ["id", "title", "slug", "status", "created_at"]

    def get_queryset(self) -> QuerySet[Survey]:
        queryset = self.scoped(Survey.objects.select_related("brand").prefetch_related("questions__condition_question"))
        params = self.request.query_params
        if params.get("brand"):
            queryset = queryset.filter(brand=_id_param(params, "brand"))
        for field in ("slug", "status"):
            if params.get(field):
                queryset = queryset.filter(**{field: params[field]})
        return queryset.order_by("-created_at", "-id")

    def perform_create(self, serializer: SurveySerializer) -> None:
        serializer.instance = _save(Survey(**serializer.validated_data))

    def perform_update(self, serializer: SurveySerializer) -> None:
        survey = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(survey, field, value)
        _save(survey)

    def perform_destroy(self, survey: Survey) -> None:
        if survey.responses.exists():
            raise ValidationError({"survey": ["This survey has responses: close it instead (PATCH status=closed)."]})
        survey.delete()

    def _editable(self, survey: Survey) -> None:
        if not access.has_role(self.request.user, survey.brand_id, access.EDIT_ROLES):
            raise PermissionDenied("Only owners and editors change surveys.")

    @extend_schema(request=QuestionWriteSerializer, responses={200: QuestionSerializer(many=True), 201: QuestionSerializer, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"], pagination_class=None)  # a survey's own questions or links: one list
    def questions(self, request: Request, pk: str | None = None) -> ApiResponse:
        """GET: the survey's questions. POST: add one (the same rules as the admin)."""
        survey = self.get_object()
        if request.method == "GET":
            return ApiResponse(QuestionSerializer(survey.questions.select_related("condition_question"), many=True).data)
        self._editable(survey)
        serializer = QuestionWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.setdefault("position", (survey.questions.order_by("-position").values_list("position", flat=True).first() or 0) + 1)
        question = _write_question(Question(survey=survey), data)
        return ApiResponse(QuestionSerializer(question).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def instruments(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Append a library instrument: {"instrument": "ohanian_1990"}."""
        survey = self.get_object()
        self._editable(survey)
        key = request.data.get("instrument") if isinstance(request.data, dict) else None
        if key not in INSTRUMENTS:
            raise ValidationError({"instrument": [f"Choose one of {', '.join(INSTRUMENTS)}."]})
        try:
            added = design.insert_instrument(survey, key)
        except DjangoValidationError as exc:
            raise ValidationError({"instrument": exc.messages}) from exc
        return ApiResponse(QuestionSerializer(added, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={200: LinkSerializer(many=True), 201: LinkSerializer(many=True), 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get", "post"], pagination_class=None)  # a survey's own questions or links: one list
    def links(self, request: Request, pk: str | None = None) -> ApiResponse:
        """GET: the survey's links. POST {"creators": [ids]}: a link for each (existing ones are kept)."""
        survey = self.get_object()
        if request.method == "POST":
            self._editable(survey)
            ids = request.data.get("creators") if isinstance(request.data, dict) else None
            if not isinstance(ids, list) or not ids or not all(isinstance(i, int) for i in ids):
                raise ValidationError({"creators": ["List creator ids, e.g. [1, 2]."]})
            creators = list(Creator.objects.filter(pk__in=ids, brand_id=survey.brand_id))
            missing = sorted(set(ids) - {c.pk for c in creators})
            if missing:  # another brand's creator is as unknown as a missing one
                raise ValidationError({"creators": [f"Unknown creator(s) for this survey's brand: {missing}."]})
            design.create_links(survey, creators)
        links = survey.links.select_related("creator", "survey__brand").filter(
            **({"creator_id__in": request.data["creators"]} if request.method == "POST" else {})
        )
        return ApiResponse(LinkSerializer(links, many=True).data, status=status.HTTP_201_CREATED if request.method == "POST" else 200)

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def analyses(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Queue an analysis run: {"spec": {...}, "filters": {...}} → 202 with its status URL."""
        survey = self.get_object()
        body = request.data if isinstance(request.data, dict) else {}
        run = analyses.request_analysis(survey, user=request.user, spec=body.get("spec"), filters=body.get("filters"))
        url = reverse("surveys:analysis-detail", args=[run.pk], request=request)
        return ApiResponse({"id": run.pk, "status": run.status, "status_url": url}, status=status.HTTP_202_ACCEPTED, headers={"Location": url})

    @extend_schema(request=OpenApiTypes.OBJECT, responses={201: OpenApiTypes.OBJECT, 202: OpenApiTypes.OBJECT, 400: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def exports(self, request: Request, pk: str | None = None) -> ApiResponse:
        """Queue an export: {"format": "csv", "filters": {...}, "run": id, "creator": id} → 202 with its status URL."""
        survey = self.get_object()
        body = request.data if isinstance(request.data, dict) else {}
        run = survey.analysis_runs.filter(pk=body.get("run")).first() if body.get("run") else None
        if body.get("run") and run is None:
            raise ValidationError({"run": ["Unknown analysis run of this survey."]})
        creator = Creator.objects.filter(pk=body.get("creator"), brand_id=survey.brand_id).first() if body.get("creator") else None
        if body.get("creator") and creator is None:
            raise ValidationError({"creator": ["Unknown creator of this survey's brand."]})
        export = files.request_export(survey, format=str(body.get("format", "")), user=request.user,
                                      filters=body.get("filters"), run=run, creator=creator)
        url = reverse("surveys:export-detail", args=[export.pk], request=request)
        return ApiResponse({"id": export.pk, "status": export.status, "status_url": url}, status=status.HTTP_202_ACCEPTED, headers={"Location": url})


class InstrumentSerializer(serializers.Serializer):
    key = serializers.CharField()
    name = serializers.CharField()
    citation = serializers.CharField()
    description = serializers.CharField()
    codes = serializers.ListField(child=serializers.CharField())


class InstrumentViewSet(viewsets.ViewSet):
    """The scale library."""


    authentication_classes = BrandScopedViewSet.authentication_classes
    permission_classes = [BrandRolePermission]
    throttle_classes = [TokenRateThrottle]

    @extend_schema(responses={200: InstrumentSerializer(many=True)})
    def list(self, request: Request) -> ApiResponse:
        return ApiResponse([
            {"key": i.key, "name": i.name, "citation": i.citation, "description": i.description,
             "codes": [item.code for item in i.items]}
            for i in INSTRUMENTS.values()
        ])


class LinkViewSet(BrandScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.UpdateModelMixin):
    """Creator links (filters: ?survey=, ?creator=, ?active=); PATCH to change UTM fields or deactivate."""

    serializer_class = LinkSerializer
    brand_path = "survey__brand"

    def get_queryset(self) -> QuerySet[CreatorLink]:
        queryset = self.scoped(CreatorLink.objects.select_related("creator", "survey__brand")).order_by("id")
        params = self.request.query_params
        for field in ("survey", "creator"):
            if params.get(field):
                queryset = queryset.filter(**{field: _id_param(params, field)})
        if params.get("active") in ("true", "false"):
            queryset = queryset.filter(active=params["active"] == "true")
        return queryset

    def perform_update(self, serializer: LinkSerializer) -> None:
        link = serializer.instance
        for field, value in serializer.validated_data.items():
            setattr(link, field, value)
        _save(link)


class ResponseSerializer(serializers.ModelSerializer):
    creator_handle = serializers.CharField(source="creator.handle", read_only=True)
    order_id = serializers.CharField(source="order.order_id", read_only=True, default=None, allow_null=True,
                                     help_text="The shop's order id of a post-purchase answer.")

    class Meta:
        model = Response
        # Never the respondent hash or the form token.
        fields = ["id", "survey", "creator", "creator_handle", "link", "source", "creator_tier", "creator_followers",
                  "submitted_at", "completion_seconds", "answers", "not_asked", "utm", "flag_honeypot", "flag_speeder",
                  "flag_straightliner", "flag_attention", "flag_duplicate", "is_test", "external_id", "order_id"]


class ResponseCursor(CursorPagination):
    ordering = "-id"
    page_size = 100
    page_size_query_param = "page_size"
    max_page_size = 1000


class ResponseViewSet(BrandScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Responses, newest first, cursor-paginated (filters: survey, creator, tier, from, to, flagged, test)."""

    serializer_class = ResponseSerializer
    filter_backends: list[Any] = []  # the cursor fixes the order
    pagination_class = ResponseCursor
    brand_path = "survey__brand"

    def get_queryset(self) -> QuerySet[Response]:
        queryset = self.scoped(Response.objects.select_related("creator", "survey__brand", "order"))
        params = self.request.query_params
        errors: dict[str, list[str]] = {}
        for field in ("survey", "creator"):
            if params.get(field):
                if not params[field].isdigit():
                    errors[field] = ["Give an id."]
                else:
                    queryset = queryset.filter(**{field: params[field]})
        if params.get("tier"):
            queryset = queryset.filter(creator_tier=params["tier"])
        for name, lookup in (("from", "submitted_at__date__gte"), ("to", "submitted_at__date__lte")):
            if params.get(name):
                from datetime import date

                try:
                    queryset = queryset.filter(**{lookup: date.fromisoformat(params[name])})
                except ValueError:
                    errors[name] = ["Use a date like 2026-05-31."]
        test = params.get("test", "false")
        if test not in ("true", "false", "all"):
            errors["test"] = ["One of true, false, all."]
        elif test != "all":
            queryset = queryset.filter(is_test=test == "true")
        flagged = params.get("flagged")
        if flagged in ("true", "false"):
            from django.db.models import Q

            any_flag = Q(flag_honeypot=True) | Q(flag_speeder=True) | Q(flag_straightliner=True) | Q(flag_attention=True) | Q(flag_duplicate=True)
            queryset = queryset.filter(any_flag) if flagged == "true" else queryset.exclude(any_flag)
        elif flagged is not None:
            errors["flagged"] = ["One of true, false."]
        if errors:
            raise ValidationError(errors)
        return queryset


class AnalysisRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = AnalysisRun
        fields = ["id", "survey", "status", "progress", "progress_message", "spec", "filters", "created_at", "started_at",
                  "finished_at", "versions", "warnings", "error", "results"]


class AnalysisRunViewSet(BrandScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Analysis runs; ``results`` once the status is succeeded."""

    serializer_class = AnalysisRunSerializer
    brand_path = "survey__brand"

    def get_queryset(self) -> QuerySet[AnalysisRun]:
        return self.scoped(AnalysisRun.objects.select_related("survey__brand")).order_by("-id")


class ExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = ["id", "survey", "format", "status", "progress_message", "filters", "rows", "size", "error",
                  "created_at", "finished_at", "expires_at", "download_url"]

    def get_download_url(self, export: Export) -> str | None:
        if export.status != Export.Status.READY:
            return None
        return reverse("surveys:export-download", args=[export.pk], request=self.context.get("request"))


class ExportViewSet(BrandScopedViewSet, mixins.ListModelMixin, mixins.RetrieveModelMixin):
    """Exports and, when ready, their permission-checked download URL."""

    serializer_class = ExportSerializer
    brand_path = "survey__brand"

    def get_queryset(self) -> QuerySet[Export]:
        return self.scoped(Export.objects.select_related("survey__brand")).order_by("-id")


def _id_param(params: Any, name: str) -> int:
    """Return the id given as ``?name=``, or raise a 400 naming the parameter."""
    value = params.get(name, "")
    if not value.isdigit() or len(value) > 18:  # ids fit a 64-bit integer
        raise ValidationError({name: ["Give an id."]})
    return int(value)


def _bool_param(params: Any, name: str) -> bool:
    """Return a true/false query parameter (absent: false), or raise a 400 naming it."""
    value = params.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ValidationError({name: ["Give true or false."]})
    return value in ("true", "1")


def _import_input(request: Request) -> tuple[Brand, str]:
    """Return the brand and the CSV text of an import: a multipart ``file`` or a ``csv`` string, beside ``brand``.

    A brand the user is not a member of is "invalid" like a missing one (its
    existence is never revealed); an analyst of the brand gets a 403.
    """
    from django.conf import settings
    from django.core.exceptions import RequestDataTooBig

    try:
        data = request.data if hasattr(request.data, "get") else {}
    except RequestDataTooBig:
        raise ValidationError({"csv": [f"A JSON body is limited to {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes: "
                                       "upload larger files as a multipart “file”."]}) from None
    raw = data.get("brand")
    if isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isascii() and raw.strip().isdigit())):
        raise ValidationError({"brand": ["Give the id of a brand where you are owner or editor."]})
    brand_id = int(raw)
    user = request.user
    brand = Brand.objects.filter(pk=brand_id).first() if 0 < brand_id < 2**63 else None
    if brand is None or not (user.is_superuser or brand_id in access.brand_roles(user)):
        raise ValidationError({"brand": [f"Invalid pk \"{raw}\" - object does not exist."]})
    if not access.has_role(user, brand_id, access.EDIT_ROLES):
        raise PermissionDenied("Only owners and editors import files.")
    upload = request.FILES.get("file")
    text = data.get("csv")
    if upload is not None and text is not None:
        raise ValidationError({"csv": ["Send the CSV either as a file or as text, not both."]})
    if upload is not None:
        field, size = "file", upload.size
    elif isinstance(text, str):
        field, size = "csv", len(text.encode("utf-8", errors="surrogatepass"))
    else:
        raise ValidationError({"file": ["Send the CSV as a multipart “file”, or as “csv” text in a JSON body."]})
    if size > creator_import.MAX_BYTES:
        raise ValidationError({field: [f"At most {creator_import.MAX_BYTES // 1_000_000} MB: split the file."]})
    if upload is None:
        return brand, text
    try:
        return brand, creator_import.decode_upload(upload.read(creator_import.MAX_BYTES + 1))
    except creator_import.ImportRefused as exc:
        raise ValidationError({"file": [p.message for p in exc.problems]}) from None


def _import_errors(problems: list[creator_import.ImportProblem]) -> dict[str, list[str]]:
    """Return import problems keyed as the error shape flattens them: ``row 3.followers``, ``columns.x``, ``file``."""
    errors: dict[str, list[str]] = {}
    for problem in problems:
        if problem.row is not None:
            key = f"row {problem.row}.{problem.column}"
        else:
            key = f"columns.{problem.column}" if problem.column is not None else "file"
        errors.setdefault(key, []).append(problem.message)
    return errors


def _import_refused(problems: list[creator_import.ImportProblem]) -> ApiResponse:
    rows = len({p.row for p in problems if p.row is not None})
    detail = f"{rows} row(s) are invalid; nothing was imported." if rows else "The file cannot be imported; nothing was stored."
    return ApiResponse(error_body(detail, _import_errors(problems)), status=status.HTTP_400_BAD_REQUEST)


def _json_value(value: Any) -> Any:
    """Return a plan value as the creator serializer shows it (decimals as "3.50")."""
    from decimal import Decimal

    return str(value) if isinstance(value, Decimal) else value


def _import_body(plan: creator_import.ImportPlan, *, dry_run: bool, ids: dict[str, int] | None = None) -> dict[str, Any]:
    """Return the import's answer: rows to create (with ids once stored), updates with their changes, counts, errors."""
    defaults = {"niche": "", "engagement_rate": None}
    return {
        "dry_run": dry_run,
        "created": [
            {"row": row.row, "id": (ids or {}).get(row.handle),
             **{name: _json_value(value) for name, value in {**defaults, **row.values}.items()}}
            for row in plan.rows_to("create")
        ],
        "updated": [
            {"row": row.row, "id": row.creator_id, "handle": row.handle,
             "changes": {name: {"from": _json_value(old), "to": _json_value(new)} for name, (old, new) in row.changes.items()}}
            for row in plan.rows_to("update")
        ],
        "unchanged": len(plan.rows_to("unchanged")),
        "errors": _import_errors(plan.problems),
    }


def _bulk_rows(request: Request) -> tuple[list[Any], Any]:
    """Return the rows of a bulk upload (JSON list or CSV file) and the brand given beside a CSV."""
    import csv
    import io

    upload = request.FILES.get("file") if hasattr(request, "FILES") else None
    if upload is not None:
        try:
            raw = upload.read(5_000_001)
            if len(raw) > 5_000_000:
                raise ValidationError({"file": ["The file is larger than 5 MB: split it."]})
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"file": ["The file is not UTF-8 text."]}) from None
        rows = [{k: v for k, v in row.items() if v not in ("", None)} for row in csv.DictReader(io.StringIO(text))]
        brand = request.data.get("brand")
        if not brand:
            raise ValidationError({"brand": ["Give the brand id beside the CSV file."]})
        return rows, brand
    data = request.data
    if isinstance(data, dict):
        data = data.get("creators")
    if not isinstance(data, list) or not data:
        raise ValidationError({"creators": ["Send a JSON list of creators, or a CSV file as “file”."]})
    if len(data) > 10_000:
        raise ValidationError({"creators": ["At most 10,000 creators per request."]})
    return data, None
