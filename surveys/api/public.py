"""The public poll API, for custom front ends: read a poll's definition, send a response.

Same validator, token, exactly-once rule and rate limit as the poll page.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import translation
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from surveys import collection
from surveys.api.errors import error_body
from surveys.collection import Client, Submission, SubmissionError
from surveys.ratelimits import retry_after
from surveys.selectors import link_for_token, public_definition

SUBMISSION_FIELDS = frozenset({"form_token", "answers", "consent", "age_confirmed", "utm", "website"})


class PublicView(APIView):
    authentication_classes: list[Any] = []  # no cookies, no CSRF: the form token does that job
    permission_classes = [AllowAny]
    parser_classes = [JSONParser]

    def link_or_error(self, token: str) -> Any:
        link = link_for_token(token)
        if link is None:
            return None, Response(error_body("No poll has this link."), status=status.HTTP_404_NOT_FOUND)
        return link, None


class PublicLinkView(PublicView):
    """GET: the poll's definition and a fresh form token."""

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT, 410: OpenApiTypes.OBJECT})
    def get(self, request: Request, token: str) -> Response:
        link, error = self.link_or_error(token)
        if error:
            return error
        with translation.override(link.survey.language):
            return self.definition(request, link)

    def definition(self, request: Request, link: Any) -> Response:
        try:
            collection.check_open(link)
        except SubmissionError as exc:
            return Response(exc.as_dict(), status=exc.status)
        data = public_definition(link)
        data["form_token"] = collection.issue_form_token(link)
        data["submit_url"] = request.build_absolute_uri(f"/api/v1/public/links/{link.token}/responses/")
        return Response(data)


class PublicResponsesView(PublicView):
    """POST: one response, ``{"form_token", "answers": {code: value}, "consent", "age_confirmed", "utm"}``."""

    @extend_schema(
        request=OpenApiTypes.OBJECT,
        responses={code: OpenApiTypes.OBJECT for code in (200, 201, 400, 403, 404, 410, 413, 429)},
    )
    def post(self, request: Request, token: str) -> Response:
        if int(request.META.get("CONTENT_LENGTH") or 0) > settings.POLL_MAX_BODY_BYTES:
            return Response(error_body("The request body is too large."), status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
        link, error = self.link_or_error(token)
        if error:
            return error
        client = Client.from_meta(request.META)
        wait = retry_after(request, group="poll-submit", key=f"{client.address_hash}:{link.pk}")
        if wait is not None:
            response = Response(error_body("Too many submissions; try again later."), status=429)
            response["Retry-After"] = str(wait)
            return response
        with translation.override(link.survey.language):
            return self.submit(request, link, client)

    def submit(self, request: Request, link: Any, client: Client) -> Response:
        body = request.data
        if not isinstance(body, dict):
            return Response(error_body("Send a JSON object.", {"body": ["Expected an object."]}), status=400)
        unknown = sorted(set(body) - SUBMISSION_FIELDS)
        if unknown:
            return Response(
                error_body("Unknown fields.", {str(k)[:40]: ["Unknown field."] for k in unknown[:20]}), status=400
            )
        submission = Submission(
            answers=body.get("answers") if body.get("answers") is not None else {},
            consent=body.get("consent"),
            age_confirmed=body.get("age_confirmed"),
            honeypot=str(body.get("website") or ""),
            utm=body.get("utm") or {},
        )
        try:
            result = collection.submit_response(
                link=link, form_token=str(body.get("form_token") or ""), submission=submission, client=client
            )
        except SubmissionError as exc:
            return Response(exc.as_dict(), status=exc.status)
        message = link.survey.thank_you_text.replace("{creator}", link.creator.display_name)
        return Response(
            {"status": "recorded", "thank_you": message},
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )
