"""Pages of the exports: a report as CSV or XLSX, a long export's progress and file, the weekly packs.

A report's export reads the request as the report's page does (``Scope.for_request``, ``periods.from_params``
with the report's default and longest period) and needs the report's own action; a period refused answers
400 with the reason, an unknown report 404. A long export (``?async=1``, or more store-days than
``exports.runs_long`` allows) becomes an ``ExportJob`` run by ``reports.tasks.export_report_task``; its page
follows the progress (htmx polling) and ends with the download. A user sees only their own jobs in the current
dealership; a pack only the managers of its dealership (others: 404).

The access log (PIPL): these files hold a report's figures (counts, sums and rates per store, agent, campaign or
group), never a row per customer, so a download writes no access event; they are registered as such in
``dealercrm.core.exports.FIGURES`` (``tests/core/test_export_events.py`` holds every download to its entry).
"""

import datetime as dt

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import ListView, TemplateView

from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.roles import can
from dealercrm.core.views import DealershipMixin

from . import exports, periods, registry
from .models import ExportJob, PackDelivery, WeeklyPack
from .scope import Scope

POLL_SECONDS = 2


def report_or_404(slug: str) -> registry.Report:
    try:
        return registry.report(slug)
    except KeyError:
        raise Http404(_("No report “%(slug)s”.") % {"slug": slug[:50]}) from None


class ExportView(DealershipMixin, View):
    """``reports:export`` (slug, fmt): the report's tables as a file, or a job for a long export."""

    action = "reports.view"  # and the report's own action, checked once the report is known

    def get(self, request, slug, fmt):
        report = report_or_404(slug)
        if fmt not in exports.FORMATS:
            raise Http404(_("No export as “%(format)s”.") % {"format": fmt[:10]})
        if not can(request.user, report.action):
            raise PermissionDenied(_("Your role may not read this report."))
        try:
            scope = Scope.for_request(request, dealership=self.dealership)
            period = periods.from_params(
                request.GET, today=scope.today(), default=report.default_period, max_days=report.max_days
            )
            params = exports.resolve_params(report, scope, request.GET)
            if request.GET.get("async") == "1" or exports.runs_long(scope, period):
                return self.queued(request, report, scope, period, fmt)
            tables = exports.build(report, scope, period, params)
        except ApplicationError as exc:
            context = {"message": exc.message, "report": report}
            return TemplateResponse(request, "reports/exports_refused.html", context, status=exc.status)
        content = exports.render(report, tables, fmt, period=period, scope=scope)
        response = HttpResponse(content, content_type=exports.CONTENT_TYPES[fmt])
        response["Content-Disposition"] = f'attachment; filename="{exports.filename(report, period, fmt)}"'
        return response

    def queued(self, request, report, scope, period, fmt):
        job = exports.job_create(
            report=report,
            scope=scope,
            period=period,
            query=request.GET.dict(),
            fmt=fmt,
            user=request.user,
            language=get_language() or "zh-hans",
        )
        return redirect("reports:export-job", pk=job.pk)


def own_job(request, dealership, pk) -> ExportJob:
    """The user's own export job in the current dealership (anyone else's: 404)."""
    return get_object_or_404(ExportJob, pk=pk, user=request.user, dealership=dealership)


class ExportJobView(DealershipMixin, TemplateView):
    """``reports:export-job`` (pk): a long export's progress, then its download."""

    action = "reports.view"
    template_name = "reports/exports_job.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        job = own_job(self.request, self.dealership, kwargs["pk"])
        try:
            title = registry.report(job.report).title
        except KeyError:
            title = job.report
        context.update(
            job=job, report_title=title, poll_seconds=POLL_SECONDS, finished=job.status in ("done", "failed")
        )
        return context


class ExportJobFileView(DealershipMixin, View):
    """``reports:export-job-file`` (pk): the finished export's file."""

    action = "reports.view"

    def get(self, request, pk):
        job = own_job(request, self.dealership, pk)
        if job.status != ExportJob.Status.DONE or not job.file:
            raise Http404(_("This export has no file yet."))
        name = job.file.name.rsplit("/", 1)[-1]
        return FileResponse(job.file.open("rb"), as_attachment=True, filename=name)


class PackListView(DealershipMixin, ListView):
    """``reports:packs``: the dealership's weekly packs, newest first, with how many managers received each."""

    action = "reports.all"
    template_name = "reports/packs.html"
    context_object_name = "packs"
    paginate_by = 26

    def get_queryset(self):
        sent = PackDelivery.Status.SENT
        return WeeklyPack.objects.filter(dealership=self.dealership).annotate(
            recipients_sent=Count("deliveries", filter=Q(deliveries__status=sent)),
            recipients_failed=Count("deliveries", filter=Q(deliveries__status=PackDelivery.Status.FAILED)),
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        for pack in context["packs"]:  # one page of packs
            pack.week_end = pack.week_start + dt.timedelta(days=6)
        return context


class PackFileView(DealershipMixin, View):
    """``reports:pack-file`` (pk): a ready pack's workbook."""

    action = "reports.all"

    def get(self, request, pk):
        pack = get_object_or_404(WeeklyPack, pk=pk, dealership=self.dealership, status=WeeklyPack.Status.READY)
        if not pack.file:
            raise Http404(_("This pack has no file."))
        name = pack.file.name.rsplit("/", 1)[-1]
        return FileResponse(pack.file.open("rb"), as_attachment=True, filename=name)
