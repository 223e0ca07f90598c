"""Export speed: the CSV export against a raw COPY of the same columns, plus .xlsx, .sav, .dta and the report.

    .venv/bin/python bench/export_speed.py [N] [--formats csv,xlsx,sav,dta,report]

Builds N simulated responses (default 1,000,000) in a fresh PostgreSQL
database (as bench/analysis_scale.py does), then, each in its own process:
a raw ``COPY (SELECT …) TO STDOUT`` of the export's columns (the baseline),
TrustPoll's CSV export (rows/s, peak RSS growth), and the other formats' times.
Goal: CSV ≥ 100K rows/s with < 150 MB RSS growth.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, configure, fresh_database  # noqa: E402

SCALE = Path(__file__).with_name("analysis_scale.py")


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(kind: str, survey_id: int) -> dict:
    import django

    django.setup()
    from django.db import connection

    from surveys import exports, reports
    from surveys.analyses import clean_spec, execute_analysis
    from surveys.models import AnalysisRun, Survey
    from surveys.selectors import question_metas, responses_frame_chunks

    survey = Survey.objects.get(pk=survey_id)
    next(iter(responses_frame_chunks(survey, chunk_size=10)), None)  # warm imports and caches
    before = rss_mb()
    out = Path(tempfile.mkdtemp()) / f"export.{kind}"
    started = time.perf_counter()
    rows = None
    if kind == "copy":
        columns = ", ".join(
            ["r.id", "r.submitted_at", "r.completion_seconds", "c.handle", "c.platform", "r.creator_tier", "r.creator_followers", "r.source"]
            + [f"r.utm->>'{u}'" for u in ("utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term")]
            + [f"r.{f}::int" for f in ("flag_honeypot", "flag_speeder", "flag_straightliner", "flag_attention", "flag_duplicate")]
            + [f"(r.answers->>'{m.code}')::float" for m in question_metas(survey)]
        )
        sql = f"COPY (SELECT {columns} FROM surveys_response r JOIN surveys_creator c ON c.id = r.creator_id WHERE r.survey_id = {survey.pk} AND NOT r.is_test ORDER BY r.id) TO STDOUT WITH (FORMAT csv, HEADER)"
        with out.open("wb") as stream, connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
            for block in copy:
                stream.write(block)
        rows = survey.responses.filter(is_test=False).count()
    elif kind == "csv":
        with out.open("w", encoding="utf-8", newline="") as stream:
            rows = exports.write_csv(survey, stream)
    elif kind == "xlsx":
        rows = exports.write_xlsx(survey, out)
    elif kind == "sav":
        rows = exports.write_sav(survey, out)
    elif kind == "dta":
        rows = exports.write_dta(survey, out)
    elif kind == "report":
        run = execute_analysis(AnalysisRun.objects.create(survey=survey, spec=clean_spec(survey, {})))
        started = time.perf_counter()  # the report itself, from the stored results
        out.write_text(reports.survey_report(run))
    seconds = time.perf_counter() - started
    size = out.stat().st_size
    out.unlink()
    return {"seconds": seconds, "rows": rows, "rss_growth_mb": rss_mb() - before, "mb": size / 2**20}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == "--measure":
        configure(fresh_db=False, DATABASE_URL=os.environ["BENCH_DB"])
        print(json.dumps(measure(sys.argv[2], int(sys.argv[3]))))
        return
    args = [a for a in sys.argv[1:] if not a.startswith("--formats")]
    formats = next((a.split("=", 1)[1] for a in sys.argv[1:] if a.startswith("--formats=")), "csv,xlsx,sav,dta,report").split(",")
    n = int(args[0]) if args else 1_000_000
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    url = fresh_database(os.environ["DATABASE_URL"])
    env = {**os.environ, "BENCH_DB": url, "DATABASE_URL": url}
    arrays = Path(tempfile.mkdtemp()) / "arrays.npz"

    def child(*argv: str) -> dict:
        out = subprocess.run([sys.executable, *argv], env=env, cwd=ROOT, capture_output=True, text=True)
        if out.returncode:
            sys.exit(out.stderr)
        return json.loads(out.stdout.strip().splitlines()[-1])

    survey = child(str(SCALE), "--setup", str(n), str(arrays))["survey"]
    base = child(__file__, "--measure", "copy", str(survey))
    print(f"exports of {n:,} responses (PostgreSQL)")
    print(f"  baseline raw COPY of the same columns: {base['seconds']:6.1f} s, {n / base['seconds']:>9,.0f} rows/s")
    for kind in formats:
        r = child(__file__, "--measure", kind, str(survey))
        if kind == "csv":
            rate = n / r["seconds"]
            verdict = "ok" if rate >= 100_000 and r["rss_growth_mb"] < 150 else "OVER GOAL"
            print(f"  csv: {r['seconds']:6.1f} s, {rate:>9,.0f} rows/s (ratio to COPY {rate / (n / base['seconds']):.2f}), "
                  f"RSS growth {r['rss_growth_mb']:.0f} MB, {r['mb']:.0f} MB file  [{verdict}]")
        else:
            print(f"  {kind}: {r['seconds']:6.1f} s ({r['seconds'] / base['seconds']:.1f}× the COPY), RSS growth {r['rss_growth_mb']:.0f} MB, {r['mb']:.1f} MB file")


if __name__ == "__main__":
    main()
