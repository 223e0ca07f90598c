from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from surveys.analyses import clean_filters, clean_spec, execute_analysis
from surveys.models import AnalysisRun
from surveys.readings import model_reading, multilevel_reading, ordinal_reading
from surveys.selectors import SurveyLookupError, find_survey


class Command(BaseCommand):
    help = "Analyse a survey now, store the run, and print its results (or, with --json, the stored results JSON)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("survey", help="SLUG or BRAND/SLUG")
        parser.add_argument("--json", action="store_true", help="Write exactly the stored results JSON to stdout.")
        parser.add_argument("--exclude-flagged", action="store_true", help="Leave out responses with a quality flag.")
        parser.add_argument(
            "--spec",
            metavar="FILE.json",
            help='{"controls": [...], "se": "cluster|classic|hc3", "ordinal_outcome": "code", "min_ranked": 10, '
            '"filters": {"date_from", "date_to", "creators", "tiers"}}',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            survey = find_survey(options["survey"])
        except SurveyLookupError as exc:
            raise CommandError(str(exc)) from exc
        spec: dict[str, Any] = {}
        if options["spec"]:
            try:
                spec = json.loads(Path(options["spec"]).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise CommandError(f"{options['spec']}: {exc}") from exc
            if not isinstance(spec, dict):
                raise CommandError(f"{options['spec']}: expected a JSON object.")
        filters = dict(spec.pop("filters", None) or {})
        if options["exclude_flagged"]:
            filters["exclude_flagged"] = True
        try:
            with transaction.atomic():
                run = AnalysisRun.objects.create(
                    survey=survey, spec=clean_spec(survey, spec), filters=clean_filters(survey, filters)
                )
        except ValidationError as exc:
            raise CommandError("; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())) from exc
        run = execute_analysis(run)
        if run.status == AnalysisRun.Status.FAILED:
            raise CommandError(f"Analysis {run.pk} failed: {run.error}")
        if options["json"]:
            self.stdout.write(json.dumps(run.results, ensure_ascii=False))
            return
        self._print(run)

    def _print(self, run: AnalysisRun) -> None:
        results = run.results
        write = self.stdout.write
        write(f"Analysis {run.pk} of {run.survey.brand.slug}/{run.survey.slug}: {results['responses']:,} responses "
              f"({results['test_responses_excluded']} test responses left out, {results['flagged']} flagged), "
              f"{run.seconds:.1f} s.")
        for note in results["notes"]:
            write(f"  note: {note}")
        for variant in results["variants"]:
            write(f"\n== {variant['label']} ({variant['responses']:,} responses)")
            for rel in variant["reliability"]:
                omega = f", omega {rel['omega']:.2f}" if rel["omega"] is not None else ""
                write(f"  {rel['construct']}: alpha {rel['alpha']:.2f} [{rel['alpha_ci_low']:.2f}, {rel['alpha_ci_high']:.2f}]{omega} (n={rel['n_complete']})")
            for model in variant["models"]:
                write(f"\n  {model['name']} — {model['model']}, n={model['n']:,}, {model['standard_errors']}")
                write(f"    {model_reading(model)}")
                for c in model["coefficients"]:
                    write(f"    {c['name']:<34} {c['estimate']:>9.4f}  se {c['se']:.4f}  [{c['ci_low']:.4f}, {c['ci_high']:.4f}]  p {c['p_value']:.3g}")
                for w in model["warnings"]:
                    write(f"    warning: {w}")
            if variant.get("multilevel"):
                write(f"\n  multilevel — {multilevel_reading(variant['multilevel'])}")
            if variant.get("ordinal"):
                write(f"  ordinal — {ordinal_reading(variant['ordinal'])}")
            ranking = variant.get("ranking")
            if ranking:
                write("\n  creator ranking (shrunken mean trust):")
                for row in ranking["rows"][:10]:
                    rank = row["rank"] if row["rank"] is not None else "–"
                    write(f"    {rank!s:>3} @{row['creator_handle']:<20} {row['tier']:<10} n={row['responses']:<5} "
                          f"trust {row.get('trust_shrunken') or 0:.2f} (raw {row.get('trust_raw') or 0:.2f})")
        for warning in run.warnings:
            write(f"warning: {warning}")
