"""Import a brand's orders from CSV: all or nothing, idempotent on order id, unknown codes reported."""

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.creator_import import ImportRefused, decode_upload
from surveys.models import Brand
from surveys.orders import apply_orders, plan_orders


class Command(BaseCommand):
    help = "Import orders (order_id, placed_at, amount, currency, promo_code and/or utm_source) for a brand."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("brand", help="the brand's slug")
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="check and report, store nothing")

    def handle(self, *args: Any, brand: str, file: Path, dry_run: bool, **options: Any) -> None:
        found = Brand.objects.filter(slug=brand).first()
        if found is None:
            raise CommandError(f"No brand with slug “{brand}”.")
        try:
            plan = plan_orders(found, decode_upload(file.read_bytes()))
            if not plan.ok:
                raise ImportRefused(plan.problems)
            if dry_run:
                self.stdout.write(f"{len(plan.rows)} order(s) would be imported; nothing stored (dry run).")
                result_unattributed = plan.unattributed
            else:
                result = apply_orders(plan)
                self.stdout.write(f"Imported orders: {result.created} created, {result.updated} updated, "
                                  f"{result.unchanged} unchanged.")
                result_unattributed = result.unattributed
        except ImportRefused as exc:
            raise CommandError("Nothing was imported:\n" + "\n".join(f"  {p}" for p in exc.problems)) from None
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}.") from None
        for order_id, why in result_unattributed.items():
            self.stdout.write(f"  order {order_id} not attributed: {why}")
