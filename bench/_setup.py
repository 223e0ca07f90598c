"""Shared set-up for benchmarks: a throwaway database with one 15-item trust survey."""

from __future__ import annotations

import os
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def configure(*, debug: bool = False, fresh_db: bool = True, **env: str) -> Path:
    """Point Django at a fresh temporary var/ directory (and a fresh PostgreSQL database) and return it."""
    var = Path(tempfile.mkdtemp(prefix="trustpoll-bench-"))
    if fresh_db and os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = fresh_database(os.environ["DATABASE_URL"])
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "project.settings",
            "TRUSTPOLL_VAR_DIR": str(var),
            "DEBUG": "1" if debug else "0",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "localhost,127.0.0.1,testserver",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            "SECURE_HSTS_SECONDS": "0",
            "POLL_RATE_LIMIT": "1000000/m",
            "LOG_LEVEL": "WARNING",
            **env,
        }
    )
    sys.path.insert(0, str(ROOT))
    return var


def trust_survey():
    """Create a live survey with the 15 Ohanian items and return one creator link."""
    from surveys.choices import SurveyStatus
    from surveys.design import insert_instrument
    from surveys.models import Brand, Creator, CreatorLink, Survey

    brand = Brand.objects.create(name="Bench Brand", slug="bench", privacy_notice_url="https://example.com/privacy")
    survey = Survey.objects.create(brand=brand, title="Creator trust", slug="trust", status=SurveyStatus.LIVE)
    insert_instrument(survey, "ohanian_1990")
    creator = Creator.objects.create(brand=brand, handle="ava", display_name="Ava Bloom", platform="instagram", followers=25_000)
    return CreatorLink.objects.create(survey=survey, creator=creator)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def fresh_database(url: str) -> str:
    """Create an empty database "trustpoll_bench" beside ``url``'s and return its URL."""
    import psycopg
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP DATABASE IF EXISTS trustpoll_bench")
        connection.execute("CREATE DATABASE trustpoll_bench")
    return urlunsplit(parts._replace(path="/trustpoll_bench"))
