"""REST API, first resources: tokens, brands, creators — brand isolation and the one error shape."""

import json
from urllib.request import Request, urlopen

import pytest
from rest_framework.test import APIClient

from surveys.choices import Role
from surveys.models import ApiToken, Creator
from surveys.tokens import hash_key, issue_token, revoke_token
from tests.factories import CreatorLinkFactory, MembershipFactory, ResponseFactory, UserFactory


def client_for(user) -> tuple[APIClient, str]:
    _, key = issue_token(user, "tests")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client, key


def test_tokens_are_stored_hashed_and_revocable(two_brands):
    client, key = client_for(two_brands["a"]["editor"])
    token = ApiToken.objects.get()
    assert token.key_hash == hash_key(key) and key not in json.dumps(list(ApiToken.objects.values()), default=str)
    assert token.prefix == key[:8] and key.startswith("tp_")
    assert client.get("/api/v1/brands/").status_code == 200
    revoke_token(token)
    response = client.get("/api/v1/brands/")
    assert response.status_code == 401
    assert response.json() == {"detail": "The token is unknown or revoked.", "errors": {}}
    assert APIClient().get("/api/v1/brands/").status_code == 401


def test_the_admin_shows_a_new_key_once_and_lists_only_own_tokens(client, two_brands):
    editor = two_brands["a"]["editor"]
    client.force_login(editor)
    response = client.post("/admin/surveys/apitoken/add/", {"name": "CRM sync"}, follow=True)
    shown = [str(m) for m in response.context["messages"]]
    key = shown[0].split(": ")[-1]
    assert ApiToken.objects.get(name="CRM sync").key_hash == hash_key(key)
    issue_token(two_brands["b"]["editor"], "someone else's")
    page = client.get("/admin/surveys/apitoken/").content.decode()
    assert "CRM sync" in page and "someone else" not in page
    other = ApiToken.objects.get(name="someone else's")
    assert client.get(f"/admin/surveys/apitoken/{other.pk}/change/").status_code == 404


def test_brands_lists_only_the_users_brands_with_roles(two_brands):
    client, _ = client_for(two_brands["a"]["editor"])
    data = client.get("/api/v1/brands/").json()["results"]
    assert [(b["slug"], b["role"]) for b in data] == [("brand-a", "editor")]
    assert client.get(f"/api/v1/brands/{two_brands['b']['brand'].pk}/").status_code == 404


def test_creators_crud_within_the_brand(two_brands):
    brand = two_brands["a"]["brand"]
    client, _ = client_for(two_brands["a"]["editor"])
    created = client.post("/api/v1/creators/", {"brand": brand.pk, "handle": "@new_face", "display_name": "New Face",
                                                "platform": "tiktok", "followers": 12_000}, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert (body["handle"], body["tier"]) == ("new_face", "micro")
    changed = client.patch(f"/api/v1/creators/{body['id']}/", {"followers": 150_000}, format="json")
    assert changed.json()["tier"] == "macro"
    listed = client.get("/api/v1/creators/", {"tier": "macro"}).json()["results"]
    assert [c["handle"] for c in listed] == ["new_face"]
    assert client.delete(f"/api/v1/creators/{body['id']}/").status_code == 204


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_another_brands_creator_is_a_404(two_brands, method):
    client, _ = client_for(two_brands["a"]["editor"])
    other = two_brands["b"]["creator"]
    response = getattr(client, method)(f"/api/v1/creators/{other.pk}/", {"display_name": "x"} if method == "patch" else None, format="json")
    assert response.status_code == 404
    assert response.json()["errors"] == {}
    other.refresh_from_db()
    assert other.display_name != "x" and Creator.objects.filter(pk=other.pk).exists()


def test_another_brand_cannot_be_referenced(two_brands):
    client, _ = client_for(two_brands["a"]["editor"])
    response = client.post("/api/v1/creators/", {"brand": two_brands["b"]["brand"].pk, "handle": "sneaky", "display_name": "S",
                                                 "platform": "x", "followers": 5}, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "The request is invalid."
    assert list(response.json()["errors"]) == ["brand"]
    assert not Creator.objects.filter(handle="sneaky").exists()


def test_validation_errors_name_each_field(two_brands):
    client, _ = client_for(two_brands["a"]["editor"])
    response = client.post("/api/v1/creators/", {"brand": two_brands["a"]["brand"].pk, "handle": "creator_a",
                                                 "platform": "myspace", "followers": -1}, format="json")
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"display_name", "platform", "followers"}


def test_analysts_read_but_do_not_write(two_brands):
    analyst = UserFactory()
    MembershipFactory(user=analyst, brand=two_brands["a"]["brand"], role=Role.ANALYST)
    client, _ = client_for(analyst)
    creator = two_brands["a"]["creator"]
    assert client.get(f"/api/v1/creators/{creator.pk}/").status_code == 200
    assert client.patch(f"/api/v1/creators/{creator.pk}/", {"display_name": "x"}, format="json").status_code == 403
    response = client.post("/api/v1/creators/", {"brand": two_brands["a"]["brand"].pk, "handle": "z", "display_name": "Z",
                                                 "platform": "x", "followers": 5}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["brand"]


def test_a_creator_with_responses_is_deactivated_not_deleted(two_brands):
    client, _ = client_for(two_brands["a"]["editor"])
    creator = two_brands["a"]["creator"]
    ResponseFactory(link=two_brands["a"]["link"])
    response = client.delete(f"/api/v1/creators/{creator.pk}/")
    assert response.status_code == 400 and "deactivate" in response.json()["errors"]["creator"][0]
    assert client.patch(f"/api/v1/creators/{creator.pk}/", {"active": False}, format="json").json()["active"] is False


@pytest.mark.django_db(transaction=True)
def test_the_api_over_real_http(live_server):
    user = UserFactory()
    membership = MembershipFactory(user=user, role=Role.OWNER)
    _, key = issue_token(user, "http")
    body = json.dumps({"brand": membership.brand_id, "handle": "over_http", "display_name": "Over HTTP",
                       "platform": "blog", "followers": 900}).encode()
    request = Request(f"{live_server.url}/api/v1/creators/", data=body, method="POST",
                      headers={"Authorization": f"Token {key}", "Content-Type": "application/json"})
    with urlopen(request) as reply:
        assert reply.status == 201
        assert json.loads(reply.read())["tier"] == "nano"
    with urlopen(Request(f"{live_server.url}/api/v1/creators/", headers={"Authorization": f"Token {key}"})) as reply:
        assert [c["handle"] for c in json.loads(reply.read())["results"]] == ["over_http"]


def test_bulk_creators_are_all_or_nothing_with_errors_by_row(two_brands):
    client, _ = client_for(two_brands["a"]["editor"])
    brand = two_brands["a"]["brand"].pk
    rows = [
        {"brand": brand, "handle": "bulk_one", "display_name": "One", "platform": "tiktok", "followers": 500},
        {"brand": brand, "handle": "bulk_two", "display_name": "Two", "platform": "myspace", "followers": 500},
        {"brand": two_brands["b"]["brand"].pk, "handle": "bulk_three", "display_name": "Three", "platform": "x", "followers": 5},
        {"brand": brand, "handle": "bulk_one", "display_name": "Again", "platform": "x", "followers": 5},
    ]
    refused = client.post("/api/v1/creators/bulk/", rows, format="json")
    errors = refused.json()["errors"]
    assert refused.status_code == 400 and set(errors) == {"rows", "row 2.platform", "row 3.brand", "row 4.handle"}
    assert not Creator.objects.filter(handle__startswith="bulk_").exists()
    partial = client.post("/api/v1/creators/bulk/?partial=true", rows, format="json")
    assert partial.status_code == 201
    assert [c["handle"] for c in partial.json()["created"]] == ["bulk_one"]
    assert set(partial.json()["errors"]) == {"row 2", "row 3", "row 4"}


def test_bulk_creators_from_a_csv_upload(two_brands):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client, _ = client_for(two_brands["a"]["editor"])
    csv_file = SimpleUploadedFile("creators.csv", b"handle,display_name,platform,followers\ncsv_a,A,blog,100\ncsv_b,B,x,2000000\n")
    created = client.post("/api/v1/creators/bulk/", {"file": csv_file, "brand": two_brands["a"]["brand"].pk}, format="multipart")
    assert created.status_code == 201, created.json()
    assert [(c["handle"], c["tier"]) for c in created.json()["created"]] == [("csv_a", "nano"), ("csv_b", "celebrity")]


def test_requests_are_throttled_per_user_with_retry_after(two_brands, settings):
    settings.API_RATE_LIMIT = "3/m"
    client, _ = client_for(two_brands["a"]["editor"])
    assert [client.get("/api/v1/brands/").status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get("/api/v1/brands/")
    assert limited.status_code == 429 and int(limited["Retry-After"]) > 0
    assert set(limited.json()) == {"detail", "errors"}
    other, _ = client_for(two_brands["b"]["editor"])
    assert other.get("/api/v1/brands/").status_code == 200
