"""Print a brand's campaign outcomes per creator and per tier."""

from json import dumps
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.models import Brand
from surveys.outcomes import outcome_section, section_data


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
        section = outcome_section(found, currency=currency)
        currency, creators, tiers = section["currency"], section["creators"], section["tiers"]
        if json:
            self.stdout.write(dumps(section_data(section), indent=2))
            return
        header = f"{'':<24}{'tier':<10}{'clicks':>7}{'resp.':>7}{'reported':>9}{'orders':>7}{'revenue':>11}{'cost':>10}{'per order':>10}{'return':>7}"
        self.stdout.write(f"Outcomes of {found.name} ({currency})\n{header}")
        for row in [*creators, *tiers]:
            self.stdout.write(
                f"{row.label[:23]:<24}{row.tier:<10}{row.clicks:>7}{row.responses:>7}"
                f"{_fmt(row.reported_purchase_rate, '{:.0%}'):>9}{row.orders:>7}{row.revenue:>11}{row.cost:>10}"
                f"{_fmt(row.cost_per_order):>10}{_fmt(row.return_on_spend, '{:.1f}×'):>7}")
        self.stdout.write("\n" + section["caveat"])
        model = section["value_model"]
        if model is not None:
            self.stdout.write("\nVerified value model (post-purchase answers): "
                              + (model["reading"] or model["error"] or "no estimate"))
            for warning in model["warnings"]:
                self.stdout.write(f"  warning: {warning}")
            self.stdout.write(model["caveat"])
