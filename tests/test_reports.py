"""Reports: the survey report of an analysis run and the creator report with its small-group rule."""

from __future__ import annotations

import math
import re
from datetime import date
from decimal import Decimal

import numpy as np
import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django.template.defaultfilters import floatformat
from django.utils.html import escape
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from surveys import readings
from surveys.analyses import request_analysis
from surveys.choices import SurveyStatus
from surveys.collection import BatchRow, submit_responses
from surveys.demo import seed_demo
from surveys.design import insert_instrument
from surveys.models import AnalysisRun, ClickCount, Order, Question, Response
from surveys.outcomes import CAVEAT, VALUE_CAVEAT
from surveys.reports import creator_report, survey_report
from tests.factories import CreatorFactory, CreatorLinkFactory, SurveyFactory
from tests.test_outcomes import add_post_purchase_answers, ols_line

MICRO, MACRO = 25_000, 500_000  # followers: micro and macro tier with the default thresholds


# --- the survey report --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(django_db_setup, django_db_blocker):
    """A demo survey and one finished analysis run, for the whole module."""
    with django_db_blocker.unblock():
        summary = seed_demo(responses=300, seed=5)
        run = request_analysis(summary.survey)
        assert run.status == AnalysisRun.Status.SUCCEEDED, run.error
        html = survey_report(run)
        yield {"survey": summary.survey, "run": run, "html": html}
        AnalysisRun.objects.all().delete()
        from surveys.models import Brand, Survey

        Response.objects.all().delete()
        Survey.objects.all().delete()
        Brand.objects.all().delete()
        get_user_model().objects.filter(username="demo").delete()


def test_survey_report_has_every_section(demo_run):
    html, run = demo_run["html"], demo_run["run"]
    results = run.results
    assert html.startswith("<!doctype html>")
    assert "<h2>Sample and quality</h2>" in html
    assert f"<b>{results['responses']}</b>responses analysed" in html
    assert f"<b>{len(results['link_counts'])}</b>creators" in html
    assert f"<b>{results['flagged']}</b>with a quality flag" in html
    assert results["responses"] == 300 and results["flagged"] > 0
    # Both variants (all responses, and without flagged ones) with their readings.
    assert [v["label"] for v in results["variants"]] == ["all responses", "excluding flagged responses"]
    assert "All responses (300 responses)" in html
    annotated = readings.annotate(results)
    for variant in annotated["variants"]:
        for model in variant["models"]:
            assert escape(model["reading"]) in html, model["name"]
            assert escape(model["title"]) in html
        assert escape(variant["multilevel"]["reading"]) in html
        assert escape(variant["ordinal"]["reading"]) in html
    assert "Each extra point of trust goes with" in html
    assert "Each extra point of trust multiplies the odds of a reported purchase by" in html
    assert "Points of purchase intent per point of trust, by tier" in html
    # The by-tier table, one row per tier.
    assert "<h3>Trust and purchases by tier</h3>" in html
    for row in results["variants"][0]["by_tier"]:
        assert f"<tr><td>{row['tier']}</td><td>{row['responses']}</td><td>{floatformat(row['trustworthiness']['mean'], 2)} (" in html
    assert {row["tier"] for row in results["variants"][0]["by_tier"]} == {"nano", "micro", "macro", "celebrity"}
    # Reliability of every scale.
    assert "<h3>Reliability of the scales</h3>" in html
    for r in results["variants"][0]["reliability"]:
        assert f"<tr><td>{r['construct']}</td><td>{r['items']}</td><td>{floatformat(r['alpha'], 2)} (" in html
    # The creator ranking.
    assert "<h3>Creator ranking</h3>" in html
    top = results["variants"][0]["ranking"]["rows"][0]
    assert top["rank"] == 1
    assert f"<tr><td>1</td><td>@{top['creator_handle']}</td><td>{top['tier']}</td><td>{top['responses']}</td>" in html


def test_survey_report_is_self_contained_with_inline_svg_and_a_print_stylesheet(demo_run):
    html = demo_run["html"]
    charts = re.findall(r'<div class="chart"><svg\b', html)
    assert len(charts) >= 4
    assert html.count("<svg") == html.count("</svg>") >= 4
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html  # inlined, without the XML prolog
    assert not re.search(r"<script", html, re.IGNORECASE)
    assert not re.search(r"""\b(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.IGNORECASE)
    assert not re.search(r"<link\b[^>]*stylesheet", html, re.IGNORECASE)
    assert not re.search(r"<(?:img|iframe|object|embed)\b", html, re.IGNORECASE)
    assert not re.search(r"url\(\s*['\"]?\s*(?:https?:)?//|@import", html, re.IGNORECASE)
    assert "@media print" in html
    assert "<style>" in html


def test_survey_report_needs_a_finished_run(demo_run):
    queued = AnalysisRun.objects.create(survey=demo_run["survey"], spec={})
    with pytest.raises(ValueError, match="no results yet"):
        survey_report(queued)
    failed = AnalysisRun.objects.create(survey=demo_run["survey"], spec={}, status=AnalysisRun.Status.FAILED, error="boom")
    with pytest.raises(ValueError):
        survey_report(failed)


# --- the creator report -------------------------------------------------------------------------


def answers(trust: int, expertise: int, attractiveness: int | None, bought: int) -> dict[str, int]:
    """Ohanian answers whose construct scores are exactly ``trust``, ``expertise``, ``attractiveness``.

    Items 2 and 4 of each dimension are reverse-coded (8 − x), so they get 8 − value.
    ``attractiveness=None`` leaves the (optional) attractiveness items unanswered.
    """
    out: dict[str, int] = {}
    for prefix, value in (("tru", trust), ("exp", expertise), ("attr", attractiveness)):
        if value is None:
            continue
        for n in range(1, 6):
            out[f"{prefix}_{n}"] = 8 - value if n in (2, 4) else value
    out["bought"] = bought
    if bought:
        out["buy_count"] = 1
    return out


class Audience:
    """Responses of one creator: (trust, expertise, attractiveness or None, bought) per response."""

    def __init__(self, creator, rows: list[tuple[int, int, int | None, int]]):
        self.creator, self.rows = creator, rows


@pytest.fixture
def survey():
    survey = SurveyFactory(status=SurveyStatus.LIVE)
    insert_instrument(survey, "ohanian_1990")
    insert_instrument(survey, "reported_purchase")
    # Attractiveness is optional here, so a single metric can have fewer answers than the creator has responses.
    Question.objects.filter(survey=survey, code__startswith="attr_").update(required=False)
    return survey


def audience(survey, followers: int, rows) -> Audience:
    creator = CreatorFactory(brand=survey.brand, followers=followers)
    result = submit_responses(
        survey=survey,
        rows=[BatchRow(key=f"{creator.handle}:{i}", creator=creator, answers=answers(*row)) for i, row in enumerate(rows)],
    )
    assert result.created == len(rows), result.errors
    return Audience(creator, rows)


def own_rows(n: int) -> list[tuple]:
    """The report's creator: trust 7/6 alternating, expertise 5/6/4, everyone rates attractiveness, 4 in 10 bought."""
    return [(7 - i % 2, 5 + (i % 3) - 1, 6 - i % 2, 1 if i % 5 in (0, 3) else 0) for i in range(n)]


def other_rows(n: int, trust: tuple[int, int], *, attractiveness: bool = True) -> list[tuple]:
    return [(trust[i % 2], 3 + i % 2, (3 + i % 3) if attractiveness else None, 1 if i % 4 == 0 else 0) for i in range(n)]


def values(audiences: list[Audience], index: int) -> list[float]:
    return [row[index] for a in audiences for row in a.rows if row[index] is not None]


def mean_cell(xs: list[float]) -> str:
    """The report's cell for a mean: mean (95% t interval), computed here from the raw values."""
    n, mean = len(xs), float(np.mean(xs))
    half = stats.t.ppf(0.975, n - 1) * float(np.std(xs, ddof=1)) / math.sqrt(n)
    return f"{floatformat(mean, 2)} ({floatformat(mean - half, 2)}–{floatformat(mean + half, 2)})"


def rate_cell(xs: list[int]) -> str:
    low, high = proportion_confint(sum(xs), len(xs), alpha=0.05, method="wilson")
    return f"{floatformat(sum(xs) / len(xs), 2)} ({floatformat(low, 2)}–{floatformat(high, 2)})"


def row_html(html: str, label: str) -> str | None:
    match = re.search(rf"<tr><td>{re.escape(label)}\b.*?</tr>", html, re.DOTALL)
    return match.group(0) if match else None


METRICS = (("Trust", 0), ("Expertise", 1), ("Attractiveness", 2))


@pytest.mark.parametrize("n", [9, 10])
def test_creator_report_shows_figures_only_from_ten_responses(survey, n):
    own = audience(survey, MICRO, own_rows(n))
    others = [audience(survey, MICRO, other_rows(6, (2, 3))), audience(survey, MICRO, other_rows(6, (4, 3)))]
    html = creator_report(survey, own.creator)
    own_trust, others_trust = mean_cell(values([own], 0)), mean_cell(values(others, 0))
    if n == 9:
        assert "Results appear once at least 10 followers have answered." in html
        assert "<table" not in html and "followers answered." not in html
        for label, index in METRICS:
            assert row_html(html, label) is None
            for cell in (mean_cell(values([own], index)), mean_cell(values(others, index))):
                assert cell.split(" ")[0] not in html, (label, cell)
        assert rate_cell(values([own], 3)).split(" ")[0] not in html
        assert "Bought because of you" not in html
    else:
        assert "Results appear once" not in html
        assert "10 of your followers answered." in html
        assert f"<td>{own_trust}</td>" in row_html(html, "Trust")
        assert f"<td>{others_trust}</td>" in row_html(html, "Trust")
        assert f"<td>{rate_cell(values([own], 3))}</td>" in row_html(html, "Bought because of you")


@pytest.mark.parametrize(
    ("groups", "compared"),
    [
        pytest.param([(5, (2, 3)), (5, (4, 3))], True, id="10 from 2 creators"),
        pytest.param([(5, (2, 3)), (4, (4, 3))], False, id="9 from 2 creators"),
        pytest.param([(15, (2, 3))], False, id="15 from 1 creator"),
        pytest.param([], False, id="none in the tier"),
    ],
)
def test_the_comparison_group_needs_ten_responses_from_two_creators(survey, groups, compared):
    own = audience(survey, MICRO, own_rows(12))
    others = [audience(survey, MICRO, other_rows(n, trust)) for n, trust in groups]
    # Creators of another tier never count towards the comparison group.
    audience(survey, MACRO, other_rows(8, (1, 2)))
    audience(survey, MACRO, other_rows(8, (1, 1)))
    html = creator_report(survey, own.creator)
    assert "12 of your followers answered." in html
    assert f"<td>{mean_cell(values([own], 0))}</td>" in row_html(html, "Trust")
    if compared:
        assert "<th>other micro creators' followers (95% CI)</th>" in html
        assert "Too few other" not in html
        for label, index in METRICS:
            assert f"<td>{mean_cell(values(others, index))}</td>" in row_html(html, label), label
        assert f"<td>{rate_cell(values(others, 3))}</td>" in row_html(html, "Bought because of you")
    else:
        assert "other micro creators' followers (95% CI)" not in html
        assert (
            "Too few other micro creators&#x27; followers answered to compare "
            "(at least 10 from 2 or more creators are needed)." in html
        )
        for label, _ in (*METRICS, ("Bought because of you", 3)):
            assert row_html(html, label).count("<td>") == 2, label  # the label and the creator's own figure
        if others:
            assert floatformat(np.mean(values(others, 0)), 2) not in html


def test_a_single_metric_with_fewer_than_ten_answers_is_withheld(survey):
    # The creator has 10 responses, but only 9 rated attractiveness: that row is withheld, the others shown.
    rows = own_rows(10)
    rows[0] = (*rows[0][:2], None, rows[0][3])
    own = audience(survey, MICRO, rows)
    others = [audience(survey, MICRO, other_rows(6, (2, 3))), audience(survey, MICRO, other_rows(6, (4, 3)))]
    html = creator_report(survey, own.creator)
    assert row_html(html, "Attractiveness") is None
    assert floatformat(np.mean(values([own], 2)), 2) not in html
    assert f"<td>{mean_cell(values([own], 0))}</td>" in row_html(html, "Trust")
    assert f"<td>{mean_cell(values(others, 0))}</td>" in row_html(html, "Trust")


def test_the_comparison_figure_of_a_metric_with_fewer_than_ten_answers_is_withheld(survey):
    # 12 other responses from 2 creators, but only 9 of them rated attractiveness.
    own = audience(survey, MICRO, own_rows(10))
    first = audience(survey, MICRO, other_rows(6, (2, 3)))
    second = audience(survey, MICRO, other_rows(3, (4, 3)) + other_rows(3, (4, 3), attractiveness=False))
    assert len(values([first, second], 2)) == 9
    html = creator_report(survey, own.creator)
    attractiveness = row_html(html, "Attractiveness")
    assert f"<td>{mean_cell(values([own], 2))}</td>" in attractiveness
    assert re.search(r"<td>–</td>\s*</tr>$", attractiveness)
    assert floatformat(np.mean(values([first, second], 2)), 2) not in html
    assert f"<td>{mean_cell(values([first, second], 0))}</td>" in row_html(html, "Trust")


def test_the_report_compares_with_the_other_creators_never_the_whole_tier(survey):
    own = audience(survey, MICRO, own_rows(10))
    others = [audience(survey, MICRO, other_rows(6, (2, 3))), audience(survey, MICRO, other_rows(6, (4, 3)))]
    audience(survey, MACRO, other_rows(10, (1, 1)))
    html = creator_report(survey, own.creator)
    for label, index in METRICS:
        mine, theirs = values([own], index), values(others, index)
        row = row_html(html, label)
        shown_other = re.findall(r"<td>([0-9.]+) \(", row)[1]
        assert float(shown_other) == pytest.approx(np.mean(theirs), abs=0.005), label
        assert shown_other == floatformat(np.mean(theirs), 2)
        whole_tier = floatformat(np.mean(mine + theirs), 2)
        assert whole_tier != shown_other and whole_tier not in html, label
    bought_mine, bought_theirs = values([own], 3), values(others, 3)
    row = row_html(html, "Bought because of you")
    assert re.findall(r"<td>([0-9.]+) \(", row)[1] == floatformat(np.mean(bought_theirs), 2)
    assert floatformat(np.mean(bought_mine + bought_theirs), 2) not in html


# --- the outcomes section of the survey report ---------------------------------------------------


def finished_run(survey) -> AnalysisRun:
    run = request_analysis(survey)
    assert run.status == AnalysisRun.Status.SUCCEEDED, run.error
    return run


def outcomes_part(html: str) -> str:
    return html[html.index('<h2 id="outcomes">Outcomes</h2>'):html.index("</section>")]


def outcome_row(html: str, label: str) -> str:
    match = re.search(rf'<tr><th scope="row">{re.escape(label)}</th>.*?</tr>', html, re.DOTALL)
    assert match, label
    return match.group(0)


def test_the_report_ends_with_the_outcomes_of_the_surveys_creators(survey):
    paid = audience(survey, MICRO, own_rows(12))  # 5 of 12 say they bought
    unpaid = audience(survey, MICRO, other_rows(12, (3, 4)))  # 3 of 12 say they bought
    link = CreatorLinkFactory(survey=survey, creator=paid.creator, fee=Decimal("200"), product_cost=Decimal("50"), currency="EUR")
    ClickCount.objects.create(link=link, day=date(2026, 5, 1), clicks=80)
    for n, amount in enumerate(("150", "350")):
        Order.objects.create(brand=survey.brand, order_id=f"R-{n}", placed_at=timezone.now(), amount=Decimal(amount),
                             currency="EUR", creator=paid.creator)
    # Another campaign of the brand: its clicks and costs are not this survey's.
    other_link = CreatorLinkFactory(survey=SurveyFactory(brand=survey.brand), creator=paid.creator, fee=Decimal("900"), currency="EUR")
    ClickCount.objects.create(link=other_link, day=date(2026, 5, 1), clicks=1000)

    html = survey_report(finished_run(survey))
    part = outcomes_part(html)
    assert html.index("<h3>Reliability of the scales</h3>") < html.index('<h2 id="outcomes">Outcomes</h2>')
    assert "Money in EUR; orders and costs in other currencies are left out." in part
    assert "<caption>Outcomes per tier (EUR)</caption>" in part and "<caption>Outcomes per creator (EUR)</caption>" in part
    assert '<th scope="col">cost per verified order</th><th scope="col">return on spend</th>' in part
    assert outcome_row(part, f"@{paid.creator.handle}") == (
        f'<tr><th scope="row">@{paid.creator.handle}</th><td>micro</td><td>80</td><td>12</td>'
        '<td>42 % <span class="muted">(5 of 12)</span></td><td>2</td><td>500.00</td><td>250.00</td><td>125.00</td><td>2.00×</td></tr>')
    assert outcome_row(part, f"@{unpaid.creator.handle}") == (
        f'<tr><th scope="row">@{unpaid.creator.handle}</th><td>micro</td><td>0</td><td>12</td>'
        '<td>25 % <span class="muted">(3 of 12)</span></td><td>0</td><td>0.00</td><td>0.00</td><td>—</td><td>—</td></tr>')
    assert outcome_row(part, "Micro") == (
        '<tr><th scope="row">Micro</th><td>80</td><td>24</td><td>33 % <span class="muted">(8 of 24)</span></td>'
        '<td>2</td><td>500.00</td><td>250.00</td><td>125.00</td><td>2.00×</td></tr>')
    assert escape(CAVEAT) in part
    assert escape("Verified orders are all of the brand's orders credited to these creators, whichever campaign") in part
    assert "Order value and the buyer" not in part  # no post-purchase answers in this brand


def test_the_report_shows_the_verified_value_model_when_the_brand_has_post_purchase_answers(survey):
    audience(survey, MICRO, own_rows(12))
    audience(survey, MICRO, other_rows(12, (3, 4)))
    simulated = add_post_purchase_answers(survey.brand)
    _, slope, r_squared = ols_line(simulated)
    assert slope == pytest.approx(15.0, abs=1.0)  # the simulated truth

    html = survey_report(finished_run(survey))
    part = outcomes_part(html)
    assert "<h3>Order value and the buyer's trust (post-purchase answers)</h3>" in part
    assert f"Each extra point of trust goes with {slope:.2f} EUR more per verified order (95% CI " in part
    assert f'<tr><th scope="row">trust (per scale point)</th><td>{slope:.2f}</td>' in part
    assert f"n = 120 buyers, 24 creators; R² = {r_squared:.3f}; cluster-robust by creator" in part
    assert escape(VALUE_CAVEAT) in part
    assert escape("This model uses every post-purchase answer the brand has, about any creator, not only this survey's.") in part
    assert "@pp3_" not in part  # the buyers' creators have no link to this survey: not in its table
    # Their verified orders are there, but no clicks or costs of this survey's creators: one sentence, no tables.
    assert escape("No clicks, and no verified orders or collaboration costs in EUR, are recorded for this survey's "
                  "creators yet, so there are no outcomes to show.") in part
    assert "<caption>Outcomes per creator" not in part


def test_the_demo_report_has_an_accessible_outcomes_section(demo_run):
    part = outcomes_part(demo_run["html"])
    assert part.count("<caption>") == 3  # per tier, per creator, the verified-value model
    assert part.count("<thead>") == 3 and '<th scope="row">Celebrity</th>' in part
    assert "Each extra point of trust goes with" in part
