"""The import task's edges: a run lost with its worker, an error of ours midway, files no longer kept."""

import shutil

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.importing import writer
from customers.importing.jobs import import_execute, import_start
from customers.importing.uploads import keep_uploads
from customers.models import Customer, ImportRun
from tests.customers.dms_files import CUSTOMER_HEADER, csv_bytes, customer_row

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(dealership, as_manager, settings, tmp_path):
    """A queued import of two customers, as an upload leaves it (its task not sent: no commit in a test)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    upload = keep_uploads(
        {"customers": SimpleUploadedFile("c.csv", csv_bytes(CUSTOMER_HEADER, [customer_row(1), customer_row(2)]))},
        user=as_manager,
        dealership=dealership,
        skip_invalid=False,
    )
    return import_start(dealership=dealership, upload=upload, acting_user=as_manager, source="api", dry_run=False)


def test_a_run_lost_with_its_worker_is_marked_failed_not_run_again(queued):
    # Given a run a worker had started when it died (its transaction rolled back with it)
    ImportRun.objects.filter(pk=queued.pk).update(status=ImportRun.Status.RUNNING)

    # When the task is delivered again
    assert import_execute(run_id=queued.pk, redelivered=True) is None

    # Then the run says it failed, and nothing was imported
    queued.refresh_from_db()
    assert queued.status == ImportRun.Status.FAILED and queued.finished_at is not None
    assert not Customer.objects.exists()


def test_a_queued_run_whose_first_delivery_was_lost_still_runs(queued):
    run = import_execute(run_id=queued.pk, redelivered=True)

    assert run.status == ImportRun.Status.SUCCEEDED
    assert Customer.objects.count() == 2


def test_an_error_of_ours_midway_fails_the_run_and_writes_nothing(queued, monkeypatch):
    # Given a statement that breaks after the customers were written (the history rows of the import)
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(writer.Staging, "write_history", broken)

    run = import_execute(run_id=queued.pk)

    assert run.status == ImportRun.Status.FAILED
    assert not Customer.objects.exists()
    assert run.report == {}


def test_files_no_longer_kept_refuse_the_run_with_a_reason(queued, settings):
    shutil.rmtree(settings.MEDIA_ROOT / "imports")

    run = import_execute(run_id=queued.pk)

    assert run.status == ImportRun.Status.REFUSED
    assert "upload them again" in run.report["errors"][0]["reason"]
    assert not Customer.objects.exists()
