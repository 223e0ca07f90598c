"""Survey design services: instruments, duplication, links, and the rules that protect collected data."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max

from surveys.choices import SurveyStatus
from surveys.instruments import get_instrument
from surveys.models import Creator, CreatorLink, Question, Response, Survey

# Changing these on an answered question would silently change what stored answers mean.
_BREAKING_FIELDS = {
    "code": "code",
    "kind": "kind",
    "scale_points": "number of scale points",
}


def question_is_answered(survey_id: int, code: str) -> bool:
    """Return whether any real (non-test) response holds an answer to ``code``."""
    return Response.objects.filter(survey_id=survey_id, is_test=False, answers__has_key=code).exists()


def breaking_change_problem(question: Question) -> tuple[str, str] | None:
    """Return (field, message) when saving ``question`` would break its collected answers."""
    old = Question.objects.filter(pk=question.pk).first()
    if old is None:
        return None
    changed = [
        label for name, label in _BREAKING_FIELDS.items() if getattr(old, name) != getattr(question, name)
    ]
    field = next((name for name in _BREAKING_FIELDS if getattr(old, name) != getattr(question, name)), None)
    if old.choice_values() and sorted(old.choice_values()) != sorted(question.choice_values()):
        changed.append("choice values")
        field = field or "choices"
    if not changed or not question_is_answered(old.survey_id, old.code):
        return None
    return (
        field or "code",
        f"“{old.code}” already has answers, so its {', '.join(changed)} cannot change: "
        "that would change what the stored answers mean. Fix the wording only, "
        "or add a new question with a new code.",
    )


def deletion_problem(question: Question) -> str | None:
    """Return why ``question`` cannot be deleted, or None."""
    if question_is_answered(question.survey_id, question.code):
        return (
            f"“{question.code}” already has answers and cannot be deleted; "
            "its data would be lost. Make it optional or close the survey instead."
        )
    dependents = list(question.dependents.values_list("code", flat=True))
    if dependents:
        return f"“{question.code}” is the display condition of {', '.join(dependents)}; change those first."
    return None


def _next_position(survey: Survey) -> int:
    return (survey.questions.aggregate(m=Max("position"))["m"] or 0) + 1


@transaction.atomic
def insert_instrument(survey: Survey, instrument_key: str, *, constructs: Collection[str] | None = None) -> list[Question]:
    """Append the questions of a library instrument to ``survey`` (only ``constructs``' items if given); return them."""
    instrument = get_instrument(instrument_key)
    items = [item for item in instrument.items if constructs is None or item.construct in constructs]
    existing = {q.code: q for q in survey.questions.all()}
    clashes = [item.code for item in items if item.code in existing]
    if clashes:
        raise ValidationError(
            f"{instrument.name} cannot be added: the survey already has the codes {', '.join(clashes)}."
        )
    position = _next_position(survey)
    created: list[Question] = []
    by_code = dict(existing)
    for offset, item in enumerate(items):
        question = Question(survey=survey, position=position + offset, instrument=instrument.key, **item.question_fields())
        if item.condition_code:
            question.condition_question = by_code[item.condition_code]
        question.full_clean()
        question.save()
        by_code[question.code] = question
        created.append(question)
    return created


def _copy_questions(source: Survey, target: Survey) -> None:
    mapping: dict[int, Question] = {}
    for question in source.questions.order_by("position", "id"):
        old_pk, condition_id = question.pk, question.condition_question_id
        question.pk = None
        question.id = None
        question._state.adding = True
        question.survey = target
        question.condition_question = mapping.get(condition_id) if condition_id else None
        question.save()
        mapping[old_pk] = question


def unique_slug(survey: Survey, base: str) -> str:
    """Return ``base`` or ``base-2``, ``base-3``… whichever is free in the survey's brand."""
    slugs = set(Survey.objects.filter(brand=survey.brand).values_list("slug", flat=True))
    candidate, n = base[:60], 2
    while candidate in slugs:
        suffix = f"-{n}"
        candidate = f"{base[: 60 - len(suffix)]}{suffix}"
        n += 1
    return candidate


@transaction.atomic
def duplicate_survey(survey: Survey) -> Survey:
    """Return a draft copy of ``survey`` with its questions (no links, no responses)."""
    copy = Survey.objects.get(pk=survey.pk)
    copy.pk = None
    copy._state.adding = True
    copy.slug = unique_slug(survey, f"{survey.slug}-copy")
    copy.title = f"{survey.title} (copy)"
    copy.status = SurveyStatus.DRAFT
    copy.launched_at = None
    copy.save()
    _copy_questions(survey, copy)
    return copy


@transaction.atomic
def create_links(survey: Survey, creators: Iterable[Creator]) -> tuple[list[CreatorLink], int]:
    """Create a link to ``survey`` for each creator that has none; return (new links, existing count)."""
    creators = list(creators)
    foreign = [c.handle for c in creators if c.brand_id != survey.brand_id]
    if foreign:
        raise ValidationError(f"These creators belong to another brand than the survey: {', '.join(foreign)}.")
    have = set(CreatorLink.objects.filter(survey=survey).values_list("creator_id", flat=True))
    new = [CreatorLink(survey=survey, creator=c) for c in creators if c.pk not in have]
    CreatorLink.objects.bulk_create(new)
    return new, len(creators) - len(new)
