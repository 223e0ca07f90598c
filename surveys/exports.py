"""Data files: one writer per format, all fed by the chunked responses frame.

Columns, in order: response_id, submitted_at, completion_seconds,
creator_handle, platform, tier, followers (tier and followers at response
time), source, the five UTM fields, the five quality flags (0/1), one column
per question code (multiple-choice questions as one 0/1 column per option,
``code_value``), then the construct scores computed by ``scoring``. Test
responses are never included.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from django.db.models import Q

from surveys.analysis import SCORE_VARIABLES
from surveys.choices import QuestionKind
from surveys.collection import FLAG_FIELDS
from surveys.instruments import INSTRUMENTS
from surveys.models import AnalysisRun, Question, Survey
from surveys.outcomes import outcome_section
from surveys.scoring import QuestionMeta, score_responses
from surveys.selectors import UTM_FIELDS, question_metas, responses_frame_chunks

META_COLUMNS = (
    "response_id",
    "submitted_at",
    "completion_seconds",
    "creator_handle",
    "platform",
    "tier",
    "followers",
    "source",
    *UTM_FIELDS,
    *FLAG_FIELDS,
)
SCORE_COLUMNS = SCORE_VARIABLES
META_LABELS = {
    "response_id": "Response id",
    "submitted_at": "Submitted at (UTC)",
    "completion_seconds": "Completion time (seconds)",
    "creator_handle": "Creator handle",
    "platform": "Creator platform",
    "tier": "Creator tier at response time",
    "followers": "Creator followers at response time",
    "source": "Attribution (link, named, import)",
    "flag_honeypot": "Flag: honeypot filled",
    "flag_speeder": "Flag: speeder",
    "flag_straightliner": "Flag: straightliner",
    "flag_attention": "Flag: failed attention check",
    "flag_duplicate": "Flag: possible duplicate",
    **{name: name.replace("_", " ").capitalize() for name in UTM_FIELDS},
    **{name: f"Score: {name.replace('_', ' ')}" for name in SCORE_COLUMNS},
}
STATA_LABEL = 80
CHUNK = 50_000


# --- codebook -------------------------------------------------------------------------------


def codebook(survey: Survey) -> list[dict[str, Any]]:
    """Return one entry per question: code, wording and its history, kind, range, anchors, construct, …"""
    entries = []
    questions = survey.questions.select_related("condition_question").prefetch_related("wordings").order_by("position", "id")
    for q in questions:
        bounds = q.scale_bounds()
        instrument = INSTRUMENTS.get(q.instrument)
        entries.append(
            {
                "code": q.code,
                "position": q.position,
                "wording": q.wording,
                "wording_history": [
                    {"wording": w.wording, "from": w.recorded_at.isoformat()} for w in q.wordings.all()
                ],
                "kind": q.kind,
                "range": list(bounds) if bounds else ([q.min_value, q.max_value] if q.kind == QuestionKind.NUMBER else None),
                "anchors": {"left": q.left_label, "right": q.right_label} if (q.left_label or q.right_label) else None,
                "choices": q.choices or None,
                "construct": q.construct,
                "reverse_coded": q.reverse_coded,
                "required": q.required,
                "condition": (
                    {"code": q.condition_question.code, "values": q.condition_values} if q.condition_question_id else None
                ),
                "instrument": q.instrument or None,
                "citation": instrument.citation if instrument else None,
                "export_columns": export_names(q),
            }
        )
    return entries


def export_names(question: Question | QuestionMeta | Any) -> list[str]:
    """Return the column name(s) of a question in data files (one per option for multiple choice)."""
    if question.kind != QuestionKind.MULTIPLE:
        return [question.code]
    values = [c["value"] for c in question.choices]
    return [_option_column(question.code, v) for v in values]


def _option_column(code: str, value: int) -> str:
    suffix = f"_{value}" if value >= 0 else f"_m{-value}"
    return f"{code[: 32 - len(suffix)]}{suffix}"


def write_codebook_csv(survey: Survey, stream: IO[str]) -> None:
    writer = csv.writer(stream)
    writer.writerow(["code", "position", "wording", "wording_history", "kind", "range", "anchors", "choices",
                     "construct", "reverse_coded", "required", "condition", "instrument", "citation", "export_columns"])
    for e in codebook(survey):
        writer.writerow([
            e["code"], e["position"], e["wording"],
            " | ".join(f"{h['from']}: {h['wording']}" for h in e["wording_history"]),
            e["kind"], json.dumps(e["range"]), json.dumps(e["anchors"], ensure_ascii=False),
            json.dumps(e["choices"], ensure_ascii=False), e["construct"], int(e["reverse_coded"]), int(e["required"]),
            json.dumps(e["condition"]), e["instrument"] or "", e["citation"] or "", " ".join(e["export_columns"]),
        ])


def write_codebook_json(survey: Survey, stream: IO[str]) -> None:
    json.dump({"survey": f"{survey.brand.slug}/{survey.slug}", "questions": codebook(survey)}, stream, ensure_ascii=False, indent=2)


# --- the export frame -----------------------------------------------------------------------


@dataclass(frozen=True)
class Layout:
    """The columns of a data file and how each question maps onto them."""

    metas: list[QuestionMeta]
    questions: list[Question]
    columns: list[str]


def layout(survey: Survey) -> Layout:
    questions = list(survey.questions.order_by("position", "id"))
    metas = question_metas(survey)
    scores = [s for s in SCORE_COLUMNS if _has_score(s, metas)]
    columns = [*META_COLUMNS, *(name for q in questions for name in export_names(q)), *scores]
    return Layout(metas=metas, questions=questions, columns=columns)


def _has_score(score: str, metas: list[QuestionMeta]) -> bool:
    return any(m.construct == score for m in metas)


def export_chunks(survey: Survey, *, where: Q | None = None, chunk_size: int = CHUNK) -> Iterator[pd.DataFrame]:
    """Yield export-shaped frames (columns as in the module docstring), chunk by chunk."""
    shape = layout(survey)
    multiple = {q.code: q for q in shape.questions if q.kind == QuestionKind.MULTIPLE}
    for chunk in responses_frame_chunks(survey, where=where, chunk_size=chunk_size):
        scores = score_responses(chunk, shape.metas).frame
        out = chunk.copy()
        for name in FLAG_FIELDS:
            out[name] = out[name].astype(int)
        for code, question in multiple.items():
            chosen = out[code]
            for choice in question.choices:
                out[_option_column(code, choice["value"])] = chosen.map(
                    lambda v, value=choice["value"]: (1 if value in v else 0) if isinstance(v, list) else np.nan
                ).astype(float)  # the same type in every chunk
        for name in scores.columns:
            out[name] = scores[name]
        out["submitted_at"] = pd.to_datetime(out["submitted_at"], utc=True)
        yield out.reindex(columns=shape.columns)


def csv_blocks(
    survey: Survey, *, where: Q | None = None, chunk_size: int = CHUNK, sql: bool | None = None, rows: list[int] | None = None
) -> Iterator[str]:
    """Yield the CSV export as text blocks; append the number of data rows to ``rows`` at the end.

    On PostgreSQL the file comes straight from COPY with the scores computed in
    SQL (``sql_csv_chunks``); elsewhere, or with ``sql=False``, from pandas chunks.
    """
    counted: list[int] = []
    if sql if sql is not None else sql_csv_supported(survey):
        for block in sql_csv_chunks(survey, where=where, rows=counted):
            yield block.decode("utf-8")
    else:
        total, header = 0, True
        for frame in export_chunks(survey, where=where, chunk_size=chunk_size):
            frame["submitted_at"] = frame["submitted_at"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            buffer = io.StringIO()
            frame.to_csv(buffer, index=False, header=header, lineterminator="\n")
            header, total = False, total + len(frame)
            yield buffer.getvalue()
        if header:  # no rows: still write the header
            yield ",".join(layout(survey).columns) + "\n"
        counted.append(total)
    if rows is not None:
        rows.extend(counted)


def write_csv(survey: Survey, stream: IO[str], *, where: Q | None = None, chunk_size: int = CHUNK, sql: bool | None = None) -> int:
    """Write the responses as UTF-8 CSV, chunk by chunk; return the number of rows."""
    rows: list[int] = []
    for block in csv_blocks(survey, where=where, chunk_size=chunk_size, sql=sql, rows=rows):
        stream.write(block)
    return rows[0]


def csv_stream(survey: Survey, *, where: Q | None = None) -> Iterator[bytes]:
    """Yield the CSV export as bytes, chunk by chunk (for a streaming HTTP response)."""
    for block in csv_blocks(survey, where=where):
        yield block.encode("utf-8")


# --- labels for SPSS and Stata -------------------------------------------------------------


def labels(survey: Survey, *, limit: int | None = None) -> tuple[dict[str, str], dict[str, dict[int, str]]]:
    """Return (variable labels, value labels) of every export column; labels cut to ``limit`` characters."""
    shape = layout(survey)
    variable: dict[str, str] = {}
    values: dict[str, dict[int, str]] = {}
    for name in shape.columns:
        if name in META_LABELS:
            variable[name] = META_LABELS[name]
    for name in FLAG_FIELDS:
        values[name] = {0: "No", 1: "Yes"}
    for q in shape.questions:
        wording = " ".join(q.wording.split())
        if q.kind == QuestionKind.MULTIPLE:
            for choice in q.choices:
                column = _option_column(q.code, choice["value"])
                variable[column] = f"{wording} — {choice['label']}"
                values[column] = {0: "Not chosen", 1: "Chosen"}
            continue
        variable[q.code] = f"{wording} [{q.left_label} – {q.right_label}]" if q.kind == QuestionKind.SEMANTIC else wording
        choice_labels = {int(c["value"]): str(c["label"]) for c in q.choices}
        bounds = q.scale_bounds()
        if q.kind == QuestionKind.YES_NO:
            choice_labels = choice_labels or {1: "Yes", 0: "No"}
        elif bounds and not choice_labels:
            if q.left_label:
                choice_labels[bounds[0]] = q.left_label
            if q.right_label:
                choice_labels[bounds[1]] = q.right_label
        if choice_labels:
            values[q.code] = choice_labels
    if "reported_purchase" in shape.columns:
        values["reported_purchase"] = {0: "No", 1: "Yes"}
    if limit:
        variable = {k: _cut(v, limit) for k, v in variable.items()}
        values = {k: {code: _cut(text, limit) for code, text in v.items()} for k, v in values.items()}
    return variable, values


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _whole_frame(survey: Survey, where: Q | None) -> pd.DataFrame:
    frames = list(export_chunks(survey, where=where))
    if not frames:
        return pd.DataFrame(columns=layout(survey).columns)
    frame = pd.concat(frames, ignore_index=True)
    frame["submitted_at"] = frame["submitted_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    return frame


def _statistical_frame(survey: Survey, where: Q | None, *, stata: bool) -> pd.DataFrame:
    frame = _whole_frame(survey, where)
    for name in frame.columns:
        if frame[name].dtype == object or str(frame[name].dtype) == "string":
            frame[name] = frame[name].fillna("").astype(str)
            if stata:
                frame[name] = frame[name].str.slice(0, 2045)
    return frame


def write_sav(survey: Survey, path: Path, *, where: Q | None = None) -> int:
    """Write an SPSS .sav file with variable and value labels; return the number of rows."""
    import pyreadstat

    frame = _statistical_frame(survey, where, stata=False)
    variable, values = labels(survey)
    pyreadstat.write_sav(
        frame, str(path), column_labels=[variable.get(c, c) for c in frame.columns],
        variable_value_labels={k: {float(code): text for code, text in v.items()} for k, v in values.items() if k in frame},
    )
    return len(frame)


def write_dta(survey: Survey, path: Path, *, where: Q | None = None) -> int:
    """Write a Stata .dta file (labels cut to Stata's 80 characters, integer value codes); return the row count."""
    import pyreadstat

    frame = _statistical_frame(survey, where, stata=True)
    variable, values = labels(survey, limit=STATA_LABEL)
    pyreadstat.write_dta(
        frame, str(path), column_labels=[variable.get(c, c) for c in frame.columns],
        variable_value_labels={k: v for k, v in values.items() if k in frame}, version=15,
    )
    return len(frame)


# --- Excel ----------------------------------------------------------------------------------

EXCEL_ROWS = 1_048_576


def latest_run(survey: Survey) -> AnalysisRun | None:
    return survey.analysis_runs.filter(status=AnalysisRun.Status.SUCCEEDED).order_by("-finished_at", "-id").first()


def write_xlsx(survey: Survey, path: Path, *, where: Q | None = None, run: AnalysisRun | None = None) -> int:
    """Write Responses (continued on further sheets past Excel's row limit), Codebook, Creator summary, Models, Outcomes."""
    import xlsxwriter

    run = run or latest_run(survey)
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True, "default_date_format": "yyyy-mm-dd hh:mm:ss"})
    bold = book.add_format({"bold": True})
    columns = layout(survey).columns
    sheet, row, sheets, total = None, EXCEL_ROWS, 0, 0
    summary: dict[str, dict[str, float]] = {}
    for frame in export_chunks(survey, where=where):
        frame = frame.copy()
        frame["submitted_at"] = frame["submitted_at"].dt.tz_convert("UTC").dt.tz_localize(None)
        _accumulate(summary, frame)
        for values in frame.itertuples(index=False, name=None):
            if row >= EXCEL_ROWS:
                sheets += 1
                sheet = book.add_worksheet("Responses" if sheets == 1 else f"Responses ({sheets})")
                sheet.write_row(0, 0, columns, bold)
                row = 1
            sheet.write_row(row, 0, [_cell(v) for v in values])
            row += 1
            total += 1
    if sheet is None:
        book.add_worksheet("Responses").write_row(0, 0, columns, bold)
    codes = book.add_worksheet("Codebook")
    head = ["code", "wording", "kind", "range", "anchors", "choices", "construct", "reverse_coded", "condition", "citation"]
    codes.write_row(0, 0, head, bold)
    for i, e in enumerate(codebook(survey), start=1):
        codes.write_row(i, 0, [e["code"], e["wording"], e["kind"], json.dumps(e["range"]), json.dumps(e["anchors"], ensure_ascii=False),
                               json.dumps(e["choices"], ensure_ascii=False), e["construct"], int(e["reverse_coded"]),
                               json.dumps(e["condition"]), e["citation"] or ""])
    creators = book.add_worksheet("Creator summary")
    score_names = [s for s in ("trustworthiness", "purchase_intent", "reported_purchase") if s in columns]
    creators.write_row(0, 0, ["creator_handle", "tier", "responses", *(f"mean_{s}" for s in score_names)], bold)
    for i, (handle, acc) in enumerate(sorted(summary.items()), start=1):
        means = [acc[f"sum_{s}"] / acc[f"n_{s}"] if acc.get(f"n_{s}") else None for s in score_names]
        creators.write_row(i, 0, [handle, acc["tier"], acc["responses"], *means])
    models = book.add_worksheet("Models")
    models.write_row(0, 0, ["variant", "model", "n", "coefficient", "estimate", "se", "ci_low", "ci_high", "p_value", "standard errors"], bold)
    r = 1
    if run is None or not run.results:
        models.write(r, 0, "No analysis run yet: run one from the survey page, then export again.")
    else:
        for variant in run.results["variants"]:
            for model in variant["models"]:
                for c in model["coefficients"]:
                    models.write_row(r, 0, [variant["label"], model["name"], model["n"], c["name"], _cell(c["estimate"]), _cell(c["se"]),
                                            _cell(c["ci_low"]), _cell(c["ci_high"]), _cell(c["p_value"]), model["standard_errors"]])
                    r += 1
    _write_outcomes(book, outcome_section(survey.brand, survey=survey), bold)
    book.close()
    return total


OUTCOME_COLUMNS = ["level", "creator_or_tier", "tier", "clicks", "responses", "reported_purchase_rate", "verified_orders",
                   "revenue", "cost", "cost_per_verified_order", "return_on_spend", "currency"]
VALUE_MODEL_COLUMNS = ["coefficient", "estimate", "se", "ci_low", "ci_high", "p_value", "n", "clusters"]


def _write_outcomes(book: Any, section: dict[str, Any], bold: Any) -> None:
    """Write the Outcomes sheet (row by row, as constant_memory needs): tiers, creators, caveat, verified-value model."""
    sheet = book.add_worksheet("Outcomes")
    money, rate = book.add_format({"num_format": "0.00"}), book.add_format({"num_format": "0.0%"})
    sheet.write_row(0, 0, OUTCOME_COLUMNS, bold)
    r = 1
    if not section["has_data"]:
        sheet.write(r, 0, section["empty_text"])
        r += 1
    else:
        for level, rows in (("tier", section["tiers"]), ("creator", section["creators"])):
            for row in rows:
                sheet.write_row(r, 0, [level, row.label, row.tier, row.clicks, row.responses])
                sheet.write(r, 5, row.reported_purchase_rate, rate)
                sheet.write(r, 6, row.orders)
                for column, value in ((7, row.revenue), (8, row.cost), (9, row.cost_per_order)):
                    sheet.write(r, column, None if value is None else float(value), money)
                sheet.write(r, 10, row.return_on_spend, money)
                sheet.write(r, 11, section["currency"])
                r += 1
    r += 1
    for text in (section["currency_note"], section["caveat"], *section["notes"]):
        sheet.write(r, 0, text)
        r += 1
    model = section["value_model"]
    if model is None:
        return
    r += 1
    sheet.write(r, 0, f"Verified order value ({section['currency']}) on the buyer's trust score (post-purchase answers, OLS)", bold)
    sheet.write_row(r + 1, 0, VALUE_MODEL_COLUMNS, bold)
    r += 2
    for c in model["coefficients"]:
        sheet.write_row(r, 0, [c["name"], _cell(c["estimate"]), _cell(c["se"]), _cell(c["ci_low"]), _cell(c["ci_high"]),
                               _cell(c["p_value"]), model["n"], model["clusters"]])
        r += 1
    lines = [("r_squared", _cell(model["r_squared"])), ("standard errors", model["standard_errors"])]
    lines += [("error", model["error"])] if model["error"] else []
    lines += [("warning", w) for w in model["warnings"]]
    lines += [("note", text) for text in (model["scope_note"], model["caveat"]) if text]
    for name, value in lines:
        sheet.write_row(r, 0, [name, value])
        r += 1


def _cell(value: Any) -> Any:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def _accumulate(summary: dict[str, dict[str, Any]], frame: pd.DataFrame) -> None:
    scores = [s for s in ("trustworthiness", "purchase_intent", "reported_purchase") if s in frame]
    grouped = frame.groupby("creator_handle")
    counts = grouped.size()
    tiers = grouped["tier"].first()
    sums = grouped[scores].sum() if scores else None
    ns = grouped[scores].count() if scores else None
    for handle in counts.index:
        acc = summary.setdefault(handle, {"responses": 0, "tier": tiers[handle]})
        acc["responses"] += int(counts[handle])
        acc["tier"] = tiers[handle]
        for s in scores:
            acc[f"sum_{s}"] = acc.get(f"sum_{s}", 0.0) + float(sums.loc[handle, s])
            acc[f"n_{s}"] = acc.get(f"n_{s}", 0) + int(ns.loc[handle, s])


# --- bundle ---------------------------------------------------------------------------------

REPRODUCE = Path(__file__).resolve().parent / "bundle" / "reproduce.py"


def write_bundle(survey: Survey, path: Path, *, run: AnalysisRun, where: Q | None = None) -> int:
    """Write a .zip: responses.csv, codebook (CSV and JSON), the run's results.json and reproduce.py."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        with bundle.open("responses.csv", "w") as raw, io.TextIOWrapper(raw, encoding="utf-8", newline="") as text:
            rows = write_csv(survey, text, where=where)
        for name, writer in (("codebook.csv", write_codebook_csv), ("codebook.json", write_codebook_json)):
            buffer = io.StringIO()
            writer(survey, buffer)
            bundle.writestr(name, buffer.getvalue())
        bundle.writestr("results.json", json.dumps(run.results, ensure_ascii=False, indent=1))
        bundle.writestr("spec.json", json.dumps({"spec": run.spec, "filters": run.filters, "versions": run.versions}, indent=1))
        bundle.write(REPRODUCE, "reproduce.py")
        bundle.writestr(
            "README.txt",
            f"TrustPoll analysis {run.pk} of {survey.brand.slug}/{survey.slug}.\n"
            "python reproduce.py  recomputes every regression model from responses.csv with pandas and statsmodels\n"
            "and compares it with results.json (exit code 0 when every number agrees).\n",
        )
    return rows


# --- SQL-side CSV (PostgreSQL) ---------------------------------------------------------------


def _sql_number(code: str) -> str:
    return f"(surveys_response.answers->>'{code}')::float8"


def _sql_scores(metas: list[QuestionMeta], columns: list[str]) -> dict[str, str]:
    """Return SQL for each score column: the same rules as ``scoring`` (tests prove them equal)."""
    from surveys.scoring import scale_items

    sql: dict[str, str] = {}
    for construct, items in scale_items(metas).items():
        values = [
            f"({q.low:g} + {q.high:g} - {_sql_number(q.code)})" if q.reverse_coded else _sql_number(q.code) for q in items
        ]
        answered = " + ".join(f"(CASE WHEN {_sql_number(q.code)} IS NULL THEN 0 ELSE 1 END)" for q in items)
        total = " + ".join(f"COALESCE({v}, 0)" for v in values)
        sql[construct] = f"(CASE WHEN ({answered}) * 2 >= {len(items)} AND ({answered}) > 0 THEN ({total}) / ({answered}) END)"
    by_code = {m.code: m for m in metas}
    for construct in ("reported_purchase", "purchase_count", "spend"):
        question = next((m for m in metas if m.construct == construct), None)
        if question is None or construct not in columns:
            continue
        value = _sql_number(question.code)
        source = by_code.get(question.condition_code or "")
        if source is not None and source.kind != QuestionKind.MULTIPLE and not source.condition_code:
            wanted = ", ".join(f"{v:g}" for v in question.condition_values) or "NULL"
            value = (f"(CASE WHEN {value} IS NULL AND {_sql_number(source.code)} IS NOT NULL "
                     f"AND {_sql_number(source.code)} NOT IN ({wanted}) THEN 0 ELSE {value} END)")
        sql[construct] = value
    return sql


def sql_csv_supported(survey: Survey) -> bool:
    """Return whether the SQL-side CSV export covers this survey (PostgreSQL, simple conditions)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return False
    metas = question_metas(survey)
    by_code = {m.code: m for m in metas}
    for m in metas:
        source = by_code.get(m.condition_code or "")
        if m.construct in ("purchase_count", "spend") and source is not None and (source.kind == QuestionKind.MULTIPLE or source.condition_code):
            return False
    return True


def sql_csv_chunks(survey: Survey, *, where: Q | None = None, rows: list[int] | None = None) -> Iterator[bytes]:
    """Yield the CSV export straight from PostgreSQL's COPY: every column, scores included, computed in SQL.

    When ``rows`` is given, the number of data rows COPY reported is appended to it at the end.
    """
    from django.db import connection
    from django.db.models.expressions import RawSQL

    from surveys.models import Response

    shape = layout(survey)
    sql_scores = _sql_scores(shape.metas, shape.columns)
    expressions: dict[str, Any] = {
        "x_submitted": RawSQL("to_char(surveys_response.submitted_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", ()),
    }
    for name in UTM_FIELDS:
        expressions[f"x_{name}"] = RawSQL(f"surveys_response.utm->>'{name}'", ())
    for name in FLAG_FIELDS:
        expressions[f"x_{name}"] = RawSQL(f"surveys_response.{name}::int", ())
    for q in shape.questions:
        if q.kind == QuestionKind.MULTIPLE:
            for choice in q.choices:
                expressions[f"x_{_option_column(q.code, choice['value'])}"] = RawSQL(
                    f"(CASE WHEN surveys_response.answers->'{q.code}' IS NULL THEN NULL "
                    f"WHEN surveys_response.answers->'{q.code}' @> '{int(choice['value'])}'::jsonb THEN 1 ELSE 0 END)", ()
                )
        elif q.kind == QuestionKind.TEXT:
            expressions[f"x_{q.code}"] = RawSQL(f"surveys_response.answers->>'{q.code}'", ())
        else:
            expressions[f"x_{q.code}"] = RawSQL(_sql_number(q.code), ())
    for name, sql in sql_scores.items():
        expressions[f"x_{name}"] = RawSQL(sql, ())
    source_of = {
        "response_id": "id", "submitted_at": "x_submitted", "completion_seconds": "completion_seconds",
        "creator_handle": "creator__handle", "platform": "creator__platform", "tier": "creator_tier",
        "followers": "creator_followers", "source": "source",
    }
    fields = [source_of.get(c, f"x_{c}") for c in shape.columns]
    responses = Response.objects.filter(survey=survey, is_test=False)
    if where is not None:
        responses = responses.filter(where)
    query = responses.annotate(**expressions).order_by("id").values_list(*fields)
    sql, params = query.query.sql_with_params()
    yield (",".join(shape.columns) + "\n").encode("utf-8")
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for block in copy:
                yield bytes(block)
        if rows is not None:
            rows.append(cursor.cursor.rowcount)
