"""Post-purchase attribution: the shop signs the order into the poll's address, and the buyer names the creator.

A post-purchase survey (``Survey.post_purchase``) is shown on the brand's
order confirmation page. The brand's server, which knows the order, builds the
poll's address with the order id, amount and currency, a Unix timestamp and an
HMAC-SHA256 signature made with the brand's ``order_secret``::

    message = f"{order}\\n{amount}\\n{currency}\\n{t}"
    sig = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()

The buyer picks the creator who led them to buy and answers the trust items
about that creator. The answer is stored through the one ``submit_response``,
attributed to the named creator (source "named by respondent") and linked to
the order, which is created from the signed figures if the shop's CSV has not
brought it yet. The signature is what makes the order *verified*: anyone can
open the poll, but only the shop can say which order, and for how much.

Refused: a missing or altered parameter or a signature made with another key
(forged, 403), an address older than ``ORDER_MAX_AGE`` or dated in the future
(410 / 403), and a second answer for an order (replay, 409; enforced by a
unique key on ``Response.order``, so two tabs racing cannot both store).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from surveys import team
from surveys.collection import SubmissionError
from surveys.models import AuditEvent, Brand, Creator, CreatorLink, Order, Response, Survey, _now

PARAMS = ("order", "amount", "currency", "t", "sig")
ORDER_MAX_AGE = timedelta(days=30)  # an order confirmation is answered soon after; a leaked address stops working
FUTURE_SKEW = timedelta(minutes=5)  # clocks of the shop and of TrustPoll may disagree a little
NONE_OF_THESE = "-"  # no handle can be a lone hyphen
_ORDER_ID = re.compile(r"[\x21-\x7e]{1,100}")  # printable ASCII without spaces: no separator can be smuggled in
_AMOUNT = re.compile(r"[0-9]{1,10}(\.[0-9]{1,2})?")
_CURRENCY = re.compile(r"[A-Z]{3}")
_TIMESTAMP = re.compile(r"[0-9]{1,11}")  # Unix seconds, well past any real date and within datetime's range
_SIGNATURE = re.compile(r"[0-9a-f]{64}")


class OrderRefused(SubmissionError):
    """The order in a post-purchase poll's address is missing, forged, expired or already answered."""

    status = 403


@dataclass(frozen=True)
class OrderClaim:
    """An order as the brand's shop signed it."""

    order_id: str
    amount: Decimal
    currency: str
    signed_at: datetime


def new_order_secret() -> str:
    return "ordsec_" + secrets.token_urlsafe(32)


def rotate_order_secret(brand: Brand, *, by: Any = None) -> str:
    """Give ``brand`` a new order-signing secret and return it; addresses signed with the old one stop working."""
    with transaction.atomic():
        brand.order_secret = new_order_secret()
        brand.save(update_fields=["order_secret"])
        team.audit(brand, by, AuditEvent.Action.ORDER_SECRET_ROTATED, brand.slug)
    return brand.order_secret


def order_signature(secret: str, *, order_id: str, amount: str, currency: str, timestamp: int | str) -> str:
    """Return the hex HMAC-SHA256 of the order's four fields, one per line, as the shop computes it."""
    message = f"{order_id}\n{amount}\n{currency}\n{timestamp}"
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def signed_query(secret: str, *, order_id: str, amount: str, currency: str, timestamp: int) -> str:
    """Return the query string a shop appends to the post-purchase poll's address."""
    sig = order_signature(secret, order_id=order_id, amount=amount, currency=currency, timestamp=timestamp)
    return urlencode({"order": order_id, "amount": amount, "currency": currency, "t": timestamp, "sig": sig})


def poll_url(survey: Survey, *, embed: bool = False) -> str:
    """Return the address of a post-purchase poll, to which the shop appends ``signed_query``."""
    return f"{settings.PUBLIC_BASE_URL}/o/{survey.brand.slug}/{survey.slug}/" + ("embed/" if embed else "")


def embed_snippet(survey: Survey) -> str:
    """Return the embed.js snippet for the order confirmation page; the shop fills in the signed values."""
    return (f'<div data-trustpoll-purchase="{survey.brand.slug}/{survey.slug}" data-order="ORDER_ID" '
            'data-amount="AMOUNT" data-currency="CUR" data-t="TIMESTAMP" data-sig="SIGNATURE"></div>'
            f'<script async src="{settings.PUBLIC_BASE_URL}/embed.js"></script>')


def purchase_survey(brand_slug: str, survey_slug: str) -> Survey | None:
    """Return the post-purchase survey at this address, or None."""
    return (Survey.objects.select_related("brand")
            .filter(brand__slug=brand_slug, slug=survey_slug, post_purchase=True).first())


def read_order(brand: Brand, params: Mapping[str, str], *, now: datetime | None = None) -> OrderClaim:
    """Return the order signed into ``params`` (a query dict), or raise OrderRefused saying what is wrong."""
    values = {name: params.get(name, "") for name in PARAMS}
    missing = [name for name in PARAMS if not values[name]]
    if missing:
        raise _refused(_("This survey address is incomplete. Please open it again from your order confirmation."),
                       400, {name: [_("This parameter is required.")] for name in missing})
    if not brand.order_secret:
        raise _refused(_("This shop has not set up its post-purchase survey yet."), 404)
    shapes = {"order": _ORDER_ID, "amount": _AMOUNT, "currency": _CURRENCY, "t": _TIMESTAMP, "sig": _SIGNATURE}
    malformed = [name for name, shape in shapes.items() if not shape.fullmatch(values[name])]
    expected = order_signature(brand.order_secret, order_id=values["order"], amount=values["amount"],
                               currency=values["currency"], timestamp=values["t"])
    if malformed or not hmac.compare_digest(expected, values["sig"]):
        raise _refused(_("This survey address is not valid. Please open it again from your order confirmation."), 403,
                       {"sig": [_("The signature does not match the order.")]})
    now = now or _now()
    signed_at = datetime.fromtimestamp(int(values["t"]), tz=UTC)
    if signed_at > now + FUTURE_SKEW:
        raise _refused(_("This survey address is not valid yet."), 403, {"t": [_("The timestamp is in the future.")]})
    if now - signed_at > ORDER_MAX_AGE:
        raise _refused(_("This survey has expired for your order. Thank you for your interest."), 410,
                       {"t": [_("The signature is more than %(days)d days old.") % {"days": ORDER_MAX_AGE.days}]})
    return OrderClaim(values["order"], Decimal(values["amount"]).quantize(Decimal("0.01")), values["currency"], signed_at)


def _refused(detail: str, status: int, errors: dict[str, list[str]] | None = None) -> OrderRefused:
    error = OrderRefused(detail, errors)
    error.status = status
    return error


def already_answered() -> OrderRefused:
    return _refused(_("This order's survey has already been answered. Thank you!"), 409,
                    {"order": [_("An answer for this order is already stored.")]})


def check_unanswered(brand: Brand, claim: OrderClaim) -> None:
    """Raise OrderRefused (409) if this order already has a post-purchase answer."""
    if Response.objects.filter(order__brand=brand, order__order_id=claim.order_id).exists():
        raise already_answered()


def named_creators(survey: Survey) -> QuerySet[Creator]:
    """Return the creators a buyer can name: the brand's active creators, by name."""
    return survey.brand.creators.filter(active=True).order_by("display_name", "handle")


def named_creator(survey: Survey, handle: str) -> Creator | None:
    return named_creators(survey).filter(handle=handle[:100]).first()


def link_for(survey: Survey, creator: Creator) -> CreatorLink:
    """Return the survey's link for ``creator``, made on first use: post-purchase answers are kept per creator link."""
    link = survey.links.select_related("survey__brand", "creator").filter(creator=creator).order_by("pk").first()
    if link is None:
        with transaction.atomic():
            link, _created = CreatorLink.objects.get_or_create(survey=survey, creator=creator)
    return link


def attach_order(link: CreatorLink, claim: OrderClaim) -> Order:
    """Return the brand's order for ``claim``, stored from the signed figures if new; credit the named creator.

    Call inside the transaction that stores the answer. An order the shop's
    CSV attributed by code keeps that attribution; one without a creator is
    credited to the creator the buyer named.
    """
    order, created = Order.objects.select_for_update().get_or_create(
        brand_id=link.survey.brand_id, order_id=claim.order_id,
        defaults={"placed_at": claim.signed_at, "amount": claim.amount, "currency": claim.currency,
                  "creator": link.creator, "attribution": Order.Attribution.NAMED})
    if not created and order.creator_id is None:
        order.creator, order.attribution = link.creator, Order.Attribution.NAMED
        order.save(update_fields=["creator", "attribution"])  # not imported_at: nothing was imported
    return order
