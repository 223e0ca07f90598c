from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.imports import ImportFileError, import_responses, write_rejects
from surveys.selectors import SurveyLookupError, find_survey


class Command(BaseCommand):
    help = "Import responses collected elsewhere from a wide CSV (all or nothing unless --skip-invalid)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("survey", help="SLUG or BRAND/SLUG")
        parser.add_argument("file", help="CSV file: creator, one column per question code, optional "
                            "submitted_at, external_id, completion_seconds, tier, followers")
        parser.add_argument("--skip-invalid", metavar="REJECTS.csv",
                            help="Import the valid rows and write the others, with reasons, to this file.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            survey = find_survey(options["survey"])
        except SurveyLookupError as exc:
            raise CommandError(str(exc)) from exc
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {path}: {exc.strerror}.") from exc
        rejects_path = options["skip_invalid"]
        try:
            result = import_responses(survey, data, skip_invalid=bool(rejects_path))
        except ImportFileError as exc:
            shown = exc.problems[:50]
            more = f"\n  … and {len(exc.problems) - 50} more" if len(exc.problems) > 50 else ""
            raise CommandError(
                f"{path}: nothing imported, {len(exc.problems)} problem(s):\n  "
                + "\n  ".join(str(p) for p in shown) + more
            ) from exc
        if rejects_path and result.rejected:
            with open(rejects_path, "w", newline="", encoding="utf-8") as stream:
                write_rejects(result.rejected, stream)
        self.stdout.write(
            self.style.SUCCESS(
                f"Imported {result.created} response(s) into {survey.brand.slug}/{survey.slug}; "
                f"{result.existing} already imported"
                + (f"; {len(result.rejected)} rejected (see {rejects_path})" if result.rejected else "")
                + "."
            )
        )
