"""The CSV import of responses collected elsewhere: the command and ``surveys.imports``.

Every file is a real CSV written to ``tmp_path``; every assertion is on the
database rows the shared submit path stored, or on what the command printed.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from surveys import design
from surveys.choices import AttributionSource, Construct, QuestionKind, SurveyStatus
from surveys.imports import ImportFileError, import_responses
from surveys.models import Response
from tests.factories import (
    BrandFactory,
    CreatorFactory,
    CreatorLinkFactory,
    QuestionFactory,
    SurveyFactory,
)

# creator, then one column per question code of the fixture survey.
HEADER = ["creator", "tru_1", "topics", "bought", "buy_count", "spend_3m", "attn_check"]
GOOD = {"tru_1": "6", "bought": "0", "attn_check": "4"}


@pytest.fixture
def world():
    """Brand "acme" with survey "spring": a 7-point item, a multiple choice, purchases, an attention check."""
    brand = BrandFactory(slug="acme", name="Acme")
    survey = SurveyFactory(brand=brand, slug="spring", status=SurveyStatus.LIVE)
    QuestionFactory(survey=survey, position=1, code="tru_1")  # Likert 1–7, trustworthiness
    QuestionFactory(
        survey=survey,
        position=2,
        code="topics",
        kind=QuestionKind.MULTIPLE,
        construct=Construct.OTHER,
        scale_points=None,
        left_label="",
        right_label="",
        required=False,
        choices=[{"value": v, "label": f"Topic {v}"} for v in (1, 2, 3, 4)],
    )
    design.insert_instrument(survey, "reported_purchase")  # bought; buy_count and spend_3m only if bought
    design.insert_instrument(survey, "attention_check")  # attn_check, expected 4
    mia = CreatorFactory(brand=brand, handle="Mia_Makeup", followers=250_000)  # macro
    tom = CreatorFactory(brand=brand, handle="tom.tech", followers=5_000)  # nano, no link
    link = CreatorLinkFactory(survey=survey, creator=mia)
    CreatorFactory(handle="outsider")  # another brand's creator
    return {"brand": brand, "survey": survey, "mia": mia, "tom": tom, "link": link}


def write_csv(directory: Path, rows: list[dict[str, str]], *, header=None, name="responses.csv") -> Path:
    path = directory / name
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.DictWriter(stream, fieldnames=header or HEADER)
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    return path


def run_import(path: Path, *args: str, capsys) -> str:
    call_command("import_responses", "acme/spring", str(path), *args)
    return capsys.readouterr().out


def import_error(path: Path, *args: str) -> str:
    with pytest.raises(CommandError) as info:
        call_command("import_responses", "acme/spring", str(path), *args)
    return str(info.value)


def row(creator: str = "mia_makeup", **cells: str) -> dict[str, str]:
    return {"creator": creator, **GOOD, **cells}


# --- a valid file ---------------------------------------------------------------------------------


def test_valid_file_imports_every_row_through_the_shared_path(world, tmp_path, capsys):
    header = [*HEADER, "submitted_at", "external_id", "completion_seconds", "tier", "followers"]
    rows = [
        row(
            "@mia_makeup",
            tru_1="6",
            topics="1;3",
            bought="1",
            buy_count="2",
            spend_3m="49.90",
            submitted_at="2024-05-01T10:30:00+02:00",
            external_id="ext-1",
            completion_seconds="95",
        ),
        row("MIA_MAKEUP", tru_1="5", submitted_at="2024-05-02 08:00:00", external_id="ext-2"),
        row(
            "Tom.Tech",
            tru_1="7",
            topics="2",
            bought="1",
            buy_count="0",
            tier="micro",
            followers="12000",
            external_id="ext-3",
        ),
    ]
    before = timezone.now()
    out = run_import(write_csv(tmp_path, rows, header=header), capsys=capsys)
    assert "Imported 3 response(s) into acme/spring; 0 already imported." in out

    stored = {r.external_id: r for r in Response.objects.filter(survey=world["survey"])}
    assert set(stored) == {"ext-1", "ext-2", "ext-3"}
    for response in stored.values():
        assert response.source == AttributionSource.IMPORT
        assert response.is_test is False
        assert response.form_token.startswith("imp:")

    first = stored["ext-1"]
    assert (first.creator, first.link) == (world["mia"], world["link"])
    assert (first.creator_tier, first.creator_followers) == ("macro", 250_000)
    assert first.submitted_at == datetime(2024, 5, 1, 8, 30, tzinfo=UTC)
    assert first.completion_seconds == 95
    assert first.started_at == first.submitted_at - timedelta(seconds=95)
    assert first.answers == {"tru_1": 6, "topics": [1, 3], "bought": 1, "buy_count": 2, "spend_3m": 49.9, "attn_check": 4}
    assert first.not_asked == []

    second = stored["ext-2"]
    assert (second.creator, second.link) == (world["mia"], world["link"])
    # A naive time is read in the project's time zone and stored aware.
    assert timezone.is_aware(second.submitted_at)
    assert second.submitted_at == timezone.make_aware(datetime(2024, 5, 2, 8, 0))
    assert second.answers == {"tru_1": 5, "bought": 0, "attn_check": 4}
    assert second.not_asked == ["buy_count", "spend_3m"]

    third = stored["ext-3"]
    assert third.creator == world["tom"]
    assert third.link is None  # tom has no link to this survey
    assert (third.creator_tier, third.creator_followers) == ("micro", 12_000)  # the file's snapshot
    assert before <= third.submitted_at <= timezone.now()  # no submitted_at: the import time
    assert third.answers == {"tru_1": 7, "topics": [2], "bought": 1, "buy_count": 0, "attn_check": 4}


def test_import_function_returns_counts(world):
    data = "creator,tru_1,topics,bought,attn_check\r\nmia_makeup,4,4;2,0,4\r\n@TOM.TECH,3,,0,4\r\n".encode()
    result = import_responses(world["survey"], data)
    assert (result.created, result.existing, result.rejected) == (2, 0, [])
    by_creator = {r.creator.handle: r for r in Response.objects.all()}
    assert by_creator["Mia_Makeup"].answers["topics"] == [2, 4]
    assert (by_creator["tom.tech"].creator_tier, by_creator["tom.tech"].creator_followers) == ("nano", 5_000)
    again = import_responses(world["survey"], data)
    assert (again.created, again.existing) == (0, 2)


def test_excel_utf8_bom_and_crlf_are_read(world):
    data = "\ufeffcreator,tru_1,bought,attn_check\r\nmia_makeup,2,0,4\r\n".encode()
    assert import_responses(world["survey"], data).created == 1
    assert Response.objects.get().answers == {"tru_1": 2, "bought": 0, "attn_check": 4}


# --- a bad file imports nothing -------------------------------------------------------------------


BAD_FILES = {
    "unknown creator": (
        [row(), row("ghost")],
        None,
        "row 3, column creator: no creator @ghost in brand acme",
    ),
    "other brand's creator": (
        [row("outsider")],
        None,
        "row 2, column creator: no creator @outsider in brand acme",
    ),
    "out-of-range answer": (
        [row(), row(tru_1="9")],
        None,
        "row 3, column tru_1: Choose a whole number from 1 to 7.",
    ),
    "multiple-choice value not offered": (
        [row(topics="1;9")],
        None,
        "row 2, column topics: Choose from the listed options (one of 1, 2, 3, 4).",
    ),
    "required answer missing": (
        [row(), row(), row(attn_check="")],
        None,
        "row 4, column attn_check: This question is required.",
    ),
    "bad submitted_at": (
        [row(submitted_at="2024-05-01T10:00:00"), row(submitted_at="yesterday")],
        [*HEADER, "submitted_at"],
        "row 3, column submitted_at: “yesterday” is not an ISO 8601 date-time",
    ),
    "impossible date": (
        [row(submitted_at="2024-02-30T10:00:00")],
        [*HEADER, "submitted_at"],
        "row 2, column submitted_at: “2024-02-30T10:00:00” is not an ISO 8601 date-time",
    ),
    "unknown column": (
        [row()],
        [*HEADER, "colour"],
        "column colour: not a question code of spring nor a known column",
    ),
    "duplicate external_id": (
        [row(external_id="x1"), row(external_id="x2"), row(external_id="x1")],
        [*HEADER, "external_id"],
        "row 4, column external_id: “x1” is also on row 2",
    ),
    "missing creator column": (
        [{"tru_1": "5", "bought": "0", "attn_check": "4"}],
        [c for c in HEADER if c != "creator"],
        "column creator: missing (the creator's handle)",
    ),
    "bad tier": ([row(tier="huge")], [*HEADER, "tier"], "row 2, column tier: one of nano, micro, macro, celebrity"),
    "bad followers": ([row(followers="-3")], [*HEADER, "followers"], "row 2, column followers: enter a whole number ≥ 0"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_file_imports_nothing_and_names_row_and_column(world, tmp_path, case):
    rows, header, expected = BAD_FILES[case]
    path = write_csv(tmp_path, rows, header=header)
    message = import_error(path)
    assert f"{path}: nothing imported" in message
    assert expected in message
    assert Response.objects.count() == 0


def test_every_problem_of_a_bad_file_is_listed(world, tmp_path):
    path = write_csv(tmp_path, [row("ghost"), row(), row(tru_1="0", attn_check="")])
    message = import_error(path)
    assert "3 problem(s)" in message
    assert "row 2, column creator: no creator @ghost in brand acme" in message
    assert "row 4, column tru_1: Choose a whole number from 1 to 7." in message
    assert "row 4, column attn_check: This question is required." in message
    assert Response.objects.count() == 0


def test_import_function_raises_import_file_error(world):
    with pytest.raises(ImportFileError) as info:
        import_responses(world["survey"], b"creator,tru_1,bought,attn_check\nmia_makeup,8,0,4\n")
    assert [str(p) for p in info.value.problems] == ["row 2, column tru_1: Choose a whole number from 1 to 7."]
    assert Response.objects.count() == 0


def test_row_numbers_count_a_blank_line_as_a_spreadsheet_row(world):
    # Opened in a spreadsheet, the blank line is row 3 and the bad answer is on row 4.
    data = b"creator,tru_1,bought,attn_check\nmia_makeup,5,0,4\n\nmia_makeup,9,0,4\n"
    with pytest.raises(ImportFileError) as info:
        import_responses(world["survey"], data)
    assert [str(p) for p in info.value.problems] == ["row 4, column tru_1: Choose a whole number from 1 to 7."]


def test_unknown_survey_and_unreadable_file_are_command_errors(world, tmp_path):
    with pytest.raises(CommandError, match="No survey"):
        call_command("import_responses", "acme/nope", str(write_csv(tmp_path, [row()])))
    with pytest.raises(CommandError, match="Cannot read"):
        call_command("import_responses", "acme/spring", str(tmp_path / "missing.csv"))
    assert Response.objects.count() == 0


# --- --skip-invalid -------------------------------------------------------------------------------


def test_skip_invalid_imports_valid_rows_and_writes_rejects(world, tmp_path, capsys):
    header = [*HEADER, "external_id"]
    rows = [
        row(external_id="a"),
        row(tru_1="9", external_id="b"),
        row("tom.tech", tru_1="2", external_id="c"),
        row("ghost", external_id="d"),
    ]
    path = write_csv(tmp_path, rows, header=header)
    rejects = tmp_path / "rejects.csv"
    out = run_import(path, "--skip-invalid", str(rejects), capsys=capsys)
    assert f"Imported 2 response(s) into acme/spring; 0 already imported; 2 rejected (see {rejects})." in out
    assert sorted(Response.objects.values_list("external_id", flat=True)) == ["a", "c"]

    with open(rejects, newline="", encoding="utf-8") as stream:
        reader = csv.DictReader(stream)
        assert reader.fieldnames == ["row", *header, "problems"]
        rejected = list(reader)
    assert [(r["row"], r["external_id"], r["creator"]) for r in rejected] == [("3", "b", "mia_makeup"), ("5", "d", "ghost")]
    assert rejected[0]["problems"] == "tru_1: Choose a whole number from 1 to 7."
    assert rejected[1]["problems"] == "creator: no creator @ghost in brand acme"

    # Running the same command again stores nothing new and rejects the same rows.
    rejects.unlink()
    out = run_import(path, "--skip-invalid", str(rejects), capsys=capsys)
    assert "Imported 0 response(s) into acme/spring; 2 already imported; 2 rejected" in out
    assert Response.objects.count() == 2
    assert rejects.exists()


def test_skip_invalid_without_problems_writes_no_rejects_file(world, tmp_path, capsys):
    rejects = tmp_path / "rejects.csv"
    out = run_import(write_csv(tmp_path, [row(), row()]), "--skip-invalid", str(rejects), capsys=capsys)
    assert "Imported 2 response(s) into acme/spring; 0 already imported." in out
    assert not rejects.exists()


# --- exactly once ---------------------------------------------------------------------------------


def test_reimport_with_external_ids_changes_nothing(world, tmp_path, capsys):
    header = [*HEADER, "external_id"]
    path = write_csv(tmp_path, [row(external_id=f"e{i}") for i in range(3)], header=header)
    assert "Imported 3 response(s)" in run_import(path, capsys=capsys)
    ids = set(Response.objects.values_list("pk", flat=True))
    out = run_import(path, capsys=capsys)
    assert "Imported 0 response(s) into acme/spring; 3 already imported." in out
    assert set(Response.objects.values_list("pk", flat=True)) == ids


def test_reimport_without_external_ids_changes_nothing(world, tmp_path, capsys):
    path = write_csv(tmp_path, [row(tru_1="1"), row(tru_1="2"), row("tom.tech", tru_1="3")])
    assert "Imported 3 response(s) into acme/spring; 0 already imported." in run_import(path, capsys=capsys)
    out = run_import(path, capsys=capsys)
    assert "Imported 0 response(s) into acme/spring; 3 already imported." in out
    assert sorted(r["tru_1"] for r in Response.objects.values_list("answers", flat=True)) == [1, 2, 3]


def test_identical_rows_without_external_id_are_two_responses(world, tmp_path, capsys):
    path = write_csv(tmp_path, [row(tru_1="4"), row(tru_1="4")])
    assert "Imported 2 response(s)" in run_import(path, capsys=capsys)
    assert Response.objects.count() == 2
    assert "Imported 0 response(s) into acme/spring; 2 already imported." in run_import(path, capsys=capsys)
    assert Response.objects.count() == 2


def test_second_file_with_the_same_external_ids_is_skipped(world, tmp_path, capsys):
    header = [*HEADER, "external_id"]
    first = write_csv(tmp_path, [row(tru_1="1", external_id="r1"), row(tru_1="2", external_id="r2")], header=header)
    assert "Imported 2 response(s)" in run_import(first, capsys=capsys)
    # Another export of the same responses: other bytes, one new row.
    second = write_csv(
        tmp_path,
        [row(tru_1="7", external_id="r2"), row(tru_1="7", external_id="r1"), row(tru_1="5", external_id="r3")],
        header=header,
        name="later.csv",
    )
    out = run_import(second, capsys=capsys)
    assert "Imported 1 response(s) into acme/spring; 2 already imported." in out
    stored = {r.external_id: r.answers["tru_1"] for r in Response.objects.all()}
    assert stored == {"r1": 1, "r2": 2, "r3": 5}  # the first import's answers are kept


def test_same_file_into_another_survey_is_imported_there(world, tmp_path, capsys):
    other = SurveyFactory(brand=world["brand"], slug="autumn")
    QuestionFactory(survey=other, position=1, code="tru_1")
    design.insert_instrument(other, "reported_purchase")
    design.insert_instrument(other, "attention_check")
    QuestionFactory(
        survey=other,
        code="topics",
        kind=QuestionKind.MULTIPLE,
        construct=Construct.OTHER,
        scale_points=None,
        required=False,
        choices=[{"value": v, "label": f"Topic {v}"} for v in (1, 2, 3, 4)],
    )
    path = write_csv(tmp_path, [row(external_id="same")], header=[*HEADER, "external_id"])
    run_import(path, capsys=capsys)
    call_command("import_responses", "acme/autumn", str(path))
    assert "Imported 1 response(s) into acme/autumn; 0 already imported." in capsys.readouterr().out
    assert sorted(Response.objects.values_list("survey__slug", flat=True)) == ["autumn", "spring"]


# --- display conditions and quality flags ----------------------------------------------------------


def test_display_conditions_apply_to_imported_rows(world, tmp_path, capsys):
    header = [*HEADER, "external_id"]
    rows = [
        row(bought="0", buy_count="5", spend_3m="20", external_id="non-buyer"),
        row(bought="1", buy_count="5", external_id="buyer"),
    ]
    run_import(write_csv(tmp_path, rows, header=header), capsys=capsys)
    non_buyer = Response.objects.get(external_id="non-buyer")
    assert "buy_count" not in non_buyer.answers and "spend_3m" not in non_buyer.answers
    assert non_buyer.not_asked == ["buy_count", "spend_3m"]
    buyer = Response.objects.get(external_id="buyer")
    assert buyer.answers["buy_count"] == 5
    assert buyer.not_asked == []


def test_a_question_not_asked_is_not_required(world, tmp_path):
    # buy_count is required but hidden for a non-buyer; for a buyer it must be answered.
    path = write_csv(tmp_path, [row(bought="0"), row(bought="1")])
    message = import_error(path)
    assert "row 3, column buy_count: This question is required." in message
    assert "row 2" not in message


def test_quality_flags_are_computed_for_imported_rows(world, tmp_path, capsys):
    header = [*HEADER, "external_id", "completion_seconds"]
    rows = [
        row(attn_check="4", external_id="careful", completion_seconds="120"),
        row(attn_check="2", external_id="careless", completion_seconds="120"),
        row(attn_check="4", external_id="fast", completion_seconds="1.5"),  # 3 answers in 1.5 s
        row(attn_check="4", external_id="untimed"),
    ]
    run_import(write_csv(tmp_path, rows, header=header), capsys=capsys)
    flags = {
        r.external_id: (r.flag_attention, r.flag_speeder, r.flag_straightliner, r.flag_duplicate, r.flag_honeypot)
        for r in Response.objects.all()
    }
    assert flags == {
        "careful": (False, False, False, False, False),
        "careless": (True, False, False, False, False),
        "fast": (False, True, False, False, False),
        "untimed": (False, False, False, False, False),
    }
