"""The embed snippets on a creator's page from another site, in a real Chromium."""

from __future__ import annotations

import pytest

from surveys.design import insert_instrument
from surveys.embed import script_snippet
from surveys.models import Response
from tests.e2e.conftest import eventually
from tests.factories import CreatorFactory, CreatorLinkFactory, SurveyFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def links(live_server, settings):
    """Two creators' links to one live survey; snippets point at the live server (localhost)."""
    settings.PUBLIC_BASE_URL = live_server.url
    survey = SurveyFactory(status="live", consent_text="I agree to take part.", thank_you_text="Thank you, {creator}!")
    insert_instrument(survey, "reported_purchase")
    insert_instrument(survey, "juster_1966")
    return [
        CreatorLinkFactory(survey=survey, creator=CreatorFactory(brand=survey.brand, display_name=name))
        for name in ("Ava Bloom", "Noah Trail")
    ]


def poll_frame(page, index: int = 0):
    handle = page.locator("iframe").nth(index).element_handle()
    frame = eventually(handle.content_frame)
    frame.wait_for_selector("main")
    return frame


def assert_fits(page, frame, index: int = 0) -> None:
    """The iframe is as tall as its content (±2 px) and shows no inner scrollbar."""
    iframe = page.locator("iframe").nth(index)

    def fits():
        outer = iframe.evaluate("f => f.getBoundingClientRect().height")
        inner = frame.evaluate("() => document.body.getBoundingClientRect().height")
        scroll = frame.evaluate("() => document.documentElement.scrollHeight")
        return abs(outer - inner) <= 2 and scroll <= outer + 2 and (outer, inner)

    eventually(fits)


def answer(frame, *, juster: str = "Probable (7 in 10)") -> None:
    frame.get_by_label("Yes").check()
    frame.locator("#in-buy_count").fill("2")
    frame.get_by_label(juster).check()
    frame.get_by_label("I agree to take part.").check()


@pytest.mark.parametrize("width", [320, 1280])
def test_embedded_poll_resizes_to_content_at_every_step_without_cookies(cookie_blocking_page, host_site, links, width):
    page = cookie_blocking_page(width)
    page.goto(host_site.page("/blog", script_snippet(links[0])))
    frame = poll_frame(page)
    assert frame.url.startswith(f"{links[0].share_url.split('/s/')[0]}/s/{links[0].token}/embed/")
    assert_fits(page, frame)

    cookie = frame.evaluate(
        "() => { document.cookie = 'probe=1; SameSite=None; Secure'; document.cookie = 'probe2=1'; return document.cookie; }"
    )
    assert cookie == ""  # nothing the poll does can rely on a cookie here

    frame.get_by_role("button", name="Send my answers").click()  # inline errors
    assert frame.locator("#err-bought").is_visible()
    assert_fits(page, frame)

    frame.get_by_label("Yes").check()  # reveals the buyers' questions
    assert frame.locator("#q-buy_count").is_visible()
    assert_fits(page, frame)

    answer(frame)
    frame.get_by_role("button", name="Send my answers").click()
    frame.get_by_text("Thank you, Ava Bloom!").wait_for()
    frame = poll_frame(page)
    assert_fits(page, frame)

    response = Response.objects.get()
    assert (response.creator.display_name, response.link_id) == ("Ava Bloom", links[0].pk)
    assert response.answers == {"bought": 1, "buy_count": 2, "pp_juster": 7}


def test_server_errors_inside_the_iframe_also_resize(phone, host_site, links):
    page = phone(width=320)
    page.goto(host_site.page("/blog", script_snippet(links[0])))
    frame = poll_frame(page)
    frame.get_by_label("Yes").check()
    frame.locator("#in-buy_count").fill("5000")  # above the maximum: the browser's check and the server's
    frame.get_by_label("I agree to take part.").check()
    frame.get_by_label("Probable (7 in 10)").check()
    frame.evaluate("() => document.getElementById('poll-form').submit()")  # bypass the inline check
    frame.get_by_text("Enter a number of at most 100.").wait_for()
    frame = poll_frame(page)
    assert_fits(page, frame)
    assert Response.objects.count() == 0


def test_a_follower_completes_the_embedded_poll_with_the_keyboard_alone(cookie_blocking_page, host_site, links):
    page = cookie_blocking_page(320)
    page.goto(host_site.page("/blog", script_snippet(links[0]), before="<a href='#top'>Home</a>"))
    frame = poll_frame(page)

    def tab_to(selector: str) -> None:
        for _ in range(40):
            page.keyboard.press("Tab")
            if frame.evaluate(f"() => document.activeElement && document.activeElement.matches({selector!r})"):
                return
        raise AssertionError(f"Tab never reached {selector}")

    tab_to("input[name=bought]")
    page.keyboard.press("Space")  # the first option, "Yes"
    tab_to("#in-buy_count")
    page.keyboard.type("3")
    tab_to("input[name=pp_juster]")
    for _ in range(7):
        page.keyboard.press("ArrowDown")  # 0 → 7
    tab_to("input[name=consent]")
    page.keyboard.press("Space")
    tab_to("button[type=submit]")
    page.keyboard.press("Enter")
    frame.get_by_text("Thank you, Ava Bloom!").wait_for()

    response = Response.objects.get()
    assert response.answers == {"bought": 1, "buy_count": 3, "pp_juster": 7}
    assert response.creator.display_name == "Ava Bloom"


def test_popup_mode_opens_an_accessible_dialog(phone, host_site, links):
    page = phone(width=1280)
    snippet = script_snippet(links[0], popup=True).replace('data-label="Take the poll"', 'data-label="Rate Ava"')
    page.goto(host_site.page("/blog", snippet))
    button = page.get_by_role("button", name="Rate Ava")
    assert page.locator("iframe").count() == 0  # nothing loads before the click
    button.focus()
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog", name="Rate Ava")
    dialog.wait_for()
    frame = poll_frame(page)
    answer(frame)
    frame.get_by_role("button", name="Send my answers").click()
    frame.get_by_text("Thank you, Ava Bloom!").wait_for()
    page.keyboard.press("Escape")
    eventually(lambda: not dialog.is_visible())
    assert page.evaluate("() => document.activeElement.textContent") == "Rate Ava"
    assert Response.objects.get().creator.display_name == "Ava Bloom"


def test_two_polls_on_one_page_work_independently(phone, host_site, links):
    page = phone(width=1280)
    page.goto(host_site.page("/blog", script_snippet(links[0]) + "<hr>" + script_snippet(links[1])))
    eventually(lambda: page.locator("iframe").count() == 2)
    first, second = poll_frame(page, 0), poll_frame(page, 1)
    assert page.locator("script[src$='/embed.js']").count() == 2  # pasted twice, mounted once each

    second.get_by_label("Yes").check()  # only the second grows
    assert_fits(page, first, 0)
    assert_fits(page, second, 1)
    heights = [page.locator("iframe").nth(i).evaluate("f => f.getBoundingClientRect().height") for i in (0, 1)]
    assert heights[1] > heights[0]

    answer(second, juster="Almost sure (9 in 10)")
    second.get_by_role("button", name="Send my answers").click()
    second.get_by_text("Thank you, Noah Trail!").wait_for()
    answer(first)
    first.get_by_role("button", name="Send my answers").click()
    first.get_by_text("Thank you, Ava Bloom!").wait_for()

    stored = {r.creator.display_name: r.answers["pp_juster"] for r in Response.objects.select_related("creator")}
    assert stored == {"Ava Bloom": 7, "Noah Trail": 9}


def test_the_loader_is_small_and_briefly_cached(live_server):
    from urllib.request import Request, urlopen

    with urlopen(Request(f"{live_server.url}/embed.js", headers={"Accept-Encoding": "gzip"})) as reply:
        body = reply.read()
        assert reply.headers["Cache-Control"] == "public, max-age=300"
        assert reply.headers["Content-Encoding"] == "gzip"
        assert reply.headers["Content-Type"].startswith("text/javascript")
    assert len(body) <= 3 * 1024


def test_a_buyer_answers_the_post_purchase_poll_on_the_shops_confirmation_page(cookie_blocking_page, host_site, live_server, settings):
    """The shop signs the order into the loader's data attributes; the buyer names a creator inside the iframe."""
    import time

    from surveys import attribution
    from surveys.choices import Construct
    from surveys.models import Order

    settings.PUBLIC_BASE_URL = live_server.url
    survey = SurveyFactory(status="live", post_purchase=True, slug="after-purchase", thank_you_text="Thanks, enjoy it!")
    insert_instrument(survey, "ohanian_1990", constructs={Construct.TRUSTWORTHINESS})
    secret = attribution.rotate_order_secret(survey.brand)
    for name in ("Ava Bloom", "Noah Trail"):
        CreatorFactory(brand=survey.brand, display_name=name)
    t = int(time.time())
    sig = attribution.order_signature(secret, order_id="A-1001", amount="59.90", currency="EUR", timestamp=t)
    snippet = (f'<div data-trustpoll-purchase="{survey.brand.slug}/{survey.slug}" data-order="A-1001" data-amount="59.90" '
               f'data-currency="EUR" data-t="{t}" data-sig="{sig}"></div><script async src="{live_server.url}/embed.js"></script>')
    page = cookie_blocking_page(320)
    page.goto(host_site.page("/thank-you", snippet))

    frame = poll_frame(page)
    frame.get_by_label("Noah Trail").check()
    frame.get_by_role("button", name="Continue").click()
    frame.get_by_text("Noah Trail").first.wait_for()
    frame = poll_frame(page)
    for fieldset in frame.locator("fieldset.question").all():
        fieldset.locator("input[type=radio]").nth(5).check()
    frame.get_by_role("button", name="Send my answers").click()
    frame.get_by_text("Thanks, enjoy it!").wait_for()
    assert_fits(page, poll_frame(page))

    response = Response.objects.get()
    assert response.creator.display_name == "Noah Trail"
    assert response.source == "named"
    assert (response.order.order_id, str(response.order.amount), response.order.attribution) == ("A-1001", "59.90", Order.Attribution.NAMED)
    assert response.answers == {f"tru_{n}": 6 for n in range(1, 6)}  # the sixth point of each item, as stored
