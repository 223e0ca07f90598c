"""Backup and restore as the deployment guide describes them: pg_dump, then pg_restore into a fresh database."""

import subprocess

import psycopg
import pytest
from django.db import connection

from surveys.models import Response
from tests.factories import CreatorLinkFactory, ResponseFactory

pytestmark = pytest.mark.postgres


def _url(name: str) -> str:
    settings = connection.settings_dict
    return f"postgresql://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}/{name}"


@pytest.mark.django_db(transaction=True)
def test_a_dump_restored_into_a_fresh_database_has_every_response(tmp_path):
    assert connection.vendor == "postgresql", "run with DATABASE_URL pointing at PostgreSQL (the CI's second stage does)"
    link = CreatorLinkFactory(survey__status="live")
    for i in range(40):
        ResponseFactory(link=link, answers={"tru_1": 1 + i % 7, "note": f"ä “quoted” {i}"})
    stored = sorted(Response.objects.values_list("id", "form_token", "answers"))
    source = connection.settings_dict["NAME"]
    dump = tmp_path / "trustpoll.dump"
    # The guide's commands: a custom-format dump, restored without owners into an empty database.
    subprocess.run(["pg_dump", "--format=custom", "--no-owner", f"--file={dump}", _url(source)], check=True)
    target = f"{source}_restored"
    with psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{target}"')
        admin.execute(f'CREATE DATABASE "{target}"')
    try:
        subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={_url(target)}", str(dump)], check=True)
        with psycopg.connect(_url(target)) as restored:
            rows = restored.execute("SELECT id, form_token, answers FROM surveys_response ORDER BY id").fetchall()
            migrations = restored.execute("SELECT count(*) FROM django_migrations WHERE app = 'surveys'").fetchone()[0]
        assert sorted(rows) == stored and len(rows) == 40
        assert migrations >= 6  # the schema's history came along: the restored database can be migrated onward
    finally:
        with psycopg.connect(_url("postgres"), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
