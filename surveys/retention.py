"""Data retention: erase respondent hashes once a survey's retention period has passed."""

from __future__ import annotations

from datetime import timedelta

from surveys.models import Response, Survey, _now


def erase_expired_respondent_hashes() -> int:
    """Blank the respondent hash of every response older than its survey's retention; return the count."""
    now = _now()
    erased = 0
    for survey_id, days in Survey.objects.values_list("id", "retention_days"):
        erased += (
            Response.objects.filter(survey_id=survey_id, submitted_at__lt=now - timedelta(days=days))
            .exclude(respondent_hash="")
            .update(respondent_hash="")
        )
    return erased



def erase_responses(survey: Survey, *, test_only: bool = False) -> int:
    """Delete the survey's responses (only the test ones with ``test_only``); return how many."""
    responses = Response.objects.filter(survey=survey)
    if test_only:
        responses = responses.filter(is_test=True)
    deleted, _ = responses.delete()
    return deleted


def erase_response(response_id: int) -> bool:
    """Delete one response by id (a respondent's erasure request); return whether it existed."""
    deleted, _ = Response.objects.filter(pk=response_id).delete()
    return deleted > 0
