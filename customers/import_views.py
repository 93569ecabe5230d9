"""The DMS import page: upload, check (nothing written), confirm, download the rejected rows."""

from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.views import DealershipMixin

from .import_forms import DmsImportForm, max_upload_mb
from .importing import run_import
from .importing.schema import KIND_LABELS, KINDS
from .importing.uploads import keep_uploads, load_upload
from .models import ImportRun

MAX_ERRORS_SHOWN = 500


class DmsImportView(DealershipMixin, View):
    """GET: the form (or a rejects file with ``?download=<token>&file=<kind>``). POST: check or import."""

    action = "dms.import"
    template_name = "customers/import.html"

    def get(self, request):
        if "download" in request.GET:
            return self._download(request.GET["download"], request.GET.get("file", ""))
        return self._render(DmsImportForm())

    def post(self, request):
        if request.POST.get("token"):
            upload = load_upload(request.POST["token"], user=request.user, dealership=self.dealership)
            if request.POST.get("confirm"):
                return self._commit(upload)
            upload.skip_invalid = bool(request.POST.get("skip_invalid"))
            upload.save()
            return self._check(upload)
        form = DmsImportForm(request.POST, request.FILES)
        if not form.is_valid():
            return self._render(form)
        upload = keep_uploads(
            form.files_by_kind(),
            user=request.user,
            dealership=self.dealership,
            skip_invalid=form.cleaned_data["skip_invalid"],
        )
        return self._check(upload)

    # --- steps ------------------------------------------------------------------
    def _run(self, upload, *, dry_run: bool):
        return run_import(
            dealership=self.dealership,
            files=upload.files,
            skip_invalid=upload.skip_invalid,
            dry_run=dry_run,
            acting_user=self.request.user,
            source="page",
        )

    def _check(self, upload):
        """Everything is checked and counted in a transaction that is rolled back: nothing is written yet."""
        try:
            result = self._run(upload, dry_run=True)
        except ApplicationError as exc:
            messages.error(self.request, exc.message)
            return redirect(self._url())
        return self._render(None, result=result, upload=upload, step="preview")

    def _commit(self, upload):
        if upload.committed_run:
            messages.info(self.request, _("These files were imported already."))
            return redirect(self._url())
        result = self._run(upload, dry_run=False)
        if result.ok:
            upload.committed_run = result.run_id
            upload.save_rejects(result.rejects)
            upload.drop_sources()
            upload.save()
        return self._render(None, result=result, upload=upload, step="done")

    def _download(self, token: str, kind: str):
        upload = load_upload(token, user=self.request.user, dealership=self.dealership)
        path = upload.rejects_path(kind) if kind in KINDS else None
        if path is None or not path.is_file():
            raise Http404
        name = f"rejected-{kind}-{upload.names.get(kind, kind)}"
        if not name.lower().endswith(".csv"):
            name = name.rsplit(".", 1)[0] + ".csv"
        return FileResponse(path.open("rb"), as_attachment=True, filename=name, content_type="text/csv")

    # --- rendering -----------------------------------------------------------
    def _url(self) -> str:
        return f"{reverse('customers:import')}?dealership={self.dealership.code}"

    def _render(self, form, *, result=None, upload=None, step="upload"):
        reports = []
        if result is not None:
            reports = [(str(KIND_LABELS[kind]), report) for kind, report in result.files.items()]
        context = {
            "dealership": self.dealership,
            "form": form,
            "step": step,
            "result": result,
            "reports": reports,
            "errors_shown": [(str(KIND_LABELS[e.file]), e) for e in result.errors[:MAX_ERRORS_SHOWN]] if result else [],
            "upload": upload,
            "rejects": [(kind, str(KIND_LABELS[kind])) for kind in (result.rejects if result else {})],
            "max_upload_mb": max_upload_mb(),
            "recent_runs": ImportRun.objects.filter(dealership=self.dealership).select_related("started_by")[:10],
        }
        return render(self.request, self.template_name, context)
