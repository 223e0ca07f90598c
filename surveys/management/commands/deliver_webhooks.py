"""Attempt every webhook delivery that is due: a backstop for cron beside the task workers."""

from typing import Any

from django.core.management.base import BaseCommand

from surveys.webhooks import retry_due_webhooks


class Command(BaseCommand):
    help = "Attempt every pending webhook delivery whose next attempt is due."

    def handle(self, *args: Any, **options: Any) -> None:
        count = retry_due_webhooks()
        self.stdout.write(f"Attempted {count} due deliver{'y' if count == 1 else 'ies'}.")
