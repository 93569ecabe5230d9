"""Data quality: the share of wrong numbers, the message bounce rate (退信率; seed 001's goal ≤ 8 %) and the
possible duplicates.

Exact rules:

* **Bounce rate**: of the messages **sent** in the period (handed to a provider: ``Message.created_at`` in the
  store's days of the period, whatever their delivery status now, except ``failed``: refused before it left, so
  never sent), the share whose delivery receipt said **bounced**. A message whose receipt has not come yet
  counts as sent and not bounced.
* **Wrong numbers** and **possible duplicates** are flags on the customer record that keep no date: the
  figures are the store's customers **as of now** (every customer record of the store; the share's
  denominator is all of them). They are shown for a period that reaches today; for a period that ended
  before today there is no figure ("—"), rather than today's number passed off as that period's.

These are whole-store figures: an agent's scope gets none ("—").
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from followups.models import Message, TouchChannel
from reports.registry import KPI, Chart, Column, Figure, Report, Table, drill_url, ratio, register_kpi, register_report

from .followups import month_key, month_label, per_period, store_only, window

SECTION = "quality"
#: seed 001: 退信率 at most 8 %
BOUNCE_GOAL = Decimal("0.08")


# --- messages: bounce rate --------------------------------------------------------------------------------


def messages_sent(scope):
    """The scope's messages that left for a provider (not refused before sending)."""
    return Message.objects.filter(dealership_id__in=scope.dealership_ids).exclude(status=Message.Status.FAILED)


def bounce_many(scope, periods):
    if not store_only(scope):
        return [Figure(None) for _period in periods]
    rows = per_period(
        messages_sent(scope),
        periods,
        lambda period: window("created_at", period, scope.zone),
        lambda inside: {
            "sent": Count("id", filter=inside),
            "bounced": Count("id", filter=inside & Q(status=Message.Status.BOUNCED)),
        },
    )
    return [ratio(row["bounced"], row["sent"]) for row in rows]


def bounce_rows(scope, period, filters=None):
    if not store_only(scope):
        return Message.objects.none()
    return (
        messages_sent(scope)
        .filter(window("created_at", period, scope.zone), status=Message.Status.BOUNCED)
        .select_related("customer")
        .order_by("created_at", "id")
    )


register_kpi(
    KPI(
        code="quality.bounce_rate",
        label=_("Bounce rate"),
        definition=_(
            "Of the messages sent in the period (texts, WeChat, e-mail handed to the provider; those refused "
            "before sending left out), the share that bounced. Goal: at most 8 %."
        ),
        unit="rate",
        compute_many=bounce_many,
        rows=bounce_rows,
        drill="messages",
        higher_is_better=False,
        target=BOUNCE_GOAL,
        section=SECTION,
    )
)


# --- customers: flags as of now ---------------------------------------------------------------------------


def _reaches_today(scope, period) -> bool:
    return period.end >= scope.today()


def customers(scope):
    return Customer.objects.filter(dealership_id__in=scope.dealership_ids)


def customer_flags(scope) -> dict:
    """The store's customers, and how many are flagged wrong number / possible duplicate / bounced (one query)."""
    return customers(scope).aggregate(
        customers=Count("id"),
        wrong_number=Count("id", filter=Q(flag_wrong_number=True)),
        possible_duplicate=Count("id", filter=Q(flag_possible_duplicate=True)),
        bounced=Count("id", filter=Q(flag_bounced=True)),
    )


def _flag_many(make):
    def compute_many(scope, periods):
        current = [store_only(scope) and _reaches_today(scope, period) for period in periods]
        if not any(current):
            return [Figure(None) for _period in periods]
        flags = customer_flags(scope)
        return [make(flags) if now else Figure(None) for now in current]

    return compute_many


def _flag_rows(field):
    def rows(scope, period, filters=None):
        if not (store_only(scope) and _reaches_today(scope, period)):
            return Customer.objects.none()
        return customers(scope).filter(**{field: True}).order_by("customer_no", "id")

    return rows


_wrong_many = _flag_many(lambda flags: ratio(flags["wrong_number"], flags["customers"]))
_duplicates_many = _flag_many(lambda flags: Figure(flags["possible_duplicate"]))

register_kpi(
    KPI(
        code="quality.wrong_number_share",
        label=_("Wrong numbers"),
        definition=_(
            "Of the store's customers, the share whose phone number is flagged wrong, as of now (the flag keeps "
            "no date: a period that ended before today has no figure)."
        ),
        unit="rate",
        compute_many=_wrong_many,
        rows=_flag_rows("flag_wrong_number"),
        drill="customers",
        higher_is_better=False,
        section=SECTION,
    )
)
register_kpi(
    KPI(
        code="quality.possible_duplicates",
        label=_("Possible duplicates"),
        definition=_(
            "The store's customers flagged as a possible duplicate (a second customer with the same phone), as of "
            "now (a period that ended before today has no figure)."
        ),
        unit="count",
        compute_many=_duplicates_many,
        rows=_flag_rows("flag_possible_duplicate"),
        drill="customers",
        higher_is_better=False,
        section=SECTION,
    )
)


# --- the report -------------------------------------------------------------------------------------------


def _customer_table(scope, period) -> Table:
    current = _reaches_today(scope, period)
    flags = customer_flags(scope) if current else {}
    row = {
        "customers": flags.get("customers"),
        "wrong_number": flags.get("wrong_number"),
        "wrong_number_share": ratio(flags.get("wrong_number"), flags.get("customers")).value if current else None,
        "possible_duplicate": flags.get("possible_duplicate"),
        "bounced": flags.get("bounced"),
    }
    if current:
        row["_links"] = {
            "wrong_number": drill_url("quality.wrong_number_share", scope, period),
            "wrong_number_share": drill_url("quality.wrong_number_share", scope, period),
            "possible_duplicate": drill_url("quality.possible_duplicates", scope, period),
        }
    notes = [str(_("Customer flags are as of now; they keep no date."))]
    if not current:
        notes.append(str(_("This period ended before today: the customer flags of then are not known.")))
    return Table(
        key="customers",
        title=str(_("Customer records")),
        columns=[
            Column("customers", str(_("Customers")), "int"),
            Column("wrong_number", str(_("Wrong numbers")), "int"),
            Column("wrong_number_share", str(_("Share of wrong numbers")), "rate"),
            Column("possible_duplicate", str(_("Possible duplicates")), "int"),
            Column("bounced", str(_("Flagged: message bounced")), "int"),
        ],
        rows=[row],
        notes=notes,
    )


def _bounce_tables(scope, period) -> list[Table]:
    zone = scope.zone
    base = messages_sent(scope).filter(window("created_at", period, zone))
    counts = list(
        base.annotate(month=TruncMonth("created_at", tzinfo=zone))
        .values("month", "channel")
        .annotate(sent=Count("id"), bounced=Count("id", filter=Q(status=Message.Status.BOUNCED)))
        .order_by()
    )
    link = drill_url("quality.bounce_rate", scope, period)
    channels = {}
    months = {}
    for row in counts:
        for store, key in ((channels, row["channel"]), (months, month_key(row["month"]))):
            cell = store.setdefault(key, {"sent": 0, "bounced": 0})
            cell["sent"] += row["sent"]
            cell["bounced"] += row["bounced"]

    def row_of(label, cell):
        return {
            "label": label,
            "sent": cell.get("sent", 0),
            "bounced": cell.get("bounced", 0),
            "rate": ratio(cell.get("bounced", 0), cell.get("sent", 0)).value,
            "goal": BOUNCE_GOAL,
        }

    names = dict(TouchChannel.choices)
    by_channel = [
        row_of(str(names.get(channel, channel)), channels[channel])
        for channel in TouchChannel.values
        if channel in channels
    ]
    total = {
        "sent": sum(c["sent"] for c in channels.values()),
        "bounced": sum(c["bounced"] for c in channels.values()),
    }
    totals = {**row_of(str(_("All channels")), total), "_links": {"bounced": link, "rate": link}}
    rate = totals["rate"]
    notes = [str(_("Goal (seed 001): a bounce rate of at most 8 %."))]
    if rate is not None and rate > BOUNCE_GOAL:
        notes.append(str(_("The bounce rate is above the goal.")))
    columns = [
        Column("sent", str(_("Messages sent")), "int"),
        Column("bounced", str(_("Bounced")), "int"),
        Column("rate", str(_("Bounce rate")), "rate"),
        Column("goal", str(_("Goal (at most)")), "rate"),
    ]
    channel_table = Table(
        key="bounce_by_channel",
        title=str(_("Bounce rate by channel")),
        columns=[Column("label", str(_("Channel")), "text"), *columns],
        rows=by_channel,
        totals=totals,
        chart=Chart("bar", "label", ("rate", "goal"), str(_("Bounce rate against the goal"))),
        notes=notes,
        empty_text=str(_("No message was sent in this period.")),
    )
    month_table = Table(
        key="bounce_by_month",
        title=str(_("Bounce rate by month")),
        columns=[Column("label", str(_("Month")), "text"), *columns],
        rows=[row_of(month_label(first), months.get(first, {})) for first in period.months()],
        totals=totals,
        chart=Chart("line", "label", ("rate", "goal"), str(_("Bounce rate by month"))),
        empty_text=str(_("No message was sent in this period.")),
    )
    return [channel_table, month_table]


def build(scope, period, params) -> list[Table]:
    if not store_only(scope):
        return []
    return [_customer_table(scope, period), *_bounce_tables(scope, period)]


register_report(
    Report(
        slug="data-quality",
        title=_("Data quality"),
        description=_("Wrong numbers, the message bounce rate against its goal (at most 8%), and possible duplicates."),
        build=build,
        section=SECTION,
        action="reports.all",
        default_period="last_30",
        order=60,
    )
)
