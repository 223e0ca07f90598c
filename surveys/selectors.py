"""Reads: brand-scoped querysets and look-ups used by views, admin and commands."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pandas as pd
from django.db import connection
from django.db.models import Count, F, FloatField, Q, QuerySet
from django.db.models.fields.json import KT
from django.db.models.functions import Cast

from surveys import caching
from surveys.collection import FLAG_FIELDS, median_completion_seconds, survey_schema
from surveys.models import CreatorLink, Response, Survey
from surveys.scoring import QuestionMeta


class SurveyLookupError(LookupError):
    """A survey reference matched no survey, or more than one."""


def find_survey(ref: str) -> Survey:
    """Return the survey named ``SLUG`` or ``BRAND/SLUG``."""
    brand_slug, _, slug = ref.rpartition("/")
    surveys = Survey.objects.select_related("brand").filter(slug=slug).order_by("brand__slug")
    if brand_slug:
        surveys = surveys.filter(brand__slug=brand_slug)
    found = list(surveys[:10])
    if not found:
        raise SurveyLookupError(f"No survey “{ref}”. Use SLUG or BRAND/SLUG.")
    if len(found) > 1:
        names = ", ".join(f"{s.brand.slug}/{s.slug}" for s in found)
        raise SurveyLookupError(f"“{ref}” is ambiguous: {names}. Use BRAND/SLUG.")
    return found[0]


_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,43}")


def link_for_token(token: str) -> CreatorLink | None:
    """Return the link with ``token`` and its survey, brand and creator, or None."""
    if not _TOKEN.fullmatch(token or ""):  # link tokens are URL-safe base64; anything else is no link (and no cache key)
        return None
    return caching.cached_link(token, _load_link, prepare=_attach_schema)


def _attach_schema(link: CreatorLink) -> None:
    # Carried in the same cache entry, so a submission reads neither from the cache on its own.
    link.survey.__dict__["_trustpoll_schema"] = survey_schema(link.survey)
    link.survey.__dict__["_trustpoll_median"] = median_completion_seconds(link.survey_id)


def _load_link(token: str) -> CreatorLink | None:
    return CreatorLink.objects.select_related("survey__brand", "creator").filter(token=token).first()


def public_definition(link: CreatorLink) -> dict[str, Any]:
    """Return what a custom front end needs to show ``link``'s poll (no attention-check answers)."""
    survey = link.survey
    name = link.creator.display_name
    questions = []
    for q in survey.questions.select_related("condition_question").order_by("position", "id"):
        questions.append(
            {
                "code": q.code,
                "kind": q.kind,
                "wording": q.render_wording(name),
                "help_text": q.help_text,
                "required": q.required,
                "scale_points": q.scale_points,
                "left_label": q.left_label,
                "right_label": q.right_label,
                "choices": q.choices,
                "min_value": q.min_value,
                "max_value": q.max_value,
                "condition": (
                    {"code": q.condition_question.code, "values": q.condition_values}
                    if q.condition_question_id
                    else None
                ),
            }
        )
    return {
        "survey": {
            "title": survey.title,
            "brand": survey.brand.name,
            "language": survey.language,
            "intro": survey.intro.replace("{creator}", name),
            "privacy_notice_url": survey.effective_privacy_notice_url,
            "consent_text": survey.consent_text,
            "min_age": survey.min_age,
        },
        "creator": {"display_name": name, "handle": link.creator.handle, "platform": link.creator.platform},
        "questions": questions,
    }


FLAG_LABELS = {
    "flag_speeder": "speeder",
    "flag_straightliner": "straightliner",
    "flag_attention": "attention",
    "flag_duplicate": "duplicate",
    "flag_honeypot": "honeypot",
}


def annotate_link_counts(links: QuerySet[CreatorLink]) -> QuerySet[CreatorLink]:
    """Annotate real-response and per-flag counts on links (one grouped query)."""
    real = Q(responses__is_test=False)
    counts = {"response_count": Count("responses", filter=real)}
    for flag in FLAG_LABELS:
        counts[f"n_{flag}"] = Count("responses", filter=real & Q(**{f"responses__{flag}": True}))
    return links.annotate(**counts)


# --- the analysis frame -----------------------------------------------------------------------

_NUMERIC_KINDS = ("likert", "semantic", "probability", "yes_no", "single", "number")


def question_metas(survey: Survey) -> list[QuestionMeta]:
    """Return the survey's questions as the pure scoring module sees them."""
    metas = []
    for q in survey.questions.select_related("condition_question").order_by("position", "id"):
        bounds = q.scale_bounds()
        metas.append(
            QuestionMeta(
                code=q.code,
                construct=q.construct,
                kind=q.kind,
                reverse_coded=q.reverse_coded,
                low=bounds[0] if bounds else None,
                high=bounds[1] if bounds else None,
                condition_code=q.condition_question.code if q.condition_question_id else None,
                condition_values=tuple(q.condition_values or ()),
            )
        )
    return metas


UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


def _frame_query(
    survey: Survey, metas: list[QuestionMeta], *, include_test: bool, where: Q | None, extra: bool
) -> tuple[QuerySet, list[str], list[str]]:
    extract: dict[str, Any] = {}
    for meta in metas:
        key = KT(f"answers__{meta.code}")
        if meta.kind in _NUMERIC_KINDS:
            extract[f"a__{meta.code}"] = Cast(key, FloatField())
        elif meta.kind == "text":
            extract[f"a__{meta.code}"] = key
        else:
            extract[f"a__{meta.code}"] = F(f"answers__{meta.code}")
    if extra:  # export-only columns
        for name in UTM_FIELDS:
            extract[f"m__{name}"] = KT(f"utm__{name}")
    responses = Response.objects.filter(survey=survey)
    if not include_test:
        responses = responses.filter(is_test=False)
    if where is not None:
        responses = responses.filter(where)
    fields = [
        "id",
        "submitted_at",
        "completion_seconds",
        "creator_id",
        "creator__handle",
        "creator_tier",
        "creator_followers",
        "creator__platform",
        "link_id",
        "source",
        "is_test",
        *FLAG_FIELDS,
        *extract,
    ]
    json_columns = [f"a__{m.code}" for m in metas if m.kind == "multiple"]
    return responses.annotate(**extract).order_by("id"), fields, json_columns


def _text_columns(metas: list[QuestionMeta]) -> list[str]:
    return [f"a__{m.code}" for m in metas if m.kind == "text"]


def _load(rows: QuerySet, fields: list[str], json_columns: list[str], metas: list[QuestionMeta]) -> pd.DataFrame:
    if connection.vendor == "postgresql":
        frame = _copy_frame(rows, fields, json_columns=json_columns, text_columns=_text_columns(metas))
    else:
        frame = pd.DataFrame.from_records(list(rows), columns=fields)
    frame = frame.rename(
        columns={
            "id": "response_id",
            "creator__handle": "creator_handle",
            "creator_tier": "tier",
            "creator_followers": "followers",
            "creator__platform": "platform",
            **{name: name[3:] for name in fields if name.startswith(("a__", "m__"))},
        }
    )
    for meta in metas:
        if meta.kind in _NUMERIC_KINDS:
            frame[meta.code] = pd.to_numeric(frame[meta.code], errors="coerce").astype(float)
    return frame


def responses_frame(survey: Survey, *, include_test: bool = False, where: Q | None = None) -> pd.DataFrame:
    """Return one row per response: answers as columns (numbers as floats) and the attribution columns.

    One query. Numeric answers are extracted and cast by the database (JSON
    key → float), so no per-row Python work is done for them.
    """
    metas = question_metas(survey)
    query, fields, json_columns = _frame_query(survey, metas, include_test=include_test, where=where, extra=False)
    return _load(query.values_list(*fields), fields, json_columns, metas)


def responses_frame_chunks(
    survey: Survey, *, where: Q | None = None, chunk_size: int = 50_000
) -> Iterator[pd.DataFrame]:
    """Yield the responses frame (with UTM columns) in chunks of ``chunk_size``, keyset-paginated by id.

    The chunked sibling of :func:`responses_frame` for exports: memory stays flat whatever the size.
    """
    metas = question_metas(survey)
    query, fields, json_columns = _frame_query(survey, metas, include_test=False, where=where, extra=True)
    last = 0
    while True:
        chunk = _load(query.filter(id__gt=last).values_list(*fields)[:chunk_size], fields, json_columns, metas)
        if chunk.empty:
            return
        yield chunk
        last = int(chunk["response_id"].iloc[-1])
        if len(chunk) < chunk_size:
            return


_BOOLEAN_FIELDS = ("is_test", *FLAG_FIELDS)


def _copy_frame(rows: QuerySet, fields: list[str], *, json_columns: list[str], text_columns: list[str] = ()) -> pd.DataFrame:
    """Read a values_list query through PostgreSQL's COPY into pandas' C CSV parser.

    A million responses as Python tuples would cost over a gigabyte; as CSV
    text parsed column-wise they cost a fraction, and no row is touched in Python.
    """
    sql, params = rows.query.sql_with_params()
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for block in copy:
                buffer.write(block)
    buffer.seek(0)
    plain = ("creator__handle", "creator_tier", "creator__platform", "source", *text_columns, *(f for f in fields if f.startswith("m__")))
    names = (*plain, *json_columns)
    text = {name: "string" for name in names}
    frame = pd.read_csv(buffer, header=None, names=fields, dtype=text, keep_default_na=False, na_values=[""])
    del buffer
    for name in _BOOLEAN_FIELDS:
        frame[name] = frame[name].map({"t": True, "f": False}).astype(bool)
    frame["submitted_at"] = pd.to_datetime(frame["submitted_at"], utc=True, format="ISO8601")
    for name in plain:
        frame[name] = frame[name].astype(object).where(frame[name].notna(), None)
    for name in json_columns:
        frame[name] = frame[name].map(lambda v: json.loads(v) if isinstance(v, str) else None)
    return frame
