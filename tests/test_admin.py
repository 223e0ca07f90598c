"""The brand-scoped admin, driven through Django's test client.

Every test logs in a real user with real Membership roles and asserts on the
objects and HTML the admin returns, and on the database afterwards.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from surveys import embed
from surveys.choices import Role, SurveyStatus
from surveys.models import Brand, Creator, CreatorLink, Membership, Question, Response, Survey
from tests.factories import (
    BrandFactory,
    CreatorFactory,
    MembershipFactory,
    QuestionFactory,
    ResponseFactory,
    SurveyFactory,
    UserFactory,
)

# Strings that only ever appear in brand B's objects (names, slugs, handles, codes).
B_MARKERS = ("Brand B", "brand-b", "creator_b", "survey-b", "trust_b", "editor_b")


# --- helpers ------------------------------------------------------------------------------------


def url(model, view: str, *args) -> str:
    return reverse(f"admin:surveys_{model._meta.model_name}_{view}", args=args)


def objects_of(data: dict, model) -> object:
    """Return the brand's object of ``model`` (responses and memberships are looked up)."""
    if model is Brand:
        return data["brand"]
    if model is Membership:
        return Membership.objects.get(user=data["editor"], brand=data["brand"])
    if model is Response:
        return Response.objects.get(link=data["link"])
    return data[{Creator: "creator", Survey: "survey", Question: "question", CreatorLink: "link"}[model]]


SEARCH_FOR_B = {
    Brand: "brand-b",
    Membership: "editor_b",
    Creator: "creator_b",
    Survey: "survey-b",
    Question: "trust_b",
    CreatorLink: "creator_b",
    Response: "creator_b",
}
ALL_MODELS = list(SEARCH_FOR_B)


def pks(queryset) -> set[int]:
    return {obj.pk for obj in queryset}


class FormFields(HTMLParser):
    """Collect what a browser would submit from the form with ``form_id``, plus every input value."""

    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.data: dict[str, list[str]] = {}
        self.all_input_values: list[str] = []
        self._select: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def _add(self, name: str, value: str) -> None:
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "input":
            self.all_input_values.append(a.get("value") or "")
        if tag == "form":
            self.in_form = a.get("id") == self.form_id
        if not self.in_form or "name" not in a and tag != "option":
            return
        if tag == "input":
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            checkable = kind in ("checkbox", "radio")
            self._add(a["name"], a.get("value", "on") if checkable else a.get("value") or "")
        elif tag == "select":
            self._select = a["name"]
            self.data.setdefault(a["name"], [])
        elif tag == "option" and self._select and "selected" in a:
            self._add(self._select, a.get("value", ""))
        elif tag == "textarea":
            self._textarea, self._text = a["name"], []

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_form = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea" and self._textarea:
            text = "".join(self._text)
            self._add(self._textarea, text[1:] if text.startswith("\n") else text)
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self._text.append(data)


def parse_form(html: str, form_id: str) -> FormFields:
    parser = FormFields(form_id)
    parser.feed(html)
    return parser


def post_action(client, model, action: str, ids, **extra):
    data = {"action": action, "_selected_action": [str(i) for i in ids], "index": "0", **extra}
    return client.post(url(model, "changelist"), data)


def inline_formset(response, model):
    return next(f for f in response.context["inline_admin_formsets"] if f.formset.model is model)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def data(two_brands):
    """``two_brands`` with A's user promoted to owner and one real response per brand."""
    Membership.objects.filter(user__in=[two_brands[k]["owner"] for k in "ab"]).delete()  # one member per brand here
    Membership.objects.filter(user=two_brands["a"]["editor"]).update(role=Role.OWNER)
    for key in ("a", "b"):
        ResponseFactory(link=two_brands[key]["link"])
    return two_brands


@pytest.fixture
def client_a(client, data):
    client.force_login(data["a"]["editor"])
    return client


@pytest.fixture
def split_user(client, two_brands):
    """A client logged in as A's editor who is also an analyst of brand B."""
    user = two_brands["a"]["editor"]
    MembershipFactory(user=user, brand=two_brands["b"]["brand"], role=Role.ANALYST)
    client.force_login(user)
    return client


# --- 1. brand isolation over every registered model ---------------------------------------------


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_changelist_shows_only_own_brand(client_a, data, model):
    own, other = objects_of(data["a"], model), objects_of(data["b"], model)
    response = client_a.get(url(model, "changelist"))
    assert response.status_code == 200
    assert pks(response.context["cl"].result_list) == {own.pk}
    html = response.content.decode()
    assert url(model, "change", own.pk) in html
    assert url(model, "change", other.pk) not in html
    # Not in the rows, the filters, the date hierarchy or anywhere else on the page.
    assert [m for m in B_MARKERS if m in html] == []


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_other_brands_change_delete_and_history_urls_are_404(client_a, data, model):
    other = objects_of(data["b"], model)
    for view in ("change", "delete", "history"):
        assert client_a.get(url(model, view, other.pk)).status_code == 404, view
    assert client_a.post(url(model, "delete", other.pk), {"post": "yes"}).status_code == 404
    assert model.objects.filter(pk=other.pk).exists()


@pytest.mark.parametrize("model", ALL_MODELS, ids=lambda m: m.__name__)
def test_search_does_not_find_other_brand(client_a, data, model):
    term = SEARCH_FOR_B[model]
    response = client_a.get(url(model, "changelist"), {"q": term})
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    # The same search as a superuser proves the term does match brand B's object.
    client_a.force_login(UserFactory(is_superuser=True))
    found = client_a.get(url(model, "changelist"), {"q": term}).context["cl"].result_list
    assert pks(found) == {objects_of(data["b"], model).pk}


@pytest.mark.parametrize("model", ALL_MODELS[2:], ids=lambda m: m.__name__)
def test_filtering_by_other_brand_does_not_reach_it(client_a, data, model):
    lookup = {Creator: "brand__id__exact", Survey: "brand__id__exact"}.get(model, "survey__id__exact")
    value = data["b"]["brand"].pk if "brand" in lookup else data["b"]["survey"].pk
    response = client_a.get(url(model, "changelist"), {lookup: value})
    assert response.status_code == 200
    # A filter value outside the user's brands is not offered (and so not applied): B stays hidden.
    assert objects_of(data["b"], model).pk not in pks(response.context["cl"].result_list)
    assert [m for m in B_MARKERS if m in response.content.decode()] == []


def test_other_brand_survey_add_instrument_view_is_404(client_a, data):
    survey_b = data["b"]["survey"]
    response = client_a.post(url(Survey, "add_instrument", survey_b.pk), {"choice": "ohanian_1990"})
    assert response.status_code == 404
    assert survey_b.questions.count() == 1


# --- 2. foreign-key choices ---------------------------------------------------------------------


def test_add_form_choices_are_own_brand_only(client_a, data):
    a = data["a"]
    expected = {
        Creator: {"brand": {a["brand"].pk}},
        Survey: {"brand": {a["brand"].pk}},
        Question: {"survey": {a["survey"].pk}, "condition_question": {a["question"].pk}},
        CreatorLink: {"survey": {a["survey"].pk}, "creator": {a["creator"].pk}},
    }
    for model, fields in expected.items():
        response = client_a.get(url(model, "add"))
        assert response.status_code == 200, model
        form = response.context["adminform"].form
        for name, want in fields.items():
            assert pks(form.fields[name].queryset) == want, (model, name)
        assert [m for m in B_MARKERS if m in response.content.decode()] == [], model


def test_superuser_add_form_offers_every_brand(client, data):
    client.force_login(UserFactory(is_superuser=True))
    form = client.get(url(Creator, "add")).context["adminform"].form
    assert pks(form.fields["brand"].queryset) == {data["a"]["brand"].pk, data["b"]["brand"].pk}


def test_question_change_form_condition_choices_are_own_brand_only(client_a, data):
    later = QuestionFactory(survey=data["a"]["survey"], code="later_a")
    form = client_a.get(url(Question, "change", later.pk)).context["adminform"].form
    assert pks(form.fields["condition_question"].queryset) == {data["a"]["question"].pk, later.pk}
    assert "survey" not in form.fields  # read-only once created


def test_survey_inline_choices_are_the_surveys_own(client_a, data):
    a = data["a"]
    other_survey = SurveyFactory(brand=a["brand"], slug="other-a")
    QuestionFactory(survey=other_survey, code="elsewhere")
    second_creator = CreatorFactory(brand=a["brand"], handle="second_a")
    # A third brand the same user edits: its creators must not be offered for brand A's survey.
    brand_c = BrandFactory(slug="brand-c")
    MembershipFactory(user=a["editor"], brand=brand_c, role=Role.EDITOR)
    CreatorFactory(brand=brand_c, handle="creator_c")
    response = client_a.get(url(Survey, "change", a["survey"].pk))
    assert response.status_code == 200
    assert "brand" not in response.context["adminform"].form.fields  # read-only once created

    questions = inline_formset(response, Question).formset
    links = inline_formset(response, CreatorLink).formset
    assert len(questions.forms) == 1 and len(links.forms) == 1
    for form in [*questions.forms, questions.empty_form]:
        assert pks(form.fields["condition_question"].queryset) == {a["question"].pk}
    for form in [*links.forms, links.empty_form]:
        assert pks(form.fields["creator"].queryset) == {a["creator"].pk, second_creator.pk}
    assert [m for m in B_MARKERS if m in response.content.decode()] == []


def test_split_user_gets_edit_choices_only_where_they_edit(split_user, two_brands):
    form = split_user.get(url(Survey, "add")).context["adminform"].form
    assert pks(form.fields["brand"].queryset) == {two_brands["a"]["brand"].pk}


# --- 3. actions ---------------------------------------------------------------------------------

ACTIONS = [
    (Brand, "delete_selected"),
    (Membership, "delete_selected"),
    (Creator, "delete_selected"),
    (Creator, "deactivate"),
    (Creator, "create_links"),
    (Survey, "delete_selected"),
    (Survey, "duplicate"),
    (Survey, "add_instrument"),
    (Question, "delete_selected"),
    (CreatorLink, "delete_selected"),
    (CreatorLink, "deactivate"),
    (Response, "delete_selected"),
]


def snapshot():
    return {
        model: sorted(model.objects.values_list("pk", *(["active"] if hasattr(model, "active") else [])))
        for model in (Brand, Membership, Creator, Survey, Question, CreatorLink, Response)
    }


@pytest.mark.parametrize(("model", "action"), ACTIONS, ids=lambda v: getattr(v, "__name__", v))
def test_actions_on_other_brands_ids_change_nothing(client_a, data, model, action):
    other = objects_of(data["b"], model)
    before = snapshot()
    extra = {"post": "yes", "apply": "1"}
    extra["choice"] = {Creator: str(data["b"]["survey"].pk), Survey: "ohanian_1990"}.get(model, "")
    response = post_action(client_a, model, action, [other.pk], **extra)
    assert response.status_code in (200, 302)
    assert snapshot() == before
    if response.status_code == 200 and "cl" not in response.context:
        # An intermediate page (create_links, add_instrument) lists no selected objects.
        assert pks(response.context["queryset"]) == set()


@pytest.mark.parametrize(
    ("model", "action"),
    [(m, a) for m, a in ACTIONS if m is not Membership],  # memberships are visible to owners only
    ids=lambda v: getattr(v, "__name__", v),
)
def test_analyst_of_other_brand_cannot_act_on_its_objects(split_user, two_brands, model, action):
    ResponseFactory(link=two_brands["b"]["link"])
    other = objects_of(two_brands["b"], model)
    before = snapshot()
    extra = {"post": "yes", "apply": "1"}
    extra["choice"] = {Creator: str(two_brands["b"]["survey"].pk), Survey: "ohanian_1990"}.get(model, "")
    response = post_action(split_user, model, action, [other.pk], **extra)
    assert response.status_code in (200, 302, 403)
    assert snapshot() == before


def test_analyst_of_other_brand_sees_its_survey_read_only(split_user, two_brands):
    survey_b = two_brands["b"]["survey"]
    change = url(Survey, "change", survey_b.pk)
    response = split_user.get(change)
    assert response.status_code == 200
    assert response.context["has_change_permission"] is False
    html = response.content.decode()
    assert survey_b.title in html
    assert 'name="_save"' not in html and "Add instrument" not in html
    assert response.context["adminform"].form.fields == {}  # every field rendered read-only
    post = split_user.post(change, {"title": "hijacked", "slug": "hijacked", "status": "live"})
    assert post.status_code == 403
    assert split_user.get(url(Survey, "delete", survey_b.pk)).status_code == 403
    assert split_user.post(url(Survey, "delete", survey_b.pk), {"post": "yes"}).status_code == 403
    instrument = split_user.post(url(Survey, "add_instrument", survey_b.pk), {"choice": "juster_1966"})
    assert instrument.status_code == 403
    survey_b.refresh_from_db()
    assert (survey_b.title, survey_b.slug, survey_b.status) != ("hijacked", "hijacked", "live")
    assert survey_b.questions.count() == 1


def test_split_user_deactivate_of_other_brand_is_forbidden(split_user, two_brands):
    creator_b = two_brands["b"]["creator"]
    response = post_action(split_user, Creator, "deactivate", [creator_b.pk])
    assert response.status_code == 403
    creator_b.refresh_from_db()
    assert creator_b.active is True


def test_split_user_mixed_selection_is_forbidden(split_user, two_brands):
    """Selecting an own and a foreign creator together must not deactivate either."""
    ids = [two_brands["a"]["creator"].pk, two_brands["b"]["creator"].pk]
    assert post_action(split_user, Creator, "deactivate", ids).status_code == 403
    assert set(Creator.objects.filter(pk__in=ids).values_list("active", flat=True)) == {True}


# --- 4. roles -----------------------------------------------------------------------------------


def test_analyst_can_view_but_not_change(client, two_brands):
    a = two_brands["a"]
    analyst = UserFactory(username="analyst_a")
    MembershipFactory(user=analyst, brand=a["brand"], role=Role.ANALYST)
    response_row = ResponseFactory(link=a["link"])
    client.force_login(analyst)

    for model, obj in ((Survey, a["survey"]), (Response, response_row), (Creator, a["creator"])):
        listing = client.get(url(model, "changelist"))
        assert listing.status_code == 200, model
        assert pks(listing.context["cl"].result_list) == {obj.pk}
        assert listing.context["has_add_permission"] is False
        page = client.get(url(model, "change", obj.pk))
        assert page.status_code == 200, model
        assert page.context["has_change_permission"] is False
        assert 'name="_save"' not in page.content.decode()
        assert client.get(url(model, "add")).status_code == 403
        assert client.get(url(model, "delete", obj.pk)).status_code == 403
        assert client.post(url(model, "delete", obj.pk), {"post": "yes"}).status_code == 403
    assert client.get(url(Survey, "changelist")).context["action_form"] is None

    assert client.post(url(Survey, "change", a["survey"].pk), {"title": "x", "slug": "x"}).status_code == 403
    new_survey = {"brand": a["brand"].pk, "title": "t", "slug": "t"}
    assert client.post(url(Survey, "add"), new_survey).status_code == 403
    assert client.get(url(Membership, "changelist")).status_code == 403
    assert Survey.objects.filter(brand=a["brand"]).count() == 1
    assert Survey.objects.get(pk=a["survey"].pk).title == a["survey"].title


def creator_post(brand_id: int, handle: str) -> dict:
    return {
        "brand": brand_id,
        "handle": handle,
        "display_name": "New One",
        "platform": "tiktok",
        "followers": "150000",
        "niche": "",
        "engagement_rate": "",
        "active": "on",
    }


def test_editor_adds_creator_in_own_brand_only(client, two_brands):
    a, b = two_brands["a"], two_brands["b"]
    client.force_login(a["editor"])
    response = client.post(url(Creator, "add"), creator_post(a["brand"].pk, "@fresh"))
    assert response.status_code == 302
    created = Creator.objects.get(handle="fresh")
    assert (created.brand, created.tier, created.followers) == (a["brand"], "macro", 150_000)

    response = client.post(url(Creator, "add"), creator_post(b["brand"].pk, "intruder"))
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "Select a valid choice" in errors["brand"][0]
    assert not Creator.objects.filter(handle="intruder").exists()
    assert b["brand"].creators.count() == 1


def test_editor_cannot_change_brand_or_see_memberships(client, two_brands):
    a = two_brands["a"]
    client.force_login(a["editor"])
    page = client.get(url(Brand, "change", a["brand"].pk))
    assert page.status_code == 200 and page.context["has_change_permission"] is False
    assert client.post(url(Brand, "change", a["brand"].pk), {"name": "Renamed"}).status_code == 403
    assert client.get(url(Membership, "changelist")).status_code == 403
    assert Brand.objects.get(pk=a["brand"].pk).name == "Brand A"


def test_superuser_sees_both_brands(client, data):
    client.force_login(UserFactory(is_superuser=True))
    for model in ALL_MODELS:
        found = pks(client.get(url(model, "changelist")).context["cl"].result_list)
        assert found == {objects_of(data["a"], model).pk, objects_of(data["b"], model).pk}, model
    assert client.get(url(Survey, "change", data["b"]["survey"].pk)).status_code == 200


# --- 5. admin features --------------------------------------------------------------------------


def test_add_instrument_view_adds_fifteen_questions(client_a, data):
    survey = data["a"]["survey"]
    add_url = url(Survey, "add_instrument", survey.pk)
    page = client_a.get(add_url)
    assert page.status_code == 200
    assert "Source credibility (Ohanian 1990)" in page.content.decode()
    assert add_url in client_a.get(url(Survey, "change", survey.pk)).content.decode()

    response = client_a.post(add_url, {"choice": "ohanian_1990"})
    assert response.status_code == 302
    assert response["Location"] == url(Survey, "change", survey.pk)
    added = survey.questions.filter(instrument="ohanian_1990").order_by("position")
    assert added.count() == 15
    assert survey.questions.count() == 16
    assert added[0].code == "tru_1" and added[0].position > data["a"]["question"].position

    again = client_a.post(add_url, {"choice": "ohanian_1990"})
    assert again.status_code == 200
    assert "already has the codes tru_1" in str(again.context["form"].errors["choice"])
    assert survey.questions.count() == 16


def test_duplicate_action_creates_a_draft_copy(client_a, data):
    survey = data["a"]["survey"]
    QuestionFactory(survey=survey, code="extra_a")
    Survey.objects.filter(pk=survey.pk).update(status=SurveyStatus.LIVE)
    response = post_action(client_a, Survey, "duplicate", [survey.pk])
    assert response.status_code == 302
    copy = Survey.objects.get(brand=survey.brand, slug="survey-a-copy")
    assert copy.status == SurveyStatus.DRAFT and copy.launched_at is None
    assert copy.title == f"{survey.title} (copy)"
    codes = lambda s: list(s.questions.order_by("position").values_list("code", flat=True))  # noqa: E731
    assert codes(copy) == codes(survey) == ["trust_a", "extra_a"]
    assert copy.links.count() == 0 and copy.responses.count() == 0


def test_create_links_action(client_a, data):
    a = data["a"]
    new = [CreatorFactory(brand=a["brand"], handle=f"new_{i}") for i in range(2)]
    ids = [a["creator"].pk, *(c.pk for c in new)]

    page = post_action(client_a, Creator, "create_links", ids)
    assert page.status_code == 200
    assert pks(page.context["queryset"]) == set(ids)
    assert pks(page.context["form"].fields["choice"].queryset) == {a["survey"].pk}

    response = post_action(client_a, Creator, "create_links", ids, apply="1", choice=str(a["survey"].pk))
    assert response.status_code == 302
    assert set(a["survey"].links.values_list("creator_id", flat=True)) == set(ids)
    messages = [str(m) for m in client_a.get(url(Creator, "changelist")).context["messages"]]
    assert any("Created 2 link(s)" in m and "1 creator(s) already had one" in m for m in messages)


def test_survey_change_page_shows_links_snippets_and_live_counts(client_a, data):
    a = data["a"]
    second = CreatorFactory(brand=a["brand"], handle="second_a", display_name="Second")
    quiet = CreatorLink.objects.create(survey=a["survey"], creator=second)
    ResponseFactory.create_batch(2, link=a["link"])  # plus the fixture's one: 3 real responses
    ResponseFactory(link=a["link"], is_test=True)

    response = client_a.get(url(Survey, "change", a["survey"].pk))
    links = inline_formset(response, CreatorLink)
    counts = {f.original.pk: f.original.response_count for f in links if f.original}
    assert counts == {a["link"].pk: 3, quiet.pk: 0}

    html = response.content.decode()
    values = parse_form(html, "survey_form").all_input_values
    for link in (a["link"], quiet):
        assert f"/s/{link.token}/" in link.share_url
        assert link.share_url in values
        assert embed.script_snippet(link) in values
        assert embed.iframe_snippet(link) in values
    rows = re.findall(r'<tr[^>]* id="links-(\d+)".*?class="field-responses">\s*<p>(\d+)</p>', html, re.S)
    shown = {links.formset.forms[int(i)].instance.pk: int(n) for i, n in rows}
    assert shown == {a["link"].pk: 3, quiet.pk: 0}

    survey_row = client_a.get(url(Survey, "changelist")).context["cl"].result_list[0]
    assert survey_row.n_responses == 3
    creators = client_a.get(url(Creator, "changelist")).context["cl"].result_list
    assert {c.handle: c.n_responses for c in creators} == {"creator_a": 3, "second_a": 0}


# --- 6. refusals --------------------------------------------------------------------------------


def survey_form_post(client, survey) -> tuple[dict, dict[int, int]]:
    """Return the POST a browser would send from the survey's change page, and {question pk: form index}."""
    response = client.get(url(Survey, "change", survey.pk))
    assert response.status_code == 200
    post = parse_form(response.content.decode(), "survey_form").data
    post["_save"] = ["Save"]
    questions = inline_formset(response, Question).formset
    assert post[f"{questions.prefix}-TOTAL_FORMS"] == [str(len(questions.forms))]
    index = {form.instance.pk: i for i, form in enumerate(questions.forms)}
    return post, index


def test_deleting_an_answered_question_in_the_inline_is_refused(client_a, data):
    survey = data["a"]["survey"]
    answered = data["a"]["question"]
    spare = QuestionFactory(survey=survey, code="spare_a")
    ResponseFactory(link=data["a"]["link"], answers={"trust_a": 6})

    # The unchanged form saves: the POST is what a browser would send.
    post, index = survey_form_post(client_a, survey)
    assert client_a.post(url(Survey, "change", survey.pk), post).status_code == 302

    post, index = survey_form_post(client_a, survey)
    post[f"questions-{index[answered.pk]}-DELETE"] = ["on"]
    response = client_a.post(url(Survey, "change", survey.pk), post)
    assert response.status_code == 200
    errors = inline_formset(response, Question).formset.non_form_errors()
    assert len(errors) == 1 and "“trust_a” already has answers and cannot be deleted" in errors[0]
    assert "“trust_a” already has answers" in response.content.decode()
    assert Question.objects.filter(pk=answered.pk).exists()

    # An unanswered question can be deleted through the same form.
    post, index = survey_form_post(client_a, survey)
    post[f"questions-{index[spare.pk]}-DELETE"] = ["on"]
    assert client_a.post(url(Survey, "change", survey.pk), post).status_code == 302
    assert list(survey.questions.values_list("code", flat=True)) == ["trust_a"]


def test_question_admin_refuses_deleting_an_answered_question(client_a, data):
    question = data["a"]["question"]
    ResponseFactory(link=data["a"]["link"], answers={"trust_a": 2})
    page = client_a.get(url(Question, "delete", question.pk))
    assert "“trust_a” already has answers and cannot be deleted" in page.content.decode()
    assert client_a.post(url(Question, "delete", question.pk), {"post": "yes"}).status_code == 200
    assert Question.objects.filter(pk=question.pk).exists()


def test_creator_with_responses_must_be_deactivated_not_deleted(client_a, data):
    creator = data["a"]["creator"]
    page = client_a.get(url(Creator, "delete", creator.pk))
    assert page.status_code == 200
    assert page.context["protected"] == [
        "@creator_a has 1 responses: deactivate the creator instead of deleting it."
    ]
    assert "deactivate the creator instead of deleting it" in page.content.decode()
    assert client_a.post(url(Creator, "delete", creator.pk), {"post": "yes"}).status_code == 200
    assert post_action(client_a, Creator, "delete_selected", [creator.pk], post="yes").status_code == 200
    assert Creator.objects.filter(pk=creator.pk).exists()

    assert post_action(client_a, Creator, "deactivate", [creator.pk]).status_code == 302
    creator.refresh_from_db()
    assert creator.active is False
    assert Response.objects.filter(creator=creator).count() == 1


def test_creator_without_responses_can_be_deleted(client_a, data):
    spare = CreatorFactory(brand=data["a"]["brand"], handle="spare_a")
    assert client_a.post(url(Creator, "delete", spare.pk), {"post": "yes"}).status_code == 302
    assert not Creator.objects.filter(pk=spare.pk).exists()
