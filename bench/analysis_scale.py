"""Standard analysis at scale: database → stored results, against the same fits on in-memory arrays.

    .venv/bin/python bench/analysis_scale.py [N ...]      (default: 100000 1000000)

For each N: a fresh PostgreSQL database (DATABASE_URL, default the local
server) gets a 15-item survey (trust 5, purchase intent 5, purchase
probability, bought, purchase count, attention check, follow duration), 200
creators and N simulated responses. Then, each in its own process so peak RSS
is its own:

- full: ``execute_analysis`` — read the responses, score, fit every model for
  all responses and again without flagged ones (OLS, logit with marginal
  effects, Poisson then negative binomial, tier slopes, MixedLM, ordinal model
  on its subsample, creator ranking), store the results JSON;
- baseline: the same statsmodels fits on numpy arrays already in memory.

Prints seconds and peak RSS of both and the ratio. Goal: ≤ 2× and ≤ 1.5 GB at 1M.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ROOT, configure  # noqa: E402

CREATORS = 200
CHUNK = 100_000


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def setup(n: int, arrays: Path) -> int:
    """Create the survey and N responses; save the analysis variables for the baseline; return the survey id."""
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from surveys.design import insert_instrument
    from surveys.models import Brand, Creator, CreatorLink, Survey
    from surveys.simulation import TIERS, simulate

    call_command("migrate", verbosity=0)
    brand = Brand.objects.create(name="Bench", slug="bench")
    survey = Survey.objects.create(brand=brand, title="Scale", slug="scale", status="live")
    for key in ("ohanian_1990", "spears_singh_2004", "juster_1966", "reported_purchase", "attention_check", "about_you"):
        insert_instrument(survey, key)
    survey.questions.filter(code__regex=r"^(exp|attr)_|^(spend_3m|age_band)$").delete()
    assert survey.questions.count() == 15
    tiers = [TIERS[i % 4] for i in range(CREATORS)]
    followers = {"nano": 5_000, "micro": 50_000, "macro": 500_000, "celebrity": 5_000_000}
    creators = Creator.objects.bulk_create(
        [Creator(brand=brand, handle=f"c{i}", display_name=f"C {i}", platform="instagram", followers=followers[t], tier=t)
         for i, t in enumerate(tiers)]
    )
    links = CreatorLink.objects.bulk_create([CreatorLink(survey=survey, creator=c) for c in creators])
    rng = np.random.default_rng(1)
    keep = ["tru_1", "tru_2", "tru_3", "tru_4", "tru_5", "pi_1", "pi_2", "pi_3", "pi_4", "pi_5",
            "pp_juster", "bought", "buy_count", "attn_check", "follow_len"]
    saved: dict[str, list[np.ndarray]] = {k: [] for k in ("trust", "intent", "bought", "count", "juster", "creator", "tier", "flagged")}
    columns = ("survey_id, creator_id, link_id, source, creator_tier, creator_followers, submitted_at, completion_seconds, "
               "answers, not_asked, utm, consent, age_confirmed, flag_honeypot, flag_speeder, flag_straightliner, "
               "flag_attention, flag_duplicate, is_test, external_id, respondent_hash")
    for start in range(0, n, CHUNK):
        size = min(CHUNK, n - start)
        sim = simulate(rng, creator_tiers=tiers, n=size)
        answers = sim.answers[keep]
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY surveys_response ({columns}) FROM STDIN") as copy:
            records = answers.to_dict("records")
            for i, record in enumerate(records):
                c = int(sim.creator[i])
                clean = {k: int(v) for k, v in record.items() if v == v}
                not_asked = [] if clean["bought"] == 1 else ["buy_count"]
                flagged = clean["attn_check"] != 4
                copy.write_row((survey.pk, creators[c].pk, links[c].pk, "link", tiers[c], followers[tiers[c]],
                                "2026-11-01T12:00:00+00:00", float(sim.seconds[i]), json.dumps(clean), json.dumps(not_asked),
                                "{}", None, None, False, False, False, flagged, False, False, "", ""))
        recoded = np.column_stack([8 - answers[f"tru_{i}"] if i in (2, 4) else answers[f"tru_{i}"] for i in range(1, 6)])
        intent = np.column_stack([8 - answers[f"pi_{i}"] if i in (2, 4) else answers[f"pi_{i}"] for i in range(1, 6)])
        saved["trust"].append(recoded.mean(axis=1))
        saved["intent"].append(intent.mean(axis=1))
        saved["bought"].append(answers["bought"].to_numpy())
        saved["count"].append(np.where(answers["bought"] == 1, answers["buy_count"].fillna(0), 0.0))
        saved["juster"].append(answers["pp_juster"].to_numpy())
        saved["creator"].append(sim.creator)
        saved["tier"].append(np.array([TIERS.index(tiers[c]) for c in sim.creator]))
        saved["flagged"].append((answers["attn_check"] != 4).to_numpy())
    np.savez(arrays, **{k: np.concatenate(v) for k, v in saved.items()})
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE surveys_response")
    return survey.pk


def full(survey_id: int) -> dict:
    import django

    django.setup()
    from surveys.analyses import clean_spec, execute_analysis
    from surveys.models import AnalysisRun, Survey

    survey = Survey.objects.get(pk=survey_id)
    run = AnalysisRun.objects.create(survey=survey, spec=clean_spec(survey, {}))
    started = time.perf_counter()
    run = execute_analysis(run)
    seconds = time.perf_counter() - started
    assert run.status == "succeeded", run.error
    return {"seconds": seconds, "rss_mb": peak_rss_mb(), "warnings": len(run.warnings)}


def baseline(arrays: Path) -> dict:
    import pandas as pd
    import statsmodels.api as sm
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    data = dict(np.load(arrays))
    started = time.perf_counter()
    warnings.simplefilter("ignore")
    for mask in (np.ones(len(data["trust"]), bool), ~data["flagged"]):
        d = {k: v[mask] for k, v in data.items()}
        groups = d["creator"]
        x = sm.add_constant(d["trust"])
        cluster = {"cov_type": "cluster", "cov_kwds": {"groups": groups}, "use_t": True}
        sm.OLS(d["intent"], x).fit(**cluster)
        logit = sm.Logit(d["bought"], x).fit(disp=0, **cluster)
        logit.get_margeff(at="overall", method="dydx", dummy=True).summary_frame()
        sm.GLM(d["count"], x, family=sm.families.Poisson()).fit(**cluster)
        sm.NegativeBinomial(d["count"], x, loglike_method="nb2").fit(disp=0, maxiter=500, method="bfgs", **cluster)
        tier = np.eye(4)[d["tier"]][:, 1:]
        xt = np.column_stack([x, tier, tier * d["trust"][:, None]])
        sm.OLS(d["intent"], xt).fit(**cluster)
        sm.MixedLM(d["intent"], x, groups=groups).fit(reml=True, method="bfgs")
        sm.MixedLM(d["trust"], np.ones((len(groups), 1)), groups=groups).fit(reml=True, method="bfgs")
        sm.MixedLM(d["bought"], np.ones((len(groups), 1)), groups=groups).fit(reml=True, method="bfgs")
        sub = np.random.default_rng(0).choice(len(groups), size=min(50_000, len(groups)), replace=False)
        y = pd.Series(pd.Categorical(d["juster"][sub], ordered=True))
        OrderedModel(y, pd.DataFrame({"trust": d["trust"][sub]}), distr="logit").fit(method="bfgs", disp=False, maxiter=500)
    return {"seconds": time.perf_counter() - started, "rss_mb": peak_rss_mb()}


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] in {"--full", "--baseline", "--setup"}:
        configure(fresh_db=False, DATABASE_URL=os.environ["BENCH_DB"])
        if sys.argv[1] == "--setup":
            print(json.dumps({"survey": setup(int(sys.argv[2]), Path(sys.argv[3]))}))
        elif sys.argv[1] == "--full":
            print(json.dumps(full(int(sys.argv[2]))))
        else:
            print(json.dumps(baseline(Path(sys.argv[2]))))
        return
    sizes = [int(a) for a in sys.argv[1:]] or [100_000, 1_000_000]
    os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    from _setup import fresh_database

    print(f"standard analysis, database → stored results, vs the same fits on in-memory arrays ({CREATORS} creators, 15 items)")
    for n in sizes:
        url = fresh_database(os.environ["DATABASE_URL"])
        env = {**os.environ, "BENCH_DB": url, "DATABASE_URL": url}
        arrays = Path(f"/tmp/trustpoll-bench-{n}.npz")

        def child(*args: str) -> dict:
            out = subprocess.run([sys.executable, __file__, *args], env=env, cwd=ROOT, capture_output=True, text=True)
            if out.returncode:
                sys.exit(out.stderr)
            return json.loads(out.stdout.strip().splitlines()[-1])

        started = time.perf_counter()
        survey = child("--setup", str(n), str(arrays))["survey"]
        load = time.perf_counter() - started
        result, base = child("--full", str(survey)), child("--baseline", str(arrays))
        ratio = result["seconds"] / base["seconds"]
        verdict = "ok" if ratio <= 2 and result["rss_mb"] <= 1536 else "OVER GOAL"
        print(f"  {n:>9,} responses (loaded in {load:.0f} s): full {result['seconds']:6.1f} s, peak {result['rss_mb']:6.0f} MB | "
              f"baseline {base['seconds']:6.1f} s, peak {base['rss_mb']:5.0f} MB | ratio {ratio:.2f}x  [{verdict}]")
        arrays.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
