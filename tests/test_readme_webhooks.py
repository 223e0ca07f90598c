"""The README's webhook walkthrough, run as written: its receiver, its curl lines, against a live server."""

import os
import re
import signal
import socket
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from surveys.models import WebhookDelivery, WebhookEndpoint
from surveys.tokens import issue_token
from tests.factories import BrandFactory, MembershipFactory

README = Path(__file__).resolve().parent.parent / "README.md"


def blocks() -> tuple[str, str]:
    text = README.read_text()
    start = text.index("Walkthrough against a local receiver")
    receiver = re.compile(r"```python\n(.*?)```", re.S).search(text, start)
    script = re.compile(r"```sh\n(.*?)```", re.S).search(text, receiver.end())
    return receiver.group(1), script.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.django_db(transaction=True)
def test_the_readme_webhook_walkthrough_runs_as_written(live_server, tmp_path):
    receiver, script = blocks()
    assert '("127.0.0.1", 9100)' in receiver and "http://127.0.0.1:9100/" in script and "A=http://127.0.0.1:8000/api/v1" in script
    port = str(free_port())
    (tmp_path / "receiver.py").write_text(receiver.replace("9100", port))
    script = script.replace("9100", port).replace("A=http://127.0.0.1:8000/api/v1", f"A={live_server.url}/api/v1")
    owner = get_user_model().objects.create_user("hooked")
    MembershipFactory(user=owner, brand=BrandFactory(), role="owner")
    _, key = issue_token(owner, "hooks")
    process = subprocess.Popen(["bash", "-euo", "pipefail", "-c", script], cwd=tmp_path, start_new_session=True,
                               env={"T": key, "PATH": os.environ["PATH"]}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=60)
    finally:
        try:  # the script's own session: bash and the receiver it started in the background
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert process.returncode == 0, out + err
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == "delivered" and delivery.endpoint == WebhookEndpoint.objects.get(url=f"http://127.0.0.1:{port}/")
    lines = out.split()
    assert lines[0] == str(delivery.pk)
    assert f"verified response.submitted {delivery.pk}" in out
    assert lines[-1] == "204"
