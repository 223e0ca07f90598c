from datetime import timedelta

import pytest

from django.core.management import call_command
from django.utils import timezone

from surveys.models import Response
from surveys.retention import erase_expired_respondent_hashes
from tests.factories import CreatorLinkFactory, ResponseFactory, SurveyFactory


def make_responses():
    link = CreatorLinkFactory(survey=SurveyFactory(retention_days=30))
    now = timezone.now()
    old = ResponseFactory(link=link, respondent_hash="a" * 64, submitted_at=now - timedelta(days=31))
    new = ResponseFactory(link=link, respondent_hash="b" * 64, submitted_at=now - timedelta(days=29))
    return old, new


def test_hashes_older_than_the_retention_period_are_erased():
    old, new = make_responses()
    assert erase_expired_respondent_hashes() == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.respondent_hash, new.respondent_hash) == ("", "b" * 64)
    assert erase_expired_respondent_hashes() == 0


@pytest.mark.django_db(transaction=True)  # the worker closes and reopens its connection
def test_the_erase_task_runs_on_the_database_worker():
    from django_tasks_db.models import DBTaskResult

    from surveys.tasks import erase_expired_respondent_hashes_task

    old, _ = make_responses()
    erase_expired_respondent_hashes_task.using(backend="database").enqueue()
    assert Response.objects.get(pk=old.pk).respondent_hash  # only queued so far
    call_command("db_worker", "--backend", "database", "--batch", "--no-startup-delay", "--no-reload")
    result = DBTaskResult.objects.get()
    assert (result.status, result.return_value) == ("SUCCESSFUL", 1)
    assert Response.objects.get(pk=old.pk).respondent_hash == ""


def test_the_erase_command_enqueues_on_the_default_backend(capsys):
    old, _ = make_responses()
    call_command("erase_respondent_hashes", "--enqueue")
    assert "Enqueued task" in capsys.readouterr().out
    # The unit-test backend runs tasks immediately.
    assert Response.objects.get(pk=old.pk).respondent_hash == ""
