"""Print a brand's campaign outcomes per creator and per tier."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.models import Brand
from surveys.outcomes import CAVEAT, main_currency, outcome_rows, outcome_table


def _fmt(value: Any, pattern: str = "{}") -> str:
    return "—" if value is None else pattern.format(value)


class Command(BaseCommand):
    help = "Clicks, responses, reported purchase rate, verified orders and revenue, cost, cost per order and return on spend."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("brand", help="the brand's slug")
        parser.add_argument("--currency", help="money in this currency only (default: the brand's most used)")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args: Any, brand: str, currency: str | None, json: bool, **options: Any) -> None:
        found = Brand.objects.filter(slug=brand).first()
        if found is None:
            raise CommandError(f"No brand with slug “{brand}”.")
        currency = (currency or main_currency(found)).upper()
        creators, tiers = outcome_table(outcome_rows(found, currency=currency))
        if json:
            self.stdout.write(__import__("json").dumps({"currency": currency, "creators": [r.as_dict() for r in creators],
                                                        "tiers": [r.as_dict() for r in tiers], "caveat": CAVEAT}, indent=2))
            return
        header = f"{'':<24}{'tier':<10}{'clicks':>7}{'resp.':>7}{'reported':>9}{'orders':>7}{'revenue':>11}{'cost':>10}{'per order':>10}{'return':>7}"
        self.stdout.write(f"Outcomes of {found.name} ({currency})\n{header}")
        for row in [*creators, *tiers]:
            self.stdout.write(
                f"{row.label[:23]:<24}{row.tier:<10}{row.clicks:>7}{row.responses:>7}"
                f"{_fmt(row.reported_purchase_rate, '{:.0%}'):>9}{row.orders:>7}{row.revenue:>11}{row.cost:>10}"
                f"{_fmt(row.cost_per_order):>10}{_fmt(row.return_on_spend, '{:.1f}×'):>7}")
        self.stdout.write("\n" + CAVEAT)
