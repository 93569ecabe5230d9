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
