"""Survey definitions as JSON: export and import, lossless in both directions.

The format is documented in the README ("Survey definitions as JSON"). A
definition holds the survey's settings and its questions, not its state
(status, links, responses): an imported survey always starts as a draft.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.dateparse import parse_datetime

from surveys.models import Brand, Question, Survey

FORMAT = "trustpoll.survey"
VERSION = 1

SURVEY_FIELDS = (
    "slug",
    "title",
    "intro",
    "thank_you_text",
    "language",
    "privacy_notice_url",
    "consent_text",
    "min_age",
    "opens_at",
    "closes_at",
    "allowed_origins",
    "retention_days",
)
QUESTION_FIELDS = (
    "code",
    "position",
    "wording",
    "help_text",
    "kind",
    "required",
    "construct",
    "reverse_coded",
    "scale_points",
    "left_label",
    "right_label",
    "choices",
    "min_value",
    "max_value",
    "expected_answer",
    "instrument",
)
_DATETIME_FIELDS = {"opens_at", "closes_at"}


class DefinitionError(ValueError):
    """A survey definition is invalid; ``errors`` lists every problem with its location."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


def export_definition(survey: Survey) -> dict[str, Any]:
    """Return the JSON-ready definition of ``survey``."""
    data: dict[str, Any] = {}
    for name in SURVEY_FIELDS:
        value = getattr(survey, name)
        if name in _DATETIME_FIELDS:
            value = value.isoformat() if value else None
        elif name == "allowed_origins":
            value = survey.origin_list
        data[name] = value
    questions = []
    for question in survey.questions.select_related("condition_question").order_by("position", "id"):
        item = {name: getattr(question, name) for name in QUESTION_FIELDS}
        item["condition"] = (
            {"code": question.condition_question.code, "values": question.condition_values}
            if question.condition_question
            else None
        )
        questions.append(item)
    return {"format": FORMAT, "version": VERSION, "survey": data, "questions": questions}


def dumps_definition(survey: Survey) -> str:
    """Return the definition of ``survey`` as indented JSON text."""
    return json.dumps(export_definition(survey), indent=2, ensure_ascii=False) + "\n"


def _messages(exc: ValidationError, where: str) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [f"{where}.{field}: {' '.join(msgs)}" for field, msgs in exc.message_dict.items()]
    return [f"{where}: {' '.join(exc.messages)}"]


def _check_keys(obj: Any, allowed: set[str], where: str, errors: list[str]) -> bool:
    if not isinstance(obj, dict):
        errors.append(f"{where}: expected an object.")
        return False
    unknown = sorted(set(obj) - allowed)
    if unknown:
        errors.append(f"{where}: unknown field(s) {', '.join(unknown)}.")
    return True


def _survey_from(data: dict[str, Any], brand: Brand, slug: str | None, errors: list[str]) -> Survey:
    values: dict[str, Any] = {}
    for name in SURVEY_FIELDS:
        if name not in data:
            continue
        value = data[name]
        if name in _DATETIME_FIELDS and value is not None:
            parsed = parse_datetime(value) if isinstance(value, str) else None
            if parsed is None:
                errors.append(f"survey.{name}: “{value}” is not an ISO 8601 date-time.")
                continue
            value = parsed
        elif name == "allowed_origins":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                errors.append("survey.allowed_origins: expected a list of origins.")
                continue
            value = "\n".join(value)
        elif value is None and name not in {"min_age", *_DATETIME_FIELDS}:
            errors.append(f"survey.{name}: must not be null.")
            continue
        values[name] = value
    if slug:
        values["slug"] = slug
    return Survey(brand=brand, **values)


@transaction.atomic
def import_definition(data: Any, *, brand: Brand, slug: str | None = None) -> Survey:
    """Create a draft survey in ``brand`` from a definition; all or nothing.

    Raise DefinitionError listing every problem (``questions[3].code: …``).
    """
    errors: list[str] = []
    if not _check_keys(data, {"format", "version", "survey", "questions"}, "definition", errors):
        raise DefinitionError(errors)
    if data.get("format") != FORMAT:
        errors.append(f"definition.format: expected “{FORMAT}”.")
    if data.get("version") != VERSION:
        errors.append(f"definition.version: this TrustPoll reads version {VERSION}.")
    survey_data = data.get("survey")
    questions_data = data.get("questions", [])
    if not _check_keys(survey_data, set(SURVEY_FIELDS), "survey", errors):
        raise DefinitionError(errors)
    if not isinstance(questions_data, list):
        errors.append("questions: expected a list.")
        raise DefinitionError(errors)
    survey = _survey_from(survey_data, brand, slug, errors)
    try:
        survey.full_clean()
    except ValidationError as exc:
        errors.extend(_messages(exc, "survey"))
    if errors:
        raise DefinitionError(errors)
    survey.save()

    by_code: dict[str, Question] = {}
    for index, item in enumerate(questions_data):
        where = f"questions[{index}]"
        if not _check_keys(item, set(QUESTION_FIELDS) | {"condition"}, where, errors):
            continue
        fields = {name: item[name] for name in QUESTION_FIELDS if name in item}
        if "position" not in fields:
            fields["position"] = index + 1
        question = Question(survey=survey, **fields)
        condition = item.get("condition")
        if condition is not None:
            if not _check_keys(condition, {"code", "values"}, f"{where}.condition", errors):
                continue
            source = by_code.get(condition.get("code"))
            if source is None:
                errors.append(
                    f"{where}.condition.code: “{condition.get('code')}” is not an earlier question of this survey."
                )
                continue
            question.condition_question = source
            question.condition_values = condition.get("values", [])
        try:
            question.full_clean(exclude=["survey"])
        except ValidationError as exc:
            errors.extend(_messages(exc, where))
            continue
        if question.code in by_code:
            errors.append(f"{where}.code: “{question.code}” is used twice.")
            continue
        question.save()
        by_code[question.code] = question
    if errors:
        raise DefinitionError(errors)
    return survey


def loads_definition(text: str, *, brand: Brand, slug: str | None = None) -> Survey:
    """Parse JSON ``text`` and import it; syntax errors become DefinitionError with line and column."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError([f"line {exc.lineno}, column {exc.colno}: {exc.msg}"]) from exc
    return import_definition(data, brand=brand, slug=slug)
