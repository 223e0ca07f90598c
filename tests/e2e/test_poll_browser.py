"""The poll at phone width in a real browser, with JavaScript on and off."""

from __future__ import annotations

import pytest

from surveys.design import insert_instrument
from surveys.models import Response, Survey
from tests.factories import CreatorFactory, CreatorLinkFactory, SurveyFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def poll_url(live_server):
    survey = SurveyFactory(
        status="live",
        title="Trust check",
        consent_text="I agree to take part.",
        min_age=16,
        thank_you_text="Thanks, {creator} will be glad!",
    )
    insert_instrument(survey, "reported_purchase")
    insert_instrument(survey, "juster_1966")
    creator = CreatorFactory(brand=survey.brand, display_name="Ava Bloom")
    link = CreatorLinkFactory(survey=survey, creator=creator)
    return f"{live_server.url}/s/{link.token}/?utm_source=instagram"


def fits_width(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 320


def test_with_javascript_conditions_inline_errors_and_thank_you(phone, poll_url):
    page = phone(javascript=True)
    page.goto(poll_url)
    assert fits_width(page)
    assert "Have you bought something because Ava Bloom recommended it?" in page.locator("#q-bought legend").inner_text()
    assert page.locator("#q-buy_count").is_hidden()  # shown only to buyers

    page.get_by_role("button", name="Send my answers").click()
    assert page.locator("#err-bought").inner_text() == "This question is required."
    assert Response.objects.count() == 0  # the browser did not send an incomplete form

    page.get_by_label("Yes").check()
    assert page.locator("#q-buy_count").is_visible()
    page.locator("#in-buy_count").fill("3")
    page.get_by_label("Probable (7 in 10)").check()
    page.get_by_label("I am at least 16 years old.").check()
    page.get_by_label("I agree to take part.").check()
    page.get_by_role("button", name="Send my answers").click()
    page.get_by_text("Thanks, Ava Bloom will be glad!").wait_for()
    assert fits_width(page)

    response = Response.objects.get()
    assert response.answers == {"bought": 1, "buy_count": 3, "pp_juster": 7}
    assert response.not_asked == []
    assert response.utm == {"utm_source": "instagram"}
    assert response.creator.display_name == "Ava Bloom"


def test_without_javascript_the_server_validates_and_ignores_unmet_conditions(phone, poll_url):
    page = phone(javascript=False)
    page.goto(poll_url)
    assert fits_width(page)
    assert page.locator("#q-buy_count").is_visible()
    assert "Answer only if you answered “Yes”" in page.locator("#q-buy_count").inner_text()

    page.get_by_role("button", name="Send my answers").click()
    assert page.locator("#q-bought .field-error").inner_text() == "This question is required."
    assert "Please agree to take part" in page.locator("#err-consent").inner_text()
    assert Response.objects.count() == 0

    page.get_by_label("No", exact=True).check()
    page.locator("#in-buy_count").fill("5")  # condition not met: ignored
    page.get_by_label("Some possibility (3 in 10)").check()
    page.get_by_label("I am at least 16 years old.").check()
    page.get_by_label("I agree to take part.").check()
    page.get_by_role("button", name="Send my answers").click()
    page.get_by_text("Thanks, Ava Bloom will be glad!").wait_for()

    response = Response.objects.get()
    assert response.answers == {"bought": 0, "pp_juster": 3}
    assert response.not_asked == ["buy_count", "spend_3m"]


def test_sending_the_same_form_twice_stores_one_response(phone, poll_url):
    page = phone(javascript=False)
    page.goto(poll_url)
    page.get_by_label("No", exact=True).check()
    page.get_by_label("Slight possibility (2 in 10)").check()
    page.get_by_label("I am at least 16 years old.").check()
    page.get_by_label("I agree to take part.").check()
    page.get_by_role("button", name="Send my answers").dblclick()  # two posts of one form, one token
    page.get_by_text("Thanks, Ava Bloom will be glad!").wait_for()
    assert Response.objects.count() == 1


@pytest.mark.parametrize("language", ["en", "de"])
def test_no_serious_accessibility_violations_on_poll_error_and_thank_you(phone, poll_url, language):
    from tests.e2e.conftest import run_axe

    survey = Survey.objects.get()
    survey.language = language
    survey.save()
    page = phone(width=375, bypass_csp=True)  # axe is injected as an inline script
    page.goto(poll_url)
    assert page.evaluate("document.documentElement.lang") == language
    assert run_axe(page) == []

    page.get_by_role("button").last.click()  # no answers: the inline error state
    assert page.locator("#err-bought").is_visible()
    assert run_axe(page) == []

    page.evaluate("() => document.getElementById('poll-form').submit()")  # the server's error page
    page.locator(".error-summary").wait_for()
    assert run_axe(page) == []

    page.locator("input[name=bought][value='0']").check()
    page.locator("input[name=pp_juster][value='5']").check()
    page.locator("input[name=age_confirmed]").check()
    page.locator("input[name=consent]").check()
    page.get_by_role("button").last.click()
    page.locator(".thanks").wait_for()
    assert run_axe(page) == []
    if language == "de":
        assert page.get_by_role("heading").inner_text() == "Vielen Dank!"
