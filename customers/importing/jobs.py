"""Imports as background jobs: an upload (page or API) becomes a queued ``ImportRun`` and a Celery task.

``import_start`` stores nothing but the run (the files are already kept under ``MEDIA_ROOT/imports/<token>/``,
see ``uploads``) and sends ``customers.tasks.import_run_task`` once the request's transaction commits, so that
the request answers at once. The task calls ``import_execute``, which claims the run (queued → running, by a
conditional UPDATE: a task delivered twice runs it once), runs ``run_import`` in the language and as the user
who started it, keeps the rejects files beside the upload and removes the uploaded files unless the page still
needs them (a check, before the user confirms). The bulk-load mode is never used here (``import_dms --bulk``).
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from customers.models import ImportRun
from dealercrm.core.audit import acting_as

from .report import ImportResult, RowError
from .runner import history_reason, run_import
from .uploads import KeptUpload, open_upload

logger = logging.getLogger(__name__)


def import_start(
    *,
    dealership,
    upload: KeptUpload,
    acting_user,
    source: str,
    dry_run: bool,
) -> ImportRun:
    """Queue the import of the kept ``upload``; the task is sent when the current transaction commits."""
    from customers.tasks import import_run_task

    run = ImportRun.objects.create(
        dealership=dealership,
        started_by=acting_user if getattr(acting_user, "pk", None) else None,
        source=source,
        status=ImportRun.Status.QUEUED,
        dry_run=dry_run,
        skip_invalid=upload.skip_invalid,
        upload=upload.token,
        language=translation.get_language() or settings.LANGUAGE_CODE,
        files={kind: {"name": name} for kind, name in upload.names.items()},
    )
    transaction.on_commit(lambda: import_run_task.delay(run.pk))
    return run


def _claim(run_id: int, *, lost: bool) -> bool:
    """queued → running, once. A task delivered again after its worker died (``lost``) finds its run still
    "running": that run's transaction died with the worker, nothing of it was written; it is marked failed
    rather than run again (a file that killed a worker, by its size or its time, would kill the next one)."""
    now = timezone.now()
    if lost:
        ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.RUNNING).update(
            status=ImportRun.Status.FAILED, finished_at=now
        )
    claimed = ImportRun.objects.filter(pk=run_id, status=ImportRun.Status.QUEUED).update(
        status=ImportRun.Status.RUNNING, started_at=now
    )
    return bool(claimed)


def _refuse(run: ImportRun, reason: str) -> None:
    error = RowError("", 0, "", "", reason).as_dict()
    result = ImportResult(status="rejected", dry_run=run.dry_run, skip_invalid=run.skip_invalid, run_id=run.pk)
    run.status, run.errors, run.finished_at = ImportRun.Status.REFUSED, [error], timezone.now()
    run.report = {**result.as_dict(inline_rejects=False), "errors": [error]}
    run.save(update_fields=["status", "errors", "report", "finished_at"])


def import_execute(*, run_id: int, redelivered: bool = False) -> ImportRun | None:
    """Run the queued import ``run_id``; None when it is not queued (done already, or running elsewhere)."""
    if not _claim(run_id, lost=redelivered):
        logger.info("import #%s: not queued, nothing to do", run_id)
        return None
    run = ImportRun.objects.select_related("dealership", "started_by").get(pk=run_id)
    with (
        translation.override(run.language or settings.LANGUAGE_CODE),
        acting_as(run.started_by, reason=history_reason(run)),
    ):
        upload = open_upload(run.upload)
        if upload is None or not all(path.is_file() for path in upload.files.values()):
            _refuse(run, _("The uploaded files are no longer kept (after a day): upload them again."))
            return run
        try:
            result = run_import(
                dealership=run.dealership,
                files=upload.files,
                skip_invalid=run.skip_invalid,
                dry_run=run.dry_run,
                acting_user=run.started_by,
                source=run.source,
                run=run,
            )
        except Exception:
            # run_import marked the run failed; its transaction was rolled back: nothing is half-written.
            logger.exception("import #%s failed", run_id)
            if run.source != "page":  # the page may try again (its files are swept after a day)
                upload.drop_sources()
            run.refresh_from_db()
            return run
    upload.save_rejects(result.rejects)
    if not (run.dry_run and run.source == "page"):  # the page's check keeps them until the user confirms
        upload.drop_sources()
    run.refresh_from_db()
    return run


def import_report(run: ImportRun) -> dict | None:
    """The run's ``ImportReport`` once it has finished (None before), its rejected rows inline as CSV text."""
    if not run.finished or not run.report:
        return None
    report = dict(run.report)
    upload = open_upload(run.upload) if run.upload else None
    rejects = {}
    if upload is not None:
        for kind in upload.names:
            path = upload.rejects_path(kind)
            if run.skip_invalid and path.is_file():
                rejects[kind] = path.read_bytes().decode("utf-8-sig")
    report["rejects"] = rejects
    return report
