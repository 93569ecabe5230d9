"""The planner with real parts: two planners at once on PostgreSQL create nothing twice (and do, once the
ledger's unique guard is removed: the negative control), and visits recorded while the broker is down get
their touches, once, when a real Celery worker runs the planner after Redis is back."""

import datetime as dt
import os
import shutil
import socket
import subprocess
import threading
import time
import uuid

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection
from django.db.models import Count

from customers.models import ServiceVisit, VisitType
from dealercrm.core.models import Dealership
from dealercrm.core.roles import Role
from followups import planner
from followups.models import Touch
from followups.tasks import plan_touches_task
from tests.core.test_celery import _reset_connections
from tests.factories import DealershipFactory, UserFactory
from tests.followups.factories_planner import customer_of, local

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
VISITS = 300
PER_VISIT = 5  # day 7, 15, 30, satisfaction call, survey


def store_with_visits(code: str, day: dt.date, n: int = VISITS):
    """A store with two agents and ``n`` maintenance visits of ``day`` (a few customers)."""
    store = DealershipFactory(code=code)
    for i in range(2):
        UserFactory(username=f"{code.lower()}-agent{i}", role=Role.AGENT, dealerships=[store])
    customers = [customer_of(store) for _ in range(5)]
    ServiceVisit.objects.bulk_create(
        ServiceVisit(
            dealership=store,
            vehicle=customers[i % 5].vehicles.first(),
            customer=customers[i % 5],
            ro_number=f"{code}-{i:05d}",
            opened_on=day,
            closed_on=day,
            visit_type=VisitType.MAINTENANCE,
            total_amount="550.00",
        )
        for i in range(n)
    )
    return store


def duplicates() -> int:
    """How many (kind, visit) keys have more than one touch."""
    return (
        Touch.objects.filter(visit__isnull=False)
        .values("kind", "visit")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )


def two_planners_at_once(store, now) -> list:
    """Two planners, each in its own thread with its own database connection, released together."""
    barrier = threading.Barrier(2)
    results, errors = [], []

    def plan():
        try:
            stores = [Dealership.objects.get(pk=store.pk)]
            barrier.wait(timeout=30)
            results.append(planner.plan_all(now=now, dealerships=stores))
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=plan) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


UNIQUE_GUARDS = ("one_touch_per_visit",)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_planners_at_once_create_nothing_twice():
    # Given a store with 300 visits of yesterday
    day = dt.date(2026, 12, 1)
    store = store_with_visits("RACE1", day - dt.timedelta(days=1))
    now = local(store, day, 10)

    # When two planners run at the same moment
    results = two_planners_at_once(store, now)

    # Then every touch exists once, and between them they inserted exactly that many
    assert duplicates() == 0
    assert Touch.objects.count() == VISITS * PER_VISIT
    assert sum(sum(r["planned"].values()) for r in results) == VISITS * PER_VISIT


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_unique_guard_two_planners_create_duplicates():
    # Given the same, with the ledger's one-touch-per-visit guard dropped for this test
    day = dt.date(2026, 12, 1)
    store = store_with_visits("RACE2", day - dt.timedelta(days=1))
    now = local(store, day, 10)
    constraints = [c for c in Touch._meta.constraints if c.name in UNIQUE_GUARDS]
    with connection.schema_editor() as editor:
        for constraint in constraints:
            editor.remove_constraint(Touch, constraint)
    try:
        # When two planners run at the same moment
        two_planners_at_once(store, now)

        # Then the test sees the duplicates: the guard is what keeps each touch once
        assert duplicates() > 0
        assert Touch.objects.count() > VISITS * PER_VISIT
    finally:
        Touch.objects.all().delete()
        with connection.schema_editor() as editor:
            for constraint in constraints:
                editor.add_constraint(Touch, constraint)


# --- Redis down while visits are recorded ---------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _redis_binary() -> str:
    binary = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else ""
    )
    if not binary:
        reason = "needs the redis-server program (apt-get install redis-server) to start a Redis of its own"
        if IN_CI:
            pytest.fail(f"CI=true and this test {reason}", pytrace=False)
        pytest.skip(reason)
    return binary


class OwnRedis:
    """A redis-server of this test's own on a free port (never the machine's), without persistence."""

    def __init__(self):
        self.binary, self.port, self.process = _redis_binary(), _free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.answers():
                return
            time.sleep(0.1)
        raise RuntimeError(f"redis-server on port {self.port} did not start")

    def stop(self):
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False


def _forget_connections(app):
    """Forget the broker pool, the result backend and the producer pool built for the previous broker (a
    producer pool an earlier test built would still publish to the machine's Redis)."""
    _reset_connections()
    app.amqp._producer_pool = None


@pytest.fixture
def own_redis_app(settings):
    """The project's Celery app pointed at a Redis of the test's own."""
    from dealercrm.celery import app

    redis = OwnRedis()
    redis.start()
    keys = ("broker_url", "result_backend", "task_always_eager")
    saved = {key: app.conf[key] for key in keys}
    app.conf.update(broker_url=redis.url, result_backend=redis.url, task_always_eager=False)
    _forget_connections(app)
    try:
        yield app, redis
    finally:
        app.conf.update(saved)
        _forget_connections(app)
        redis.stop()


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_visits_recorded_while_redis_is_down_get_their_touches_once_it_is_back(own_redis_app):
    app, redis = own_redis_app
    # Given the broker goes down
    redis.stop()
    assert not redis.answers()

    # When visits are recorded meanwhile (they are rows in the database: nothing waits in the broker)
    store_day = DealershipFactory(code="OUTAGE").local_date()
    store = store_with_visits("OUTAGE", store_day - dt.timedelta(days=1), n=20)

    # and Redis comes back on the same port, and a real worker runs the planner twice
    redis.start()
    queue = f"dealercrm-test-{uuid.uuid4().hex}"
    with start_worker(app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        first = plan_touches_task.apply_async(queue=queue).get(timeout=120)
        second = plan_touches_task.apply_async(queue=queue).get(timeout=120)

    # Then every visit got its touches, exactly once
    assert first["planned"]["day7"] >= 20
    assert sum(second["planned"].values()) == 0
    mine = Touch.objects.filter(dealership=store)
    assert mine.count() == 20 * PER_VISIT
    assert set(mine.values_list("kind", flat=True)) == {"day7", "day15", "day30", "csi_call", "survey"}
    assert duplicates() == 0
