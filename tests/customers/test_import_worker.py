"""An import through the API runs in the background on a real Celery worker over the Redis of REDIS_URL."""

import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, ImportRun, ServiceVisit
from tests.core.test_celery import redis_celery_app  # noqa: F401 - the fixture
from tests.customers.dms_files import (
    CUSTOMER_HEADER,
    VEHICLE_HEADER,
    VISIT_HEADER,
    csv_bytes,
    customer_row,
    vehicle_row,
    visit_row,
)
from tests.factories import DealershipFactory, UserFactory


def _route(app, routes) -> None:
    """Set the task routes, forgetting the router Celery built (and kept) from the previous ones."""
    app.conf.task_routes = routes
    app.amqp.flush_routes()
    app.amqp.__dict__.pop("router", None)


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_an_api_upload_is_answered_at_once_and_imported_by_a_worker(
    redis_celery_app,  # noqa: F811
    api_client_for,
    settings,
    tmp_path,
):
    # Given a store's after-sales manager (committed rows: the worker has its own connection)
    from dealercrm.core.roles import Role

    settings.MEDIA_ROOT = tmp_path / "media"
    dealership = DealershipFactory(code="IMPW1")
    manager = UserFactory(role=Role.AS_MANAGER, dealerships=[dealership])
    queue = f"dealercrm-test-{uuid.uuid4().hex}"
    saved_routes = redis_celery_app.conf.task_routes
    _route(redis_celery_app, {"customers.tasks.import_run_task": {"queue": queue}})
    files = {
        "customers": SimpleUploadedFile("c.csv", csv_bytes(CUSTOMER_HEADER, [customer_row(1), customer_row(2)])),
        "vehicles": SimpleUploadedFile("v.csv", csv_bytes(VEHICLE_HEADER, [vehicle_row(1), vehicle_row(2)])),
        "visits": SimpleUploadedFile("r.csv", csv_bytes(VISIT_HEADER, [visit_row(1), visit_row(2)])),
    }
    client = api_client_for(manager)

    try:
        # When the files are posted while no worker runs: the answer comes at once, the run queued
        response = client.post(f"{reverse('api-import')}?dealership=IMPW1", files, format="multipart")
        assert response.status_code == 202
        assert response.json()["status"] == "queued"
        status_url = response["Location"]
        assert status_url.endswith("?dealership=IMPW1")
        assert client.get(status_url).json()["report"] is None
        assert not Customer.objects.exists()

        # When a real worker consumes the queue
        with start_worker(redis_celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                body = client.get(status_url).json()
                if body["status"] in ("succeeded", "refused", "failed"):
                    break
                time.sleep(0.3)
    finally:
        _route(redis_celery_app, saved_routes)

    # Then the run ended in the worker, and the rows are in with its report
    assert body["status"] == "succeeded", body
    assert body["progress"] == {"rows_read": 6, "rows_checked": 6, "rows_written": 6}
    assert body["report"]["status"] == "committed"
    assert Customer.objects.filter(dealership=dealership).count() == 2
    assert ServiceVisit.objects.filter(dealership=dealership).count() == 2
    run = ImportRun.objects.get(pk=body["id"])
    assert run.started_by == manager and run.finished_at is not None
    assert ServiceVisit.history.filter(history_user=manager, history_change_reason=f"import #{run.pk}").count() == 2
    # the uploaded files were removed once read
    assert not any((settings.MEDIA_ROOT / "imports").rglob("*.csv"))
