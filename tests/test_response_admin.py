"""Responses in the brand admin and the respondent-rights commands.

Real users with real Membership roles drive the admin through Django's test
client; responses enter through the shared submit path (``submit_response``)
or, where a test needs exact quality flags, through ``ResponseFactory``.
"""

from __future__ import annotations

import html as html_lib
import io
import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib import messages as django_messages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from surveys import collection, design
from surveys.choices import Role, SurveyStatus
from surveys.collection import Submission
from surveys.models import Response, Survey
from tests.factories import (
    BrandFactory,
    CreatorFactory,
    CreatorLinkFactory,
    MembershipFactory,
    QuestionFactory,
    ResponseFactory,
    SurveyFactory,
    UserFactory,
)

CAREFUL = {"tru_1": 6, "attn_check": 4}
CARELESS = {"tru_1": 6, "attn_check": 1}  # fails the attention check (expected 4)


# --- helpers ------------------------------------------------------------------------------------


def url(model, view: str, *args) -> str:
    return reverse(f"admin:surveys_{model._meta.model_name}_{view}", args=args)


def pks(objects) -> set[int]:
    return {obj.pk for obj in objects}


def make_survey(brand, slug: str, **fields) -> Survey:
    survey = SurveyFactory(brand=brand, slug=slug, status=SurveyStatus.LIVE, **fields)
    QuestionFactory(survey=survey, position=1, code="tru_1")
    design.insert_instrument(survey, "attention_check")
    return survey


def submit(link, answers=CAREFUL, *, preview: bool = False) -> Response:
    """Answer ``link``'s poll through the one submit path (a preview answer is a test response)."""
    token = collection.issue_form_token(link, preview=preview)
    result = collection.submit_response(link=link, form_token=token, submission=Submission(answers=dict(answers)))
    assert result.created and result.response.is_test is preview
    return result.response


def post_action(client, action: str, ids, *, follow: bool = False, **extra):
    data = {"action": action, "_selected_action": [str(i) for i in ids], "index": "0", **extra}
    return client.post(url(Survey, "changelist"), data, follow=follow)


def shown_messages(response) -> list[tuple[int, str]]:
    return [(m.level, str(m)) for m in response.context["messages"]]


def all_response_ids() -> set[int]:
    return set(Response.objects.values_list("pk", flat=True))


def login(client, user):
    client.force_login(user)
    return client


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def world():
    """Brand "acme" (owner, editor, analyst; surveys spring and summer) and brand "rival" (its own spring)."""
    brand = BrandFactory(slug="acme", name="Acme")
    users = {}
    for role in (Role.OWNER, Role.EDITOR, Role.ANALYST):
        users[role.value] = UserFactory(username=f"{role.value}_acme")
        MembershipFactory(user=users[role.value], brand=brand, role=role)
    survey = make_survey(brand, "spring", title="Spring poll")
    mia = CreatorFactory(brand=brand, handle="mia", display_name="Mia")
    zoe = CreatorFactory(brand=brand, handle="zoe", display_name="Zoe")
    sibling = make_survey(brand, "summer", title="Summer poll")
    rival_brand = BrandFactory(slug="rival", name="Rival")
    rival = make_survey(rival_brand, "spring", title="Rival poll")
    return {
        "brand": brand,
        **users,
        "survey": survey,
        "link": CreatorLinkFactory(survey=survey, creator=mia),
        "quiet": CreatorLinkFactory(survey=survey, creator=zoe),
        "sibling": sibling,
        "sibling_link": CreatorLinkFactory(survey=sibling, creator=mia),
        "rival": rival,
        "rival_link": CreatorLinkFactory(survey=rival, creator=CreatorFactory(brand=rival_brand, handle="rex")),
    }


@pytest.fixture
def mixed(world):
    """Spring: two real and two test responses; one real and one test response in summer and in rival."""
    return {
        "real": [ResponseFactory(link=world["link"]), submit(world["quiet"])],
        "test": [submit(world["link"], preview=True), submit(world["quiet"], CARELESS, preview=True)],
        "sibling": [ResponseFactory(link=world["sibling_link"]), submit(world["sibling_link"], preview=True)],
        "rival": [ResponseFactory(link=world["rival_link"]), submit(world["rival_link"], preview=True)],
    }


# --- the Response changelist ---------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "editor", "analyst"])
def test_changelist_hides_test_responses_unless_asked(client, world, mixed, role):
    login(client, world[role])
    changelist = url(Response, "changelist")
    own_real = pks(mixed["real"]) | {mixed["sibling"][0].pk}
    own_test = pks(mixed["test"]) | {mixed["sibling"][1].pk}

    default = client.get(changelist)
    assert default.status_code == 200
    assert pks(default.context["cl"].result_list) == own_real
    html = default.content.decode()
    assert "Real responses only" in html and "Only test responses" in html

    only = client.get(changelist, {"test": "only"})
    assert pks(only.context["cl"].result_list) == own_test
    assert all(r.is_test for r in only.context["cl"].result_list)

    both = client.get(changelist, {"test": "all"})
    assert pks(both.context["cl"].result_list) == own_real | own_test  # never the rival brand's


def test_flag_columns_and_filters(client, world):
    link = world["link"]
    speeder = ResponseFactory(link=link, flag_speeder=True)
    careless = ResponseFactory(link=link, flag_attention=True)
    clean = ResponseFactory(link=link)
    test_speeder = ResponseFactory(link=link, flag_speeder=True, is_test=True)
    login(client, world["editor"])
    changelist = url(Response, "changelist")

    def found(**params) -> set[int]:
        response = client.get(changelist, params)
        assert response.status_code == 200
        return pks(response.context["cl"].result_list)

    assert found(flag_speeder__exact=1) == {speeder.pk}
    assert found(flag_speeder__exact=0) == {careless.pk, clean.pk}
    assert found(flag_attention__exact=1) == {careless.pk}
    assert found(flag_speeder__exact=1, test="only") == {test_speeder.pk}
    assert found(flag_speeder__exact=1, flag_attention__exact=1) == set()

    page = client.get(changelist)
    columns = page.context["cl"].list_display
    for flag in ("flag_speeder", "flag_straightliner", "flag_attention", "flag_duplicate", "flag_honeypot", "is_test"):
        assert flag in columns
    html = page.content.decode()
    rows = dict(re.findall(r'<tr>.*?/response/(\d+)/change/.*?<td class="field-flag_speeder">(.*?)</td>', html, re.S))
    assert set(map(int, rows)) == {speeder.pk, careless.pk, clean.pk}
    assert 'alt="True"' in rows[str(speeder.pk)]
    assert 'alt="False"' in rows[str(clean.pk)]
    assert "By speeder" in html and "By failed attention check" in html


def test_quality_flags_set_at_submission_can_be_filtered(client, world):
    careful = submit(world["link"], CAREFUL)
    careless = submit(world["link"], CARELESS)
    submit(world["link"], CARELESS, preview=True)
    assert (careful.flag_attention, careless.flag_attention) == (False, True)
    login(client, world["editor"])
    listing = client.get(url(Response, "changelist"), {"flag_attention__exact": "1"})
    assert pks(listing.context["cl"].result_list) == {careless.pk}


# --- preview ------------------------------------------------------------------------------------


def test_survey_change_page_preview_link_opens_the_poll_in_preview(client, world):
    survey, link, quiet = world["survey"], world["link"], world["quiet"]
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.DRAFT)  # not public: preview only
    login(client, world["editor"])
    page = client.get(url(Survey, "change", survey.pk))
    assert page.status_code == 200
    html = page.content.decode()
    hrefs = [html_lib.unescape(h) for h in re.findall(r'<a href="([^"]+)"[^>]*>Preview</a>', html)]
    assert len(hrefs) == 1
    assert "?preview=" in hrefs[0]
    target = urlsplit(hrefs[0])
    assert target.path == f"/s/{link.token}/"  # the first link by creator name: Mia
    # Each creator-link row has its own preview link too.
    assert html.count("Preview this poll") == 2

    # Without the key (or with another link's key) the draft is not shown; its status is tested below.
    assert "preview-banner" not in client.get(target.path).content.decode()
    assert client.get(target.path).status_code != 200
    assert client.get(f"/s/{quiet.token}/?{target.query}").status_code != 200  # the key is Mia's link's only

    shown = client.get(f"{target.path}?{target.query}")
    assert shown.status_code == 200
    poll = shown.content.decode()
    assert 'class="preview-banner"' in poll
    assert "Preview — answers are stored as test responses" in poll
    assert "Spring poll" in poll and "Mia" in poll

    # Answering the preview stores a test response, which the Response list hides by default.
    token = re.search(r'name="form_token" value="([^"]+)"', poll).group(1)
    answered = client.post(f"{target.path}?{target.query}", {"form_token": token, "tru_1": "5", "attn_check": "4"})
    assert answered.status_code == 200
    stored = Response.objects.get()
    assert (stored.is_test, stored.link, stored.answers) == (True, link, {"tru_1": 5, "attn_check": 4})
    assert pks(client.get(url(Response, "changelist")).context["cl"].result_list) == set()


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"status": SurveyStatus.DRAFT}, 404, "This poll has not been published."),
        ({"opens_at": timezone.now() + timedelta(days=2)}, 404, "This poll is not open yet."),
        ({"status": SurveyStatus.CLOSED}, 410, "This poll has closed."),
    ],
    ids=["draft", "not-yet-open", "closed"],
)
def test_unavailable_poll_without_preview_key(client, world, change, status, message):
    """README: "A draft or not-yet-open poll answers 404, a closed poll … 410"; a preview key opens it."""
    Survey.objects.filter(pk=world["survey"].pk).update(**change)
    response = client.get(f"/s/{world['link'].token}/")
    assert response.status_code == status
    assert message in response.content.decode()
    preview = client.get(f"/s/{world['link'].token}/", {"preview": collection.preview_key(world["link"])})
    assert preview.status_code == 200


def test_survey_without_links_has_no_preview_link(client, world):
    bare = make_survey(world["brand"], "bare")
    page = login(client, world["editor"]).get(url(Survey, "change", bare.pk))
    assert page.status_code == 200
    assert "?preview=" not in page.content.decode()


# --- the creator-link inline's quality flags -----------------------------------------------------


def inline_cells(html: str, field: str) -> dict[int, str]:
    """Return {form index: cell text} of a column of the creator-link inline."""
    cells = re.findall(rf'<tr[^>]* id="links-(\d+)".*?class="field-{field}">\s*<p>(.*?)</p>', html, re.S)
    return {int(i): html_lib.unescape(text).strip() for i, text in cells}


def test_creator_link_inline_counts_flags_of_real_responses_only(client, world):
    link, quiet = world["link"], world["quiet"]
    ResponseFactory.create_batch(2, link=link, flag_attention=True)
    ResponseFactory(link=link, flag_speeder=True)
    ResponseFactory.create_batch(3, link=link, flag_attention=True, is_test=True)
    ResponseFactory(link=link, flag_duplicate=True, is_test=True)
    ResponseFactory(link=quiet)
    ResponseFactory(link=quiet, flag_honeypot=True, is_test=True)

    page = login(client, world["editor"]).get(url(Survey, "change", world["survey"].pk))
    assert page.status_code == 200
    formset = next(f for f in page.context["inline_admin_formsets"] if f.formset.model is link.__class__).formset
    index = {form.instance.pk: i for i, form in enumerate(formset.forms)}
    html = page.content.decode()
    flags = inline_cells(html, "flags")
    responses = inline_cells(html, "responses")
    assert flags[index[link.pk]] == "speeder 1 · attention 2"
    assert flags[index[quiet.pk]] == "—"
    assert (responses[index[link.pk]], responses[index[quiet.pk]]) == ("3", "1")


def test_creator_link_inline_shows_flags_computed_at_submission(client, world):
    link = world["link"]
    submit(link, CARELESS)
    submit(link, CARELESS)
    submit(link, CAREFUL)
    submit(link, CARELESS, preview=True)
    assert Response.objects.filter(flag_attention=True).count() == 3
    page = login(client, world["analyst"]).get(url(Survey, "change", world["survey"].pk))
    assert page.status_code == 200
    cells = list(inline_cells(page.content.decode(), "flags").values())
    assert any("attention 2" in cell for cell in cells), cells
    assert not any("attention 3" in cell for cell in cells)


# --- survey actions -----------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_delete_test_responses_action_deletes_only_the_surveys_tests(client, world, mixed, role):
    login(client, world[role])
    response = post_action(client, "delete_test_responses", [world["survey"].pk], follow=True)
    assert response.status_code == 200
    assert "Deleted 2 test response(s)." in [text for _, text in shown_messages(response)]
    kept = pks(mixed["real"]) | pks(mixed["sibling"]) | pks(mixed["rival"])
    assert all_response_ids() == kept


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_purge_action_asks_for_the_slug_and_refuses_a_wrong_one(client, world, mixed, role):
    survey = world["survey"]
    login(client, world[role])
    before = all_response_ids()

    page = post_action(client, "purge_responses", [survey.pk])
    assert page.status_code == 200
    assert pks(page.context["queryset"]) == {survey.pk}
    html = page.content.decode()
    assert "Purge all responses of these surveys" in html and "Type the slug(s) to confirm" in html
    assert "Spring poll (acme/spring)" in html  # the selected survey is listed
    assert all_response_ids() == before

    for wrong in ("Spring", "summer", "spring, summer", "yes"):
        refused = post_action(client, "purge_responses", [survey.pk], apply="1", choice=wrong, follow=True)
        assert refused.status_code == 200
        assert (
            django_messages.ERROR,
            "The confirmation did not match; nothing was deleted.",
        ) in shown_messages(refused), wrong
        assert all_response_ids() == before

    empty = post_action(client, "purge_responses", [survey.pk], apply="1", choice="")
    assert empty.status_code == 200  # the form is shown again with "This field is required."
    assert "This field is required." in empty.content.decode()
    assert all_response_ids() == before

    done = post_action(client, "purge_responses", [survey.pk], apply="1", choice=" spring ", follow=True)
    assert (django_messages.SUCCESS, "Deleted 4 response(s).") in shown_messages(done)
    assert not Response.objects.filter(survey=survey).exists()
    assert all_response_ids() == pks(mixed["sibling"]) | pks(mixed["rival"])


def test_purge_action_over_two_surveys_wants_both_slugs(client, world, mixed):
    login(client, world["owner"])
    ids = [world["survey"].pk, world["sibling"].pk]
    page = post_action(client, "purge_responses", ids)
    assert pks(page.context["queryset"]) == set(ids)
    post_action(client, "purge_responses", ids, apply="1", choice="spring")
    assert len(all_response_ids()) == 8
    post_action(client, "purge_responses", ids, apply="1", choice="spring, summer")
    assert all_response_ids() == pks(mixed["rival"])


@pytest.mark.parametrize(("selected", "expected"), [(["survey"], "spring"), (["survey", "sibling"], "spring, summer")])
def test_purge_page_says_what_to_type(client, world, selected, expected):
    """The field's help text ("Type: <slugs>") is what tells the user the exact confirmation."""
    login(client, world["owner"])
    page = post_action(client, "purge_responses", [world[key].pk for key in selected])
    assert page.status_code == 200
    assert page.context["form"].fields["choice"].help_text == f"Type: {expected}"
    assert f"Type: {expected}" in page.content.decode()


def test_analyst_cannot_run_the_response_actions(client, world, mixed):
    login(client, world["analyst"])
    before = all_response_ids()
    assert client.get(url(Survey, "changelist")).context["action_form"] is None
    for action in ("delete_test_responses", "purge_responses"):
        response = post_action(client, action, [world["survey"].pk], apply="1", choice="spring")
        assert response.status_code in (200, 302, 403), action
        assert all_response_ids() == before, action


def test_analyst_who_edits_another_brand_is_forbidden(client, world, mixed):
    """Actions are offered (the user edits some brand) but refused for acme's survey."""
    analyst = world["analyst"]
    MembershipFactory(user=analyst, brand=BrandFactory(slug="third"), role=Role.EDITOR)
    login(client, analyst)
    before = all_response_ids()
    assert post_action(client, "delete_test_responses", [world["survey"].pk]).status_code == 403
    purge = post_action(client, "purge_responses", [world["survey"].pk], apply="1", choice="spring")
    assert purge.status_code == 403
    assert all_response_ids() == before


def test_actions_do_not_reach_another_brands_survey(client, world, mixed):
    login(client, world["owner"])
    before = all_response_ids()
    rival = world["rival"]  # its slug is also "spring"
    post_action(client, "delete_test_responses", [rival.pk])
    page = post_action(client, "purge_responses", [rival.pk])
    assert page.status_code == 200 and pks(page.context["queryset"]) == set()
    post_action(client, "purge_responses", [rival.pk], apply="1", choice="spring")
    assert all_response_ids() == before


# --- commands -----------------------------------------------------------------------------------


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_purge_command_with_yes_deletes_all_responses_of_the_survey(world, mixed):
    out = run("purge_responses", "acme/spring", "--yes")
    assert "Deleted 4 response(s) of acme/spring." in out
    assert all_response_ids() == pks(mixed["sibling"]) | pks(mixed["rival"])


def test_purge_command_test_only(world, mixed):
    out = run("purge_responses", "acme/spring", "--test-only", "--yes")
    assert "Deleted 2 response(s) of acme/spring." in out
    assert all_response_ids() == pks(mixed["real"]) | pks(mixed["sibling"]) | pks(mixed["rival"])


def test_purge_command_by_unique_slug(world, mixed):
    assert "Deleted 2 response(s) of acme/summer." in run("purge_responses", "summer", "--yes")
    assert not Response.objects.filter(survey=world["sibling"]).exists()


def test_purge_command_refuses_an_ambiguous_or_unknown_slug(world, mixed):
    before = all_response_ids()
    with pytest.raises(CommandError, match="ambiguous"):
        run("purge_responses", "spring", "--yes")  # acme/spring and rival/spring
    with pytest.raises(CommandError, match="No survey"):
        run("purge_responses", "acme/nope", "--yes")
    assert all_response_ids() == before


def test_purge_command_without_yes_needs_the_typed_slug(world, mixed, monkeypatch):
    before = all_response_ids()
    prompts: list[str] = []

    def answer(text: str):
        def fake_input(prompt: str = "") -> str:
            prompts.append(prompt)
            return text

        return fake_input

    monkeypatch.setattr("builtins.input", answer("nope"))
    with pytest.raises(CommandError, match="Not confirmed; nothing deleted."):
        run("purge_responses", "acme/spring")
    assert prompts == ["Delete ALL responses of acme/spring? Type the survey slug: "]
    assert all_response_ids() == before

    monkeypatch.setattr("builtins.input", answer(""))
    with pytest.raises(CommandError, match="Not confirmed"):
        run("purge_responses", "acme/spring", "--test-only")
    assert prompts[-1] == "Delete test responses of acme/spring? Type the survey slug: "
    assert all_response_ids() == before

    monkeypatch.setattr("builtins.input", answer("spring\n"))
    assert "Deleted 2 response(s) of acme/spring." in run("purge_responses", "acme/spring", "--test-only")
    assert all_response_ids() == pks(mixed["real"]) | pks(mixed["sibling"]) | pks(mixed["rival"])


def test_delete_response_command(world, mixed):
    target = mixed["real"][0]
    before = all_response_ids()
    assert f"Deleted response {target.pk}." in run("delete_response", str(target.pk))
    assert all_response_ids() == before - {target.pk}
    with pytest.raises(CommandError, match=f"No response with id {target.pk}."):
        run("delete_response", str(target.pk))
    missing = max(before) + 1000
    with pytest.raises(CommandError, match=f"No response with id {missing}."):
        run("delete_response", str(missing))
    assert all_response_ids() == before - {target.pk}


# --- deleting one response in the admin (a respondent's erasure request) -------------------------


@pytest.mark.parametrize("role", ["owner", "editor"])
def test_editor_and_owner_delete_one_response(client, world, mixed, role):
    target = mixed["real"][1]
    before = all_response_ids()
    login(client, world[role])
    change = client.get(url(Response, "change", target.pk))
    assert change.status_code == 200
    assert change.context["has_change_permission"] is False  # responses are read-only
    assert url(Response, "delete", target.pk) in change.content.decode()

    confirm = client.get(url(Response, "delete", target.pk))
    assert confirm.status_code == 200
    assert "Are you sure" in confirm.content.decode()
    deleted = client.post(url(Response, "delete", target.pk), {"post": "yes"})
    assert deleted.status_code == 302
    # Django sends users without change permission to the admin index after a deletion.
    assert deleted["Location"] in (url(Response, "changelist"), reverse("admin:index"))
    assert all_response_ids() == before - {target.pk}


def test_editor_can_delete_selected_responses_from_the_list(client, world, mixed):
    login(client, world["editor"])
    chosen = [mixed["real"][0].pk, mixed["test"][0].pk]
    data = {"action": "delete_selected", "_selected_action": [str(i) for i in chosen], "index": "0", "post": "yes"}
    # The list's filters apply to the selection: a test response is only reachable with ?test=…
    response = client.post(url(Response, "changelist"), data)
    assert response.status_code == 302
    assert not Response.objects.filter(pk=chosen[0]).exists()
    assert Response.objects.filter(pk=chosen[1]).exists()
    data["_selected_action"] = [str(chosen[1])]
    response = client.post(url(Response, "changelist") + "?test=only", data)
    assert response.status_code == 302
    assert not Response.objects.filter(pk__in=chosen).exists()
    assert len(all_response_ids()) == 6


def test_analyst_cannot_delete_a_response(client, world, mixed):
    target = mixed["real"][0]
    before = all_response_ids()
    login(client, world["analyst"])
    change = client.get(url(Response, "change", target.pk))
    assert change.status_code == 200
    assert url(Response, "delete", target.pk) not in change.content.decode()
    assert client.get(url(Response, "delete", target.pk)).status_code == 403
    assert client.post(url(Response, "delete", target.pk), {"post": "yes"}).status_code == 403
    data = {"action": "delete_selected", "_selected_action": [str(target.pk)], "index": "0", "post": "yes"}
    assert client.post(url(Response, "changelist"), data).status_code in (200, 302, 403)
    assert all_response_ids() == before


def test_editor_cannot_delete_another_brands_response(client, world, mixed):
    target = mixed["rival"][0]
    login(client, world["editor"])
    assert client.post(url(Response, "delete", target.pk), {"post": "yes"}).status_code == 404
    assert Response.objects.filter(pk=target.pk).exists()
