"""Sign-in doors for brand members: accepting an invitation, and sign-in and password reset with rate limits."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import authenticate
from django.contrib.auth import login as auth_login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters

from surveys import ratelimits, team
from surveys.collection import Client


class AcceptInvitationForm(forms.Form):
    """A new account's username and password, or an existing account's password."""

    username = forms.CharField(max_length=150, required=False, help_text="You sign in with this.")
    password1 = forms.CharField(label="Password", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}), strip=False)
    password2 = forms.CharField(label="Password again", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                                strip=False, required=False)

    def __init__(self, *args: Any, existing: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.existing = existing
        if existing:
            del self.fields["username"], self.fields["password2"]
            self.fields["password1"].label = "Your password"
            self.fields["password1"].widget.attrs["autocomplete"] = "current-password"

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.existing and data.get("password1") != data.get("password2"):
            self.add_error("password2", "The two passwords differ.")
        return data


def _too_many(request: HttpRequest, wait: int, title: str) -> HttpResponse:
    minutes = max(1, round(wait / 60))
    context = {**admin.site.each_context(request), "title": title,
               "message": f"Too many attempts. Try again in {minutes} minute{'s' if minutes != 1 else ''}."}
    response = TemplateResponse(request, "registration/too_many.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


@sensitive_post_parameters()
@csrf_protect
@never_cache
def accept_invitation(request: HttpRequest, key: str) -> HttpResponse:
    """Show and accept an invitation: set a password (or confirm an existing one) and sign in."""
    invitation = team.invitation_for_key(key)
    context: dict[str, Any] = {**admin.site.each_context(request), "title": "Join a brand on TrustPoll", "invitation": invitation}
    if invitation is None or invitation.state != "pending":
        context["problem"] = (
            "This invitation link is not valid." if invitation is None
            else f"This invitation is {invitation.state}. Ask an owner of {invitation.brand.name} to invite you again."
        )
        return TemplateResponse(request, "registration/accept_invitation.html", context, status=404 if invitation is None else 410)
    user = team.existing_user(invitation)
    address = f"invite:{Client.from_meta(request.META).address_hash}"
    form = AcceptInvitationForm(request.POST or None, existing=user is not None,
                                initial={"username": invitation.email})
    if request.method == "POST":
        wait = ratelimits.blocked_for(request, group="login-address", key=address, rate=settings.LOGIN_FAILURES_PER_ADDRESS)
        if wait:
            return _too_many(request, wait, context["title"])
        if form.is_valid():
            data = form.cleaned_data
            try:
                if user is not None:
                    if authenticate(request, username=user.get_username(), password=data["password1"]) is None:
                        ratelimits.count_failure(request, group="login-address", key=address, rate=settings.LOGIN_FAILURES_PER_ADDRESS)
                        raise ValidationError({"password1": "That is not the password of the account using this address."})
                    team.accept_invitation(invitation, password="", user=user)
                else:
                    user = team.accept_invitation(invitation, password=data["password1"], username=data["username"])
            except ValidationError as exc:
                for field, messages in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, messages)
            else:
                auth_login(request, user, backend="django.contrib.auth.backends.ModelBackend")
                return HttpResponseRedirect("/admin/")
    context.update(form=form, existing=user is not None)
    return TemplateResponse(request, "registration/accept_invitation.html", context)


def login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    """The admin's sign-in, refusing guesses: failures are counted per account and per client address."""
    address = Client.from_meta(request.META).address_hash
    username = request.POST.get("username", "").strip().lower()[:150] if request.method == "POST" else ""
    limits = [("login-address", f"address:{address}", settings.LOGIN_FAILURES_PER_ADDRESS)]
    if username:
        limits.append(("login-account", f"account:{username}", settings.LOGIN_FAILURES_PER_ACCOUNT))
    if request.method == "POST":
        for group, key, rate in limits:
            wait = ratelimits.blocked_for(request, group=group, key=key, rate=rate)
            if wait:
                return _too_many(request, wait, "Sign in")
    response = admin.site.login(request, extra_context)
    failed = request.method == "POST" and not isinstance(response, HttpResponseRedirect)
    if failed:
        for group, key, rate in limits:
            ratelimits.count_failure(request, group=group, key=key, rate=rate)
    return response


class PasswordResetView(auth_views.PasswordResetView):
    """Django's password reset, limited per client address so it cannot be used to flood inboxes."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = f"reset:{Client.from_meta(request.META).address_hash}"
        wait = ratelimits.retry_after(request, group="password-reset", key=key, rate=settings.PASSWORD_RESETS_PER_ADDRESS)
        if wait:
            return _too_many(request, wait, "Password reset")
        return super().post(request, *args, **kwargs)
