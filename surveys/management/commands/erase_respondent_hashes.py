from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from surveys.retention import erase_expired_respondent_hashes
from surveys.tasks import erase_expired_respondent_hashes_task


class Command(BaseCommand):
    help = "Erase respondent hashes older than each survey's retention period (run daily)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--enqueue", action="store_true", help="Run it on the task worker instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["enqueue"]:
            result = erase_expired_respondent_hashes_task.enqueue()
            self.stdout.write(f"Enqueued task {result.id}.")
            return
        self.stdout.write(f"Erased {erase_expired_respondent_hashes()} respondent hashes.")
