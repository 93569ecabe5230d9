"""Benchmark of the dispatcher: messages per second through the database back end with one worker.

Run it from the project root against a PostgreSQL database of its own (created and migrated here if needed;
only its BENCHD dealership is touched)::

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench_dispatch .venv/bin/python bench/bench_dispatch.py

Options: ``--touches N`` (default 20000), ``--batch B`` (default the setting, 500), ``--rounds R`` (default 3).

How it is measured: the store gets N customers, each with a vehicle and a maintenance visit, and a day-7 text
due an hour ago (all created set-based, once; a later run reuses them). The store sends all day (so the hour of
the run does not matter). Each round first puts every touch back to *planned* and deletes their messages
(untimed), then times ``followups.dispatcher.dispatch_due()`` in this one process — the same function the
Celery task runs, batch after batch, each touch checked again (expiry, contact rule, quiet hours, template)
and recorded with its ``Message`` — until nothing is due. It prints the wall time, messages per second and the
queries per message of each round. Target (issue 11): ≥ 200 messages per second.
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgres://root@127.0.0.1:5432/dealercrm_bench_dispatch"
TARGET = 200
CODE = "BENCHD"


def ensure_database(url: str) -> None:
    import psycopg2

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    conn = psycopg2.connect(
        host=parsed.hostname or "127.0.0.1", port=parsed.port or 5432, user=parsed.username, dbname="postgres"
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        check=True,
        env={**os.environ, "DATABASE_URL": url},
    )


def seed(n: int):
    """The store, its customers, vehicles, visits and one day-7 text each (set-based); reused when present."""
    import datetime as dt
    from decimal import Decimal

    from django.db import connection, transaction
    from django.utils import timezone

    from customers.models import Customer, ServiceVisit, Vehicle
    from dealercrm.core.models import Dealership
    from followups.models import FollowupPolicy, Touch
    from tests.factories import make_plate, make_vin

    dealership, _created = Dealership.objects.get_or_create(
        code=CODE, defaults={"name": "基准测试4S店", "city": "深圳", "plate_prefix": "粤B"}
    )
    FollowupPolicy.objects.update_or_create(
        dealership=dealership, defaults={"send_from": dt.time(0), "send_until": dt.time(23, 59, 59, 999999)}
    )
    have = Touch.objects.filter(dealership=dealership, kind="day7").count()
    if have >= n:
        return dealership
    started = time.perf_counter()
    with transaction.atomic():
        Touch.objects.filter(dealership=dealership).delete()
        ServiceVisit.objects.filter(dealership=dealership).delete()
        Vehicle.objects.filter(dealership=dealership).delete()
        Customer.objects.filter(dealership=dealership).delete()
        customers = Customer.objects.bulk_create(
            Customer(
                dealership=dealership,
                customer_no=f"B{i:07d}",
                name=f"客户{i}",
                phone=f"+86139{i:08d}",
                marketing_consent=True,
            )
            for i in range(n)
        )
        vehicles = Vehicle.objects.bulk_create(
            Vehicle(
                dealership=dealership,
                owner=c,
                vin=make_vin(900_000 + i),
                plate=make_plate(i),
                brand="别克",
                model="GL8",
                model_year=2022,
                purchase_date=dt.date(2022, 3, 1),
            )
            for i, c in enumerate(customers)
        )
        day = dealership.local_date() - dt.timedelta(days=7)
        visits = ServiceVisit.objects.bulk_create(
            ServiceVisit(
                dealership=dealership,
                ro_number=f"RB{i:08d}",
                vehicle=v,
                customer_id=v.owner_id,
                opened_on=day,
                closed_on=day,
                visit_type="maintenance",
                total_amount=Decimal("500.00"),
            )
            for i, v in enumerate(vehicles)
        )
        due = timezone.now() - dt.timedelta(hours=1)
        Touch.objects.bulk_create(
            (
                Touch(
                    dealership=dealership,
                    kind="day7",
                    customer_id=visit.customer_id,
                    visit=visit,
                    due_at=due,
                    touch_class="service",
                    channel="sms",
                    priority=3,
                )
                for visit in visits
            ),
            batch_size=5000,
        )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE followups_touch; ANALYZE customers_customer; ANALYZE followups_message")
    print(f"seeded {n} customers, vehicles, visits and due texts in {time.perf_counter() - started:.1f} s")
    return dealership


def reset(dealership) -> int:
    import datetime as dt

    from django.db import connection
    from django.utils import timezone

    from followups.models import Message, Touch

    Message.objects.filter(dealership=dealership).delete()
    count = Touch.objects.filter(dealership=dealership).update(
        status="planned",
        attempts=0,
        sent_at=None,
        lease_until=None,
        claimed_by="",
        provider_ref="",
        reason="",
        reason_detail="",
        due_at=timezone.now() - dt.timedelta(hours=1),
    )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE followups_touch")
        cursor.execute("VACUUM ANALYZE followups_message")
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--touches", type=int, default=20000)
    parser.add_argument("--batch", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith("postgres"):
        sys.exit("bench_dispatch needs PostgreSQL: DATABASE_URL=postgres://…/dealercrm_bench_dispatch")
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")
    os.environ.setdefault("DJANGO_DEBUG", "False")
    for name in ("FOLLOWUPS_SMS_BACKEND", "FOLLOWUPS_WECHAT_BACKEND", "FOLLOWUPS_EMAIL_BACKEND"):
        os.environ.pop(name, None)  # the database back end, whatever the shell says
    ensure_database(url)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from followups import dispatcher
    from followups.models import Message, Touch

    settings.DEBUG = False
    assert settings.FOLLOWUPS_CHANNELS["sms"].endswith("DatabaseChannel")
    dealership = seed(args.touches)
    print(
        "dispatch_due through the database back end, one process, batch",
        args.batch or settings.FOLLOWUPS_DISPATCH_BATCH,
    )
    rates = []
    for round_no in range(1, args.rounds + 1):
        n = reset(dealership)
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            counts = dispatcher.dispatch_due(batch=args.batch, max_seconds=3600)
            elapsed = time.perf_counter() - started
        sent = Message.objects.filter(dealership=dealership).count()
        assert sent == n == counts.get("sent", 0), (sent, n, counts)
        assert not Touch.objects.filter(dealership=dealership).exclude(status="sent").exists()
        rate = sent / elapsed
        rates.append(rate)
        print(
            f"round {round_no}: {sent} messages in {elapsed:.2f} s = {rate:,.0f} messages/s, "
            f"{len(queries) / sent:.2f} queries per message"
        )
    best, worst = max(rates), min(rates)
    verdict = "meets" if worst >= TARGET else "BELOW"
    print(f"messages/s: worst {worst:,.0f}, best {best:,.0f} — {verdict} the target of ≥ {TARGET}/s")


if __name__ == "__main__":
    main()
