from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.demo import DEFAULT_SEED, demo_exists, seed_demo
from surveys.models import Brand


class Command(BaseCommand):
    help = "Create the demo brand, user, 40 creators, a live survey and simulated responses."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--responses", type=int, default=2000, help="Simulated responses (default 2000).")
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"Random seed (default {DEFAULT_SEED}).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Do nothing when the database already has a brand."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["responses"] < 0:
            raise CommandError("--responses must be 0 or more.")
        if options["if_empty"] and Brand.objects.exists():
            self.stdout.write("Database already has data; demo data not loaded.")
            return
        if demo_exists():
            raise CommandError("The demo brand (slug “demo”) already exists; nothing was changed.")
        started = time.perf_counter()
        summary = seed_demo(responses=options["responses"], seed=options["seed"])
        self.stdout.write(
            self.style.SUCCESS(
                f"Demo data: brand “{summary.brand.slug}”, {summary.creators} creators, survey "
                f"“{summary.survey.slug}”, {summary.responses} responses "
                f"({time.perf_counter() - started:.1f} s)."
            )
        )
