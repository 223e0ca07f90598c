"""Demo data: a brand, 40 creators over four tiers, a live survey and simulated responses.

The responses come from :mod:`surveys.simulation`, whose known truth is the
slope of the purchase-intent score on the trust score within each tier
(``TRUE_SLOPES``: nano 0.8, micro 0.6, macro 0.4, celebrity 0.2 scale points
per scale point) — trust matters more for smaller creators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import numpy as np
from django.contrib.auth import get_user_model
from django.db import transaction

from surveys.attribution import new_order_secret
from surveys.choices import AttributionSource, Construct, Platform, Role, SurveyStatus, Tier
from surveys.collection import BatchRow, submit_responses
from surveys.design import create_links, insert_instrument
from surveys.models import Brand, ClickCount, Creator, CreatorLink, Membership, Order, Survey, _now
from surveys.simulation import simulate

DEMO_BRAND_SLUG = "demo"
DEMO_SURVEY_SLUG = "creator-trust"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "trustpoll-demo"
DEFAULT_SEED = 5
_TIER_RANGES = {
    Tier.NANO: (1_000, 10_000),
    Tier.MICRO: (10_000, 100_000),
    Tier.MACRO: (100_000, 1_000_000),
    Tier.CELEBRITY: (1_000_000, 50_000_000),
}
_INSTRUMENTS = (
    "ohanian_1990",
    "spears_singh_2004",
    "juster_1966",
    "reported_purchase",
    "attention_check",
    "about_you",
)
_NAMES = (
    "Ava Bloom", "Noah Trail", "Mia Crafts", "Liam Lifts", "Zoe Greens", "Leo Lens", "Ivy Reads",
    "Kai Cooks", "Nia Glow", "Eli Gears", "Ruby Roams", "Omar Brews", "Lena Loom", "Theo Tech",
    "Sara Sips", "Finn Fins", "Maya Moves", "Jude Jams", "Aria Art", "Cole Climbs", "Nora Knits",
    "Ezra Eats", "Luna Lux", "Milo Makes", "Iris Inks", "Hugo Hikes", "Cleo Curls", "Remy Rides",
    "Tara Tunes", "Axel Aims", "Yara Yoga", "Dev Drives", "Elsa Edits", "Ravi Runs", "Gwen Garden",
    "Otto Optics", "Pia Paints", "Sami Skates", "Vera Vlogs", "Wes Woods",
)
_NICHES = ("beauty", "fitness", "food", "tech", "travel", "fashion", "gaming", "home")


@dataclass(frozen=True)
class DemoSummary:
    brand: Brand
    survey: Survey
    creators: int
    responses: int


def demo_exists() -> bool:
    return Brand.objects.filter(slug=DEMO_BRAND_SLUG).exists()


@transaction.atomic
def seed_demo(*, responses: int = 2000, seed: int = DEFAULT_SEED) -> DemoSummary:
    """Create the demo brand, user, creators, survey, links and ``responses`` simulated responses."""
    if demo_exists():
        raise ValueError("The demo brand already exists.")
    rng = np.random.default_rng(seed)
    brand = Brand.objects.create(
        name="Demo Brand", slug=DEMO_BRAND_SLUG, privacy_notice_url="https://example.com/privacy"
    )
    user_model = get_user_model()
    user = user_model.objects.filter(username=DEMO_USERNAME).first()
    if user is None:
        user = user_model.objects.create_user(
            DEMO_USERNAME, email="demo@example.com", password=DEMO_PASSWORD, is_staff=True
        )
    Membership.objects.create(user=user, brand=brand, role=Role.OWNER)

    platforms = list(Platform.values)
    creators = []
    for index, name in enumerate(_NAMES):
        tier = list(_TIER_RANGES)[index % 4]
        low, high = _TIER_RANGES[tier]
        followers = int(np.exp(rng.uniform(np.log(low), np.log(high - 1))))
        creators.append(
            Creator(
                brand=brand,
                handle=name.lower().replace(" ", "_"),
                display_name=name,
                platform=platforms[index % len(platforms)],
                followers=followers,
                niche=_NICHES[index % len(_NICHES)],
                engagement_rate=round(float(rng.uniform(0.5, 9.0)), 2),
                tier=tier,
            )
        )
    Creator.objects.bulk_create(creators)

    survey = Survey.objects.create(
        brand=brand,
        title="Creator trust and purchases",
        slug=DEMO_SURVEY_SLUG,
        status=SurveyStatus.LIVE,
        intro="A few quick questions about {creator}. It takes about two minutes.",
        consent_text="I agree that my anonymous answers are used for research on creator recommendations.",
        min_age=16,
    )
    for key in _INSTRUMENTS:
        insert_instrument(survey, key)
    create_links(survey, creators)
    links = {link.creator_id: link for link in CreatorLink.objects.filter(survey=survey)}
    for link in links.values():
        link.utm_source, link.utm_medium, link.utm_campaign = link.creator.platform, "social", "demo"
    CreatorLink.objects.bulk_update(links.values(), ["utm_source", "utm_medium", "utm_campaign"])

    count = _simulate_responses(rng, survey=survey, creators=creators, n=responses)
    orders = _simulate_outcomes(np.random.default_rng(seed + 1), brand=brand, links=list(links.values()))
    _simulate_post_purchase(np.random.default_rng(seed + 2), brand=brand, creators=creators, orders=orders)
    return DemoSummary(brand=brand, survey=survey, creators=len(creators), responses=count)


# Fee ranges per tier (EUR) for the demo collaborations.
_FEES = {"nano": (50, 150), "micro": (200, 800), "macro": (1_000, 4_000), "celebrity": (10_000, 30_000)}


def _simulate_outcomes(rng: np.random.Generator, *, brand: Brand, links: list[CreatorLink]) -> list[Order]:
    """Give the demo links costs, promo codes and a destination; add two weeks of clicks and the orders they led to."""
    today = _now().date()
    clicks, orders = [], []
    for link in links:
        creator = link.creator
        low, high = _FEES[creator.tier]
        link.fee = Decimal(int(rng.uniform(low, high)))
        link.product_cost = Decimal(int(rng.uniform(20, 60)))
        link.currency = "EUR"
        link.promo_code = f"{creator.handle.replace('_', '')[:10].upper()}10"
        link.destination_url = "https://shop.example/glow-serum"
        total = 0
        for day in range(14):
            n = int(rng.poisson(min(120.0, max(1.0, creator.followers * 0.0004))))  # a day's clicks, capped
            if n:
                clicks.append(ClickCount(link=link, day=today - timedelta(days=day), clicks=n))
                total += n
        for k in range(int(rng.poisson(total * 0.02))):
            orders.append(Order(
                brand=brand, order_id=f"DEMO-{link.pk}-{k}", placed_at=_now() - timedelta(hours=float(rng.uniform(0, 336))),
                amount=Decimal(str(round(float(rng.uniform(19, 119)), 2))), currency="EUR",
                promo_code=link.promo_code, creator=creator, attribution=Order.Attribution.PROMO_CODE))
    CreatorLink.objects.bulk_update(links, ["fee", "product_cost", "currency", "promo_code", "destination_url"])
    ClickCount.objects.bulk_create(clicks)
    orders += [Order(brand=brand, order_id=f"DEMO-X-{k}", placed_at=_now(), amount=Decimal("35.00"), currency="EUR")
               for k in range(5)]  # shop orders nobody can be credited with
    return Order.objects.bulk_create(orders)


DEMO_PURCHASE_SLUG = "after-purchase"
POST_PURCHASE_SHARE = 0.35  # of the attributed orders whose buyers answered on the confirmation page
VALUE_PER_TRUST_POINT = 12.0  # EUR of order value per point of the buyer's trust score


def _simulate_post_purchase(rng: np.random.Generator, *, brand: Brand, creators: list[Creator], orders: list[Order]) -> int:
    """Add a post-purchase survey (five trust items) answered by a share of the buyers, linked to their orders.

    Known truth: the order's value is ``VALUE_PER_TRUST_POINT`` EUR higher per
    point of the buyer's trust score (``69 + 12·(S − 4.6) + N(0, 15²)``), so the
    verified-value model should find a slope near 12. Nine buyers in ten name
    the creator whose code they used.
    """
    brand.order_secret = new_order_secret()
    brand.save(update_fields=["order_secret"])
    survey = Survey.objects.create(
        brand=brand, title="Thanks for your order", slug=DEMO_PURCHASE_SLUG, status=SurveyStatus.LIVE, post_purchase=True,
        intro="Two quick questions about how you found us.", thank_you_text="Thank you! Enjoy your purchase.")
    items = insert_instrument(survey, "ohanian_1990", constructs={Construct.TRUSTWORTHINESS})
    buyers = [order for order in orders if order.creator_id is not None and rng.random() < POST_PURCHASE_SHARE]
    by_id = {creator.pk: creator for creator in creators}
    rows = []
    for i, order in enumerate(buyers):
        named = by_id[order.creator_id] if rng.random() < 0.9 else creators[int(rng.integers(len(creators)))]
        latent = rng.normal(4.6, 1.0)
        values = [int(np.clip(round(latent + rng.normal(0, 0.6)), 1, 7)) for _item in items]
        score = sum(values) / len(values)
        order.amount = Decimal(str(round(max(9.0, 69 + VALUE_PER_TRUST_POINT * (score - 4.6) + rng.normal(0, 15)), 2)))
        answers = {item.code: 8 - value if item.reverse_coded else value for item, value in zip(items, values, strict=True)}
        rows.append(BatchRow(key=f"demo:{survey.pk}:{i}", creator=named, answers=answers, source=AttributionSource.NAMED,
                             submitted_at=order.placed_at + timedelta(minutes=2), completion_seconds=float(rng.uniform(15, 60)),
                             order=order))
    Order.objects.bulk_update(buyers, ["amount"])
    create_links(survey, sorted({row.creator.pk: row.creator for row in rows}.values(), key=lambda c: c.pk))
    return submit_responses(survey=survey, rows=rows).created


def _simulate_responses(rng: np.random.Generator, *, survey: Survey, creators: list[Creator], n: int) -> int:
    if n <= 0:
        return 0
    # Uneven audiences: a few creators get most answers, some only a handful.
    weights = rng.gamma(0.8, 1.0, len(creators))
    simulated = simulate(rng, creator_tiers=[c.tier for c in creators], n=n, weights=weights)
    skips_optional = rng.random(n) < 0.05
    now = _now()
    offsets = np.sort(rng.uniform(0, 30 * 24 * 3600, n))[::-1]
    records = simulated.answers.to_dict("records")
    rows = []
    for i, record in enumerate(records):
        answers = {code: (int(v) if code != "spend_3m" else float(v)) for code, v in record.items() if v == v}
        if skips_optional[i]:
            answers.pop("age_band", None)
            answers.pop("spend_3m", None)
        rows.append(
            BatchRow(
                key=f"demo:{survey.pk}:{i}",
                creator=creators[simulated.creator[i]],
                answers=answers,
                submitted_at=now - timedelta(seconds=float(offsets[i])),
                completion_seconds=float(simulated.seconds[i]),
                source=AttributionSource.LINK,
            )
        )
    # The same validator and flags as every other door (non-buyers' count and spend become "not asked").
    return submit_responses(survey=survey, rows=rows).created
