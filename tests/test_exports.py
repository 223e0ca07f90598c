"""Data files: CSV (chunked), codebook, SPSS, Stata, Excel, the reproducible bundle, the command,
the export service with its permission-checked download, and the admin export form.

Everything runs on one small seeded demo (300 simulated responses) plus twelve
responses submitted through ``collection.submit_responses`` that also answer a
multiple-choice question, a question with a 120-character wording and a free-text
question, and one test response that must never appear in any file.
"""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import zipfile
from datetime import UTC, timedelta
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pyreadstat
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import Q
from django.http import StreamingHttpResponse
from django.test import override_settings
from django.utils import timezone

from surveys import exports, files
from surveys.analyses import clean_filters, filters_q, request_analysis
from surveys.choices import AttributionSource, Construct, QuestionKind, Role
from surveys.collection import FLAG_FIELDS, BatchRow, submit_responses
from surveys.demo import seed_demo
from surveys.models import AnalysisRun, Export, Question, Response
from surveys.outcomes import CAVEAT, VALUE_CAVEAT, outcome_section
from surveys.scoring import score_responses
from surveys.selectors import UTM_FIELDS, question_metas
from tests.factories import (
    BrandFactory,
    CreatorLinkFactory,
    MembershipFactory,
    QuestionFactory,
    ResponseFactory,
    SurveyFactory,
    UserFactory,
)
from tests.test_outcomes import add_post_purchase_answers, ols_line, two_surveys_of_one_brand

# 120 characters: longer than Stata's 80-character label limit.
LONG_WORDING = (
    "When {creator} recommends a product in a sponsored post, "
    "I believe the recommendation reflects an honest, personal view."
)
CHANNELS = [{"value": 1, "label": "Instagram"}, {"value": 2, "label": "TikTok"}, {"value": 3, "label": "YouTube"}]
# What each of the twelve extra responses picks in the multiple-choice question ([] = not answered).
PICKS = [[1], [2, 3], [], [1, 2, 3], [3], [1, 3], [2], [1, 2], [1], [3], [2, 3], [1, 2, 3]]
# Free-text answers of some extra responses: one over two lines with a comma and quotes, one that looks like a number.
COMMENTS = {1: 'Great tips, "honest" ones.\nWould buy again.', 4: "007", 7: "Nice"}
TEST_RESPONSE_TOKEN = "preview:never-exported"

QUESTION_CODES = [
    *(f"tru_{n}" for n in range(1, 6)),
    *(f"exp_{n}" for n in range(1, 6)),
    *(f"attr_{n}" for n in range(1, 6)),
    *(f"pi_{n}" for n in range(1, 6)),
    "pp_juster", "bought", "buy_count", "spend_3m", "attn_check", "age_band", "follow_len",
]
EXPECTED_COLUMNS = [
    "response_id", "submitted_at", "completion_seconds", "creator_handle", "platform", "tier", "followers", "source",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
    "flag_honeypot", "flag_speeder", "flag_straightliner", "flag_attention", "flag_duplicate",
    *QUESTION_CODES, "channels_1", "channels_2", "channels_3", "long_item", "comment",
    "trustworthiness", "expertise", "attractiveness", "purchase_intent", "purchase_probability",
    "reported_purchase", "purchase_count", "spend",
]
SCORES = ["trustworthiness", "expertise", "attractiveness", "purchase_intent", "purchase_probability",
          "reported_purchase", "purchase_count", "spend"]
STRING_COLUMNS = ["creator_handle", "platform", "tier", "source", *UTM_FIELDS, "comment"]
ALL_CODES = [*QUESTION_CODES, "channels", "long_item", "comment"]


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """The demo survey plus a multiple-choice, a long-worded and a free-text question, twelve extra responses, a test response and a run."""
    with django_db_blocker.unblock():
        summary = seed_demo(responses=300, seed=5)
        survey = summary.survey
        QuestionFactory(
            survey=survey, position=28, code="channels", wording="Where do you follow {creator}?",
            kind=QuestionKind.MULTIPLE, scale_points=None, left_label="", right_label="",
            construct=Construct.OTHER, required=False, choices=CHANNELS,
        )
        QuestionFactory(
            survey=survey, position=29, code="long_item", wording=LONG_WORDING, kind=QuestionKind.LIKERT,
            scale_points=5, left_label="Strongly disagree", right_label="Strongly agree",
            construct=Construct.OTHER, required=False,
        )
        QuestionFactory(
            survey=survey, position=30, code="comment", wording="Anything else about {creator}?", kind=QuestionKind.TEXT,
            scale_points=None, left_label="", right_label="", construct=Construct.OTHER, required=False,
        )
        base = list(Response.objects.filter(survey=survey).order_by("id")[: len(PICKS)])
        rows = []
        for i, (source_response, pick) in enumerate(zip(base, PICKS, strict=True)):
            answers = dict(source_response.answers)
            if pick:
                answers["channels"] = pick
            answers["long_item"] = 1 + i % 5
            if i in COMMENTS:
                answers["comment"] = COMMENTS[i]
            rows.append(
                BatchRow(
                    key=f"extra:{i}", creator=source_response.creator, answers=answers, completion_seconds=95.5 + i,
                    source=AttributionSource.NAMED if i % 3 == 0 else AttributionSource.LINK,
                    # The first one answered when the creator was in another tier, with other followers.
                    **({"tier": "nano" if source_response.creator_tier != "nano" else "micro", "followers": 4321} if i == 0 else {}),
                )
            )
        result = submit_responses(survey=survey, rows=rows)
        assert result.created == len(PICKS), result.errors
        for i in range(len(PICKS)):
            utm = {"utm_source": "instagram", "utm_medium": "social", "utm_campaign": f"spring, week {i}"}
            if i % 2:
                utm.update(utm_content="story", utm_term=f"term-{i}")
            Response.objects.filter(form_token=f"extra:{i}").update(utm=utm)
        link = survey.links.select_related("creator").order_by("id").first()
        test_response = ResponseFactory(
            link=link, is_test=True, answers=dict(base[0].answers), form_token=TEST_RESPONSE_TOKEN,
            completion_seconds=3.0, utm={"utm_source": "preview"},
        )
        run = request_analysis(survey)
        assert run.status == AnalysisRun.Status.SUCCEEDED, run.error
        real = list(
            Response.objects.filter(survey=survey, is_test=False).select_related("creator").order_by("id")
        )
        yield {"summary": summary, "survey": survey, "brand": summary.brand, "run": run, "real": real,
               "test_id": test_response.pk}
        Export.objects.all().delete()
        AnalysisRun.objects.all().delete()
        from surveys.models import Brand, Survey

        Response.objects.all().delete()
        Survey.objects.all().delete()
        Brand.objects.all().delete()
        get_user_model().objects.filter(username="demo").delete()


# --- helpers ------------------------------------------------------------------------------------


def csv_text(survey, **kwargs) -> str:
    buffer = io.StringIO()
    exports.write_csv(survey, buffer, **kwargs)
    return buffer.getvalue()


def read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype={name: str for name in STRING_COLUMNS})


def stored_answers_frame(responses: list[Response]) -> pd.DataFrame:
    """The stored answers as a frame (one row per response, indexed by id), straight from the JSON."""
    return pd.DataFrame([r.answers for r in responses], index=[r.pk for r in responses])


def as_float(series: pd.Series) -> np.ndarray:
    return pd.to_numeric(series, errors="coerce").astype(float).to_numpy()


def assert_same_data(frame: pd.DataFrame, reference: pd.DataFrame, *, what: str) -> None:
    """``frame`` (read back from SPSS, Stata or Excel) holds the same rows and values as the CSV ``reference``."""
    assert list(frame.columns) == list(reference.columns), what
    assert len(frame) == len(reference), what
    for name in reference.columns:
        if name == "submitted_at":
            expected = pd.to_datetime(reference[name], utc=True).dt.tz_localize(None)
            got = pd.to_datetime(frame[name])
            difference = (got.to_numpy() - expected.to_numpy()).astype("timedelta64[us]").astype(np.int64)
            assert np.abs(difference).max() <= 1000, f"{what}: {name} differs by more than 1 ms"
        elif name in STRING_COLUMNS:
            assert frame[name].fillna("").astype(str).tolist() == reference[name].fillna("").astype(str).tolist(), f"{what}: {name}"
        else:
            np.testing.assert_allclose(as_float(frame[name]), as_float(reference[name]), rtol=1e-12, equal_nan=True,
                                       err_msg=f"{what}: {name}")


def sheet_frame(sheet) -> pd.DataFrame:
    rows = list(sheet.iter_rows(values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0])


def expected_variable_label(question: Question) -> str:
    wording = " ".join(question.wording.split())
    if question.kind == QuestionKind.SEMANTIC:
        return f"{wording} [{question.left_label} – {question.right_label}]"
    return wording


# --- CSV ----------------------------------------------------------------------------------------


def test_csv_has_the_documented_columns_and_one_row_per_real_response(world):
    buffer = io.StringIO()
    assert exports.write_csv(world["survey"], buffer) == 312  # the number of responses, not of lines
    frame = read_csv(buffer.getvalue())
    assert list(frame.columns) == EXPECTED_COLUMNS
    assert frame["response_id"].tolist() == [r.pk for r in world["real"]]
    assert len(frame) == 312
    assert world["test_id"] not in set(frame["response_id"])
    assert frame["response_id"].is_unique


def test_csv_values_equal_the_stored_responses(world):
    real = world["real"]
    frame = read_csv(csv_text(world["survey"])).set_index("response_id")
    for response in real:
        row = frame.loc[response.pk]
        assert row["submitted_at"] == response.submitted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert row["completion_seconds"] == pytest.approx(response.completion_seconds)
        assert row["creator_handle"] == response.creator.handle
        assert row["platform"] == response.creator.platform
        assert row["tier"] == response.creator_tier
        assert row["followers"] == response.creator_followers
        assert row["source"] == response.source
        for name in UTM_FIELDS:
            stored = response.utm.get(name)
            assert (row[name] if isinstance(row[name], str) else None) == stored, (response.pk, name)
        for name in FLAG_FIELDS:
            assert row[name] == int(getattr(response, name)), (response.pk, name)
    answers = stored_answers_frame(real)
    for code in [*QUESTION_CODES, "long_item"]:
        stored = pd.to_numeric(answers[code], errors="coerce").astype(float) if code in answers else pd.Series(np.nan, index=answers.index)
        np.testing.assert_array_equal(frame.loc[answers.index, code].to_numpy(dtype=float), stored.to_numpy(), err_msg=code)
    comments = {r.pk: r.answers.get("comment") for r in real}
    assert {pk: (v if isinstance(v, str) else None) for pk, v in frame["comment"].items()} == comments
    assert sorted(v for v in comments.values() if v) == sorted(COMMENTS.values())
    # The tier and followers are those at response time, not the creator's current ones.
    first_extra = next(r for r in real if r.form_token == "extra:0")
    assert frame.loc[first_extra.pk, "followers"] == 4321 != first_extra.creator.followers
    assert frame.loc[first_extra.pk, "tier"] != first_extra.creator.tier
    # The extra responses' UTM fields really are exported (the demo's are empty).
    assert frame["utm_campaign"].dropna().tolist() == [f"spring, week {i}" for i in range(len(PICKS))]
    assert frame["flag_attention"].sum() > 0  # the demo has flagged responses, exported as 1


def test_csv_score_columns_equal_scoring_score_responses(world):
    real = world["real"]
    frame = read_csv(csv_text(world["survey"])).set_index("response_id")
    expected = score_responses(stored_answers_frame(real), question_metas(world["survey"])).frame
    assert sorted(expected.columns) == sorted(SCORES)
    for name in SCORES:
        np.testing.assert_allclose(frame.loc[expected.index, name].to_numpy(dtype=float), expected[name].to_numpy(dtype=float),
                                   rtol=1e-12, equal_nan=True, err_msg=name)
    assert frame["trustworthiness"].notna().all() and frame["spend"].notna().sum() > 250


def test_csv_chunks_give_the_same_bytes_as_one_chunk(world):
    survey = world["survey"]
    whole = csv_text(survey, sql=False)  # the pandas writer, chunk by chunk (also what SPSS, Stata and Excel read)
    assert csv_text(survey, chunk_size=7, sql=False) == whole
    assert b"".join(exports.csv_stream(survey)).decode("utf-8") == csv_text(survey)


def test_the_sql_and_the_pandas_csv_writers_agree(world):
    """On PostgreSQL the CSV comes from COPY with the scores computed in SQL; it must hold the same data."""
    survey = world["survey"]
    pandas_csv = csv_text(survey, sql=False)
    if connection.vendor != "postgresql":
        assert not exports.sql_csv_supported(survey)
        assert csv_text(survey) == pandas_csv
        return
    assert exports.sql_csv_supported(survey)
    sql_csv = csv_text(survey, sql=True)
    assert sql_csv.splitlines()[0] == pandas_csv.splitlines()[0] == ",".join(EXPECTED_COLUMNS)
    pd.testing.assert_frame_equal(read_csv(sql_csv), read_csv(pandas_csv), check_dtype=False, rtol=1e-12, atol=0)
    narrowed = filters_q(clean_filters(survey, {"tiers": ["micro"], "exclude_flagged": True}))
    pd.testing.assert_frame_equal(read_csv(csv_text(survey, where=narrowed, sql=True)),
                                  read_csv(csv_text(survey, where=narrowed, sql=False)), check_dtype=False, rtol=1e-12, atol=0)


def test_csv_of_no_rows_still_has_the_header(world):
    text = csv_text(world["survey"], where=filters_q({"date_from": "2099-01-01"}))
    assert text == ",".join(EXPECTED_COLUMNS) + "\n"


def _expected_ids(real, keep) -> list[int]:
    return [r.pk for r in real if keep(r)]


def test_filters_narrow_the_rows(world):
    survey, real = world["survey"], world["real"]
    days = sorted(timezone.localtime(r.submitted_at).date() for r in real)
    date_from, date_to = days[len(days) // 4], days[3 * len(days) // 4]
    handles = sorted({r.creator.handle for r in real})[:3]
    cases = [
        ({"tiers": ["nano", "micro"]}, lambda r: r.creator_tier in ("nano", "micro")),
        ({"date_from": date_from.isoformat(), "date_to": date_to.isoformat()},
         lambda r: date_from <= timezone.localtime(r.submitted_at).date() <= date_to),
        ({"exclude_flagged": True}, lambda r: not any(getattr(r, f) for f in FLAG_FIELDS)),
        ({"creators": handles}, lambda r: r.creator.handle in handles),
        ({"platforms": ["instagram", "tiktok"]}, lambda r: r.creator.platform in ("instagram", "tiktok")),
        ({"tiers": ["macro"], "exclude_flagged": True, "platforms": ["blog", "x", "youtube"]},
         lambda r: r.creator_tier == "macro" and r.creator.platform in ("blog", "x", "youtube") and not any(getattr(r, f) for f in FLAG_FIELDS)),
    ]
    for filters, keep in cases:
        expected = _expected_ids(real, keep)
        assert 0 < len(expected) < len(real), filters
        frame = read_csv(csv_text(survey, where=filters_q(clean_filters(survey, filters))))
        assert frame["response_id"].tolist() == expected, filters
        assert world["test_id"] not in set(frame["response_id"])


def test_a_multiple_choice_question_becomes_one_0_1_column_per_option(world):
    real = world["real"]
    frame = read_csv(csv_text(world["survey"])).set_index("response_id")
    assert "channels" not in frame.columns
    option_columns = [c for c in frame.columns if c.startswith("channels")]
    assert option_columns == ["channels_1", "channels_2", "channels_3"]
    extras = {r.form_token: r for r in real if r.form_token and r.form_token.startswith("extra:")}
    for i, pick in enumerate(PICKS):
        response = extras[f"extra:{i}"]
        values = [frame.loc[response.pk, f"channels_{v}"] for v in (1, 2, 3)]
        if pick:
            assert response.answers["channels"] == pick
            assert values == [1 if v in pick else 0 for v in (1, 2, 3)], (i, pick)
        else:  # not answered: missing, not "not chosen"
            assert all(np.isnan(v) for v in values)
    demo_rows = frame.loc[[r.pk for r in real if r.pk not in {e.pk for e in extras.values()}]]
    assert demo_rows[option_columns].isna().all().all()
    assert set(np.unique(frame[option_columns].stack().dropna())) == {0, 1}


def test_a_text_answer_that_looks_like_a_number_stays_text_in_every_format(world, tmp_path):
    """Free text is text: "007" must not become the number 7, even in a selection where it is the only answer."""
    survey = world["survey"]
    only = Q(pk=next(r.pk for r in world["real"] if r.form_token == "extra:4"))
    assert Response.objects.get(only).answers["comment"] == "007"
    for sql in (False, None):
        assert read_csv(csv_text(survey, where=only, sql=sql))["comment"].tolist() == ["007"], sql
    exports.write_sav(survey, tmp_path / "r.sav", where=only)
    exports.write_dta(survey, tmp_path / "r.dta", where=only)
    exports.write_xlsx(survey, tmp_path / "r.xlsx", where=only)
    assert pyreadstat.read_sav(str(tmp_path / "r.sav"))[0]["comment"].tolist() == ["007"]
    assert pyreadstat.read_dta(str(tmp_path / "r.dta"))[0]["comment"].tolist() == ["007"]
    assert sheet_frame(openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)["Responses"])["comment"].tolist() == ["007"]


# --- SPSS and Stata ---------------------------------------------------------------------------


def test_spss_and_stata_hold_the_same_rows_and_values_as_the_csv(world, tmp_path):
    survey = world["survey"]
    reference = read_csv(csv_text(survey))
    assert exports.write_sav(survey, tmp_path / "r.sav") == len(reference)
    assert exports.write_dta(survey, tmp_path / "r.dta") == len(reference)
    sav, _ = pyreadstat.read_sav(str(tmp_path / "r.sav"))
    dta, _ = pyreadstat.read_dta(str(tmp_path / "r.dta"))
    assert_same_data(sav, reference, what="sav")
    assert_same_data(dta, reference, what="dta")
    assert world["test_id"] not in set(sav["response_id"]) | set(dta["response_id"])


def test_spss_variable_and_value_labels(world, tmp_path):
    survey = world["survey"]
    exports.write_sav(survey, tmp_path / "r.sav")
    _, meta = pyreadstat.read_sav(str(tmp_path / "r.sav"), metadataonly=True)
    labels = meta.column_names_to_labels
    for question in survey.questions.exclude(kind=QuestionKind.MULTIPLE):
        assert labels[question.code] == expected_variable_label(question), question.code
    # Semantic differentials carry their poles, in the order shown (left – right).
    assert labels["tru_1"] == "I think {creator} is … [Undependable – Dependable]"
    assert labels["tru_2"] == "I think {creator} is … [Honest – Dishonest]"
    assert labels["long_item"] == LONG_WORDING and len(LONG_WORDING) == 120
    assert labels["channels_2"] == "Where do you follow {creator}? — TikTok"
    assert labels["trustworthiness"] == "Score: trustworthiness"
    assert labels["flag_speeder"] == "Flag: speeder"
    values = {k: {int(code): text for code, text in v.items()} for k, v in meta.variable_value_labels.items()}
    assert values["tru_1"] == {1: "Undependable", 7: "Dependable"}  # scale anchors
    assert values["long_item"] == {1: "Strongly disagree", 5: "Strongly agree"}
    assert values["bought"] == {1: "Yes", 0: "No"}  # yes / no
    assert values["age_band"] == {1: "Under 18", 2: "18–24", 3: "25–34", 4: "35–44", 5: "45–54", 6: "55 or older"}
    assert values["pp_juster"][0] == "No chance, almost no chance (1 in 100)" and sorted(values["pp_juster"]) == list(range(11))
    assert values["channels_1"] == {0: "Not chosen", 1: "Chosen"}
    assert values["flag_duplicate"] == {0: "No", 1: "Yes"}
    assert values["reported_purchase"] == {0: "No", 1: "Yes"}


def test_stata_labels_fit_in_80_characters_and_value_codes_are_integers(world, tmp_path):
    survey = world["survey"]
    exports.write_sav(survey, tmp_path / "r.sav")
    exports.write_dta(survey, tmp_path / "r.dta")
    _, sav_meta = pyreadstat.read_sav(str(tmp_path / "r.sav"), metadataonly=True)
    _, meta = pyreadstat.read_dta(str(tmp_path / "r.dta"), metadataonly=True)
    labels = meta.column_names_to_labels
    assert list(labels) == EXPECTED_COLUMNS
    assert all(len(label) <= 80 for label in labels.values())
    assert labels["long_item"] == LONG_WORDING[:79] + "…"
    for name, full in sav_meta.column_names_to_labels.items():
        if len(full) <= 80:
            assert labels[name] == full, name
        else:
            assert labels[name] == full[:79] + "…", name
    values = meta.variable_value_labels
    assert values["tru_2"] == {1: "Honest", 7: "Dishonest"}
    assert values["bought"] == {0: "No", 1: "Yes"}
    assert values["follow_len"] == {1: "Less than a month", 2: "1–6 months", 3: "6–12 months", 4: "1–3 years", 5: "More than 3 years"}
    assert values["channels_3"] == {0: "Not chosen", 1: "Chosen"}
    assert values["attn_check"][4] == "Somewhat agree"
    for column, mapping in values.items():
        assert all(type(code) is int for code in mapping), column
        assert all(len(text) <= 80 for text in mapping.values()), column


# --- Excel --------------------------------------------------------------------------------------


def test_excel_sheets_rows_and_models_of_the_latest_run(world, tmp_path):
    survey = world["survey"]
    latest = request_analysis(survey, spec={"se": "hc3"})
    assert latest.status == AnalysisRun.Status.SUCCEEDED, latest.error
    assert exports.latest_run(survey) == latest
    reference = read_csv(csv_text(survey))
    assert exports.write_xlsx(survey, tmp_path / "r.xlsx") == len(reference)
    book = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)
    assert book.sheetnames == ["Responses", "Codebook", "Creator summary", "Models", "Outcomes"]
    responses = sheet_frame(book["Responses"])
    assert list(responses.columns) == EXPECTED_COLUMNS == list(reference.columns)
    assert_same_data(responses, reference, what="xlsx")

    codebook_rows = list(book["Codebook"].iter_rows(values_only=True))
    assert codebook_rows[0][:3] == ("code", "wording", "kind")
    assert [row[0] for row in codebook_rows[1:]] == ALL_CODES

    summary = sheet_frame(book["Creator summary"]).set_index("creator_handle")
    counts = reference.groupby("creator_handle").size()
    assert summary["responses"].to_dict() == counts.to_dict()
    trust = reference.groupby("creator_handle")["trustworthiness"].mean()
    np.testing.assert_allclose(summary.loc[trust.index, "mean_trustworthiness"].astype(float), trust, rtol=1e-9)

    models = list(book["Models"].iter_rows(values_only=True))
    expected = [
        (variant["label"], model["name"], model["n"], c["name"], c["estimate"], c["se"], model["standard_errors"])
        for variant in latest.results["variants"] for model in variant["models"] for c in model["coefficients"]
    ]
    got = [(r[0], r[1], r[2], r[3], r[4], r[5], r[9]) for r in models[1:]]
    assert len(got) == len(expected) > 10
    for g, e in zip(got, expected, strict=True):
        assert g[:4] == e[:4]
        assert g[4] == pytest.approx(e[4], rel=1e-12) and g[5] == pytest.approx(e[5], rel=1e-12)
        assert g[6] == e[6]
    # The HC3 run, not the module's cluster-robust one.
    assert any("HC" in str(r[9]) for r in models[1:])
    first_run_se = world["run"].results["variants"][0]["models"][0]["coefficients"][1]["se"]
    assert got[1][5] != pytest.approx(first_run_se, rel=1e-9)


def test_excel_rolls_responses_over_to_further_sheets(world, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "EXCEL_ROWS", 101)  # a header and 100 responses per sheet
    survey = world["survey"]
    reference = read_csv(csv_text(survey))
    exports.write_xlsx(survey, tmp_path / "r.xlsx")
    book = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)
    assert book.sheetnames == ["Responses", "Responses (2)", "Responses (3)", "Responses (4)", "Codebook", "Creator summary", "Models", "Outcomes"]
    parts = [sheet_frame(book[name]) for name in book.sheetnames[:4]]
    assert [len(p) for p in parts] == [100, 100, 100, 12]
    assert all(list(p.columns) == EXPECTED_COLUMNS for p in parts)
    assert pd.concat(parts)["response_id"].tolist() == reference["response_id"].tolist()


def test_excel_outcomes_sheet_holds_the_surveys_outcomes_as_numbers_and_the_verified_value_model(tmp_path):
    world = two_surveys_of_one_brand()
    simulated = add_post_purchase_answers(world["brand"])
    intercept, slope, r_squared = ols_line(simulated)
    exports.write_xlsx(world["spring"], tmp_path / "o.xlsx")
    book = openpyxl.load_workbook(tmp_path / "o.xlsx", read_only=True)
    assert book.sheetnames == ["Responses", "Codebook", "Creator summary", "Models", "Outcomes"]
    rows = list(book["Outcomes"].iter_rows(values_only=True))
    assert rows[0] == ("level", "creator_or_tier", "tier", "clicks", "responses", "reported_purchase_rate", "verified_orders",
                       "revenue", "cost", "cost_per_verified_order", "return_on_spend", "currency")
    # Tiers first, then creators; spring's clicks, answers and costs only, all of the creator's verified orders.
    assert rows[1] == ("tier", "Nano", "nano", 40, 2, 0.5, 2, 500.0, 250.0, 125.0, 2.0, "EUR")
    assert rows[2] == ("creator", "@both", "nano", 40, 2, 0.5, 2, 500.0, 250.0, 125.0, 2.0, "EUR")
    assert rows[3] == ("creator", "@springer", "nano", 0, 0, None, 0, 0.0, 0.0, None, None, "EUR")
    texts = [row[0] for row in rows[4:]]
    assert texts[:3] == [None, "Money in EUR; orders and costs in other currencies are left out.", CAVEAT]
    head = texts.index("coefficient")
    assert rows[4 + head][:8] == ("coefficient", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "clusters")
    const, trust = rows[5 + head], rows[6 + head]
    assert const[0] == "const" and const[1] == pytest.approx(intercept, rel=1e-9)
    assert trust[0] == "trustworthiness" and trust[1] == pytest.approx(slope, rel=1e-9)
    assert trust[1] == pytest.approx(15.0, abs=1.0)  # the simulated truth
    assert trust[3] < 15.0 < trust[4] and trust[5] < 0.001 and trust[2] > 0
    assert trust[6:8] == (120, 24)
    assert rows[7 + head][:2] == ("r_squared", pytest.approx(r_squared, rel=1e-9))
    assert ("note", VALUE_CAVEAT) in [row[:2] for row in rows]


def test_excel_outcomes_sheet_says_when_there_is_nothing_to_show(tmp_path):
    survey = SurveyFactory()
    ResponseFactory(link=CreatorLinkFactory(survey=survey))
    exports.write_xlsx(survey, tmp_path / "e.xlsx")
    rows = list(openpyxl.load_workbook(tmp_path / "e.xlsx", read_only=True)["Outcomes"].iter_rows(values_only=True))
    assert rows[1][0] == ("No clicks, and no verified orders or collaboration costs in EUR, are recorded for this survey's "
                          "creators yet, so there are no outcomes to show.")
    assert [row[0] for row in rows[2:]] == [None, "Money in EUR; orders and costs in other currencies are left out.", CAVEAT,
                                           *outcome_section(survey.brand, survey=survey)["notes"]]


# --- codebook -----------------------------------------------------------------------------------


def test_codebook_csv_and_json_describe_every_question_with_its_wording_history(world):
    survey = world["survey"]
    question = survey.questions.get(code="long_item")
    new_wording = "I believe {creator}'s sponsored recommendations are honest."
    question.wording = new_wording
    question.save()
    buffer = io.StringIO()
    exports.write_codebook_json(survey, buffer)
    document = json.loads(buffer.getvalue())
    assert document["survey"] == "demo/creator-trust"
    entries = {e["code"]: e for e in document["questions"]}
    assert [e["code"] for e in document["questions"]] == ALL_CODES

    long_item = entries["long_item"]
    assert long_item["wording"] == new_wording
    assert [h["wording"] for h in long_item["wording_history"]] == [LONG_WORDING, new_wording]
    assert long_item["wording_history"][0]["from"] <= long_item["wording_history"][1]["from"]
    assert (long_item["kind"], long_item["range"]) == ("likert", [1, 5])
    assert entries["tru_1"]["wording_history"] == [{"wording": "I think {creator} is …", "from": entries["tru_1"]["wording_history"][0]["from"]}]

    tru_2 = entries["tru_2"]
    assert tru_2["kind"] == "semantic" and tru_2["range"] == [1, 7]
    assert tru_2["anchors"] == {"left": "Honest", "right": "Dishonest"}
    assert tru_2["construct"] == "trustworthiness" and tru_2["reverse_coded"] is True
    assert entries["tru_1"]["reverse_coded"] is False
    assert tru_2["citation"].startswith("Ohanian, R. (1990).") and tru_2["instrument"] == "ohanian_1990"
    assert entries["buy_count"]["condition"] == {"code": "bought", "values": [1]}
    assert entries["buy_count"]["range"] == [0, 100] and entries["buy_count"]["kind"] == "number"
    assert entries["bought"]["condition"] is None
    assert entries["pp_juster"]["range"] == [0, 10]
    assert entries["pp_juster"]["citation"].startswith("Juster, F. T. (1966).")
    assert entries["channels"]["kind"] == "multiple" and entries["channels"]["choices"] == CHANNELS
    assert entries["channels"]["export_columns"] == ["channels_1", "channels_2", "channels_3"]
    assert entries["channels"]["citation"] is None
    assert entries["comment"]["kind"] == "text" and entries["comment"]["range"] is None

    buffer = io.StringIO()
    exports.write_codebook_csv(survey, buffer)
    rows = {row["code"]: row for row in csv.DictReader(io.StringIO(buffer.getvalue()))}
    assert list(rows) == ALL_CODES
    history = rows["long_item"]["wording_history"]
    assert LONG_WORDING in history and new_wording in history
    assert history.index(LONG_WORDING) < history.index(new_wording)
    assert rows["long_item"]["wording"] == new_wording
    assert rows["tru_2"]["kind"] == "semantic"
    assert json.loads(rows["tru_2"]["range"]) == [1, 7]
    assert json.loads(rows["tru_2"]["anchors"]) == {"left": "Honest", "right": "Dishonest"}
    assert rows["tru_2"]["construct"] == "trustworthiness"
    assert (rows["tru_2"]["reverse_coded"], rows["tru_1"]["reverse_coded"]) == ("1", "0")
    assert json.loads(rows["buy_count"]["condition"]) == {"code": "bought", "values": [1]}
    assert json.loads(rows["bought"]["condition"]) is None
    assert rows["tru_2"]["citation"].startswith("Ohanian, R. (1990).")
    assert rows["channels"]["export_columns"] == "channels_1 channels_2 channels_3"


# --- the reproducible bundle --------------------------------------------------------------------


def _reproduce(folder: Path) -> tuple[int, dict]:
    done = subprocess.run([sys.executable, "reproduce.py"], cwd=folder, capture_output=True, text=True, timeout=120)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip().startswith("{") else {"raw": done.stdout + done.stderr}


def test_the_bundle_reproduces_its_run_and_catches_a_tampered_coefficient(world, tmp_path):
    survey, run = world["survey"], world["run"]
    path = tmp_path / "bundle.zip"
    rows = exports.write_bundle(survey, path, run=run, where=filters_q(run.filters))
    assert rows == len(world["real"])
    with zipfile.ZipFile(path) as bundle:
        assert set(bundle.namelist()) == {"responses.csv", "codebook.csv", "codebook.json", "results.json", "spec.json", "reproduce.py", "README.txt"}
        bundle.extractall(tmp_path / "b")
    folder = tmp_path / "b"
    assert read_csv((folder / "responses.csv").read_text("utf-8"))["response_id"].tolist() == [r.pk for r in world["real"]]
    code, output = _reproduce(folder)
    assert code == 0, output
    assert output["failures"] == []
    checked = output["checked"]
    assert "all responses / intent_on_trust" in checked and len(checked) == sum(
        1 for v in run.results["variants"] for m in v["models"] if not m.get("error")
    )

    results = json.loads((folder / "results.json").read_text("utf-8"))
    coefficient = results["variants"][0]["models"][0]["coefficients"][1]
    name = coefficient["name"]
    coefficient["estimate"] += 0.25
    (folder / "results.json").write_text(json.dumps(results), encoding="utf-8")
    code, output = _reproduce(folder)
    assert code == 1
    assert len(output["failures"]) == 1
    failure = output["failures"][0]
    assert failure.startswith(f"{results['variants'][0]['label']} / {results['variants'][0]['models'][0]['name']} {name}: estimate")


# --- the command --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", sorted(files.EXTENSIONS))
def test_export_command_writes_every_format(world, tmp_path, fmt, capsys):
    path = tmp_path / f"out.{files.EXTENSIONS[fmt]}"
    extra = ["--creator", world["real"][0].creator.handle] if fmt == "creator-report" else []
    call_command("export_responses", "demo/creator-trust", "--format", fmt, "-o", str(path), *extra)
    assert path.exists() and path.stat().st_size > 0
    message = capsys.readouterr().err
    assert f"Wrote {path}" in message
    if fmt == "csv":
        assert path.read_text("utf-8") == csv_text(world["survey"])
        assert "312 responses" in message


def test_export_command_applies_filters(world, tmp_path):
    path = tmp_path / "nano.csv"
    call_command("export_responses", "creator-trust", "--format", "csv", "-o", str(path), "--tier", "nano", "--exclude-flagged")
    frame = read_csv(path.read_text("utf-8"))
    expected = [r.pk for r in world["real"] if r.creator_tier == "nano" and not any(getattr(r, f) for f in FLAG_FIELDS)]
    assert frame["response_id"].tolist() == expected and expected


def test_export_command_refuses_bad_inputs_naming_the_field(world, tmp_path):
    out = str(tmp_path / "x")
    with pytest.raises(CommandError, match="--creator"):
        call_command("export_responses", "demo/creator-trust", "--format", "creator-report", "-o", out)
    with pytest.raises(CommandError, match=r"tiers: Choose from nano, micro, macro, celebrity"):
        call_command("export_responses", "demo/creator-trust", "--format", "csv", "-o", out, "--tier", "mega")
    with pytest.raises(CommandError, match=r"date_from: Use a date like"):
        call_command("export_responses", "demo/creator-trust", "--format", "csv", "-o", out, "--from", "31/12/2026")
    SurveyFactory(brand=world["brand"], slug="no-runs-yet")
    with pytest.raises(CommandError, match=r"^run: This format needs a finished analysis run"):
        call_command("export_responses", "demo/no-runs-yet", "--format", "report", "-o", out)
    with pytest.raises(CommandError, match=r"No finished analysis run 999999"):
        call_command("export_responses", "demo/creator-trust", "--format", "bundle", "-o", out, "--run", "999999")
    with pytest.raises(CommandError, match="No survey"):
        call_command("export_responses", "demo/nope", "--format", "csv", "-o", out)
    assert not Path(out).exists()


# --- the export service and the download view ------------------------------------------------


@pytest.fixture
def export_root(settings, tmp_path):
    settings.EXPORT_ROOT = tmp_path / "exports"
    return settings.EXPORT_ROOT


def member(brand, role):
    user = UserFactory()
    MembershipFactory(user=user, brand=brand, role=role)
    return user


def download_url(export: Export) -> str:
    return f"/exports/{export.pk}/download/"


def test_request_export_builds_the_file_on_the_task_backend(world, export_root):
    owner = member(world["brand"], Role.OWNER)
    export = files.request_export(world["survey"], format="csv", user=owner, filters={"tiers": ["nano"]})
    assert export.status == Export.Status.READY, export.error
    assert export.requested_by == owner and export.filters == {"tiers": ["nano"]}
    path = Path(export.path)
    assert path.exists() and path.parent == export_root
    assert export.size == path.stat().st_size
    expected = [r.pk for r in world["real"] if r.creator_tier == "nano"]
    assert export.rows == len(expected)
    assert read_csv(path.read_text("utf-8"))["response_id"].tolist() == expected
    assert export.filename.startswith("demo-creator-trust-csv-") and export.filename.endswith(".csv")
    assert export.expires_at > export.finished_at


@pytest.mark.parametrize("role", [Role.OWNER, Role.EDITOR, Role.ANALYST])
def test_any_brand_member_downloads_a_ready_export(world, export_root, client, role):
    export = files.request_export(world["survey"], format="xlsx")
    assert export.status == Export.Status.READY, export.error
    client.force_login(member(world["brand"], role))
    response = client.get(download_url(export))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert response["Content-Disposition"] == f'attachment; filename="{export.filename}"'
    assert b"".join(response.streaming_content) == Path(export.path).read_bytes()


def test_download_of_a_csv_has_the_csv_type(world, export_root, client):
    export = files.request_export(world["survey"], format="csv")
    client.force_login(member(world["brand"], Role.ANALYST))
    response = client.get(download_url(export))
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(response.streaming_content).decode("utf-8") == csv_text(world["survey"])


def test_download_is_refused_to_outsiders_and_anonymous_users(world, export_root, client):
    export = files.request_export(world["survey"], format="csv")
    other_brand = BrandFactory()
    client.force_login(member(other_brand, Role.OWNER))
    assert client.get(download_url(export)).status_code == 404
    client.force_login(UserFactory())  # staff, but in no brand
    assert client.get(download_url(export)).status_code == 404
    client.logout()
    response = client.get(download_url(export))
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get("/exports/999999/download/").status_code == 302  # anonymous never learns what exists


def test_not_ready_failed_and_expired_exports_are_not_downloadable(world, export_root, client):
    client.force_login(member(world["brand"], Role.OWNER))
    queued = Export.objects.create(survey=world["survey"], format="csv")
    assert client.get(download_url(queued)).status_code == 404
    failed = Export.objects.create(survey=world["survey"], format="csv", status=Export.Status.FAILED, error="boom")
    assert client.get(download_url(failed)).status_code == 404
    gone = files.request_export(world["survey"], format="codebook")
    Path(gone.path).unlink()
    assert client.get(download_url(gone)).status_code == 404
    assert client.get("/exports/999999/download/").status_code == 404


def test_an_export_past_its_keeping_time_is_not_downloadable(world, export_root, client):
    """Expired means past ``expires_at``, whether or not the clean-up task has deleted the file yet."""
    client.force_login(member(world["brand"], Role.OWNER))
    expired = files.request_export(world["survey"], format="codebook")
    assert client.get(download_url(expired)).status_code == 200  # within its keeping time
    Export.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert Path(expired.path).exists()
    assert client.get(download_url(expired)).status_code == 404


def test_delete_expired_exports_removes_rows_and_files(world, export_root):
    old = files.request_export(world["survey"], format="csv")
    fresh = files.request_export(world["survey"], format="codebook-json")
    Export.objects.filter(pk=old.pk).update(expires_at=timezone.now() - timedelta(hours=1))
    assert Path(old.path).exists()
    assert files.delete_expired_exports() == 1
    assert not Export.objects.filter(pk=old.pk).exists()
    assert not Path(old.path).exists()
    assert Export.objects.filter(pk=fresh.pk).exists() and Path(fresh.path).exists()
    assert files.delete_expired_exports() == 0


# --- the admin export form ------------------------------------------------------------------------


def export_form_url(survey) -> str:
    return f"/admin/surveys/survey/{survey.pk}/export/"


def test_admin_export_form_streams_a_small_csv(world, export_root, client):
    client.force_login(member(world["brand"], Role.ANALYST))
    assert client.get(export_form_url(world["survey"])).status_code == 200
    response = client.post(export_form_url(world["survey"]), {"format": "csv"})
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="demo-creator-trust-csv-') and disposition.endswith('.csv"')
    assert b"".join(response.streaming_content).decode("utf-8") == csv_text(world["survey"])
    assert not Export.objects.exists()
    narrowed = client.post(export_form_url(world["survey"]), {"format": "csv", "tiers": ["celebrity"], "exclude_flagged": "on"})
    frame = read_csv(b"".join(narrowed.streaming_content).decode("utf-8"))
    assert frame["response_id"].tolist() == [
        r.pk for r in world["real"] if r.creator_tier == "celebrity" and not any(getattr(r, f) for f in FLAG_FIELDS)
    ]


def test_admin_export_form_queues_large_files_and_shows_their_page(world, export_root, client):
    user = member(world["brand"], Role.EDITOR)
    client.force_login(user)
    response = client.post(export_form_url(world["survey"]), {"format": "xlsx"})
    export = Export.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/surveys/export/{export.pk}/change/"
    assert (export.format, export.status, export.requested_by, export.rows) == ("xlsx", Export.Status.READY, user, 312)
    assert export.run == exports.latest_run(world["survey"])
    page = client.get(response["Location"])
    assert page.status_code == 200 and download_url(export) in page.content.decode()

    with override_settings(STREAM_MAX_ROWS=0):
        response = client.post(export_form_url(world["survey"]), {"format": "csv"})
    queued = Export.objects.exclude(pk=export.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/admin/surveys/export/{queued.pk}/change/"
    assert queued.format == "csv" and queued.status == Export.Status.READY and queued.rows == 312


def test_admin_export_form_shows_field_errors(world, export_root, client):
    client.force_login(member(world["brand"], Role.OWNER))
    response = client.post(export_form_url(world["survey"]), {"format": "creator-report"})
    assert response.status_code == 200
    assert "Choose the creator the report is for." in response.content.decode()
    assert not Export.objects.exists()


def test_export_list_links_only_ready_exports_of_the_users_brands(world, export_root, client):
    ready = files.request_export(world["survey"], format="codebook")
    failed = Export.objects.create(survey=world["survey"], format="xlsx", status=Export.Status.FAILED, error="boom")
    queued = Export.objects.create(survey=world["survey"], format="sav")
    other_survey = SurveyFactory(slug="other-brand-survey")
    CreatorLinkFactory(survey=other_survey)
    foreign = files.request_export(other_survey, format="codebook")
    assert foreign.status == Export.Status.READY
    client.force_login(member(world["brand"], Role.ANALYST))
    page = client.get("/admin/surveys/export/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<a href="{download_url(ready)}">{ready.filename}</a>' in html
    for not_ready in (failed, queued):
        assert download_url(not_ready) not in html
        assert f"/admin/surveys/export/{not_ready.pk}/change/" in html
    assert "Failed" in html and "Queued" in html
    assert download_url(foreign) not in html and foreign.filename not in html
    assert f"/admin/surveys/export/{foreign.pk}/change/" not in html
    assert client.get(f"/admin/surveys/export/{foreign.pk}/change/").status_code == 404

