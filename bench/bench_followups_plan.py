"""Benchmark of the planner's day-7/15/30 rules on the ``seed_demo --customers 100000`` data set (about 1,000,000
visits, so about 3,000,000 touches).

Run it from the project root (PostgreSQL; the data set is the one ``bench/bench_seed.py`` leaves)::

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_seed.py   # once
    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench make bench BENCH=bench/bench_followups_plan.py

For the DEMO dealership, every visit type followed up (so that every visit counts), it times:

* the yardstick: a hand-written ``INSERT … SELECT`` of the same rows (same columns, same due times, same agents
  in turn, same contact conditions) into a copy of the ledger (``CREATE TABLE … (LIKE followups_touch INCLUDING
  ALL)``: its indexes and unique constraints, not its foreign keys), one statement per kind;
* the planner's three rules (``followups.planner.plan_visit_followups``: the ORM-built ``SELECT`` wrapped in
  ``INSERT … ON CONFLICT DO NOTHING``) into the ledger itself;
* an immediate second run of the planner, which must insert nothing.

The planner's clock is set to the morning of the data set's first visit with the lookback widened to the whole
data set, so that no visit's touches are left out as long past or expired: every visit is planned. The touches
of a previous run are deleted first (not timed). Target (issue 11): planner ≤ 3 × the yardstick.
``--explain`` prints the planner's day-7 SELECT under EXPLAIN ANALYZE instead (nothing is written);
``--foreign-keys`` gives the copy the ledger's foreign keys too, so that the yardstick pays the same checks.
"""

import datetime as dt
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")

KINDS = ("day7", "day15", "day30")
COPY = "bench_followups_touch_copy"

#: the same rows as the planner's, written by hand: one statement per kind ({kind}, {due}, {expires}, {assignee})
YARDSTICK = """
INSERT INTO {copy} (dealership_id, kind, customer_id, visit_id, invitation_id, vehicle_id, complaint_id, occasion,
                    due_at, expires_at, touch_class, channel, assignee_id, priority, status, reason, reason_detail,
                    attempts, max_attempts, lease_until, claimed_by, outcome, notes, provider_ref, error_code,
                    error_text, sent_at, delivered_at, completed_at, created_at, updated_at)
SELECT v.dealership_id, %(kind)s, v.customer_id, v.id, NULL, NULL, NULL, '',
       v.opened_on::timestamptz + %(due)s, v.opened_on::timestamptz + %(expires)s, %(class)s, %(channel)s,
       {assignee}, %(priority)s, 'planned', '', '', 0, %(attempts)s, NULL, '', '', '', '', '', '', NULL, NULL, NULL,
       %(now)s, %(now)s
FROM customers_servicevisit v JOIN customers_customer c ON c.id = v.customer_id
WHERE v.dealership_id = %(d)s AND v.visit_type = ANY(%(types)s) AND v.opened_on >= %(oldest)s
  AND NOT c.do_not_contact AND NOT c.flag_wrong_number
"""


def _assignee(agents: list[int]) -> str:
    """The agents in turn by the visit's id, the next one when it is the visit's advisor (as the planner)."""
    if not agents:
        return "NULL"
    if len(agents) == 1:
        return f"CASE WHEN v.advisor_id = {agents[0]} THEN NULL ELSE {agents[0]} END"
    array = "ARRAY[" + ", ".join(map(str, agents)) + "]::bigint[]"
    n = len(agents)
    first, second = f"({array})[v.id % {n} + 1]", f"({array})[(v.id + 1) % {n} + 1]"
    return f"CASE WHEN v.advisor_id = {first} THEN {second} ELSE {first} END"


def main() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "psql", "pgsql")):
        print("bench_followups_plan: set DATABASE_URL=postgres://… (run bench/bench_seed.py on it first); skipped.")
        return
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from customers.models import ServiceVisit, VisitType
    from dealercrm.core.models import Dealership
    from followups import planner
    from followups.kinds import rule
    from followups.policy import sending_window

    try:
        dealership = Dealership.objects.get(code="DEMO")
    except Dealership.DoesNotExist:
        raise SystemExit("no DEMO dealership: run bench/bench_seed.py on this database first") from None
    first_day = (
        ServiceVisit.objects.filter(dealership=dealership).order_by("opened_on").values_list("opened_on", flat=True)[0]
    )
    now = dt.datetime.combine(first_day, dt.time(0, 0), tzinfo=dealership.zone)
    lookback = (dealership.local_date() - first_day).days + 1
    store = planner.Store(dealership, now=now, lookback_days=lookback, ahead_days=14)
    store.policy.followup_visit_types = list(VisitType.values)  # every visit (not saved)
    visits = ServiceVisit.objects.filter(dealership=dealership).count()

    if "--explain" in sys.argv:
        sql, params = planner.visit_followup_rows(store, "day7").query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
            print(sql % tuple(repr(p) for p in params))
            print("\n".join(row[0] for row in cursor.fetchall()))
        return

    # Untimed: the previous run's touches gone, the copy table fresh, statistics current.
    with connection.cursor() as cursor:
        # in SQL: the ORM's delete would collect 3,000,000 touches' related rows first (nothing refers to them here)
        cursor.execute(
            "DELETE FROM followups_touch WHERE dealership_id = %s AND kind = ANY(%s)", [dealership.pk, list(KINDS)]
        )
        deleted = cursor.rowcount
        cursor.execute(f"DROP TABLE IF EXISTS {COPY}")
        cursor.execute(f"CREATE TABLE {COPY} (LIKE followups_touch INCLUDING ALL)")
        if "--foreign-keys" in sys.argv:  # the ledger's foreign keys too (deferred, as Django declares them)
            cursor.execute(
                "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'followups_touch'::regclass AND contype = 'f'"
            )
            for name, definition in cursor.fetchall():
                cursor.execute(f"ALTER TABLE {COPY} ADD CONSTRAINT bench_{name} {definition}")
        for table in ("followups_touch", "customers_servicevisit", "customers_customer"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("SELECT count(*) FROM customers_servicevisit WHERE dealership_id = %s", [dealership.pk])

    def yardstick_params(kind: str) -> dict:
        r = rule(kind)
        start = sending_window(store.policy, r.channel)[0]
        offset = dealership.zone.utcoffset(dt.datetime.combine(first_day, start))
        return {
            "kind": kind,
            "due": dt.timedelta(days=r.due_days, hours=start.hour, minutes=start.minute) - offset,
            "expires": dt.timedelta(days=r.expires_days) - offset,
            "class": r.touch_class,
            "channel": r.channel,
            "priority": int(r.priority),
            "attempts": r.max_attempts,
            "now": now,
            "d": dealership.pk,
            "types": list(VisitType.values),
            "oldest": store.earliest - dt.timedelta(days=r.due_days),
        }

    agents = store.agents
    assignee = _assignee(agents)
    figures = {}
    with connection.cursor() as cursor:
        started = time.perf_counter()
        written = 0
        for kind in KINDS:
            r = rule(kind)
            statement = YARDSTICK.format(copy=COPY, assignee=assignee if r.assigned else "NULL")
            cursor.execute(statement, yardstick_params(kind))
            written += cursor.rowcount
        figures["yardstick"] = (time.perf_counter() - started, written)

    # The SELECTs alone (counted, nothing written): the ORM-built one against the hand-written one.
    with connection.cursor() as cursor:
        started = time.perf_counter()
        for kind in KINDS:
            sql, params = planner.visit_followup_rows(store, kind).query.sql_with_params()
            cursor.execute(f"SELECT count(p) FROM ({sql}) AS p", params)  # every column computed
        figures["planner select"] = time.perf_counter() - started
        started = time.perf_counter()
        for kind in KINDS:
            r = rule(kind)
            select = YARDSTICK.format(copy=COPY, assignee=assignee if r.assigned else "NULL")
            select = select[select.index("SELECT v.dealership_id") :]
            cursor.execute(f"SELECT count(y) FROM ({select}) AS y", yardstick_params(kind))
        figures["yardstick select"] = time.perf_counter() - started

    for name in ("planner", "second run"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            inserted = sum(planner.plan_visit_followups(store, kind) for kind in KINDS)
            figures[name] = (time.perf_counter() - started, inserted, len(queries))

    with connection.cursor() as cursor:
        # the same rows? (every column but the id)
        columns = ", ".join(f.column for f in planner.COLUMNS)
        cursor.execute(
            f"SELECT count(*) FROM (SELECT {columns} FROM {COPY} EXCEPT "
            f"SELECT {columns} FROM followups_touch WHERE dealership_id = %s AND kind = ANY(%s)) AS d",
            [dealership.pk, list(KINDS)],
        )
        differ = cursor.fetchone()[0]
        cursor.execute(f"DROP TABLE {COPY}")

    base_s, base_n = figures["yardstick"]
    plan_s, plan_n, plan_q = figures["planner"]
    again_s, again_n, again_q = figures["second run"]
    print(f"DEMO: {visits:,} visits, every type followed up; {deleted:,} touches of an earlier run deleted first")
    copy = "a copy of the ledger" + (" with its foreign keys" if "--foreign-keys" in sys.argv else "")
    print(f"yardstick INSERT … SELECT   {base_s:7.2f} s  {base_n:,} rows into {copy}")
    print(f"planner (day 7/15/30)       {plan_s:7.2f} s  {plan_n:,} touches, {plan_q} queries")
    print(f"second run                  {again_s:7.2f} s  {again_n:,} touches, {again_q} queries")
    print(
        f"the SELECTs alone, counted: planner's {figures['planner select']:.2f} s, "
        f"yardstick's {figures['yardstick select']:.2f} s (the rest is writing: indexes, foreign keys, conflicts)"
    )
    print(f"rows of the yardstick not in the ledger: {differ:,}")
    ratio = plan_s / base_s if base_s else float("inf")
    print(f"planner / yardstick = {ratio:.2f} (target ≤ 3); second run created {again_n} (target 0)")


if __name__ == "__main__":
    main()
