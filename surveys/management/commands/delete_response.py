from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.retention import erase_response


class Command(BaseCommand):
    help = "Delete one response by id (a respondent's erasure request)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("response_id", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        if not erase_response(options["response_id"]):
            raise CommandError(f"No response with id {options['response_id']}.")
        self.stdout.write(f"Deleted response {options['response_id']}.")
