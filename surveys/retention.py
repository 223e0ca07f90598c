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

