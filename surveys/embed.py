"""Share URLs and embed snippets handed to creators."""

from __future__ import annotations

from django.conf import settings
from django.utils.html import escape

from surveys.models import CreatorLink


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
