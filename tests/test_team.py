"""A brand's team: invitations by email, roles, removal, the audit log, sign-in limits and password reset."""

import re
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client
from django.utils import timezone

from surveys import team
from surveys.choices import Role
from surveys.models import AuditEvent, Brand, Invitation, Membership
from tests.factories import BrandFactory, MembershipFactory, UserFactory

User = get_user_model()


def emailed_path(message) -> str:
    """Return the path of the one link in an email."""
    return urlsplit(re.search(r"https?://\S+", message.body).group(0)).path


def invite_in_admin(client, brand, email, role) -> str:
    """Invite through the admin's add form; return the emailed link's path."""
    before = len(mail.outbox)
    response = client.post("/admin/surveys/invitation/add/", {"brand": brand.pk, "email": email, "role": role}, follow=True)
    assert response.status_code == 200
    assert len(mail.outbox) == before + 1, response.content.decode()[:2000]
    assert mail.outbox[-1].to == [email]
    return emailed_path(mail.outbox[-1])


def accept(path, username, password="a-Long-passw0rd!") -> Client:
    browser = Client()
    page = browser.get(path)
    assert page.status_code == 200 and "Join" in page.content.decode()
    done = browser.post(path, {"username": username, "password1": password, "password2": password})
    assert done.status_code == 302 and done["Location"] == "/admin/", done.content.decode()[:3000]
    return browser


# --- the acceptance walk: a superuser founds a brand and invites an editor and an analyst ----------


def test_a_new_owner_invites_an_editor_and_an_analyst_who_sign_in_through_their_links(client):
    founder = User.objects.create_superuser("founder", "founder@brand.example", "x-Long-passw0rd!")
    client.force_login(founder)
    created = client.post("/admin/surveys/brand/add/", {"name": "Glow Co", "slug": "glow", "tier_micro_min": 10000,
                                                          "tier_macro_min": 100000, "tier_celebrity_min": 1000000}, follow=True)
    assert created.status_code == 200
    brand = Brand.objects.get(slug="glow")
    assert Membership.objects.get(brand=brand).user == founder and Membership.objects.get(brand=brand).role == Role.OWNER

    editor_link = invite_in_admin(client, brand, "ed@glow.example", Role.EDITOR)
    analyst_link = invite_in_admin(client, brand, "an@glow.example", Role.ANALYST)
    assert "Glow Co" in mail.outbox[0].subject and "editor" in mail.outbox[0].body

    editor = accept(editor_link, "ed")
    analyst = accept(analyst_link, "an")
    assert editor.get("/admin/surveys/creator/add/").status_code == 200
    assert analyst.get("/admin/surveys/creator/").status_code == 200
    assert analyst.get("/admin/surveys/creator/add/").status_code == 403
    roles = dict(Membership.objects.filter(brand=brand).values_list("user__username", "role"))
    assert roles == {"founder": Role.OWNER, "ed": Role.EDITOR, "an": Role.ANALYST}
    assert User.objects.get(username="ed").is_staff and not User.objects.get(username="ed").is_superuser
    # They sign in again later with the password they chose.
    again = Client()
    assert again.post("/admin/login/", {"username": "an", "password": "a-Long-passw0rd!"})["Location"] == "/admin/"
    actions = list(AuditEvent.objects.filter(brand=brand).order_by("at", "id").values_list("action", "subject"))
    assert actions == [("joined", "founder"), ("invited", "ed@glow.example"), ("invited", "an@glow.example"),
                       ("joined", "ed"), ("joined", "an")]


# --- invitation links -----------------------------------------------------------------------------


@pytest.fixture
def owner(db):
    user = UserFactory(username="olivia", email="olivia@brand.example", is_staff=True)
    brand = BrandFactory(name="Brand O", slug="brand-o")
    MembershipFactory(user=user, brand=brand, role=Role.OWNER)
    return user, brand


def test_a_link_works_once(owner):
    user, brand = owner
    _, key = team.invite_member(brand=brand, email="new@x.example", role=Role.EDITOR, invited_by=user)
    path = emailed_path(mail.outbox[0])
    assert key in path
    accept(path, "newbie")
    again = Client().get(path)
    assert again.status_code == 410 and "accepted" in again.content.decode()


def test_expired_revoked_and_unknown_links_are_refused(owner):
    user, brand = owner
    expired, expired_key = team.invite_member(brand=brand, email="late@x.example", role=Role.EDITOR, invited_by=user)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert Client().get(f"/invite/{expired_key}/").status_code == 410
    refused = Client().post(f"/invite/{expired_key}/", {"username": "late", "password1": "a-Long-passw0rd!", "password2": "a-Long-passw0rd!"})
    assert refused.status_code == 410 and not User.objects.filter(username="late").exists()
    revoked, revoked_key = team.invite_member(brand=brand, email="gone@x.example", role=Role.EDITOR, invited_by=user)
    team.revoke_invitation(revoked, by=user)
    assert "revoked" in Client().get(f"/invite/{revoked_key}/").content.decode()
    assert Client().get("/invite/not-a-key/").status_code == 404


def test_inviting_again_replaces_the_old_link(owner):
    user, brand = owner
    _, first = team.invite_member(brand=brand, email="twice@x.example", role=Role.EDITOR, invited_by=user)
    _, second = team.invite_member(brand=brand, email="twice@x.example", role=Role.ANALYST, invited_by=user)
    assert Client().get(f"/invite/{first}/").status_code == 410
    accept(f"/invite/{second}/", "twice")
    assert Membership.objects.get(user__username="twice").role == Role.ANALYST


def test_a_weak_or_mismatched_password_is_refused_with_the_reason(owner):
    user, brand = owner
    _, key = team.invite_member(brand=brand, email="weak@x.example", role=Role.EDITOR, invited_by=user)
    page = Client().post(f"/invite/{key}/", {"username": "weak", "password1": "123", "password2": "123"})
    assert page.status_code == 200 and "too short" in page.content.decode()
    page = Client().post(f"/invite/{key}/", {"username": "weak", "password1": "a-Long-passw0rd!", "password2": "other-Long-passw0rd!"})
    assert "The two passwords differ." in page.content.decode()
    assert not User.objects.filter(username="weak").exists() and Invitation.objects.get(email="weak@x.example").state == "pending"


def test_an_existing_account_joins_with_its_own_password(owner):
    user, brand = owner
    other_brand_member = UserFactory(username="agency", email="agency@x.example")
    other_brand_member.set_password("agency-Long-passw0rd!")
    other_brand_member.save()
    _, key = team.invite_member(brand=brand, email="Agency@x.example", role=Role.ANALYST, invited_by=user)
    browser = Client()
    assert "enter its password" in browser.get(f"/invite/{key}/").content.decode()
    wrong = browser.post(f"/invite/{key}/", {"password1": "nope"})
    assert wrong.status_code == 200 and "not the password" in wrong.content.decode()
    assert browser.post(f"/invite/{key}/", {"password1": "agency-Long-passw0rd!"}).status_code == 302
    assert Membership.objects.get(user=other_brand_member, brand=brand).role == Role.ANALYST


def test_members_cannot_be_invited_twice_and_only_owners_invite(owner, client):
    user, brand = owner
    with pytest.raises(Exception, match="already a member"):
        team.invite_member(brand=brand, email="olivia@brand.example", role=Role.EDITOR, invited_by=user)
    editor = UserFactory(username="eddie", is_staff=True)
    MembershipFactory(user=editor, brand=brand, role=Role.EDITOR)
    with pytest.raises(Exception, match="Only the brand's owners"):
        team.invite_member(brand=brand, email="x@x.example", role=Role.EDITOR, invited_by=editor)
    client.force_login(editor)
    assert client.get("/admin/surveys/invitation/add/").status_code == 403
    assert client.get("/admin/surveys/auditevent/").status_code == 403
    assert not mail.outbox


# --- roles and removal ----------------------------------------------------------------------------


def test_owners_change_roles_and_remove_members_but_a_brand_keeps_an_owner(owner, client):
    user, brand = owner
    editor = UserFactory(username="eddie", is_staff=True)
    membership = MembershipFactory(user=editor, brand=brand, role=Role.EDITOR)
    client.force_login(user)
    page = client.post(f"/admin/surveys/membership/{membership.pk}/change/", {"role": Role.ANALYST}, follow=True)
    assert page.status_code == 200
    assert Membership.objects.get(pk=membership.pk).role == Role.ANALYST
    own = Membership.objects.get(user=user, brand=brand)
    refused = client.post(f"/admin/surveys/membership/{own.pk}/change/", {"role": Role.EDITOR}, follow=True)
    assert "must keep at least one owner" in refused.content.decode()
    assert Membership.objects.get(pk=own.pk).role == Role.OWNER
    refused = client.post(f"/admin/surveys/membership/{own.pk}/delete/", {"post": "yes"}, follow=True)
    assert "must keep at least one owner" in refused.content.decode() and Membership.objects.filter(pk=own.pk).exists()
    client.post(f"/admin/surveys/membership/{membership.pk}/delete/", {"post": "yes"})
    assert not Membership.objects.filter(pk=membership.pk).exists() and User.objects.filter(pk=editor.pk).exists()
    log = client.get("/admin/surveys/auditevent/").content.decode()
    assert "Role changed" in log and "Removed" in log and "eddie" in log
    events = list(AuditEvent.objects.filter(brand=brand).values_list("action", "detail"))
    assert ("role_changed", {"from": "editor", "to": "analyst"}) in events


def test_a_second_owner_lets_the_first_step_down(owner):
    user, brand = owner
    second = MembershipFactory(user=UserFactory(), brand=brand, role=Role.EDITOR)
    team.change_role(second, role=Role.OWNER, by=user)
    team.change_role(Membership.objects.get(user=user, brand=brand), role=Role.ANALYST, by=user)
    assert list(Membership.objects.filter(brand=brand, role=Role.OWNER)) == [Membership.objects.get(pk=second.pk)]


# --- the API --------------------------------------------------------------------------------------


def test_the_team_through_the_api(two_brands):
    from tests.test_api_walkthrough import token_client

    a = two_brands["a"]
    api = token_client(a["owner"])
    members = api.get("/api/v1/members/").json()["results"]
    assert sorted(m["username"] for m in members) == ["editor_a", "owner_a"]
    invited = api.post("/api/v1/invitations/", {"brand": a["brand"].pk, "email": "crm@agency.example", "role": "analyst"}, format="json")
    assert invited.status_code == 201 and invited.json()["state"] == "pending" and "key" not in invited.json()
    assert mail.outbox[-1].to == ["crm@agency.example"]
    accept(emailed_path(mail.outbox[-1]), "crm")
    editor = next(m for m in members if m["username"] == "editor_a")
    assert api.patch(f"/api/v1/members/{editor['id']}/", {"role": "analyst"}, format="json").json()["role"] == "analyst"
    own = next(m for m in members if m["username"] == "owner_a")
    refused = api.patch(f"/api/v1/members/{own['id']}/", {"role": "editor"}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"] == {"role": ["Brand A must keep at least one owner."]}
    assert api.delete(f"/api/v1/members/{own['id']}/").status_code == 400
    assert api.delete(f"/api/v1/members/{editor['id']}/").status_code == 204
    audit = [e["action"] for e in api.get("/api/v1/audit/").json()["results"]]
    assert audit[:4] == ["removed", "role_changed", "joined", "invited"]

    # A removed member's token reaches nothing; editors see no team; another brand's id is as unknown as a missing one.
    assert token_client(a["editor"]).get("/api/v1/creators/").status_code == 403
    new_editor = MembershipFactory(user=UserFactory(), brand=a["brand"], role=Role.EDITOR).user
    assert token_client(new_editor).get("/api/v1/members/").json()["count"] == 0
    stranger = token_client(two_brands["b"]["editor"])
    refused = stranger.post("/api/v1/invitations/", {"brand": a["brand"].pk, "email": "x@x.example", "role": "owner"}, format="json")
    assert refused.status_code == 400 and list(refused.json()["errors"]) == ["brand"]
    bad = api.post("/api/v1/invitations/", {"brand": a["brand"].pk, "email": "not-an-email", "role": "boss"}, format="json")
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"email", "role"}


# --- signing in -----------------------------------------------------------------------------------


@pytest.fixture
def member(db):
    user = UserFactory(username="mira", email="mira@brand.example", is_staff=True)
    user.set_password("right-Long-passw0rd!")
    user.save()
    MembershipFactory(user=user, brand=BrandFactory(), role=Role.EDITOR)
    return user


def test_guessing_a_password_is_stopped_per_account(member, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = "3/15m"
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        wrong = Client(REMOTE_ADDR=address).post("/admin/login/", {"username": "mira", "password": "guess"})
        assert wrong.status_code == 200
    # Even the right password waits now, from any address: the account is what is being guessed.
    blocked = Client(REMOTE_ADDR="10.0.0.9").post("/admin/login/", {"username": "Mira", "password": "right-Long-passw0rd!"})
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) > 0 and "Too many attempts" in blocked.content.decode()
    other = UserFactory(username="otto", is_staff=True)
    other.set_password("otto-Long-passw0rd!")
    other.save()
    assert Client(REMOTE_ADDR="10.0.0.9").post("/admin/login/", {"username": "otto", "password": "otto-Long-passw0rd!"}).status_code == 302


def test_guessing_across_accounts_is_stopped_per_address(member, settings):
    settings.LOGIN_FAILURES_PER_ADDRESS = "4/15m"
    browser = Client(REMOTE_ADDR="10.1.1.1")
    for n in range(4):
        assert browser.post("/admin/login/", {"username": f"user{n}", "password": "guess"}).status_code == 200
    assert browser.post("/admin/login/", {"username": "mira", "password": "right-Long-passw0rd!"}).status_code == 429
    assert Client(REMOTE_ADDR="10.1.1.2").post("/admin/login/", {"username": "mira", "password": "right-Long-passw0rd!"}).status_code == 302


def test_successful_sign_ins_are_not_counted(member, settings):
    settings.LOGIN_FAILURES_PER_ACCOUNT = "2/15m"
    for _ in range(4):
        browser = Client()
        assert browser.post("/admin/login/", {"username": "mira", "password": "right-Long-passw0rd!"}).status_code == 302


def test_password_reset_by_email(member):
    login_page = Client().get("/admin/login/").content.decode()
    assert 'href="/admin/password_reset/"' in login_page
    browser = Client()
    sent = browser.post("/admin/password_reset/", {"email": "mira@brand.example"})
    assert sent.status_code == 302 and len(mail.outbox) == 1
    link = emailed_path(mail.outbox[0])
    form = browser.get(link, follow=True)
    assert form.status_code == 200 and "new password" in form.content.decode().lower()
    done = browser.post(form.redirect_chain[-1][0], {"new_password1": "fresh-Long-passw0rd!", "new_password2": "fresh-Long-passw0rd!"})
    assert done.status_code == 302
    assert Client().post("/admin/login/", {"username": "mira", "password": "fresh-Long-passw0rd!"}).status_code == 302
    assert Client().get(link, follow=True).context["validlink"] is False  # the link works once


def test_password_reset_emails_are_limited_per_address(member, settings):
    settings.PASSWORD_RESETS_PER_ADDRESS = "2/h"
    browser = Client(REMOTE_ADDR="10.2.2.2")
    assert [browser.post("/admin/password_reset/", {"email": "mira@brand.example"}).status_code for _ in range(3)] == [302, 302, 429]
    assert len(mail.outbox) == 2


@pytest.mark.parametrize("model", ["invitation", "auditevent", "membership", "webhookendpoint", "webhookdelivery"])
def test_admin_pages_of_the_team_and_webhooks_show_only_the_owners_brands(two_brands, client, model):
    from surveys.models import WebhookDelivery, WebhookEndpoint

    objects = {}
    for key in "ab":
        brand = two_brands[key]["brand"]
        invitation, _ = team.invite_member(brand=brand, email=f"i@{key}.example", role=Role.EDITOR, invited_by=two_brands[key]["owner"])
        endpoint = WebhookEndpoint.objects.create(brand=brand, url=f"https://{key}.example/hook", secret=f"whsec_{key}")
        delivery = WebhookDelivery.objects.create(endpoint=endpoint, event="export.ready", payload={"k": key})
        objects[key] = {"invitation": invitation, "auditevent": AuditEvent.objects.filter(brand=brand).first(),
                        "membership": Membership.objects.get(user=two_brands[key]["owner"]), "webhookendpoint": endpoint,
                        "webhookdelivery": delivery}
    client.force_login(two_brands["a"]["owner"])
    listing = client.get(f"/admin/surveys/{model}/")
    assert listing.status_code == 200
    shown = {str(o.pk) for o in listing.context["cl"].result_list}
    assert str(objects["a"][model].pk) in shown and str(objects["b"][model].pk) not in shown
    assert client.get(f"/admin/surveys/{model}/{objects['b'][model].pk}/change/").status_code == 404
