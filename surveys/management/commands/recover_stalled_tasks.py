"""Fail tasks (and the analysis runs and exports behind them) that a lost worker left running."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from surveys.recovery import recover_stalled_work


class Command(BaseCommand):
    help = "Fail tasks, analysis runs and exports left running by a worker that was killed (run from cron)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=int, default=None, metavar="SECONDS",
                            help="running for longer than this (default: TASK_STALL_SECONDS, an hour)")

    def handle(self, *args: Any, **options: Any) -> None:
        seconds = options["older_than"]
        found = recover_stalled_work(older_than=timedelta(seconds=seconds) if seconds is not None else None)
        self.stdout.write(f"Failed {found.tasks} stalled task(s), {found.runs} analysis run(s), {found.exports} export(s).")
