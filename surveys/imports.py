"""Responses collected elsewhere, imported from a wide CSV through the shared submit path.

Columns: ``creator`` (handle, required), one column per question code,
optional ``submitted_at`` (ISO 8601), ``external_id``, ``completion_seconds``,
``tier`` and ``followers`` (the creator's tier and follower count at response
time; default: the creator's current ones). Multiple-choice cells list values
separated by ``;``. Rows are numbered as in a spreadsheet: the header is row 1.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from surveys.choices import AttributionSource, QuestionKind, Tier
from surveys.collection import (
    BatchResult,
    BatchRow,
    InvalidAnswers,
    submit_responses,
    survey_schema,
    validate_batch,
)
from surveys.models import Creator, Survey

META_COLUMNS = ("creator", "submitted_at", "external_id", "completion_seconds", "tier", "followers")
MAX_ROWS = 1_000_000


@dataclass
class RowProblem:
    row: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"row {self.row}, column {self.column}: {self.message}"


class ImportFileError(ValueError):
    """The file cannot be imported; ``problems`` says where and why. Nothing was stored."""

    def __init__(self, problems: list[RowProblem | str]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]))


@dataclass
class ImportResult:
    created: int
    existing: int
    rejected: list[tuple[dict[str, str], list[RowProblem]]]


def _row_key(survey: Survey, external_id: str, file_hash: str, row_number: int) -> str:
    basis = f"{survey.pk}:id:{external_id}" if external_id else f"{survey.pk}:file:{file_hash}:{row_number}"
    return "imp:" + hashlib.sha256(basis.encode()).hexdigest()[:40]


def _parse_time(value: str) -> datetime | None:
    parsed = parse_datetime(value.strip())
    if parsed is not None and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


def import_responses(survey: Survey, data: bytes, *, skip_invalid: bool = False) -> ImportResult:
    """Import a CSV of responses into ``survey``: all or nothing unless ``skip_invalid``.

    Re-importing the same rows changes nothing (keyed on ``external_id``, or on
    the file's content hash and the row number).
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError([f"the file is not UTF-8 (byte {exc.start})"]) from None
    records = csv.reader(io.StringIO(text, newline=""))
    header = [name.strip() for name in next(records, [])]
    schema = survey_schema(survey)
    kinds = {item.code: item.kind for item in schema.items}
    unknown = [c for c in header if c not in kinds and c not in META_COLUMNS]
    problems: list[RowProblem | str] = [f"column {c}: not a question code of {survey.slug} nor a known column" for c in unknown]
    if "creator" not in header:
        problems.append("column creator: missing (the creator's handle)")
    duplicates = sorted({c for c in header if header.count(c) > 1})
    problems += [f"column {c}: appears more than once" for c in duplicates]
    if problems:
        raise ImportFileError(problems)

    creators = {c.handle.lower(): c for c in Creator.objects.filter(brand_id=survey.brand_id)}
    file_hash = hashlib.sha256(data).hexdigest()
    rows: list[BatchRow] = []
    raw_rows: list[dict[str, str]] = []
    row_problems: dict[int, list[RowProblem]] = {}
    seen_ids: dict[str, int] = {}
    numbers: list[int] = []
    for number, record in enumerate(records, start=2):  # spreadsheet rows: the header is row 1
        if not any(cell.strip() for cell in record):
            continue  # a blank line still counts as a row, as in a spreadsheet
        if len(numbers) >= MAX_ROWS:
            raise ImportFileError([f"more than {MAX_ROWS} rows; split the file"])
        if len(record) > len(header):
            raise ImportFileError([RowProblem(number, "-", f"{len(record)} cells but {len(header)} header columns")])
        raw = dict(zip(header, record + [""] * (len(header) - len(record)), strict=True))
        numbers.append(number)
        mine: list[RowProblem] = []
        handle = (raw.get("creator") or "").strip().lstrip("@").lower()
        creator = creators.get(handle)
        if creator is None:
            mine.append(RowProblem(number, "creator", f"no creator @{handle} in brand {survey.brand.slug}"))
        external_id = (raw.get("external_id") or "").strip()
        if len(external_id) > 100:
            mine.append(RowProblem(number, "external_id", "at most 100 characters"))
        elif external_id and external_id in seen_ids:
            mine.append(RowProblem(number, "external_id", f"“{external_id}” is also on row {seen_ids[external_id]}"))
        elif external_id:
            seen_ids[external_id] = number
        submitted = None
        if (raw.get("submitted_at") or "").strip():
            try:
                submitted = _parse_time(raw["submitted_at"])
            except ValueError:
                submitted = None
            if submitted is None:
                mine.append(RowProblem(number, "submitted_at", f"“{raw['submitted_at']}” is not an ISO 8601 date-time"))
        seconds = None
        if (raw.get("completion_seconds") or "").strip():
            try:
                seconds = float(raw["completion_seconds"])
                if not 0 <= seconds < 10**7:
                    raise ValueError
            except ValueError:
                mine.append(RowProblem(number, "completion_seconds", "enter a number of seconds ≥ 0"))
        tier = (raw.get("tier") or "").strip().lower() or None
        if tier and tier not in Tier.values:
            mine.append(RowProblem(number, "tier", f"one of {', '.join(Tier.values)}"))
        followers = None
        if (raw.get("followers") or "").strip():
            try:
                followers = int(raw["followers"].strip())
                if followers < 0:
                    raise ValueError
            except ValueError:
                mine.append(RowProblem(number, "followers", "enter a whole number ≥ 0"))
        answers: dict[str, object] = {}
        for code, kind in kinds.items():
            cell = (raw.get(code) or "").strip()
            if not cell:
                continue
            answers[code] = [part.strip() for part in cell.split(";") if part.strip()] if kind == QuestionKind.MULTIPLE else cell
        raw_rows.append(raw)
        if mine:
            row_problems[len(rows)] = mine
        rows.append(
            BatchRow(
                key=_row_key(survey, external_id, file_hash, number),
                creator=creator or Creator(brand_id=survey.brand_id, handle=handle, followers=0),
                answers=answers,
                submitted_at=submitted,
                completion_seconds=seconds,
                tier=tier,
                followers=followers,
                external_id=external_id,
                source=AttributionSource.IMPORT,
            )
        )

    # The shared validator checks every answer; its errors join the column checks above.
    _, answer_errors = validate_batch(schema, rows)
    for index, errors in answer_errors.items():
        for code, messages in errors.items():
            row_problems.setdefault(index, []).append(RowProblem(numbers[index], code, " ".join(messages)))
    if row_problems and not skip_invalid:
        raise ImportFileError([p for index in sorted(row_problems) for p in row_problems[index]])
    good = [row for index, row in enumerate(rows) if index not in row_problems]
    try:
        result: BatchResult = submit_responses(survey=survey, rows=good)
    except InvalidAnswers as exc:  # pragma: no cover - validated above with the same function
        raise ImportFileError([f"{k}: {' '.join(v)}" for k, v in exc.errors.items()]) from exc
    rejected = [(raw_rows[index], row_problems[index]) for index in sorted(row_problems)]
    return ImportResult(created=result.created, existing=result.existing, rejected=rejected)


def write_rejects(rejected: list[tuple[dict[str, str], list[RowProblem]]], stream: io.TextIOBase) -> None:
    """Write rejected rows with their problems to a CSV stream."""
    if not rejected:
        return
    columns = ["row", *rejected[0][0].keys(), "problems"]
    writer = csv.DictWriter(stream, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for raw, problems in rejected:
        writer.writerow({**raw, "row": problems[0].row, "problems": "; ".join(f"{p.column}: {p.message}" for p in problems)})
