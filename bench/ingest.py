"""Ingest: stored responses per second through `make serve`'s stack, against a one-INSERT view in the same server.

The stack is the production one: gunicorn (sync workers), PostgreSQL, Redis,
one task worker, DEBUG off. It serves a live 15-item survey with 50 creator
links from a fresh database. A closed-loop load generator (standard-library
threads, a new connection per request, like real phones) posts complete
15-answer poll forms, each with its own fresh form token. Source addresses
vary over 127.0.0.2–127.0.0.254, so the per-address rate limit stays at its
production setting and never throttles the benchmark.

Throughput counts stored rows in the database, not status codes. In the same
run, against the same server, the generator posts the same bodies to
/bench/baseline/, a view that does one INSERT and one commit. That is the
practical limit of this machine and stack, and each ingest figure is printed
as a ratio to it. The poll page's GET rate is measured the same way.

    .venv/bin/python bench/ingest.py                     # 8 clients, 2 and 4 workers, 20 s per phase
    .venv/bin/python bench/ingest.py --smoke             # CI: a few seconds, proves the path works, times nothing
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._setup import percentile  # noqa: E402

DATABASE = "trustpoll_bench_ingest"
SERVER_URL = os.environ.get("BENCH_DATABASE_SERVER", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
CREATORS = 50


@dataclass
class Phase:
    label: str
    sent: int
    ok: int
    stored: int
    seconds: float
    p50_ms: float
    p99_ms: float
    statuses: dict[str, int]

    @property
    def rate(self) -> float:
        return self.stored / self.seconds


def database_url() -> str:
    import psycopg

    with psycopg.connect(SERVER_URL, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        connection.execute(f"CREATE DATABASE {DATABASE}")
    parts = urllib.parse.urlsplit(SERVER_URL)
    return urllib.parse.urlunsplit(parts._replace(path=f"/{DATABASE}"))


def server_env(db_url: str, port: int) -> dict[str, str]:
    from project.serve import environment

    os.environ.update({"DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "SECRET_KEY": secrets.token_urlsafe(64),
                       "TRUSTPOLL_VAR_DIR": str(ROOT / "var" / "bench-ingest"), "LOG_LEVEL": "WARNING",
                       "REQUEST_LOG": "0", "DJANGO_SETTINGS_MODULE": "bench.settings_ingest"})
    return environment(port=port, workers=2)


def prepare(env: dict[str, str]) -> tuple[list[str], list[str]]:
    """Migrate, create the survey and links; return the link tokens and the question codes."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from surveys.choices import SurveyStatus
    from surveys.design import insert_instrument
    from surveys.models import Brand, Creator, CreatorLink, Survey

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE bench_baseline (id bigserial PRIMARY KEY, body text NOT NULL, created_at timestamptz NOT NULL)")
    brand = Brand.objects.create(name="Bench Brand", slug="bench", privacy_notice_url="https://example.com/privacy")
    survey = Survey.objects.create(brand=brand, title="Creator trust", slug="trust", status=SurveyStatus.LIVE)
    insert_instrument(survey, "ohanian_1990")
    tokens = []
    for i in range(CREATORS):
        creator = Creator.objects.create(brand=brand, handle=f"creator{i}", display_name=f"Creator {i}",
                                         platform="instagram", followers=2_000 * (i + 1))
        tokens.append(CreatorLink.objects.create(survey=survey, creator=creator).token)
    codes = list(survey.questions.order_by("position").values_list("code", flat=True))
    connection.close()
    return tokens, codes


def form_bodies(tokens: list[str], codes: list[str], count: int) -> list[tuple[str, bytes]]:
    """Return ``count`` (path, body) pairs: complete answers, each with its own fresh form token."""
    from surveys.collection import issue_form_token
    from surveys.models import CreatorLink

    links = {link.token: link for link in CreatorLink.objects.filter(token__in=tokens)}
    bodies = []
    for i in range(count):
        link = links[tokens[i % len(tokens)]]
        answers = [(code, str(1 + (i + n) % 7)) for n, code in enumerate(codes)]
        body = urllib.parse.urlencode([("form_token", issue_form_token(link)), *answers]).encode()
        bodies.append((f"/s/{link.token}/", body))
    return bodies


def count_rows(db_url: str, table: str) -> int:
    import psycopg

    with psycopg.connect(db_url) as connection:
        return connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def load(port: int, requests: list[tuple[str, str, bytes | None]], *, clients: int, seconds: float, expect: int) -> tuple[int, int, float, list[float], dict[str, int]]:
    """Send ``requests`` from ``clients`` threads until done or ``seconds`` pass; return sent, ok, elapsed, latencies, statuses."""
    lock = threading.Lock()
    position = {"next": 0}
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    deadline = time.perf_counter() + seconds

    def client(number: int) -> None:
        mine, seen = [], {}
        while time.perf_counter() < deadline:
            with lock:
                index = position["next"]
                if index >= len(requests):
                    break
                position["next"] += 1
            method, path, body = requests[index]
            source = f"127.0.0.{2 + (index * 7 + number) % 253}"
            started = time.perf_counter()
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
                headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
                connection.request(method, path, body=body, headers=headers)
                reply = connection.getresponse()
                reply.read()
                status = str(reply.status)
                connection.close()
            except OSError as exc:
                status = f"error:{exc.__class__.__name__}"
            if status == str(expect):
                mine.append((time.perf_counter() - started) * 1000)
            seen[status] = seen.get(status, 0) + 1
        with lock:
            latencies.extend(mine)
            for key, value in seen.items():
                statuses[key] = statuses.get(key, 0) + value

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    return sum(statuses.values()), statuses.get(str(expect), 0), elapsed, latencies, statuses


def measure(label: str, port: int, db_url: str, table: str | None, requests, *, clients: int, seconds: float, expect: int) -> Phase:
    before = count_rows(db_url, table) if table else 0
    sent, ok, elapsed, latencies, statuses = load(port, requests, clients=clients, seconds=seconds, expect=expect)
    stored = count_rows(db_url, table) - before if table else ok
    return Phase(label, sent, ok, stored, elapsed, percentile(latencies, 0.5) if latencies else float("nan"),
                 percentile(latencies, 0.99) if latencies else float("nan"), statuses)


def start_stack(env: dict[str, str], port: int, workers: int) -> list[subprocess.Popen]:
    python = sys.executable
    quiet = subprocess.DEVNULL
    worker = subprocess.Popen([python, "manage.py", "db_worker", "--no-reload"], env=env, cwd=ROOT, stdout=quiet, stderr=quiet)
    log = open(ROOT / "var" / "bench-ingest.log", "a")  # not a pipe: an unread pipe fills up and blocks the server
    web = subprocess.Popen([python, "-m", "gunicorn", "project.wsgi:application", "--bind", f"127.0.0.1:{port}",
                            "--workers", str(workers), "--worker-class", "sync", "--log-level", "warning"],
                           env=env, cwd=ROOT, stdout=quiet, stderr=log)
    for _ in range(200):
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("GET", "/readyz/")
            if connection.getresponse().status == 200:
                return [web, worker]
        except OSError:
            pass
        if web.poll() is not None:
            raise SystemExit(f"gunicorn exited: see {ROOT / 'var' / 'bench-ingest.log'}")
        time.sleep(0.1)
    raise SystemExit("the stack did not become ready")


def stop_stack(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20.0, help="per phase")
    parser.add_argument("--workers", default="2,4", help="gunicorn worker counts to measure")
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--smoke", action="store_true", help="a few seconds per phase, no figures to keep")
    args = parser.parse_args()
    if args.smoke:
        args.seconds, args.workers = 2.0, "2"

    db_url = database_url()
    env = server_env(db_url, args.port)
    tokens, codes = prepare(env)
    per_phase = int(args.seconds * 3000) + 100  # more than any phase can send
    rows = []
    for workers in [int(w) for w in args.workers.split(",")]:
        env["WEB_CONCURRENCY"] = str(workers)
        stack = start_stack(env, args.port, workers)
        try:
            submits = [("POST", path, body) for path, body in form_bodies(tokens, codes, per_phase + 200)]
            # Warm every worker's connections and caches, then measure baseline and ingest back to back.
            load(args.port, submits[:100] + [("POST", "/bench/baseline/", submits[0][2])] * 100, clients=args.clients, seconds=10, expect=201)
            submits = submits[100:]
            baseline = measure("baseline: one INSERT per request", args.port, db_url, "bench_baseline",
                               [("POST", "/bench/baseline/", body) for _, _, body in submits],
                               clients=args.clients, seconds=args.seconds, expect=201)
            ingest = measure("poll submissions (HTML form, 15 answers)", args.port, db_url, "surveys_response", submits,
                             clients=args.clients, seconds=args.seconds, expect=200)
            page = measure("poll page GET", args.port, db_url, None,
                           [("GET", f"/s/{tokens[i % len(tokens)]}/", None) for i in range(per_phase)],
                           clients=args.clients, seconds=args.seconds, expect=200)
        finally:
            stop_stack(stack)
        rows.append((workers, baseline, ingest, page))
        if ingest.stored != ingest.ok:
            print(f"WARNING: {ingest.ok} thank-you pages but {ingest.stored} stored rows", file=sys.stderr)
        unexpected = {k: v for k, v in ingest.statuses.items() if k != "200"}
        if unexpected:
            print(f"WARNING: unexpected statuses {unexpected}", file=sys.stderr)

    print(f"\nIngest on this machine: {args.clients} clients, PostgreSQL, Redis, gunicorn sync workers, "
          f"{args.seconds:.0f} s per phase")
    print(f"{'workers':>7}  {'phase':<42} {'stored/s':>9} {'p50 ms':>7} {'p99 ms':>7} {'ratio':>6}")
    for workers, baseline, ingest, page in rows:
        for phase in (baseline, ingest, page):
            ratio = phase.rate / baseline.rate
            unit = phase.rate
            print(f"{workers:>7}  {phase.label:<42} {unit:>9.0f} {phase.p50_ms:>7.1f} {phase.p99_ms:>7.1f} {ratio:>5.2f}×")
    print(json.dumps({str(w): {"baseline_per_s": round(b.rate, 1), "ingest_per_s": round(i.rate, 1),
                                "ingest_p50_ms": round(i.p50_ms, 2), "ingest_p99_ms": round(i.p99_ms, 2),
                                "ratio": round(i.rate / b.rate, 3), "page_get_per_s": round(p.rate, 1),
                                "baseline_p99_ms": round(b.p99_ms, 2)} for w, b, i, p in rows}))
    if args.smoke and (rows[0][2].stored == 0 or rows[0][2].stored != rows[0][2].ok):
        raise SystemExit("smoke: submissions were not stored as acknowledged")


if __name__ == "__main__":
    main()
