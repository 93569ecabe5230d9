"""Long exports run as a task: the job, its page's progress (htmx polling), its file, a repeat of the task, a
refusal, and the task under a real Celery worker over Redis."""

import io
import uuid

import openpyxl
import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from reports import exports
from reports.models import ExportJob
from reports.tasks import export_report_task
from tests.core.test_celery import redis_celery_app  # noqa: F401 - the fixture
from tests.factories import UserFactory
from tests.reports import test_exports
from tests.reports.test_exports import PERIOD, SLUG, csv_rows, export_url

# the test report and its visits, shared with the export tests
visits, visits_report = test_exports.visits, test_exports.visits_report

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_a_long_export_runs_as_a_job_and_its_page_shows_progress_then_the_file(
    client_for, as_manager, cc_manager, visits, visits_report, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.REPORTS_EXPORT_ASYNC_STORE_DAYS = 100
    client = client_for(as_manager)
    # a year of one store is more store-days than an export made at once (here 100): it becomes a job
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.get(export_url(), {"start": "2024-01-01", "end": "2024-12-31"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("reports:export-job", args=[job.pk])
    assert (job.status, job.progress, job.user, job.report) == ("queued", 0, as_manager, SLUG)

    # the page before the worker took it: waiting, polling by htmx
    page = client.get(reverse("reports:export-job", args=[job.pk]))
    assert page.status_code == 200 and b'hx-trigger="every 2s"' in page.content and b'value="0"' in page.content
    assert client.get(reverse("reports:export-job-file", args=[job.pk])).status_code == 404

    # the task runs (eagerly here) when the request's transaction commits
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert (job.status, job.progress) == ("done", 100)
    page = client.get(reverse("reports:export-job", args=[job.pk]))
    assert b"export-download" in page.content and b"hx-trigger" not in page.content
    download = client.get(reverse("reports:export-job-file", args=[job.pk]))
    assert download.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    assert book.worksheets[0]["C5"].value == 2000 + 550  # the year: May's visits and June's

    # another user (even a manager of the store) does not see it
    assert client_for(cc_manager).get(reverse("reports:export-job", args=[job.pk])).status_code == 404


def test_async_on_request_and_a_job_runs_once(client_for, as_manager, visits, visits_report, settings, tmp_path):
    response = client_for(as_manager).get(export_url("csv"), {**PERIOD, "async": "1"})
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert exports.job_run(job.pk) == "done"
    assert exports.job_run(job.pk) == "skipped"  # a repeat of the task changes nothing
    job.refresh_from_db()
    assert job.params["query"] == PERIOD and job.format == "csv"
    assert csv_rows(job.file.read())[8][:3] == ["Total", "3", "2000.00"]


def test_a_job_whose_report_refuses_ends_failed_with_the_reason(as_manager, dealership, visits_report):
    job = ExportJob.objects.create(
        dealership=dealership,
        user=as_manager,
        report="gone-report",
        params={
            "query": {},
            "dealerships": [dealership.pk],
            "agent_id": None,
            "start": "2024-05-01",
            "end": "2024-05-31",
        },
    )
    assert exports.job_run(job.pk) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and job.error


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_export_and_the_page_ends_with_the_file(
    redis_celery_app,  # noqa: F811
    client,
    dealership,
    visits,
    visits_report,
):
    # Given a queued export of May (committed: the worker has its own connection)
    manager = UserFactory(username="exp-mgr", role="as_manager", dealerships=[dealership])
    job = ExportJob.objects.create(
        dealership=dealership,
        user=manager,
        report=SLUG,
        format="csv",
        language="en",
        params={"query": PERIOD, "dealerships": [dealership.pk], "agent_id": None, **PERIOD},
    )
    queue = f"dealercrm-test-{uuid.uuid4().hex}"
    # When a real worker runs the task, twice (a redelivery)
    with start_worker(redis_celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        outcomes = [export_report_task.apply_async(args=[job.pk], queue=queue).get(timeout=60) for _ in range(2)]
    # Then it ran once, and the page offers the file
    assert outcomes == ["done", "skipped"]
    client.force_login(manager)
    page = client.get(reverse("reports:export-job", args=[job.pk]))
    assert b"export-download" in page.content
    download = client.get(reverse("reports:export-job-file", args=[job.pk]))
    assert csv_rows(b"".join(download.streaming_content))[8][:3] == ["Total", "3", "2000.00"]
