"""The ORM → pandas bridge and the analysis of a stored survey."""

import json

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from surveys.analyses import analyze_survey
from surveys.collection import BatchRow, submit_responses
from surveys.demo import seed_demo
from surveys.design import insert_instrument
from surveys.selectors import question_metas, responses_frame
from tests.factories import CreatorFactory, CreatorLinkFactory, ResponseFactory, SurveyFactory


@pytest.fixture
def survey():
    survey = SurveyFactory(status="live")
    for key in ("ohanian_1990", "reported_purchase", "about_you"):
        insert_instrument(survey, key)
    return survey


def test_responses_frame_is_one_query_with_typed_columns(survey):
    creator = CreatorFactory(brand=survey.brand, handle="ava", followers=42_000, platform="tiktok")
    CreatorLinkFactory(survey=survey, creator=creator)
    answers = {f"tru_{i}": 5 for i in range(1, 6)} | {"bought": 1, "buy_count": 3, "spend_3m": 12.5}
    answers |= {f"exp_{i}": 4 for i in range(1, 6)} | {f"attr_{i}": 3 for i in range(1, 6)}
    submit_responses(survey=survey, rows=[BatchRow(key="k1", creator=creator, answers=answers, completion_seconds=80)])
    ResponseFactory(link=survey.links.get(), answers={"tru_1": 1}, is_test=True)

    with CaptureQueriesContext(connection) as queries:
        frame = responses_frame(survey)
    selects = [q for q in queries if q["sql"].lstrip().upper().startswith("SELECT")]
    # The questions, then the responses (on PostgreSQL read through COPY, outside Django's query log).
    assert len(selects) == (1 if connection.vendor == "postgresql" else 2)
    assert len(frame) == 1  # the test response is left out
    row = frame.iloc[0]
    assert (row["creator_handle"], row["tier"], row["followers"], row["platform"]) == ("ava", "micro", 42_000, "tiktok")
    assert row["tru_1"] == 5.0 and frame["tru_1"].dtype == np.float64
    assert row["spend_3m"] == 12.5 and row["buy_count"] == 3.0
    assert np.isnan(row["age_band"])  # optional and unanswered
    assert bool(row["is_test"]) is False and row["completion_seconds"] == 80
    assert len(responses_frame(survey, include_test=True)) == 2


def test_question_metas_carry_reverse_flags_bounds_and_conditions(survey):
    metas = {m.code: m for m in question_metas(survey)}
    assert (metas["tru_2"].reverse_coded, metas["tru_2"].low, metas["tru_2"].high) == (True, 1, 7)
    assert (metas["buy_count"].condition_code, metas["buy_count"].condition_values) == ("bought", (1,))


def test_the_demo_survey_analysis_is_complete_and_json_serializable():
    summary = seed_demo(responses=1500, seed=3)
    ResponseFactory(link=summary.survey.links.first(), answers={"tru_1": 7}, is_test=True)
    result = analyze_survey(summary.survey)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert (data["responses"], data["test_responses_excluded"]) == (1500, 1)
    labels = [v["label"] for v in data["variants"]]
    assert labels == ["all responses", "excluding flagged responses"]  # attention-check failures are flagged
    models = {m["name"]: m for m in data["variants"][0]["models"]}
    assert set(models) == {"intent_on_trust", "purchase_on_trust", "count_on_trust", "tier_slopes"}
    assert all(m["error"] is None for m in models.values())
    slopes = {s["tier"]: s["slope"] for s in models["tier_slopes"]["tier_slopes"]}
    assert slopes["nano"] > slopes["celebrity"] > 0
    assert {r["construct"] for r in data["variants"][0]["reliability"]} >= {"trustworthiness", "purchase_intent"}
    assert [row["tier"] for row in data["variants"][0]["by_tier"]] == ["nano", "micro", "macro", "celebrity"]
    assert len(data["link_counts"]) == 40 or len(data["link_counts"]) == len(data["variants"][0]["by_creator"])
    assert any("coded 0" in note for note in data["notes"])


def test_the_default_demo_shows_the_documented_true_slopes_within_their_intervals():
    from surveys.simulation import TRUE_SLOPES

    summary = seed_demo()
    result = analyze_survey(summary.survey)
    for variant in result.variants:
        model = next(m for m in variant.models if m.name == "tier_slopes")
        for slope in model.tier_slopes:
            assert slope["ci_low"] <= TRUE_SLOPES[slope["tier"]] <= slope["ci_high"], (variant.label, slope)
