"""The REST API end to end (the README's walkthrough), and brand isolation on every detail route."""

import re

import pytest
from rest_framework.test import APIClient

from surveys.api.urls import router
from surveys.choices import Role
from django.urls import reverse

from datetime import timedelta

from django.utils import timezone

from surveys.models import AnalysisRun, AuditEvent, Creator, CreatorLink, Export, Invitation, Membership, Order, Question, Response, WebhookEndpoint
from surveys.tokens import issue_token
from tests.factories import MembershipFactory, UserFactory


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {issue_token(user, 't')[1]}")
    return client


def test_walkthrough_from_creators_to_an_export():
    owner = UserFactory()
    brand = MembershipFactory(user=owner, role=Role.OWNER).brand
    api = token_client(owner)
    creators = [api.post("/api/v1/creators/", {"brand": brand.pk, "handle": f"c{i}", "display_name": f"C {i}",
                                              "platform": "instagram", "followers": 5_000 * (i + 1)}, format="json").json()["id"]
                for i in range(3)]
    survey = api.post("/api/v1/surveys/", {"brand": brand.pk, "title": "Trust", "slug": "trust",
                                           "allowed_origins": ["https://shop.example"]}, format="json")
    assert survey.status_code == 201, survey.json()
    survey_id = survey.json()["id"]
    assert api.get("/api/v1/instruments/").json()[0]["key"] == "ohanian_1990"
    for key in ("ohanian_1990", "spears_singh_2004", "reported_purchase"):
        assert api.post(f"/api/v1/surveys/{survey_id}/instruments/", {"instrument": key}, format="json").status_code == 201
    assert api.patch(f"/api/v1/surveys/{survey_id}/", {"status": "live"}, format="json").json()["status"] == "live"
    links = api.post(f"/api/v1/surveys/{survey_id}/links/", {"creators": creators}, format="json")
    assert links.status_code == 201 and len(links.json()) == 3
    token = links.json()[0]["token"]
    assert links.json()[0]["share_url"].endswith(f"/s/{token}/") and "embed.js" in links.json()[0]["embed_snippets"]["Embed (script)"]

    public = APIClient()
    definition = public.get(f"/api/v1/public/links/{token}/").json()
    answers = {q["code"]: 4 for q in definition["questions"] if q["kind"] == "semantic"} | {"bought": 0}
    sent = public.post(f"/api/v1/public/links/{token}/responses/", {"form_token": definition["form_token"], "answers": answers}, format="json")
    assert sent.status_code == 201, sent.json()

    listed = api.get("/api/v1/responses/", {"survey": survey_id}).json()
    assert len(listed["results"]) == 1 and "respondent_hash" not in listed["results"][0]

    started = api.post(f"/api/v1/surveys/{survey_id}/analyses/", {"spec": {"se": "classic"}}, format="json")
    assert started.status_code == 202 and started["Location"].endswith(f"/api/v1/analyses/{started.json()['id']}/")
    run = api.get(started.json()["status_url"]).json()
    assert run["status"] in ("succeeded", "failed")  # one response: models may refuse, the run still finishes

    queued = api.post(f"/api/v1/surveys/{survey_id}/exports/", {"format": "csv"}, format="json")
    assert queued.status_code == 202
    export = api.get(queued.json()["status_url"]).json()
    assert export["status"] == "ready" and export["rows"] == 1
    client = APIClient()
    client.force_login(owner)
    assert client.get(export["download_url"]).status_code == 200


def test_bad_specs_and_formats_are_400s_naming_the_field(two_brands):
    api = token_client(two_brands["a"]["editor"])
    survey = two_brands["a"]["survey"]
    bad = api.post(f"/api/v1/surveys/{survey.pk}/analyses/", {"spec": {"se": "jackknife"}}, format="json")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["se"]
    bad = api.post(f"/api/v1/surveys/{survey.pk}/exports/", {"format": "pdf"}, format="json")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["format"]
    other = two_brands["b"]["creator"]
    bad = api.post(f"/api/v1/surveys/{survey.pk}/links/", {"creators": [other.pk]}, format="json")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["creators"]
    assert api.get("/api/v1/responses/", {"test": "maybe"}).status_code == 400


def _objects(data):
    """Brand B's object of every routed resource."""
    b = data["b"]
    run = AnalysisRun.objects.create(survey=b["survey"], spec={})
    export = Export.objects.create(survey=b["survey"], format="csv")
    response = Response.objects.create(survey=b["survey"], creator=b["creator"], link=b["link"], creator_tier="micro", creator_followers=1)
    member = Membership.objects.filter(brand=b["brand"]).first()
    invitation = Invitation.objects.create(brand=b["brand"], email="x@b.example", role="editor", key_hash="b" * 64,
                                           expires_at=timezone.now() + timedelta(days=1))
    audit = AuditEvent.objects.create(brand=b["brand"], action="invited", subject="x@b.example")
    webhook = WebhookEndpoint.objects.create(brand=b["brand"], url="https://b.example/hook", secret="whsec_b")
    order = Order.objects.create(brand=b["brand"], order_id="B-1", placed_at=timezone.now(), amount=1, currency="EUR")
    return {"brand": b["brand"], "creator": b["creator"], "survey": b["survey"], "link": b["link"], "response": response,
            "analysis": run, "export": export, "question": b["question"], "member": member, "invitation": invitation,
            "audit": audit, "webhook": webhook, "order": order}


@pytest.mark.parametrize("prefix,viewset,basename", [(p, v, b) for p, v, b in router.registry if b not in ("instrument", "outcome")])
def test_every_detail_route_hides_other_brands(two_brands, prefix, viewset, basename):
    api = token_client(two_brands["a"]["owner"])
    target = _objects(two_brands)[basename]
    url = f"/api/v1/{prefix}/{target.pk}/"
    for method in ("get", "patch", "put", "delete"):
        status = getattr(api, method)(url, {}, format="json").status_code
        assert status in (404, 405), (method, url, status)
    assert api.get(url).status_code == 404
    assert str(target.pk) not in re.findall(r'"id":\s*(\d+)', api.get(f"/api/v1/{prefix}/").content.decode()) or prefix == "brands"


OBJECT_ROUTES = [(p.name, method) for p in router.urls if "(?P<pk>" in str(p.pattern) for method in p.callback.actions]


@pytest.mark.parametrize("name,method", OBJECT_ROUTES)
def test_every_object_route_and_method_is_a_404_on_another_brands_object(two_brands, name, method):
    """Generated from the URL conf: brand A's editor reaching brand B's object by any route and method."""
    api = token_client(two_brands["a"]["owner"])
    target = _objects(two_brands)[name.split("-")[0]]
    url = reverse(f"surveys:{name}", kwargs={"pk": target.pk})
    body = {"creators": [two_brands["a"]["creator"].pk], "instrument": "juster_1966", "format": "csv", "status": "closed",
            "wording": "x", "active": False}
    counts = lambda: [m.objects.count() for m in (AnalysisRun, Export, CreatorLink, Question, Creator, Membership, Invitation, WebhookEndpoint)]  # noqa: E731
    before, state = counts(), type(target).objects.filter(pk=target.pk).values().get()
    reply = getattr(api, method)(url, body, format="json")
    assert reply.status_code == 404, (method, url, reply.status_code)
    assert reply.json()["detail"] and "errors" in reply.json()
    assert counts() == before and type(target).objects.filter(pk=target.pk).values().get() == state


def test_analysts_cannot_change_surveys(two_brands):
    analyst = UserFactory()
    MembershipFactory(user=analyst, brand=two_brands["a"]["brand"], role=Role.ANALYST)
    api = token_client(analyst)
    survey = two_brands["a"]["survey"]
    assert api.get(f"/api/v1/surveys/{survey.pk}/").status_code == 200
    assert api.patch(f"/api/v1/surveys/{survey.pk}/", {"title": "x"}, format="json").status_code == 403
    assert api.post(f"/api/v1/surveys/{survey.pk}/instruments/", {"instrument": "juster_1966"}, format="json").status_code == 403


def test_the_openapi_schema_is_valid_and_documents_every_route(client):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = set(schema["paths"])
    for prefix, _, basename in router.registry:
        assert f"/api/v1/{prefix}/" in paths or f"/api/v1/{prefix}/{{id}}/" in paths, prefix
    assert "/api/v1/public/links/{token}/responses/" in paths
    assert "tokenAuth" in schema["components"]["securitySchemes"]
    docs = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in docs and "https://" not in docs.replace("https://swagger.io", "")  # assets served locally


def test_exports_download_with_the_api_token_too(two_brands):
    from surveys import files

    export = files.request_export(two_brands["a"]["survey"], format="codebook")
    api = token_client(two_brands["a"]["editor"])
    assert api.get(f"/exports/{export.pk}/download/").status_code == 200
    assert token_client(two_brands["b"]["editor"]).get(f"/exports/{export.pk}/download/").status_code == 404
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token tp_nonsense")
    assert bad.get(f"/exports/{export.pk}/download/").status_code == 401


def test_questions_through_the_api_follow_the_admins_rules(two_brands):
    api = token_client(two_brands["a"]["editor"])
    survey = two_brands["a"]["survey"]
    added = api.post(f"/api/v1/surveys/{survey.pk}/questions/", {"code": "bought", "wording": "Bought?", "kind": "yes_no",
                                                                  "construct": "reported_purchase"}, format="json")
    assert added.status_code == 201, added.json()
    counted = api.post(f"/api/v1/surveys/{survey.pk}/questions/", {"code": "times", "wording": "How often?", "kind": "number",
                                                                    "condition_code": "bought", "condition_values": [1]}, format="json")
    assert counted.status_code == 201 and counted.json()["condition"] == {"code": "bought", "values": [1]}
    bad = api.post(f"/api/v1/surveys/{survey.pk}/questions/", {"code": "with", "wording": "x", "kind": "text"}, format="json")
    assert bad.status_code == 400 and "SPSS" in bad.json()["errors"]["code"][0]
    question = two_brands["a"]["question"]
    from tests.factories import ResponseFactory

    ResponseFactory(link=two_brands["a"]["link"], answers={question.code: 5})
    refused = api.patch(f"/api/v1/questions/{question.pk}/", {"kind": "semantic"}, format="json")
    assert refused.status_code == 400 and "already has answers" in json_text(refused)
    assert api.patch(f"/api/v1/questions/{question.pk}/", {"wording": "Fixed {creator}?"}, format="json").status_code == 200
    assert question.wordings.count() == 2
    assert api.delete(f"/api/v1/questions/{question.pk}/").status_code == 400
    assert api.delete(f"/api/v1/questions/{counted.json()['id']}/").status_code == 204
    assert token_client(two_brands["b"]["editor"]).get(f"/api/v1/questions/{question.pk}/").status_code == 404


def json_text(response) -> str:
    import json

    return json.dumps(response.json())


def test_list_ordering(two_brands):
    from tests.factories import CreatorFactory

    brand = two_brands["a"]["brand"]
    CreatorFactory(brand=brand, handle="big", followers=900_000)
    CreatorFactory(brand=brand, handle="small", followers=10)
    api = token_client(two_brands["a"]["editor"])
    handles = [c["handle"] for c in api.get("/api/v1/creators/", {"ordering": "-followers"}).json()["results"]]
    assert handles[0] == "big" and handles[-1] == "small"


def test_every_operation_documents_the_error_responses(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/") and not path.startswith("/api/v1/public/"):
            for method, operation in operations.items():
                assert {"401", "404", "429"} <= set(operation["responses"]), (method, path)


def test_lists_come_in_pages(two_brands):
    from tests.factories import CreatorFactory

    brand = two_brands["a"]["brand"]
    for i in range(5):
        CreatorFactory(brand=brand, handle=f"paged{i}", followers=1000 + i)
    api = token_client(two_brands["a"]["editor"])
    first = api.get("/api/v1/creators/", {"ordering": "followers", "page_size": 2, "brand": brand.pk}).json()
    total = Creator.objects.filter(brand=brand).count()
    assert first["count"] == total and len(first["results"]) == 2 and first["previous"] is None
    seen = [c["handle"] for c in first["results"]]
    page = first
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [c["handle"] for c in page["results"]]
    assert len(seen) == total == len(set(seen))
    assert [h for h in seen if h.startswith("paged")] == [f"paged{i}" for i in range(5)]
    too_far = api.get("/api/v1/creators/", {"page": 99})
    assert too_far.status_code == 404 and too_far.json()["detail"]


@pytest.mark.parametrize("path", ["/api/v1/creators/", "/api/v1/surveys/", "/api/v1/links/", "/api/v1/responses/"])
def test_an_id_filter_that_is_not_an_id_is_a_400_naming_it(two_brands, path):
    api = token_client(two_brands["a"]["editor"])
    name = "survey" if path.endswith(("links/", "responses/")) else "brand"
    reply = api.get(path, {name: "abc"})
    assert reply.status_code == 400 and reply.json()["errors"] == {name: ["Give an id."]}


def test_surveys_filter_by_slug_status_and_brand(two_brands):
    from tests.factories import SurveyFactory

    brand = two_brands["a"]["brand"]
    SurveyFactory(brand=brand, slug="findme", status="live")
    api = token_client(two_brands["a"]["editor"])
    found = api.get("/api/v1/surveys/", {"slug": "findme", "brand": brand.pk}).json()["results"]
    assert [s["slug"] for s in found] == ["findme"]
    assert api.get("/api/v1/surveys/", {"slug": "findme", "status": "draft"}).json()["count"] == 0
    assert api.get("/api/v1/surveys/", {"brand": two_brands["b"]["brand"].pk}).json()["count"] == 0
