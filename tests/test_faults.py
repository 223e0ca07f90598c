"""Faults against `make serve`'s stack: nothing acknowledged to a respondent is lost, and failures are clean."""

import json
import re
import threading
import time
import urllib.parse

import pytest

from tests.stack import Stack

pytestmark = [pytest.mark.postgres, pytest.mark.faults, pytest.mark.nodb]

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def stack():
    served = Stack("trustpoll_fault_test")
    served.manage("seed_demo", "--responses", "30")
    yield served
    served.stop()


def poll_tokens(stack: Stack, count: int = 4) -> list[str]:
    return [row[0] for row in stack.sql(
        "SELECT l.token FROM surveys_creatorlink l JOIN surveys_survey s ON s.id = l.survey_id "
        "WHERE s.status = 'live' AND l.active ORDER BY l.id LIMIT %s", count)]


def answers_for(stack: Stack, token: str) -> list[tuple[str, str]]:
    """Return a complete, valid form for the poll of ``token`` (shown first, as a phone would)."""
    status, _, page = stack.request("GET", f"/s/{token}/")
    assert status == 200, page[:300]
    html = page.decode()
    form_token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    fields = [("form_token", form_token)]
    for name in dict.fromkeys(re.findall(r'<input type="radio" name="([a-z0-9_]+)"', html)):
        values = re.findall(rf'name="{name}" value="(-?\d+)"', html)
        fields.append((name, values[len(values) // 2]))
    if "bought" in html:
        fields.append(("bought", "0"))
    if 'name="consent"' in html:
        fields.append(("consent", "on"))
    if 'name="age_confirmed"' in html:
        fields.append(("age_confirmed", "on"))
    return fields


def test_a_database_outage_gives_clean_503s_that_keep_the_answers_and_loses_nothing_acknowledged(stack):
    tokens = poll_tokens(stack)
    before = stack.sql("SELECT count(*) FROM surveys_response")[0][0]
    forms = [(token, answers_for(stack, token)) for token in tokens * 10]  # 40 shown polls, each with its own token
    outcomes: list[tuple[str, list, int, bytes]] = []
    outage = threading.Event()

    def send(token: str, fields: list) -> tuple[int, bytes]:
        status, _, body = stack.request("POST", f"/s/{token}/", urllib.parse.urlencode(fields).encode(), {"Content-Type": FORM})
        return status, body

    for index, (token, fields) in enumerate(forms):
        if index == 10:
            stack.proxy.cut()
            outage.set()
        if index == 30:
            stack.proxy.restore()
            outage.clear()
        status, body = send(token, fields)
        outcomes.append((token, fields, status, body))

    statuses = [status for _, _, status, _ in outcomes]
    assert set(statuses) <= {200, 503}, statuses  # never a 500 or a traceback
    assert statuses[:10] == [200] * 10 and 503 in statuses[10:30]
    unavailable = [o for o in outcomes if o[2] == 503]
    for _, fields, _, body in unavailable:
        page = body.decode()
        assert "Please try again" in page and "Traceback" not in page
        # The page carries every answer back, ready to be sent again.
        assert all(f'name="{name}" value="{value}"' in page for name, value in fields)

    # After the outage the same forms are sent again, exactly as the page would.
    deadline = time.monotonic() + 20
    for token, fields, _, _ in unavailable:
        while True:
            status, body = send(token, fields)
            if status == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.3)
        assert status == 200, body[:300]

    acknowledged = {dict(fields)["form_token"] for _, fields, _, _ in outcomes}  # every form ended in a thank-you
    stored = stack.sql("SELECT count(*) FROM surveys_response")[0][0] - before
    assert stored == len(acknowledged) == len(forms)


def test_the_json_api_answers_503_in_the_error_shape_while_the_database_is_away(stack):
    token = poll_tokens(stack, 1)[0]
    status, definition = stack.json(f"/api/v1/public/links/{token}/")
    assert status == 200
    body = json.dumps({"form_token": definition["form_token"], "answers": {}}).encode()
    stack.proxy.cut()
    try:
        status, headers, reply = stack.request("POST", f"/api/v1/public/links/{token}/responses/", body,
                                               {"Content-Type": "application/json"})
    finally:
        stack.proxy.restore()
    assert status == 503 and headers["Retry-After"] == "5"
    assert json.loads(reply) == {"detail": "The service is briefly unavailable; nothing was stored. Please retry.", "errors": {}}
