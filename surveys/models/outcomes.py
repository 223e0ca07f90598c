"""Campaign outcomes: clicks on creators' redirect links (and, later, orders)."""

from __future__ import annotations

from django.db import models


class ClickCount(models.Model):
    """Clicks through one link's redirect on one day (UTC). No address, no user agent: a count."""

    link = models.ForeignKey("surveys.CreatorLink", on_delete=models.CASCADE, related_name="click_counts")
    day = models.DateField()
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["link", "day"], name="clickcount_unique_link_day")]
        ordering = ["-day"]

    def __str__(self) -> str:
        return f"{self.clicks} on {self.day}"


class Order(models.Model):
    """A sale from the brand's shop, attributed to a creator by promo code or UTM value (never guessed).

    An order that first arrives through a post-purchase poll is stored from the
    shop's signed confirmation (id, amount, currency) and, when it carries no
    code, attributed to the creator the buyer named.
    """

    class Attribution(models.TextChoices):
        PROMO_CODE = "promo_code", "Promo code"
        UTM = "utm", "UTM value"
        NAMED = "named", "Named by the buyer"
        NONE = "none", "Not attributed"

    brand = models.ForeignKey("surveys.Brand", on_delete=models.CASCADE, related_name="orders")
    order_id = models.CharField(max_length=100)
    placed_at = models.DateTimeField()
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3)
    promo_code = models.CharField(max_length=60, blank=True)
    utm_source = models.CharField(max_length=100, blank=True)
    creator = models.ForeignKey("surveys.Creator", null=True, blank=True, on_delete=models.SET_NULL, related_name="orders")
    attribution = models.CharField(max_length=12, choices=Attribution.choices, default=Attribution.NONE)
    imported_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["brand", "order_id"], name="order_unique_brand_order_id")]
        ordering = ["-placed_at"]

    def __str__(self) -> str:
        return f"{self.order_id}: {self.amount} {self.currency}"
