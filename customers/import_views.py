"""The DMS import page: upload, a check in the background (nothing written), confirm, download the rejected rows.

Every step that reads the files runs as a Celery task (``customers.importing.jobs``): the page answers at once
with the run (``?run=<id>``), which shows its progress, refreshing itself by htmx until the run has ended, and
then its report.
"""

import csv
import io

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from dealercrm.core.exports import csv_writer, record_export
from dealercrm.core.privacy import mask_phone
from dealercrm.core.views import DealershipMixin

from .import_forms import DmsImportForm, max_upload_mb
from .importing.jobs import import_start
from .importing.report import ImportResult
from .importing.schema import KIND_LABELS, KINDS, SCHEMAS
from .importing.uploads import keep_uploads, load_upload
from .models import ImportRun

MAX_ERRORS_SHOWN = 500
POLL_SECONDS = 2


def masked_rejects(content: bytes, kind: str) -> tuple[bytes, int]:
    """A rejects file (UTF-8 with BOM, a header row, one row per rejected row) with every phone column masked
    (138****5678), and how many rows it holds."""
    phone_columns = {header for header, column in SCHEMAS[kind].header_map().items() if column in _PHONE_COLUMNS[kind]}
    reader = csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""))
    out = io.StringIO()
    writer = csv_writer(out, lineterminator="\r\n")
    header = next(reader, None)
    rows = 0
    if header is not None:
        masked = {i for i, name in enumerate(header) if name.strip().lower() in phone_columns}
        writer.writerow(header)
        for row in reader:
            writer.writerow([mask_phone(cell) if i in masked and cell else cell for i, cell in enumerate(row)])
            rows += 1
    return ("\ufeff" + out.getvalue()).encode("utf-8"), rows


#: the columns of each DMS file that hold a phone number
_PHONE_COLUMNS = {kind: {c.name for c in SCHEMAS[kind].columns if c.kind == "phone"} for kind in KINDS}


def count_summary(counts: dict) -> list[tuple[str, dict]]:
    """An ImportRun's counts per file as (file label, counts), in the import's order."""
    return [(str(KIND_LABELS[kind]), counts[kind]) for kind in KINDS if kind in (counts or {})]


class DmsImportView(DealershipMixin, View):
    """GET: the form, a run (``?run=<id>``: progress, then report) or a rejects file (``?download=<token>&file=``).
    POST: upload and check, check again skipping invalid rows, or import (each queues a run)."""

    action = "dms.import"
    template_name = "customers/import.html"

    def get(self, request):
        if "download" in request.GET:
            return self._download(request.GET["download"], request.GET.get("file", ""))
        if "run" in request.GET:
            return self._show(request.GET["run"])
        return self._render(DmsImportForm())

    def post(self, request):
        if request.POST.get("token"):
            upload = load_upload(request.POST["token"], user=request.user, dealership=self.dealership)
            if request.POST.get("confirm"):
                return self._commit(upload)
            upload.skip_invalid = bool(request.POST.get("skip_invalid"))
            upload.save()
            return redirect(self._url(run=self._queue(upload, dry_run=True).pk))
        form = DmsImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form)
        upload = keep_uploads(
            form.files_by_kind(),
            user=request.user,
            dealership=self.dealership,
            skip_invalid=form.cleaned_data["skip_invalid"],
        )
        return redirect(self._url(run=self._queue(upload, dry_run=True).pk))

    # --- steps ------------------------------------------------------------------
    def _queue(self, upload, *, dry_run: bool) -> ImportRun:
        """Queue the check (dry run) or the import of the kept files."""
        return import_start(
            dealership=self.dealership, upload=upload, acting_user=self.request.user, source="page", dry_run=dry_run
        )

    def _commit(self, upload):
        if upload.committed_run:
            committed = ImportRun.objects.filter(pk=upload.committed_run).first()
            if committed is not None and committed.status != ImportRun.Status.FAILED:
                messages.info(self.request, _("These files were imported already."))
                return redirect(self._url(run=committed.pk))
        run = self._queue(upload, dry_run=False)
        upload.committed_run = run.pk
        upload.save()
        return redirect(self._url(run=run.pk))

    def _show(self, run_id: str):
        if not str(run_id).isdigit():
            raise Http404
        run = get_object_or_404(
            ImportRun.objects.select_related("started_by"), pk=int(run_id), dealership=self.dealership
        )
        upload = None
        if run.upload and run.started_by_id == self.request.user.pk:
            try:
                upload = load_upload(run.upload, user=self.request.user, dealership=self.dealership)
            except Http404:
                upload = None
        if not run.finished:
            expected = sum(int(f.get("rows_expected") or 0) for f in (run.files or {}).values())
            return self._render(None, run=run, step="running", rows_expected=expected)
        result = ImportResult.from_dict(run.report) if run.report else None
        if result is not None and upload is not None:
            result.rejects = {
                kind: b"" for kind in upload.names if run.skip_invalid and upload.rejects_path(kind).is_file()
            }
        step = "preview" if run.dry_run else "done"
        return self._render(None, run=run, result=result, upload=upload, step=step)

    def _download(self, token: str, kind: str):
        """The rejected rows of one file, their phone numbers masked, and one access event (the rows are
        customers' data: ``dealercrm.core.exports.PERSONAL``)."""
        upload = load_upload(token, user=self.request.user, dealership=self.dealership)
        path = upload.rejects_path(kind) if kind in KINDS else None
        if path is None or not path.is_file():
            raise Http404
        name = f"rejected-{kind}-{upload.names.get(kind, kind)}"
        if not name.lower().endswith(".csv"):
            name = name.rsplit(".", 1)[0] + ".csv"
        content, rows = masked_rejects(path.read_bytes(), kind)
        record_export(
            self.request,
            dealership=self.dealership,
            what=f"DMS import rejected rows {name}",
            fmt="csv",
            customers=rows,
            details={"file": kind, "run": upload.committed_run or None},
        )
        return FileResponse(io.BytesIO(content), as_attachment=True, filename=name, content_type="text/csv")

    # --- rendering -----------------------------------------------------------
    def _url(self, **params) -> str:
        query = "".join(f"&{key}={value}" for key, value in params.items())
        return f"{reverse('customers:import')}?dealership={self.dealership.code}{query}"

    def _render(self, form, *, run=None, result=None, upload=None, step="upload", rows_expected=0):
        reports, errors_shown = [], []
        if result is not None:
            reports = [(str(KIND_LABELS[kind]), report) for kind, report in result.files.items()]
            errors_shown = [(str(KIND_LABELS.get(e.file, "")), e) for e in result.errors[:MAX_ERRORS_SHOWN]]
        recent = []
        if step == "upload":
            runs = ImportRun.objects.filter(dealership=self.dealership).select_related("started_by")[:10]
            recent = [(run_, count_summary(run_.counts)) for run_ in runs]
        context = {
            "dealership": self.dealership,
            "form": form,
            "step": step,
            "run": run,
            "result": result,
            "reports": reports,
            "errors_shown": errors_shown,
            "upload": upload,
            "rejects": [(kind, str(KIND_LABELS[kind])) for kind in (result.rejects if result else {})],
            "max_upload_mb": max_upload_mb(),
            "recent_runs": recent,
            "poll_seconds": POLL_SECONDS,
            "rows_expected": rows_expected,
        }
        return render(self.request, self.template_name, context)
