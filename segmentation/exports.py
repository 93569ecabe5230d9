"""The segment export: one row per customer as a run left them, as CSV, Excel or JSON.

Columns (stable names, for other systems): ``customer_no, c3_group, tier, value_layer, lapsed,
maintenance_per_year, spend_per_year, repair_ratio, visits_12m, lifetime_value``. ``lapsed`` is
``true``/``false``, money has two decimals, rates four; codes are the stable codes
(``profitable_loyal``, ``A``, ``high``; an empty ``c3_group`` for a customer in no group).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import xlsxwriter

from dealercrm.core.exports import XLSX_OPTIONS, csv_dict_writer

from .models import SegmentationRun
from .selectors import customer_segments_at

COLUMNS = [
    "customer_no",
    "c3_group",
    "tier",
    "value_layer",
    "lapsed",
    "maintenance_per_year",
    "spend_per_year",
    "repair_ratio",
    "visits_12m",
    "lifetime_value",
]
_BATCH = 5000


def segment_rows(run: SegmentationRun, queryset=None) -> Iterator[dict[str, str]]:
    """The export rows of ``run`` (or of ``queryset``, a filtered ``customer_segments_at(run=run)``), by
    customer number, as text; read in batches so that memory stays flat."""
    window = run.rule_set.window_days
    rows = (queryset if queryset is not None else customer_segments_at(run=run)).select_related("customer")
    rows = rows.order_by("customer__customer_no").values_list(
        "customer__customer_no",
        "c3_group",
        "tier",
        "value_layer",
        "lapsed",
        "maintenance_visits",
        "window_spend",
        "maintenance_spend",
        "observed_from",
        "visits_12m",
        "lifetime_value",
    )
    from .engine import customer_rates

    for number, c3, tier, layer, lapsed, maintenance, spend, maintenance_spend, observed, visits, ltv in rows.iterator(
        chunk_size=_BATCH
    ):
        rates = customer_rates(
            maintenance_visits=maintenance,
            window_spend=spend,
            maintenance_spend=maintenance_spend,
            observed_from=observed,
            reference_date=run.reference_date,
            window_days=window,
        )
        yield {
            "customer_no": number,
            "c3_group": c3,
            "tier": tier,
            "value_layer": layer,
            "lapsed": "true" if lapsed else "false",
            "maintenance_per_year": f"{rates['maintenance_per_year']:.4f}",
            "spend_per_year": f"{rates['spend_per_year']:.2f}",
            "repair_ratio": f"{rates['repair_ratio']:.4f}",
            "visits_12m": str(visits),
            "lifetime_value": f"{ltv:.2f}",
        }


def write_csv(run: SegmentationRun, out, queryset=None) -> int:
    """Write the export as CSV (UTF-8) to the text stream ``out``; returns the number of customers. A cell that
    a spreadsheet would run as a formula is written as text (``dealercrm.core.exports``)."""
    writer = csv_dict_writer(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    count = 0
    for row in segment_rows(run, queryset):
        writer.writerow(row)
        count += 1
    return count


def xlsx_bytes(run: SegmentationRun, queryset=None) -> bytes:
    """The export as an Excel workbook (numbers as numbers, codes as text, never a formula)."""
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "constant_memory": True, **XLSX_OPTIONS})
    sheet = workbook.add_worksheet("segments")
    sheet.write_row(0, 0, COLUMNS)
    numeric = {"maintenance_per_year", "spend_per_year", "repair_ratio", "visits_12m", "lifetime_value"}
    for r, row in enumerate(segment_rows(run, queryset), start=1):
        for c, name in enumerate(COLUMNS):
            value = row[name]
            if name in numeric:
                sheet.write_number(r, c, float(value))
            else:
                sheet.write_string(r, c, value)
    workbook.close()
    return buffer.getvalue()
