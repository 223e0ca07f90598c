"""Click tracking: a creator link's short redirect to the brand's page, with its UTM parameters, counted per day."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.db import DatabaseError, IntegrityError, transaction
from django.db.models import F, Sum

from surveys.models import ClickCount, CreatorLink, _now

logger = logging.getLogger("trustpoll.clicks")

# Link unfurlers, crawlers, monitors and scripts: they follow links but are not followers.
_BOTS = re.compile(
    r"bot\b|bot/|crawl|spider|slurp|preview|facebookexternalhit|whatsapp|telegram|embedly|headless|lighthouse|"
    r"pingdom|monitor|curl/|wget/|python-|go-http-client|java/|okhttp|axios|node-fetch|httpclient|scrapy",
    re.IGNORECASE,
)
UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")


def is_bot(user_agent: str) -> bool:
    """Return whether a user agent is a crawler, link preview, monitor or script (or missing)."""
    return not user_agent.strip() or bool(_BOTS.search(user_agent))


def destination(link: CreatorLink) -> str | None:
    """Return the link's destination with its UTM parameters added (they replace same-named ones), or None."""
    if not link.destination_url:
        return None
    parts = urlsplit(link.destination_url)
    ours = {field: getattr(link, field) for field in UTM_FIELDS if getattr(link, field)}
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ours] + list(ours.items())
    return urlunsplit(parts._replace(query=urlencode(query)))


def count_click(link: CreatorLink, *, at: datetime | None = None) -> None:
    """Add one click to the link's count for the day: one UPDATE in the usual case. Never raises."""
    day = (at or _now()).date()
    try:
        if ClickCount.objects.filter(link_id=link.pk, day=day).update(clicks=F("clicks") + 1):
            return
        try:
            with transaction.atomic():
                ClickCount.objects.create(link_id=link.pk, day=day, clicks=1)
        except IntegrityError:  # another click made the day's row first
            ClickCount.objects.filter(link_id=link.pk, day=day).update(clicks=F("clicks") + 1)
    except DatabaseError as exc:  # the follower still gets where they were going
        logger.warning("click not counted: %s", exc.__class__.__name__)


def clicks_by_link(link_ids: list[int]) -> dict[int, int]:
    """Return total clicks per link id."""
    rows = ClickCount.objects.filter(link_id__in=link_ids).values("link_id").annotate(total=Sum("clicks"))
    return {row["link_id"]: row["total"] for row in rows}
