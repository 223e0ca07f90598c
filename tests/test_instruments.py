import pytest
from django.core.exceptions import ValidationError

from surveys.choices import Construct, QuestionKind
from surveys.design import duplicate_survey, insert_instrument
from surveys.instruments import INSTRUMENTS, JUSTER_1966, OHANIAN_1990
from tests.factories import SurveyFactory


@pytest.mark.nodb
def test_every_instrument_has_a_citation_and_unique_valid_codes():
    from surveys.codes import code_problem

    codes = [item.code for instrument in INSTRUMENTS.values() for item in instrument.items]
    assert len(codes) == len(set(codes))
    assert all(code_problem(code) is None for code in codes)
    assert all(instrument.citation for instrument in INSTRUMENTS.values())


def test_ohanian_inserts_three_five_item_semantic_differentials_with_reversed_items():
    survey = SurveyFactory()
    questions = insert_instrument(survey, "ohanian_1990")
    assert len(questions) == 15
    by_construct = {}
    for q in questions:
        by_construct.setdefault(q.construct, []).append(q)
        assert (q.kind, q.scale_points) == (QuestionKind.SEMANTIC, 7)
    assert {c: len(qs) for c, qs in by_construct.items()} == {
        Construct.TRUSTWORTHINESS: 5,
        Construct.EXPERTISE: 5,
        Construct.ATTRACTIVENESS: 5,
    }
    trust = {q.code: q for q in by_construct[Construct.TRUSTWORTHINESS]}
    assert [q.code for q in questions[:5]] == ["tru_1", "tru_2", "tru_3", "tru_4", "tru_5"]
    # Favourable pole on the right: not reversed; favourable pole on the left: reversed.
    assert (trust["tru_1"].left_label, trust["tru_1"].right_label, trust["tru_1"].reverse_coded) == (
        "Undependable",
        "Dependable",
        False,
    )
    assert (trust["tru_2"].left_label, trust["tru_2"].right_label, trust["tru_2"].reverse_coded) == (
        "Honest",
        "Dishonest",
        True,
    )
    assert [q.position for q in questions] == list(range(1, 16))
    assert all(q.instrument == "ohanian_1990" for q in questions)


def test_juster_scale_has_eleven_labelled_points():
    (question,) = insert_instrument(SurveyFactory(), "juster_1966")
    assert question.scale_bounds() == (0, 10)
    assert question.choices[0] == {"value": 0, "label": "No chance, almost no chance (1 in 100)"}
    assert question.choices[10] == {"value": 10, "label": "Certain, practically certain (99 in 100)"}
    assert len(JUSTER_1966.items[0].choices) == 11


def test_reported_purchase_asks_count_and_spend_only_of_buyers():
    survey = SurveyFactory()
    bought, count, spend = insert_instrument(survey, "reported_purchase")
    assert bought.kind == QuestionKind.YES_NO and bought.allowed_values() == {0, 1}
    assert "{creator}" in bought.wording
    assert bought.render_wording("Ava") == "Have you bought something because Ava recommended it?"
    for question in (count, spend):
        assert question.condition_question == bought
        assert question.condition_values == [1]


def test_attention_check_expects_somewhat_agree():
    (check,) = insert_instrument(SurveyFactory(), "attention_check")
    assert check.construct == Construct.ATTENTION_CHECK
    assert check.expected_answer == 4
    assert check.choices[3]["label"] == "Somewhat agree"


def test_instruments_append_after_existing_questions_and_refuse_code_clashes():
    survey = SurveyFactory()
    insert_instrument(survey, "juster_1966")
    added = insert_instrument(survey, "spears_singh_2004")
    assert [q.position for q in added] == [2, 3, 4, 5, 6]
    with pytest.raises(ValidationError, match="already has the codes pi_1"):
        insert_instrument(survey, "spears_singh_2004")
    assert survey.questions.count() == 6


def test_unknown_instrument_names_the_known_ones():
    with pytest.raises(KeyError, match="ohanian_1990"):
        insert_instrument(SurveyFactory(), "nope")


def test_duplicate_survey_copies_questions_and_conditions_as_a_draft():
    survey = SurveyFactory(status="live", slug="trust")
    insert_instrument(survey, "reported_purchase")
    copy = duplicate_survey(survey)
    again = duplicate_survey(survey)
    assert (copy.slug, again.slug, copy.status) == ("trust-copy", "trust-copy-2", "draft")
    codes = list(copy.questions.values_list("code", flat=True))
    assert codes == ["bought", "buy_count", "spend_3m"]
    count = copy.questions.get(code="buy_count")
    assert count.condition_question.survey == copy
    assert count.condition_question.code == "bought"
    assert OHANIAN_1990.items[0].code == "tru_1"
