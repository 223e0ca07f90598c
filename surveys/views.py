"""The respondent's pages: the poll, its thank-you and its friendly error pages.

No cookies: the form carries a signed single-use token instead of a CSRF
cookie, so the poll works inside iframes where third-party cookies are blocked.
"""

from __future__ import annotations

from functools import lru_cache
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponseRedirect, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from surveys import attribution, collection
from surveys.attribution import OrderClaim, OrderRefused
from surveys.choices import SCALE_KINDS, QuestionKind
from surveys.collection import Client, InvalidAnswers, InvalidToken, PollUnavailable, Schema, Submission
from surveys.embed import allow_framing, loader_script, parent_origin
from surveys.models import CreatorLink, Question, Survey
from surveys.ratelimits import retry_after
from surveys.selectors import link_for_token

HONEYPOT_FIELD = "website"
FORM_FIELDS = frozenset({"form_token", "consent", "age_confirmed", HONEYPOT_FIELD, *collection.UTM_KEYS})
PROGRESS_FROM = 6  # show progress on surveys with at least this many questions


def _unavailable(request: HttpRequest, message: str, status: int, **extra: Any) -> HttpResponse:
    response = render(request, "surveys/unavailable.html", {"message": message, **extra}, status=status)
    return response


def _choice_options(question: Question) -> list[tuple[int, str]]:
    labels = {c["value"]: c["label"] for c in question.choices}
    if question.kind in (QuestionKind.SINGLE, QuestionKind.MULTIPLE):
        return [(c["value"], c["label"]) for c in question.choices]
    if question.kind == QuestionKind.YES_NO:
        return [(1, labels.get(1, _("Yes"))), (0, labels.get(0, _("No")))]
    bounds = question.scale_bounds()
    if not bounds:
        return []
    return [(v, labels.get(v, str(v))) for v in range(bounds[0], bounds[1] + 1)]


def _question_items(
    questions: list[Question], *, creator_name: str, values: QueryDict | None, errors: dict[str, list[str]]
) -> list[dict[str, Any]]:
    by_id = {q.pk: q for q in questions}
    items = []
    for number, q in enumerate(questions, start=1):
        chosen: list[str] = values.getlist(q.code) if values is not None else []
        condition = None
        if q.condition_question_id:
            source = by_id[q.condition_question_id]
            source_labels = dict(_choice_options(source))
            condition = {
                "code": source.code,
                "values": " ".join(str(v) for v in q.condition_values),
                "text": _(" or ").join(f"“{source_labels.get(v, v)}”" for v in q.condition_values),
                "question": source.render_wording(creator_name),
            }
        items.append(
            {
                "number": number,
                "code": q.code,
                "kind": q.kind,
                "wording": q.render_wording(creator_name),
                "help_text": q.help_text,
                "required": q.required,
                "left_label": q.left_label,
                "right_label": q.right_label,
                "options": [(str(v), label, str(v) in chosen) for v, label in _choice_options(q)],
                "value": chosen[0] if chosen else "",
                "min_value": q.min_value,
                "max_value": q.max_value,
                "condition": condition,
                "errors": errors.get(q.code, []),
                # Numbered points in a row for unlabelled scales; a list of labelled options otherwise.
                "layout": "row" if q.kind in SCALE_KINDS and not q.choices else "list",
                "first_value": q.scale_bounds()[0] if q.kind in SCALE_KINDS else None,
                "last_value": q.scale_bounds()[1] if q.kind in SCALE_KINDS else None,
            }
        )
    return items


def _render_poll(
    request: HttpRequest,
    link: CreatorLink,
    *,
    preview: bool,
    values: QueryDict | None = None,
    error: collection.SubmissionError | None = None,
    status: int = 200,
    embed: bool = False,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    survey = link.survey
    creator_name = link.creator.display_name
    questions = list(survey.questions.order_by("position", "id"))
    errors = error.errors if error else {}
    utm_source = values if values is not None else request.GET
    context = {
        "link": link,
        "survey": survey,
        "brand": survey.brand,
        "creator_name": creator_name,
        "intro": survey.intro.replace("{creator}", creator_name),
        "items": _question_items(questions, creator_name=creator_name, values=values, errors=errors),
        "form_token": collection.issue_form_token(link, preview=preview),
        "preview": preview,
        "error": error,
        "field_errors": errors,
        "other_errors": {k: v for k, v in errors.items() if k not in {q.code for q in questions} | {"consent", "age_confirmed"}},
        "consent_checked": values is not None and values.get("consent") == "on",
        "age_checked": values is not None and values.get("age_confirmed") == "on",
        "utm": {key: utm_source.get(key, "")[:100] for key in collection.UTM_KEYS if utm_source.get(key)},
        "honeypot_field": HONEYPOT_FIELD,
        "show_progress": len(questions) >= PROGRESS_FROM,
        "question_count": len(questions),
        "embed": embed,
        **(extra or {}),
    }
    return render(request, "surveys/poll.html", context, status=status)


def _submission_from_post(post: QueryDict, schema: Schema) -> tuple[Submission, dict[str, list[str]]]:
    kinds = {item.code: item.kind for item in schema.items}
    answers: dict[str, Any] = {}
    for code, kind in kinds.items():
        if kind == QuestionKind.MULTIPLE:
            chosen = post.getlist(code)
            if chosen:
                answers[code] = chosen
        elif code in post:
            answers[code] = post.get(code, "")
    unknown = sorted(key for key in post if key not in kinds and key not in FORM_FIELDS)
    errors = {key[:40]: [_("Unknown field.")] for key in unknown[:20]}
    submission = Submission(
        answers=answers,
        consent=post.get("consent") == "on",
        age_confirmed=post.get("age_confirmed") == "on",
        honeypot=post.get(HONEYPOT_FIELD, ""),
        utm={key: post.get(key) for key in collection.UTM_KEYS if post.get(key)},
    )
    return submission, errors


@csrf_exempt  # the signed single-use form token replaces the CSRF cookie
@never_cache
@require_http_methods(["GET", "POST"])
def poll(request: HttpRequest, token: str, embed: bool = False) -> HttpResponse:
    """Show a creator's poll (GET) or take its answers (POST); ``embed``: inside an iframe."""
    link = link_for_token(token)
    if link is None:
        response = _unavailable(request, _("This poll link does not exist. Please check the address."), 404)
        return allow_framing(response, None)
    with translation.override(link.survey.language):
        response = _poll(request, link, embed=embed)
        response["Content-Language"] = translation.get_language()
    return allow_framing(response, link.survey)


def _poll(request: HttpRequest, link: CreatorLink, *, embed: bool) -> HttpResponse:
    if embed:
        request.parent_origin = parent_origin(request.GET.get("origin"), link.survey)
    preview = collection.is_preview(request.GET.get("preview"), link)
    if request.method == "GET":
        if not preview:
            try:
                collection.check_open(link)
            except PollUnavailable as exc:
                return _unavailable(request, exc.detail, exc.status, survey=link.survey, embed=embed, link=link)
        return _render_poll(request, link, preview=preview, embed=embed)
    return _submit(request, link, embed=embed)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def poll_embed(request: HttpRequest, token: str) -> HttpResponse:
    """The poll without page chrome, for iframes and embed.js."""
    return poll(request, token, embed=True)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def purchase_poll(request: HttpRequest, brand_slug: str, survey_slug: str, embed: bool = False) -> HttpResponse:
    """The post-purchase poll on an order confirmation page: name the creator, then answer about them."""
    survey = attribution.purchase_survey(brand_slug, survey_slug)
    if survey is None:
        response = _unavailable(request, _("This poll does not exist. Please check the address."), 404)
        return allow_framing(response, None)
    with translation.override(survey.language):
        response = _purchase_poll(request, survey, embed=embed)
        response["Content-Language"] = translation.get_language()
    return allow_framing(response, survey)


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def purchase_poll_embed(request: HttpRequest, brand_slug: str, survey_slug: str) -> HttpResponse:
    """The post-purchase poll without page chrome, for the confirmation page's iframe."""
    return purchase_poll(request, brand_slug, survey_slug, embed=True)


def _purchase_poll(request: HttpRequest, survey: Survey, *, embed: bool) -> HttpResponse:
    if embed:
        request.parent_origin = parent_origin(request.GET.get("origin"), survey)
    try:
        claim = attribution.read_order(survey.brand, request.GET)
        if request.method == "GET":
            # A POST is decided by submit_response: a resent form gets its thank-you again, another form a 409.
            attribution.check_unanswered(survey.brand, claim)
        collection.check_survey_open(survey)
    except (OrderRefused, PollUnavailable) as exc:
        return _unavailable(request, exc.detail, exc.status, survey=survey, embed=embed)
    order_fields = {name: request.GET[name] for name in (*attribution.PARAMS, "origin") if request.GET.get(name)}
    handle = request.GET.get("creator", "")
    if handle == attribution.NONE_OF_THESE:
        return HttpResponse(_thanks_page(
            translation.get_language(), title=survey.title, brand_name=survey.brand.name,
            privacy_url=survey.effective_privacy_notice_url, message=_("Thank you! Enjoy your purchase."),
            preview=False, embed=embed, parent_origin=getattr(request, "parent_origin", ""), token=""))
    creator = attribution.named_creator(survey, handle) if handle else None
    if creator is None:
        return render(request, "surveys/purchase_creator.html", {
            "survey": survey, "brand": survey.brand, "embed": embed, "order_fields": order_fields,
            "creators": attribution.named_creators(survey), "none_value": attribution.NONE_OF_THESE,
            "error": _("Please choose one of the creators.") if handle else "",
        }, status=400 if handle else 200)
    link = attribution.link_for(survey, creator)
    extra = {"change_creator_url": "?" + urlencode(order_fields)}
    if request.method == "GET":
        return _render_poll(request, link, preview=False, embed=embed, extra=extra)
    return _submit(request, link, embed=embed, order=claim, extra=extra)


@never_cache
@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, token: str) -> HttpResponse:
    """Redirect a creator's short link to the brand's page with the link's UTM parameters, counting the click."""
    from surveys import clicks

    link = link_for_token(token)
    target = clicks.destination(link) if link is not None else None
    if target is None:
        return _unavailable(request, _("This link does not lead anywhere. Please check the address."), 404)
    if request.method == "GET" and not clicks.is_bot(request.META.get("HTTP_USER_AGENT", "")):
        clicks.count_click(link)
    response = HttpResponseRedirect(target)
    response["Referrer-Policy"] = "no-referrer"
    return response


@cache_control(public=True, max_age=300)
def embed_loader(request: HttpRequest) -> HttpResponse:
    """Serve embed.js with a short cache lifetime; it loads nothing but the poll iframes."""
    return HttpResponse(loader_script(), content_type="text/javascript; charset=utf-8")


def _submit(request: HttpRequest, link: CreatorLink, *, embed: bool, order: OrderClaim | None = None,
            extra: dict[str, Any] | None = None) -> HttpResponse:
    if int(request.META.get("CONTENT_LENGTH") or 0) > settings.POLL_MAX_BODY_BYTES:
        return _unavailable(request, _("That submission is too large."), 413, embed=embed, link=link)
    client = Client.from_meta(request.META)
    wait = retry_after(request, group="poll-submit", key=f"{client.address_hash}:{link.pk}")
    if wait is not None:
        response = _unavailable(
            request, _("Too many submissions from your network. Please try again in a few minutes."), 429,
            embed=embed, link=link,
        )
        response["Retry-After"] = str(wait)
        return response
    schema = collection.survey_schema(link.survey)
    submission, unknown = _submission_from_post(request.POST, schema)
    token = request.POST.get("form_token", "")
    preview = False
    try:
        preview = collection.read_form_token(token, link).preview
        if unknown:
            raise InvalidAnswers(_("The form contained fields this poll does not have."), unknown)
        result = collection.submit_response(
            link=link, form_token=token, submission=submission, client=client, schema=schema, order=order
        )
    except InvalidAnswers as exc:
        return _render_poll(request, link, preview=preview, values=request.POST, error=exc, status=400, embed=embed,
                            extra=extra)
    except InvalidToken as exc:
        if exc.expired:
            # Keep the follower's answers and hand out a fresh token.
            return _render_poll(request, link, preview=preview, values=request.POST, error=exc, status=400,
                                embed=embed, extra=extra)
        return _unavailable(request, exc.detail, exc.status, embed=embed, link=link)
    except (PollUnavailable, OrderRefused) as exc:
        return _unavailable(request, exc.detail, exc.status, survey=link.survey, embed=embed, link=link)
    survey = link.survey
    return HttpResponse(_thanks_page(
        translation.get_language(), title=survey.title, brand_name=survey.brand.name,
        privacy_url=survey.effective_privacy_notice_url,
        message=survey.thank_you_text.replace("{creator}", link.creator.display_name),
        preview=result.response.is_test, embed=embed, parent_origin=getattr(request, "parent_origin", ""),
        token=link.token,
    ))


@lru_cache(maxsize=2048)
def _thanks_page(language: str, *, title: str, brand_name: str, privacy_url: str, message: str, preview: bool,
                 embed: bool, parent_origin: str, token: str) -> str:
    """Return the thank-you page, which depends on nothing but these values: each combination renders once a process.

    Every submission ends here, and rendering the template cost about a tenth of a submission's time.
    """
    with translation.override(language):
        return render_to_string("surveys/thanks.html", {
            "survey": SimpleNamespace(title=title, effective_privacy_notice_url=privacy_url),
            "brand": SimpleNamespace(name=brand_name), "message": message, "preview": preview, "embed": embed,
            "link": SimpleNamespace(token=token), "request": SimpleNamespace(parent_origin=parent_origin),
        })
