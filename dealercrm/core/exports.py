"""The one CSV writer of every export: cells that a spreadsheet would run as a formula are neutralised.

A cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is taken by Excel, WPS and
LibreOffice for a formula (``=HYPERLINK(…)``, ``@SUM(…)``, ``-2+3``): a customer's name or a DMS value typed by
anyone would run on the desk of whoever opens the export. Such a cell is written with a single quote in front
(the OWASP "CSV injection" advice), which the spreadsheet shows as text; a plain number (``-12.50``,
``+8613800138000``) is left as it is. XLSX exports write strings as strings (``XLSX_OPTIONS``).

Use ``csv_writer`` / ``csv_dict_writer`` wherever a CSV is written for people (the database's ``COPY`` in
``dealercrm.core.bulk`` is not an export and writes its rows as they are).
"""

import csv
import re

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?[0-9]+(?:\.[0-9]+)?")
#: options for ``xlsxwriter.Workbook``: a string is never turned into a formula, a URL or a number
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def safe_cell(value):
    """``value`` as a spreadsheet will show it, never as a formula it would run."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) and not _NUMBER.fullmatch(value):
        return "'" + value
    return value


class _SafeWriter:
    """``csv.writer`` with every cell passed through ``safe_cell``."""

    def __init__(self, out, **options):
        self._writer = csv.writer(out, **options)

    def writerow(self, row):
        return self._writer.writerow([safe_cell(value) for value in row])

    def writerows(self, rows):
        for row in rows:
            self.writerow(row)


class _SafeDictWriter(csv.DictWriter):
    """``csv.DictWriter`` with every cell (the header too) passed through ``safe_cell``."""

    def __init__(self, out, fieldnames, **options):
        super().__init__(out, fieldnames, **options)
        self.writer = _SafeWriter(out, **{k: v for k, v in options.items() if k not in ("restval", "extrasaction")})


def csv_writer(out, **options) -> _SafeWriter:
    """Like ``csv.writer(out, **options)``, formula-safe."""
    return _SafeWriter(out, **options)


def csv_dict_writer(out, fieldnames, **options) -> csv.DictWriter:
    """Like ``csv.DictWriter(out, fieldnames, **options)``, formula-safe."""
    return _SafeDictWriter(out, fieldnames, **options)


# --- which downloads hold personal data: one access event each --------------------------------------------

#: Every download of the app (a response with ``Content-Disposition: attachment``, and the API's reads that
#: hand out customers' data in bulk), by URL name, with what it holds. Those in ``PERSONAL`` hold customers'
#: personal data: each request that answers with a file (a page) or at all (the API) leaves exactly one access
#: event (``record_export``: kind "export", or the kind of
#: its own for a data-subject or consent export), and any phone number in them is masked
#: (``dealercrm.core.privacy.mask_phone``). Those in ``FIGURES`` hold figures only (counts, sums, rates per
#: store, agent or campaign; no row per customer): no event. ``tests/core/test_export_events.py`` finds the
#: downloads from the URL configuration and fails for one that is in neither list.
PERSONAL = {
    "segmentation:customers-csv": "the segment list's customers (customer number, segment, figures) as CSV",
    "segmentation:customers-xlsx": "the segment list's customers (customer number, segment, figures) as XLSX",
    "api-segmentation-customer-list": "the API's list of the store's customers with their segments, page by page",
    "api-segmentation-quarterly-review": "the API's quarterly review: each customer whose value layer moved",
    "customers:import": "the rejected rows of a DMS import (``?download=``): the uploaded rows, phones masked",
    "customers:consent-export": "a customer's consent history as evidence (kind consent_export)",
    "api-customer-consent-history": "the same through the API (kind consent_export)",
    "privacy:subject-export": "a customer's own data at their request, in full (kind subject_export)",
    "api-privacy-customer-export": "the same through the API (kind subject_export)",
    "staff:access-log-export": "the access log: who looked at or exported which customers (kind export)",
}
FIGURES = {
    "reports:export": "a report's tables as CSV or XLSX: figures per store, agent, campaign or group",
    "reports:export-job-file": "a long report export's file: the same tables as reports:export",
    "reports:pack-file": "the weekly report pack: the managers' reports' tables, figures only",
}


def record_export(request, *, what: str, fmt: str, customers: int, details: dict | None = None, dealership=None):
    """The one access event of a download of personal data: ``what`` the export's name, ``fmt`` its format
    (csv, xlsx, json), ``customers`` how many customers' rows it holds, ``details`` its filters."""
    from dealercrm.core import access_log

    return access_log.record(
        access_log.Kind.EXPORT,
        request=request,
        dealership=dealership,
        what=f"{what} ({fmt})",
        customers=customers,
        details=details or {},
    )


def query_filters(query, *, ignore=("page", "cursor", "dealership", "download", "token")) -> dict:
    """The filters of a request's query string as the event's details: ``{name: value or [values]}``."""
    details = {}
    for name in query:
        if name in ignore:
            continue
        values = [value for value in query.getlist(name) if value != ""]
        if values:
            details[name] = values[0] if len(values) == 1 else values
    return details
