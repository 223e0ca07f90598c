"""TrustPoll's data model.

Brand (tenant) ─┬─ Membership (user, role)
                ├─ Creator ──────────────┐
                └─ Survey ─ Question     │
                      └─ CreatorLink ◄───┘ (one per survey and creator)
                      └─ Response (attributed to a creator, usually through a link)
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models, transaction
from django.db.models import Case, Value, When
from django.utils import timezone

from surveys.choices import (
    CONDITION_SOURCE_KINDS,
    SCALE_KINDS,
    AttributionSource,
    Construct,
    Platform,
    QuestionKind,
    Role,
    SurveyStatus,
    Tier,
)
from surveys.codes import validate_code
from surveys.tiers import Thresholds, tier_for


def _now() -> datetime:
    """Return the current time (a seam for tests)."""
    return timezone.now()


def new_link_token() -> str:
    """Return an unguessable URL-safe token with 128 bits of randomness."""
    return secrets.token_urlsafe(16)


class Brand(models.Model):
    """A tenant: a company that runs surveys about the creators it pays."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    privacy_notice_url = models.URLField(
        blank=True, help_text="Shown on every poll of this brand unless a survey sets its own."
    )
    tier_micro_min = models.PositiveIntegerField(
        "micro tier from", default=10_000, help_text="Fewest followers of a micro creator."
    )
    tier_macro_min = models.PositiveIntegerField(
        "macro tier from", default=100_000, help_text="Fewest followers of a macro creator."
    )
    tier_celebrity_min = models.PositiveIntegerField(
        "celebrity tier from", default=1_000_000, help_text="Fewest followers of a celebrity."
    )
    # Signs the order id and amount the brand's shop puts in a post-purchase poll's address (surveys.attribution).
    order_secret = models.CharField(
        max_length=80, blank=True, editable=False, help_text="Signs post-purchase poll addresses; shown once."
    )
    created_at = models.DateTimeField(default=_now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.tier_micro_min, self.tier_macro_min, self.tier_celebrity_min)

    def clean(self) -> None:
        try:
            self.thresholds
        except ValueError as exc:
            raise ValidationError({"tier_macro_min": str(exc)}) from exc

    def save(self, *args: Any, **kwargs: Any) -> None:
        previous = None
        if self.pk:
            previous = (
                Brand.objects.filter(pk=self.pk)
                .values_list("tier_micro_min", "tier_macro_min", "tier_celebrity_min")
                .first()
            )
        with transaction.atomic():
            super().save(*args, **kwargs)
            current = (self.tier_micro_min, self.tier_macro_min, self.tier_celebrity_min)
            if previous is not None and previous != current:
                self.creators.update(tier=tier_case(self.thresholds))
                # update() sends no signals; the brand's own post_save drops its cached links after the commit.


def tier_case(thresholds: Thresholds) -> Case:
    """Return a SQL expression computing the tier from the followers column."""
    return Case(
        When(followers__lt=thresholds.micro, then=Value(Tier.NANO.value)),
        When(followers__lt=thresholds.macro, then=Value(Tier.MICRO.value)),
        When(followers__lt=thresholds.celebrity, then=Value(Tier.MACRO.value)),
        default=Value(Tier.CELEBRITY.value),
    )


class Membership(models.Model):
    """A user's role in a brand. A user may belong to several brands."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(default=_now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "brand"], name="membership_unique_user_brand")
        ]
        ordering = ["brand__name", "user__username"]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} of {self.brand}"


class Creator(models.Model):
    """A creator a brand works with. The tier follows the followers and the brand's thresholds."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="creators")
    handle = models.CharField(max_length=100, help_text="Without the @.")
    display_name = models.CharField(max_length=200)
    platform = models.CharField(max_length=20, choices=Platform.choices)
    followers = models.PositiveBigIntegerField()
    niche = models.CharField(max_length=100, blank=True)
    engagement_rate = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
        help_text="Percent, optional.",
    )
    tier = models.CharField(max_length=10, choices=Tier.choices, editable=False, db_index=True)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=_now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "handle"], name="creator_unique_brand_handle")
        ]
        ordering = ["display_name"]

    def __str__(self) -> str:
        return f"{self.display_name} (@{self.handle}, {self.get_tier_display()})"

    def clean(self) -> None:
        self.handle = (self.handle or "").strip().lstrip("@")
        if not self.handle:
            raise ValidationError({"handle": "A handle is required."})

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.handle = self.handle.strip().lstrip("@")
        self.tier = tier_for(self.followers, self.brand.thresholds)
        super().save(*args, **kwargs)


class Survey(models.Model):
    """A poll a brand fields to the followers of its creators."""

    brand = models.ForeignKey(Brand, on_delete=models.CASCADE, related_name="surveys")
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, help_text="Unique within the brand.")
    status = models.CharField(
        max_length=10, choices=SurveyStatus.choices, default=SurveyStatus.DRAFT, db_index=True
    )
    intro = models.TextField(blank=True, help_text="Shown above the questions. {creator} is filled in.")
    thank_you_text = models.TextField(
        blank=True, default="Thank you! Your answers have been recorded."
    )
    language = models.CharField(max_length=10, default="en", help_text="BCP 47 tag, e.g. en, de, pt-BR.")
    privacy_notice_url = models.URLField(blank=True, help_text="Defaults to the brand's notice.")
    consent_text = models.TextField(
        blank=True, help_text="When set, respondents must tick a box agreeing to it."
    )
    min_age = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(99)],
        help_text="When set, respondents must confirm they are at least this old.",
    )
    opens_at = models.DateTimeField(null=True, blank=True)
    closes_at = models.DateTimeField(null=True, blank=True)
    allowed_origins = models.TextField(
        blank=True,
        help_text="Web origins allowed to embed this poll, one per line (https://shop.example). "
        "Empty: any origin.",
    )
    retention_days = models.PositiveIntegerField(
        default=180,
        validators=[MinValueValidator(1)],
        help_text="Days to keep respondent hashes (duplicate detection) before erasing them.",
    )
    post_purchase = models.BooleanField(
        "post-purchase poll",
        default=False,
        help_text="Answered by buyers on the shop's order confirmation page, who name the creator that led them "
        "to buy; not through creator links.",
    )
    launched_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=_now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["brand", "slug"], name="survey_unique_brand_slug")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.brand.slug}/{self.slug})"

    @property
    def origin_list(self) -> list[str]:
        return [line.strip().rstrip("/") for line in self.allowed_origins.splitlines() if line.strip()]

    @property
    def effective_privacy_notice_url(self) -> str:
        return self.privacy_notice_url or self.brand.privacy_notice_url

    def is_open(self, at: datetime | None = None) -> bool:
        """Return whether the survey accepts responses at ``at`` (default now)."""
        at = at or _now()
        if self.status != SurveyStatus.LIVE:
            return False
        if self.opens_at and at < self.opens_at:
            return False
        if self.closes_at and at >= self.closes_at:
            return False
        return True

    def has_responses(self) -> bool:
        return self.responses.filter(is_test=False).exists()

    def clean(self) -> None:
        errors: dict[str, str] = {}
        for origin in self.origin_list:
            parts = urlsplit(origin)
            if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path or parts.query:
                errors["allowed_origins"] = (
                    f"“{origin}” is not a web origin: write scheme and host only, "
                    "like https://shop.example or https://blog.example:8443."
                )
                break
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            errors["closes_at"] = "The closing time must be after the opening time."
        if self.pk:
            old_status = Survey.objects.filter(pk=self.pk).values_list("status", flat=True).first()
            if (
                old_status
                and old_status != SurveyStatus.DRAFT
                and self.status == SurveyStatus.DRAFT
                and self.has_responses()
            ):
                errors["status"] = (
                    "This survey has responses, so it cannot go back to draft; close it instead."
                )
        if self.pk and Survey.objects.filter(pk=self.pk).exclude(post_purchase=self.post_purchase).exists() \
                and self.responses.exists():
            errors["post_purchase"] = (
                "This survey has responses, so it cannot switch between a follower poll and a post-purchase poll; "
                "duplicate it instead."
            )
        if errors:
            raise ValidationError(errors)

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.status == SurveyStatus.LIVE and self.launched_at is None:
            self.launched_at = _now()
        super().save(*args, **kwargs)


class Question(models.Model):
    """One question of a survey. Its ``code`` names its variable in every export."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveIntegerField(default=0)
    code = models.CharField(
        max_length=32,
        validators=[validate_code],
        help_text="Variable name in exports: lowercase letter, then letters, digits or _ (≤ 32).",
    )
    wording = models.TextField(help_text="{creator} is replaced by the creator's name.")
    help_text = models.CharField(max_length=300, blank=True)
    kind = models.CharField(max_length=12, choices=QuestionKind.choices)
    required = models.BooleanField(default=True)
    construct = models.CharField(max_length=24, choices=Construct.choices, default=Construct.OTHER)
    reverse_coded = models.BooleanField(
        default=False, help_text="Scored as min + max − answer (scale questions only)."
    )
    scale_points = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Likert: 5 or 7. Semantic differential: 5 or 7."
    )
    left_label = models.CharField(
        max_length=100, blank=True, help_text="Low anchor (Likert) or left pole (semantic differential)."
    )
    right_label = models.CharField(
        max_length=100, blank=True, help_text="High anchor (Likert) or right pole."
    )
    choices = models.JSONField(
        default=list,
        blank=True,
        help_text='Choice questions: [{"value": 1, "label": "…"}, …] with integer values. '
        "Scale questions: optional labels for every point.",
    )
    min_value = models.FloatField(null=True, blank=True, help_text="Number questions.")
    max_value = models.FloatField(null=True, blank=True, help_text="Number questions.")
    expected_answer = models.JSONField(
        null=True, blank=True, help_text="Attention checks: the answer a careful respondent gives."
    )
    condition_question = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        # RESTRICT: refused alone, allowed when the whole survey is deleted.
        on_delete=models.RESTRICT,
        related_name="dependents",
        help_text="Show this question only when that earlier question …",
    )
    condition_values = models.JSONField(
        default=list, blank=True, help_text="… has one of these answers, e.g. [1]."
    )
    instrument = models.CharField(
        max_length=60, blank=True, help_text="The library instrument this item came from."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "code"], name="question_unique_survey_code")
        ]
        ordering = ["survey", "position", "id"]

    def __str__(self) -> str:
        return f"{self.code}: {self.wording[:60]}"

    # -- the answer space ---------------------------------------------------------------

    def scale_bounds(self) -> tuple[int, int] | None:
        """Return (min, max) of an ordered integer answer, or None."""
        if self.kind in (QuestionKind.LIKERT, QuestionKind.SEMANTIC):
            return (1, self.scale_points or 0)
        if self.kind == QuestionKind.PROBABILITY:
            return (0, 10)
        if self.kind == QuestionKind.YES_NO:
            return (0, 1)
        if self.kind == QuestionKind.SINGLE and self.choices:
            values = self.choice_values()
            return (min(values), max(values))
        return None

    def choice_values(self) -> list[int]:
        return [c["value"] for c in self.choices if isinstance(c, dict) and "value" in c]

    def allowed_values(self) -> set[int] | None:
        """Return every valid integer answer, or None for number and text questions."""
        if self.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
            return set(self.choice_values())
        bounds = self.scale_bounds()
        if bounds is None:
            return None
        return set(range(bounds[0], bounds[1] + 1))

    def render_wording(self, creator_name: str) -> str:
        return self.wording.replace("{creator}", creator_name)

    # -- validation ----------------------------------------------------------------------

    def clean(self) -> None:
        errors: dict[str, str] = {}
        kind = self.kind
        if kind in (QuestionKind.LIKERT, QuestionKind.SEMANTIC):
            if self.scale_points not in (5, 7):
                errors["scale_points"] = "Likert and semantic-differential questions have 5 or 7 points."
            if kind == QuestionKind.SEMANTIC and not (self.left_label and self.right_label):
                errors["left_label"] = "A semantic differential needs a left and a right pole."
        elif self.scale_points is not None:
            errors["scale_points"] = "Only Likert and semantic-differential questions have scale points."
        if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE) or self.choices:
            problem = _choices_problem(self.choices, kind)
            if problem:
                errors["choices"] = problem
        if kind in SCALE_KINDS and self.choices:
            bounds = self.scale_bounds()
            if bounds and sorted(self.choice_values()) != list(range(bounds[0], bounds[1] + 1)):
                errors["choices"] = (
                    f"Point labels of a scale question must cover every point {bounds[0]}…{bounds[1]}."
                )
        if kind == QuestionKind.NUMBER:
            if self.min_value is not None and self.max_value is not None and self.min_value > self.max_value:
                errors["max_value"] = "The maximum must not be below the minimum."
        elif self.min_value is not None or self.max_value is not None:
            errors["min_value"] = "Only number questions have a minimum and maximum."
        if self.reverse_coded and kind not in SCALE_KINDS:
            errors["reverse_coded"] = "Only scale questions (Likert, semantic, 0–10) can be reverse-coded."
        if self.construct == Construct.ATTENTION_CHECK:
            allowed = self.allowed_values()
            if self.expected_answer is None:
                errors["expected_answer"] = "An attention check needs the expected answer."
            elif allowed is not None and self.expected_answer not in allowed:
                errors["expected_answer"] = (
                    f"The expected answer must be one of the question's values {sorted(allowed)}."
                )
        self._clean_condition(errors)
        if self.pk and self.survey_id:
            from surveys.design import breaking_change_problem

            problem = breaking_change_problem(self)
            if problem:
                errors[problem[0]] = problem[1]
        if errors:
            raise ValidationError(errors)

    def _clean_condition(self, errors: dict[str, str]) -> None:
        source = self.condition_question
        if source is None:
            if self.condition_values:
                errors["condition_values"] = "Choose the question these values refer to, or clear them."
            return
        if self.pk and source.pk == self.pk:
            errors["condition_question"] = "A question cannot depend on itself."
            return
        if source.survey_id != self.survey_id:
            errors["condition_question"] = "The condition must refer to a question of the same survey."
            return
        if source.kind not in CONDITION_SOURCE_KINDS:
            errors["condition_question"] = (
                "A condition can only depend on a choice, yes/no or scale question."
            )
            return
        if (source.position, source.pk or 0) >= (self.position, self.pk or 1 << 62):
            errors["condition_question"] = "A condition must refer to an earlier question."
            return
        values = self.condition_values
        allowed = source.allowed_values() or set()
        if not isinstance(values, list) or not values:
            errors["condition_values"] = "List the answers that show this question, e.g. [1]."
        elif any(isinstance(v, bool) or not isinstance(v, int) or v not in allowed for v in values):
            errors["condition_values"] = f"Each value must be one of {sorted(allowed)}."

    def save(self, *args: Any, **kwargs: Any) -> None:
        old_wording = None
        if self.pk:
            old_wording = Question.objects.filter(pk=self.pk).values_list("wording", flat=True).first()
        with transaction.atomic():
            super().save(*args, **kwargs)
            if old_wording != self.wording:
                QuestionWording.objects.create(question=self, wording=self.wording)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        from surveys.design import deletion_problem

        problem = deletion_problem(self)
        if problem:
            raise ValidationError(problem)
        return super().delete(*args, **kwargs)


def _choices_problem(choices: Any, kind: str) -> str | None:
    if not isinstance(choices, list) or not choices:
        return 'List the choices as [{"value": 1, "label": "…"}, …].'
    seen: set[int] = set()
    for index, choice in enumerate(choices, start=1):
        if not isinstance(choice, dict) or set(choice) != {"value", "label"}:
            return f'Choice {index} must be {{"value": <integer>, "label": "<text>"}}.'
        value = choice["value"]
        if isinstance(value, bool) or not isinstance(value, int):
            return f"Choice {index}: the value must be an integer (SPSS/Stata value labels need one)."
        if not isinstance(choice["label"], str) or not choice["label"].strip():
            return f"Choice {index}: the label must be non-empty text."
        if value in seen:
            return f"Choice {index}: the value {value} is used twice."
        seen.add(value)
    if kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE) and len(choices) < 2:
        return "A choice question needs at least two choices."
    return None


class QuestionWording(models.Model):
    """Every wording a question has had, with the time it took effect."""

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="wordings")
    wording = models.TextField()
    recorded_at = models.DateTimeField(default=_now)

    class Meta:
        ordering = ["question", "recorded_at", "id"]

    def __str__(self) -> str:
        return f"{self.question.code} @ {self.recorded_at:%Y-%m-%d %H:%M}"


class CreatorLink(models.Model):
    """The link (and embed) through which one creator's followers answer one survey."""

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="links")
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="links")
    token = models.CharField(max_length=43, unique=True, default=new_link_token, editable=False)
    utm_source = models.CharField(max_length=100, blank=True)
    utm_medium = models.CharField(max_length=100, blank=True)
    utm_campaign = models.CharField(max_length=100, blank=True)
    utm_content = models.CharField(max_length=100, blank=True)
    utm_term = models.CharField(max_length=100, blank=True)
    promo_code = models.CharField(max_length=60, blank=True)
    destination_url = models.URLField(blank=True, help_text="Where the creator's click-through leads.")
    fee = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                              validators=[MinValueValidator(0)], help_text="What the creator is paid for this collaboration.")
    product_cost = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True,
                                       validators=[MinValueValidator(0)], help_text="Cost of the products sent to the creator.")
    currency = models.CharField(max_length=3, blank=True, help_text="ISO 4217 code of the fee and product cost, e.g. EUR.")
    active = models.BooleanField(
        default=True, help_text="Inactive links take no new responses; old ones are kept."
    )
    created_at = models.DateTimeField(default=_now, editable=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["survey", "creator"], name="link_unique_survey_creator")
        ]
        ordering = ["survey", "creator__display_name"]

    def __str__(self) -> str:
        return f"{self.creator.handle} → {self.survey.slug}"

    def clean(self) -> None:
        if self.survey_id and self.creator_id and self.creator.brand_id != self.survey.brand_id:
            raise ValidationError({"creator": "The creator belongs to another brand than the survey."})
        self.currency = self.currency.strip().upper()
        if self.currency and not (len(self.currency) == 3 and self.currency.isalpha()):
            raise ValidationError({"currency": "Use a three-letter ISO 4217 code, e.g. EUR or USD."})
        if (self.fee is not None or self.product_cost is not None) and not self.currency:
            raise ValidationError({"currency": "Give the currency of the fee and product cost."})

    @property
    def click_url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL}/r/{self.token}/"

    @property
    def share_url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL}/s/{self.token}/"

    @property
    def embed_url(self) -> str:
        return f"{settings.PUBLIC_BASE_URL}/s/{self.token}/embed/"


class Response(models.Model):
    """One follower's completed poll.

    Storage choice: one row per response, answers in one JSON column keyed by the
    question code (``{"tru_1": 6, "bought": 1, "topics": [2, 5]}``). Ingest is one
    INSERT in one transaction whatever the survey's length, where an
    answer-per-row design needs one row per question (20–40 rows, and 20–40
    times the index maintenance and WAL). Reading a million responses for
    analysis is one sequential scan of one table: the JSON decodes straight into
    a pandas frame with the codes as columns, with no pivot and no join. Codes
    can be used as keys because they cannot change once a question has answers.
    Questions hidden by a display condition are listed in ``not_asked`` so the
    analysis can tell "not asked" from "skipped". The creator's tier and follower
    count are copied at response time so later follower growth does not move old
    answers to another tier.
    """

    survey = models.ForeignKey(Survey, on_delete=models.PROTECT, related_name="responses")
    creator = models.ForeignKey(Creator, on_delete=models.PROTECT, related_name="responses")
    link = models.ForeignKey(
        CreatorLink, null=True, blank=True, on_delete=models.PROTECT, related_name="responses"
    )
    source = models.CharField(
        max_length=10, choices=AttributionSource.choices, default=AttributionSource.LINK
    )
    creator_tier = models.CharField(max_length=10, choices=Tier.choices)
    creator_followers = models.PositiveBigIntegerField()
    submitted_at = models.DateTimeField(default=_now)
    started_at = models.DateTimeField(null=True, blank=True)
    completion_seconds = models.FloatField(null=True, blank=True)
    answers = models.JSONField(default=dict)
    not_asked = models.JSONField(default=list, blank=True)
    utm = models.JSONField(default=dict, blank=True, help_text="UTM parameters of the page the poll was opened on.")
    consent = models.BooleanField(null=True, blank=True)
    age_confirmed = models.BooleanField(null=True, blank=True)
    # Quality flags: set at submission, never acted on silently (see collection.flag_response).
    flag_honeypot = models.BooleanField("honeypot filled", default=False)
    flag_speeder = models.BooleanField("speeder", default=False)
    flag_straightliner = models.BooleanField("straightliner", default=False)
    flag_attention = models.BooleanField("failed attention check", default=False)
    flag_duplicate = models.BooleanField("possible duplicate", default=False)
    is_test = models.BooleanField(default=False, help_text="Submitted from an admin preview.")
    # Exactly-once key: the form token's nonce, or a key derived from an imported row.
    form_token = models.CharField(max_length=64, unique=True, null=True, blank=True)
    external_id = models.CharField(max_length=100, blank=True, help_text="Id given by an imported file.")
    # A post-purchase answer's order, signed by the brand's shop: one answer per order.
    order = models.OneToOneField(
        "surveys.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="post_purchase_response"
    )
    # Keyed hash (HMAC) of client address and user agent; erased after the retention period.
    respondent_hash = models.CharField(max_length=64, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["survey", "submitted_at"], name="response_survey_time"),
            models.Index(fields=["survey", "creator"], name="response_survey_creator"),
            models.Index(fields=["survey", "is_test"], name="response_survey_test"),
            models.Index(fields=["survey", "respondent_hash"], name="response_survey_respondent"),
        ]
        ordering = ["-submitted_at", "-id"]

    def __str__(self) -> str:
        return f"Response {self.pk} to {self.survey.slug} via @{self.creator.handle}"


class AnalysisRun(models.Model):
    """One requested analysis of a survey: its spec, filters, progress and stored results."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="analysis_runs")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    spec = models.JSONField(default=dict, help_text="Structured model options (see the README).")
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.PositiveSmallIntegerField(default=0)
    progress_message = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=_now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    versions = models.JSONField(default=dict, blank=True)
    warnings = models.JSONField(default=list, blank=True)
    results = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Analysis {self.pk} of {self.survey.slug} ({self.get_status_display()})"

    @property
    def seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None


class Export(models.Model):
    """A data file or report built for download; served only through a permission-checked view."""

    class Format(models.TextChoices):
        CSV = "csv", "CSV"
        XLSX = "xlsx", "Excel (.xlsx)"
        SAV = "sav", "SPSS (.sav)"
        DTA = "dta", "Stata (.dta)"
        CODEBOOK = "codebook", "Codebook (CSV)"
        CODEBOOK_JSON = "codebook-json", "Codebook (JSON)"
        BUNDLE = "bundle", "Reproducible bundle (.zip)"
        REPORT = "report", "Survey report (HTML)"
        CREATOR_REPORT = "creator-report", "Creator report (HTML)"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="exports")
    run = models.ForeignKey(AnalysisRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="exports")
    creator = models.ForeignKey(Creator, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    format = models.CharField(max_length=16, choices=Format.choices)
    filters = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress_message = models.CharField(max_length=200, blank=True)
    path = models.CharField(max_length=300, blank=True, editable=False)
    filename = models.CharField(max_length=200, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    rows = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=_now, editable=False)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} of {self.survey.slug} ({self.get_status_display()})"


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 hash is stored; the key is shown once, at creation."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. “CRM sync”.")
    prefix = models.CharField(max_length=8, editable=False, help_text="The first characters, to recognise the token.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(default=_now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None


from surveys.models.team import AuditEvent, Invitation  # noqa: E402
from surveys.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent  # noqa: E402
from surveys.models.outcomes import ClickCount, Order  # noqa: E402
