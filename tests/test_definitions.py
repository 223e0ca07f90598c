import json

import pytest
from django.core.management import CommandError, call_command

from surveys.definitions import DefinitionError, export_definition, import_definition
from surveys.design import insert_instrument
from surveys.models import Survey
from tests.factories import BrandFactory, SurveyFactory


@pytest.fixture
def full_survey():
    survey = SurveyFactory(
        slug="trust-2026",
        title="Trust 2026",
        intro="About {creator}",
        consent_text="I agree.",
        min_age=16,
        allowed_origins="https://shop.example\nhttps://blog.example:8443",
        retention_days=90,
        language="de",
        privacy_notice_url="https://example.com/privacy",
    )
    for key in ("ohanian_1990", "juster_1966", "reported_purchase", "attention_check", "about_you"):
        insert_instrument(survey, key)
    return survey


def test_round_trip_is_lossless(full_survey):
    definition = export_definition(full_survey)
    other = BrandFactory()
    copy = import_definition(json.loads(json.dumps(definition)), brand=other)
    assert copy.brand == other and copy.status == "draft"
    assert export_definition(copy) == definition
    assert definition["survey"]["allowed_origins"] == ["https://shop.example", "https://blog.example:8443"]
    spend = next(q for q in definition["questions"] if q["code"] == "spend_3m")
    assert spend["condition"] == {"code": "bought", "values": [1]}


def test_commands_round_trip_through_a_file(full_survey, tmp_path):
    path = tmp_path / "survey.json"
    call_command("export_survey", f"{full_survey.brand.slug}/{full_survey.slug}", "-o", str(path))
    target = BrandFactory(slug="target")
    call_command("import_survey", str(path), "--brand", "target", "--slug", "copied")
    copy = Survey.objects.get(brand=target, slug="copied")
    first = json.loads(path.read_text())
    first["survey"]["slug"] = "copied"
    assert export_definition(copy) == first


def test_export_by_slug_alone_and_ambiguity():
    SurveyFactory(slug="same", brand=BrandFactory(slug="one"))
    with pytest.raises(CommandError, match="No survey"):
        call_command("export_survey", "missing")
    SurveyFactory(slug="same", brand=BrandFactory(slug="two"))
    with pytest.raises(CommandError, match="ambiguous: one/same, two/same"):
        call_command("export_survey", "same")


def test_invalid_definition_names_every_problem_and_stores_nothing(full_survey):
    definition = export_definition(full_survey)
    definition["questions"][0]["code"] = "with"
    definition["questions"][1]["kind"] = "slider"
    definition["questions"][2]["colour"] = "red"
    definition["questions"][16]["condition"] = {"code": "nope", "values": [1]}
    brand = BrandFactory()
    with pytest.raises(DefinitionError) as info:
        import_definition(definition, brand=brand)
    errors = info.value.errors
    assert any(e.startswith("questions[0].code:") and "SPSS" in e for e in errors)
    assert any(e.startswith("questions[1].kind:") for e in errors)
    assert "questions[2]: unknown field(s) colour." in errors
    assert any(e.startswith("questions[16].condition.code:") for e in errors)
    assert not Survey.objects.filter(brand=brand).exists()


def test_import_command_reports_json_syntax_errors_with_position(tmp_path):
    BrandFactory(slug="only")
    path = tmp_path / "bad.json"
    path.write_text('{"format": "trustpoll.survey",\n "version": 1,, }')
    with pytest.raises(CommandError, match=r"line 2, column 15"):
        call_command("import_survey", str(path))


def test_import_needs_a_brand_when_there_are_several(full_survey, tmp_path):
    BrandFactory()
    path = tmp_path / "s.json"
    path.write_text(json.dumps(export_definition(full_survey)))
    with pytest.raises(CommandError, match="--brand"):
        call_command("import_survey", str(path))


def test_import_refuses_a_taken_slug(full_survey):
    with pytest.raises(DefinitionError, match="survey"):
        import_definition(export_definition(full_survey), brand=full_survey.brand)
