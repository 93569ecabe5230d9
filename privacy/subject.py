"""Data-subject requests (PIPL): one customer's data exported on request, and the customer erased on request.

* ``customer_data(customer)``: everything the store holds about the customer, section by section (``SECTIONS``),
  the full phone number included (it is the customer's own data);
* ``customer_export(customer=…, fmt=…)``: that data as JSON or XLSX (one sheet per section), with exactly one
  access event of kind ``subject_export``;
* ``erasure_preview(customer)``: what is still open and what erasing will do to each;
* ``customer_erase(customer=…)``: the erasure (``privacy.anonymise``, the rule shared with the retention
  review), in one transaction, with exactly one access event of kind ``erasure``; a second answers 409.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from decimal import Decimal

import xlsxwriter
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.models import CallAttempt, Coupon, Invitation
from customers.models import Appointment, ConsentEvent, Customer, ServiceVisit, Vehicle, VehicleOwnership
from customers.phones import e164
from dealercrm.core import access_log
from dealercrm.core.audit import audited
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.exports import XLSX_OPTIONS
from followups.models import Complaint, Message, Survey, Touch, TouchAttempt
from segmentation.models import CustomerSegment

from . import anonymise

FORMATS = ("json", "xlsx")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
#: columns left out of every section: secrets and the machinery's own bookkeeping, not the customer's data
LEFT_OUT = {
    "nonce",  # a survey link's secret
    "idempotency_key",
    "lease_until",
    "claimed_by",
    "phone_hash",
    "phone_last4",
}


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    model: type
    #: (customer) -> Q on ``model``
    rows: object
    order: tuple[str, ...] = ("pk",)


#: the sections of an export, in order: a JSON key each, an XLSX sheet each
SECTIONS = (
    Section("customer", gettext_lazy("Customer"), Customer, lambda c: Q(pk=c.pk)),
    Section(
        "vehicles",
        gettext_lazy("Vehicles"),
        Vehicle,
        lambda c: Q(pk__in=VehicleOwnership.objects.filter(customer=c).values("vehicle_id")) | Q(owner=c),
    ),
    Section("ownerships", gettext_lazy("Ownership history"), VehicleOwnership, lambda c: Q(customer=c)),
    Section("visits", gettext_lazy("Visits"), ServiceVisit, lambda c: Q(customer=c), ("opened_on", "pk")),
    Section("appointments", gettext_lazy("Appointments"), Appointment, lambda c: Q(customer=c), ("date", "pk")),
    Section(
        "consent_events", gettext_lazy("Consent history"), ConsentEvent, lambda c: Q(customer=c), ("occurred_at", "pk")
    ),
    Section("touches", gettext_lazy("Follow-ups"), Touch, lambda c: Q(customer=c), ("due_at", "pk")),
    Section(
        "followup_calls",
        gettext_lazy("Follow-up calls"),
        TouchAttempt,
        lambda c: Q(touch__customer=c),
        ("called_at", "pk"),
    ),
    Section("messages", gettext_lazy("Messages"), Message, lambda c: Q(customer=c), ("created_at", "pk")),
    Section("coupons", gettext_lazy("Coupons"), Coupon, lambda c: Q(customer=c), ("issued_at", "pk")),
    Section("invitations", gettext_lazy("Campaign invitations"), Invitation, lambda c: Q(customer=c)),
    Section(
        "campaign_calls",
        gettext_lazy("Campaign calls"),
        CallAttempt,
        lambda c: Q(invitation__customer=c),
        ("called_at", "pk"),
    ),
    Section("surveys", gettext_lazy("Surveys"), Survey, lambda c: Q(customer=c), ("sent_at", "pk")),
    Section("complaints", gettext_lazy("Complaints"), Complaint, lambda c: Q(customer=c), ("opened_at", "pk")),
    Section(
        "segments", gettext_lazy("Segment history"), CustomerSegment, lambda c: Q(customer=c), ("valid_from", "pk")
    ),
)


def _fields(model) -> list:
    return [f for f in model._meta.concrete_fields if f.name not in LEFT_OUT]


def _columns(model) -> list[tuple[str, str]]:
    """(key, header) of a section: the field's name (``vehicle_id`` for a relation) and its verbose name."""
    return [(f.attname, str(f.verbose_name)) for f in _fields(model)]


def customer_data(customer: Customer) -> dict[str, list[dict]]:
    """Every section's rows (dicts keyed by ``_columns``), one query a section."""
    data = {}
    for section in SECTIONS:
        names = [f.attname for f in _fields(section.model)]
        rows = list(section.model.objects.filter(section.rows(customer)).order_by(*section.order).values(*names))
        if section.model is Customer:
            for row in rows:
                row["phone"] = e164(row["phone"]) or None
        data[section.key] = rows
    return data


def _json(data: dict) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2).encode()


def _cell(sheet, row: int, col: int, value, zone) -> None:
    if value is None or value == "":
        return
    if isinstance(value, bool):
        sheet.write_boolean(row, col, value)
    elif isinstance(value, int | float | Decimal):
        sheet.write_number(row, col, float(value))
    elif isinstance(value, dt.datetime):
        sheet.write_string(row, col, timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M:%S"))
    elif isinstance(value, dt.date):
        sheet.write_string(row, col, value.isoformat())
    elif isinstance(value, dict | list):
        sheet.write_string(row, col, json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False))
    else:
        sheet.write_string(row, col, str(value))


def _xlsx(data: dict, zone) -> bytes:
    from reports.exports import sheet_name

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, **XLSX_OPTIONS})
    bold = book.add_format({"bold": True})
    taken: set[str] = set()
    for section in SECTIONS:
        sheet = book.add_worksheet(sheet_name(str(section.title), taken))
        columns = _columns(section.model)
        for col, (_key, header) in enumerate(columns):
            sheet.write_string(0, col, header, bold)
        for number, row in enumerate(data[section.key], start=1):
            for col, (key, _header) in enumerate(columns):
                _cell(sheet, number, col, row.get(key), zone)
    book.close()
    return out.getvalue()


@dataclass(frozen=True)
class Export:
    content: bytes
    content_type: str
    filename: str


def customer_export(*, customer: Customer, fmt: str = "json", user=None, request=None) -> Export:
    """The customer's data as ``fmt`` (json or xlsx), logged as one ``subject_export`` access event."""
    if fmt not in FORMATS:
        raise ApplicationError(
            _("Choose the format: json or xlsx."), code="invalid_format", fields={"format": [_("json or xlsx")]}
        )
    data = customer_data(customer)
    if fmt == "json":
        content, content_type = _json(data), "application/json"
    else:
        content, content_type = _xlsx(data, customer.dealership.zone), XLSX_TYPE
    access_log.record(
        access_log.Kind.SUBJECT_EXPORT,
        user=user,
        dealership=customer.dealership,
        what=fmt,
        customer=customer,
        request=request,
        details={"sections": {key: len(rows) for key, rows in data.items()}},
    )
    return Export(content, content_type, f"customer-{customer.pk}-data.{fmt}")


# --- erasure ------------------------------------------------------------------------------------------------

#: what erasing does to each kind of open record, in words
WHAT_HAPPENS = {
    "coupons": gettext_lazy("Voided: they can no longer be redeemed."),
    "appointments": gettext_lazy("Cancelled."),
    "complaints": gettext_lazy("Closed, with a note that the customer's data was erased."),
    "touches": gettext_lazy("Cancelled: no follow-up will reach the customer."),
    "invitations": gettext_lazy("Closed as not reached: the customer leaves the call lists."),
}
OPEN_TITLES = {
    "coupons": gettext_lazy("Open coupons"),
    "appointments": gettext_lazy("Booked appointments"),
    "complaints": gettext_lazy("Open complaints"),
    "touches": gettext_lazy("Pending follow-ups"),
    "invitations": gettext_lazy("Open campaign invitations"),
}


def _describe(kind: str, record) -> str:
    if kind == "coupons":
        return f"{record.code} · {record.template.name} · {record.expires_on:%Y-%m-%d}"
    if kind == "appointments":
        return f"{record.date:%Y-%m-%d} {record.time_slot}".strip()
    if kind == "complaints":
        return f"{timezone.localtime(record.opened_at):%Y-%m-%d} · {record.get_status_display()}"
    if kind == "touches":
        return f"{record.get_kind_display()} · {timezone.localtime(record.due_at):%Y-%m-%d}"
    return f"{record.campaign.name} · {record.get_status_display()}"


def erasure_preview(customer: Customer) -> list[dict]:
    """What is still open for the customer, kind by kind: ``{"kind", "title", "count", "ids", "items" (a line
    each), "what_happens"}`` (every kind, open or not)."""
    related = {"coupons": ("template",), "invitations": ("campaign",)}
    preview = []
    for kind, queryset in anonymise.open_records([customer.pk]).items():
        records = list(queryset.select_related(*related.get(kind, ())).order_by("pk"))
        preview.append(
            {
                "kind": kind,
                "title": str(OPEN_TITLES[kind]),
                "count": len(records),
                "ids": [record.pk for record in records],
                "items": [_describe(kind, record) for record in records],
                "what_happens": str(WHAT_HAPPENS[kind]),
            }
        )
    return preview


def already_erased(customer: Customer) -> StateConflict:
    return StateConflict(
        _("This customer's personal data was already erased on %(date)s.")
        % {"date": timezone.localtime(customer.erased_at, customer.dealership.zone).strftime("%Y-%m-%d %H:%M")},
        code="already_erased",
    )


def _lock_customer(pk) -> Customer:
    """The customer, locked until the transaction ends: a second erasure waits, then finds them erased."""
    return Customer.objects.select_for_update().select_related("dealership").get(pk=pk)


@audited
@transaction.atomic
def customer_erase(*, customer: Customer, acting_user=None, request=None, now=None) -> dict[str, list[int]]:
    """Erase the customer's personal data (``privacy.anonymise``), closing what was open; one ``erasure``
    access event names what was closed. A customer already erased: ``StateConflict`` (409)."""
    locked = _lock_customer(customer.pk)
    if locked.erased_at is not None:
        raise already_erased(locked)
    closed = anonymise.anonymise(customer_ids=[locked.pk], now=now)
    access_log.record(
        access_log.Kind.ERASURE,
        user=acting_user,
        dealership=locked.dealership,
        what="erasure",
        customer=locked.pk,
        request=request,
        details={"closed": closed},
    )
    customer.refresh_from_db()
    return closed
