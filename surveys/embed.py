"""Share URLs and embed snippets handed to creators."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from django.utils.html import escape

from surveys.models import CreatorLink, Survey

_LOADER = Path(__file__).resolve().parent / "static" / "surveys" / "embed.js"


def iframe_snippet(link: CreatorLink) -> str:
    """Return an <iframe> snippet that shows the poll inline."""
    title = escape(f"{link.survey.brand.name} poll")
    return (
        f'<iframe src="{link.embed_url}" title="{title}" loading="lazy" '
        'style="width:100%;min-height:480px;border:0"></iframe>'
    )


def script_snippet(link: CreatorLink, *, popup: bool = False) -> str:
    """Return the embed.js snippet: a placeholder div and the async loader."""
    mode = ' data-mode="popup" data-label="Take the poll"' if popup else ""
    return (
        f'<div data-trustpoll="{link.token}"{mode}></div>'
        f'<script async src="{settings.PUBLIC_BASE_URL}/embed.js"></script>'
    )


def snippets(link: CreatorLink) -> list[tuple[str, str]]:
    """Return (label, text) pairs of everything a creator can paste."""
    return [
        ("Link in bio", link.share_url),
        ("Embed (script)", script_snippet(link)),
        ("Popup button", script_snippet(link, popup=True)),
        ("Embed (iframe)", iframe_snippet(link)),
    ]


def frame_ancestors(survey: Survey | None) -> list[str]:
    """Return the CSP frame-ancestors sources for a poll page: the survey's origins, or any."""
    origins = survey.origin_list if survey is not None else []
    return origins or ["*"]


def allow_framing(response: HttpResponse, survey: Survey | None) -> HttpResponse:
    """Let the survey's allowed origins frame ``response`` (CSP), instead of X-Frame-Options: DENY."""
    response.xframe_options_exempt = True
    response._csp_replace = {"frame-ancestors": frame_ancestors(survey)}
    return response


def parent_origin(value: str | None, survey: Survey) -> str:
    """Return the embedding page's origin if it is well-formed and allowed to frame ``survey``, else ""."""
    if not value or len(value) > 200:
        return ""
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path or parts.query or parts.fragment:
        return ""
    origin = f"{parts.scheme}://{parts.netloc}"
    allowed = survey.origin_list
    return origin if not allowed or origin in allowed else ""


def loader_script() -> str:
    """Return the embed.js loader's source."""
    return _LOADER.read_text(encoding="utf-8")
