"""Creators imported from a CSV: first a plan (what would be created, updated or left alone,
and every problem by row and column), then its all-or-nothing application.

The file: UTF-8 (a byte-order mark is fine), comma-separated (a header line with
semicolons or tabs and no comma switches to that delimiter), at most
:data:`MAX_BYTES` bytes and :data:`MAX_ROWS` data rows. Rows are numbered as in
a spreadsheet: the header is row 1, blank lines count but are skipped.

Columns (header names ignore case, spaces, hyphens and a trailing "(%)"):

- ``handle`` (required): with or without a leading ``@``. It is the key: a handle
  the brand already has updates that creator (compared ignoring case; the stored
  spelling is kept), any other creates one. A handle twice in the file is an error.
- ``display_name`` / ``display name``, ``platform``, ``followers``: required for a
  new creator; when present, a blank cell is an error (they cannot be cleared).
  ``platform`` is a value or label of :class:`~surveys.choices.Platform`, any case.
  ``followers`` is a whole number; thousands separators are accepted when they
  group by three (``12,000``, ``12 000``, ``12_000``, ``12'000``), as is a
  spreadsheet's ``12000.0``; ``12k`` is not.
- ``niche``, ``engagement_rate`` / ``engagement rate``: optional; a blank cell
  clears the value. The engagement rate is a percent as the model stores it:
  ``3.5`` and ``3.5%`` both mean 3.5 % (not a fraction: ``0.035`` is 0.035 %);
  ``3,5`` is read as 3.5; more than two decimals are rounded half up.

A column the file leaves out is left alone on updates. Unknown columns are
errors (a misspelt ``folowers`` would otherwise be silently dropped). The
creator's tier is not a column: it follows the followers and the brand's
thresholds, as whenever a creator is saved.
"""

from __future__ import annotations

import copy
import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from surveys.choices import Platform
from surveys.models import Brand, Creator
from surveys.tiers import tier_for

MAX_BYTES = 5_000_000
MAX_ROWS = 50_000

# The fields a file may set, in display order.
FIELDS = ("handle", "display_name", "platform", "followers", "niche", "engagement_rate")
# Required for a new creator; once present in the file, never blank.
REQUIRED = ("display_name", "platform", "followers")
# A header name, normalised (see _normalise_header), → the field it fills.
HEADER_ALIASES = {
    "handle": "handle",
    "display_name": "display_name",
    "name": "display_name",
    "platform": "platform",
    "followers": "followers",
    "niche": "niche",
    "engagement_rate": "engagement_rate",
    "engagement": "engagement_rate",
}

Action = Literal["create", "update", "unchanged"]

_PLATFORMS = {**{v.lower(): v for v in Platform.values}, **{label.lower(): v for v, label in Platform.choices}}
_GROUPED = re.compile(r"\d{1,3}(?P<sep>[,_' \u00a0\u202f])\d{3}(?:(?P=sep)\d{3})*")
_SPREADSHEET_FLOAT = re.compile(r"(\d+)\.0+")
_TWO_PLACES = Decimal("0.01")


@dataclass(frozen=True)
class ImportProblem:
    """Why (part of) a file cannot be imported.

    ``row`` is the spreadsheet row (None for the file or its header); ``column``
    the field, or a header's own text, or None for the whole file.
    """

    row: int | None
    column: str | None
    message: str
    value: str = ""

    def __str__(self) -> str:
        if self.row is not None:
            return f"row {self.row}, {self.column}: {self.message}"
        if self.column is not None:
            return f"column {self.column}: {self.message}"
        return self.message


class ImportRefused(ValueError):
    """The import was refused and nothing was stored; ``problems`` says where and why."""

    def __init__(self, problems: list[ImportProblem]):
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems[:5]))


@dataclass
class RowPlan:
    """What one valid row would do.

    ``values`` holds every field the row sets plus the resulting ``tier``;
    ``changes`` (updates only) maps each changing field to (old, new).
    """

    row: int
    handle: str
    action: Action
    values: dict[str, Any]
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    creator_id: int | None = None


@dataclass
class ImportPlan:
    """The outcome of reading a file against a brand's creators; nothing is stored yet."""

    brand: Brand
    columns: list[str] = field(default_factory=list)
    rows: list[RowPlan] = field(default_factory=list)
    problems: list[ImportProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def rows_to(self, action: Action) -> list[RowPlan]:
        """Return the rows whose action is ``action``."""
        return [row for row in self.rows if row.action == action]

    @property
    def counts(self) -> dict[str, int]:
        return {action: len(self.rows_to(action)) for action in ("create", "update", "unchanged")}

    def errors(self) -> dict[str, Any]:
        """Return the problems as ``{"row 3": {"followers": [...]}, "columns": {...}, "file": [...]}``."""
        return problems_dict(self.problems)


@dataclass
class ImportResult:
    """What :func:`apply_import` stored."""

    created: list[Creator]
    updated: list[Creator]
    unchanged: int


def problems_dict(problems: Iterable[ImportProblem]) -> dict[str, Any]:
    """Return problems keyed by ``"row N"`` then column, ``"columns"`` then header, or ``"file"``."""
    out: dict[str, Any] = {}
    for problem in problems:
        if problem.row is not None:
            out.setdefault(f"row {problem.row}", {}).setdefault(problem.column, []).append(problem.message)
        elif problem.column is not None:
            out.setdefault("columns", {}).setdefault(problem.column, []).append(problem.message)
        else:
            out.setdefault("file", []).append(problem.message)
    return out


def decode_upload(data: bytes) -> str:
    """Return the text of an uploaded CSV, or raise ImportRefused when too big or not UTF-8."""
    if len(data) > MAX_BYTES:
        raise ImportRefused([_too_big()])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportRefused([
            ImportProblem(None, None, f"The file is not UTF-8 text (byte {exc.start}); save it as “CSV UTF-8”.")
        ]) from None


def plan_import(brand: Brand, text: str) -> ImportPlan:
    """Return what importing the CSV ``text`` into ``brand`` would do, with every problem found."""
    plan = ImportPlan(brand=brand)
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_BYTES or len(text.encode("utf-8", errors="surrogatepass")) > MAX_BYTES:
        plan.problems.append(_too_big())
        return plan
    if "\x00" in text:
        plan.problems.append(ImportProblem(None, None, "The file holds NUL characters: is it a spreadsheet (.xlsx) rather than a CSV?"))
        return plan
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next(reader, [])
        columns = _read_header(header, plan)
        if "handle" not in columns.values():
            return plan
        existing = _existing_by_handle(brand)
        seen: dict[str, int] = {}
        count = 0
        for number, record in enumerate(reader, start=2):  # spreadsheet rows: the header is row 1
            if not any(cell.strip() for cell in record):
                continue
            count += 1
            if count > MAX_ROWS:
                plan.problems.append(ImportProblem(None, None, f"More than {MAX_ROWS:,} rows: split the file."))
                return plan
            _plan_row(plan, number, record, columns, existing, seen)
    except csv.Error as exc:
        plan.problems.append(ImportProblem(None, None, f"Line {reader.line_num} is not valid CSV: {exc}."))
    return plan


def apply_import(plan: ImportPlan) -> ImportResult:
    """Store the plan's creates and updates in one transaction, or raise ImportRefused and store nothing.

    Each creator is checked with ``full_clean()`` and saved (so its tier follows
    the followers as on every save). Updates write only the changing fields.
    """
    if plan.problems:
        raise ImportRefused(plan.problems)
    creates, updates = plan.rows_to("create"), plan.rows_to("update")
    problems: list[ImportProblem] = []
    created: list[Creator] = []
    updated: list[Creator] = []
    try:
        with transaction.atomic():
            current = Creator.objects.select_for_update().filter(pk__in=[row.creator_id for row in updates]).in_bulk()
            taken = {
                h.lower() for h in Creator.objects.filter(brand=plan.brand).values_list("handle", flat=True)
            } if creates else set()
            for row in creates:
                if row.handle.lower() in taken:
                    problems.append(ImportProblem(row.row, "handle", f"@{row.handle} was added since the preview; preview again.", row.handle))
                    continue
                creator = Creator(brand=plan.brand, **_model_values(row.values))
                if _clean(creator, row, problems):
                    creator.save()
                    created.append(creator)
            for row in updates:
                creator = current.get(row.creator_id)
                if creator is None or creator.brand_id != plan.brand.pk:
                    problems.append(ImportProblem(row.row, "handle", f"@{row.handle} was deleted since the preview; preview again.", row.handle))
                    continue
                creator.brand = plan.brand  # save() reads the thresholds: no query per creator
                for name, (_, new) in row.changes.items():
                    setattr(creator, name, new)
                if _clean(creator, row, problems):
                    # The tier always follows: the brand's thresholds may have moved since the preview.
                    creator.save(update_fields=sorted({*row.changes, "tier"} - {"handle"}))
                    updated.append(creator)
            if problems:
                raise ImportRefused(problems)  # leaves the atomic block: everything is rolled back
    except IntegrityError as exc:  # a concurrent write took a handle between the check and the insert
        raise ImportRefused([ImportProblem(None, None, f"Another change to this brand's creators got in the way ({exc}); preview again.")]) from None
    return ImportResult(created=created, updated=updated, unchanged=len(plan.rows_to("unchanged")))


# --- reading --------------------------------------------------------------------------------------


def _too_big() -> ImportProblem:
    return ImportProblem(None, None, f"The file is larger than {MAX_BYTES // 1_000_000} MB: split it into smaller files.")


def _delimiter(text: str) -> str:
    """Return ``,`` unless the header line has no comma but semicolons or tabs (spreadsheet exports)."""
    first = text.split("\n", 1)[0]
    if "," in first:
        return ","
    if ";" in first:
        return ";"
    return "\t" if "\t" in first else ","


def _normalise_header(name: str) -> str:
    name = re.sub(r"\(?%\)?$", "", name.strip().lower()).strip()
    return re.sub(r"[\s\-]+", "_", name)


def _read_header(header: list[str], plan: ImportPlan) -> dict[int, str | None]:
    """Return {cell index: field, or None for a named column that is reported and ignored}.

    Header problems go on the plan. Blank header cells are left out: an unnamed
    column is fine while its cells are empty (checked per row).
    """
    if not any(cell.strip() for cell in header):
        plan.problems.append(ImportProblem(None, None, "The file is empty: its first line must name the columns (handle, display_name, …)."))
        return {}
    columns: dict[int, str | None] = {}
    for index, name in enumerate(header):
        if not name.strip():
            continue
        target = HEADER_ALIASES.get(_normalise_header(name))
        if target is None:
            plan.problems.append(ImportProblem(None, name.strip(), f"unknown column; the columns are {', '.join(FIELDS)}."))
        elif target in columns.values():
            plan.problems.append(ImportProblem(None, name.strip(), f"a second {target} column."))
            target = None
        columns[index] = target
    if "handle" not in columns.values():
        plan.problems.append(ImportProblem(None, "handle", "missing: every row needs the creator's handle."))
    plan.columns = [f for f in FIELDS if f in columns.values()]
    return columns


def _existing_by_handle(brand: Brand) -> dict[str, list[Creator]]:
    existing: dict[str, list[Creator]] = {}
    for creator in Creator.objects.filter(brand=brand).order_by("pk"):
        existing.setdefault(creator.handle.lower(), []).append(creator)
    return existing


def _match(handle: str, candidates: list[Creator]) -> Creator | None:
    """Return the existing creator a handle names: the same spelling first, else the only one ignoring case."""
    exact = [c for c in candidates if c.handle == handle]
    if exact:
        return exact[0]
    return candidates[0] if len(candidates) == 1 else None


def _plan_row(
    plan: ImportPlan,
    number: int,
    record: list[str],
    columns: dict[int, str | None],
    existing: dict[str, list[Creator]],
    seen: dict[str, int],
) -> None:
    """Add row ``number``'s plan, or its problems, to ``plan``."""
    problems: list[ImportProblem] = []
    cells: dict[str, str] = {}
    for index, cell in enumerate(record):
        if index in columns:
            if (name := columns[index]) is not None:
                cells[name] = cell.strip()
        elif cell.strip():
            problems.append(ImportProblem(number, f"column {index + 1}", "a value in a column without a name.", cell.strip()))

    handle = cells.get("handle", "").lstrip("@").strip()
    if not handle:
        problems.append(ImportProblem(number, "handle", "required.", cells.get("handle", "")))
    elif handle.lower() in seen:
        problems.append(ImportProblem(number, "handle", f"@{handle} is also on row {seen[handle.lower()]}.", handle))
    else:
        seen[handle.lower()] = number

    values: dict[str, Any] = {}
    for name in FIELDS[1:]:
        if name not in cells:
            continue
        raw = cells[name]
        if not raw and name in REQUIRED:
            problems.append(ImportProblem(number, name, "required.", raw))
            continue
        try:
            values[name] = _PARSERS[name](raw)
        except ValueError as exc:
            problems.append(ImportProblem(number, name, str(exc), raw))

    creator = _match(handle, existing.get(handle.lower(), [])) if handle else None
    if handle and creator is None:
        if len(existing.get(handle.lower(), [])) > 1:
            spellings = ", ".join(f"@{c.handle}" for c in existing[handle.lower()])
            problems.append(ImportProblem(number, "handle", f"matches {spellings}: use the exact spelling.", handle))
        for name in REQUIRED:
            if name not in cells:
                problems.append(ImportProblem(number, name, f"required for a new creator; the file has no {name} column."))

    bad = {p.column for p in problems}
    if handle and not bad & {"handle", *REQUIRED}:
        candidate = copy.copy(creator) if creator else Creator(brand=plan.brand, handle=handle)
        for name, value in values.items():
            setattr(candidate, name, value)
        try:
            # The brand is the caller's own object and handles are matched above: skip their queries.
            candidate.full_clean(exclude=["brand", *bad], validate_unique=False, validate_constraints=False)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                column = name if name in FIELDS else "handle"
                problems += [ImportProblem(number, column, m, cells.get(column, "")) for m in messages]
        values["tier"] = tier_for(candidate.followers, plan.brand.thresholds).value if candidate.followers is not None else None

    if problems:
        plan.problems += problems
        return
    if creator is None:
        plan.rows.append(RowPlan(row=number, handle=handle, action="create", values={"handle": handle, **values}))
        return
    changes = {
        name: (getattr(creator, name), value)
        for name, value in values.items()
        if getattr(creator, name) != value
    }
    plan.rows.append(
        RowPlan(
            row=number,
            handle=creator.handle,
            action="update" if changes else "unchanged",
            values={"handle": creator.handle, **values},
            changes=changes,
            creator_id=creator.pk,
        )
    )


def _model_values(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if k != "tier"}  # save() sets the tier


def _clean(creator: Creator, row: RowPlan, problems: list[ImportProblem]) -> bool:
    """Return whether ``creator`` passes full_clean(); its messages join ``problems`` otherwise."""
    try:
        creator.full_clean(exclude=["brand"], validate_constraints=False)  # the brand is the plan's; handles checked above
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            problems += [ImportProblem(row.row, name if name in FIELDS else "handle", m) for m in messages]
        return False
    return True


# --- cells ------------------------------------------------------------------------------------------


def parse_followers(raw: str) -> int:
    """Return a follower count from ``12000``, ``12,000``, ``12 000`` or ``12000.0``."""
    text = raw.strip()
    if _GROUPED.fullmatch(text):
        text = re.sub(r"\D", "", text)
    elif match := _SPREADSHEET_FLOAT.fullmatch(text):
        text = match.group(1)
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ValueError("enter a whole number, e.g. 12000 or 12,000.")
    return int(text)


def parse_platform(raw: str) -> str:
    """Return the Platform value named by a value or label, in any case."""
    value = _PLATFORMS.get(raw.strip().lower())
    if value is None:
        raise ValueError(f"choose one of {', '.join(Platform.values)}.")
    return value


def parse_engagement_rate(raw: str) -> Decimal | None:
    """Return a percent with two decimals from ``3.5``, ``3.5%`` or ``3,5``; blank is None."""
    text = raw.strip().removesuffix("%").strip()
    if not text:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValueError("enter a percent from 0 to 100, e.g. 3.5 or 3.5%.") from None
    if not value.is_finite() or not Decimal(0) <= value <= Decimal(100):
        raise ValueError("enter a percent from 0 to 100, e.g. 3.5 or 3.5%.")
    return value.quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)


def _text(raw: str) -> str:
    return raw.strip()


_PARSERS = {
    "display_name": _text,
    "platform": parse_platform,
    "followers": parse_followers,
    "niche": _text,
    "engagement_rate": parse_engagement_rate,
}
