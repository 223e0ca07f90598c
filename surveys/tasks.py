"""Background tasks: thin wrappers that run service functions on the task worker."""

from __future__ import annotations

from django_tasks import task

from surveys.retention import erase_expired_respondent_hashes


@task()
def erase_expired_respondent_hashes_task() -> int:
    """Erase respondent hashes past their survey's retention period."""
    return erase_expired_respondent_hashes()
