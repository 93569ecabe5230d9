"""``run_import``: one DMS import (any of the three files), all-or-nothing unless told to skip invalid rows."""

import logging
import time
from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import ImportRun
from customers.services import customers_flag_duplicate_phones
from dealercrm.core.exceptions import ApplicationError

from .bulkload import hash_joins
from .progress import Progress
from .reader import DmsFile, FileProblem, source_name
from .report import COMMITTED, PREVIEWED, REJECTED, FileReport, ImportResult, RowError, rejects_csv
from .schema import CUSTOMERS, KIND_LABELS, KINDS, SCHEMAS, VEHICLES, VISITS
from .validate import ChunkChecker
from .visits import write_visits
from .writer import Staging

logger = logging.getLogger(__name__)

SOURCES = ("command", "page", "api")
MAX_STORED_ERRORS = 1000
LARGE_BATCH = 50_000  # from this many staged rows, joins are forced to hash joins (see bulkload.hash_joins)
# ImportRun keeps the first ones; the report returned has them all


class _Rollback(Exception):
    """Leave the transaction without writing (a rejected import or a dry run)."""


def history_reason(run: ImportRun) -> str:
    """What the history rows an import writes say: ``import #12``, or ``import #12 (system)`` when nobody
    started it (a command run without ``--user``)."""
    return f"import #{run.pk}" if run.started_by_id else f"import #{run.pk} (system)"


def run_import(
    *,
    dealership,
    files: dict,
    skip_invalid: bool = False,
    dry_run: bool = False,
    acting_user=None,
    source: str = "command",
    run: ImportRun | None = None,
    bulk: bool = False,
) -> ImportResult:
    """Import the DMS ``files`` ({"customers"|"vehicles"|"visits": path or binary file-like}) into ``dealership``.

    Nothing is written when a row is bad, unless ``skip_invalid`` (then the valid
    rows are imported, rows depending on a rejected row are rejected too, and
    ``result.rejects`` holds the rejected rows per file). ``dry_run`` checks and
    counts everything inside a transaction that is rolled back. Every call leaves
    an ``ImportRun`` (the audit record), whatever the outcome: ``run`` when given
    (a queued run a task executes), else one created here. ``bulk`` allows the
    bulk-load mode (indexes dropped, triggers off: ``bulkload``), for
    ``manage.py import_dms --bulk`` only, never for an import started from the web.
    """
    started = time.monotonic()
    files = {kind: source_file for kind, source_file in files.items() if source_file}
    unknown = set(files) - set(KINDS)
    if unknown:
        raise ValueError(f"Unknown DMS file kinds: {sorted(unknown)}")
    if not files:
        raise ApplicationError(
            _("Choose at least one file to import: customers, vehicles or visits."), code="import_no_file"
        )
    if source not in SOURCES:
        raise ValueError(f"Unknown import source {source!r}")
    user = acting_user if getattr(acting_user, "pk", None) else None
    if run is None:
        run = ImportRun.objects.create(
            dealership=dealership,
            started_by=user,
            source=source,
            status=ImportRun.Status.RUNNING,
            dry_run=dry_run,
            skip_invalid=skip_invalid,
            started_at=timezone.now(),
        )
    progress = Progress(run.pk)
    try:
        result = _run(
            run,
            files,
            dealership=dealership,
            user=user,
            skip_invalid=skip_invalid,
            dry_run=dry_run,
            bulk=bulk,
            progress=progress,
        )
    except BaseException:
        progress.close()
        _fail(run, progress)
        raise
    progress.close()
    result.duration_ms = int((time.monotonic() - started) * 1000)
    _finish(run, result, progress)
    return result


def _run(run, files, *, dealership, user, skip_invalid, dry_run, bulk, progress) -> ImportResult:
    result = ImportResult(status=PREVIEWED if dry_run else COMMITTED, dry_run=dry_run, skip_invalid=skip_invalid)
    result.run_id = run.pk
    opened: dict[str, DmsFile] = {}
    for kind in KINDS:
        if kind not in files:
            continue
        report = result.files[kind] = FileReport(kind=kind, name=source_name(files[kind]))
        try:
            opened[kind] = DmsFile.open(SCHEMAS[kind], files[kind])
        except FileProblem as problem:
            result.errors.append(RowError(kind, problem.row, problem.column, problem.value, problem.reason))
            continue
        report.format, report.encoding = opened[kind].format, opened[kind].encoding_label

    if result.errors:
        result.status = REJECTED  # a file that cannot be read at all: nothing is imported
    else:
        progress.announce({kind: {"name": f.name, "rows_expected": f.approx_rows} for kind, f in opened.items()})
        try:
            _import(result, opened, dealership=dealership, acting_user=user, run=run, bulk=bulk, progress=progress)
        except FileProblem as problem:  # found while reading on (a malformed line far down a CSV)
            result.errors.append(RowError(problem.kind, problem.row, problem.column, problem.value, problem.reason))
            result.status = REJECTED
            _nothing_written(result)

    order = {kind: i for i, kind in enumerate(KINDS)}
    result.errors.sort(key=lambda e: (order[e.file], e.row))
    if skip_invalid and result.status != REJECTED:
        result.rejects = _rejects(result.errors, opened)
    return result


def _nothing_written(result: ImportResult) -> None:
    """A refused import: every valid row is counted as not imported (none is lost from the counts)."""
    for report in result.files.values():
        report.created = report.updated = report.unchanged = 0
        report.not_imported = max(report.rows - report.rejected, 0)


def _import(result: ImportResult, opened: dict[str, DmsFile], *, dealership, acting_user, run, bulk, progress) -> None:
    """Check every file (reporting every bad row) and write them in order, in one transaction.

    Customers are written before vehicles, vehicles before visits (which refer to
    them). Once a row is bad and invalid rows are not to be skipped, nothing more
    is written and the transaction is rolled back at the end.
    """
    labels = {kind: str(label) for kind, label in KIND_LABELS.items()}

    def may_write() -> bool:
        return not result.errors or result.skip_invalid

    try:
        with transaction.atomic():
            stage = Staging(
                dealership=dealership,
                acting_user=acting_user,
                dry_run=result.dry_run,
                bulk=bulk,
                history_reason=history_reason(run),
                import_run=run,
                file_names={kind: report.name for kind, report in result.files.items()},
            )
            stage.begin(list(opened))
            for kind, dms_file in opened.items():
                report = result.files[kind]
                checker = ChunkChecker(dms_file.schema, dms_file.columns, today=dealership.local_date())
                try:
                    _load_file(stage, dms_file, checker, result, report, labels, may_write, progress)
                except FileProblem as problem:
                    problem.kind = kind
                    raise

            rejected_rows = defaultdict(set)
            for error in result.errors:
                rejected_rows[error.file].add(error.row)
            for kind, report in result.files.items():
                report.rejected = len(rejected_rows[kind])
            if not may_write():
                result.status = REJECTED
                _nothing_written(result)
                raise _Rollback
            if CUSTOMERS in opened:
                customers_flag_duplicate_phones(dealership=dealership)
            stage.end()
            logger.debug("written; committing")
            if result.dry_run:
                raise _Rollback
    except _Rollback:
        progress.written = 0
    except FileProblem:
        progress.written = 0
        raise
    logger.debug("transaction closed")


def _load_file(stage, dms_file, checker, result, report, labels, may_write, progress) -> None:
    """Stage every chunk, check the whole file, then write it in a few statements."""
    kind, key = dms_file.schema.kind, dms_file.schema.key
    with stage.copying() as add:
        for first_row, frame in dms_file.chunks():
            progress.add(read=len(frame))
            checked = checker.check(first_row, frame)
            report.rows += int((~checked.blank).sum())
            result.errors.extend(checked.errors)
            add(kind, checked, key)
            progress.add(checked=len(frame))
    with hash_joins(stage.db, stage.staged[kind] >= LARGE_BATCH):
        result.errors.extend(stage.check_duplicates(kind, dms_file.columns[key]))
        result.errors.extend(stage.check_references(kind, dms_file.columns, labels))
        if may_write():
            writer = {
                CUSTOMERS: stage.write_customers,
                VEHICLES: stage.write_vehicles,
                VISITS: lambda: write_visits(stage),
            }[kind]
            report.created, report.updated = writer()
            report.unchanged = stage.staged[kind] - report.created - report.updated
            progress.add(written=report.created + report.updated)


def _rejects(errors: list[RowError], opened: dict[str, DmsFile]) -> dict[str, bytes]:
    """Per file, its rejected rows as written plus a ``reason`` column (UTF-8 with BOM, for Excel)."""
    reasons: dict[str, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for error in errors:
        reasons[error.file][error.row].append(f"{error.column}: {error.reason}" if error.column else error.reason)
    rejects = {}
    for kind, rows in reasons.items():
        dms_file = opened.get(kind)
        if dms_file is None:
            continue
        frame = dms_file.raw_rows(set(rows))
        rejects[kind] = rejects_csv(frame, rows, dms_file.header)
    return rejects


def _finish(run: ImportRun, result: ImportResult, progress: Progress) -> None:
    """The run's outcome, counts and report (its errors capped at MAX_STORED_ERRORS; the rejects are files)."""
    run.status = ImportRun.Status.REFUSED if result.status == REJECTED else ImportRun.Status.SUCCEEDED
    run.files = {
        kind: {"name": r.name, "format": r.format, "encoding": r.encoding, "rows": r.rows}
        for kind, r in result.files.items()
    }
    run.counts = result.counts()
    run.errors = [error.as_dict() for error in result.errors[:MAX_STORED_ERRORS]]
    report = result.as_dict(inline_rejects=False)
    report["errors"] = run.errors
    run.report = report
    run.duration_ms = result.duration_ms
    run.rows_read, run.rows_checked, run.rows_written = progress.read, progress.checked, progress.written
    run.finished_at = timezone.now()
    run.save()


def _fail(run: ImportRun, progress: Progress) -> None:
    """An import stopped by an error of ours (or a time limit): nothing was written; the run says so."""
    try:
        ImportRun.objects.filter(pk=run.pk).update(
            status=ImportRun.Status.FAILED,
            finished_at=timezone.now(),
            rows_read=progress.read,
            rows_checked=progress.checked,
            rows_written=0,
        )
    except Exception:  # the connection itself may be what failed
        logger.exception("import #%s: could not be marked failed", run.pk)
