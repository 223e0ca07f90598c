"""Analysis runs: queued on the task worker, stored with progress, shown in the admin, printed by the command."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command

from surveys.analyses import clean_filters, clean_spec, execute_analysis, request_analysis
from surveys.choices import Role
from surveys.demo import seed_demo
from surveys.models import AnalysisRun
from tests.factories import MembershipFactory, SurveyFactory, UserFactory


@pytest.fixture(scope="module")
def demo_db(django_db_setup, django_db_blocker):
    """One demo survey for the whole module (seeding is the slow part)."""
    with django_db_blocker.unblock():
        summary = seed_demo(responses=800, seed=5)
        yield summary
        AnalysisRun.objects.all().delete()
        from surveys.models import Brand, Response, Survey

        Response.objects.all().delete()
        Survey.objects.all().delete()
        Brand.objects.all().delete()


def test_a_requested_run_executes_on_the_task_backend_and_stores_everything(demo_db):
    run = request_analysis(demo_db.survey, spec={"controls": ["expertise"]})
    # The unit-test backend runs the task immediately; the run row holds the outcome.
    assert run.status == AnalysisRun.Status.SUCCEEDED, run.error
    assert (run.progress, run.progress_message) == (100, "Done.")
    assert run.spec == {"controls": ["expertise"], "se": "cluster", "ordinal_outcome": "pp_juster", "min_ranked": 10}
    assert set(run.versions) >= {"statsmodels", "pandas", "numpy", "scipy", "python"}
    assert run.started_at <= run.finished_at
    variant = run.results["variants"][0]
    assert [m["name"] for m in variant["models"]] == ["intent_on_trust", "purchase_on_trust", "count_on_trust", "tier_slopes"]
    assert variant["models"][0]["controls"] == ["expertise"]
    assert variant["multilevel"]["icc"] > 0 and variant["ordinal"]["outcome"] == "pp_juster"
    assert variant["ranking"]["rows"][0]["rank"] == 1
    json.dumps(run.results, allow_nan=False)


@pytest.mark.django_db(transaction=True)
def test_the_run_waits_in_the_database_queue_until_a_worker_takes_it():
    from django_tasks_db.models import DBTaskResult

    from surveys.tasks import run_analysis_task

    summary = seed_demo(responses=300, seed=5)
    run = AnalysisRun.objects.create(survey=summary.survey, spec=clean_spec(summary.survey, {}))
    run_analysis_task.using(backend="database").enqueue(run.pk)
    run.refresh_from_db()
    assert run.status == AnalysisRun.Status.QUEUED
    call_command("db_worker", "--backend", "database", "--batch", "--no-startup-delay", "--no-reload")
    run.refresh_from_db()
    assert run.status == AnalysisRun.Status.SUCCEEDED
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_a_failed_run_keeps_its_message(demo_db):
    run = AnalysisRun.objects.create(survey=demo_db.survey, spec={}, filters={"tiers": ["nano"], "date_from": "2099-01-01"})
    run = execute_analysis(run)
    assert run.status == AnalysisRun.Status.FAILED
    assert run.error == "ValueError: No responses match the filters."
    assert run.progress_message == "Failed."


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"controls": ["shoe_size"]}, "controls"),
        ({"se": "robust-ish"}, "se"),
        ({"ordinal_outcome": "bought"}, "ordinal_outcome"),
        ({"min_ranked": 0}, "min_ranked"),
        ({"formula": "y ~ x"}, "spec"),
    ],
)
def test_bad_specs_are_refused_field_by_field(demo_db, spec, field):
    with pytest.raises(ValidationError) as info:
        clean_spec(demo_db.survey, spec)
    assert field in info.value.message_dict


def test_bad_filters_are_refused(demo_db):
    with pytest.raises(ValidationError) as info:
        clean_filters(demo_db.survey, {"tiers": ["mega"], "date_from": "31/12/2026", "creators": ["nobody"]})
    assert set(info.value.message_dict) == {"tiers", "date_from", "creators"}


def test_filters_narrow_the_responses(demo_db):
    run = request_analysis(demo_db.survey, filters={"tiers": ["nano", "micro"], "exclude_flagged": True})
    variant = run.results["variants"][0]
    assert {row["tier"] for row in variant["by_tier"]} == {"nano", "micro"}
    assert run.results["flagged"] == 0 and len(run.results["variants"]) == 1


def test_analyze_json_prints_exactly_the_stored_results(demo_db, capsys):
    call_command("analyze", "demo/creator-trust", "--json")
    printed = json.loads(capsys.readouterr().out)
    run = AnalysisRun.objects.order_by("-id").first()
    assert printed == run.results


def test_analyze_prints_readings_and_refuses_a_bad_spec(demo_db, capsys, tmp_path):
    call_command("analyze", "creator-trust", "--exclude-flagged")
    out = capsys.readouterr().out
    assert "Each extra point of trust goes with" in out and "creator ranking" in out
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"se": "bootstrap"}))
    with pytest.raises(CommandError, match="se: Choose one of cluster, classic, hc3"):
        call_command("analyze", "creator-trust", "--spec", str(spec))


def test_admin_run_form_queues_a_run_and_the_result_page_reads_it(demo_db, client):
    analyst = UserFactory()
    MembershipFactory(user=analyst, brand=demo_db.brand, role=Role.ANALYST)
    client.force_login(analyst)
    url = f"/admin/surveys/survey/{demo_db.survey.pk}/run-analysis/"
    form = client.get(url)
    assert form.status_code == 200 and "pp_juster" in form.content.decode()
    response = client.post(url, {"se": "cluster", "ordinal_outcome": "pp_juster", "min_ranked": 10, "controls": ["platform"]})
    run = AnalysisRun.objects.order_by("-id").first()
    assert response.status_code == 302 and response["Location"] == f"/admin/surveys/analysisrun/{run.pk}/change/"
    assert run.requested_by == analyst and run.spec["controls"] == ["platform"]
    page = client.get(response["Location"]).content.decode()
    assert "Each extra point of trust goes with" in page
    assert "Points of purchase intent per point of trust, by tier" in page
    assert "Creator ranking" in page and "Succeeded" in page


def test_other_brands_cannot_see_or_run_analyses(demo_db, client):
    outsider = UserFactory()
    MembershipFactory(user=outsider, brand=SurveyFactory().brand, role=Role.OWNER)
    run = AnalysisRun.objects.create(survey=demo_db.survey, spec={})
    client.force_login(outsider)
    assert client.get(f"/admin/surveys/analysisrun/{run.pk}/change/").status_code == 404
    assert client.get(f"/admin/surveys/survey/{demo_db.survey.pk}/run-analysis/").status_code == 404
