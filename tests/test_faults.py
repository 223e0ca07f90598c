"""Faults against `make serve`'s stack: nothing acknowledged to a respondent is lost, and failures are clean."""

import http.client
import json
import re
import threading
import time
import urllib.parse

import pytest

from tests.stack import PrivatePostgres, Stack

pytestmark = [pytest.mark.postgres, pytest.mark.faults, pytest.mark.nodb]

FORM = "application/x-www-form-urlencoded"


@pytest.fixture(scope="module")
def stack():
    served = Stack("trustpoll_fault_test")
    served.manage("seed_demo", "--responses", "30")
    yield served
    served.stop()


@pytest.fixture(scope="module")
def restartable():
    """The stack on a PostgreSQL server of its own, which the test stops and starts for real."""
    import shutil
    import tempfile
    from pathlib import Path

    folder = Path(tempfile.mkdtemp(prefix="trustpoll-pg-"))  # not under pytest's 0700 folders: the server runs as postgres
    server = PrivatePostgres(folder)
    served = Stack("trustpoll_fault_restart", pg_port=server.port)
    served.manage("seed_demo", "--responses", "30")
    served.postgres = server
    yield served
    served.stop()
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


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


def api_token(stack: Stack) -> str:
    return stack.manage("shell", "-c", "from django.contrib.auth import get_user_model as g; from surveys.tokens import issue_token; "
                                       "print(issue_token(g().objects.get(username='demo'), 'faults')[1])").split()[-1]


def test_a_postgresql_restart_mid_stream_gives_clean_503s_that_keep_the_answers_and_loses_nothing(restartable):
    stack = restartable
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
            stack.postgres.stop()  # a real stop of the server, mid-stream
            outage.set()
        if index == 30:
            stack.postgres.start()
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


def test_with_redis_stopped_polls_still_store_responses_the_admin_works_and_analyses_enqueue():
    served = Stack("trustpoll_fault_redis", own_redis=True)
    try:
        served.manage("seed_demo", "--responses", "30")
        token = poll_tokens(served, 1)[0]
        fields = answers_for(served, token)  # shown while Redis was up
        served.stop_redis()
        before = served.sql("SELECT count(*) FROM surveys_response")[0][0]
        status, _, body = served.request("POST", f"/s/{token}/", urllib.parse.urlencode(fields).encode(), {"Content-Type": FORM})
        assert status == 200 and "Thank" in body.decode(), body[:300]
        later = answers_for(served, token)  # the poll page renders from the database
        assert served.request("POST", f"/s/{token}/", urllib.parse.urlencode(later).encode(), {"Content-Type": FORM})[0] == 200
        assert served.sql("SELECT count(*) FROM surveys_response")[0][0] == before + 2
        status, body = served.json("/readyz/")
        assert status == 503 and set(body["problems"]) == {"cache"}

        # The admin: sign in (the sign-in limiter fails open too) and open the survey list.
        login = served.request("GET", "/admin/login/")
        cookie = login[1]["Set-Cookie"].split(";")[0]
        csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login[2].decode()).group(1)
        signed_in = served.request("POST", "/admin/login/?next=/admin/", urllib.parse.urlencode(
            {"csrfmiddlewaretoken": csrf, "username": "demo", "password": "trustpoll-demo"}).encode(),
            {"Content-Type": FORM, "Cookie": cookie, "Referer": f"http://127.0.0.1:{served.port}/admin/login/"})
        assert signed_in[0] == 302, signed_in[2][:500]
        session = [c.split(";")[0] for c in signed_in[1].get("Set-Cookie", "").split(", ") if c.startswith("sessionid")][0]
        assert served.request("GET", "/admin/surveys/survey/", headers={"Cookie": session})[0] == 200

        # An analysis is queued and run by the worker.
        key = api_token(served)
        survey = served.sql("SELECT id FROM surveys_survey WHERE slug = 'creator-trust'")[0][0]
        status, _, reply = served.request("POST", f"/api/v1/surveys/{survey}/analyses/", b'{"spec": {"se": "classic"}}',
                                          {"Content-Type": "application/json", "Authorization": f"Token {key}"})
        assert status == 202, reply[:300]
        run = json.loads(reply)["id"]
        deadline = time.monotonic() + 60
        while served.sql("SELECT status FROM surveys_analysisrun WHERE id = %s", run)[0][0] in ("queued", "running"):
            assert time.monotonic() < deadline, "the worker did not run the analysis"
            time.sleep(0.5)
        assert served.sql("SELECT status FROM surveys_analysisrun WHERE id = %s", run)[0][0] == "succeeded"
    finally:
        served.stop()


def test_a_web_worker_killed_mid_load_loses_nothing_acknowledged_and_stores_nothing_twice(stack):
    import os
    import signal
    import subprocess

    tokens = poll_tokens(stack)
    forms = [(token, answers_for(stack, token)) for token in tokens * 30]  # 120 shown polls
    before = {row[0] for row in stack.sql("SELECT form_token FROM surveys_response")}
    acknowledged, failed, lock = set(), set(), threading.Lock()
    queue = list(enumerate(forms))

    def client() -> None:
        while True:
            with lock:
                if not queue:
                    return
                index, (token, fields) = queue.pop()
            try:
                status, _, body = stack.request("POST", f"/s/{token}/", urllib.parse.urlencode(fields).encode(),
                                                {"Content-Type": FORM})
                ok = status == 200 and b"Thank" in body
            except (OSError, http.client.HTTPException):  # a reset, or a reply cut short by the kill
                ok = False
            with lock:
                (acknowledged if ok else failed).add(index)

    clients = [threading.Thread(target=client) for _ in range(6)]
    for thread in clients:
        thread.start()
    while len(acknowledged) < 20:
        time.sleep(0.01)
    for _ in range(3):  # three workers killed without warning, mid-load, while the master replaces them
        workers = subprocess.run(["pgrep", "-P", str(stack.web.pid)], capture_output=True, text=True).stdout.split()
        assert workers
        os.kill(int(workers[0]), signal.SIGKILL)
        time.sleep(0.4)
    for thread in clients:
        thread.join(timeout=120)
    assert len(acknowledged) + len(failed) == len(forms)
    assert len(acknowledged) >= len(forms) - 30  # the master replaces the workers; the rest goes through

    from django.core import signing

    rows = stack.sql("SELECT form_token, answers FROM surveys_response")
    new = [(token, answers) for token, answers in rows if token not in before]
    stored_nonces = {token for token, _ in new}
    assert len(stored_nonces) == len(new)  # no form token stored twice
    signer = signing.TimestampSigner(salt="trustpoll.form-token", key=stack.env["SECRET_KEY"])
    stored_forms = {index for index, (_, fields) in enumerate(forms) if signer.unsign_object(fields[0][1])["n"] in stored_nonces}
    assert acknowledged <= stored_forms  # every thank-you is a stored response
    assert stored_forms <= acknowledged | failed and len(stored_forms - acknowledged) <= len(failed)
    expected_codes = {name for name, _ in forms[0][1] if name not in ("form_token", "consent", "age_confirmed")}
    for _, answers in new:
        assert expected_codes <= set(answers), sorted(expected_codes - set(answers))  # complete, never half-written


def test_two_web_nodes_and_two_task_workers_share_tokens_limits_and_tasks():
    served = Stack("trustpoll_fault_nodes", env={"POLL_RATE_LIMIT": "4/10m"})
    try:
        served.manage("seed_demo", "--responses", "300")
        node_b = served.add_node()
        served.add_worker()
        token = poll_tokens(served, 1)[0]
        before = served.sql("SELECT count(*) FROM surveys_response")[0][0]

        # One form token: stored through node A, a thank-you and nothing more through node B.
        fields = urllib.parse.urlencode(answers_for(served, token)).encode()
        first = served.request("POST", f"/s/{token}/", fields, {"Content-Type": FORM})
        again = served.request("POST", f"/s/{token}/", fields, {"Content-Type": FORM}, port=node_b)
        assert first[0] == again[0] == 200
        assert re.search(rb"<h1>.*?</h1>", first[2], re.S).group(0) == re.search(rb"<h1>.*?</h1>", again[2], re.S).group(0)
        assert served.sql("SELECT count(*) FROM surveys_response")[0][0] == before + 1

        # The rate limit (4 per address and link here) is one count across both nodes: the two posts above
        # (node A, then the replay on node B) used two, so two more pass and the rest wait.
        statuses = []
        for n in range(4):
            body = urllib.parse.urlencode(answers_for(served, token)).encode()
            statuses.append(served.request("POST", f"/s/{token}/", body, {"Content-Type": FORM}, port=node_b if n % 2 else None)[0])
        assert statuses == [200, 200, 429, 429]

        # Twelve exports queued through both nodes: each task runs exactly once, on one of the two workers.
        key = api_token(served)
        survey = served.sql("SELECT id FROM surveys_survey WHERE slug = 'creator-trust'")[0][0]
        for n in range(12):
            status, _, reply = served.request("POST", f"/api/v1/surveys/{survey}/exports/", b'{"format": "csv"}',
                                              {"Content-Type": "application/json", "Authorization": f"Token {key}"},
                                              port=node_b if n % 2 else None)
            assert status == 202, reply[:200]
        deadline = time.monotonic() + 90
        while served.sql("SELECT count(*) FROM surveys_export WHERE status IN ('queued', 'running')")[0][0]:
            assert time.monotonic() < deadline, "the workers did not finish the exports"
            time.sleep(0.3)
        assert served.sql("SELECT status, count(*) FROM surveys_export GROUP BY status") == [("ready", 12)]
        tasks = served.sql("SELECT status, worker_ids FROM django_tasks_database_dbtaskresult WHERE task_path LIKE %s",
                           "%build_export_task")
        assert len(tasks) == 12 and all(status == "SUCCESSFUL" and len(ids) == 1 for status, ids in tasks), tasks
    finally:
        served.stop()


def test_a_task_worker_killed_mid_task_leaves_the_run_failed_with_a_message_never_silently_running():
    import os
    import signal

    served = Stack("trustpoll_fault_worker", env={"TASK_STALL_SECONDS": "2"})
    try:
        served.manage("seed_demo", "--responses", "6000")
        key = api_token(served)
        survey = served.sql("SELECT id FROM surveys_survey WHERE slug = 'creator-trust'")[0][0]
        status, _, reply = served.request("POST", f"/api/v1/surveys/{survey}/analyses/", b"{}",
                                          {"Content-Type": "application/json", "Authorization": f"Token {key}"})
        assert status == 202
        run = json.loads(reply)["id"]
        deadline = time.monotonic() + 60
        while served.sql("SELECT status FROM surveys_analysisrun WHERE id = %s", run)[0][0] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(served.worker.pid, signal.SIGKILL)  # the worker dies mid-analysis
        served.worker.wait()
        time.sleep(2.5)
        assert served.sql("SELECT status FROM surveys_analysisrun WHERE id = %s", run)[0][0] == "running"  # what it was left as
        out = served.manage("recover_stalled_tasks")
        assert "Failed 1 stalled task(s), 1 analysis run(s)" in out
        status, error = served.sql("SELECT status, error FROM surveys_analysisrun WHERE id = %s", run)[0]
        assert status == "failed" and "task worker stopped" in error
        assert served.sql("SELECT status, exception_class_path FROM django_tasks_database_dbtaskresult WHERE task_path LIKE %s",
                          "%run_analysis_task") == [("FAILED", "surveys.recovery.WorkerLost")]
    finally:
        served.stop()


def test_hostile_traffic_gets_clear_4xx_stores_nothing_and_barely_slows_a_well_behaved_client():
    from django.core import signing

    served = Stack("trustpoll_fault_hostile", env={"FORM_TOKEN_MAX_AGE": "3"})
    try:
        served.manage("seed_demo", "--responses", "30")
        token, other = poll_tokens(served, 2)
        other_survey_link = served.sql(
            "SELECT l.token FROM surveys_creatorlink l WHERE l.survey_id <> (SELECT survey_id FROM surveys_creatorlink "
            "WHERE token = %s) LIMIT 1", token)
        before = served.sql("SELECT count(*) FROM surveys_response")[0][0]
        valid = answers_for(served, token)
        form = dict(valid)

        def post(path: str, body: bytes, content_type: str = FORM, address: str = "127.0.0.1") -> int:
            return served.request("POST", path, body, {"Content-Type": content_type}, source=address)[0]

        json_path = f"/api/v1/public/links/{token}/responses/"
        forged = signing.TimestampSigner(salt="trustpoll.form-token", key="not-the-key").sign_object({"s": 1, "l": 1, "n": "x"})
        cases = {
            "oversized form": post(f"/s/{token}/", b"a=" + b"x" * 200_000, address="127.0.0.2"),
            "oversized JSON": post(json_path, b'{"answers": "' + b"x" * 200_000 + b'"}', "application/json", "127.0.0.3"),
            "malformed encoding": post(f"/s/{token}/", urllib.parse.urlencode(valid).encode() + b"&tru_1=%ff%fe\xff", address="127.0.0.4"),
            "invalid JSON": post(json_path, b'{"form_token": "abc", "answers": {', "application/json", "127.0.0.5"),
            "JSON not an object": post(json_path, b"[1, 2, 3]", "application/json", "127.0.0.6"),
            "forged token": post(f"/s/{token}/", urllib.parse.urlencode({**form, "form_token": forged}).encode(), address="127.0.0.7"),
            "garbage token": post(f"/s/{token}/", urllib.parse.urlencode({**form, "form_token": "garbage"}).encode(), address="127.0.0.8"),
            "another poll's token": post(f"/s/{other}/", urllib.parse.urlencode(valid).encode(), address="127.0.0.9"),
        }
        if other_survey_link:
            cases["another survey's token"] = post(f"/s/{other_survey_link[0][0]}/", urllib.parse.urlencode(valid).encode(), address="127.0.0.10")
        time.sleep(3.5)
        cases["expired token"] = post(f"/s/{token}/", urllib.parse.urlencode(valid).encode(), address="127.0.0.11")
        assert all(400 <= status < 500 for status in cases.values()), cases
        assert served.sql("SELECT count(*) FROM surveys_response")[0][0] == before

        # A well-behaved respondent's latency, alone and then during a flood of 1,000 bogus submissions from one address.
        # The 90th percentile of 100 answers: a p99 of so few samples is the second-slowest request, which one
        # garbage collection or disk flush on a shared CI machine decides, not the flood.
        def respondent_p90(count: int) -> float:
            times = []
            for n in range(count):
                body = urllib.parse.urlencode(answers_for(served, token)).encode()
                started = time.perf_counter()
                assert post(f"/s/{token}/", body, address=f"127.0.1.{1 + n % 200}") == 200
                times.append(time.perf_counter() - started)
            times.sort()
            return times[int(0.90 * (len(times) - 1))]

        alone = respondent_p90(100)
        flood_statuses: list[int] = []
        bogus = urllib.parse.urlencode({**form, "form_token": "garbage"}).encode()
        flooding = threading.Thread(target=lambda: flood_statuses.extend(
            post(f"/s/{token}/", bogus, address="127.0.0.66") for _ in range(1000)))
        flooding.start()
        during = respondent_p90(100)
        flooding.join()
        assert len(flood_statuses) == 1000 and set(flood_statuses) <= {400, 403, 429} and 429 in flood_statuses
        assert served.sql("SELECT count(*) FROM surveys_response")[0][0] == before + 200  # only the respondent's
        print(f"respondent p90: {alone * 1000:.1f} ms alone, {during * 1000:.1f} ms during the flood")
        assert during <= 2 * alone + 0.005, (alone, during)  # within 2× (and 5 ms of timer noise)
    finally:
        served.stop()
