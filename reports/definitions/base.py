"""The customer base's figures and report: C3 groups and tiers with their trend over the segmentation runs,
movement between runs, the share of A+B, value-layer upgrades and downgrades, the wake-up rate of lapsed
customers and the 12-month retention by vehicle age.

Which segmentation run stands for a day: the store's last finished run dated (reference date) on or before it
(as ``segmentation.selectors.run_on_or_before`` and the quarterly review choose it); a customer's result at a
run is the CustomerSegment row valid at it (``valid_from`` ≤ run < ``valid_to``). For a group of stores, each
store's own run. Definitions (each KPI's ``definition`` says the same to the page's reader):

* **share of A+B**: customers in tier A or B ÷ customers segmented, at the run of the period's last day.
* **wake-up rate** (唤醒率): of the customers lapsed at the period's start — segmentation's own ``lapsed`` flag
  (``CustomerSegment.lapsed``, its rule set's "lapsed after" days) in the run dated before the period's first
  day, i.e. the state the day before it began — the share with a visit in the period. Seed 001's goal: 10 %
  per half year.
* **12-month retention**: of the customers with a visit in the 365 days before the period's first day, the
  share with a visit in the period. By vehicle age: a customer counts in the age band (on the period's first
  day) of each vehicle they brought in during those 365 days, so a customer with two cars of different ages
  counts in both bands and the bands need not add up to the total.
* **movement**: customers by C3 group (and value layer) in the run before the period against the run of its
  last day — the two runs that bound the period, as the quarterly review compares two quarter ends; customers
  new since the first run have their own row.

Every figure and table is a fixed number of queries whatever the number of customers (movement: one per
store).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pandas as pd
from django.db.models import Case, Count, Exists, IntegerField, Max, OuterRef, Q, Subquery, Value, When
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from campaigns.targeting import age_band_case, age_band_condition
from customers.models import Customer, ServiceVisit
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.models import Dealership
from reports.periods import Period
from reports.registry import (
    KPI,
    Chart,
    Column,
    Figure,
    Report,
    Table,
    compare,
    drill_url,
    ratio,
    register_kpi,
    register_report,
)
from segmentation.models import AgeBand, C3Group, CustomerSegment, SegmentationRun, Tier, ValueLayer
from segmentation.selectors import LAYER_RANK, movement_matrix

SECTION = "base"
YEAR_DAYS = 365
AB = (Tier.A.value, Tier.B.value)
WAKEUP_TARGET = Decimal("0.10")
NO_GROUP = "none"


# --- which run stands for a day ------------------------------------------------------------------------------


def runs_on(scope, days: list[dt.date]) -> list[dict[int, int]]:
    """For each of ``days``: {dealership id: id of its last finished run dated on or before the day}. One
    query, whatever the number of days and stores."""
    finished = SegmentationRun.objects.filter(
        dealership_id=OuterRef("pk"), status=SegmentationRun.Status.SUCCEEDED
    ).order_by("-reference_date", "-id")
    annotations = {
        f"run_{i}": Subquery(finished.filter(reference_date__lte=day).values("id")[:1]) for i, day in enumerate(days)
    }
    rows = list(Dealership.objects.filter(pk__in=scope.dealership_ids).values("pk", **annotations))
    return [{row["pk"]: row[f"run_{i}"] for row in rows if row[f"run_{i}"]} for i in range(len(days))]


def valid_at(runs: dict[int, int], prefix: str = "") -> Q:
    """The segmentation results each store's run of ``runs`` holds (nothing when there is none)."""
    if not runs:
        return Q(pk__in=[])
    condition = Q()
    for dealership_id, run_id in runs.items():
        condition |= Q(
            Q(**{f"{prefix}dealership_id": dealership_id, f"{prefix}valid_from_id__lte": run_id})
            & (Q(**{f"{prefix}valid_to__isnull": True}) | Q(**{f"{prefix}valid_to_id__gt": run_id}))
        )
    return condition


def segments_at(scope, runs: dict[int, int]):
    return CustomerSegment.objects.filter(valid_at(runs), dealership_id__in=scope.dealership_ids)


def _eve(period: Period) -> dt.date:
    return period.start - dt.timedelta(days=1)


def _customers(segments) -> object:
    return Customer.objects.filter(pk__in=segments.values("customer_id")).order_by("customer_no")


def _visited(period: Period, customer: str = "customer_id"):
    return Exists(
        ServiceVisit.objects.filter(
            customer_id=OuterRef(customer), opened_on__gte=period.start, opened_on__lte=period.end
        )
    )


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


# --- segmented customers (the distribution's drill-down) ----------------------------------------------------


def segmented_rows(scope, period, filters=None):
    filters = filters or {}
    segments = segments_at(scope, runs_on(scope, [period.end])[0])
    group = _choice(filters, "c3_group", [*C3Group.values, NO_GROUP])
    if group:
        segments = segments.filter(c3_group="" if group == NO_GROUP else group)
    tier = _choice(filters, "tier", Tier.values)
    if tier:
        segments = segments.filter(tier=tier)
    layer = _choice(filters, "value_layer", ValueLayer.values)
    if layer:
        segments = segments.filter(value_layer=layer)
    return _customers(segments)


def segmented_many(scope, periods):
    runs = runs_on(scope, [p.end for p in periods])
    if not any(runs):
        return [Figure(None) for _p in periods]
    aggregates = {f"n_{i}": Count("id", filter=valid_at(r)) for i, r in enumerate(runs) if r}
    row = CustomerSegment.objects.filter(_any_of(runs), dealership_id__in=scope.dealership_ids).aggregate(**aggregates)
    return [Figure(row[f"n_{i}"]) if r else Figure(None) for i, r in enumerate(runs)]


def _any_of(runs_list: list[dict[int, int]]) -> Q:
    """Results held by any of the runs (at least one run: callers return early without)."""
    condition = Q()
    for runs in runs_list:
        if runs:
            condition |= valid_at(runs)
    return condition


SEGMENTED = register_kpi(
    KPI(
        code="base.customers",
        label=_("Segmented customers"),
        definition=_(
            "Customers with a segmentation result in the store's last run dated on or before the period's last "
            "day (by C3 group, tier or value layer in the drill-down). Empty when no run had finished by then."
        ),
        unit="count",
        compute_many=segmented_many,
        rows=segmented_rows,
        drill="customers",
        filters=("c3_group", "tier", "value_layer"),
        section=SECTION,
    )
)


# --- share of A+B -----------------------------------------------------------------------------------------------


def ab_rows(scope, period, filters=None):
    segments = segments_at(scope, runs_on(scope, [period.end])[0]).filter(tier__in=AB)
    return _customers(segments)


def ab_many(scope, periods):
    """Two queries: the runs, then the counts at every run."""
    runs = runs_on(scope, [p.end for p in periods])
    if not any(runs):
        return [Figure(None) for _p in periods]
    aggregates = {}
    for i, r in enumerate(runs):
        if not r:  # no run: nothing to count (an empty condition would empty the whole query)
            continue
        aggregates[f"all_{i}"] = Count("id", filter=valid_at(r))
        aggregates[f"ab_{i}"] = Count("id", filter=valid_at(r) & Q(tier__in=AB))
    row = CustomerSegment.objects.filter(_any_of(runs), dealership_id__in=scope.dealership_ids).aggregate(**aggregates)
    return [ratio(row[f"ab_{i}"], row[f"all_{i}"]) if r else Figure(None) for i, r in enumerate(runs)]


AB_SHARE = register_kpi(
    KPI(
        code="base.ab_share",
        label=_("Share of A+B customers"),
        definition=_(
            "Customers in tier A (3 or more visits in 12 months) or B (2 visits) ÷ all customers segmented, in the "
            "store's last segmentation run dated on or before the period's last day. Empty when there is no run."
        ),
        unit="rate",
        compute_many=ab_many,
        rows=ab_rows,
        drill="customers",
        section=SECTION,
    )
)


# --- wake-up rate -------------------------------------------------------------------------------------------------


def wakeup_rows(scope, period, filters=None):
    """The lapsed customers of the period's start who came in the period."""
    segments = segments_at(scope, runs_on(scope, [_eve(period)])[0]).filter(lapsed=True)
    return _customers(segments.filter(_visited(period)))


def wakeup_many(scope, periods):
    """Two queries: the runs of each period's eve, then the lapsed and woken counts."""
    runs = runs_on(scope, [_eve(p) for p in periods])
    if not any(runs):
        return [Figure(None) for _p in periods]
    aggregates, aliases = {}, {}
    for i, (p, r) in enumerate(zip(periods, runs, strict=True)):
        if not r:  # no run: nothing to count (an empty condition would empty the whole query)
            continue
        aliases[f"came_{i}"] = _visited(p)
        aggregates[f"lapsed_{i}"] = Count("id", filter=valid_at(r))
        aggregates[f"woken_{i}"] = Count("id", filter=valid_at(r) & Q(**{f"came_{i}": True}))
    row = (
        CustomerSegment.objects.filter(_any_of(runs), dealership_id__in=scope.dealership_ids, lapsed=True)
        .alias(**aliases)
        .aggregate(**aggregates)
    )
    return [ratio(row[f"woken_{i}"], row[f"lapsed_{i}"]) if r else Figure(None) for i, r in enumerate(runs)]


WAKEUP = register_kpi(
    KPI(
        code="base.wakeup_rate",
        label=_("Wake-up rate of lapsed customers"),
        definition=_(
            "Of the customers lapsed at the period's start (segmentation's “lapsed”: no visit for the rule set's "
            "number of days, 183 by default, in the store's last run dated before the period), the share with a "
            "visit in the period. Seed 001's goal: 10% per half year."
        ),
        unit="rate",
        compute_many=wakeup_many,
        rows=wakeup_rows,
        drill="customers",
        target=WAKEUP_TARGET,
        section=SECTION,
    )
)


# --- 12-month retention -------------------------------------------------------------------------------------------


def year_before(period: Period) -> Period:
    """The 365 days before the period's first day."""
    return Period(period.start - dt.timedelta(days=YEAR_DAYS), _eve(period))


def retention_rows(scope, period, filters=None):
    """The customers of the 365 days before who came back in the period (in an age band: whose vehicle of that
    band came in during those days)."""
    before = ServiceVisit.objects.filter(
        dealership_id__in=scope.dealership_ids,
        opened_on__gte=year_before(period).start,
        opened_on__lte=year_before(period).end,
    )
    band = _choice(filters or {}, "age_band", AgeBand.values)
    if band:
        before = before.filter(age_band_condition([band], period.start, "vehicle__purchase_date"))
    return (
        Customer.objects.filter(pk__in=before.values("customer_id"))
        .filter(_visited(period, "pk"))
        .order_by("customer_no")
    )


def _flag(period: Period) -> Max:
    when = When(opened_on__gte=period.start, opened_on__lte=period.end, then=Value(1))
    return Max(Case(when, default=Value(0), output_field=IntegerField()))


def retention_many(scope, periods):
    """One query: the visits of every period and its year before, by customer, then counted."""
    span = Period(min(year_before(p).start for p in periods), max(p.end for p in periods))
    flags = {}
    for i, p in enumerate(periods):
        flags[f"before_{i}"] = _flag(year_before(p))
        flags[f"back_{i}"] = _flag(p)
    aggregates = {}
    for i in range(len(periods)):
        aggregates[f"base_{i}"] = Count("customer_id", filter=Q(**{f"before_{i}": 1}))
        aggregates[f"kept_{i}"] = Count("customer_id", filter=Q(**{f"before_{i}": 1, f"back_{i}": 1}))
    row = (
        ServiceVisit.objects.filter(
            dealership_id__in=scope.dealership_ids, opened_on__gte=span.start, opened_on__lte=span.end
        )
        .values("customer_id")
        .annotate(**flags)
        .order_by()
        .aggregate(**aggregates)
    )
    return [ratio(row[f"kept_{i}"], row[f"base_{i}"]) for i in range(len(periods))]


RETENTION = register_kpi(
    KPI(
        code="base.retention_12m",
        label=_("12-month retention"),
        definition=_(
            "Of the customers with a visit in the 365 days before the period's first day, the share who came back "
            "(a visit) within the period. By vehicle age: the age band on the period's first day of each vehicle "
            "they brought in during those 365 days."
        ),
        unit="rate",
        compute_many=retention_many,
        rows=retention_rows,
        drill="customers",
        filters=("age_band",),
        section=SECTION,
    )
)


# --- the report -------------------------------------------------------------------------------------------------


def _share(n, total):
    return ratio(n, total).value


def _distribution_tables(scope, period) -> list[Table]:
    """C3 groups and tiers at the run of the period's last day: one query (with the runs: two)."""
    runs = runs_on(scope, [period.end])[0]
    counts = pd.DataFrame(
        list(segments_at(scope, runs).values("c3_group", "tier").annotate(n=Count("id")).order_by()),
        columns=["c3_group", "tier", "n"],
    )
    total = int(counts["n"].sum()) if not counts.empty else 0
    groups = counts.groupby("c3_group")["n"].sum() if total else pd.Series(dtype=int)
    tiers = counts.groupby("tier")["n"].sum() if total else pd.Series(dtype=int)
    empty = _("No segmentation run had finished by the period's last day.")
    c3 = Table(
        key="c3",
        title=_("C3 groups (latest run)"),
        columns=[
            Column("group", _("C3 group"), "text"),
            Column("customers", _("Customers"), "int"),
            Column("share", _("Share"), "rate"),
        ],
        chart=Chart("pie", "group", ("customers",), title=_("C3 groups")),
        notes=[_("Customers with no visit in the look-back window are in no C3 group.")],
        empty_text=empty,
    )
    tier = Table(
        key="tiers",
        title=_("Visit tiers (latest run)"),
        columns=[
            Column("tier", _("Tier"), "text"),
            Column("customers", _("Customers"), "int"),
            Column("share", _("Share"), "rate"),
        ],
        chart=Chart("pie", "tier", ("customers",), title=_("Visit tiers")),
        empty_text=empty,
    )
    if total:
        for code, label in [*C3Group.choices, (NO_GROUP, _("No group"))]:
            n = int(groups.get("" if code == NO_GROUP else code, 0))
            c3.rows.append(
                {
                    "group": str(label),
                    "customers": n,
                    "share": _share(n, total),
                    "_links": {"customers": drill_url("base.customers", scope, period, c3_group=code)},
                }
            )
        for code, label in Tier.choices:
            n = int(tiers.get(code, 0))
            tier.rows.append(
                {
                    "tier": str(label),
                    "customers": n,
                    "share": _share(n, total),
                    "_links": {"customers": drill_url("base.customers", scope, period, tier=code)},
                }
            )
        link = {"customers": drill_url("base.customers", scope, period)}
        for table in (c3, tier):
            table.totals = {
                table.columns[0].key: str(pgettext("totals row", "Total")),
                "customers": total,
                "share": Decimal(1),
                "_links": link,
            }
    return [c3, tier]


def _trend_table(scope, period) -> Table:
    """One row per finished run dated in the period, from the counts each run recorded: one query."""
    runs = (
        SegmentationRun.objects.filter(
            dealership_id__in=scope.dealership_ids,
            status=SegmentationRun.Status.SUCCEEDED,
            reference_date__gte=period.start,
            reference_date__lte=period.end,
        )
        .order_by("reference_date", "id")
        .values("id", "reference_date", "dealership__code", "customers", "counts")
    )
    columns = [
        Column("run", _("Run"), "text"),
        Column("reference_date", _("Reference date"), "date"),
        Column("customers", _("Customers"), "int"),
    ]
    columns += [Column(f"c3_{code}", label, "int") for code, label in C3Group.choices]
    columns += [Column(f"tier_{code}", _("Tier %(tier)s") % {"tier": code}, "int") for code in Tier.values]
    columns.append(Column("ab_share", AB_SHARE.label, "rate"))
    table = Table(
        key="trend",
        title=_("C3 groups and tiers over the runs of the period"),
        columns=columns,
        chart=Chart("line", "reference_date", tuple(f"tier_{code}" for code in Tier.values), title=_("Tiers")),
        empty_text=_("No segmentation run is dated in this period."),
    )
    for run in runs:
        counts = run["counts"] or {}
        c3, tiers = counts.get("c3") or {}, counts.get("tier") or {}
        row = {
            "run": f"{run['dealership__code']} #{run['id']}",
            "reference_date": run["reference_date"],
            "customers": run["customers"],
        }
        row.update({f"c3_{code}": int(c3.get(code, 0)) for code in C3Group.values})
        row.update({f"tier_{code}": int(tiers.get(code, 0)) for code in Tier.values})
        row["ab_share"] = _share(row["tier_A"] + row["tier_B"], sum(int(tiers.get(c, 0)) for c in Tier.values))
        table.rows.append(row)
    return table


def _bounding_runs(scope, period) -> list[tuple[SegmentationRun, SegmentationRun]]:
    """Per store: (its run before the period, its run of the period's last day), when it has both. Two
    queries."""
    before, after = runs_on(scope, [_eve(period), period.end])
    wanted = {*before.values(), *after.values()}
    objects = {run.pk: run for run in SegmentationRun.objects.filter(pk__in=wanted)}
    return [(objects[before[d]], objects[after[d]]) for d in scope.dealership_ids if d in before and d in after]


def _movement_table(scope, pairs) -> Table:
    labels = dict(C3Group.choices)
    columns = [Column("from", _("From \\ to"), "text")]
    columns += [Column(code, label, "int") for code, label in C3Group.choices]
    columns += [Column(NO_GROUP, _("No group"), "int"), Column("total", pgettext_lazy("totals row", "Total"), "int")]
    table = Table(
        key="movement",
        title=_("Movement between C3 groups"),
        columns=columns,
        notes=[_("From the run before the period to the run of its last day; customers new since have their own row.")],
        empty_text=_("Needs a segmentation run before the period and one by its last day."),
    )
    cells: dict[str, dict[str, int]] = {}
    for before, after in pairs:
        matrix = movement_matrix(before=before, after=after, dimension="c3")
        for source, targets in matrix["rows_before"].items():
            for target, n in targets.items():
                row = cells.setdefault(source or NO_GROUP, {})
                row[target or NO_GROUP] = row.get(target or NO_GROUP, 0) + n
        for target, n in matrix["new"].items():
            row = cells.setdefault("new", {})
            row[target or NO_GROUP] = row.get(target or NO_GROUP, 0) + n
    if not pairs:
        return table
    keys = [*C3Group.values, NO_GROUP]
    for source in [*keys, "new"]:
        if source not in cells:
            continue
        name = _("New customers") if source == "new" else labels.get(source, _("No group"))
        row = {"from": str(name), **{k: cells[source].get(k, 0) for k in keys}}
        row["total"] = sum(row[k] for k in keys)
        table.rows.append(row)
    table.totals = {
        "from": str(pgettext("totals row", "Total")),
        **{k: sum(r[k] for r in table.rows) for k in [*keys, "total"]},
    }
    return table


def _layer_table(scope, pairs) -> Table:
    labels = dict(ValueLayer.choices)
    table = Table(
        key="value_layers",
        title=_("Value-layer upgrades and downgrades"),
        columns=[
            Column("from", pgettext_lazy("value layer", "From"), "text"),
            Column("to", pgettext_lazy("value layer", "To"), "text"),
            Column("direction", _("Change"), "text"),
            Column("customers", _("Customers"), "int"),
        ],
        notes=[_("Between the run before the period and the run of its last day; new customers are not counted.")],
        empty_text=_("Needs a segmentation run before the period and one by its last day."),
    )
    moved: dict[tuple[str, str], int] = {}
    for before, after in pairs:
        matrix = movement_matrix(before=before, after=after, dimension="layer")
        for source, targets in matrix["rows_before"].items():
            for target, n in targets.items():
                if source != target:
                    moved[(source, target)] = moved.get((source, target), 0) + n
    order = sorted(moved, key=lambda k: (LAYER_RANK[k[1]] < LAYER_RANK[k[0]], -LAYER_RANK[k[1]], k[0]))
    up = down = 0
    for source, target in order:
        upgrade = LAYER_RANK[target] > LAYER_RANK[source]
        n = moved[(source, target)]
        up, down = (up + n, down) if upgrade else (up, down + n)
        table.rows.append(
            {
                "from": str(labels[source]),
                "to": str(labels[target]),
                "direction": str(_("Upgrade") if upgrade else _("Downgrade")),
                "customers": n,
            }
        )
    if table.rows:
        table.notes.append(_("Upgrades: %(up)s; downgrades: %(down)s.") % {"up": up, "down": down})
    return table


def _key_figures(scope, period) -> Table:
    table = Table(
        key="figures",
        title=_("Share of A+B, wake-up and retention"),
        columns=[
            Column("figure", _("Figure"), "text"),
            Column("numerator", _("Customers counted"), "int"),
            Column("denominator", _("Out of"), "int"),
            Column("value", _("Rate"), "rate"),
            Column("previous", _("Previous period"), "rate"),
            Column("last_year", _("Last year"), "rate"),
            Column("target", _("Goal"), "rate"),
        ],
        notes=[
            _("Seed 001's goal for the wake-up rate is 10% per half year."),
            RETENTION.definition,
        ],
    )
    for kpi_ in (AB_SHARE, WAKEUP, RETENTION):
        compared = compare(kpi_, scope, period)
        table.rows.append(
            {
                "figure": str(kpi_.label),
                "numerator": compared.current.numerator if not compared.current.empty else None,
                "denominator": compared.current.denominator if not compared.current.empty else None,
                "value": compared.current.value,
                "previous": compared.previous.value,
                "last_year": compared.last_year.value,
                "target": kpi_.target,
                "_links": {
                    "numerator": drill_url(kpi_.code, scope, period),
                    "value": drill_url(kpi_.code, scope, period),
                },
            }
        )
    return table


def _retention_table(scope, period) -> Table:
    """12-month retention by vehicle-age band on the period's first day: one query."""
    before = year_before(period)
    rows = (
        ServiceVisit.objects.filter(
            dealership_id__in=scope.dealership_ids, opened_on__gte=before.start, opened_on__lte=before.end
        )
        .alias(came=_visited(period))
        .values(band=age_band_case(period.start, "vehicle__purchase_date"))
        .annotate(
            base=Count("customer_id", distinct=True),
            kept=Count("customer_id", distinct=True, filter=Q(came=True)),
        )
        .order_by()
    )
    found = {row["band"]: row for row in rows}
    table = Table(
        key="retention",
        title=_("12-month retention by vehicle age"),
        columns=[
            Column("band", _("Vehicle age"), "text"),
            Column("base", _("Customers of the 12 months before"), "int"),
            Column("kept", _("Came back in the period"), "int"),
            Column("rate", _("Retention"), "rate", help=RETENTION.definition),
        ],
        chart=Chart("bar", "band", ("rate",), title=_("12-month retention by vehicle age")),
        notes=[
            _("Vehicle age on the period's first day; a customer with cars of two ages counts in both bands."),
        ],
        empty_text=_("No customer had a visit in the 12 months before this period."),
    )
    for code, label in [*AgeBand.choices, ("", _("Unknown purchase date"))]:
        row = found.get(code)
        if row is None:
            continue
        table.rows.append(
            {
                "band": str(label),
                "base": row["base"],
                "kept": row["kept"],
                "rate": ratio(row["kept"], row["base"]).value,
                "_links": {"kept": drill_url("base.retention_12m", scope, period, age_band=code)} if code else {},
            }
        )
    if table.rows:
        figure = RETENTION.compute(scope, period)
        table.totals = {
            "band": str(_("All customers")),
            "base": figure.denominator,
            "kept": figure.numerator,
            "rate": figure.value,
            "_links": {"kept": drill_url("base.retention_12m", scope, period)},
        }
    return table


def build(scope, period, params=None) -> list[Table]:
    pairs = _bounding_runs(scope, period)
    return [
        *_distribution_tables(scope, period),
        _trend_table(scope, period),
        _movement_table(scope, pairs),
        _layer_table(scope, pairs),
        _key_figures(scope, period),
        _retention_table(scope, period),
    ]


register_report(
    Report(
        slug="customer-base",
        title=_("Customer base"),
        description=_(
            "C3 groups and visit tiers with their trend over the segmentation runs, movement between runs, the "
            "share of A+B, value-layer upgrades and downgrades, the wake-up rate of lapsed customers and the "
            "12-month retention by vehicle age."
        ),
        build=build,
        section=SECTION,
        default_period="last_quarter",
        order=40,
    )
)
