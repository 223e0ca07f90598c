from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.definitions import DefinitionError, loads_definition
from surveys.models import Brand


class Command(BaseCommand):
    help = "Create a draft survey from a JSON definition (all or nothing)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="Definition file written by export_survey, or - for standard input.")
        parser.add_argument("--brand", help="Brand slug (required when there is more than one brand).")
        parser.add_argument("--slug", help="Slug for the new survey (default: the one in the file).")

    def handle(self, *args: Any, **options: Any) -> None:
        brand = self._brand(options["brand"])
        path = options["file"]
        try:
            text = self.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        try:
            survey = loads_definition(text, brand=brand, slug=options["slug"])
        except DefinitionError as exc:
            raise CommandError(
                f"{path}: nothing imported, {len(exc.errors)} problem(s):\n  " + "\n  ".join(exc.errors)
            ) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {brand.slug}/{survey.slug} as a draft with {survey.questions.count()} questions."
            )
        )

    def _brand(self, slug: str | None) -> Brand:
        if slug:
            brand = Brand.objects.filter(slug=slug).first()
            if brand is None:
                raise CommandError(f"No brand “{slug}”.")
            return brand
        brands = list(Brand.objects.all()[:2])
        if len(brands) != 1:
            raise CommandError("Name the brand with --brand SLUG" + (" (there is none yet)." if not brands else "."))
        return brands[0]
