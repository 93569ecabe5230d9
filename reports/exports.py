"""A report's tables as files: CSV and XLSX, the same tables the page and the API show.

* ``resolve_params(report, scope, query)``: the report's parameters from a request's query (the report's build
  looks them up within the scope: a campaign of another dealership answers 404, a required one missing 400).
* ``build(report, scope, period, params)``: the report's tables.
* ``tables_csv(...)``: one CSV (the one formula-safe writer of ``dealercrm.core.exports``), UTF-8 with a BOM so
  that Excel reads the Chinese right: a heading block (report, period, dealerships), then per table its title,
  its headers (in the active language), its rows, its totals row and its notes, a blank line between tables.
  Numbers are written as numbers a spreadsheet reads: money ``452554.00`` (no ¥, no grouping), rates as
  ``19.9%`` (a spreadsheet reads a percentage), whole numbers plain, "—"/None as an empty cell.
* ``tables_xlsx(sheets, ...)``: one workbook (XlsxWriter with ``XLSX_OPTIONS``), a sheet per table: its title,
  the headers (frozen), the rows with money as numbers in a ¥ format, rates as numbers in a percent format,
  whole numbers as numbers, dates as dates, "—"/None as empty cells, the totals row bold, column widths set
  to the content.

Headers follow the active language: callers wrap these in ``translation.override`` (the request's language,
or the job's, or the pack's).

The exports hold a report's figures, which are aggregates; no drill-down rows (customers) are exported here,
so no ``exports.personal`` is needed beyond the report's own action.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import xlsxwriter
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import pgettext, pgettext_lazy

from dealercrm.core.exports import XLSX_OPTIONS, csv_writer

from .registry import DASH, Figure, Report, Table

CSV_CONTENT_TYPE = "text/csv; charset=utf-8"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CONTENT_TYPES = {"csv": CSV_CONTENT_TYPE, "xlsx": XLSX_CONTENT_TYPE}
FORMATS = tuple(CONTENT_TYPES)
BOM = "\ufeff"

#: above this many store-days (a period's days × the scope's stores) an export runs as a task (the setting
#: ``REPORTS_EXPORT_ASYNC_STORE_DAYS`` changes it)
ASYNC_STORE_DAYS = 400

TOTAL = pgettext_lazy("totals row", "Total")
SHEET_NAME_MAX = 31
_SHEET_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
_CENT = Decimal("0.01")
_RATE_PLACES = Decimal("0.0001")
_TENTH = Decimal("0.1")
_MAX_WIDTH = 60


# --- parameters and building --------------------------------------------------------------------------------


def resolve_params(report: Report, scope, query) -> dict:
    """``report``'s parameters from ``query`` (a QueryDict or dict), as the text given: the report looks each up
    within the scope itself (a campaign of another dealership answers 404, a required one missing 400)."""
    params = {}
    for param in report.params:
        text = str(query.get(param.name) or "").strip()
        if text:
            params[param.name] = text
    return params


def build(report: Report, scope, period, params: dict) -> list[Table]:
    return list(report.build(scope, period, params))


def runs_long(scope, period) -> bool:
    """Whether an export of ``period`` over ``scope`` is long enough to run as a task."""
    limit = getattr(settings, "REPORTS_EXPORT_ASYNC_STORE_DAYS", ASYNC_STORE_DAYS)
    return period.days * len(scope.dealerships) > limit


def filename(report: Report, period, fmt: str) -> str:
    return f"{slugify(report.slug) or 'report'}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.{fmt}"


def scope_text(scope) -> str:
    return ", ".join(f"{d.code} {d.name}" for d in scope.dealerships)


# --- values ------------------------------------------------------------------------------------------------


def plain(value):
    """A cell's value without the figure around it; None for "no value" ("—", "", None)."""
    if isinstance(value, Figure):
        value = value.value
    if value is None or value == "" or value == DASH:
        return None
    return value


def csv_value(value, kind: str):
    """A value as the CSV writes it: numbers a spreadsheet reads as numbers, "" for none."""
    value = plain(value)
    if value is None:
        return ""
    if kind == "money":
        return str(Decimal(value).quantize(_CENT, ROUND_HALF_UP))
    if kind == "rate":
        return f"{(Decimal(value) * 100).quantize(_TENTH, ROUND_HALF_UP)}%"
    if kind == "int":
        return str(int(value))
    if kind == "decimal":
        return str(Decimal(value).quantize(_CENT, ROUND_HALF_UP))
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def json_value(value, kind: str):
    """A value as the API's JSON gives it: money and rates (and decimals) as strings of Decimals, whole
    numbers as numbers, dates as ISO dates, text as text, None for none."""
    value = plain(value)
    if value is None:
        return None
    if kind == "money":
        return str(Decimal(value).quantize(_CENT, ROUND_HALF_UP))
    if kind == "rate":
        return str(Decimal(value).quantize(_RATE_PLACES, ROUND_HALF_UP))
    if kind == "decimal":
        return str(Decimal(value).quantize(_CENT, ROUND_HALF_UP))
    if kind == "int":
        return int(value)
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


# --- CSV -----------------------------------------------------------------------------------------------------


def _totals_cells(table: Table) -> list:
    cells = [csv_value(table.totals.get(column.key), column.kind) for column in table.columns]
    if cells and cells[0] == "":
        cells[0] = str(TOTAL)
    return cells


def tables_csv(tables: list[Table], *, title: str, period, scope) -> bytes:
    """The tables as one CSV document (UTF-8 with a BOM)."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv_writer(out)
    writer.writerow([str(title)])
    writer.writerow([pgettext("report", "Period"), f"{period.start.isoformat()} – {period.end.isoformat()}"])
    writer.writerow([pgettext("report", "Dealerships"), scope_text(scope)])
    for table in tables:
        writer.writerow([])
        writer.writerow([str(table.title)])
        writer.writerow([str(column.label) for column in table.columns])
        if not table.rows and table.empty_text:
            writer.writerow([str(table.empty_text)])
        for row in table.rows:
            kinds = row.get("_kinds") or {}
            writer.writerow([csv_value(row.get(c.key), kinds.get(c.key, c.kind)) for c in table.columns])
        if table.totals:
            writer.writerow(_totals_cells(table))
        for note in table.notes:
            writer.writerow([str(note)])
    return out.getvalue().encode("utf-8")


# --- XLSX ----------------------------------------------------------------------------------------------------


@dataclass
class Sheet:
    """One sheet of a workbook: a table under a heading (the report's title, the period...)."""

    name: str
    table: Table
    heading: str = ""


def sheet_name(name: str, taken: set[str]) -> str:
    """``name`` as a sheet may be named: no []:*?/\\, at most 31 characters, unique in the workbook (Excel
    compares names without case)."""
    base = _SHEET_FORBIDDEN.sub(" ", str(name)).strip().strip("'") or "Sheet"
    candidate, number = base[:SHEET_NAME_MAX], 1
    while candidate.lower() in taken:
        number += 1
        suffix = f" ({number})"
        candidate = base[: SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(candidate.lower())
    return candidate


def _width(text: str) -> int:
    """Columns a text takes in a spreadsheet: a Chinese character is about two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class _Formats:
    def __init__(self, book):
        def both(props):
            return book.add_format(props), book.add_format({**props, "bold": True, "top": 1})

        self.title = book.add_format({"bold": True, "font_size": 13})
        self.note = book.add_format({"italic": True, "font_color": "#555555"})
        self.header = book.add_format({"bold": True, "bottom": 1, "bg_color": "#EEF2F7", "text_wrap": True})
        self.kinds = {
            "money": both({"num_format": '"¥"#,##0.00'}),
            "rate": both({"num_format": "0.0%"}),
            "int": both({"num_format": "#,##0"}),
            "decimal": both({"num_format": "#,##0.00"}),
            "date": both({"num_format": "yyyy-mm-dd"}),
            "text": both({}),
        }

    def of(self, kind: str, total: bool):
        return self.kinds.get(kind, self.kinds["text"])[1 if total else 0]


def _write(sheet, row: int, col: int, value, kind: str, fmt) -> int:
    """Write one cell; the width its shown text takes."""
    value = plain(value)
    if value is None:
        sheet.write_blank(row, col, None, fmt)
        return 0
    if kind in ("money", "rate", "decimal"):
        number = float(Decimal(value))
        sheet.write_number(row, col, number, fmt)
        return len(f"{number:,.2f}") + (2 if kind == "money" else 0)
    if kind == "int":
        sheet.write_number(row, col, int(value), fmt)
        return len(f"{int(value):,}")
    if kind == "date" and isinstance(value, dt.date):
        moment = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time.min)
        sheet.write_datetime(row, col, moment.replace(tzinfo=None), fmt)
        return 10
    text = str(value)
    sheet.write_string(row, col, text, fmt)
    return _width(text)


def write_table(book, sheet, formats: _Formats, table: Table, heading: str = "") -> None:
    """``table`` on ``sheet``: row 0 its title (and ``heading``), row 1 the headers (frozen), then its rows,
    the totals row (bold) and the notes."""
    columns = table.columns
    widths = [_width(str(column.label)) for column in columns]
    title = str(table.title) + (f" · {heading}" if heading else "")
    sheet.write_string(0, 0, title, formats.title)
    for col, column in enumerate(columns):
        sheet.write_string(1, col, str(column.label), formats.header)
    sheet.freeze_panes(2, 0)
    row_number = 2
    if not table.rows and table.empty_text:
        sheet.write_string(row_number, 0, str(table.empty_text), formats.note)
        row_number += 1
    for row in table.rows:
        kinds = row.get("_kinds") or {}
        for col, column in enumerate(columns):
            kind = kinds.get(column.key, column.kind)
            shown = _write(sheet, row_number, col, row.get(column.key), kind, formats.of(kind, False))
            widths[col] = max(widths[col], shown)
        row_number += 1
    if table.totals:
        for col, column in enumerate(columns):
            value = table.totals.get(column.key)
            if col == 0 and plain(value) is None:
                value, kind = str(TOTAL), "text"
            else:
                kind = column.kind
            shown = _write(sheet, row_number, col, value, kind, formats.of(kind, True))
            widths[col] = max(widths[col], shown)
        row_number += 1
    for note in table.notes:
        sheet.write_string(row_number, 0, str(note), formats.note)
        row_number += 1
    for col, width in enumerate(widths):
        sheet.set_column(col, col, min(max(width + 2, 8), _MAX_WIDTH))


def tables_xlsx(sheets: list[Sheet]) -> bytes:
    """The sheets as one workbook; an empty list gives one sheet saying so (a workbook needs one)."""
    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, **XLSX_OPTIONS})
    formats = _Formats(book)
    taken: set[str] = set()
    for item in sheets:
        sheet = book.add_worksheet(sheet_name(item.name, taken))
        write_table(book, sheet, formats, item.table, item.heading)
    if not sheets:
        book.add_worksheet(sheet_name(_("Report"), taken)).write_string(0, 0, _("Nothing to show."))
    book.close()
    return out.getvalue()


def report_sheets(tables: list[Table], *, heading: str = "", prefix: str = "") -> list[Sheet]:
    """A sheet per table, named by the table's title (after ``prefix``)."""
    return [
        Sheet(name=f"{prefix}{table.title}" if prefix else str(table.title), table=table, heading=heading)
        for table in tables
    ]


def render(report: Report, tables: list[Table], fmt: str, *, period, scope) -> bytes:
    """``tables`` of ``report`` as a ``fmt`` file ("csv" or "xlsx")."""
    title = f"{report.title} · {period.start.isoformat()} – {period.end.isoformat()}"
    if fmt == "csv":
        return tables_csv(tables, title=str(report.title), period=period, scope=scope)
    if fmt == "xlsx":
        return tables_xlsx(report_sheets(tables, heading=title))
    raise Http404(_("No export as “%(format)s”.") % {"format": fmt[:10]})


# --- export jobs (long exports run as a task) ------------------------------------------------------------------

#: a job left running this long (its worker died) may be taken again
JOB_LEASE = dt.timedelta(hours=1)


def job_create(*, report: Report, scope, period, query: dict, fmt: str, user, language: str):
    """An export of ``report`` queued as a task (sent when the transaction commits); the page follows it."""
    from .models import ExportJob
    from .tasks import export_report_task

    job = ExportJob.objects.create(
        dealership=scope.dealership,
        user=user,
        report=report.slug,
        format=fmt,
        language=language,
        params={
            "query": {key: value for key, value in query.items() if key not in ("async",)},
            "dealerships": scope.dealership_ids,
            "agent_id": scope.agent_id,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
        },
    )
    transaction.on_commit(lambda: export_report_task.delay(job.pk))
    return job


def job_run(job_id: int) -> str:
    """Run the export job ``job_id`` once: claimed by a conditional update (queued, or running past its lease),
    its progress written as it goes, the file stored; a refusal or a bug marks it failed with the reason."""
    from dealercrm.core.models import Dealership

    from . import registry
    from .models import ExportJob
    from .periods import Period
    from .scope import Scope

    Status = ExportJob.Status
    now = timezone.now()
    claimable = Q(status=Status.QUEUED) | Q(status=Status.RUNNING, created_at__lt=now - JOB_LEASE)
    if not ExportJob.objects.filter(claimable, pk=job_id).update(status=Status.RUNNING, progress=5):
        return "skipped"
    job = ExportJob.objects.select_related("user").get(pk=job_id)

    def progress(percent: int) -> None:
        ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(progress=percent)

    try:
        with translation.override(job.language):
            params = job.params
            report = registry.report(job.report)
            found = Dealership.objects.in_bulk(params["dealerships"])
            scope = Scope.of(*(found[pk] for pk in params["dealerships"]), user=job.user, agent_id=params["agent_id"])
            period = Period(dt.date.fromisoformat(params["start"]), dt.date.fromisoformat(params["end"]))
            tables = build(report, scope, period, resolve_params(report, scope, params.get("query") or {}))
            progress(60)
            content = render(report, tables, job.format, period=period, scope=scope)
            progress(90)
            job.file.save(filename(report, period, job.format), ContentFile(content), save=False)
    except Exception as exc:  # a refusal, a report gone, a bug: the page shows it, the job ends
        message = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
        ExportJob.objects.filter(pk=job.pk).update(
            status=Status.FAILED, error=str(message)[:2000], finished_at=timezone.now()
        )
        return "failed"
    ExportJob.objects.filter(pk=job.pk, status=Status.RUNNING).update(
        status=Status.DONE, progress=100, file=job.file.name, finished_at=timezone.now()
    )
    return "done"
