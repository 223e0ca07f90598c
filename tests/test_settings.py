"""Settings come from the environment and refuse unsafe production configurations."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.nodb
ROOT = Path(__file__).resolve().parent.parent
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x9Vq2mT7rLp4Kz8Hw3Nc6Yb1Df5Gs0Jk-Ua_Re7Ti2Oy4Pl9Qm3Ws8Ed1Fr6Tg5Yh",
    "ALLOWED_HOSTS": "polls.example.com",
    "SECURE_HSTS_PRELOAD": "1",
    "DJANGO_SETTINGS_MODULE": "project.settings",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    unset = {"DEBUG", "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "EMAIL_URL", "TIME_ZONE", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    base = {k: v for k, v in os.environ.items() if k not in unset}
    base["DJANGO_SETTINGS_MODULE"] = "project.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env}, capture_output=True, text=True
    )


def test_check_deploy_is_clean_with_production_variables():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_production_refuses_to_start_without_a_secret_key():
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": ""})
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in result.stderr


def test_production_refuses_an_insecure_secret_key():
    result = manage("check", **{**PRODUCTION, "SECRET_KEY": "django-insecure-short"})
    assert result.returncode != 0
    assert "SECRET_KEY is insecure" in result.stderr


def test_environment_selects_database_cache_and_email():
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.EMAIL_BACKEND, s.TIME_ZONE)"
    )
    result = manage(
        "shell",
        "--no-imports",
        "-c",
        code,
        DATABASE_URL="postgres://u@127.0.0.1:5432/db",
        REDIS_URL="redis://127.0.0.1:6379/1",
        EMAIL_URL="smtp://mail.example.com:25",
        TIME_ZONE="Europe/Berlin",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "project.cache.ReusingRedisCache",
        "django.core.mail.backends.smtp.EmailBackend",
        "Europe/Berlin",
    ]


def test_local_defaults_are_sqlite_locmem_console_and_database_tasks():
    code = (
        "from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.CACHES['default']['BACKEND'], s.EMAIL_BACKEND,"
        " s.TASKS['default']['BACKEND'], s.DATABASES['default']['NAME'].endswith('var/trustpoll.sqlite3'))"
    )
    result = manage("shell", "--no-imports", "-c", code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "django.core.cache.backends.locmem.LocMemCache",
        "django.core.mail.backends.console.EmailBackend",
        "django_tasks_db.DatabaseBackend",
        "True",
    ]


def test_every_url_ends_with_a_slash():
    from django.urls import get_resolver

    def walk(resolver, prefix=""):
        for pattern in resolver.url_patterns:
            route = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                yield from walk(pattern, route)
            else:
                yield route

    # Files keep their names (/embed.js); every page and endpoint ends with a slash.
    routes = [r for r in walk(get_resolver()) if r and not r.startswith("admin/") and not r.endswith(".js")]
    offenders = [r for r in routes if not (r.endswith("/") or r.endswith("/$") or r.endswith("$") and r.rstrip("$").endswith("/"))]
    assert offenders == []
