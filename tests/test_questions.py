"""Question rules: answer spaces, display conditions, and the refusals that protect collected data."""

import pytest
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError

from surveys.choices import Construct, QuestionKind, SurveyStatus
from surveys.models import Question, QuestionWording
from tests.factories import (
    CreatorFactory,
    CreatorLinkFactory,
    QuestionFactory,
    ResponseFactory,
    SurveyFactory,
)


def errors_of(question: Question) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as info:
        question.full_clean()
    return info.value.message_dict


def test_likert_needs_5_or_7_points():
    question = QuestionFactory.build(survey=SurveyFactory(), scale_points=6)
    assert "5 or 7 points" in errors_of(question)["scale_points"][0]


def test_choice_values_must_be_distinct_integers():
    survey = SurveyFactory()
    base = dict(survey=survey, kind=QuestionKind.SINGLE, scale_points=None, code="pick")
    bad = QuestionFactory.build(**base, choices=[{"value": "a", "label": "A"}, {"value": 2, "label": "B"}])
    assert "must be an integer" in errors_of(bad)["choices"][0]
    dup = QuestionFactory.build(**base, choices=[{"value": 1, "label": "A"}, {"value": 1, "label": "B"}])
    assert "used twice" in errors_of(dup)["choices"][0]
    QuestionFactory.build(**base, choices=[{"value": 1, "label": "A"}, {"value": 2, "label": "B"}]).full_clean()


def test_reverse_coding_only_on_scale_questions():
    question = QuestionFactory.build(
        survey=SurveyFactory(), kind=QuestionKind.NUMBER, scale_points=None, reverse_coded=True
    )
    assert "Only scale questions" in errors_of(question)["reverse_coded"][0]


def test_attention_check_needs_a_valid_expected_answer():
    survey = SurveyFactory()
    question = QuestionFactory.build(survey=survey, scale_points=5, construct=Construct.ATTENTION_CHECK)
    assert "expected answer" in errors_of(question)["expected_answer"][0]
    question.expected_answer = 9
    assert "[1, 2, 3, 4, 5]" in errors_of(question)["expected_answer"][0]
    question.expected_answer = 4
    question.full_clean()


def test_display_condition_must_point_to_an_earlier_choice_question_with_valid_values():
    survey = SurveyFactory()
    bought = QuestionFactory(
        survey=survey, code="bought", position=1, kind=QuestionKind.YES_NO, scale_points=None
    )
    text = QuestionFactory(survey=survey, code="why", position=2, kind=QuestionKind.TEXT, scale_points=None)
    later = QuestionFactory.build(
        survey=survey, code="count", position=3, kind=QuestionKind.NUMBER, scale_points=None
    )
    later.condition_question, later.condition_values = bought, [1]
    later.full_clean()
    later.condition_values = [2]
    assert "one of [0, 1]" in errors_of(later)["condition_values"][0]
    later.condition_question, later.condition_values = text, [1]
    assert "choice, yes/no or scale" in errors_of(later)["condition_question"][0]
    other = QuestionFactory(survey=SurveyFactory(), kind=QuestionKind.YES_NO, scale_points=None)
    later.condition_question, later.condition_values = other, [1]
    assert "same survey" in errors_of(later)["condition_question"][0]
    early = QuestionFactory.build(
        survey=survey, code="early", position=0, kind=QuestionKind.NUMBER, scale_points=None
    )
    early.condition_question, early.condition_values = bought, [1]
    assert "earlier question" in errors_of(early)["condition_question"][0]


def test_wording_history_records_each_wording_with_its_time():
    question = QuestionFactory(wording="Do you trust {creator}?")
    question.wording = "How much do you trust {creator}?"
    question.save()
    question.save()  # unchanged wording records nothing
    history = list(QuestionWording.objects.filter(question=question).order_by("recorded_at", "id"))
    assert [h.wording for h in history] == ["Do you trust {creator}?", "How much do you trust {creator}?"]
    assert history[0].recorded_at <= history[1].recorded_at


def answered_question(**answers):
    question = QuestionFactory(survey=SurveyFactory(status=SurveyStatus.LIVE), code="tru_1")
    link = CreatorLinkFactory(survey=question.survey)
    ResponseFactory(link=link, answers=answers or {"tru_1": 5})
    return question


@pytest.mark.parametrize(
    ("field", "value", "label"),
    [("code", "tru_9", "code"), ("kind", QuestionKind.SEMANTIC, "kind"), ("scale_points", 5, "scale points")],
)
def test_breaking_edits_of_an_answered_question_are_refused(field, value, label):
    question = answered_question()
    setattr(question, field, value)
    if field == "kind":
        question.left_label, question.right_label = "Dishonest", "Honest"
    errors = errors_of(question)
    assert any(label in message and "already has answers" in message for m in errors.values() for message in m)


def test_wording_fix_of_an_answered_question_is_allowed_and_recorded():
    question = answered_question()
    question.wording = "How far do you trust {creator}?"
    question.full_clean()
    question.save()
    assert question.wordings.count() == 2


def test_unanswered_or_test_only_questions_can_change():
    question = QuestionFactory(code="tru_1")
    ResponseFactory(link=CreatorLinkFactory(survey=question.survey), answers={"tru_1": 3}, is_test=True)
    question.code = "tru_2"
    question.full_clean()


def test_changing_choice_values_of_an_answered_question_is_refused_but_labels_may_change():
    survey = SurveyFactory()
    choices = [{"value": 1, "label": "Yes"}, {"value": 2, "label": "No"}]
    question = QuestionFactory(survey=survey, code="pick", kind=QuestionKind.SINGLE, scale_points=None, choices=choices)
    ResponseFactory(link=CreatorLinkFactory(survey=survey), answers={"pick": 2})
    question.choices = [{"value": 1, "label": "Yes!"}, {"value": 2, "label": "No"}]
    question.full_clean()
    question.choices = [{"value": 1, "label": "Yes"}, {"value": 0, "label": "No"}]
    assert "choice values" in errors_of(question)["choices"][0]


def test_deleting_an_answered_question_is_refused_and_keeps_it():
    question = answered_question()
    with pytest.raises(ValidationError, match="already has answers"):
        question.delete()
    assert Question.objects.filter(pk=question.pk).exists()


def test_deleting_a_condition_source_is_refused():
    survey = SurveyFactory()
    bought = QuestionFactory(survey=survey, code="bought", kind=QuestionKind.YES_NO, scale_points=None)
    QuestionFactory(
        survey=survey, code="count", kind=QuestionKind.NUMBER, scale_points=None,
        condition_question=bought, condition_values=[1],
    )
    with pytest.raises(ValidationError, match="display condition of count"):
        bought.delete()


def test_deleting_a_creator_with_responses_is_refused():
    creator = CreatorFactory()
    ResponseFactory(link=CreatorLinkFactory(creator=creator, survey=SurveyFactory(brand=creator.brand)))
    with pytest.raises(ProtectedError):
        creator.delete()


def test_a_survey_with_responses_cannot_go_back_to_draft():
    question = answered_question()
    survey = question.survey
    survey.status = SurveyStatus.DRAFT
    with pytest.raises(ValidationError, match="cannot go back to draft"):
        survey.full_clean()
    survey.status = SurveyStatus.CLOSED
    survey.full_clean()


def test_launch_time_is_recorded_once():
    survey = SurveyFactory()
    assert survey.launched_at is None
    survey.status = SurveyStatus.LIVE
    survey.save()
    first = survey.launched_at
    survey.status = SurveyStatus.CLOSED
    survey.save()
    survey.status = SurveyStatus.LIVE
    survey.save()
    assert first is not None and survey.launched_at == first


@pytest.mark.parametrize("origin", ["shop.example", "https://shop.example/path", "ftp://x.example"])
def test_allowed_origins_must_be_origins(origin):
    survey = SurveyFactory.build(brand=SurveyFactory().brand, allowed_origins=f"https://ok.example\n{origin}")
    with pytest.raises(ValidationError, match="not a web origin"):
        survey.full_clean()


def test_link_tokens_are_long_random_and_unique():
    links = [CreatorLinkFactory() for _ in range(20)]
    tokens = {link.token for link in links}
    assert len(tokens) == 20
    assert all(len(t) >= 22 for t in tokens)  # 16 random bytes = 128 bits
    assert links[0].share_url.endswith(f"/s/{links[0].token}/")


def test_link_to_another_brands_creator_is_invalid():
    link = CreatorLinkFactory.build(survey=SurveyFactory(), creator=CreatorFactory())
    with pytest.raises(ValidationError, match="another brand"):
        link.full_clean()
