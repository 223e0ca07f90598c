from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.retention import erase_responses
from surveys.selectors import SurveyLookupError, find_survey


class Command(BaseCommand):
    help = "Delete all responses of a survey (or only its test responses). Cannot be undone."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("survey", help="SLUG or BRAND/SLUG")
        parser.add_argument("--test-only", action="store_true", help="Only the preview (test) responses.")
        parser.add_argument("--yes", action="store_true", help="Do not ask for confirmation.")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            survey = find_survey(options["survey"])
        except SurveyLookupError as exc:
            raise CommandError(str(exc)) from exc
        what = "test responses" if options["test_only"] else "ALL responses"
        if not options["yes"]:
            answer = input(f"Delete {what} of {survey.brand.slug}/{survey.slug}? Type the survey slug: ")
            if answer.strip() != survey.slug:
                raise CommandError("Not confirmed; nothing deleted.")
        count = erase_responses(survey, test_only=options["test_only"])
        self.stdout.write(f"Deleted {count} response(s) of {survey.brand.slug}/{survey.slug}.")
