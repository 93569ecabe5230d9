"""The reports in the REST API: the list of reports a user may read, each report's tables as JSON, the KPIs.

A report reads the request as its page does (``Scope.for_request``: ``?dealership=``/``X-Dealership``, or
``?stores=all`` for a manager of several stores; ``periods.from_params``: ``start``/``end`` or ``period``).
Money, rates and decimals are strings of Decimals (a rate is a fraction: ``"0.1989"`` is 19.89 %), whole
numbers are numbers, "no value" is null. Refusals follow the error contract: a bad period 400
(``period_invalid``, ``period_reversed``, ``period_too_long``, ``period_unknown``), a missing required parameter
400 (``campaign_required``), an unknown report or a campaign not of the scope 404.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from dealercrm.core.api import DealershipScopedMixin
from dealercrm.core.roles import can

from .. import exports, periods, registry
from ..scope import ALL_STORES, Scope

PERIOD_CODES = ["period_invalid", "period_reversed", "period_too_long", "period_unknown"]

QUERY = [
    OpenApiParameter("start", OpenApiTypes.DATE, description=gettext_lazy("First day of the period (YYYY-MM-DD).")),
    OpenApiParameter("end", OpenApiTypes.DATE, description=gettext_lazy("Last day of the period (YYYY-MM-DD).")),
    OpenApiParameter(
        "period",
        str,
        enum=list(periods.PRESETS),
        description=gettext_lazy("A named period, used when start and end are not given."),
    ),
    OpenApiParameter(
        "stores",
        str,
        enum=[ALL_STORES],
        description=gettext_lazy("“all”: every dealership of a manager of several, together."),
    ),
]
CAMPAIGN = OpenApiParameter(
    "campaign", OpenApiTypes.INT, description=gettext_lazy("Id of a campaign, for the reports that take one.")
)


# --- serializers (what the answers hold; the views build plain dicts) -----------------------------------------


class ReportParamSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    required = serializers.BooleanField()


class ReportSummarySerializer(serializers.Serializer):
    slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    section = serializers.CharField()
    params = ReportParamSerializer(many=True)
    max_days = serializers.IntegerField()
    default_period = serializers.CharField()
    url = serializers.CharField(help_text=gettext_lazy("The report's JSON."))


class ReportColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=registry.KINDS)


class ReportTableSerializer(serializers.Serializer):
    key = serializers.CharField()
    title = serializers.CharField()
    columns = ReportColumnSerializer(many=True)
    rows = serializers.ListField(
        child=serializers.DictField(child=serializers.JSONField(allow_null=True)),
        help_text=gettext_lazy("Rows keyed by column: money, rates and decimals as strings, null for none."),
    )
    totals = serializers.DictField(child=serializers.JSONField(allow_null=True), allow_null=True)
    notes = serializers.ListField(child=serializers.CharField())


class ReportPeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()


class ReportScopeSerializer(serializers.Serializer):
    dealerships = serializers.ListField(child=serializers.CharField())
    agent = serializers.IntegerField(allow_null=True, help_text=gettext_lazy("Set when only an agent's own figures."))


class ReportSerializer(serializers.Serializer):
    report = serializers.CharField()
    title = serializers.CharField()
    period = ReportPeriodSerializer()
    scope = ReportScopeSerializer()
    tables = ReportTableSerializer(many=True)


class ReportFigureSerializer(serializers.Serializer):
    value = serializers.CharField(allow_null=True, help_text=gettext_lazy("A Decimal as a string; null for none."))
    numerator = serializers.CharField(allow_null=True)
    denominator = serializers.CharField(allow_null=True)
    flag = serializers.CharField()
    display = serializers.CharField()


class ReportKPISerializer(serializers.Serializer):
    code = serializers.CharField()
    label = serializers.CharField()
    definition = serializers.CharField()
    unit = serializers.ChoiceField(choices=registry.UNITS)
    section = serializers.CharField()
    higher_is_better = serializers.BooleanField()
    target = serializers.CharField(allow_null=True)
    current = ReportFigureSerializer()
    previous = ReportFigureSerializer()
    last_year = ReportFigureSerializer()
    change_previous = serializers.CharField(allow_null=True)
    change_last_year = serializers.CharField(allow_null=True)


class ReportKPIsSerializer(serializers.Serializer):
    period = ReportPeriodSerializer()
    previous = ReportPeriodSerializer()
    last_year = ReportPeriodSerializer()
    scope = ReportScopeSerializer()
    kpis = ReportKPISerializer(many=True)


# --- shaping -----------------------------------------------------------------------------------------------------


def table_json(table: registry.Table) -> dict:
    def row_json(row: dict) -> dict:
        kinds = row.get("_kinds") or {}
        return {c.key: exports.json_value(row.get(c.key), kinds.get(c.key, c.kind)) for c in table.columns}

    return {
        "key": table.key,
        "title": str(table.title),
        "columns": [{"key": c.key, "label": str(c.label), "kind": c.kind} for c in table.columns],
        "rows": [row_json(row) for row in table.rows],
        "totals": row_json(table.totals) if table.totals else None,
        "notes": [str(note) for note in table.notes],
    }


def scope_json(scope: Scope) -> dict:
    return {"dealerships": [d.code for d in scope.dealerships], "agent": scope.agent_id}


def period_json(period) -> dict:
    return {"start": period.start.isoformat(), "end": period.end.isoformat()}


def _text(value):
    return None if value is None else str(value)


def figure_json(figure: registry.Figure, unit: str) -> dict:
    kind = registry.UNIT_KIND[unit]
    return {
        "value": None if figure.value is None else str(exports.json_value(figure.value, kind)),
        "numerator": _text(figure.numerator),
        "denominator": _text(figure.denominator),
        "flag": str(figure.flag),
        "display": registry.display(figure.value, kind),
    }


# --- views -------------------------------------------------------------------------------------------------------


class ReportsAPIView(DealershipScopedMixin, APIView):
    """A report view: ``?stores=all`` reads every store of the user's, so it names no single dealership."""

    required_action = "reports.view"

    def initial(self, request, *args, **kwargs):
        if (request.query_params.get("stores") or "").strip().lower() == ALL_STORES:
            APIView.initial(self, request, *args, **kwargs)
            self.kwargs.pop(api_settings.FORMAT_SUFFIX_KWARG, None)
            return
        super().initial(request, *args, **kwargs)

    def scope(self, request) -> Scope:
        wanted = (request.query_params.get("stores") or "").strip().lower() == ALL_STORES
        return Scope.for_request(request._request, dealership=None if wanted else self.dealership)


class ReportListView(ReportsAPIView):
    @extend_schema(
        operation_id="reports_list",
        summary=gettext_lazy("The reports you may read"),
        responses={200: ReportSummarySerializer(many=True)},
        tags=["reports"],
    )
    def get(self, request):
        from django.urls import reverse

        body = [
            {
                "slug": report.slug,
                "title": str(report.title),
                "description": str(report.description),
                "section": report.section,
                "params": [{"name": p.name, "label": str(p.label), "required": p.required} for p in report.params],
                "max_days": report.max_days,
                "default_period": report.default_period,
                "url": reverse("api-reports-detail", kwargs={"slug": report.slug}),
            }
            for report in registry.reports()
            if can(request.user, report.action)
        ]
        return Response(body)


class KPIsView(ReportsAPIView):
    error_codes = {"get": {400: PERIOD_CODES}}

    @extend_schema(
        operation_id="reports_kpis",
        summary=gettext_lazy("Every key figure with the previous period and the same period last year"),
        parameters=QUERY,
        responses={200: ReportKPIsSerializer},
        tags=["reports"],
    )
    def get(self, request):
        scope = self.scope(request)
        period = periods.from_params(request.query_params, today=scope.today())
        body = {
            "period": period_json(period),
            "previous": period_json(period.previous()),
            "last_year": period_json(period.last_year()),
            "scope": scope_json(scope),
            "kpis": [],
        }
        for kpi in registry.kpis():
            compared = registry.compare(kpi, scope, period)
            body["kpis"].append(
                {
                    "code": kpi.code,
                    "label": str(kpi.label),
                    "definition": str(kpi.definition),
                    "unit": kpi.unit,
                    "section": kpi.section,
                    "higher_is_better": kpi.higher_is_better,
                    "target": _text(kpi.target),
                    "current": figure_json(compared.current, kpi.unit),
                    "previous": figure_json(compared.previous, kpi.unit),
                    "last_year": figure_json(compared.last_year, kpi.unit),
                    "change_previous": _text(compared.change_previous),
                    "change_last_year": _text(compared.change_last_year),
                }
            )
        return Response(body)


class ReportDetailView(ReportsAPIView):
    error_codes = {"get": {400: [*PERIOD_CODES, "campaign_required"]}}

    @extend_schema(
        operation_id="reports_retrieve",
        summary=gettext_lazy("A report's tables"),
        parameters=[*QUERY, CAMPAIGN],
        responses={200: ReportSerializer},
        tags=["reports"],
    )
    def get(self, request, slug):
        try:
            report = registry.report(slug)
        except KeyError:
            raise Http404(_("No report “%(slug)s”.") % {"slug": slug[:50]}) from None
        if not can(request.user, report.action):
            raise exceptions.PermissionDenied(_("Your role may not read this report."))
        scope = self.scope(request)
        period = periods.from_params(
            request.query_params, today=scope.today(), default=report.default_period, max_days=report.max_days
        )
        params = exports.resolve_params(report, scope, request.query_params)
        tables = exports.build(report, scope, period, params)
        return Response(
            {
                "report": report.slug,
                "title": str(report.title),
                "period": period_json(period),
                "scope": scope_json(scope),
                "tables": [table_json(table) for table in tables],
            }
        )
