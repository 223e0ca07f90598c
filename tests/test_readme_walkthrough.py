"""The README's API walkthrough, run as written (bash + curl) against a live server holding the demo data."""

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from surveys.demo import seed_demo
from surveys.models import Response, Survey
from surveys.tokens import issue_token

README = Path(__file__).resolve().parent.parent / "README.md"
LOCAL_BASE = "A=http://127.0.0.1:8000/api/v1"


def walkthrough_block() -> str:
    text = README.read_text()
    start = text.index("Walkthrough: with `make run`")
    match = re.compile(r"```sh\n(.*?)```", re.S).search(text, start)
    assert match, "the README lost its walkthrough block"
    return match.group(1)


@pytest.mark.django_db(transaction=True)
def test_the_readme_walkthrough_runs_as_written(live_server, tmp_path):
    assert shutil.which("curl"), "curl is needed to run the README as written"
    block = walkthrough_block()
    assert LOCAL_BASE in block
    seed_demo(responses=600, seed=5)
    owner = get_user_model().objects.get(username="demo")
    _, key = issue_token(owner, "walkthrough")

    script = block.replace(LOCAL_BASE, f"A={live_server.url}/api/v1")
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, env={"T": key, "PATH": "/usr/bin:/bin"},
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.split()

    survey = Survey.objects.get(slug="trust-api")
    link = survey.links.get(creator__handle="new_face")
    assert lines[:3] == ["ohanian_1990:", "201", "spears_singh_2004:"] and "reported_purchase:" in lines
    assert "live" in lines and f"{link.share_url}" in lines
    stored = Response.objects.get(survey=survey)
    assert stored.answers["bought"] == 0 and stored.link == link and stored.creator.handle == "new_face"
    assert set(stored.answers.values()) == {0, 4}
    assert "recorded" in lines and "succeeded" in lines

    demo = Survey.objects.get(slug="creator-trust")
    run = demo.analysis_runs.get()
    assert run.status == "succeeded" and run.spec["se"] == "cluster"
    export = demo.exports.get()
    downloaded = (tmp_path / "responses.csv").read_text().splitlines()
    assert len(downloaded) == export.rows + 1 == demo.responses.filter(is_test=False).count() + 1
    assert lines[-2:] == [str(export.rows + 1), "responses.csv"]
    assert downloaded[0].startswith("response_id,submitted_at,completion_seconds,creator_handle,")
