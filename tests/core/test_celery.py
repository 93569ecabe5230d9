"""Celery plumbing: eager in tests and the demo, a real worker over Redis, the beat schedule.

The real-worker test runs Celery's embedded worker in a thread of the test
process against the Redis of ``REDIS_URL``. It consumes a queue of its own, so
that parallel test processes (pytest -n 2) and other runs sharing the Redis
database never take each other's tasks.
"""

import threading
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult, EagerResult
from django.conf import settings

from customers.models import Customer
from customers.tasks import flag_duplicate_phones_task
from dealercrm.celery import app
from tests.factories import CustomerFactory, DealershipFactory


def shared_phone_customers(dealership):
    """Two customers sharing a phone (a family), one with a phone of their own; none flagged yet."""
    first = CustomerFactory(dealership=dealership, phone="+8613800138000", flag_possible_duplicate=False)
    second = CustomerFactory(dealership=dealership, phone="+8613800138000", flag_possible_duplicate=False)
    alone = CustomerFactory(dealership=dealership, phone="+8613900139000", flag_possible_duplicate=False)
    return first, second, alone


def flagged(*customers):
    return [Customer.objects.get(pk=c.pk).flag_possible_duplicate for c in customers]


def test_app_is_the_project_app_configured_from_django_settings():
    assert app.main == "dealercrm"
    assert app.conf.task_serializer == "json"
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_acks_late is True
    assert app.conf.timezone == settings.TIME_ZONE


def test_beat_schedule_tasks_are_registered():
    # Given the beat schedule declared in settings
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert "customers.tasks.flag_duplicate_phones_task" in {entry["task"] for entry in schedule.values()}

    # When the worker imports the task modules, as it does at start-up
    app.loader.import_default_modules()

    # Then every task that beat will send has a worker-side implementation
    missing = sorted({entry["task"] for entry in schedule.values()} - set(app.tasks))
    assert missing == []
    # and each entry has a real schedule
    for name, entry in schedule.items():
        assert hasattr(entry["schedule"], "is_due"), name


@pytest.mark.django_db
def test_tasks_run_eagerly_under_test_settings(dealership):
    # Given customers sharing a phone
    first, second, alone = shared_phone_customers(dealership)

    # When the nightly task is sent the way code sends it
    result = flag_duplicate_phones_task.delay(dealership.pk)

    # Then it ran at once, in this process, with no broker or worker
    assert isinstance(result, EagerResult)
    assert result.get() == {dealership.code: 2}
    assert flagged(first, second, alone) == [True, True, False]


@pytest.fixture
def redis_celery_app(settings):
    """The project's app, sending to and reading results from Redis instead of running eagerly."""
    url = settings.REDIS_URL
    assert url, "the redis marker guarantees REDIS_URL"
    keys = ("broker_url", "result_backend", "task_always_eager")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=url, result_backend=url, task_always_eager=False)
    _reset_connections()
    try:
        yield app
    finally:
        app.conf.update(saved)
        _reset_connections()


def _reset_connections():
    """Forget the broker pool and result backend built for the previous configuration."""
    app._pool = None
    app._backend_cache = None
    app._local = threading.local()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_real_worker_runs_the_task_through_redis_against_the_test_database(redis_celery_app):
    # Given committed rows in the test database (transaction=True: the worker's own connection sees them)
    dealership = DealershipFactory(code="CELERY1")
    first, second, alone = shared_phone_customers(dealership)
    other_store = DealershipFactory(code="CELERY2")
    elsewhere = CustomerFactory(dealership=other_store, phone="+8613800138000", flag_possible_duplicate=False)
    queue = f"dealercrm-test-{uuid.uuid4().hex}"

    # When a real worker consumes the task from Redis
    with start_worker(
        redis_celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30
    ) as worker:
        result = flag_duplicate_phones_task.apply_async(kwargs={"dealership_id": dealership.pk}, queue=queue)
        outcome = result.get(timeout=60)

    # Then the result came back through the result backend from that worker
    assert isinstance(result, AsyncResult) and not isinstance(result, EagerResult)
    assert result.state == "SUCCESS"
    assert worker.hostname
    assert outcome == {"CELERY1": 2}
    # and the worker wrote to the same database the test reads
    assert flagged(first, second, alone) == [True, True, False]
    # only for the dealership it was given
    assert flagged(elsewhere) == [False]
