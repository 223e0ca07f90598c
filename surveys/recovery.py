"""Work a task worker took and never finished (it was killed, or its machine died) is failed with a message.

The task queue (django-tasks-db) marks a task RUNNING when a worker claims it
and keeps no heartbeat, so a worker killed mid-task would leave the task, and
the analysis run or export behind it, "running" forever. This finds tasks
running for longer than any task may take (``TASK_STALL_SECONDS``, default an
hour; a million-response analysis takes a minute and a half), fails them with
a message saying why, and fails the analysis runs and exports they were
building, so the user sees what happened and can start them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django_tasks.base import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from surveys.models import AnalysisRun, Export, _now

MESSAGE = "The task worker stopped while running this (killed or restarted); nothing was saved. Start it again."


class WorkerLost(Exception):
    """Recorded as the failure of a task whose worker disappeared."""


@dataclass
class Recovered:
    tasks: int
    runs: int
    exports: int


def recover_stalled_work(*, older_than: timedelta | None = None) -> Recovered:
    """Fail tasks, analysis runs and exports left running for longer than ``older_than``; return the counts."""
    cutoff = _now() - (older_than if older_than is not None else timedelta(seconds=settings.TASK_STALL_SECONDS))
    with transaction.atomic():
        stalled = list(DBTaskResult.objects.select_for_update(skip_locked=True)
                       .filter(status=TaskResultStatus.RUNNING, started_at__lt=cutoff))
        for task in stalled:
            task.set_failed(WorkerLost(MESSAGE))
        runs = AnalysisRun.objects.filter(status=AnalysisRun.Status.RUNNING, started_at__lt=cutoff).update(
            status=AnalysisRun.Status.FAILED, error=MESSAGE, progress_message="Failed.", finished_at=_now())
        exports = Export.objects.filter(status=Export.Status.RUNNING, created_at__lt=cutoff).update(
            status=Export.Status.FAILED, error=MESSAGE, progress_message="Failed.", finished_at=_now())
    return Recovered(tasks=len(stalled), runs=runs, exports=exports)
