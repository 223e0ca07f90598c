from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.definitions import dumps_definition
from surveys.selectors import SurveyLookupError, find_survey


class Command(BaseCommand):
    help = "Write a survey's definition (settings and questions) as JSON."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("survey", help="SLUG or BRAND/SLUG")
        parser.add_argument("-o", "--output", help="File to write (default: standard output).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            survey = find_survey(options["survey"])
        except SurveyLookupError as exc:
            raise CommandError(str(exc)) from exc
        text = dumps_definition(survey)
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
            self.stderr.write(f"Wrote {survey.brand.slug}/{survey.slug} to {options['output']}.")
        else:
            self.stdout.write(text, ending="")
