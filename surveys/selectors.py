"""Reads: brand-scoped querysets and look-ups used by views, admin and commands."""

from __future__ import annotations

from django.db.models import Count, Q, QuerySet

from surveys.models import CreatorLink, Survey


class SurveyLookupError(LookupError):
    """A survey reference matched no survey, or more than one."""


def find_survey(ref: str) -> Survey:
    """Return the survey named ``SLUG`` or ``BRAND/SLUG``."""
    brand_slug, _, slug = ref.rpartition("/")
    surveys = Survey.objects.select_related("brand").filter(slug=slug).order_by("brand__slug")
    if brand_slug:
        surveys = surveys.filter(brand__slug=brand_slug)
    found = list(surveys[:10])
    if not found:
        raise SurveyLookupError(f"No survey “{ref}”. Use SLUG or BRAND/SLUG.")
    if len(found) > 1:
        names = ", ".join(f"{s.brand.slug}/{s.slug}" for s in found)
        raise SurveyLookupError(f"“{ref}” is ambiguous: {names}. Use BRAND/SLUG.")
    return found[0]


def links_with_counts(survey: Survey) -> QuerySet[CreatorLink]:
    """Return the survey's links with ``response_count`` (real responses) annotated."""
    return (
        CreatorLink.objects.filter(survey=survey)
        .select_related("creator")
        .annotate(response_count=Count("responses", filter=Q(responses__is_test=False)))
        .order_by("creator__display_name")
    )
