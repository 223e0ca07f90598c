"""Simulated survey answers with a known truth. Pure numpy; used by the demo data and the recovery tests.

For respondent i of creator c (tier t):

    creator mean trust       u_c ~ N(0, 0.5²)
    latent trust             T_i = u_c + e_i,                         e_i ~ N(0, 1)
    trust items (1–7)        round(4 + 0.9·T_i + N(0, 0.8²)), clipped; mirrored (8 − x) when reverse-coded
    trust score              S_i = mean of the reverse-coded trust items (as TrustPoll scores it)
    purchase intent          P_i = β_t · (S_i − 4) + v_c + ε_i,       v_c ~ N(0, 0.3²), ε_i ~ N(0, 0.8²)
    intent items (1–7)       round(4 + P_i + N(0, 0.6²)), clipped; mirrored when reverse-coded
    bought                   Bernoulli(logistic(−0.5 + 0.9·P_i))
    purchases (buyers)       1 + Poisson(exp(0.2 + 0.3·P_i))

so β_t is the slope of the purchase-intent score on the trust score within
tier t, in scale points per scale point — what TrustPoll's tier model
estimates. Expertise and attractiveness items follow latents correlated with
trust; 93% of respondents pass the attention check.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TRUE_SLOPES: dict[str, float] = {"nano": 0.8, "micro": 0.6, "macro": 0.4, "celebrity": 0.2}
TIERS = ("nano", "micro", "macro", "celebrity")
REVERSED_ITEMS = (2, 4)  # as in the scale library: items 2 and 4 of each battery


@dataclass(frozen=True)
class Simulated:
    """Answers per response (question codes as columns) with the creator index of each response."""

    answers: pd.DataFrame
    creator: np.ndarray
    seconds: np.ndarray


def _items(rng: np.random.Generator, prefix: str, centre: np.ndarray, noise: float) -> dict[str, np.ndarray]:
    out = {}
    for item in range(1, 6):
        x = np.clip(np.rint(4 + centre + rng.normal(0, noise, centre.shape)), 1, 7)
        out[f"{prefix}_{item}"] = 8 - x if item in REVERSED_ITEMS else x
    return out


def simulate(
    rng: np.random.Generator,
    *,
    creator_tiers: list[str],
    n: int,
    slopes: dict[str, float] | None = None,
    weights: np.ndarray | None = None,
) -> Simulated:
    """Return ``n`` simulated responses spread over creators whose tiers are ``creator_tiers``."""
    slopes = slopes or TRUE_SLOPES
    k = len(creator_tiers)
    if weights is None:
        weights = np.ones(k)
    who = rng.choice(k, size=n, p=weights / weights.sum())
    trust_mean = rng.normal(0, 0.5, k)
    intent_shift = rng.normal(0, 0.3, k)
    trust = trust_mean[who] + rng.normal(0, 1, n)
    columns: dict[str, np.ndarray] = {}
    columns.update(_items(rng, "tru", 0.8 * trust, 0.8))
    columns.update(_items(rng, "exp", 0.45 * trust + rng.normal(0, 0.8, n), 0.8))
    columns.update(_items(rng, "attr", 0.2 * trust + rng.normal(0, 0.9, n), 0.8))
    recoded = np.column_stack(
        [8 - columns[f"tru_{i}"] if i in REVERSED_ITEMS else columns[f"tru_{i}"] for i in range(1, 6)]
    )
    score = recoded.mean(axis=1)
    beta = np.array([slopes[creator_tiers[c]] for c in who])
    intent = beta * (score - 4) + intent_shift[who] + rng.normal(0, 0.7, n)
    columns.update(_items(rng, "pi", intent, 0.5))
    columns["pp_juster"] = np.clip(np.rint(4 + 1.8 * intent + rng.normal(0, 1.2, n)), 0, 10)
    bought = rng.random(n) < 1 / (1 + np.exp(-(-0.5 + 0.9 * intent)))
    columns["bought"] = bought.astype(float)
    columns["buy_count"] = np.where(bought, 1 + rng.poisson(np.exp(0.2 + 0.3 * intent)), np.nan)
    columns["spend_3m"] = np.where(bought, np.round(np.exp(rng.normal(3.6 + 0.3 * intent, 0.6)), 2), np.nan)
    columns["attn_check"] = np.where(rng.random(n) < 0.93, 4, rng.integers(1, 6, n)).astype(float)
    columns["age_band"] = rng.choice([1, 2, 3, 4, 5, 6], size=n, p=[0.03, 0.32, 0.33, 0.17, 0.1, 0.05]).astype(float)
    columns["follow_len"] = rng.integers(1, 6, n).astype(float)
    seconds = np.round(np.exp(rng.normal(np.log(95), 0.45, n)), 1)
    return Simulated(answers=pd.DataFrame(columns), creator=who, seconds=seconds)


def library_questions(keys: tuple[str, ...] = (
    "ohanian_1990", "spears_singh_2004", "juster_1966", "reported_purchase", "attention_check", "about_you"
)):
    """Return the scoring view (QuestionMeta) of the scale library's instruments, as the demo survey has them."""
    from surveys.instruments import INSTRUMENTS
    from surveys.scoring import QuestionMeta

    metas = []
    for key in keys:
        for item in INSTRUMENTS[key].items:
            if item.kind in ("likert", "semantic"):
                low, high = 1, item.scale_points
            elif item.kind == "probability":
                low, high = 0, 10
            else:
                low = high = None
            metas.append(
                QuestionMeta(
                    code=item.code,
                    construct=item.construct,
                    kind=item.kind,
                    reverse_coded=item.reverse_coded,
                    low=low,
                    high=high,
                    condition_code=item.condition_code or None,
                    condition_values=item.condition_values,
                )
            )
    return metas


def simulated_frame(seed: int, *, n: int = 2000, slopes: dict[str, float] | None = None, creators_per_tier: int = 10) -> pd.DataFrame:
    """Return a responses frame like ``selectors.responses_frame`` gives, from a simulation."""
    rng = np.random.default_rng(seed)
    tiers = [tier for tier in TIERS for _ in range(creators_per_tier)]
    sim = simulate(rng, creator_tiers=tiers, n=n, slopes=slopes)
    frame = sim.answers.copy()
    frame.insert(0, "creator_id", sim.creator + 1)
    frame.insert(1, "creator_handle", [f"creator_{c + 1}" for c in sim.creator])
    frame.insert(2, "tier", [tiers[c] for c in sim.creator])
    frame.insert(3, "platform", np.array(["instagram", "tiktok", "youtube"])[sim.creator % 3])
    frame["is_test"] = False
    frame["flag_attention"] = frame["attn_check"] != 4
    return frame
