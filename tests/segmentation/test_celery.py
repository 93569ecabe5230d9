"""The nightly segmentation under a real Celery beat and worker, over the Redis of REDIS_URL."""

import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest
from celery.beat import PersistentScheduler, Service
from celery.contrib.testing.worker import start_worker

from customers.models import VisitType
from segmentation.models import SegmentationRun
from tests.core.test_celery import redis_celery_app  # noqa: F401 - the fixture
from tests.factories import DealershipFactory
from tests.segmentation.test_engine import build


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_beat_sends_the_nightly_job_and_a_real_worker_segments_every_store(redis_celery_app):  # noqa: F811
    # Given two stores with customers (committed: the worker has its own connection)
    first, second = DealershipFactory(code="NIGHT1"), DealershipFactory(code="NIGHT2")
    build(first, [(10, VisitType.MAINTENANCE, "500")])
    build(second, [(40, VisitType.REPAIR, "900")])
    queue = f"dealercrm-test-{uuid.uuid4().hex}"
    schedule = {
        "segment-nightly": {
            "task": "segmentation.tasks.segment_all_task",
            "schedule": 1.0,  # due at once: the real entry is at 03:00
            "options": {"queue": queue},
        }
    }
    saved = redis_celery_app.conf.beat_schedule
    redis_celery_app.conf.beat_schedule = schedule
    folder = tempfile.mkdtemp()
    beat = Service(
        redis_celery_app,
        max_interval=1,
        schedule_filename=str(Path(folder) / "beat-schedule"),
        scheduler_cls=PersistentScheduler,
    )
    thread = threading.Thread(target=beat.start, daemon=True)
    try:
        # When beat runs beside a worker that consumes that queue
        with start_worker(redis_celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
            thread.start()
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                done = SegmentationRun.objects.filter(status=SegmentationRun.Status.SUCCEEDED, trigger="schedule")
                if {"NIGHT1", "NIGHT2"} <= set(done.values_list("dealership__code", flat=True)):
                    break
                time.sleep(0.5)
            beat.stop()
    finally:
        redis_celery_app.conf.beat_schedule = saved
        thread.join(timeout=10)

    # Then each store got its run, started by the schedule
    runs = SegmentationRun.objects.filter(trigger="schedule", status="succeeded")
    assert {"NIGHT1", "NIGHT2"} <= set(runs.values_list("dealership__code", flat=True))
    assert runs.filter(dealership=first).first().customers == 1
