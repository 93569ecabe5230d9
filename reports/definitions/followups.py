"""Follow-ups and satisfaction: day-7/15/30 completion, satisfaction-call completion, surveys (response rate,
satisfaction, NPS) and complaints (how many, the share answered within the deadline).

Exact rules, shared by the figures, their drill-downs and the ``followups`` report:

* **Completion** of a kind of touch (``Touch.Kind``): of the touches of that kind **due in the period** (their
  ``due_at`` in the store's days of the period), the share **completed**: status ``done`` (a call that reached
  the customer), ``sent`` or ``delivered`` (a text handed to the provider, or confirmed delivered). Touches that
  were **not needed** leave the denominator: ``cancelled`` (a stop condition: the customer booked or came, a
  complaint opened or closed, the customer erased or merged, a member of staff cancelled it) and ``skipped``
  (the rules forbade it: do-not-contact, no consent, a known wrong number, no address, the cap). Every other
  state counts as due and not completed: still planned or being sent, failed, result unknown, expired.
  The satisfaction-call figure counts the CSI call after a visit and the satisfaction call after a campaign.
  An agent's own figures (``scope.agent_id``) count the touches assigned to them.
* **Survey response rate**: of the surveys **sent** in the period, the share answered (at any time).
* **Satisfaction** (1–5) and **NPS**: of the answers **given** in the period, the average satisfaction and
  % promoters (9–10) − % detractors (0–6) as points from −100 to 100; flagged when fewer than 30 answers.
* **Complaints**: opened in the period. The **first response** is the acknowledgement (or, for a complaint
  handled without one, its resolution or closing); **answered on time** when it came at or before
  ``response_due_at``. The share's denominator leaves out the complaints still unanswered whose deadline is
  still ahead (not late yet: nothing to judge).

Surveys, complaints and messages belong to the store, not to one agent: an agent's scope gets no figure ("—").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from followups.models import Complaint, Survey, Touch
from reports.periods import Period
from reports.registry import (
    KPI,
    Chart,
    Column,
    Figure,
    Report,
    Table,
    average,
    drill_url,
    ratio,
    register_kpi,
    register_report,
)

SECTION = "followups"

Kind = Touch.Kind
Status = Touch.Status

#: a touch that happened: a call that reached the customer, a text handed over or delivered
COMPLETED = (Status.DONE, Status.SENT, Status.DELIVERED)
#: a touch no longer needed (a stop condition) or not allowed (the contact rules): not in the denominator
NOT_NEEDED = (Status.CANCELLED, Status.SKIPPED)
#: the satisfaction calls: after a visit, and after a campaign
CSI_KINDS = (Kind.SATISFACTION, Kind.CAMPAIGN_SATISFACTION)
#: NPS answers: promoters 9–10, detractors 0–6
PROMOTER_FROM, DETRACTOR_UNTIL = 9, 6
#: fewer answers than this and satisfaction and NPS are flagged
FEW_ANSWERS = 30
FEW_ANSWERS_FLAG = _("Fewer than 30 answers: read with care.")


# --- shared plumbing (quality and incentives use it too) --------------------------------------------------


def window(field: str, period: Period, zone) -> Q:
    """``field`` (a timestamp) within the store's days of ``period``."""
    since, until = period.bounds(zone)
    return Q(**{f"{field}__gte": since, f"{field}__lt": until})


def date_window(field: str, period: Period) -> Q:
    """``field`` (a date) within ``period``."""
    return Q(**{f"{field}__gte": period.start, f"{field}__lte": period.end})


def per_period(qs, periods: list[Period], inside: Callable[[Period], Q], make: Callable[[Q], dict]) -> list[dict]:
    """One aggregate query giving, for each period, the aggregates ``make(condition)`` builds (named by key):
    ``inside(period)`` says which rows fall in a period. Rows outside every period are not read."""
    if not periods:
        return []
    any_period = Q()
    aggregates = {}
    for i, period in enumerate(periods):
        condition = inside(period)
        any_period |= condition
        for name, aggregate in make(condition).items():
            aggregates[f"{name}__{i}"] = aggregate
    row = qs.filter(any_period).aggregate(**aggregates)
    return [
        {name.rsplit("__", 1)[0]: value for name, value in row.items() if name.endswith(f"__{i}")}
        for i in range(len(periods))
    ]


def store_only(scope) -> bool:
    """Whether the scope reads whole-store figures (an agent's scope does not: they are nobody's own)."""
    return scope.agent_id is None


def month_key(value) -> dt.date:
    """The first day of a TruncMonth value's month (aware datetimes on PostgreSQL, dates elsewhere)."""
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def month_label(first: dt.date) -> str:
    return f"{first:%Y-%m}"


# --- touches: completion ----------------------------------------------------------------------------------


def touches(scope, kinds) -> object:
    """The scope's touches of ``kinds`` that were needed (not cancelled, not skipped); an agent's: theirs."""
    qs = Touch.objects.filter(dealership_id__in=scope.dealership_ids, kind__in=list(kinds)).exclude(
        status__in=NOT_NEEDED
    )
    if scope.agent_id is not None:
        qs = qs.filter(assignee_id=scope.agent_id)
    return qs


def _completion_many(kinds):
    def compute_many(scope, periods):
        rows = per_period(
            touches(scope, kinds),
            periods,
            lambda period: window("due_at", period, scope.zone),
            lambda inside: {
                "due": Count("id", filter=inside),
                "done": Count("id", filter=inside & Q(status__in=COMPLETED)),
            },
        )
        return [ratio(row["done"], row["due"]) for row in rows]

    return compute_many


def _completion_rows(kinds):
    def rows(scope, period, filters=None):
        return (
            touches(scope, kinds)
            .filter(window("due_at", period, scope.zone), status__in=COMPLETED)
            .select_related("customer", "assignee")
            .order_by("due_at", "id")
        )

    return rows


COMPLETION_DEFINITION = _(
    "Of the %(what)s due in the period, the share completed: a call that reached the customer, or a text sent or "
    "delivered. Touches cancelled (the customer booked or came, a complaint) or skipped (do-not-contact, no "
    "consent, a wrong number) are not counted; planned, failed and expired ones count as not completed."
)


def _completion_definition(what):
    return lazy(lambda: str(COMPLETION_DEFINITION) % {"what": what}, str)()


for _code, _kinds, _label, _what in (
    ("followups.day7_completion", (Kind.DAY_7,), _("Day-7 follow-up completion"), _("day-7 follow-up calls")),
    ("followups.day15_completion", (Kind.DAY_15,), _("Day-15 follow-up completion"), _("day-15 follow-up texts")),
    ("followups.day30_completion", (Kind.DAY_30,), _("Day-30 follow-up completion"), _("day-30 follow-up texts")),
    (
        "followups.csi_completion",
        CSI_KINDS,
        _("Satisfaction-call completion"),
        _("satisfaction calls (after a visit or a campaign)"),
    ),
):
    _many = _completion_many(_kinds)
    register_kpi(
        KPI(
            code=_code,
            label=_label,
            definition=_completion_definition(_what),
            unit="rate",
            compute_many=_many,
            rows=_completion_rows(_kinds),
            drill="touches",
            section=SECTION,
        )
    )


# --- surveys ----------------------------------------------------------------------------------------------


def surveys(scope):
    return Survey.objects.filter(dealership_id__in=scope.dealership_ids)


def _empty_many(periods):
    return [Figure(None) for _period in periods]


def response_rate_many(scope, periods):
    if not store_only(scope):
        return _empty_many(periods)
    rows = per_period(
        surveys(scope),
        periods,
        lambda period: window("sent_at", period, scope.zone),
        lambda inside: {
            "sent": Count("id", filter=inside),
            "answered": Count("id", filter=inside & Q(answered_at__isnull=False)),
        },
    )
    return [ratio(row["answered"], row["sent"]) for row in rows]


def response_rate_rows(scope, period, filters=None):
    if not store_only(scope):
        return Survey.objects.none()
    return (
        surveys(scope)
        .filter(window("sent_at", period, scope.zone), answered_at__isnull=False)
        .select_related("customer")
        .order_by("sent_at", "id")
    )


def _few(count) -> str:
    return str(FEW_ANSWERS_FLAG) if count < FEW_ANSWERS else ""


def satisfaction_many(scope, periods):
    if not store_only(scope):
        return _empty_many(periods)
    rows = per_period(
        surveys(scope).filter(satisfaction__isnull=False),
        periods,
        lambda period: window("answered_at", period, scope.zone),
        lambda inside: {"n": Count("id", filter=inside), "total": Sum("satisfaction", filter=inside)},
    )
    return [average(row["total"], row["n"], flag=_few(row["n"])) for row in rows]


def satisfaction_rows(scope, period, filters=None):
    if not store_only(scope):
        return Survey.objects.none()
    return (
        surveys(scope)
        .filter(window("answered_at", period, scope.zone), satisfaction__isnull=False)
        .select_related("customer")
        .order_by("answered_at", "id")
    )


def nps_value(promoters: int, detractors: int, answers: int, *, flag: str = "") -> Figure:
    """% promoters − % detractors, in points (−100 … 100); empty with no answer."""
    if not answers:
        return Figure(None, 0, 0, flag)
    net = promoters - detractors
    return Figure(Decimal(net) * 100 / Decimal(answers), net, answers, flag)


def nps_many(scope, periods):
    if not store_only(scope):
        return _empty_many(periods)
    rows = per_period(
        surveys(scope).filter(nps__isnull=False),
        periods,
        lambda period: window("answered_at", period, scope.zone),
        lambda inside: {
            "n": Count("id", filter=inside),
            "promoters": Count("id", filter=inside & Q(nps__gte=PROMOTER_FROM)),
            "detractors": Count("id", filter=inside & Q(nps__lte=DETRACTOR_UNTIL)),
        },
    )
    return [nps_value(row["promoters"], row["detractors"], row["n"], flag=_few(row["n"])) for row in rows]


def nps_rows(scope, period, filters=None):
    if not store_only(scope):
        return Survey.objects.none()
    return (
        surveys(scope)
        .filter(window("answered_at", period, scope.zone), nps__isnull=False)
        .select_related("customer")
        .order_by("answered_at", "id")
    )


register_kpi(
    KPI(
        code="surveys.response_rate",
        label=_("Survey response rate"),
        definition=_("Of the surveys sent in the period, the share the customer answered."),
        unit="rate",
        compute_many=response_rate_many,
        rows=response_rate_rows,
        drill="surveys",
        section=SECTION,
    )
)
register_kpi(
    KPI(
        code="surveys.satisfaction",
        label=_("Satisfaction"),
        definition=_(
            "The average satisfaction (1–5) of the survey answers given in the period; flagged when fewer than "
            "30 answers."
        ),
        unit="score",
        compute_many=satisfaction_many,
        rows=satisfaction_rows,
        drill="surveys",
        section=SECTION,
    )
)
register_kpi(
    KPI(
        code="surveys.nps",
        label=_("NPS"),
        definition=_(
            "Net promoter score of the survey answers given in the period: the percentage of promoters (9–10) "
            "minus the percentage of detractors (0–6), from −100 to 100; flagged when fewer than 30 answers."
        ),
        unit="score",
        compute_many=nps_many,
        rows=nps_rows,
        drill="surveys",
        section=SECTION,
    )
)


# --- complaints -------------------------------------------------------------------------------------------


def complaints(scope):
    """The scope's complaints with ``first_response_at``: the acknowledgement, else the resolution or closing
    of a complaint handled without one."""
    return Complaint.objects.filter(dealership_id__in=scope.dealership_ids).alias(
        first_response_at=Coalesce("acknowledged_at", "resolved_at", "closed_at")
    )


def on_time() -> Q:
    return Q(first_response_at__isnull=False, first_response_at__lte=F("response_due_at"))


def decided(now: dt.datetime) -> Q:
    """Answered, or unanswered past the deadline: whether it was on time is known."""
    return Q(first_response_at__isnull=False) | Q(response_due_at__lte=now)


def complaint_count_many(scope, periods):
    if not store_only(scope):
        return _empty_many(periods)
    rows = per_period(
        complaints(scope),
        periods,
        lambda period: window("opened_at", period, scope.zone),
        lambda inside: {"n": Count("id", filter=inside)},
    )
    return [Figure(row["n"]) for row in rows]


def complaint_count_rows(scope, period, filters=None):
    if not store_only(scope):
        return Complaint.objects.none()
    return (
        complaints(scope)
        .filter(window("opened_at", period, scope.zone))
        .select_related("customer", "owner")
        .order_by("opened_at", "id")
    )


def on_time_many(scope, periods):
    if not store_only(scope):
        return _empty_many(periods)
    now = timezone.now()
    rows = per_period(
        complaints(scope),
        periods,
        lambda period: window("opened_at", period, scope.zone),
        lambda inside: {
            "decided": Count("id", filter=inside & decided(now)),
            "on_time": Count("id", filter=inside & on_time()),
        },
    )
    return [ratio(row["on_time"], row["decided"]) for row in rows]


def on_time_rows(scope, period, filters=None):
    if not store_only(scope):
        return Complaint.objects.none()
    return complaint_count_rows(scope, period).filter(on_time())


register_kpi(
    KPI(
        code="complaints.count",
        label=_("Complaints"),
        definition=_("The complaints opened in the period (from a survey, a call, the counter or the API)."),
        unit="count",
        compute_many=complaint_count_many,
        rows=complaint_count_rows,
        drill="complaints",
        higher_is_better=False,
        section=SECTION,
    )
)
register_kpi(
    KPI(
        code="complaints.on_time_share",
        label=_("Complaints answered on time"),
        definition=_(
            "Of the complaints opened in the period, the share whose first response (the acknowledgement, or the "
            "resolution of one handled without it) came within its response deadline. Complaints still "
            "unanswered whose deadline has not passed yet are left out."
        ),
        unit="rate",
        compute_many=on_time_many,
        rows=on_time_rows,
        drill="complaints",
        section=SECTION,
    )
)


# --- the report -------------------------------------------------------------------------------------------

#: the report's rows of touches: (row key, KPI code, kinds, label)
COMPLETION_ROWS = (
    ("day7", "followups.day7_completion", (Kind.DAY_7,), _("Day-7 follow-up calls")),
    ("day15", "followups.day15_completion", (Kind.DAY_15,), _("Day-15 follow-up texts")),
    ("day30", "followups.day30_completion", (Kind.DAY_30,), _("Day-30 follow-up texts")),
    ("csi", "followups.csi_completion", CSI_KINDS, _("Satisfaction calls")),
)
_ROW_OF_KIND = {kind: key for key, _code, kinds, _label in COMPLETION_ROWS for kind in kinds}


def _completion_tables(scope, period) -> list[Table]:
    zone = scope.zone
    all_kinds = list(_ROW_OF_KIND)
    base = Touch.objects.filter(dealership_id__in=scope.dealership_ids, kind__in=all_kinds).filter(
        window("due_at", period, zone)
    )
    if scope.agent_id is not None:
        base = base.filter(assignee_id=scope.agent_id)
    needed = ~Q(status__in=NOT_NEEDED)
    counts = (
        base.annotate(month=TruncMonth("due_at", tzinfo=zone))
        .values("month", "kind")
        .annotate(
            due=Count("id", filter=needed),
            done=Count("id", filter=Q(status__in=COMPLETED)),
            not_needed=Count("id", filter=Q(status__in=NOT_NEEDED)),
        )
        .order_by()
    )
    by_row: dict[str, dict] = {key: {"due": 0, "done": 0, "not_needed": 0} for key, *_rest in COMPLETION_ROWS}
    by_month: dict[dt.date, dict[str, list[int]]] = {}
    for row in counts:
        key = _ROW_OF_KIND[row["kind"]]
        for name in ("due", "done", "not_needed"):
            by_row[key][name] += row[name]
        month = by_month.setdefault(month_key(row["month"]), {})
        cell = month.setdefault(key, [0, 0])
        cell[0] += row["done"]
        cell[1] += row["due"]

    rows = []
    for key, code, _kinds, label in COMPLETION_ROWS:
        figures = by_row[key]
        rate = ratio(figures["done"], figures["due"]).value
        rows.append(
            {
                "kind": str(label),
                "due": figures["due"],
                "done": figures["done"],
                "not_needed": figures["not_needed"],
                "rate": rate,
                "_links": {"rate": drill_url(code, scope, period), "done": drill_url(code, scope, period)},
            }
        )
    totals = {
        "kind": str(_("All follow-ups")),
        "due": sum(r["due"] for r in rows),
        "done": sum(r["done"] for r in rows),
        "not_needed": sum(r["not_needed"] for r in rows),
    }
    totals["rate"] = ratio(totals["done"], totals["due"]).value
    by_kind = Table(
        key="completion",
        title=str(_("Follow-up completion by kind")),
        columns=[
            Column("kind", str(_("Follow-up")), "text"),
            Column("due", str(_("Due")), "int", str(_("Due in the period, cancelled and skipped ones left out."))),
            Column("done", str(_("Completed")), "int", str(_("Calls that reached the customer, texts sent."))),
            Column(
                "not_needed",
                str(_("Not needed")),
                "int",
                str(_("Cancelled (the customer booked or came, a complaint) or skipped (the contact rules).")),
            ),
            Column("rate", str(_("Completion rate")), "rate"),
        ],
        rows=rows,
        totals=totals,
        chart=Chart("bar", "kind", ("rate",), str(_("Completion rate"))),
        empty_text=str(_("No follow-up was due in this period.")),
    )

    month_rows = []
    for first in period.months():
        cells = by_month.get(first, {})
        row = {"month": month_label(first)}
        for key, *_rest in COMPLETION_ROWS:
            done, due = cells.get(key, [0, 0])
            row[key] = ratio(done, due).value
        month_rows.append(row)
    by_month_table = Table(
        key="completion_by_month",
        title=str(_("Follow-up completion by month")),
        columns=[
            Column("month", str(_("Month")), "text"),
            *(Column(key, str(label), "rate") for key, _code, _kinds, label in COMPLETION_ROWS),
        ],
        rows=month_rows,
        chart=Chart("line", "month", tuple(key for key, *_rest in COMPLETION_ROWS), str(_("Completion by month"))),
        empty_text=str(_("No follow-up was due in this period.")),
    )
    return [by_kind, by_month_table]


def _survey_table(scope, period) -> Table:
    zone = scope.zone
    qs = surveys(scope)
    sent = {
        month_key(row["month"]): row
        for row in qs.filter(window("sent_at", period, zone))
        .annotate(month=TruncMonth("sent_at", tzinfo=zone))
        .values("month")
        .annotate(sent=Count("id"), answered=Count("id", filter=Q(answered_at__isnull=False)))
        .order_by()
    }
    answers = {
        month_key(row["month"]): row
        for row in qs.filter(window("answered_at", period, zone))
        .annotate(month=TruncMonth("answered_at", tzinfo=zone))
        .values("month")
        .annotate(
            scored=Count("id", filter=Q(satisfaction__isnull=False)),
            total=Sum("satisfaction"),
            rated=Count("id", filter=Q(nps__isnull=False)),
            promoters=Count("id", filter=Q(nps__gte=PROMOTER_FROM)),
            detractors=Count("id", filter=Q(nps__lte=DETRACTOR_UNTIL)),
        )
        .order_by()
    }

    def row_of(label, s, a):
        return {
            "month": label,
            "sent": s.get("sent", 0),
            "answered": s.get("answered", 0),
            "response_rate": ratio(s.get("answered", 0), s.get("sent", 0)).value,
            "answers": a.get("scored", 0),
            "satisfaction": average(a.get("total"), a.get("scored", 0)).value,
            "nps_answers": a.get("rated", 0),
            "nps": nps_value(a.get("promoters", 0), a.get("detractors", 0), a.get("rated", 0)).value,
        }

    rows = [row_of(month_label(first), sent.get(first, {}), answers.get(first, {})) for first in period.months()]
    sum_keys = ("sent", "answered", "scored", "total", "rated", "promoters", "detractors")
    total_s = {k: sum((r.get(k) or 0) for r in sent.values()) for k in ("sent", "answered")}
    total_a = {k: sum((r.get(k) or 0) for r in answers.values()) for k in sum_keys if k not in total_s}
    totals = row_of(str(_("Whole period")), total_s, total_a)
    links = {}
    if store_only(scope):
        links = {
            "response_rate": drill_url("surveys.response_rate", scope, period),
            "satisfaction": drill_url("surveys.satisfaction", scope, period),
            "nps": drill_url("surveys.nps", scope, period),
        }
    totals["_links"] = links
    notes = []
    if totals["answers"] < FEW_ANSWERS or totals["nps_answers"] < FEW_ANSWERS:
        notes.append(str(_("Fewer than 30 answers in the period: satisfaction and NPS are read with care.")))
    return Table(
        key="surveys",
        title=str(_("Surveys, satisfaction and NPS")),
        columns=[
            Column("month", str(_("Month")), "text"),
            Column("sent", str(_("Surveys sent")), "int"),
            Column("answered", str(_("Answered")), "int", str(_("Of the surveys sent that month."))),
            Column("response_rate", str(_("Response rate")), "rate"),
            Column("answers", str(_("Satisfaction answers")), "int", str(_("Answers given that month."))),
            Column("satisfaction", str(_("Average satisfaction (1–5)")), "decimal"),
            Column("nps_answers", str(_("NPS answers")), "int"),
            Column("nps", str(_("NPS")), "decimal", str(_("% promoters (9–10) − % detractors (0–6), −100 … 100."))),
        ],
        rows=rows,
        totals=totals,
        chart=Chart("line", "month", ("satisfaction", "nps"), str(_("Satisfaction and NPS"))),
        notes=notes,
        empty_text=str(_("No survey was sent or answered in this period.")),
    )


def _complaint_table(scope, period) -> Table:
    zone, now = scope.zone, timezone.now()
    counts = {
        month_key(row["month"]): row
        for row in complaints(scope)
        .filter(window("opened_at", period, zone))
        .annotate(month=TruncMonth("opened_at", tzinfo=zone))
        .values("month")
        .annotate(
            opened=Count("id"),
            decided=Count("id", filter=decided(now)),
            on_time=Count("id", filter=on_time()),
        )
        .order_by()
    }

    def row_of(label, figures):
        return {
            "month": label,
            "opened": figures.get("opened", 0),
            "decided": figures.get("decided", 0),
            "on_time": figures.get("on_time", 0),
            "on_time_share": ratio(figures.get("on_time", 0), figures.get("decided", 0)).value,
        }

    rows = [row_of(month_label(first), counts.get(first, {})) for first in period.months()]
    totals = row_of(
        str(_("Whole period")),
        {k: sum(r[k] for r in counts.values()) for k in ("opened", "decided", "on_time")},
    )
    totals["_links"] = {
        "opened": drill_url("complaints.count", scope, period),
        "on_time": drill_url("complaints.on_time_share", scope, period),
        "on_time_share": drill_url("complaints.on_time_share", scope, period),
    }
    return Table(
        key="complaints",
        title=str(_("Complaints and first responses")),
        columns=[
            Column("month", str(_("Month")), "text"),
            Column("opened", str(_("Complaints")), "int"),
            Column(
                "decided",
                str(_("Answered or late")),
                "int",
                str(_("Left out: complaints still unanswered whose deadline has not passed.")),
            ),
            Column("on_time", str(_("Answered on time")), "int"),
            Column("on_time_share", str(_("Share answered on time")), "rate"),
        ],
        rows=rows,
        totals=totals,
        chart=Chart("bar", "month", ("opened", "on_time"), str(_("Complaints"))),
        empty_text=str(_("No complaint was opened in this period.")),
    )


def build(scope, period, params) -> list[Table]:
    tables = _completion_tables(scope, period)
    if store_only(scope):
        tables += [_survey_table(scope, period), _complaint_table(scope, period)]
    return tables


register_report(
    Report(
        slug="followups",
        title=_("Follow-ups and satisfaction"),
        description=_(
            "Day-7/15/30 follow-up and satisfaction-call completion, survey response rate, satisfaction and NPS, "
            "complaints and the share answered within their deadline."
        ),
        build=build,
        section=SECTION,
        action="reports.all",
        default_period="last_30",
        order=50,
    )
)
