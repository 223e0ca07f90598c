"""Server time to render the poll and to accept a submission, p50/p99, against a trivial view.

Runs in-process through Django's test client (no network), on a throwaway
SQLite database unless DATABASE_URL is set. The baseline is /healthz/, a view
that only returns "ok", measured in the same run: the ratios say how much
work the poll adds over Django's own request handling.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import configure, percentile, trust_survey  # noqa: E402

N = int(os.environ.get("BENCH_N", "400"))


def main() -> None:
    configure()
    import django

    django.setup()
    from django.core.management import call_command
    from django.test import Client

    from surveys import collection
    from surveys.models import Response

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    link = trust_survey()
    client = Client()
    codes = list(link.survey.questions.values_list("code", flat=True))

    def timed(call) -> list[float]:
        for _ in range(20):  # warm-up
            call()
        samples = []
        for _ in range(N):
            start = time.perf_counter()
            response = call()
            samples.append((time.perf_counter() - start) * 1000)
            assert response.status_code in (200, 201), response.status_code
        return samples

    baseline = timed(lambda: client.get("/healthz/"))
    render = timed(lambda: client.get(f"/s/{link.token}/"))

    def submit():
        data = {code: str(1 + i % 7) for i, code in enumerate(codes)}
        data["form_token"] = collection.issue_form_token(link)
        return client.post(f"/s/{link.token}/", data)

    accept = timed(submit)
    assert Response.objects.count() == N + 20
    b50, b99 = percentile(baseline, 0.5), percentile(baseline, 0.99)
    print(f"poll latency ({N} requests each, {os.environ.get('DATABASE_URL', 'SQLite')[:10]}…)")
    print(f"  baseline /healthz/          p50 {b50:6.2f} ms  p99 {percentile(baseline, 0.99):6.2f} ms")
    for name, samples in (("render poll (15 items)", render), ("accept submission", accept)):
        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
        print(f"  {name:<26}  p50 {p50:6.2f} ms  p99 {p99:6.2f} ms   ratio to baseline p50 {p50 / b50:5.1f}x  p99 {p99 / b99:5.1f}x")


if __name__ == "__main__":
    main()
