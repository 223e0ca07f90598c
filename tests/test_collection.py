"""The one submit path (surveys/collection.py), tested at the service layer without HTTP.

Validation and its messages, display conditions, form tokens, exactly-once
storage (also under concurrent replays), attribution snapshots, UTM cleaning,
quality flags, client-address handling and privacy, the batch twin, and the
open/closed rules.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.core import signing
from django.core.cache import cache
from django.db import connection, connections
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from surveys import collection
from surveys.choices import AttributionSource, Construct, QuestionKind, SurveyStatus, Tier
from surveys.collection import (
    BatchRow,
    CleanAnswers,
    Client,
    InvalidAnswers,
    InvalidToken,
    PollUnavailable,
    Submission,
    client_address,
    issue_form_token,
    keyed_hash,
    quality_flags,
    read_form_token,
    submit_response,
    submit_responses,
    survey_schema,
    validate_answers,
)
from surveys.design import insert_instrument
from surveys.models import Response
from tests.factories import CreatorFactory, CreatorLinkFactory, QuestionFactory, ResponseFactory, SurveyFactory

RAW_ADDRESS = "203.0.113.7"
SCALE_1_7 = "Choose a whole number from 1 to 7."


# --- helpers --------------------------------------------------------------------------------


def live_survey(*instruments: str, **fields) -> object:
    survey = SurveyFactory(status=SurveyStatus.LIVE, **fields)
    for key in instruments:
        insert_instrument(survey, key)
    return survey


def link_to(survey, **creator_fields):
    creator = CreatorFactory(brand=survey.brand, **creator_fields)
    return CreatorLinkFactory(survey=survey, creator=creator)


_NEW_TOKEN = object()


def submit(link, answers, *, token=_NEW_TOKEN, client=Client(), **submission_fields):
    return submit_response(
        link=link,
        form_token=issue_form_token(link) if token is _NEW_TOKEN else token,
        submission=Submission(answers=answers, **submission_fields),
        client=client,
    )


def token_issued_ago(monkeypatch, link, seconds: float) -> str:
    """Issue a real form token for ``link`` as if the poll had been shown ``seconds`` ago.

    Only Django's signing clock is moved (not project code): the token carries
    its issue time, which is where ``started_at`` comes from.
    """
    real_time = time.time
    with monkeypatch.context() as patch:
        patch.setattr(signing, "time", SimpleNamespace(time=lambda: real_time() - seconds))
        return issue_form_token(link)


def errors_of(schema, raw, **kwargs) -> dict[str, list[str]]:
    with pytest.raises(InvalidAnswers) as caught:
        validate_answers(schema, raw, **kwargs)
    return caught.value.errors


OHANIAN_CODES = [f"{prefix}_{n}" for prefix in ("tru", "exp", "attr") for n in range(1, 6)]
# Consistent after reverse coding (items 2 and 4 are reversed), so not straight-lined.
VARIED_TRU = {"tru_1": 6, "tru_2": 2, "tru_3": 6, "tru_4": 2, "tru_5": 7}
VARIED_EXP = {"exp_1": 5, "exp_2": 3, "exp_3": 5, "exp_4": 3, "exp_5": 6}
VARIED_ATTR = {"attr_1": 4, "attr_2": 4, "attr_3": 5, "attr_4": 3, "attr_5": 4}


def ohanian_answers(**overrides) -> dict[str, int]:
    return {**VARIED_TRU, **VARIED_EXP, **VARIED_ATTR, **overrides}


def kitchen_sink_survey():
    """One question of every kind the validator distinguishes, with known codes."""
    survey = live_survey()
    common = {"survey": survey, "construct": Construct.OTHER}
    QuestionFactory(code="lik7", position=1, kind=QuestionKind.LIKERT, scale_points=7, **common)
    QuestionFactory(
        code="sem", position=2, kind=QuestionKind.SEMANTIC, scale_points=7,
        left_label="Cold", right_label="Warm", **common,
    )
    QuestionFactory(
        code="yn", position=3, kind=QuestionKind.YES_NO, scale_points=None,
        choices=[{"value": 1, "label": "Yes"}, {"value": 0, "label": "No"}], **common,
    )
    QuestionFactory(
        code="single", position=4, kind=QuestionKind.SINGLE, scale_points=None,
        choices=[{"value": v, "label": f"Option {v}"} for v in (1, 2, 3)], **common,
    )
    QuestionFactory(
        code="gappy", position=5, kind=QuestionKind.SINGLE, scale_points=None, required=False,
        choices=[{"value": v, "label": f"Option {v}"} for v in (1, 2, 9)], **common,
    )
    QuestionFactory(
        code="multi", position=6, kind=QuestionKind.MULTIPLE, scale_points=None,
        choices=[{"value": v, "label": f"Option {v}"} for v in (1, 2, 3, 4)], **common,
    )
    QuestionFactory(
        code="num", position=7, kind=QuestionKind.NUMBER, scale_points=None,
        min_value=0, max_value=100, **common,
    )
    QuestionFactory(code="txt", position=8, kind=QuestionKind.TEXT, scale_points=None, **common)
    return survey


SINK_VALID = {"lik7": 5, "sem": 2, "yn": 1, "single": 3, "multi": [2, 4], "num": 12, "txt": "Great videos"}


# --- 1. validation rules and their messages -------------------------------------------------


def test_valid_answers_of_every_kind_are_cleaned_to_their_stored_types():
    schema = survey_schema(kitchen_sink_survey())
    clean = validate_answers(
        schema,
        {
            "lik7": "6", "sem": 3.0, "yn": "0", "single": " 2 ", "gappy": 9,
            "multi": ["3", "1"], "num": "2,5", "txt": "  hello\x00 world  ",
        },
    )
    assert clean.answers == {
        "lik7": 6, "sem": 3, "yn": 0, "single": 2, "gappy": 9,
        "multi": [1, 3], "num": 2.5, "txt": "hello world",
    }
    assert type(clean.answers["sem"]) is int
    assert clean.not_asked == []


def test_every_shown_required_question_left_blank_is_required():
    survey = kitchen_sink_survey()
    errors = errors_of(survey_schema(survey), {"lik7": "", "sem": None, "multi": [], "txt": "   "})
    assert errors == {
        code: ["This question is required."] for code in ("lik7", "sem", "yn", "single", "multi", "num", "txt")
    }
    # "gappy" is optional: blank is fine and it is simply absent from the answers.
    assert "gappy" not in errors


def test_the_summary_detail_counts_the_fields_needing_attention():
    schema = survey_schema(kitchen_sink_survey())
    with pytest.raises(InvalidAnswers) as one:
        validate_answers(schema, {**SINK_VALID, "lik7": 8})
    assert one.value.detail == "1 answer needs attention."
    assert one.value.status == 400
    assert one.value.as_dict() == {"detail": "1 answer needs attention.", "errors": {"lik7": [SCALE_1_7]}}
    with pytest.raises(InvalidAnswers) as two:
        validate_answers(schema, {**SINK_VALID, "lik7": 8, "sem": 0})
    assert two.value.detail == "2 answers need attention."


@pytest.mark.parametrize("value", [0, 8, -1, 3.5, "3.5", "three", "7 ", "", [4], {"v": 4}, "1e0"])
@pytest.mark.parametrize("code", ["lik7", "sem"])
def test_likert_and_semantic_refuse_out_of_range_and_non_integers(code, value):
    schema = survey_schema(kitchen_sink_survey())
    answers = {**SINK_VALID, code: value}
    if value == "7 ":
        # Surrounding whitespace is trimmed: "7 " is a valid 7, not an error.
        assert validate_answers(schema, answers).answers[code] == 7
        return
    if value == "":
        assert errors_of(schema, answers) == {code: ["This question is required."]}
        return
    assert errors_of(schema, answers) == {code: [SCALE_1_7]}


@pytest.mark.parametrize("value", ["--3", "²", "-+3", "3-"])
def test_malformed_digit_strings_get_a_message_instead_of_crashing(value):
    """A form can send any string; the validator must answer with a message, never a ValueError.

    Regression: ``_as_int`` once checked ``value.strip().lstrip("-").isdigit()``
    and then called ``int()``, so "--3" (all dashes stripped) and "²" (a Unicode
    digit) made ``int()`` raise ValueError, a 500 at every door.
    """
    schema = survey_schema(kitchen_sink_survey())
    assert errors_of(schema, {**SINK_VALID, "lik7": value}) == {"lik7": [SCALE_1_7]}


def test_yes_no_accepts_only_zero_and_one():
    schema = survey_schema(kitchen_sink_survey())
    assert validate_answers(schema, {**SINK_VALID, "yn": 0}).answers["yn"] == 0
    assert validate_answers(schema, {**SINK_VALID, "yn": "1"}).answers["yn"] == 1
    for bad in (2, -1, "yes", 0.5):
        assert errors_of(schema, {**SINK_VALID, "yn": bad}) == {"yn": ["Choose yes (1) or no (0)."]}


def test_single_choice_accepts_only_listed_values():
    schema = survey_schema(kitchen_sink_survey())
    assert errors_of(schema, {**SINK_VALID, "single": 4}) == {"single": ["Choose a whole number from 1 to 3."]}
    assert errors_of(schema, {**SINK_VALID, "single": "Option 1"}) == {
        "single": ["Choose a whole number from 1 to 3."]
    }
    # Values with a gap are listed one by one.
    assert errors_of(schema, {**SINK_VALID, "gappy": 5}) == {"gappy": ["Choose one of 1, 2, 9."]}
    assert validate_answers(schema, {**SINK_VALID, "gappy": "9"}).answers["gappy"] == 9


def test_multiple_choice_rules():
    schema = survey_schema(kitchen_sink_survey())
    invalid = ["Choose from the listed options (one of 1, 2, 3, 4)."]
    assert errors_of(schema, {**SINK_VALID, "multi": [1, 5]}) == {"multi": invalid}
    assert errors_of(schema, {**SINK_VALID, "multi": ["1", "x"]}) == {"multi": invalid}
    assert errors_of(schema, {**SINK_VALID, "multi": [2, 2]}) == {"multi": ["Each option can be chosen once."]}
    assert errors_of(schema, {**SINK_VALID, "multi": ["3", 3]}) == {"multi": ["Each option can be chosen once."]}
    # From a form: a list of strings, stored sorted as integers.
    assert validate_answers(schema, {**SINK_VALID, "multi": ["1", "3"]}).answers["multi"] == [1, 3]
    assert validate_answers(schema, {**SINK_VALID, "multi": ["4", "2", "1"]}).answers["multi"] == [1, 2, 4]
    # A single value is one chosen option.
    assert validate_answers(schema, {**SINK_VALID, "multi": "2"}).answers["multi"] == [2]


def test_number_rules():
    schema = survey_schema(kitchen_sink_survey())
    for bad in ("abc", "12 apples", "NaN", "Infinity", [3], {"n": 1}):
        assert errors_of(schema, {**SINK_VALID, "num": bad}) == {"num": ["Enter a number."]}, bad
    assert errors_of(schema, {**SINK_VALID, "num": -1}) == {"num": ["Enter a number of at least 0."]}
    assert errors_of(schema, {**SINK_VALID, "num": "-0.5"}) == {"num": ["Enter a number of at least 0."]}
    assert errors_of(schema, {**SINK_VALID, "num": 101}) == {"num": ["Enter a number of at most 100."]}
    assert errors_of(schema, {**SINK_VALID, "num": "100.01"}) == {"num": ["Enter a number of at most 100."]}
    for given, stored in ((0, 0), (100, 100), ("7", 7), ("7.0", 7), ("2.5", 2.5), ("2,5", 2.5), (12.75, 12.75)):
        assert validate_answers(schema, {**SINK_VALID, "num": given}).answers["num"] == stored, given
    assert type(validate_answers(schema, {**SINK_VALID, "num": "7.0"}).answers["num"]) is int


def test_text_length_limit_and_type():
    schema = survey_schema(kitchen_sink_survey())
    assert validate_answers(schema, {**SINK_VALID, "txt": "x" * 1000}).answers["txt"] == "x" * 1000
    # Surrounding whitespace does not count towards the limit.
    assert validate_answers(schema, {**SINK_VALID, "txt": "  " + "x" * 1000 + "\n"}).answers["txt"] == "x" * 1000
    assert errors_of(schema, {**SINK_VALID, "txt": "x" * 1001}) == {
        "txt": ["Use at most 1000 characters (this answer has 1001)."]
    }
    assert errors_of(schema, {**SINK_VALID, "txt": 5}) == {"txt": ["Enter text."]}
    assert validate_answers(schema, {**SINK_VALID, "txt": "line one\nline\ttwo"}).answers["txt"] == (
        "line one\nline\ttwo"
    )


@pytest.mark.parametrize("invisible", ["\u200b", "\x00\x01"])
def test_required_text_of_only_invisible_characters_is_required_not_stored_empty(invisible):
    """A required text answer that cleans to "" must be refused, not stored as an empty answer.

    Regression: the required check once ran on the raw value and the cleaning
    (which drops non-printable characters) only afterwards, so "\\u200b" passed
    as an answer and was stored as "".
    """
    schema = survey_schema(kitchen_sink_survey())
    assert errors_of(schema, {**SINK_VALID, "txt": invisible}) == {"txt": ["This question is required."]}


def test_unknown_question_codes_are_refused():
    schema = survey_schema(kitchen_sink_survey())
    assert errors_of(schema, {**SINK_VALID, "nope": 1, "tru_1": 4}) == {
        "nope": ["Unknown question."],
        "tru_1": ["Unknown question."],
    }
    long_code = "x" * 60
    assert errors_of(schema, {**SINK_VALID, long_code: 1}) == {"x" * 40: ["Unknown question."]}


def test_answers_must_be_a_mapping():
    schema = survey_schema(kitchen_sink_survey())
    with pytest.raises(InvalidAnswers) as caught:
        validate_answers(schema, [("lik7", 5)])
    assert caught.value.errors == {"answers": ["Expected an object."]}
    assert caught.value.detail == "Answers must be an object keyed by question code."


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("lik7", SCALE_1_7),
        ("sem", SCALE_1_7),
        ("yn", "Choose yes (1) or no (0)."),
        ("single", "Choose a whole number from 1 to 3."),
        ("num", "Enter a number."),
    ],
)
@pytest.mark.parametrize("boolean", [True, False])
def test_booleans_are_not_integers(code, message, boolean):
    schema = survey_schema(kitchen_sink_survey())
    assert errors_of(schema, {**SINK_VALID, code: boolean}) == {code: [message]}


def test_booleans_are_not_options_of_a_multiple_choice():
    schema = survey_schema(kitchen_sink_survey())
    assert errors_of(schema, {**SINK_VALID, "multi": [True, 2]}) == {
        "multi": ["Choose from the listed options (one of 1, 2, 3, 4)."]
    }


def test_consent_and_minimum_age_are_required_when_the_survey_asks_for_them():
    survey = live_survey("juster_1966", consent_text="I agree to take part.", min_age=16)
    schema = survey_schema(survey)
    assert errors_of(schema, {"pp_juster": 5}) == {
        "consent": ["Please agree to take part before sending your answers."],
        "age_confirmed": ["Please confirm that you are at least 16 years old."],
    }
    # Only True counts: the doors turn a ticked box into True.
    assert errors_of(schema, {"pp_juster": 5}, consent="on", age_confirmed=1) == {
        "consent": ["Please agree to take part before sending your answers."],
        "age_confirmed": ["Please confirm that you are at least 16 years old."],
    }
    assert validate_answers(schema, {"pp_juster": 5}, consent=True, age_confirmed=True).answers == {"pp_juster": 5}

    link = link_to(survey)
    result = submit(link, {"pp_juster": 5}, consent=True, age_confirmed=True)
    assert (result.response.consent, result.response.age_confirmed) == (True, True)


def test_consent_and_age_are_not_asked_when_the_survey_does_not_ask_for_them():
    survey = live_survey("juster_1966")
    assert validate_answers(survey_schema(survey), {"pp_juster": 0}).answers == {"pp_juster": 0}
    result = submit(link_to(survey), {"pp_juster": 0})
    assert (result.response.consent, result.response.age_confirmed) == (None, None)


def test_an_invalid_submission_stores_nothing_and_the_token_stays_usable():
    survey = live_survey("ohanian_1990")
    link = link_to(survey)
    token = issue_form_token(link)
    with pytest.raises(InvalidAnswers) as caught:
        submit(link, ohanian_answers(tru_1=9), token=token)
    assert caught.value.errors == {"tru_1": [SCALE_1_7]}
    assert Response.objects.count() == 0
    # The respondent fixes the answer and sends the same form again.
    result = submit(link, ohanian_answers(), token=token)
    assert result.created is True
    assert Response.objects.count() == 1


def test_a_stored_response_holds_the_clean_answers():
    survey = live_survey("ohanian_1990")
    link = link_to(survey)
    raw = {code: str(value) for code, value in ohanian_answers().items()}
    result = submit(link, raw)
    stored = Response.objects.get()
    assert stored.pk == result.response.pk
    assert stored.answers == ohanian_answers()
    assert stored.not_asked == []
    assert stored.is_test is False


# --- 2. display conditions ------------------------------------------------------------------


@pytest.fixture
def purchase_schema():
    return survey_schema(live_survey("reported_purchase"))


def test_answers_to_hidden_questions_are_ignored_and_listed_as_not_asked(purchase_schema):
    clean = validate_answers(purchase_schema, {"bought": 0, "buy_count": 3, "spend_3m": 50})
    assert clean.answers == {"bought": 0}
    assert clean.not_asked == ["buy_count", "spend_3m"]
    # Even an invalid answer to a hidden question is ignored.
    clean = validate_answers(purchase_schema, {"bought": "0", "buy_count": "lots", "spend_3m": -5})
    assert clean.answers == {"bought": 0}
    assert clean.not_asked == ["buy_count", "spend_3m"]


def test_a_hidden_required_question_is_not_required(purchase_schema):
    clean = validate_answers(purchase_schema, {"bought": 0})
    assert clean.answers == {"bought": 0}
    assert clean.not_asked == ["buy_count", "spend_3m"]


def test_a_shown_required_question_is_required(purchase_schema):
    # spend_3m is optional even when shown; buy_count is required when shown.
    assert errors_of(purchase_schema, {"bought": 1}) == {"buy_count": ["This question is required."]}
    assert errors_of(purchase_schema, {"bought": 1, "buy_count": 101}) == {
        "buy_count": ["Enter a number of at most 100."]
    }
    clean = validate_answers(purchase_schema, {"bought": 1, "buy_count": "2", "spend_3m": "49.90"})
    assert clean.answers == {"bought": 1, "buy_count": 2, "spend_3m": 49.9}
    assert clean.not_asked == []


def test_an_unanswered_condition_hides_its_dependents(purchase_schema):
    assert errors_of(purchase_schema, {"buy_count": 2}) == {"bought": ["This question is required."]}


def test_not_asked_is_stored_with_the_response():
    survey = live_survey("reported_purchase")
    result = submit(link_to(survey), {"bought": 0, "buy_count": 4})
    stored = Response.objects.get(pk=result.response.pk)
    assert stored.answers == {"bought": 0}
    assert stored.not_asked == ["buy_count", "spend_3m"]


# --- 3. form tokens -------------------------------------------------------------------------


def test_a_token_for_a_link_of_another_survey_is_forbidden():
    link_a = link_to(live_survey("juster_1966"))
    link_b = link_to(live_survey("juster_1966"))
    with pytest.raises(InvalidToken) as caught:
        submit(link_b, {"pp_juster": 5}, token=issue_form_token(link_a))
    assert caught.value.status == 403
    assert caught.value.detail == "The form token belongs to another poll."
    assert caught.value.errors == {"form_token": ["The token is for another poll."]}
    assert Response.objects.count() == 0


def test_a_token_for_another_link_of_the_same_survey_is_forbidden():
    survey = live_survey("juster_1966")
    link_a, link_b = link_to(survey), link_to(survey)
    with pytest.raises(InvalidToken) as caught:
        read_form_token(issue_form_token(link_a), link_b)
    assert caught.value.status == 403


def test_a_tampered_token_is_not_valid():
    link = link_to(live_survey("juster_1966"))
    token = issue_form_token(link)
    last = token[-1]
    tampered_signature = token[:-1] + ("A" if last != "A" else "B")
    payload, rest = token.split(":", 1)
    forged = signing.b64_encode(
        json.dumps({"s": link.survey_id, "l": link.pk, "n": "forged"}, separators=(",", ":")).encode()
    ).decode()
    for bad in (tampered_signature, f"{forged}:{rest}", "not-a-token", "a:b:c"):
        with pytest.raises(InvalidToken) as caught:
            submit(link, {"pp_juster": 5}, token=bad)
        assert caught.value.status == 400, bad
        assert caught.value.detail == "The form token is not valid.", bad
        assert caught.value.errors == {"form_token": ["Invalid form token."]}
    assert Response.objects.count() == 0


def test_a_token_signed_for_another_purpose_is_not_valid():
    link = link_to(live_survey("juster_1966"))
    other_salt = signing.TimestampSigner(salt="another.purpose").sign_object(
        {"s": link.survey_id, "l": link.pk, "n": "x"}
    )
    with pytest.raises(InvalidToken) as caught:
        read_form_token(other_salt, link)
    assert (caught.value.status, caught.value.detail) == (400, "The form token is not valid.")


def test_an_expired_token_is_refused():
    link = link_to(live_survey("juster_1966"))
    token = issue_form_token(link)
    with override_settings(FORM_TOKEN_MAX_AGE=-1):
        with pytest.raises(InvalidToken) as caught:
            submit(link, {"pp_juster": 5}, token=token)
    assert caught.value.status == 400
    assert "expired" in caught.value.detail
    assert caught.value.detail == "This form has expired. Please check your answers and send them again."
    assert caught.value.errors == {"form_token": ["The form token has expired."]}
    assert Response.objects.count() == 0


def test_a_token_older_than_the_maximum_age_is_expired(monkeypatch):
    link = link_to(live_survey("juster_1966"))
    with override_settings(FORM_TOKEN_MAX_AGE=3600):
        old = token_issued_ago(monkeypatch, link, 3700)
        with pytest.raises(InvalidToken) as caught:
            submit(link, {"pp_juster": 5}, token=old)
        assert "expired" in caught.value.detail
        # Just inside the limit it is fine.
        fresh = token_issued_ago(monkeypatch, link, 3500)
        assert submit(link, {"pp_juster": 5}, token=fresh).created is True


@pytest.mark.parametrize("missing", ["", None, 12345, "x" * 301])
def test_a_missing_token_is_refused(missing):
    link = link_to(live_survey("juster_1966"))
    with pytest.raises(InvalidToken) as caught:
        submit(link, {"pp_juster": 5}, token=missing)
    assert caught.value.status == 400
    assert caught.value.detail == "The form token is missing."
    assert caught.value.errors == {"form_token": ["This field is required."]}


def test_started_at_comes_from_the_token(monkeypatch):
    link = link_to(live_survey("juster_1966"))
    before = timezone.now()
    token = token_issued_ago(monkeypatch, link, 42)
    read = read_form_token(token, link)
    assert read.preview is False
    # The signed timestamp has whole-second precision.
    assert before - timedelta(seconds=43) <= read.started_at <= before - timedelta(seconds=41)
    result = submit(link, {"pp_juster": 5}, token=token)
    stored = Response.objects.get(pk=result.response.pk)
    assert stored.started_at == read.started_at
    assert stored.form_token == read.nonce
    assert 42 <= stored.completion_seconds < 45
    assert stored.completion_seconds == pytest.approx((stored.submitted_at - stored.started_at).total_seconds(), abs=0.001)


def test_completion_seconds_is_never_negative():
    link = link_to(live_survey("juster_1966"))
    result = submit(link, {"pp_juster": 5})
    stored = Response.objects.get(pk=result.response.pk)
    assert stored.completion_seconds >= 0
    assert stored.started_at <= stored.submitted_at


def test_a_preview_token_stores_a_test_response_even_on_a_draft():
    survey = live_survey("juster_1966")
    survey.status = SurveyStatus.DRAFT
    survey.save()
    link = link_to(survey)
    result = submit(link, {"pp_juster": 5}, token=issue_form_token(link, preview=True))
    assert result.created is True
    assert Response.objects.get().is_test is True


# --- 4. exactly once ------------------------------------------------------------------------


def test_the_same_token_twice_stores_one_response():
    link = link_to(live_survey("juster_1966"))
    token = issue_form_token(link)
    first = submit(link, {"pp_juster": 5}, token=token)
    second = submit(link, {"pp_juster": 5}, token=token)
    assert (first.created, second.created) == (True, False)
    assert second.response.pk == first.response.pk
    assert Response.objects.count() == 1


def test_a_replayed_token_with_different_answers_returns_the_stored_response():
    link = link_to(live_survey("juster_1966"))
    token = issue_form_token(link)
    first = submit(link, {"pp_juster": 5}, token=token)
    replay = submit(link, {"pp_juster": 9}, token=token)
    assert replay.created is False
    assert replay.response.pk == first.response.pk
    assert replay.response.answers == {"pp_juster": 5}
    # Even invalid answers: the replay is answered as the first submission was.
    invalid = submit(link, {"pp_juster": 99, "junk": 1}, token=token)
    assert (invalid.created, invalid.response.pk) == (False, first.response.pk)
    assert Response.objects.get().answers == {"pp_juster": 5}


def test_different_tokens_store_different_responses():
    link = link_to(live_survey("juster_1966"))
    one = submit(link, {"pp_juster": 5})
    two = submit(link, {"pp_juster": 5})
    assert one.created and two.created
    assert one.response.pk != two.response.pk
    assert Response.objects.count() == 2


def in_new_thread(function):
    """Run ``function`` in a new thread (with its own database connection) and return its result."""
    box: dict = {}

    def run() -> None:
        try:
            box["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
            box["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=120)
    assert not thread.is_alive()
    if "error" in box:
        raise box["error"]
    return box["value"]


@pytest.fixture
def database_for_threads(monkeypatch, tmp_path):
    """Make the connections of new threads reach a database that takes concurrent writers.

    SQLite's test database lives in memory with a shared cache, where a second
    writer fails at once with "database table is locked" instead of waiting
    (Django marks it ``test_db_allows_multiple_connections = False``). The
    deployed SQLite is a file in WAL mode with a busy timeout, so the threads
    get a file copy of the (migrated, empty) test database with the project's
    own connection options. The main thread keeps the in-memory database.
    PostgreSQL needs nothing.
    """
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        path = tmp_path / "threads.sqlite3"
        connection.ensure_connection()
        copy = sqlite3.connect(path)
        connection.connection.backup(copy)
        copy.close()
        monkeypatch.setitem(connections.settings, "default", {**connections.settings["default"], "NAME": str(path)})
    yield


@pytest.mark.django_db(transaction=True)
def test_concurrent_replays_of_one_token_store_exactly_one_response(database_for_threads):
    link = in_new_thread(lambda: link_to(live_survey("ohanian_1990")))
    token = issue_form_token(link)
    answers = ohanian_answers()
    threads_count = 20
    barrier = threading.Barrier(threads_count)
    results: list = [None] * threads_count
    failures: list = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = submit(link, answers, token=token)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append((index, repr(exc)))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []
    assert all(result is not None for result in results)
    stored = in_new_thread(lambda: list(Response.objects.all()))
    assert len(stored) == 1
    assert {result.response.pk for result in results} == {stored[0].pk}
    assert sum(result.created for result in results) == 1
    assert stored[0].answers == answers
    assert stored[0].form_token == read_form_token(token, link).nonce


# --- 5. attribution -------------------------------------------------------------------------


def test_the_creator_tier_and_followers_are_snapshotted():
    survey = live_survey("juster_1966")
    link = link_to(survey, followers=25_000)
    creator = link.creator
    assert creator.tier == Tier.MICRO
    result = submit(link, {"pp_juster": 7})
    stored = Response.objects.get(pk=result.response.pk)
    assert (stored.survey_id, stored.creator_id, stored.link_id) == (survey.pk, creator.pk, link.pk)
    assert stored.source == AttributionSource.LINK
    assert (stored.creator_tier, stored.creator_followers) == (Tier.MICRO, 25_000)

    creator.followers = 2_500_000
    creator.save()
    creator.refresh_from_db()
    assert creator.tier == Tier.CELEBRITY
    stored.refresh_from_db()
    assert (stored.creator_tier, stored.creator_followers) == (Tier.MICRO, 25_000)


def test_utm_parameters_are_stored_trimmed_and_only_the_five_known_keys():
    link = link_to(live_survey("juster_1966"))
    result = submit(
        link,
        {"pp_juster": 3},
        utm={
            "utm_source": "  instagram ",
            "utm_medium": "story\n",
            "utm_campaign": "spring-25",
            "utm_content": "reel_2",
            "utm_term": 42,
            "fbclid": "IwAR0",
            "gclid": "abc",
            "ref": "home",
            "UTM_SOURCE": "shouty",
        },
    )
    stored = Response.objects.get(pk=result.response.pk)
    assert stored.utm == {
        "utm_source": "instagram",
        "utm_medium": "story",
        "utm_campaign": "spring-25",
        "utm_content": "reel_2",
        "utm_term": "42",
    }


def test_blank_non_text_and_overlong_utm_values():
    link = link_to(live_survey("juster_1966"))
    result = submit(
        link,
        {"pp_juster": 3},
        utm={"utm_source": "   ", "utm_medium": ["a"], "utm_campaign": {"x": 1}, "utm_content": "c" * 150},
    )
    assert Response.objects.get(pk=result.response.pk).utm == {"utm_content": "c" * 100}
    assert collection.clean_utm(None) == {}
    assert collection.clean_utm("utm_source=x") == {}
    assert collection.clean_utm({"utm_source": True, "utm_medium": 7}) == {"utm_medium": "7"}


# --- 6. quality flags -----------------------------------------------------------------------


def _flags(response: Response) -> dict[str, bool]:
    response.refresh_from_db()
    return {name: getattr(response, name) for name in collection.FLAG_FIELDS}


NO_FLAGS = dict.fromkeys(collection.FLAG_FIELDS, False)


def test_a_careful_response_has_no_flags(monkeypatch):
    link = link_to(live_survey("ohanian_1990", "attention_check"))
    token = token_issued_ago(monkeypatch, link, 60)
    result = submit(link, ohanian_answers(attn_check=4), token=token, client=Client.from_meta({"REMOTE_ADDR": RAW_ADDRESS}))
    assert _flags(result.response) == NO_FLAGS


@pytest.mark.parametrize(("honeypot", "flagged"), [("http://spam.example", True), ("x", True), ("", False), ("   ", False)])
def test_honeypot(monkeypatch, honeypot, flagged):
    link = link_to(live_survey("juster_1966"))
    result = submit(link, {"pp_juster": 5}, token=token_issued_ago(monkeypatch, link, 30), honeypot=honeypot)
    assert _flags(result.response) == {**NO_FLAGS, "flag_honeypot": flagged}


@pytest.mark.parametrize(("seconds", "speeder"), [(5, True), (13, True), (16, False), (60, False)])
def test_speeder_with_few_responses_uses_one_second_per_answered_item(monkeypatch, seconds, speeder):
    # 15 answered items: under 15 seconds is a speeder.
    link = link_to(live_survey("ohanian_1990"))
    result = submit(link, ohanian_answers(), token=token_issued_ago(monkeypatch, link, seconds))
    assert result.response.flag_speeder is speeder
    assert _flags(result.response) == {**NO_FLAGS, "flag_speeder": speeder}


def test_the_per_item_floor_counts_only_answered_items(monkeypatch):
    # bought=0 hides two questions: one answered item, so 3 s is not speeding.
    link = link_to(live_survey("reported_purchase"))
    result = submit(link, {"bought": 0}, token=token_issued_ago(monkeypatch, link, 3))
    assert result.response.flag_speeder is False


def _earlier_responses(link, seconds: float, count: int = 20) -> None:
    for _ in range(count):
        ResponseFactory(link=link, completion_seconds=seconds)


@pytest.mark.parametrize(("seconds", "speeder"), [(60, True), (95, True), (110, False), (300, False)])
def test_speeder_with_20_earlier_responses_is_under_half_the_median(monkeypatch, seconds, speeder):
    # Median 200 s: under 100 s is a speeder, although 60 s is more than 1 s per item.
    link = link_to(live_survey("ohanian_1990"))
    _earlier_responses(link, 200)
    result = submit(link, ohanian_answers(), token=token_issued_ago(monkeypatch, link, seconds))
    assert result.response.flag_speeder is speeder


def test_a_fast_median_replaces_the_per_item_floor(monkeypatch):
    # Median 10 s: 8 s is not a speeder, although it is under 1 s per item for 15 items.
    link = link_to(live_survey("ohanian_1990"))
    _earlier_responses(link, 10)
    result = submit(link, ohanian_answers(), token=token_issued_ago(monkeypatch, link, 8))
    assert result.response.flag_speeder is False
    assert collection.median_completion_seconds(link.survey_id) == 10


def test_the_median_needs_20_real_responses_and_is_cached(monkeypatch):
    link = link_to(live_survey("ohanian_1990"))
    _earlier_responses(link, 200, count=19)
    ResponseFactory(link=link, completion_seconds=200, is_test=True)  # previews do not count
    ResponseFactory(link=link, completion_seconds=None)  # nor responses without a time
    assert collection.median_completion_seconds(link.survey_id) is None
    # 60 s for 15 items: not a speeder under the per-item rule.
    first = submit(link, ohanian_answers(), token=token_issued_ago(monkeypatch, link, 60))
    assert first.response.flag_speeder is False
    # first is the 20th real response, but "too few" stays cached for 300 s ...
    ResponseFactory(link=link, completion_seconds=200)
    assert collection.median_completion_seconds(link.survey_id) is None
    cached = submit(link, ohanian_answers(), token=token_issued_ago(monkeypatch, link, 60))
    assert cached.response.flag_speeder is False
    # ... until the cache is cleared.
    cache.clear()
    assert collection.median_completion_seconds(link.survey_id) == 200
    fresh = submit(link, ohanian_answers(), token=token_issued_ago(monkeypatch, link, 60))
    assert fresh.response.flag_speeder is True


def test_speeder_boundaries_in_quality_flags():
    schema = survey_schema(live_survey("juster_1966", "reported_purchase"))
    clean = CleanAnswers(answers={"pp_juster": 5, "bought": 1, "buy_count": 2}, not_asked=["spend_3m"])

    def speeder(completion, median):
        return quality_flags(schema, clean, completion_seconds=completion, median_seconds=median)["flag_speeder"]

    assert speeder(2.999, None) is True
    assert speeder(3.0, None) is False
    assert speeder(49.9, 100.0) is True
    assert speeder(50.0, 100.0) is False
    assert speeder(None, 100.0) is False
    assert speeder(None, None) is False


def test_straightliner_all_trust_items_the_same_raw_value(monkeypatch):
    link = link_to(live_survey("ohanian_1990"))
    token = token_issued_ago(monkeypatch, link, 120)
    same = {f"tru_{n}": 6 for n in range(1, 6)}
    result = submit(link, ohanian_answers(**same), token=token)
    assert _flags(result.response) == {**NO_FLAGS, "flag_straightliner": True}


def test_straightliner_the_midpoint_counts_too():
    schema = survey_schema(live_survey("ohanian_1990"))
    clean = validate_answers(schema, ohanian_answers(**{f"exp_{n}": 4 for n in range(1, 6)}))
    assert quality_flags(schema, clean, completion_seconds=None, median_seconds=None)["flag_straightliner"] is True


def test_varied_answers_are_not_straightlining(monkeypatch):
    link = link_to(live_survey("ohanian_1990"))
    nearly = {"tru_1": 6, "tru_2": 6, "tru_3": 6, "tru_4": 6, "tru_5": 5}
    result = submit(link, ohanian_answers(**nearly), token=token_issued_ago(monkeypatch, link, 120))
    assert result.response.flag_straightliner is False


def test_a_battery_without_reverse_coded_items_is_never_straightlining(monkeypatch):
    survey = live_survey()
    for n in range(1, 6):
        QuestionFactory(
            survey=survey, code=f"psr_{n}", position=n, kind=QuestionKind.LIKERT, scale_points=7,
            construct=Construct.PARASOCIAL, reverse_coded=False,
        )
    link = link_to(survey)
    result = submit(link, {f"psr_{n}": 7 for n in range(1, 6)}, token=token_issued_ago(monkeypatch, link, 120))
    assert _flags(result.response) == NO_FLAGS


def test_a_battery_needs_every_item_answered_to_be_straightlining():
    survey = live_survey("ohanian_1990")
    schema = survey_schema(survey)
    clean = CleanAnswers(answers={"tru_1": 6, "tru_2": 6, "tru_3": 6, "tru_4": 6}, not_asked=[])
    flags = quality_flags(schema, clean, completion_seconds=None, median_seconds=None)
    assert flags["flag_straightliner"] is False


@pytest.mark.parametrize(("answer", "flagged"), [(4, False), ("4", False), (5, True), (1, True), (3, True)])
def test_attention_check(monkeypatch, answer, flagged):
    link = link_to(live_survey("juster_1966", "attention_check"))
    result = submit(link, {"pp_juster": 5, "attn_check": answer}, token=token_issued_ago(monkeypatch, link, 30))
    assert _flags(result.response) == {**NO_FLAGS, "flag_attention": flagged}


def test_possible_duplicate_same_respondent_same_survey_within_the_window(monkeypatch):
    survey = live_survey("juster_1966")
    link = link_to(survey)
    client = Client.from_meta({"REMOTE_ADDR": RAW_ADDRESS, "HTTP_USER_AGENT": "Firefox/128"})
    first = submit(link, {"pp_juster": 5}, token=token_issued_ago(monkeypatch, link, 30), client=client)
    assert first.response.flag_duplicate is False
    second = submit(link, {"pp_juster": 6}, token=token_issued_ago(monkeypatch, link, 30), client=client)
    assert _flags(second.response) == {**NO_FLAGS, "flag_duplicate": True}
    # Through another creator's link of the same survey: still the same survey.
    other_link = link_to(survey)
    third = submit(other_link, {"pp_juster": 6}, token=token_issued_ago(monkeypatch, other_link, 30), client=client)
    assert third.response.flag_duplicate is True
    # Another browser on the same address is another respondent.
    other_agent = Client.from_meta({"REMOTE_ADDR": RAW_ADDRESS, "HTTP_USER_AGENT": "Safari/17"})
    fourth = submit(link, {"pp_juster": 6}, token=token_issued_ago(monkeypatch, link, 30), client=other_agent)
    assert fourth.response.flag_duplicate is False


def test_same_respondent_on_another_survey_is_not_a_duplicate(monkeypatch):
    client = Client.from_meta({"REMOTE_ADDR": RAW_ADDRESS, "HTTP_USER_AGENT": "Firefox/128"})
    link_a = link_to(live_survey("juster_1966"))
    link_b = link_to(live_survey("juster_1966"))
    submit(link_a, {"pp_juster": 5}, token=token_issued_ago(monkeypatch, link_a, 30), client=client)
    other = submit(link_b, {"pp_juster": 5}, token=token_issued_ago(monkeypatch, link_b, 30), client=client)
    assert other.response.flag_duplicate is False


@override_settings(DUPLICATE_WINDOW_HOURS=24)
def test_a_duplicate_is_only_possible_within_the_window(monkeypatch):
    link = link_to(live_survey("juster_1966"))
    client = Client.from_meta({"REMOTE_ADDR": RAW_ADDRESS, "HTTP_USER_AGENT": "Firefox/128"})
    ResponseFactory(
        link=link, respondent_hash=client.respondent_hash, submitted_at=timezone.now() - timedelta(hours=25)
    )
    outside = submit(link, {"pp_juster": 5}, token=token_issued_ago(monkeypatch, link, 30), client=client)
    assert outside.response.flag_duplicate is False
    inside = submit(link, {"pp_juster": 5}, token=token_issued_ago(monkeypatch, link, 30), client=client)
    assert inside.response.flag_duplicate is True


def test_no_client_hash_is_never_a_duplicate(monkeypatch):
    link = link_to(live_survey("juster_1966"))
    submit(link, {"pp_juster": 5}, token=token_issued_ago(monkeypatch, link, 30))
    again = submit(link, {"pp_juster": 5}, token=token_issued_ago(monkeypatch, link, 30))
    assert again.response.flag_duplicate is False
    assert again.response.respondent_hash == ""


# --- 7. client address ----------------------------------------------------------------------

META = {"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.9, 203.0.113.7, 10.0.0.1"}


@pytest.mark.nodb
def test_client_address_without_trusted_proxies_ignores_x_forwarded_for():
    with override_settings(TRUSTED_PROXY_HOPS=0):
        assert client_address(META) == "10.0.0.2"
        assert client_address({"HTTP_X_FORWARDED_FOR": "1.2.3.4"}) == ""


@pytest.mark.nodb
def test_client_address_with_one_trusted_proxy_takes_the_last_entry():
    with override_settings(TRUSTED_PROXY_HOPS=1):
        assert client_address(META) == "10.0.0.1"
        assert client_address({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": " 203.0.113.7 "}) == RAW_ADDRESS
        # No header: the socket address.
        assert client_address({"REMOTE_ADDR": "10.0.0.2"}) == "10.0.0.2"


@pytest.mark.nodb
def test_client_address_with_two_trusted_proxies_takes_the_second_to_last_entry():
    with override_settings(TRUSTED_PROXY_HOPS=2):
        assert client_address(META) == RAW_ADDRESS
        assert client_address({"REMOTE_ADDR": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "203.0.113.7,10.0.0.1"}) == RAW_ADDRESS


@pytest.mark.nodb
def test_client_from_meta_yields_keyed_hashes_only():
    hex64 = re.compile(r"[0-9a-f]{64}")
    meta = {"REMOTE_ADDR": RAW_ADDRESS, "HTTP_USER_AGENT": "Firefox/128"}
    client = Client.from_meta(meta)
    assert hex64.fullmatch(client.address_hash)
    assert hex64.fullmatch(client.respondent_hash)
    assert client.address_hash != client.respondent_hash
    assert client.address_hash == keyed_hash(RAW_ADDRESS)
    assert client.respondent_hash == keyed_hash(RAW_ADDRESS, "Firefox/128")
    assert Client.from_meta(meta) == client  # stable
    other_agent = Client.from_meta({**meta, "HTTP_USER_AGENT": "Safari/17"})
    assert other_agent.address_hash == client.address_hash
    assert other_agent.respondent_hash != client.respondent_hash
    assert Client.from_meta({**meta, "REMOTE_ADDR": "203.0.113.8"}).address_hash != client.address_hash
    with override_settings(RESPONDENT_HASH_KEY="another-key"):
        assert Client.from_meta(meta).address_hash != client.address_hash


def test_no_column_of_a_stored_response_holds_the_raw_address(monkeypatch):
    link = link_to(live_survey("ohanian_1990", "reported_purchase"))
    meta = {
        "REMOTE_ADDR": "10.0.0.2",
        "HTTP_X_FORWARDED_FOR": f"{RAW_ADDRESS}",
        "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux x86_64) Firefox/128",
    }
    with override_settings(TRUSTED_PROXY_HOPS=1):
        client = Client.from_meta(meta)
        assert client_address(meta) == RAW_ADDRESS
    result = submit(
        link,
        ohanian_answers(bought=1, buy_count=2),
        token=token_issued_ago(monkeypatch, link, 90),
        client=client,
        utm={"utm_source": "instagram"},
    )
    row = Response.objects.filter(pk=result.response.pk).values().get()
    field_names = {f.attname for f in Response._meta.concrete_fields}
    assert set(row) == field_names
    for name, value in row.items():
        text = json.dumps(value, default=str)
        assert RAW_ADDRESS not in text, name
        assert RAW_ADDRESS not in str(value), name
    assert row["respondent_hash"] == client.respondent_hash
    # And nothing in the whole table (raw SQL, to see the stored bytes).
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {Response._meta.db_table}")
        for stored_row in cursor.fetchall():
            assert all(RAW_ADDRESS not in str(value) for value in stored_row)


# --- 8. the batch twin ----------------------------------------------------------------------


@pytest.fixture
def batch_setup():
    survey = live_survey("ohanian_1990")
    creator_a = CreatorFactory(brand=survey.brand, followers=5_000)
    creator_b = CreatorFactory(brand=survey.brand, followers=150_000)
    link_a = CreatorLinkFactory(survey=survey, creator=creator_a)
    return SimpleNamespace(survey=survey, a=creator_a, b=creator_b, link_a=link_a)


def _rows(setup, invalid_index: int | None = None) -> list[BatchRow]:
    rows = [
        BatchRow(key="import:1", creator=setup.a, answers=ohanian_answers(), completion_seconds=120.0, external_id="r1"),
        BatchRow(key="import:2", creator=setup.b, answers={k: str(v) for k, v in ohanian_answers().items()}),
        BatchRow(key="import:3", creator=setup.a, answers=ohanian_answers(tru_5=1), tier=Tier.MACRO, followers=123),
    ]
    if invalid_index is not None:
        rows[invalid_index].answers = ohanian_answers(tru_1=9)
    return rows


def test_a_valid_batch_is_stored_in_one_insert(batch_setup):
    rows = _rows(batch_setup)
    with CaptureQueriesContext(connection) as queries:
        result = submit_responses(survey=batch_setup.survey, rows=rows)
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].lstrip().upper().startswith("INSERT")]
    assert len(inserts) == 1
    assert (result.created, result.existing, result.errors) == (3, 0, {})
    stored = {r.form_token: r for r in Response.objects.all()}
    assert set(stored) == {"import:1", "import:2", "import:3"}
    first, second, third = stored["import:1"], stored["import:2"], stored["import:3"]
    assert first.answers == ohanian_answers()
    assert second.answers == ohanian_answers()  # strings cleaned to integers
    assert first.source == AttributionSource.IMPORT
    assert first.external_id == "r1"
    assert first.link_id == batch_setup.link_a.pk
    assert second.link_id is None  # creator b has no link to this survey
    assert (first.creator_tier, first.creator_followers) == (Tier.NANO, 5_000)
    assert (second.creator_tier, second.creator_followers) == (Tier.MACRO, 150_000)
    assert (third.creator_tier, third.creator_followers) == (Tier.MACRO, 123)
    assert first.completion_seconds == 120.0
    assert first.started_at == first.submitted_at - timedelta(seconds=120)
    assert second.started_at is None


def test_a_batch_with_one_invalid_row_raises_and_stores_nothing(batch_setup):
    with pytest.raises(InvalidAnswers) as caught:
        submit_responses(survey=batch_setup.survey, rows=_rows(batch_setup, invalid_index=1))
    assert caught.value.errors == {"row 2: tru_1": [SCALE_1_7]}
    assert caught.value.detail == "1 row(s) are invalid; nothing was stored."
    assert Response.objects.count() == 0


def test_a_batch_reports_every_invalid_row_and_field(batch_setup):
    rows = _rows(batch_setup)
    rows[0].answers = {**ohanian_answers(), "tru_2": 0, "nope": 1}
    rows[2].answers = {k: v for k, v in ohanian_answers().items() if k != "attr_5"}
    with pytest.raises(InvalidAnswers) as caught:
        submit_responses(survey=batch_setup.survey, rows=rows)
    assert caught.value.errors == {
        "row 1: tru_2": [SCALE_1_7],
        "row 1: nope": ["Unknown question."],
        "row 3: attr_5": ["This question is required."],
    }
    assert Response.objects.count() == 0


def test_skip_invalid_stores_the_valid_rows(batch_setup):
    result = submit_responses(survey=batch_setup.survey, rows=_rows(batch_setup, invalid_index=1), skip_invalid=True)
    assert result.created == 2
    assert result.existing == 0
    assert result.errors == {1: {"tru_1": [SCALE_1_7]}}
    assert set(Response.objects.values_list("form_token", flat=True)) == {"import:1", "import:3"}


def test_resubmitting_the_same_keys_stores_nothing_new(batch_setup):
    first = submit_responses(survey=batch_setup.survey, rows=_rows(batch_setup))
    assert first.created == 3
    again = submit_responses(survey=batch_setup.survey, rows=_rows(batch_setup))
    assert (again.created, again.existing, again.errors) == (0, 3, {})
    assert Response.objects.count() == 3
    # A key repeated inside one batch is stored once.
    rows = _rows(batch_setup)
    twin = BatchRow(key="import:4", creator=batch_setup.a, answers=ohanian_answers())
    result = submit_responses(survey=batch_setup.survey, rows=[*rows, twin, twin])
    assert (result.created, result.existing) == (1, 4)
    assert Response.objects.count() == 4


def test_a_batch_flags_straightliners_and_failed_attention_checks():
    survey = live_survey("ohanian_1990", "attention_check")
    creator = CreatorFactory(brand=survey.brand)
    rows = [
        BatchRow(key="k1", creator=creator, answers=ohanian_answers(attn_check=4), completion_seconds=200),
        BatchRow(
            key="k2",
            creator=creator,
            answers=ohanian_answers(attn_check=2, **{f"tru_{n}": 3 for n in range(1, 6)}),
            completion_seconds=5,
        ),
    ]
    submit_responses(survey=survey, rows=rows)
    careful, careless = Response.objects.get(form_token="k1"), Response.objects.get(form_token="k2")
    assert _flags(careful) == NO_FLAGS
    assert _flags(careless) == {**NO_FLAGS, "flag_straightliner": True, "flag_attention": True, "flag_speeder": True}


def test_a_batch_fills_in_consent_and_age_when_the_survey_asks_for_them():
    survey = live_survey("juster_1966", consent_text="I agree.", min_age=18)
    creator = CreatorFactory(brand=survey.brand)
    submit_responses(survey=survey, rows=[BatchRow(key="c1", creator=creator, answers={"pp_juster": 4})])
    stored = Response.objects.get()
    assert (stored.consent, stored.age_confirmed) == (True, True)
    with pytest.raises(InvalidAnswers) as caught:
        submit_responses(
            survey=survey, rows=[BatchRow(key="c2", creator=creator, answers={"pp_juster": 4}, consent=False)]
        )
    assert caught.value.errors == {"row 1: consent": ["Please agree to take part before sending your answers."]}


# --- 9. when a poll takes responses ---------------------------------------------------------


def _assert_unavailable(link, status: int, detail: str) -> None:
    with pytest.raises(PollUnavailable) as caught:
        submit(link, {"pp_juster": 5})
    assert caught.value.status == status
    assert caught.value.detail == detail
    assert Response.objects.count() == 0


def test_a_draft_survey_is_not_found():
    survey = live_survey("juster_1966")
    survey.status = SurveyStatus.DRAFT
    survey.save()
    _assert_unavailable(link_to(survey), 404, "This poll has not been published.")


def test_a_survey_not_yet_open_is_not_found():
    survey = live_survey("juster_1966", opens_at=timezone.now() + timedelta(hours=2))
    _assert_unavailable(link_to(survey), 404, "This poll is not open yet.")


def test_a_closed_survey_is_gone():
    survey = live_survey("juster_1966")
    survey.status = SurveyStatus.CLOSED
    survey.save()
    _assert_unavailable(link_to(survey), 410, "This poll has closed. Thank you for your interest.")


def test_a_survey_past_its_closing_time_is_gone():
    survey = live_survey("juster_1966", closes_at=timezone.now() - timedelta(minutes=1))
    _assert_unavailable(link_to(survey), 410, "This poll has closed. Thank you for your interest.")


def test_an_inactive_link_is_gone():
    link = link_to(live_survey("juster_1966"))
    link.active = False
    link.save()
    _assert_unavailable(link, 410, "This poll link is no longer active.")


def test_an_inactive_creator_is_gone():
    link = link_to(live_survey("juster_1966"), active=False)
    _assert_unavailable(link, 410, "This poll link is no longer active.")


def test_a_survey_inside_its_window_takes_responses():
    survey = live_survey(
        "juster_1966",
        opens_at=timezone.now() - timedelta(hours=1),
        closes_at=timezone.now() + timedelta(hours=1),
    )
    assert submit(link_to(survey), {"pp_juster": 5}).created is True


def test_a_response_stored_before_closing_is_still_returned_for_its_token():
    survey = live_survey("juster_1966")
    link = link_to(survey)
    token = issue_form_token(link)
    first = submit(link, {"pp_juster": 5}, token=token)
    survey.status = SurveyStatus.CLOSED
    survey.save()
    link.refresh_from_db()
    replay = submit(link, {"pp_juster": 5}, token=token)
    assert (replay.created, replay.response.pk) == (False, first.response.pk)
    # A new token on the closed survey is refused.
    before = Response.objects.count()
    with pytest.raises(PollUnavailable) as caught:
        submit(link, {"pp_juster": 5})
    assert caught.value.status == 410
    assert Response.objects.count() == before == 1
