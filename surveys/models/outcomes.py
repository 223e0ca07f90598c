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
