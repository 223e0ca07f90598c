"""`make serve`'s stack, served for real: readiness follows PostgreSQL, and the app recovers without a restart."""

import time

import pytest

from tests.stack import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.nodb]


@pytest.fixture(scope="module")
def stack():
    served = Stack("trustpoll_stack_test")
    yield served
    served.stop()


def test_readyz_turns_503_while_postgresql_is_unreachable_and_recovers_without_a_restart(stack):
    assert stack.json("/readyz/") == (200, {"status": "ready", "checks": {"database": "ok", "cache": "ok"}})
    stack.proxy.cut()
    try:
        status, body = stack.json("/readyz/")
        assert status == 503 and body["status"] == "unavailable"
        assert body["problems"]["database"].startswith("database unreachable (")
        assert stack.request("GET", "/healthz/")[0] == 200  # the process itself is alive
    finally:
        stack.proxy.restore()
    deadline = time.monotonic() + 10
    while stack.json("/readyz/")[0] != 200:
        assert time.monotonic() < deadline, "did not recover after PostgreSQL came back"
        time.sleep(0.2)


def test_the_served_stack_runs_production_settings(stack):
    status, headers, body = stack.request("GET", "/healthz/")
    assert status == 200 and headers["Server"].startswith("gunicorn")
    assert "X-Request-ID" in headers and "Strict-Transport-Security" not in headers  # HTTPS off for loopback
    status, _, body = stack.request("GET", "/no-such-page/")
    assert status == 404 and b"Traceback" not in body  # DEBUG is off
