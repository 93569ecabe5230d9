"""The workshop's figures and report: entries (入场台次) and revenue per month by visit type and payer, the
appointment show rate and the 30-day return rate after campaigns.

Definitions (each KPI's ``definition`` says the same to the page's reader):

* **entry** (入场台次): a vehicle coming in on a day, whatever the number of repair orders opened for it that day
  (SPEC: distinct (vehicle, opened date)). Counted as the day's first repair order of the vehicle (the lowest
  id): three visits of one car on two days are two entries. Split by visit type or payer, an entry goes to the
  type and payer of that first order, so the splits add up to the total. The drill-down lists those first
  orders, one row per entry.
* **revenue** (产值): the total of every visit opened in the period (all payers), by its opened date.
* **show rate** (出席率): arrived ÷ appointments due, where "due" means dated in the period, before the store's
  today (the day has passed), and not cancelled. A cancelled appointment (by the customer or the store, before
  its day) no longer stood on its day, so it counts neither way; one still "booked" after its day was not kept
  (nobody marked the arrival) and counts as not shown, as a no-show does.
* **30-day return rate** (活动后30天回厂率): of the target customers (invitees, not the holdout) who attended a
  campaign that ended in the period (the campaigns app's attendance: a visit in its period), the share with a
  visit in the 30 days after its last day (days 1–30 after it). Campaigns whose 30 days are not over by the
  store's today are left out until they are (their rate could still rise). Customers count once however many
  such campaigns they attended; a customer who came back after any of them counts as back.

Every figure is a fixed number of queries whatever the number of visits, appointments or periods
(``compute_many``: one query for all periods).
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from decimal import Decimal

import pandas as pd
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from campaigns.models import Campaign, Invitation
from campaigns.selectors import attended
from customers.models import Appointment, Customer, Payer, ServiceVisit, VisitType
from dealercrm.core.exceptions import ApplicationError
from reports.periods import Period
from reports.registry import KPI, Chart, Column, Figure, Report, Table, drill_url, ratio, register_kpi, register_report

SECTION = "workshop"
RETURN_DAYS = 30
SHOW_TARGET = Decimal("0.80")

#: the day's first repair order of its vehicle: one per entry (入场台次)
FIRST_OF_DAY = ~Exists(
    ServiceVisit.objects.filter(
        vehicle_id=OuterRef("vehicle_id"), opened_on=OuterRef("opened_on"), id__lt=OuterRef("id")
    )
)
#: appointments that stood on their day (not cancelled before it)
DUE_STATUSES = (Appointment.Status.BOOKED, Appointment.Status.ARRIVED, Appointment.Status.NO_SHOW)


def _in(period: Period, field: str) -> Q:
    return Q(**{f"{field}__gte": period.start, f"{field}__lte": period.end})


def _any(periods: list[Period], field: str) -> Q:
    """Any of ``periods`` (a filter that reads only their days)."""
    return functools.reduce(operator.or_, (_in(p, field) for p in periods))


def _span(periods: list[Period]) -> Period:
    return Period(min(p.start for p in periods), max(p.end for p in periods))


def _month(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{text.strip()}-01")
    except ValueError:
        raise ApplicationError(
            _("“%(value)s” is not a month: write it as YYYY-MM.") % {"value": text[:20]},
            code="filter_invalid",
            fields={"month": [_("Not a month (YYYY-MM).")]},
        ) from None


def _choice(filters: dict, name: str, choices) -> str | None:
    value = (filters.get(name) or "").strip()
    if not value:
        return None
    if value not in choices:
        raise ApplicationError(
            _("Unknown %(name)s “%(value)s”.") % {"name": name, "value": value[:40]},
            code="filter_invalid",
            fields={name: [_("Unknown value.")]},
        )
    return value


def _narrowed(period: Period, filters: dict) -> Period | None:
    """``period`` cut to the drill-down's ``month`` (None when they do not meet)."""
    if not filters.get("month"):
        return period
    first = _month(filters["month"])
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    start, end = max(first, period.start), min(last, period.end)
    return Period(start, end) if start <= end else None


# --- visits: entries and revenue --------------------------------------------------------------------------


def visits(scope, period: Period):
    """The scope's visits opened in ``period``."""
    return ServiceVisit.objects.filter(_in(period, "opened_on"), dealership_id__in=scope.dealership_ids)


def _visit_rows(scope, period, filters, *, entries: bool):
    period = _narrowed(period, filters or {})
    if period is None:
        return ServiceVisit.objects.none()
    rows = visits(scope, period)
    visit_type = _choice(filters or {}, "visit_type", VisitType.values)
    payer = _choice(filters or {}, "payer", Payer.values)
    if entries:  # the entry goes to the type and payer of the day's first order
        rows = rows.filter(FIRST_OF_DAY)
    if visit_type:
        rows = rows.filter(visit_type=visit_type)
    if payer:
        rows = rows.filter(payer=payer)
    return rows.select_related("customer", "vehicle").order_by("-opened_on", "-id")


def entry_rows(scope, period, filters=None):
    """One visit per entry: the day's first repair order of each vehicle that came in."""
    return _visit_rows(scope, period, filters, entries=True)


def revenue_rows(scope, period, filters=None):
    """Every visit whose total makes the revenue."""
    return _visit_rows(scope, period, filters, entries=False)


def _visit_figures(scope, periods: list[Period]) -> list[dict]:
    """Entries, visits and revenue of each period: one query over the (vehicle, day) pairs of the visits opened
    in any of the periods (an entry is such a pair, however many orders were opened for it that day). Only the
    periods' own days are read, not the span between them (a period and the same period last year)."""
    days = (
        ServiceVisit.objects.filter(_any(periods, "opened_on"), dealership_id__in=scope.dealership_ids)
        .values("vehicle_id", "opened_on")
        .annotate(orders=Count("id"), total=Sum("total_amount"))
    )
    aggregates = {}
    for i, p in enumerate(periods):
        within = _in(p, "opened_on")
        aggregates[f"entries_{i}"] = Count("opened_on", filter=within)
        aggregates[f"visits_{i}"] = Sum("orders", filter=within)
        aggregates[f"revenue_{i}"] = Sum("total", filter=within)
    row = days.aggregate(**aggregates)
    return [
        {"entries": row[f"entries_{i}"], "visits": row[f"visits_{i}"] or 0, "revenue": row[f"revenue_{i}"]}
        for i in range(len(periods))
    ]


def entries_many(scope, periods):
    return [Figure(f["entries"]) if f["visits"] else Figure(None) for f in _visit_figures(scope, periods)]


def revenue_many(scope, periods):
    return [Figure(f["revenue"]) if f["visits"] else Figure(None) for f in _visit_figures(scope, periods)]


ENTRIES = register_kpi(
    KPI(
        code="workshop.entries",
        label=_("Workshop entries"),
        definition=_(
            "Vehicles that came into the workshop (入场台次): each vehicle counts once a day, however many repair "
            "orders were opened for it that day, by the orders' opened date in the period. By visit type or "
            "payer, an entry counts under its first order of the day. Empty when no visit was opened."
        ),
        unit="count",
        compute_many=entries_many,
        rows=entry_rows,
        drill="visits",
        filters=("month", "visit_type", "payer"),
        section=SECTION,
    )
)

REVENUE = register_kpi(
    KPI(
        code="workshop.revenue",
        label=_("Workshop revenue"),
        definition=_(
            "The total amount (labour, parts and the rest, all payers) of the repair orders opened in the period. "
            "Empty when no visit was opened."
        ),
        unit="money",
        compute_many=revenue_many,
        rows=revenue_rows,
        drill="visits",
        filters=("month", "visit_type", "payer"),
        section=SECTION,
    )
)


# --- appointments: show rate ------------------------------------------------------------------------------


def due_appointments(scope, period: Period):
    """The scope's appointments dated in ``period`` whose day has passed (before the store's today), not
    cancelled."""
    return Appointment.objects.filter(
        _in(period, "date"),
        dealership_id__in=scope.dealership_ids,
        date__lt=scope.today(),
        status__in=DUE_STATUSES,
    )


def show_rows(scope, period, filters=None):
    """The appointments kept: arrived, of those due."""
    period = _narrowed(period, filters or {})
    if period is None:
        return Appointment.objects.none()
    return (
        due_appointments(scope, period)
        .filter(status=Appointment.Status.ARRIVED)
        .select_related("customer", "vehicle")
        .order_by("-date", "-id")
    )


def show_many(scope, periods):
    aggregates = {}
    for i, p in enumerate(periods):
        aggregates[f"due_{i}"] = Count("id", filter=_in(p, "date"))
        aggregates[f"arrived_{i}"] = Count("id", filter=_in(p, "date") & Q(status=Appointment.Status.ARRIVED))
    row = due_appointments(scope, _span(periods)).aggregate(**aggregates)
    return [ratio(row[f"arrived_{i}"], row[f"due_{i}"]) for i in range(len(periods))]


SHOW_RATE = register_kpi(
    KPI(
        code="workshop.show_rate",
        label=_("Appointment show rate"),
        definition=_(
            "Appointments kept: arrived ÷ appointments dated in the period whose day has passed (before today), "
            "not counting cancelled ones; an appointment still booked after its day counts as not kept, as a "
            "no-show does. Dealers aim for at least 80%."
        ),
        unit="rate",
        compute_many=show_many,
        rows=show_rows,
        drill="appointments",
        filters=("month",),
        target=SHOW_TARGET,
        section=SECTION,
    )
)


# --- 30-day return after a campaign -------------------------------------------------------------------------


def _returned():
    """A visit of the invitee at the campaign's store in the 30 days after the campaign's last day."""
    return Exists(
        ServiceVisit.objects.filter(
            dealership_id=OuterRef("campaign__dealership_id"),
            customer_id=OuterRef("customer_id"),
            opened_on__gt=OuterRef("campaign__ends_on"),
            opened_on__lte=OuterRef("return_until"),
        )
    )


def return_invitations(scope, period: Period):
    """Invitations (not the holdout) of the scope's campaigns that ended in ``period`` and whose 30 days after
    are over, with ``did_attend`` and ``came_back``; an agent's scope: only their list."""
    closed_by = scope.today() - dt.timedelta(days=RETURN_DAYS + 1)  # its 30th day after is before today
    own = {"agent_id": scope.agent_id} if scope.agent_id else {}
    return (
        Invitation.objects.filter(
            campaign__dealership_id__in=scope.dealership_ids,
            campaign__ends_on__gte=period.start,
            campaign__ends_on__lte=min(period.end, closed_by),
            holdout=False,
            **own,
        )
        .exclude(campaign__status=Campaign.Status.DRAFT)
        .alias(
            return_until=ExpressionWrapper(
                F("campaign__ends_on") + dt.timedelta(days=RETURN_DAYS), output_field=DateField()
            )
        )
        .alias(did_attend=attended(), came_back=_returned())
    )


def _attending(invitations):
    """``invitations`` (of ``return_invitations``) whose customer attended, the attendance tested row by row: a
    test that stops at the first visit (an EXISTS inside a CASE, which PostgreSQL keeps as such), not the
    semi-join it would plan for a bare EXISTS, which on a large campaign it misjudges (3× slower)."""
    return invitations.alias(
        attending=Case(When(did_attend=True, then=Value(True)), default=Value(False), output_field=BooleanField())
    ).filter(attending=True)


def return_rows(scope, period, filters=None):
    """The customers who attended and came back within 30 days (the figure's numerator)."""
    invitations = return_invitations(scope, period).filter(did_attend=True, came_back=True)
    campaign = (filters or {}).get("campaign")
    if campaign:
        if not str(campaign).isdigit():
            raise ApplicationError(
                _("“%(value)s” is not a campaign.") % {"value": str(campaign)[:20]},
                code="filter_invalid",
                fields={"campaign": [_("Unknown campaign.")]},
            )
        invitations = invitations.filter(campaign_id=int(campaign))
    return Customer.objects.filter(pk__in=invitations.values("customer_id")).order_by("customer_no")


def return_many(scope, periods):
    span = _span(periods)
    aggregates = {}
    for i, p in enumerate(periods):
        ended = _in(p, "campaign__ends_on")
        aggregates[f"attended_{i}"] = Count("customer_id", distinct=True, filter=ended)
        aggregates[f"back_{i}"] = Count("customer_id", distinct=True, filter=ended & Q(came_back=True))
    # every count is of attending invitations: the attendance is a filter, read once per invitation
    row = _attending(return_invitations(scope, span)).aggregate(**aggregates)
    return [ratio(row[f"back_{i}"], row[f"attended_{i}"]) for i in range(len(periods))]


RETURN_30D = register_kpi(
    KPI(
        code="workshop.return_30d",
        label=_("30-day return after campaigns"),
        definition=_(
            "Of the target customers (invited, not the holdout) who attended a campaign that ended in the period "
            "(a visit during the campaign), the share with another visit in the 30 days after its last day. "
            "Campaigns whose 30 days are not over yet are left out until they are. A customer counts once."
        ),
        unit="rate",
        compute_many=return_many,
        rows=return_rows,
        drill="customers",
        filters=("campaign",),
        section=SECTION,
    )
)


# --- the report ---------------------------------------------------------------------------------------------


def _monthly(scope, period) -> list[dict]:
    """Entries, revenue per (month, visit type, payer): one query."""
    return list(
        visits(scope, period)
        .alias(first=FIRST_OF_DAY)
        .values("visit_type", "payer", month=TruncMonth("opened_on"))
        .annotate(entries=Count("id", filter=Q(first=True)), revenue=Sum("total_amount"))
        .order_by()
    )


def _month_key(day) -> str:
    return f"{day:%Y-%m}"


def _totals(frame: pd.DataFrame, columns) -> dict:
    return {c: (frame[c].sum() if c in frame else 0) for c in columns}


def _split_table(scope, period, frame: pd.DataFrame, key: str, choices, title, label) -> Table:
    """Month × ``key`` (visit type or payer): entries and revenue of each choice, then the month's total."""
    columns = [Column("month", pgettext_lazy("report column", "Month"), "text")]
    for code, name in choices:
        columns.append(Column(f"entries_{code}", _("%(name)s · entries") % {"name": name}, "int"))
    for code, name in choices:
        columns.append(Column(f"revenue_{code}", _("%(name)s · revenue") % {"name": name}, "money"))
    table = Table(
        key=f"by_{key}",
        title=title,
        columns=columns,
        chart=Chart("stacked", "month", tuple(f"entries_{code}" for code, _name in choices), title=title),
        notes=[_("An entry counts under the %(what)s of the vehicle's first repair order that day.") % {"what": label}],
        empty_text=_("No visit was opened in this period."),
    )
    if frame.empty:
        return table
    pivot = frame.pivot_table(index="month", columns=key, values=["entries", "revenue"], aggfunc="sum", fill_value=0)
    for month, values in pivot.iterrows():
        row = {"month": _month_key(month), "_links": {}}
        for code, _name in choices:
            row[f"entries_{code}"] = int(values.get(("entries", code), 0))
            row[f"revenue_{code}"] = Decimal(values.get(("revenue", code), 0))
            row["_links"][f"entries_{code}"] = drill_url(
                "workshop.entries", scope, period, month=row["month"], **{key: code}
            )
            row["_links"][f"revenue_{code}"] = drill_url(
                "workshop.revenue", scope, period, month=row["month"], **{key: code}
            )
        table.rows.append(row)
    table.totals = {"month": str(pgettext("totals row", "Total"))}
    for column in columns[1:]:
        table.totals[column.key] = sum(
            (r[column.key] for r in table.rows), Decimal(0) if "revenue" in column.key else 0
        )
    return table


def _appointment_table(scope, period) -> Table:
    """Per month: appointments due, arrived, no-show, still booked after the day, cancelled; the show rate."""
    rows = (
        Appointment.objects.filter(_in(period, "date"), dealership_id__in=scope.dealership_ids, date__lt=scope.today())
        .values(month=TruncMonth("date"))
        .annotate(
            due=Count("id", filter=Q(status__in=DUE_STATUSES)),
            arrived=Count("id", filter=Q(status=Appointment.Status.ARRIVED)),
            no_show=Count("id", filter=Q(status=Appointment.Status.NO_SHOW)),
            unmarked=Count("id", filter=Q(status=Appointment.Status.BOOKED)),
            cancelled=Count("id", filter=Q(status=Appointment.Status.CANCELLED)),
        )
        .order_by("month")
    )
    table = Table(
        key="show_rate",
        title=_("Appointment show rate"),
        columns=[
            Column("month", pgettext_lazy("report column", "Month"), "text"),
            Column("due", _("Appointments due"), "int"),
            Column("arrived", _("Arrived"), "int"),
            Column("no_show", _("No-show"), "int"),
            Column("unmarked", _("Still booked after the day"), "int"),
            Column("cancelled", _("Cancelled"), "int"),
            Column("show_rate", _("Show rate"), "rate", help=SHOW_RATE.definition),
        ],
        chart=Chart("bar", "month", ("due", "arrived"), title=_("Appointments due and kept")),
        notes=[
            _("Cancelled appointments count neither way; dealers aim for a show rate of at least 80%."),
            _("Only days before today count: an appointment still ahead cannot have been kept yet."),
        ],
        empty_text=_("No appointment was due in this period."),
    )
    for row in rows:
        month = _month_key(row["month"])
        table.rows.append(
            {
                **row,
                "month": month,
                "show_rate": ratio(row["arrived"], row["due"]).value,
                "_links": {"arrived": drill_url("workshop.show_rate", scope, period, month=month)},
            }
        )
    if table.rows:
        sums = {k: sum(r[k] for r in table.rows) for k in ("due", "arrived", "no_show", "unmarked", "cancelled")}
        table.totals = {
            "month": str(pgettext("totals row", "Total")),
            **sums,
            "show_rate": ratio(sums["arrived"], sums["due"]).value,
        }
    return table


def _return_counts(scope, period) -> tuple[list[dict], dict]:
    """The campaigns of the 30-day return table and their counts, in two queries whatever the rows: the campaigns
    that have invitations counted (a test per campaign, no attendance read), then ONE aggregate over the
    invitations that attended, giving each campaign's ``attended`` and ``back`` and the totals (a customer of two
    campaigns counted once) as ``return_many`` counts them. The attendance is a per-row test (``_attending``),
    read once per invitation; ``came_back`` once per attending invitation for its campaign's count (the filter
    tests ``campaign_id`` first) and once for the total."""
    counted = return_invitations(scope, period).filter(campaign_id=OuterRef("pk"))
    campaigns = list(
        Campaign.objects.filter(Exists(counted), dealership_id__in=scope.dealership_ids)
        .values("id", "code", "name", "ends_on")
        .order_by("ends_on", "id")
    )
    if not campaigns:
        return [], {"attended": 0, "back": 0}
    aggregates = {
        "attended": Count("customer_id", distinct=True),
        "back": Count("customer_id", distinct=True, filter=Q(came_back=True)),
    }
    for row in campaigns:
        ours = Q(campaign_id=row["id"])
        # one invitation per customer and campaign (a unique constraint): a campaign's count needs no DISTINCT
        aggregates[f"attended_{row['id']}"] = Count("id", filter=ours)
        aggregates[f"back_{row['id']}"] = Count("id", filter=ours & Q(came_back=True))
    counts = _attending(return_invitations(scope, period)).aggregate(**aggregates)
    for row in campaigns:
        row["attended"], row["back"] = counts[f"attended_{row['id']}"], counts[f"back_{row['id']}"]
    return campaigns, {"attended": counts["attended"], "back": counts["back"]}


def _return_table(scope, period) -> Table:
    """Per campaign that ended in the period: target customers who attended, came back within 30 days, rate."""
    rows, total = _return_counts(scope, period)
    table = Table(
        key="return_30d",
        title=_("30-day return after campaigns"),
        columns=[
            Column("campaign", _("Campaign"), "text"),
            Column("ends_on", _("Last day"), "date"),
            Column("attended", _("Target customers who attended"), "int"),
            Column("back", _("Came back within 30 days"), "int"),
            Column("rate", _("Return rate"), "rate", help=RETURN_30D.definition),
        ],
        chart=Chart("bar", "campaign", ("rate",), title=_("30-day return rate")),
        notes=[
            _("Campaigns whose 30 days after the last day are not over yet are left out until they are."),
            _("The total counts a customer of two campaigns once."),
        ],
        empty_text=_("No campaign ended in this period, or their 30 days are not over yet."),
    )
    for row in rows:
        table.rows.append(
            {
                "campaign": f"{row['code']} · {row['name']}",
                "ends_on": row["ends_on"],
                "attended": row["attended"],
                "back": row["back"],
                "rate": ratio(row["back"], row["attended"]).value,
                "_links": {"back": drill_url("workshop.return_30d", scope, period, campaign=row["id"])},
            }
        )
    if table.rows:  # the figure's own counts (RETURN_30D.compute gives the same: see the tests)
        table.totals = {
            "campaign": str(pgettext("totals row", "Total")),
            "attended": total["attended"],
            "back": total["back"],
            "rate": ratio(total["back"], total["attended"]).value,
        }
    return table


def build(scope, period, params=None) -> list[Table]:
    frame = pd.DataFrame(_monthly(scope, period), columns=["visit_type", "payer", "month", "entries", "revenue"])
    if not frame.empty:
        frame["month"] = frame["month"].map(lambda d: d if isinstance(d, dt.date) else dt.date.fromisoformat(str(d)))
        frame["revenue"] = frame["revenue"].map(Decimal)
    months = Table(
        key="months",
        title=_("Entries and revenue per month"),
        columns=[
            Column("month", pgettext_lazy("report column", "Month"), "text"),
            Column("entries", ENTRIES.label, "int", help=ENTRIES.definition),
            Column("revenue", REVENUE.label, "money", help=REVENUE.definition),
        ],
        chart=Chart("bar", "month", ("entries", "revenue"), title=_("Entries and revenue per month")),
        empty_text=_("No visit was opened in this period."),
    )
    if not frame.empty:
        for month, group in frame.groupby("month", sort=True):
            key = _month_key(month)
            months.rows.append(
                {
                    "month": key,
                    "entries": int(group["entries"].sum()),
                    "revenue": sum(group["revenue"], Decimal(0)),
                    "_links": {
                        "entries": drill_url("workshop.entries", scope, period, month=key),
                        "revenue": drill_url("workshop.revenue", scope, period, month=key),
                    },
                }
            )
        months.totals = {
            "month": str(pgettext("totals row", "Total")),
            "entries": sum(r["entries"] for r in months.rows),
            "revenue": sum((r["revenue"] for r in months.rows), Decimal(0)),
            "_links": {
                "entries": drill_url("workshop.entries", scope, period),
                "revenue": drill_url("workshop.revenue", scope, period),
            },
        }
    return [
        months,
        _split_table(
            scope, period, frame, "visit_type", VisitType.choices, _("By visit type"), pgettext_lazy("noun", "type")
        ),
        _split_table(scope, period, frame, "payer", Payer.choices, _("By payer"), _("payer")),
        _appointment_table(scope, period),
        _return_table(scope, period),
    ]


register_report(
    Report(
        slug="workshop",
        title=_("Workshop"),
        description=_(
            "Entries (入场台次) and revenue per month by visit type and payer, the appointment show rate and the "
            "30-day return rate after campaigns."
        ),
        build=build,
        section=SECTION,
        default_period="last_quarter",
        order=50,
    )
)
