"""Follower count → creator tier.

Defaults: nano < 10K ≤ micro < 100K ≤ macro < 1M ≤ celebrity. A brand can move
the three thresholds; :class:`Thresholds` carries them.
"""

from __future__ import annotations

from dataclasses import dataclass

from surveys.choices import Tier


@dataclass(frozen=True)
class Thresholds:
    """Lowest follower count of the micro, macro and celebrity tiers."""

    micro: int = 10_000
    macro: int = 100_000
    celebrity: int = 1_000_000

    def __post_init__(self) -> None:
        if not (0 < self.micro < self.macro < self.celebrity):
            raise ValueError(
                "Tier thresholds must increase: 0 < micro < macro < celebrity "
                f"(got {self.micro}, {self.macro}, {self.celebrity})."
            )


DEFAULT_THRESHOLDS = Thresholds()


def tier_for(followers: int, thresholds: Thresholds = DEFAULT_THRESHOLDS) -> Tier:
    """Return the tier of a creator with ``followers`` followers."""
    if followers < 0:
        raise ValueError("followers cannot be negative")
    if followers < thresholds.micro:
        return Tier.NANO
    if followers < thresholds.macro:
        return Tier.MICRO
    if followers < thresholds.celebrity:
        return Tier.MACRO
    return Tier.CELEBRITY
