"""Server-rendered segmentation pages: the explorer, the customer list and its downloads, the run history with
its movement matrix, and the rules.

Thin views: ``DealershipMixin`` checks the role (``action``) and scopes every read to the current dealership,
so a run of another store is 404. Reads go through ``selectors``, writes through ``services`` (the rules) or
the segmentation task (run now).
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.generic import FormView, TemplateView

from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.exports import query_filters, record_export
from dealercrm.core.roles import can
from dealercrm.core.views import DealershipMixin, refusal_status

from . import exports, selectors, services
from .filters import NO_GROUP, SegmentFilter
from .forms import SCALAR_FIELDS, RuleSetForm, cell_label, prepare_filter_form
from .models import C3_CELLS, C3Group, RuleSet, SegmentationRun, Tier, ValueLayer
from .tasks import segment_dealership_task

logger = logging.getLogger(__name__)

CUSTOMERS_PER_PAGE = 50
RUNS_PER_PAGE = 25
RUN_CHOICES = 50  # finished runs offered in the run pickers

# dimension -> (key in run.counts, SegmentFilter parameter, choices)
DIMENSIONS = {
    "c3": ("c3", "c3_group", C3Group.choices),
    "tier": ("tier", "tier", Tier.choices),
    "layer": ("layer", "value_layer", ValueLayer.choices),
}
DIMENSION_TITLES = {
    "c3": gettext_lazy("C3 group"),
    "tier": gettext_lazy("Visit tier"),
    "layer": gettext_lazy("Value layer"),
}


def _finished(run: SegmentationRun) -> SegmentationRun:
    if run.status != SegmentationRun.Status.SUCCEEDED:
        raise Http404(_("Run #%(id)s did not finish: it has no results.") % {"id": run.pk})
    return run


def _run_param(dealership, value: str | None) -> SegmentationRun | None:
    """The run named by ``?run=`` (of this dealership, finished; else 404), or the latest finished run."""
    if value:
        if not value.isdigit():
            raise Http404(_("No such run."))
        return _finished(selectors.run_get(dealership=dealership, pk=int(value)))
    return selectors.run_latest(dealership=dealership)


def _finished_runs(dealership, *, exclude=None) -> list[dict]:
    """The latest finished runs for a picker: id, date and rules version (one query)."""
    rows = selectors.runs(dealership=dealership).filter(status=SegmentationRun.Status.SUCCEEDED)
    if exclude is not None:
        rows = rows.exclude(pk=exclude.pk)
    return list(rows.order_by("-id").values("id", "reference_date", "rule_set__version")[:RUN_CHOICES])


def customers_url(run: SegmentationRun, **filters) -> str:
    return reverse("segmentation:customers") + "?" + urlencode({"run": run.pk, **filters}, doseq=True)


def value_label(dimension: str, code: str) -> str:
    """The label of a code of ``dimension``; "" is no C3 group."""
    if code == "":
        if dimension == "c3":
            return _("No group")
        return _("New customer")
    choices = dict(DIMENSIONS[dimension][2])
    return str(choices.get(code, code))


def breakdown(run: SegmentationRun, dimension: str) -> dict:
    """Counts and shares of one dimension from the run's counts, every value listed (zeros too), each with the
    link to its customers."""
    key, param, choices = DIMENSIONS[dimension]
    counts = {str(k): int(v) for k, v in (run.counts.get(key) or {}).items()}
    codes = [code for code, _label in choices] + ([""] if dimension == "c3" else [])
    codes += sorted(set(counts) - set(codes))
    total = run.customers or sum(counts.values())
    rows = []
    for code in codes:
        count = counts.get(code, 0)
        link_value = NO_GROUP if (dimension == "c3" and code == "") else code
        rows.append(
            {
                "code": code or NO_GROUP,
                "label": value_label(dimension, code),
                "count": count,
                "share": (count * 100 / total) if total else 0,
                "url": customers_url(run, **{param: link_value}),
            }
        )
    return {
        "dimension": dimension,
        "title": DIMENSION_TITLES[dimension],
        "rows": rows,
        "total": sum(row["count"] for row in rows),
    }


def _chart_data(tables: list[dict]) -> dict:
    return {
        table["dimension"]: {
            "title": str(table["title"]),
            "codes": [row["code"] for row in table["rows"]],
            "labels": [row["label"] for row in table["rows"]],
            # the axis: a tier's letter (its label says what it means, in the tooltip and the table)
            "short": [row["code"] if table["dimension"] == "tier" else row["label"] for row in table["rows"]],
            "counts": [row["count"] for row in table["rows"]],
            "shares": [floatformat(row["share"], 1) for row in table["rows"]],  # as the table shows them
            "urls": [row["url"] for row in table["rows"]],
        }
        for table in tables
    }


# --- The explorer ------------------------------------------------------------------------------------------


class ExplorerView(DealershipMixin, TemplateView):
    """Counts and shares per C3 group, tier and value layer of the latest finished run (or ``?run=``)."""

    action = "segmentation.view"
    template_name = "segmentation/explorer.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        run = _run_param(self.dealership, self.request.GET.get("run"))
        context["run"] = run
        if run is not None:
            tables = [breakdown(run, dimension) for dimension in DIMENSIONS]
            context.update(
                tables=tables,
                chart_data=_chart_data(tables),
                lapsed=int(run.counts.get("lapsed") or 0),
                lapsed_url=customers_url(run, lapsed="true"),
                all_url=customers_url(run),
                other_runs=_finished_runs(self.dealership),
                latest=selectors.run_latest(dealership=self.dealership),
            )
        return context


# --- The customer list and its downloads -------------------------------------------------------------------


def _describe_filter(form) -> list[tuple[str, str]]:
    """The filter in words: (label, values) for each condition given, for the badges and the empty state."""
    data = getattr(form, "cleaned_data", {}) or {}
    described = []
    for name, field in form.fields.items():
        value = data.get(name)
        if value in (None, "", [], ()):
            continue
        if isinstance(value, list | tuple):
            choices = {str(k): str(v) for k, v in field.choices}
            text = ", ".join(choices.get(str(v), str(v)) for v in value)
        elif name == "lapsed":
            text = _("Lapsed only") if value else _("Not lapsed")
        elif hasattr(value, "isoformat"):
            text = value.isoformat()
        else:
            text = str(value)
        described.append((str(field.label), text))
    return described


class SegmentFilterMixin:
    """The run (``?run=``, default the latest) and ``SegmentFilter`` over its customers."""

    def filtered(self):
        self.run = _run_param(self.dealership, self.request.GET.get("run"))
        if self.run is None:
            return None
        filterset = SegmentFilter(self.request.GET, queryset=selectors.customer_segments_at(run=self.run))
        prepare_filter_form(filterset.form)
        return filterset


class SegmentCustomersView(SegmentFilterMixin, DealershipMixin, TemplateView):
    action = "segmentation.view"
    template_name = "segmentation/customers.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        filterset = self.filtered()
        context.update(run=self.run, filter=filterset)
        if filterset is None:
            return context
        rows = filterset.qs.select_related("customer").order_by("customer__customer_no", "pk")
        page = Paginator(rows, CUSTOMERS_PER_PAGE).get_page(self.request.GET.get("page"))
        context.update(
            page=page,
            described=_describe_filter(filterset.form),
            other_runs=_finished_runs(self.dealership),
        )
        if can(self.request.user, "exports.personal"):
            context.update(
                csv_url=reverse("segmentation:customers-csv"), xlsx_url=reverse("segmentation:customers-xlsx")
            )
        return context


class SegmentExportView(SegmentFilterMixin, DealershipMixin, View):
    """The filtered rows of the customer list as ``exports`` writes them: ``segments-<code>-<date>.<ext>``.

    Personal data of the whole store leaving the app: ``exports.personal`` (not the advisor, not the agent)."""

    action = "exports.personal"
    extension = "csv"

    def get(self, request):
        filterset = self.filtered()
        if filterset is None:
            raise Http404(_("No segmentation run yet: run the first one, then download its customers."))
        name = f"segments-{self.dealership.code}-{self.run.reference_date:%Y-%m-%d}.{self.extension}"
        if self.extension == "xlsx":
            response = HttpResponse(
                exports.xlsx_bytes(self.run, filterset.qs),
                content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
            count = filterset.qs.count()
        else:
            response = HttpResponse(content_type="text/csv; charset=utf-8")
            count = exports.write_csv(self.run, response, filterset.qs)
        response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=name)
        # one access event per download (dealercrm.core.exports.PERSONAL): the run and the filters
        record_export(
            request,
            dealership=self.dealership,
            what=f"segment customers {name}",
            fmt=self.extension,
            customers=count,
            details={"run": self.run.pk, **query_filters(request.GET)},
        )
        return response


# --- Runs --------------------------------------------------------------------------------------------------


class RunListView(DealershipMixin, TemplateView):
    action = "segmentation.view"
    template_name = "segmentation/runs.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = Paginator(selectors.runs(dealership=self.dealership).order_by("-id"), RUNS_PER_PAGE).get_page(
            self.request.GET.get("page")
        )
        for run in page:
            run.duration_s = run.duration_ms / 1000
        context.update(
            page=page,
            running=any(run.status == SegmentationRun.Status.RUNNING for run in page),
        )
        return context


class RunNowView(DealershipMixin, View):
    """Start a run for the dealership's today (POST, managers); say how it ended, or that it has started."""

    action = "segmentation.manage"

    def post(self, request):
        target = request.POST.get("next") or reverse("segmentation:runs")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = reverse("segmentation:runs")
        try:
            result = segment_dealership_task.delay(self.dealership.pk, SegmentationRun.Trigger.BUTTON, request.user.pk)
        except Exception:  # eager (the demo, tests): the run is recorded as failed with its error
            logger.exception("segmentation run failed for %s", self.dealership.code)
            messages.error(request, _("The segmentation run failed. The run history shows its error."))
            return redirect(target)
        if not result.ready():
            messages.info(
                request,
                _("Segmentation started. The run history shows it as running and refreshes when it ends."),
            )
            return redirect(target)
        run = selectors.run_get(dealership=self.dealership, pk=result.get())
        if run.reused_from_id:
            text = _("Run #%(id)s done: nothing changed since run #%(since)s.") % {
                "id": run.pk,
                "since": run.reused_from_id,
            }
        else:
            text = _("Run #%(id)s done: %(customers)d customers segmented, %(changed)d results changed.") % {
                "id": run.pk,
                "customers": run.customers,
                "changed": run.changed_customers,
            }
        messages.success(request, text)
        return redirect(target)


class MovementView(DealershipMixin, TemplateView):
    """From × to counts of one dimension between two finished runs; "from" defaults to the previous run."""

    action = "segmentation.view"
    template_name = "segmentation/movement.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        after = _finished(selectors.run_get(dealership=self.dealership, pk=self.kwargs["pk"]))
        dimension = self.request.GET.get("dimension", "c3")
        if dimension not in DIMENSIONS:
            dimension = "c3"
        source = self.request.GET.get("from")
        if source:
            if not source.isdigit():
                raise Http404(_("No such run."))
            before = _finished(selectors.run_get(dealership=self.dealership, pk=int(source)))
        else:
            before = (
                selectors.runs(dealership=self.dealership)
                .filter(status=SegmentationRun.Status.SUCCEEDED, pk__lt=after.pk)
                .order_by("-id")
                .first()
            )
        context.update(
            run=after,
            before=before,
            dimension=dimension,
            dimensions=[(key, DIMENSION_TITLES[key]) for key in DIMENSIONS],
            other_runs=_finished_runs(self.dealership, exclude=after),
        )
        if before is not None:
            context["matrix"] = self.matrix(before, after, dimension)
        return context

    @staticmethod
    def matrix(before, after, dimension) -> dict:
        """Rows: each value in ``before`` ("" last: no C3 group), then the customers new since ``before`` on a
        row of their own; columns: each value in ``after``. Only customers of both runs stay or move."""
        found = selectors.movement_matrix(before=before, after=after, dimension=dimension)
        known = list(selectors.DIMENSIONS[dimension][1])
        existing, new = found["rows_before"], found["new"]
        targets = set(new) | {target for row in existing.values() for target in row}
        sources = known + sorted(set(existing) - set(known))
        columns = known + sorted(targets - set(known))
        param = DIMENSIONS[dimension][1]
        rows, column_totals = [], [0] * len(columns)

        def add_row(label, counts, source=None):
            cells = []
            for i, target in enumerate(columns):
                n = counts.get(target, 0)
                column_totals[i] += n
                cells.append({"n": n, "diagonal": source == target})
            rows.append({"label": label, "cells": cells, "total": sum(c["n"] for c in cells), "new": source is None})

        for source in sources:
            add_row(value_label(dimension, source), existing.get(source, {}), source)
        add_row(_("New since run #%(id)s") % {"id": before.pk}, new)
        stayed = sum(cell["n"] for row in rows for cell in row["cells"] if cell["diagonal"])
        total, new_total = found["total"], sum(new.values())
        compared = total - new_total  # in both runs
        return {
            "columns": [
                {
                    "label": value_label(dimension, v),
                    "url": customers_url(after, **{param: NO_GROUP if (v == "" and dimension == "c3") else v}),
                }
                for v in columns
            ],
            "rows": rows,
            "column_totals": column_totals,
            "total": total,
            "compared": compared,
            "stayed": stayed,
            "moved": compared - stayed,
            "moved_share": ((compared - stayed) * 100 / compared) if compared else 0,
            "new": new_total,
        }


# --- Rules -------------------------------------------------------------------------------------------------


def _display(rule_set: RuleSet, name: str) -> str:
    value = getattr(rule_set, name)
    if name == "value_threshold_mode":
        return str(rule_set.get_value_threshold_mode_display())
    if value is None or value == "":
        return "—"
    return str(value)


def _changed_fields(new: RuleSet, old: RuleSet | None) -> list[str]:
    if old is None:
        return []
    return [
        str(RuleSet._meta.get_field(name).verbose_name)
        for name in RuleSet.RULE_FIELDS
        if getattr(new, name) != getattr(old, name)
    ]


class RulesView(DealershipMixin, FormView):
    """The rules in force and their versions; managers save a new version (``ruleset_update``)."""

    template_name = "segmentation/rules.html"
    form_class = RuleSetForm
    action = {"GET": "segmentation.view", "*": "segmentation.manage"}  # every write, PUT too

    def get_current(self) -> RuleSet:
        if not hasattr(self, "_current"):
            self._current = services.ruleset_current(dealership=self.dealership)
        return self._current

    def get_form_kwargs(self):
        return {**super().get_form_kwargs(), "current": self.get_current()}

    def get_context_data(self, **kwargs):
        manager = can(self.request.user, "segmentation.manage")
        if not manager:
            kwargs["form"] = None  # read-only: FormView would build one
        context = super().get_context_data(**kwargs)
        current = self.get_current()
        versions = list(selectors.rule_sets(dealership=self.dealership))
        for i, version in enumerate(versions):
            version.changed = _changed_fields(version, versions[i + 1] if i + 1 < len(versions) else None)
        mapping = current.c3_mapping or {}
        groups = dict(C3Group.choices)
        context.update(
            current=current,
            versions=versions,
            manager=manager,
            rules=[(RuleSet._meta.get_field(name).verbose_name, _display(current, name)) for name in SCALAR_FIELDS],
            mapping=[
                {"cell": cell, "label": cell_label(cell), "group": str(groups.get(mapping.get(cell), "—"))}
                for cell in C3_CELLS
            ],
            brand_schedules=sorted((current.brand_schedules or {}).items()),
        )
        return context

    def form_valid(self, form):
        try:
            new = services.ruleset_update(
                dealership=self.dealership,
                changes=form.changes(),
                acting_user=self.request.user,
                note=form.cleaned_data["note"],
            )
        except (ValidationError, ApplicationError) as exc:
            form.add_rules_error(exc)
            response = self.form_invalid(form)
            response.status_code = refusal_status(exc)  # 409 for a state conflict, as in the API
            return response
        messages.success(
            self.request,
            _("Rules version %(version)d saved. The next segmentation run uses it.") % {"version": new.version},
        )
        return redirect("segmentation:rules")
