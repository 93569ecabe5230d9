"""The reports' pages: the list of reports, the manager's dashboard, each registered report and the drill-down
behind every figure.

Thin views over the registry (``reports.registry``): a page reads its scope (``Scope.for_request``: one store,
``?stores=all`` for a manager of several, an agent's own figures) and its period (``periods.from_params``: a
bad period answers 400 with the reason on the page, never a 500 or an empty page that reads as zero), asks the
KPIs and reports for their figures and tables, and shows them with ``registry.display`` — the one way a value
is written. Charts are drawn by ``static/js/reports/charts.js`` from data passed with ``json_script``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import defaultdict
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode
from django.utils.translation import get_language, gettext_lazy, pgettext_lazy
from django.utils.translation import gettext as _
from django.views.generic import TemplateView

from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.roles import can
from dealercrm.core.tenancy import request_dealerships
from dealercrm.core.views import DealershipMixin

from . import periods, registry
from .registry import DASH, UNIT_KIND, display, display_change
from .scope import ALL_STORES, Scope

#: the KPI tiles of the dashboard, in this order; a code not (yet) registered is left out
DASHBOARD_TILES = (
    "workshop.entries",
    "workshop.revenue",
    "workshop.show_rate",
    "campaigns.attendance_rate",
    "base.retention_12m",
    "base.wakeup_rate",
    "followups.day7_completion",
    "surveys.nps",
    "complaints.on_time_share",
    "quality.bounce_rate",
)
#: the dashboard's charts of KPIs per month over the 12 months up to the period's end: (key, title, codes);
#: the first code is drawn as bars, the others as lines on a second axis
MONTH_CHARTS = (
    ("workshop", gettext_lazy("Workshop entries and revenue per month"), ("workshop.entries", "workshop.revenue")),
    ("followups", gettext_lazy("Day-7 follow-up completion per month"), ("followups.day7_completion",)),
)
CHART_MONTHS = 12
#: how long the dashboard keeps a figure it computed (seconds; ``REPORTS_DASHBOARD_CACHE_SECONDS``, 0: never):
#: the Monday-morning page is opened by every manager of the store, and a whole-store figure over a year of a
#: million visits takes seconds in SQL; a figure at most this old is good enough on a dashboard (the reports
#: and the drill-downs always compute afresh)
CACHE_SECONDS = 300
NUMERIC = ("int", "money", "rate", "decimal")
DRILL_PER_PAGE = 50
SECTION_TITLES = {
    "campaigns": gettext_lazy("Campaigns"),
    "base": gettext_lazy("Customer base"),
    "workshop": gettext_lazy("Workshop"),
    "followups": gettext_lazy("Follow-ups and satisfaction"),
    "quality": gettext_lazy("Data quality"),
    "incentives": gettext_lazy("Staff incentives"),
}
#: the query parameters a picker carries over from one page to the next
CARRIED = ("period", "start", "end", "dealership", "stores")


# --- shared plumbing ---------------------------------------------------------------------------------------


def query_string(params: dict) -> str:
    return urlencode({k: v for k, v in params.items() if v not in (None, "")})


def period_choices() -> list[tuple[str, str]]:
    return [(name, str(label)) for name, label in periods.PRESETS.items()]


def month_periods(period: periods.Period, months: int = CHART_MONTHS) -> list[periods.Period]:
    """The calendar months of the ``months`` months up to ``period.end`` (the last one cut at the end)."""
    end = period.end
    first = end.replace(day=1)
    for _n in range(months - 1):
        first = (first - dt.timedelta(days=1)).replace(day=1)
    return [
        periods.Period(month, min((month + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1), end))
        for month in periods.Period(first, end).months()
    ]


def trend_class(value: Decimal | None, higher_is_better: bool) -> str:
    """The colour of a change: green when it went the good way, red when the bad way, grey otherwise."""
    if value is None or value == 0:
        return "trend-flat"
    better = (value > 0) == higher_is_better
    return "trend-good" if better else "trend-bad"


def chart_number(value, kind: str):
    """A value as the chart plots it: rates in percent, money and decimals as floats, None as a gap."""
    if value is None or value == "":
        return None
    if kind == "rate":
        return round(float(Decimal(value) * 100), 2)
    if kind in ("money", "decimal", "int"):
        return float(value)
    return None


def cache_seconds() -> int:
    return int(getattr(settings, "REPORTS_DASHBOARD_CACHE_SECONDS", CACHE_SECONDS))


def dashboard_figures(kpi_: registry.KPI, scope, periods_: list[periods.Period]) -> list[registry.Figure]:
    """``kpi_.figures`` of ``periods_`` for the dashboard, kept in the cache for ``cache_seconds()`` per KPI,
    stores, agent, periods and language (a flag's words)."""
    seconds = cache_seconds()
    if not seconds:
        return kpi_.figures(scope, periods_)
    text = "|".join(
        [kpi_.code, ",".join(map(str, scope.dealership_ids)), str(scope.agent_id), get_language() or ""]
        + [f"{p.start}:{p.end}" for p in periods_]
    )
    key = "reports:dashboard:" + hashlib.sha256(text.encode()).hexdigest()[:40]
    figures = cache.get(key)
    if figures is None:
        figures = list(kpi_.figures(scope, periods_))
        cache.set(key, figures, seconds)
    return figures


def compared(kpi_: registry.KPI, scope, period: periods.Period) -> registry.Compared:
    """``registry.compare`` through the dashboard's cache."""
    current, previous, last_year = dashboard_figures(kpi_, scope, [period, period.previous(), period.last_year()])
    return registry.Compared(kpi_, current, previous, last_year)


class ReportsPage(DealershipMixin, TemplateView):
    """A reports page: the scope and the period of the request, with a bad period shown as a 400 page."""

    action = "reports.view"
    default_period = "last_30"
    max_days = periods.DEFAULT_MAX_DAYS

    def get(self, request, *args, **kwargs):
        self.scope = Scope.for_request(request, dealership=self.dealership)
        try:
            self.period = periods.from_params(
                request.GET, today=self.scope.today(), default=self.default_period, max_days=self.max_days
            )
            context = self.get_context_data(**kwargs)
        except ApplicationError as exc:
            return self.bad_request(exc)
        return self.render_to_response(context)

    def bad_request(self, exc: ApplicationError):
        context = {
            "dealership": self.dealership,
            "message": exc.message if hasattr(exc, "message") else str(exc),
            "picker": self.picker(None),
            "back": self.request.path,
        }
        return TemplateResponse(self.request, "reports/bad_period.html", context, status=400)

    def picker(self, period: periods.Period | None, **extra) -> dict:
        """What the period and dealership picker shows (``reports/_picker.html``)."""
        request = self.request
        mine = request_dealerships(request)
        group_allowed = len(mine) > 1 and can(request.user, "reports.all")
        scope = getattr(self, "scope", None)
        return {
            "presets": period_choices(),
            "period_name": ""
            if (request.GET.get("start") or request.GET.get("end"))
            else ((request.GET.get("period") or "").strip() or self.default_period),
            "start": period.start.isoformat() if period else (request.GET.get("start") or ""),
            "end": period.end.isoformat() if period else (request.GET.get("end") or ""),
            "stores": mine,
            "current": self.dealership,
            "group": bool(scope and scope.is_group),
            "group_allowed": group_allowed,
            "extra": extra,
        }

    def scope_params(self) -> dict:
        return {**self.scope.as_params(), **self.period.as_params()}

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(
            scope=self.scope,
            period=self.period,
            picker=self.picker(self.period),
            scope_query=query_string(self.scope_params()),
            store_names=", ".join(d.name for d in self.scope.dealerships),
        )
        return context


# --- the list of reports -----------------------------------------------------------------------------------


class IndexView(ReportsPage):
    """The reports the user may open, by section, each linked with the chosen period and scope."""

    template_name = "reports/index.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = context["scope_query"]
        sections = defaultdict(list)
        for report_ in registry.reports():
            if can(self.request.user, report_.action):
                sections[report_.section].append(
                    {"report": report_, "url": f"{reverse('reports:report', args=[report_.slug])}?{query}"}
                )
        order = list(SECTION_TITLES) + sorted(set(sections) - set(SECTION_TITLES))
        context["sections"] = [
            {"key": key, "title": SECTION_TITLES.get(key, key or _("Other")), "reports": sections[key]}
            for key in order
            if sections.get(key)
        ]
        context["can_dashboard"] = can(self.request.user, "reports.all")
        return context


# --- the dashboard -----------------------------------------------------------------------------------------


def tile(compared: registry.Compared, scope, period) -> dict:
    """One KPI tile: its value, the changes against the previous period and last year, target and flag."""
    kpi_ = compared.kpi
    kind = UNIT_KIND[kpi_.unit]
    current = compared.current
    target = None
    if kpi_.target is not None:
        met = None if current.value is None else (current.value >= kpi_.target) == kpi_.higher_is_better
        if current.value is not None and current.value == kpi_.target:
            met = True
        target = {"text": display(kpi_.target, kind), "at_least": kpi_.higher_is_better, "met": met}
    changes = []
    for key, label, value, other in (
        ("previous", _("vs previous period"), compared.change_previous, compared.previous),
        ("last-year", _("vs last year"), compared.change_last_year, compared.last_year),
    ):
        changes.append(
            {
                "key": key,
                "label": label,
                "text": display_change(value, kpi_.unit),
                "css": trend_class(value, kpi_.higher_is_better),
                "arrow": "" if value is None or value == 0 else ("up" if value > 0 else "down"),
                "other": display(other.value, kind),
            }
        )
    return {
        "code": kpi_.code,
        "dom": kpi_.code.replace(".", "-"),
        "label": kpi_.label,
        "definition": kpi_.definition,
        "value": display(current.value, kind),
        "empty": current.empty,
        "numerator": current.numerator,
        "denominator": current.denominator,
        "fraction": (
            f"{display(current.numerator, 'int' if kpi_.unit == 'rate' else kind)} / "
            f"{display(current.denominator, 'int')}"
            if kpi_.unit == "rate" and current.denominator
            else ""
        ),
        "flag": current.flag,
        "target": target,
        "changes": changes,
        "url": registry.drill_url(kpi_.code, scope, period) if kpi_.rows is not None else "",
    }


def month_chart(key: str, title, codes, scope, period) -> dict | None:
    """A chart of registered KPIs per month (one ``figures`` call per KPI); None when none is registered."""
    kpis = registry.registered_kpis(codes)
    if not kpis:
        return None
    months = month_periods(period)
    series, empty = [], True
    for index, kpi_ in enumerate(kpis):
        kind = UNIT_KIND[kpi_.unit]
        figures = dashboard_figures(kpi_, scope, months)
        empty = empty and all(not f.value for f in figures)  # nothing but zeros and gaps: "no data"
        series.append(
            {
                "name": str(kpi_.label),
                "kind": kind,
                "type": "bar" if index == 0 else "line",
                "axis": 0 if index == 0 else 1,
                "data": [chart_number(f.value, kind) for f in figures],
                "labels": [display(f.value, kind) for f in figures],
                "links": [registry.drill_url(kpi_.code, scope, m) if kpi_.rows is not None else "" for m in months],
            }
        )
    return {
        "key": key,
        "title": str(title),
        "kind": "combo",
        "x": [m.start.strftime("%Y-%m") for m in months],
        "series": series,
        "empty": empty,
    }


def c3_chart(scope) -> dict | None:
    """The C3 distribution of the latest finished segmentation run of each store of the scope (summed over a
    group); each bar opens the customers of that group (one store)."""
    from segmentation import selectors as segment_selectors
    from segmentation.models import C3Group

    runs = [run for run in (segment_selectors.run_latest(dealership=d) for d in scope.dealerships) if run]
    if not runs:
        return {
            "key": "c3",
            "title": str(_("Customers per C3 group")),
            "kind": "bar",
            "x": [],
            "series": [],
            "empty": True,
        }
    counts = defaultdict(int)
    for run in runs:
        for code, count in ((run.counts or {}).get("c3") or {}).items():
            counts[str(code)] += int(count)
    codes = list(C3Group.values)
    links = [""] * len(codes)
    if len(runs) == 1 and not scope.is_group:
        base = reverse("segmentation:customers")
        links = [f"{base}?{urlencode({'run': runs[0].pk, 'c3_group': code})}" for code in codes]
    values = [counts.get(code, 0) for code in codes]
    return {
        "key": "c3",
        "title": str(_("Customers per C3 group")),
        "kind": "bar",
        "x": [str(label) for label in C3Group.labels],
        "series": [
            {
                "name": str(_("Customers")),
                "kind": "int",
                "type": "bar",
                "axis": 0,
                "data": values,
                "labels": [display(v, "int") for v in values],
                "links": links,
            }
        ],
        "empty": not any(values),
        "note": str(_("Latest segmentation run")),
    }


class DashboardView(ReportsPage):
    """The manager's dashboard: KPI tiles with their changes and targets, charts, each opening the rows."""

    action = "reports.all"
    template_name = "reports/dashboard.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        scope, period = self.scope, self.period
        kpis = registry.registered_kpis(DASHBOARD_TILES)
        context["tiles"] = [tile(compared(kpi_, scope, period), scope, period) for kpi_ in kpis]
        context["cache_minutes"] = cache_seconds() // 60
        charts = [month_chart(key, title, codes, scope, period) for key, title, codes in MONTH_CHARTS]
        charts.append(c3_chart(scope))
        context["charts"] = [chart for chart in charts if chart]
        context["chart_data"] = {chart["key"]: chart for chart in context["charts"]}
        context["stores_table"] = self.stores_table(kpis, context["tiles"]) if scope.is_group else None
        context["previous_period"] = period.previous()
        context["last_year_period"] = period.last_year()
        return context

    def stores_table(self, kpis, tiles) -> dict:
        """The group view: each KPI for the group and for each store (a column per store)."""
        scope, period = self.scope, self.period
        stores = list(scope.dealerships)
        rows = []
        group_figures = {t["code"]: t for t in tiles}
        for kpi_ in kpis:
            kind = UNIT_KIND[kpi_.unit]
            cells = []
            for store in stores:
                one = Scope.of(store, user=scope.user)
                (figure,) = dashboard_figures(kpi_, one, [period])
                cells.append(
                    {
                        "text": display(figure.value, kind),
                        "flag": figure.flag,
                        "url": registry.drill_url(kpi_.code, one, period) if kpi_.rows is not None else "",
                    }
                )
            group = group_figures.get(kpi_.code, {})
            rows.append(
                {"label": kpi_.label, "group": group.get("value", DASH), "url": group.get("url", ""), "cells": cells}
            )
        return {"stores": stores, "rows": rows}


# --- a report ----------------------------------------------------------------------------------------------


def report_params(report_: registry.Report, scope: Scope, query) -> dict:
    """The report's parameters from the request's ``query``: ``campaign`` is a campaign of the scope (by id;
    another dealership's or an unknown id answers 404), the latest one when the report needs one and the
    request names none. Returns ``{"values": {"campaign": Campaign | None, ...}, "choices": ...}``: the page
    gives the report each value's text (a campaign's id)."""
    from campaigns.models import Campaign

    values, choices = {}, {}
    for param in report_.params:
        if param.name == "campaign":
            campaigns = Campaign.objects.filter(dealership_id__in=scope.dealership_ids).order_by("-starts_on", "-id")
            raw = (query.get("campaign") or "").strip()
            if raw:
                if not raw.isdigit():
                    raise Http404(_("No such campaign."))
                campaign = campaigns.filter(pk=int(raw)).first()
                if campaign is None:
                    raise Http404(_("No such campaign."))
            else:
                campaign = campaigns.first() if param.required else None
            values["campaign"] = campaign
            choices["campaign"] = list(campaigns.values("id", "code", "name", "starts_on")[:200])
        else:
            values[param.name] = (query.get(param.name) or "").strip() or None
    return {"values": values, "choices": choices}


def table_view(table: registry.Table) -> dict:
    """A table as the page shows it: cells written with ``display``, numbers right-aligned, links kept."""
    columns = [
        {
            "key": c.key,
            "label": c.label,
            "kind": c.kind,
            "help": c.help,
            "num": c.kind in ("int", "money", "rate", "decimal"),
        }
        for c in table.columns
    ]
    rows = []
    for row in table.rows:
        links = row.get("_links") or {}
        rows.append(
            [
                {"text": display(row.get(c["key"]), c["kind"]), "num": c["num"], "url": links.get(c["key"], "")}
                for c in columns
            ]
        )
    totals = None
    if table.totals:
        links = table.totals.get("_links") or {}
        totals = [
            {
                "text": display(table.totals.get(c["key"]), c["kind"]) if c["key"] in table.totals else "",
                "num": c["num"],
                "url": links.get(c["key"], ""),
            }
            for c in columns
        ]
    return {
        "key": table.key,
        "title": table.title,
        "columns": columns,
        "rows": rows,
        "totals": totals,
        "notes": table.notes,
        "empty_text": table.empty_text or _("No data in this period."),
        "chart": bool(table.chart and table.rows),
    }


def table_chart(table: registry.Table) -> dict | None:
    """The data ECharts draws for a table's ``Chart``: the x column's texts, a series per column."""
    chart = table.chart
    if chart is None or not table.rows:
        return None
    columns = {c.key: c for c in table.columns}
    x_kind = columns[chart.x].kind if chart.x in columns else "text"
    series = []
    for key in chart.series:
        column = columns.get(key)
        if column is None:
            continue
        series.append(
            {
                "name": str(column.label),
                "kind": column.kind,
                "type": "line" if chart.kind == "line" else ("pie" if chart.kind == "pie" else "bar"),
                "stack": "total" if chart.kind == "stacked" else "",
                "axis": 0,
                "data": [chart_number(row.get(key), column.kind) for row in table.rows],
                "labels": [display(row.get(key), column.kind) for row in table.rows],
                "links": [(row.get("_links") or {}).get(key, "") for row in table.rows],
            }
        )
    kinds = {s["kind"] for s in series}
    if len(kinds) > 1 and chart.kind in ("bar", "line"):
        # figures of another kind beside the first (a rate or money beside counts): on a second axis, as a line,
        # so that neither flattens the other
        for s in series:
            if s["kind"] != series[0]["kind"]:
                s["axis"], s["type"] = 1, "line"
    return {
        "key": table.key,
        "title": str(chart.title or table.title),
        "kind": chart.kind,
        "x": [display(row.get(chart.x), x_kind) for row in table.rows],
        "series": series,
        "empty": all(v is None for s in series for v in s["data"]),
    }


class ReportView(ReportsPage):
    """A registered report: its tables (with totals, notes and links to the rows), their charts, the pickers
    and the report's own parameters, and links to its exports."""

    template_name = "reports/report.html"

    def get(self, request, *args, **kwargs):
        try:
            self.report = registry.report(kwargs["slug"])
        except KeyError:
            raise Http404(_("No such report.")) from None
        if not can(request.user, self.report.action):
            raise PermissionDenied(_("Your role may not do this."))
        self.default_period = self.report.default_period
        self.max_days = self.report.max_days
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        report_ = self.report
        params = report_params(report_, self.scope, self.request.GET)
        values = params["values"]
        missing = [p for p in report_.params if p.required and values.get(p.name) is None]
        # the reports take their parameters as the request's text and look them up themselves (as the exports
        # and the API give them): the campaign by its id
        chosen = {name: str(getattr(value, "pk", value)) for name, value in values.items() if value is not None}
        tables = [] if missing else report_.build(self.scope, self.period, chosen)
        context.update(
            report=report_,
            params=report_.params,
            param_values=values,
            param_choices=params["choices"],
            missing_param=(
                _("Nothing to show yet: there is no %(what)s to choose.") % {"what": missing[0].label}
                if missing
                else ""
            ),
            tables=[table_view(t) for t in tables],
            chart_data={t.key: c for t in tables if (c := table_chart(t))},
            export_query=query_string({**self.scope_params(), **chosen}),
            carried=self.scope_params(),
            picker=self.picker(self.period, **chosen),
            can_dashboard=can(self.request.user, "reports.all"),
        )
        return context


# --- drill-downs -------------------------------------------------------------------------------------------


def _customer_link(customer_id):
    return reverse("customers:detail", args=[customer_id]) if customer_id else ""


def _name(obj, attr):
    value = obj
    for part in attr.split("__"):
        value = getattr(value, part, None) if value is not None else None
    return value


def _col(label, attr, kind="text", link=None, choice=False):
    return {"label": label, "attr": attr, "kind": kind, "link": link, "choice": choice}


def _customer_col(attr="customer"):
    return _col(gettext_lazy("Customer"), f"{attr}__name", link=lambda o: _customer_link(_name(o, f"{attr}_id")))


def _plate_col(attr="vehicle"):
    return _col(gettext_lazy("Plate"), f"{attr}__plate")


def _complaint_link(o):
    try:
        return reverse("followups:complaint", args=[o.pk])
    except NoReverseMatch:
        return ""


def _campaign_link(o):
    return reverse("campaigns:detail", args=[o.campaign_id]) if getattr(o, "campaign_id", None) else ""


#: per drill kind: what to fetch with the rows (select_related) and the columns shown
DRILL_KINDS = {
    "customers": (
        (),
        [
            _col(gettext_lazy("Customer number"), "customer_no", link=lambda o: _customer_link(o.pk)),
            _col(pgettext_lazy("drill-down column", "Name"), "name", link=lambda o: _customer_link(o.pk)),
            _col(gettext_lazy("City"), "city"),
            _col(gettext_lazy("Member tier"), "member_tier", choice=True),
        ],
    ),
    "vehicles": (
        ("owner",),
        [
            _col(gettext_lazy("Plate"), "plate"),
            _col(gettext_lazy("Model"), "model"),
            _col(gettext_lazy("VIN"), "vin"),
            _col(gettext_lazy("Purchase date"), "purchase_date", "date"),
            _col(pgettext_lazy("drill-down column", "Owner"), "owner__name", link=lambda o: _customer_link(o.owner_id)),
        ],
    ),
    "visits": (
        ("customer", "vehicle"),
        [
            _col(pgettext_lazy("drill-down column", "Opened"), "opened_on", "date"),
            _col(gettext_lazy("RO number"), "ro_number"),
            _customer_col(),
            _plate_col(),
            _col(gettext_lazy("Visit type"), "visit_type", choice=True),
            _col(gettext_lazy("Payer"), "payer", choice=True),
            _col(gettext_lazy("Amount"), "total_amount", "money"),
        ],
    ),
    "appointments": (
        ("customer", "vehicle"),
        [
            _col(pgettext_lazy("drill-down column", "Date"), "date", "date"),
            _col(gettext_lazy("Time slot"), "time_slot"),
            _customer_col(),
            _plate_col(),
            _col(gettext_lazy("Status"), "status", choice=True),
        ],
    ),
    "invitations": (
        ("campaign", "target_group", "customer", "vehicle", "agent"),
        [
            _col(gettext_lazy("Campaign"), "campaign__name", link=_campaign_link),
            _col(gettext_lazy("Target group"), "target_group__name"),
            _customer_col(),
            _plate_col(),
            _col(gettext_lazy("Agent"), "agent"),
            _col(gettext_lazy("Status"), "status", choice=True),
        ],
    ),
    "touches": (
        ("customer",),
        [
            _col(pgettext_lazy("drill-down column", "Due"), "due_at", "datetime"),
            _col(pgettext_lazy("drill-down column", "Kind"), "kind", choice=True),
            _customer_col(),
            _col(gettext_lazy("Channel"), "channel", choice=True),
            _col(gettext_lazy("Status"), "status", choice=True),
            _col(pgettext_lazy("drill-down column", "Completed"), "completed_at", "datetime"),
        ],
    ),
    "surveys": (
        ("customer",),
        [
            _col(pgettext_lazy("drill-down column", "Sent"), "sent_at", "datetime"),
            _customer_col(),
            _col(pgettext_lazy("drill-down column", "Answered"), "answered_at", "datetime"),
            _col(gettext_lazy("Satisfaction"), "satisfaction", "int"),
            _col(gettext_lazy("NPS score"), "nps", "int"),
        ],
    ),
    "complaints": (
        ("customer",),
        [
            _col(pgettext_lazy("drill-down column", "Received"), "opened_at", "datetime", link=_complaint_link),
            _customer_col(),
            _col(gettext_lazy("Status"), "status", choice=True),
            _col(gettext_lazy("First response due"), "response_due_at", "datetime"),
            _col(pgettext_lazy("drill-down column", "Acknowledged"), "acknowledged_at", "datetime"),
        ],
    ),
    "messages": (
        ("customer",),
        [
            _col(pgettext_lazy("drill-down column", "Sent"), "created_at", "datetime"),
            _customer_col(),
            _col(gettext_lazy("Channel"), "channel", choice=True),
            _col(gettext_lazy("Status"), "status", choice=True),
            _col(gettext_lazy("Provider's error"), "error_code"),
        ],
    ),
    "coupons": (
        ("customer", "campaign"),
        [
            _col(gettext_lazy("Coupon code"), "code"),
            _customer_col(),
            _col(gettext_lazy("Campaign"), "campaign__name", link=_campaign_link),
            _col(gettext_lazy("Status"), "status", choice=True),
            _col(pgettext_lazy("drill-down column", "Issued"), "issued_at", "datetime"),
            _col(pgettext_lazy("drill-down column", "Redeemed"), "redeemed_at", "datetime"),
        ],
    ),
}


def _cell_text(obj, column, zone) -> str:
    if column["choice"]:
        getter = getattr(obj, f"get_{column['attr']}_display", None)
        if getter is not None:
            return str(getter()) or DASH
    value = _name(obj, column["attr"])
    if column["kind"] == "datetime":
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M") if value else DASH
    if column["kind"] in ("money", "int", "date"):
        return display(value, column["kind"])
    if value in (None, ""):
        return DASH
    return str(value)


def drill_rows(kind: str, rows, zone) -> tuple[list[dict], list[list[dict]]]:
    """The columns and the cells of a page of drill-down rows of ``kind``."""
    _related, columns = DRILL_KINDS[kind]
    heads = [{"label": c["label"], "num": c["kind"] in ("money", "int")} for c in columns]
    cells = [
        [
            {
                "text": _cell_text(obj, column, zone),
                "url": column["link"](obj) if column["link"] else "",
                "num": column["kind"] in ("money", "int"),
            }
            for column in columns
        ]
        for obj in rows
    ]
    return heads, cells


class DrillView(ReportsPage):
    """The rows behind a KPI for the scope and period (and the KPI's own filters), 50 a page, each opening its
    record; the figure and its definition on top."""

    template_name = "reports/drill.html"

    def get(self, request, *args, **kwargs):
        try:
            self.kpi = registry.kpi(kwargs["code"])
        except KeyError:
            raise Http404(_("No such figure.")) from None
        if self.kpi.rows is None:
            raise Http404(_("This figure has no rows to list."))
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        kpi_, scope, period = self.kpi, self.scope, self.period
        filters = {name: self.request.GET[name] for name in kpi_.filters if self.request.GET.get(name)}
        kind = UNIT_KIND[kpi_.unit]
        (figure,) = kpi_.figures(scope, [period])
        related, _columns = DRILL_KINDS[kpi_.drill]
        rows = kpi_.rows(scope, period, filters)
        if related and hasattr(rows, "select_related"):
            rows = rows.select_related(*related)
        if hasattr(rows, "ordered") and not rows.ordered:
            rows = rows.order_by("-pk")
        page = Paginator(rows, DRILL_PER_PAGE).get_page(self.request.GET.get("page"))
        heads, cells = drill_rows(kpi_.drill, page.object_list, scope.zone)
        base = {**self.scope_params(), **filters}
        context.update(
            kpi=kpi_,
            figure=figure,
            value=display(figure.value, kind),
            fraction=(
                f"{display(figure.numerator, 'int')} / {display(figure.denominator, 'int')}"
                if kpi_.unit == "rate" and figure.denominator
                else ""
            ),
            filters=filters,
            heads=heads,
            cells=cells,
            page_obj=page,
            page_query=query_string(base),
            can_dashboard=can(self.request.user, "reports.all"),
            dashboard_url=f"{reverse('reports:dashboard')}?{query_string(self.scope_params())}",
        )
        return context


__all__ = [
    "ALL_STORES",
    "DASHBOARD_TILES",
    "DashboardView",
    "DrillView",
    "IndexView",
    "ReportView",
    "report_params",
]
