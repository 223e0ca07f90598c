"""Recompute a TrustPoll analysis run from its exported data, with pandas and statsmodels only.

    python reproduce.py            # in the unzipped bundle: responses.csv, results.json, spec.json

Refits every regression model of results.json (OLS, logit, Poisson or negative
binomial, the trust × tier model) on responses.csv, for all responses and
without flagged ones, with the same complete-case rule, dummy coding and
standard errors, and compares coefficients and standard errors. Exit code 0
when every number agrees to 1e-6 relative (1e-4 for the negative binomial).
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm

TIERS = ["nano", "micro", "macro", "celebrity"]
FLAGS = ["flag_honeypot", "flag_speeder", "flag_straightliner", "flag_attention", "flag_duplicate"]
CATEGORICAL = {"platform", "follow_len", "age_band"}


def design(frame: pd.DataFrame, model: dict) -> tuple[pd.Series, pd.DataFrame, np.ndarray]:
    variables = [model["outcome"], model["predictor"], *model["controls"]]
    by_tier = bool(model.get("tier_slopes"))
    if by_tier:
        variables.append("tier")
    data = frame[variables + ["creator_handle"]].dropna()
    x = pd.DataFrame({"const": 1.0, model["predictor"]: data[model["predictor"]].astype(float)}, index=data.index)
    if by_tier:
        tiers = [t for t in TIERS if (data["tier"] == t).any()]
        for tier in tiers[1:]:
            x[f"tier[{tier}]"] = (data["tier"] == tier).astype(float)
        for tier in tiers[1:]:
            x[f"{model['predictor']}:tier[{tier}]"] = x[model["predictor"]] * x[f"tier[{tier}]"]
    for control in model["controls"]:
        if control in CATEGORICAL:
            levels = sorted(data[control].unique(), key=lambda v: (0, float(v)) if isinstance(v, (int, float, np.number)) else (1, str(v)))
            for level in levels[1:]:
                label = str(int(level)) if isinstance(level, float) and level.is_integer() else str(level)
                x[f"{control}[{label}]"] = (data[control] == level).astype(float)
        else:
            x[control] = data[control].astype(float)
    return data[model["outcome"]].astype(float), x, pd.factorize(data["creator_handle"])[0]


def fit(y: pd.Series, x: pd.DataFrame, groups: np.ndarray, model: dict, se: str):
    if se == "cluster":
        kwargs = {"cov_type": "cluster", "cov_kwds": {"groups": groups, "use_correction": True, "df_correction": True}, "use_t": True}
    elif se == "hc3":
        kwargs = {"cov_type": "HC3" if model["family"] == "ols" else "HC0", "use_t": True}
    else:
        kwargs = {"cov_type": "nonrobust", "use_t": True}
    if model["family"] == "ols":
        return sm.OLS(y, x).fit(**kwargs)
    if model["family"] == "logit":
        return sm.Logit(y, x).fit(disp=0, maxiter=200, **kwargs)
    if model["model"].startswith("negative binomial"):
        return sm.NegativeBinomial(y, x, loglike_method="nb2").fit(disp=0, maxiter=500, method="bfgs", **kwargs)
    return sm.GLM(y, x, family=sm.families.Poisson()).fit(**kwargs)


def main() -> int:
    here = Path(__file__).resolve().parent
    frame = pd.read_csv(here / "responses.csv")
    results = json.loads((here / "results.json").read_text())
    se = json.loads((here / "spec.json").read_text())["spec"].get("se", "cluster")
    flagged = frame[[f for f in FLAGS if f in frame]].astype(bool).any(axis=1)
    subsets = {"all responses": frame, "excluding flagged responses": frame[~flagged]}
    failures, checked = [], {}
    warnings.simplefilter("ignore")
    for variant in results["variants"]:
        data = subsets[variant["label"]]
        for model in variant["models"]:
            if model.get("error"):
                continue
            y, x, groups = design(data, model)
            fitted = fit(y, x, groups, model, se)
            k = x.shape[1]
            estimates, errors = np.asarray(fitted.params)[:k], np.asarray(fitted.bse)[:k]
            stored = model["coefficients"]
            tolerance = 1e-4 if model["model"].startswith("negative binomial") else 1e-6
            key = f"{variant['label']} / {model['name']}"
            checked[key] = {"n": int(len(y)), "coefficients": dict(zip(x.columns, estimates.tolist(), strict=True))}
            if len(y) != model["n"] or list(x.columns) != [c["name"] for c in stored]:
                failures.append(f"{key}: the design differs (n {len(y)} vs {model['n']})")
                continue
            for name, estimate, error, c in zip(x.columns, estimates, errors, stored, strict=True):
                if not np.isclose(estimate, c["estimate"], rtol=tolerance, atol=1e-12):
                    failures.append(f"{key} {name}: estimate {estimate!r} vs stored {c['estimate']!r}")
                if not np.isclose(error, c["se"], rtol=max(tolerance, 1e-6) if tolerance == 1e-6 else 2e-2, atol=1e-12):
                    failures.append(f"{key} {name}: SE {error!r} vs stored {c['se']!r}")
    print(json.dumps({"checked": checked, "failures": failures}, indent=1))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
