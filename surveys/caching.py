"""The poll's hot path, cached in the shared cache: a link with its survey, brand and creator, and a survey's schema.

Every poll view and submission needs the same few rows. Reading them from
Redis instead of compiling and running two ORM queries per request is most of
what lets a submission cost little more than its one INSERT.

Correctness does not rest on the time-out. Every save or delete of a brand,
survey, question, creator or link drops the entries it affects (signals
below, and the explicit calls beside the few bulk ``update()`` calls). The
time-out only bounds staleness if a cache delete itself fails. A cache that is
down or holds something unreadable means a database read, never an error.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.cache import cache
from django.db.models.signals import post_delete, post_save

logger = logging.getLogger("trustpoll.cache")

TTL_SECONDS = 60
_LINK = "trustpoll:link:{}"
_SCHEMA = "trustpoll:schema:{}"


def _get(key: str) -> Any:
    try:
        return cache.get(key)
    except Exception:  # noqa: BLE001 - unreachable cache or an entry from older code: read the database
        return None


def _set(key: str, value: Any) -> None:
    try:
        cache.set(key, value, TTL_SECONDS)
    except Exception:  # noqa: BLE001
        pass


def _delete(keys: list[str]) -> None:
    if not keys:
        return
    try:
        cache.delete_many(keys)
    except Exception as exc:  # noqa: BLE001 - stale for at most TTL_SECONDS
        logger.warning("could not drop %d cached poll entries: %s", len(keys), exc.__class__.__name__)


def cached_link(token: str, load: Any, *, prepare: Any = None) -> Any:
    """Return the link of ``token`` from the cache, else from ``load(token)``; None if unknown.

    ``prepare(link)`` runs on a freshly loaded link before it is cached, to
    carry more with it in the same entry (the survey's schema): one cache
    read serves the whole request.
    """
    key = _LINK.format(token)
    link = _get(key)
    if link is None:
        link = load(token)
        if link is not None:
            if prepare is not None:
                prepare(link)
            _set(key, link)
    return link


def peek_link(token: str) -> Any:
    """Return the cached link of ``token`` without touching the database (None if not cached)."""
    from surveys.selectors import _TOKEN

    return _get(_LINK.format(token)) if _TOKEN.fullmatch(token or "") else None


def cached_schema(survey_id: int, build: Any) -> Any:
    """Return the validation schema of a survey from the cache, else from ``build()`` (then cached)."""
    key = _SCHEMA.format(survey_id)
    schema = _get(key)
    if schema is None:
        schema = build()
        _set(key, schema)
    return schema


def forget_links(tokens: Iterable[str]) -> None:
    """Drop cached links (after a change to them, their creator, survey or brand)."""
    _delete([_LINK.format(token) for token in tokens])


def forget_survey(survey_id: int) -> None:
    """Drop a survey's schema and every one of its cached links."""
    from surveys.models import CreatorLink

    _delete([_SCHEMA.format(survey_id)] + [_LINK.format(t) for t in CreatorLink.objects.filter(survey_id=survey_id).values_list("token", flat=True)])


def forget_creators(creator_ids: Iterable[int]) -> None:
    from surveys.models import CreatorLink

    forget_links(CreatorLink.objects.filter(creator_id__in=list(creator_ids)).values_list("token", flat=True))


def _on_change(sender: type, instance: Any, **kwargs: Any) -> None:
    from django.db import transaction

    # Now, and again after the commit: a request running in between could cache the old rows again.
    _forget_for(sender, instance)
    transaction.on_commit(lambda: _forget_for(sender, instance))


def _forget_for(sender: type, instance: Any) -> None:
    from surveys.models import Brand, Creator, CreatorLink, Question, Survey

    if sender is CreatorLink:
        forget_links([instance.token])
    elif sender is Creator:
        forget_creators([instance.pk])
    elif sender is Question:
        forget_survey(instance.survey_id)
    elif sender is Survey:
        forget_survey(instance.pk)
    elif sender is Brand:
        forget_links(CreatorLink.objects.filter(survey__brand_id=instance.pk).values_list("token", flat=True))


def connect_signals() -> None:
    from surveys.models import Brand, Creator, CreatorLink, Question, Survey

    for model in (Brand, Creator, CreatorLink, Question, Survey):
        post_save.connect(_on_change, sender=model, dispatch_uid=f"trustpoll-cache-{model.__name__}-save")
        post_delete.connect(_on_change, sender=model, dispatch_uid=f"trustpoll-cache-{model.__name__}-delete")
