"""Background tasks: thin wrappers that run service functions on the task worker."""

from __future__ import annotations

from django_tasks import task

from surveys.retention import erase_expired_respondent_hashes


@task()
def erase_expired_respondent_hashes_task() -> int:
    """Erase respondent hashes past their survey's retention period."""
    return erase_expired_respondent_hashes()


@task()
def run_analysis_task(run_id: int) -> str:
    """Execute a queued analysis run; its status and results are stored on the run."""
    from surveys.analyses import execute_analysis
    from surveys.models import AnalysisRun

    run = AnalysisRun.objects.select_related("survey").get(pk=run_id)
    return execute_analysis(run).status


@task()
def build_export_task(export_id: int) -> str:
    """Build a queued export file."""
    from surveys.files import build_export
    from surveys.models import Export

    return build_export(Export.objects.select_related("survey__brand", "run", "creator").get(pk=export_id)).status


@task()
def delete_expired_exports_task() -> int:
    """Delete exports past their keeping time."""
    from surveys.files import delete_expired_exports

    return delete_expired_exports()


@task()
def deliver_webhook_task(delivery_id: str) -> str:
    """Attempt one webhook delivery; a failure queues the next attempt with backoff."""
    from surveys.webhooks import deliver

    return deliver(delivery_id)


@task()
def retry_due_webhooks_task() -> int:
    """Attempt every pending webhook delivery that is due (a backstop beside the deferred tasks)."""
    from surveys.webhooks import retry_due_webhooks

    return retry_due_webhooks()
