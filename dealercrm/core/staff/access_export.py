"""The access log as a file (CSV or XLSX), for an administrator or an auditor: one row per event.

The file names customers (their current name and number, as on the page), so writing it is itself an access
event (``staff:access-log-export``: kind ``export``, what "access log", customers = the distinct customers in it).
"""

from __future__ import annotations

import io
import json

import xlsxwriter
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from ..exports import XLSX_OPTIONS, csv_writer
from ..models import AccessEvent
from . import selectors

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMATS = tuple(CONTENT_TYPES)
BOM = "\ufeff"
#: events read from the database at a time
CHUNK = 2000


def headings() -> list[str]:
    return [
        _("When"),
        _("Kind"),
        pgettext("audit", "Who"),
        _("Customer id"),
        _("Customer no."),
        _("Customer name"),
        _("What"),
        _("Customers"),
        _("IP address"),
        _("Details"),
    ]


def rows(events: QuerySet[AccessEvent], *, dealership):
    """Each event as the file's cells; the customers' current names come in one query for the whole file."""
    shown = selectors.customers_shown(
        dealership=dealership,
        ids=events.exclude(customer_id=None).order_by().values_list("customer_id", flat=True).distinct(),
    )
    zone = dealership.zone
    kinds = dict(AccessEvent.Kind.choices)
    for event in events.iterator(chunk_size=CHUNK):
        customer = shown.get(event.customer_id) if event.customer_id is not None else None
        yield [
            timezone.localtime(event.occurred_at, zone).strftime("%Y-%m-%d %H:%M:%S"),
            str(kinds.get(event.kind, event.kind)),
            event.username,
            event.customer_id if event.customer_id is not None else "",
            customer.customer_no if customer else "",
            customer.name if customer else "",
            event.what,
            event.customers,
            event.ip or "",
            json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else "",
        ]


def render(events: QuerySet[AccessEvent], *, dealership, fmt: str) -> bytes:
    if fmt == "xlsx":
        out = io.BytesIO()
        book = xlsxwriter.Workbook(out, {**XLSX_OPTIONS, "in_memory": True})
        sheet = book.add_worksheet(_("Access log")[:31])
        bold = book.add_format({"bold": True})
        sheet.write_row(0, 0, headings(), bold)
        for number, row in enumerate(rows(events, dealership=dealership), start=1):
            sheet.write_row(number, 0, row)
        sheet.freeze_panes(1, 0)
        sheet.set_column(0, 0, 20)
        sheet.set_column(5, 6, 30)
        book.close()
        return out.getvalue()
    text = io.StringIO()
    text.write(BOM)  # Excel opens UTF-8 with its byte-order mark as UTF-8
    writer = csv_writer(text)
    writer.writerow(headings())
    writer.writerows(rows(events, dealership=dealership))
    return text.getvalue().encode("utf-8")


def filename(dealership, fmt: str) -> str:
    return f"access-log-{dealership.code}-{timezone.localdate(timezone=dealership.zone):%Y%m%d}.{fmt}"
