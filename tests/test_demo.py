from collections import Counter

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from surveys.demo import DEMO_PASSWORD, DEMO_USERNAME, seed_demo
from surveys.simulation import TRUE_SLOPES
from surveys.models import Brand, Creator, CreatorLink, Response
from surveys.tiers import tier_for


def test_seed_demo_builds_the_documented_world():
    summary = seed_demo(responses=600, seed=3)
    creators = Creator.objects.filter(brand=summary.brand)
    assert Counter(creators.values_list("tier", flat=True)) == {"nano": 10, "micro": 10, "macro": 10, "celebrity": 10}
    assert all(c.tier == tier_for(c.followers) for c in creators)
    assert summary.survey.status == "live"
    assert summary.survey.questions.count() == 15 + 5 + 1 + 3 + 1 + 2
    assert CreatorLink.objects.filter(survey=summary.survey).count() == 40
    responses = Response.objects.filter(survey=summary.survey)
    assert responses.count() == 600
    first = responses.select_related("creator").first()
    assert first.creator_tier == first.creator.tier and first.link.creator_id == first.creator_id
    non_buyers = [r for r in responses if r.answers["bought"] == 0]
    assert non_buyers and all("buy_count" not in r.answers and r.not_asked == ["buy_count", "spend_3m"] for r in non_buyers)
    from django.contrib.auth import authenticate

    assert authenticate(username=DEMO_USERNAME, password=DEMO_PASSWORD) is not None


def test_seed_demo_is_reproducible_with_a_seed():
    answers = []
    for _ in range(2):
        seed_demo(responses=50, seed=11)
        answers.append(list(Response.objects.order_by("submitted_at").values_list("answers", flat=True)))
        Response.objects.all().delete()
        Brand.objects.all().delete()
    assert answers[0] == answers[1]


def test_simulated_trust_effect_is_stronger_for_small_creators():
    summary = seed_demo(responses=4000, seed=5)
    rows = Response.objects.filter(survey=summary.survey).values_list("creator_tier", "answers")
    slopes = {}
    for tier in TRUE_SLOPES:
        data = [a for t, a in rows if t == tier]
        trust = np.array([np.mean([a["tru_1"], 8 - a["tru_2"], a["tru_3"], 8 - a["tru_4"], a["tru_5"]]) for a in data])
        intent = np.array([np.mean([a["pi_1"], 8 - a["pi_2"], a["pi_3"], 8 - a["pi_4"], a["pi_5"]]) for a in data])
        slopes[tier] = np.polyfit(trust, intent, 1)[0]
    assert slopes["nano"] > slopes["micro"] > slopes["macro"] > slopes["celebrity"] > 0


def test_seed_demo_command_skips_a_non_empty_database_and_refuses_a_second_demo(capsys):
    call_command("seed_demo", "--responses", "10")
    call_command("seed_demo", "--if-empty")
    assert "not loaded" in capsys.readouterr().out
    with pytest.raises(CommandError, match="already exists"):
        call_command("seed_demo")
    assert Response.objects.filter(survey__post_purchase=False).count() == 10


def test_demo_info_prints_login_and_a_poll_url(capsys):
    call_command("demo_info")
    assert "seed_demo" in capsys.readouterr().out
    seed_demo(responses=0)
    call_command("demo_info", "--base-url", "http://127.0.0.1:9000")
    out = capsys.readouterr().out
    token = CreatorLink.objects.order_by("creator__display_name").first().token
    assert f"Login:    {DEMO_USERNAME} / {DEMO_PASSWORD}" in out
    assert f"http://127.0.0.1:9000/s/{token}/" in out
    buyer_url = next(line for line in out.splitlines() if line.startswith("Buyer URL:")).split()[2]
    assert buyer_url.startswith("http://127.0.0.1:9000/o/demo/after-purchase/?order=TRY-")
    page = Client().get(buyer_url.removeprefix("http://127.0.0.1:9000"))
    assert page.status_code == 200 and "Which creator led you to this purchase?" in page.content.decode()


def test_the_demo_buyers_answers_recover_the_known_value_per_trust_point():
    from surveys.demo import VALUE_PER_TRUST_POINT
    from surveys.outcomes import verified_value_frame, verified_value_model

    summary = seed_demo(responses=0, seed=5)
    answers = Response.objects.filter(survey__post_purchase=True)
    assert answers.count() > 150
    assert not answers.filter(order=None).exists() and set(answers.values_list("source", flat=True)) == {"named"}
    model = verified_value_model(verified_value_frame(summary.brand, currency="EUR"))
    slope = model.coefficient("trustworthiness")
    assert model.n == answers.count() and model.clusters > 20
    assert slope.ci_low < VALUE_PER_TRUST_POINT < slope.ci_high
    assert 10 < slope.estimate < 14
