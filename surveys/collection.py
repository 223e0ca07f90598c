"""The one way responses enter TrustPoll.

Every door — the poll page, the iframe, the public JSON API, the file import,
the demo data — calls :func:`submit_response` or its batch twin
:func:`submit_responses`. They share one validator (:func:`validate_answers`),
one set of quality flags (:func:`quality_flags`) and one exactly-once key
(``Response.form_token``, unique in the database).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from surveys.choices import SCALE_KINDS, AttributionSource, Construct, QuestionKind, SurveyStatus
from surveys import caching, webhooks
from surveys.models import Creator, CreatorLink, Question, Response, Survey, WebhookEvent, _now

if TYPE_CHECKING:
    from surveys.attribution import OrderClaim

MAX_TEXT_LENGTH = 1000
MAX_UTM_LENGTH = 100
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")
# Speeders: under half the median time, or, while a survey has few responses,
# under this many seconds per answered item.
SPEEDER_MEDIAN_FRACTION = 0.5
SPEEDER_SECONDS_PER_ITEM = 1.0
SPEEDER_MIN_RESPONSES = 20
SPEEDER_MEDIAN_SAMPLE = 1000
FLAG_FIELDS = ("flag_honeypot", "flag_speeder", "flag_straightliner", "flag_attention", "flag_duplicate")
_TOKEN_SALT = "trustpoll.form-token"
_INTEGER = re.compile(r"-?[0-9]{1,11}")


# --- errors ---------------------------------------------------------------------------------


class SubmissionError(Exception):
    """A submission was refused; ``status`` is the HTTP status a door should answer with."""

    status = 400

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}

    def as_dict(self) -> dict[str, Any]:
        """Return the project's one error shape."""
        return {"detail": self.detail, "errors": self.errors}


class InvalidAnswers(SubmissionError):
    """One or more answers are invalid; ``errors`` maps question codes (and fields) to messages."""


class InvalidToken(SubmissionError):
    """The form token is forged, expired, or belongs to another poll."""

    expired = False


class PollUnavailable(SubmissionError):
    """The survey or link does not take responses now: 404 (draft, not yet open) or 410 (closed, inactive)."""

    status = 404


# --- form tokens ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FormToken:
    nonce: str
    started_at: datetime
    preview: bool


def issue_form_token(link: CreatorLink, *, preview: bool = False) -> str:
    """Return a signed, timestamped, single-use token binding a rendered poll to ``link``."""
    payload = {"s": link.survey_id, "l": link.pk, "n": secrets.token_urlsafe(16)}
    if preview:
        payload["p"] = 1
    return signing.TimestampSigner(salt=_TOKEN_SALT).sign_object(payload, compress=False)


def read_form_token(token: str, link: CreatorLink) -> FormToken:
    """Return the verified token for ``link``, or raise InvalidToken saying what is wrong."""
    signer = signing.TimestampSigner(salt=_TOKEN_SALT)
    if not token or not isinstance(token, str) or len(token) > 300:
        raise InvalidToken(_("The form token is missing."), {"form_token": [_("This field is required.")]})
    try:
        payload = signer.unsign_object(token, max_age=settings.FORM_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        error = InvalidToken(
            _("This form has expired. Please check your answers and send them again."),
            {"form_token": [_("The form token has expired.")]},
        )
        error.expired = True
        raise error from None
    except (signing.BadSignature, ValueError):
        raise InvalidToken(_("The form token is not valid."), {"form_token": [_("Invalid form token.")]}) from None
    if not isinstance(payload, dict) or payload.get("s") != link.survey_id or payload.get("l") != link.pk:
        error = InvalidToken(
            _("The form token belongs to another poll."), {"form_token": [_("The token is for another poll.")]}
        )
        error.status = 403
        raise error
    # A signed token reads "payload:timestamp:signature"; the timestamp is when the poll was shown.
    started = datetime.fromtimestamp(signing.b62_decode(token.rsplit(signer.sep, 2)[-2]), tz=UTC)
    return FormToken(nonce=str(payload["n"])[:40], started_at=started, preview=payload.get("p") == 1)


# --- client identity ------------------------------------------------------------------------


def client_address(meta: Mapping[str, str]) -> str:
    """Return the client address from the socket, or X-Forwarded-For through trusted proxy hops."""
    hops = settings.TRUSTED_PROXY_HOPS
    remote = meta.get("REMOTE_ADDR", "")
    if hops <= 0:
        return remote
    forwarded = [part.strip() for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    # Each trusted proxy appends the address it received the request from; the
    # hop-th entry from the end is the client as seen by the outermost trusted proxy.
    if len(forwarded) >= hops:
        return forwarded[-hops]
    return forwarded[0] if forwarded else remote


def keyed_hash(*parts: str) -> str:
    """Return an HMAC-SHA256 of ``parts``: the only form in which a client address is kept."""
    key = settings.RESPONDENT_HASH_KEY or f"trustpoll-respondent:{settings.SECRET_KEY}"
    return hmac.new(key.encode(), "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Client:
    """Who submitted, as far as TrustPoll ever knows: keyed hashes only."""

    address_hash: str = ""
    respondent_hash: str = ""

    @classmethod
    def from_meta(cls, meta: Mapping[str, str]) -> Client:
        address = client_address(meta)
        agent = meta.get("HTTP_USER_AGENT", "")[:500]
        return cls(address_hash=keyed_hash(address), respondent_hash=keyed_hash(address, agent))


# --- the questionnaire as the validator sees it ---------------------------------------------


@dataclass(frozen=True)
class Item:
    code: str
    kind: str
    construct: str
    required: bool
    reverse_coded: bool
    allowed: frozenset[int] | None
    bounds: tuple[int, int] | None
    min_value: float | None
    max_value: float | None
    expected_answer: Any
    condition_code: str | None
    condition_values: frozenset[int]
    position: int
    label: str


@dataclass(frozen=True)
class Schema:
    """A survey's questions, in order, reduced to what validation and flagging need."""

    survey_id: int
    items: tuple[Item, ...]
    consent_required: bool
    min_age: int | None

    @property
    def codes(self) -> frozenset[str]:
        return frozenset(item.code for item in self.items)


def survey_schema(survey: Survey, questions: Iterable[Question] | None = None) -> Schema:
    """Return the validation schema of ``survey``: from the shared cache, else one query (none if ``questions`` are given)."""
    if questions is not None:
        return _build_schema(survey, questions)
    schema = survey.__dict__.get("_trustpoll_schema")  # carried in a cached link's entry (selectors.link_for_token)
    if schema is None:
        schema = caching.cached_schema(survey.pk, lambda: _build_schema(
            survey, survey.questions.select_related("condition_question").order_by("position", "id")))
    return schema


def _build_schema(survey: Survey, questions: Iterable[Question]) -> Schema:
    items = []
    for q in questions:
        allowed = q.allowed_values()
        items.append(
            Item(
                code=q.code,
                kind=q.kind,
                construct=q.construct,
                required=q.required,
                reverse_coded=q.reverse_coded,
                allowed=frozenset(allowed) if allowed is not None else None,
                bounds=q.scale_bounds(),
                min_value=q.min_value,
                max_value=q.max_value,
                expected_answer=q.expected_answer,
                condition_code=q.condition_question.code if q.condition_question_id else None,
                condition_values=frozenset(q.condition_values or ()),
                position=q.position,
                label=q.wording[:80],
            )
        )
    return Schema(
        survey_id=survey.pk,
        items=tuple(items),
        consent_required=bool(survey.consent_text),
        min_age=survey.min_age,
    )


# --- validation -----------------------------------------------------------------------------


@dataclass
class CleanAnswers:
    answers: dict[str, Any]
    not_asked: list[str]


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        return int(value.strip())
    return None


def _as_number(value: Any) -> int | float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        number = Decimal(str(value).strip().replace(",", ".")) if isinstance(value, str) else Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return None
    if not number.is_finite() or abs(number) > Decimal("1e12"):
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _clean_text(value: str) -> str:
    # Control and format characters (NUL, zero-width spaces) carry no answer.
    return "".join(ch for ch in value if ch.isprintable() or ch in "\n\t").strip()


def _is_blank(value: Any) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not _clean_text(value))


def _choices_text(item: Item) -> str:
    values = sorted(item.allowed or ())
    if item.bounds and values == list(range(item.bounds[0], item.bounds[1] + 1)):
        return _("a whole number from %(low)d to %(high)d") % {"low": item.bounds[0], "high": item.bounds[1]}
    return _("one of %(values)s") % {"values": ", ".join(str(v) for v in values)}


def _clean_one(item: Item, value: Any) -> tuple[Any, str | None]:
    """Return (clean value, error message) for one shown, non-blank answer."""
    if item.kind == QuestionKind.MULTIPLE:
        values = value if isinstance(value, list) else [value]
        ints = [_as_int(v) for v in values]
        if any(v is None or v not in (item.allowed or ()) for v in ints):
            return None, _("Choose from the listed options (%(choices)s).") % {"choices": _choices_text(item)}
        if len(set(ints)) != len(ints):
            return None, _("Each option can be chosen once.")
        return sorted(ints), None  # type: ignore[type-var]
    if item.kind == QuestionKind.NUMBER:
        number = _as_number(value)
        if number is None:
            return None, _("Enter a number.")
        if item.min_value is not None and number < item.min_value:
            return None, _("Enter a number of at least %(min)s.") % {"min": _fmt(item.min_value)}
        if item.max_value is not None and number > item.max_value:
            return None, _("Enter a number of at most %(max)s.") % {"max": _fmt(item.max_value)}
        return number, None
    if item.kind == QuestionKind.TEXT:
        if not isinstance(value, str):
            return None, _("Enter text.")
        text = _clean_text(value)
        if len(text) > MAX_TEXT_LENGTH:
            return None, _("Use at most %(limit)d characters (this answer has %(length)d).") % {
                "limit": MAX_TEXT_LENGTH,
                "length": len(text),
            }
        return text, None
    number = _as_int(value)
    if number is None or number not in (item.allowed or ()):
        if item.kind == QuestionKind.YES_NO:
            return None, _("Choose yes (1) or no (0).")
        return None, _("Choose %(choices)s.") % {"choices": _choices_text(item)}
    return number, None


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _condition_met(item: Item, answers: Mapping[str, Any], shown: set[str]) -> bool:
    if item.condition_code is None:
        return True
    if item.condition_code not in shown:
        return False
    given = answers.get(item.condition_code)
    if isinstance(given, list):
        return any(v in item.condition_values for v in given)
    return given in item.condition_values


def validate_answers(
    schema: Schema,
    raw: Mapping[str, Any],
    *,
    consent: Any = None,
    age_confirmed: Any = None,
) -> CleanAnswers:
    """Return the clean answers of one submission, or raise InvalidAnswers with a message per field.

    Questions whose display condition is not met are "not asked": their answers
    are ignored and their codes listed in ``not_asked``.
    """
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, Mapping):
        raise InvalidAnswers(
            _("Answers must be an object keyed by question code."), {"answers": [_("Expected an object.")]}
        )
    for code in raw:
        if code not in schema.codes:
            errors.setdefault(str(code)[:40], []).append(_("Unknown question."))
    answers: dict[str, Any] = {}
    not_asked: list[str] = []
    shown: set[str] = set()
    for item in schema.items:
        if not _condition_met(item, answers, shown):
            not_asked.append(item.code)
            continue
        shown.add(item.code)
        value = raw.get(item.code)
        if _is_blank(value):
            if item.required:
                errors.setdefault(item.code, []).append(_("This question is required."))
            continue
        clean, problem = _clean_one(item, value)
        if problem:
            errors.setdefault(item.code, []).append(problem)
        else:
            answers[item.code] = clean
    if schema.consent_required and consent is not True:
        errors["consent"] = [_("Please agree to take part before sending your answers.")]
    if schema.min_age and age_confirmed is not True:
        errors["age_confirmed"] = [
            _("Please confirm that you are at least %(age)d years old.") % {"age": schema.min_age}
        ]
    if errors:
        count = len(errors)
        raise InvalidAnswers(
            ngettext("%(count)d answer needs attention.", "%(count)d answers need attention.", count)
            % {"count": count},
            errors,
        )
    return CleanAnswers(answers=answers, not_asked=not_asked)


def clean_utm(raw: Mapping[str, Any] | None) -> dict[str, str]:
    """Return the known UTM parameters, trimmed; everything else is dropped."""
    if not isinstance(raw, Mapping):
        return {}
    return {
        key: str(raw[key]).strip()[:MAX_UTM_LENGTH]
        for key in UTM_KEYS
        if isinstance(raw.get(key), str | int) and not isinstance(raw.get(key), bool) and str(raw[key]).strip()
    }


# --- quality flags --------------------------------------------------------------------------


def quality_flags(
    schema: Schema,
    clean: CleanAnswers,
    *,
    completion_seconds: float | None,
    median_seconds: float | None,
    honeypot: str = "",
    duplicate: bool = False,
) -> dict[str, bool]:
    """Return the quality flags of one response (``flag_*`` field → bool)."""
    answers = clean.answers
    answered = len(answers)
    speeder = False
    if completion_seconds is not None:
        if median_seconds:
            speeder = completion_seconds < SPEEDER_MEDIAN_FRACTION * median_seconds
        else:
            speeder = completion_seconds < SPEEDER_SECONDS_PER_ITEM * answered
    batteries: dict[str, list[Item]] = {}
    for item in schema.items:
        if item.kind in SCALE_KINDS and item.construct not in (Construct.ATTENTION_CHECK, Construct.OTHER):
            batteries.setdefault(item.construct, []).append(item)
    straightliner = any(
        len(items) >= 3
        and any(i.reverse_coded for i in items)
        and all(i.code in answers for i in items)
        and len({answers[i.code] for i in items}) == 1
        for items in batteries.values()
    )
    attention = any(
        item.construct == Construct.ATTENTION_CHECK
        and item.code not in clean.not_asked
        and answers.get(item.code) != item.expected_answer
        for item in schema.items
    )
    return {
        "flag_honeypot": bool(honeypot and str(honeypot).strip()),
        "flag_speeder": speeder,
        "flag_straightliner": straightliner,
        "flag_attention": attention,
        "flag_duplicate": duplicate,
    }


def median_completion_seconds(survey_id: int) -> float | None:
    """Return the median completion time of the survey's latest responses (cached), or None when few."""
    key = f"trustpoll:median-seconds:{survey_id}"
    try:
        cached = cache.get(key)
    except Exception:  # noqa: BLE001 - a cache outage must not stop submissions
        cached = None
    if cached is not None:
        return cached or None
    seconds = list(
        Response.objects.filter(survey_id=survey_id, is_test=False, completion_seconds__isnull=False)
        .order_by("-id")
        .values_list("completion_seconds", flat=True)[:SPEEDER_MEDIAN_SAMPLE]
    )
    median = statistics.median(seconds) if len(seconds) >= SPEEDER_MIN_RESPONSES else 0.0
    try:
        cache.set(key, median, 300)
    except Exception:  # noqa: BLE001
        pass
    return median or None


def _median_for(survey: Survey) -> float | None:
    """Return the survey's median completion time: carried in a cached link's entry, else read.

    The median is itself cached for five minutes and the link entry for one, so it can be six minutes old:
    plenty for a speeder threshold that moves with hundreds of responses.
    """
    if "_trustpoll_median" in survey.__dict__:
        return survey.__dict__["_trustpoll_median"]
    return median_completion_seconds(survey.pk)


# --- storing --------------------------------------------------------------------------------


@dataclass
class SubmitResult:
    response: Response
    created: bool


@dataclass
class Submission:
    """One respondent's input, from whichever door it came through."""

    answers: Mapping[str, Any]
    consent: Any = None
    age_confirmed: Any = None
    honeypot: str = ""
    utm: Mapping[str, Any] = field(default_factory=dict)


def check_open(link: CreatorLink, *, at: datetime | None = None, purchase: bool = False) -> None:
    """Raise PollUnavailable (404 or 410) unless ``link`` takes responses at ``at``.

    A post-purchase survey takes answers only with a signed order (``purchase``), never through a creator's link.
    """
    if link.survey.post_purchase != purchase:
        raise PollUnavailable(_("This poll is answered from an order confirmation page.") if link.survey.post_purchase
                              else _("This poll does not ask about orders."))
    if link.survey.status != SurveyStatus.DRAFT and (not link.active or not link.creator.active):
        error = PollUnavailable(_("This poll link is no longer active."))
        error.status = 410
        raise error
    check_survey_open(link.survey, at=at)


def check_survey_open(survey: Survey, *, at: datetime | None = None) -> None:
    """Raise PollUnavailable (404 or 410) unless ``survey`` takes responses at ``at``."""
    at = at or _now()
    if survey.status == SurveyStatus.DRAFT:
        raise PollUnavailable(_("This poll has not been published."))
    if survey.status == SurveyStatus.CLOSED or (survey.closes_at and at >= survey.closes_at):
        error = PollUnavailable(_("This poll has closed. Thank you for your interest."))
        error.status = 410
        raise error
    if survey.opens_at and at < survey.opens_at:
        raise PollUnavailable(_("This poll is not open yet."))


def submit_response(
    *,
    link: CreatorLink,
    form_token: str,
    submission: Submission,
    client: Client = Client(),
    schema: Schema | None = None,
    order: OrderClaim | None = None,
) -> SubmitResult:
    """Validate and store one response through ``link``, exactly once per form token.

    A replayed token returns the stored response with ``created=False`` and
    stores nothing. Raise InvalidToken, PollUnavailable or InvalidAnswers.
    ``order``: the shop-signed order of a post-purchase answer; the response is
    then attributed as named by the respondent and linked to that order, once
    per order (a second answer raises attribution.OrderRefused, 409).
    """
    token = read_form_token(form_token, link)
    now = _now()
    try:
        if not token.preview:
            check_open(link, at=now, purchase=order is not None)
        schema = schema or survey_schema(link.survey)
        clean = validate_answers(
            schema, submission.answers, consent=submission.consent, age_confirmed=submission.age_confirmed
        )
    except (PollUnavailable, InvalidAnswers):
        # A replay answers as the first submission did, whatever it carries and even after the poll closed.
        # (Valid first submissions skip this look-up: the unique token decides at the INSERT.)
        existing = Response.objects.filter(form_token=token.nonce).first()
        if existing is not None:
            return SubmitResult(existing, created=False)
        raise
    seconds = max(0.0, (now - token.started_at).total_seconds())
    duplicate = seen_recently(link.survey_id, client.respondent_hash, now=now)
    flags = quality_flags(
        schema,
        clean,
        completion_seconds=seconds,
        median_seconds=_median_for(link.survey),
        honeypot=submission.honeypot,
        duplicate=duplicate,
    )
    creator = link.creator
    response = Response(
        survey_id=link.survey_id,
        creator=creator,
        link=link,
        source=AttributionSource.LINK if order is None else AttributionSource.NAMED,
        creator_tier=creator.tier,
        creator_followers=creator.followers,
        submitted_at=now,
        started_at=token.started_at,
        completion_seconds=round(seconds, 3),
        answers=clean.answers,
        not_asked=clean.not_asked,
        utm=clean_utm(submission.utm),
        consent=True if schema.consent_required else None,
        age_confirmed=True if schema.min_age else None,
        is_test=token.preview,
        form_token=token.nonce,
        respondent_hash=client.respondent_hash,
        **flags,
    )
    try:
        with transaction.atomic():
            if order is not None and not response.is_test:
                from surveys.attribution import attach_order  # it builds on this module

                response.order = attach_order(link, order)
            response.save(force_insert=True)
            if not response.is_test:
                webhooks.emit(link.survey.brand_id, WebhookEvent.RESPONSE_SUBMITTED, webhooks.response_data(response))
    except IntegrityError:
        # The token was used already (a second tap, a replay, or a concurrent twin): answer as the first did.
        existing = Response.objects.filter(form_token=token.nonce).first()
        if existing is None:
            if response.order_id is not None:  # another form answered this order first
                from surveys.attribution import already_answered

                raise already_answered() from None
            raise
        return SubmitResult(existing, created=False)
    return SubmitResult(response, created=True)


def seen_recently(survey_id: int, respondent_hash: str, *, now: datetime) -> bool:
    """Return whether this hashed address and browser answered the survey within the duplicate window.

    One atomic ``add`` in the shared cache marks the respondent and tells
    whether the mark was there already. With the cache unreachable the
    database answers instead.
    """
    if not respondent_hash:
        return False
    window = settings.DUPLICATE_WINDOW_HOURS * 3600
    try:
        return not cache.add(f"trustpoll:seen:{survey_id}:{respondent_hash}", 1, window)
    except Exception:  # noqa: BLE001 - the flag must still be right without the cache
        return Response.objects.filter(
            survey_id=survey_id, respondent_hash=respondent_hash, submitted_at__gte=now - timedelta(seconds=window),
        ).exists()


# --- batches (imports, demo data) -----------------------------------------------------------


@dataclass
class BatchRow:
    """One response of a batch; ``key`` is its exactly-once key (stored as form_token)."""

    key: str
    creator: Creator
    answers: Mapping[str, Any]
    submitted_at: datetime | None = None
    completion_seconds: float | None = None
    tier: str | None = None
    followers: int | None = None
    external_id: str = ""
    source: str = AttributionSource.IMPORT
    consent: Any = None
    age_confirmed: Any = None
    order: Any = None  # the Order a post-purchase answer is about (demo data)


@dataclass
class BatchResult:
    created: int
    existing: int
    errors: dict[int, dict[str, list[str]]]


def validate_batch(schema: Schema, rows: Sequence[BatchRow]) -> tuple[list[CleanAnswers | None], dict[int, dict[str, list[str]]]]:
    """Validate every row with the shared validator; return clean answers and errors by row index."""
    cleaned: list[CleanAnswers | None] = []
    errors: dict[int, dict[str, list[str]]] = {}
    for index, row in enumerate(rows):
        try:
            consent = row.consent if row.consent is not None else (True if schema.consent_required else None)
            age = row.age_confirmed if row.age_confirmed is not None else (True if schema.min_age else None)
            cleaned.append(validate_answers(schema, row.answers, consent=consent, age_confirmed=age))
        except InvalidAnswers as exc:
            cleaned.append(None)
            errors[index] = exc.errors
    return cleaned, errors


@transaction.atomic
def submit_responses(
    *, survey: Survey, rows: Sequence[BatchRow], skip_invalid: bool = False, batch_size: int = 1000
) -> BatchResult:
    """Validate and store many responses in one transaction, exactly once per row key.

    All or nothing unless ``skip_invalid``: with an invalid row and no
    ``skip_invalid``, raise InvalidAnswers (errors keyed ``row N: code``, N counting
    from 1) and store nothing.
    """
    schema = survey_schema(survey)
    cleaned, errors = validate_batch(schema, rows)
    if errors and not skip_invalid:
        flat = {
            f"row {i + 1}: {code}": msgs for i, row_errors in errors.items() for code, msgs in row_errors.items()
        }
        raise InvalidAnswers(f"{len(errors)} row(s) are invalid; nothing was stored.", flat)
    keys = [row.key for row in rows]
    taken: set[str] = set()
    for start in range(0, len(keys), 5000):
        taken.update(Response.objects.filter(form_token__in=keys[start : start + 5000]).values_list("form_token", flat=True))
    links = dict(CreatorLink.objects.filter(survey=survey).values_list("creator_id", "pk"))
    median = median_completion_seconds(survey.pk)
    now = _now()
    new: list[Response] = []
    seen: set[str] = set()
    for row, clean in zip(rows, cleaned, strict=True):
        if clean is None or row.key in taken or row.key in seen:
            continue
        seen.add(row.key)
        flags = quality_flags(schema, clean, completion_seconds=row.completion_seconds, median_seconds=median)
        submitted = row.submitted_at or now
        new.append(
            Response(
                survey=survey,
                creator=row.creator,
                link_id=links.get(row.creator.pk),
                source=row.source,
                creator_tier=row.tier or row.creator.tier,
                creator_followers=row.followers if row.followers is not None else row.creator.followers,
                submitted_at=submitted,
                started_at=(
                    submitted - timedelta(seconds=row.completion_seconds)
                    if row.completion_seconds is not None and math.isfinite(row.completion_seconds)
                    else None
                ),
                completion_seconds=row.completion_seconds,
                answers=clean.answers,
                not_asked=clean.not_asked,
                consent=True if schema.consent_required else None,
                age_confirmed=True if schema.min_age else None,
                form_token=row.key,
                external_id=row.external_id,
                order=row.order,
                **flags,
            )
        )
    Response.objects.bulk_create(new, batch_size=batch_size)
    return BatchResult(created=len(new), existing=len(rows) - len(new) - len(errors), errors=errors)


# --- admin previews -------------------------------------------------------------------------

_PREVIEW_SALT = "trustpoll.preview"
PREVIEW_MAX_AGE = 7 * 24 * 3600


def preview_key(link: CreatorLink) -> str:
    """Return the signed ``?preview=`` value that shows ``link``'s poll in preview mode."""
    return signing.dumps({"l": link.pk}, salt=_PREVIEW_SALT, compress=False)


def is_preview(value: str | None, link: CreatorLink) -> bool:
    """Return whether ``value`` is a valid preview key for ``link``."""
    if not value:
        return False
    try:
        payload = signing.loads(value, salt=_PREVIEW_SALT, max_age=PREVIEW_MAX_AGE)
    except signing.BadSignature:
        return False
    return isinstance(payload, dict) and payload.get("l") == link.pk
