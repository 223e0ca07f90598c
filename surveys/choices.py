"""Enumerations shared by every layer."""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    EDITOR = "editor", "Editor"
    ANALYST = "analyst", "Analyst"


class Platform(models.TextChoices):
    INSTAGRAM = "instagram", "Instagram"
    TIKTOK = "tiktok", "TikTok"
    YOUTUBE = "youtube", "YouTube"
    X = "x", "X"
    LINKEDIN = "linkedin", "LinkedIn"
    TWITCH = "twitch", "Twitch"
    BLOG = "blog", "Blog"
    OTHER = "other", "Other"


class Tier(models.TextChoices):
    NANO = "nano", "Nano"
    MICRO = "micro", "Micro"
    MACRO = "macro", "Macro"
    CELEBRITY = "celebrity", "Celebrity"


class SurveyStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    LIVE = "live", "Live"
    CLOSED = "closed", "Closed"


class QuestionKind(models.TextChoices):
    LIKERT = "likert", "Likert (5 or 7 points)"
    SEMANTIC = "semantic", "Semantic differential"
    PROBABILITY = "probability", "0–10 probability / NPS"
    YES_NO = "yes_no", "Yes / no"
    SINGLE = "single", "Single choice"
    MULTIPLE = "multiple", "Multiple choice"
    NUMBER = "number", "Number"
    TEXT = "text", "Short text"


# Kinds whose answers are integers on an ordered scale.
SCALE_KINDS = frozenset({QuestionKind.LIKERT, QuestionKind.SEMANTIC, QuestionKind.PROBABILITY})
# Kinds whose answers can drive a display condition.
CONDITION_SOURCE_KINDS = frozenset(
    {
        QuestionKind.LIKERT,
        QuestionKind.SEMANTIC,
        QuestionKind.PROBABILITY,
        QuestionKind.YES_NO,
        QuestionKind.SINGLE,
        QuestionKind.MULTIPLE,
    }
)


class Construct(models.TextChoices):
    TRUSTWORTHINESS = "trustworthiness", "Trustworthiness"
    EXPERTISE = "expertise", "Expertise"
    ATTRACTIVENESS = "attractiveness", "Attractiveness"
    PURCHASE_INTENT = "purchase_intent", "Purchase intent"
    PURCHASE_PROBABILITY = "purchase_probability", "Purchase probability (Juster)"
    REPORTED_PURCHASE = "reported_purchase", "Reported purchase"
    PURCHASE_COUNT = "purchase_count", "Purchase count"
    SPEND = "spend", "Spend"
    PARASOCIAL = "parasocial", "Parasocial relationship"
    ATTENTION_CHECK = "attention_check", "Attention check"
    DEMOGRAPHIC = "demographic", "Demographic"
    OTHER = "other", "Other"


class AttributionSource(models.TextChoices):
    LINK = "link", "Creator link"
    NAMED = "named", "Named by respondent"
    IMPORT = "import", "File import"
