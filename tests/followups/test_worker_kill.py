"""Reliability with real parts: a real Celery worker on Redis, SIGKILLed in the middle of a dispatch batch while
a text is at a (slow) loopback SMS gateway; another worker takes over once the leases run out. Every touch ends
exactly once: each idempotency key reaches the gateway at most once, every touch the gateway took is either
sent or — the one in flight when the worker died — ambiguous, never sent twice; nothing is left claimed."""

import collections
import datetime as dt
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from django.db import connection

from dealercrm.celery import app
from followups.models import FollowupPolicy, Message, Touch
from followups.tasks import dispatch_touches_task
from tests.factories import DealershipFactory
from tests.followups.factories_dispatch import Provider, customer_of, make_touch

ROOT = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))
TOUCHES = 30
BATCH = 8
LEASE_SECONDS = 3
KILL_AT = 5  # the gateway's request during which the first worker dies


@pytest.fixture
def redis_app(settings):
    saved = {key: app.conf[key] for key in ("broker_url", "result_backend", "task_always_eager")}
    app.conf.update(broker_url=settings.REDIS_URL, result_backend=settings.REDIS_URL, task_always_eager=False)
    app._pool, app._backend_cache, app._local = None, None, threading.local()
    yield app
    app.conf.update(saved)
    app._pool, app._backend_cache, app._local = None, None, threading.local()


def worker_env(gateway_url: str) -> dict:
    url = urlparse(os.environ["DATABASE_URL"])
    test_db = urlunparse(url._replace(path="/" + connection.settings_dict["NAME"]))
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "dealercrm.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "False",
        "DATABASE_URL": test_db,
        "FOLLOWUPS_SMS_BACKEND": "followups.channels.sms.SmsGatewayChannel",
        "SMS_GATEWAY_URL": gateway_url,
        "SMS_GATEWAY_KEY": "k",
        "FOLLOWUPS_LEASE_SECONDS": str(LEASE_SECONDS),
        "FOLLOWUPS_DISPATCH_BATCH": str(BATCH),
        "FOLLOWUPS_HTTP_TIMEOUT": "10",
    }


def start_worker(name: str, queue: str, env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [
            CELERY,
            "-A",
            "dealercrm",
            "worker",
            "-P",
            "solo",
            "-Q",
            queue,
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_leaves_every_touch_done_exactly_once(redis_app, tmp_path):
    # Given many due texts (sending hours all day) and a slow gateway that records every key it is sent
    store = DealershipFactory(code="KILL1")
    FollowupPolicy.objects.create(dealership=store, send_from=dt.time(0), send_until=dt.time(23, 59, 59, 999999))
    now = dt.datetime.now(dt.UTC)
    touches = [
        make_touch(customer_of(store), kind="day7", channel="sms", due_at=now - dt.timedelta(minutes=i))
        for i in range(TOUCHES)
    ]
    arrived = threading.Event()

    def answer(path, payload, headers):
        if len(gateway.requests) >= KILL_AT:
            arrived.set()
        time.sleep(0.4)
        return 200, {"code": "OK", "message_id": headers.get("Idempotency-Key", "")}

    queue = f"dispatch-kill-{uuid.uuid4().hex}"
    with Provider(answer) as gateway:
        env = worker_env(gateway.url)
        first = start_worker("dispatch-a", queue, env, tmp_path / "a.log")
        second = None
        try:
            # When the first worker dispatches, and dies (SIGKILL) while the gateway holds its 5th text
            dispatch_touches_task.apply_async(queue=queue)
            wait_for(arrived.is_set, 90, "the first worker to be mid-batch")
            stop(first)
            in_flight_key = gateway.posts("/send")[KILL_AT - 1]["headers"].get("Idempotency-Key")
            left = Touch.objects.filter(status="claimed").count()
            assert left > 0, "the first worker died with part of its batch still claimed"

            # and another worker starts, and dispatches again once the dead worker's leases have run out
            second = start_worker("dispatch-b", queue, env, tmp_path / "b.log")
            time.sleep(LEASE_SECONDS + 1)
            result = dispatch_touches_task.apply_async(queue=queue)
            counts = result.get(timeout=120)
        finally:
            stop(first)
            if second is not None:
                stop(second)

    # Then nothing is left planned or claimed
    final = collections.Counter(Touch.objects.values_list("status", flat=True))
    assert set(final) <= {"sent", "ambiguous"}, final
    assert sum(final.values()) == TOUCHES
    # each key reached the gateway at most once
    received = collections.Counter(r["headers"].get("Idempotency-Key") for r in gateway.posts("/send"))
    assert max(received.values()) == 1, [key for key, n in received.items() if n > 1]
    # every touch sent went to the gateway (once); the one in flight when the worker died is ambiguous, not resent
    by_key = {f"touch-{t.pk}": t for t in Touch.objects.filter(pk__in=[t.pk for t in touches])}
    for key, touch in by_key.items():
        if touch.status == "sent":
            assert received[key] == 1
        else:
            assert received[key] <= 1
    ambiguous = [t for t in by_key.values() if t.status == "ambiguous"]
    assert by_key[in_flight_key].status == "ambiguous", "the text the gateway held when the worker died"
    assert by_key[in_flight_key].reason == "timeout"
    assert all(Message.objects.get(touch=t).status == "unknown" for t in ambiguous)
    assert counts["ambiguous"] == len(ambiguous) and counts["sent"] == final["sent"] - (KILL_AT - 1)
    assert Message.objects.count() == TOUCHES
