from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from surveys.files import EXTENSIONS, validate_request, write_file
from surveys.models import AnalysisRun, Export
from surveys.selectors import SurveyLookupError, find_survey


class Command(BaseCommand):
    help = "Write a survey's responses, codebook, bundle or report to a file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("survey", help="SLUG or BRAND/SLUG")
        parser.add_argument("--format", required=True, choices=sorted(EXTENSIONS))
        parser.add_argument("-o", "--output", required=True, help="File to write.")
        parser.add_argument("--from", dest="date_from", help="First day (YYYY-MM-DD).")
        parser.add_argument("--to", dest="date_to", help="Last day (YYYY-MM-DD).")
        parser.add_argument("--creator", action="append", default=[], help="Creator handle (repeatable; one for creator-report).")
        parser.add_argument("--tier", action="append", default=[], help="Tier (repeatable).")
        parser.add_argument("--platform", action="append", default=[], help="Platform (repeatable).")
        parser.add_argument("--exclude-flagged", action="store_true", help="Leave out responses with a quality flag.")
        parser.add_argument("--run", type=int, help="Analysis run id for bundle, report and the xlsx Models sheet (default: the latest).")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            survey = find_survey(options["survey"])
        except SurveyLookupError as exc:
            raise CommandError(str(exc)) from exc
        fmt = options["format"]
        runs = survey.analysis_runs.filter(status=AnalysisRun.Status.SUCCEEDED).order_by("-finished_at", "-id")
        run = runs.filter(pk=options["run"]).first() if options["run"] else runs.first()
        if options["run"] and run is None:
            raise CommandError(f"No finished analysis run {options['run']} of this survey.")
        creator = None
        filters: dict[str, Any] = {
            "date_from": options["date_from"], "date_to": options["date_to"], "tiers": options["tier"],
            "platforms": options["platform"], "exclude_flagged": options["exclude_flagged"],
        }
        if fmt == "creator-report":
            if len(options["creator"]) != 1:
                raise CommandError("creator-report needs exactly one --creator HANDLE.")
            creator = survey.brand.creators.filter(handle=options["creator"][0].lstrip("@")).first()
            if creator is None:
                raise CommandError(f"No creator @{options['creator'][0]} in brand {survey.brand.slug}.")
        else:
            filters["creators"] = [h.lstrip("@") for h in options["creator"]]
        try:
            clean = validate_request(survey, format=fmt, filters=filters, run=run, creator=creator)
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        export = Export(survey=survey, format=fmt, filters=clean, run=run, creator=creator)
        started = time.perf_counter()
        rows = write_file(export, Path(options["output"]))
        self.stderr.write(
            f"Wrote {options['output']} ({fmt}{f', {rows:,} responses' if rows is not None else ''}) "
            f"in {time.perf_counter() - started:.1f} s."
        )
