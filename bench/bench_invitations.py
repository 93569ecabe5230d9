"""Benchmark of generating a campaign's invitation list: about 50,000 invitations on the 100,000-customer DEMO store.

Run it from the project root (PostgreSQL; the data set ``bench/bench_seed.py`` leaves, segmented — run
``bench/bench_segment.py`` or ``manage.py segment --dealership DEMO`` on it once)::

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench make bench BENCH=bench/bench_invitations.py

In one child process (so that its peak memory is the generation's own) it creates ten agents and a running
campaign of three target groups over C3 groups and tiers (``bench/_campaigns.py``: a 10 % holdout in the
first, an A/B test in the second) that match about 50,000 eligible customers, and times

* the baseline: one hand-written ``INSERT … SELECT`` of the same (campaign, group, customer, vehicle) rows —
  each customer in the first group that matches, through the lowest-numbered vehicle that matches — into a
  scratch campaign, then ``SET CONSTRAINTS ALL IMMEDIATE`` (the foreign-key checks that Django's deferred
  constraints leave to the commit, which the generation's time includes), rolled back;
* ``campaigns.services.invitation_list_generate`` for the campaign and the ten agents: the full generation
  with holdout, A/B variants and the assignment, checked to give exactly the baseline's rows;
* the same generation on a smaller list (the groups limited to two models), to show that the number of
  queries does not grow with the list (it depends on the number of groups and agents only).

Targets (issue): generation ≤ 3 × the baseline, a constant number of queries. The generation's queries are
summed by kind (inserts, assignment updates, the commit) to show where its time goes. Everything it created
(campaigns, invitations, agents) is deleted at the end, and before the start if a run was cut short.
"""

import json
import os
import resource
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _campaigns as common

TARGET_RATIO = 3

# The three groups of ``_campaigns.GROUPS`` by hand: a row per (customer, matching vehicle), the position of the
# first group the pair matches, and of each customer the first group and lowest vehicle id (DISTINCT ON).
# ``{contactable}``: who may get a campaign call, the contact rule's own SQL (``customers.contact``), put in by
# ``_sql`` once Django is set up.
BASELINE_SELECT = """
SELECT DISTINCT ON (m.customer_id)
       m.customer_id, m.vehicle_id, (ARRAY[%(g1)s, %(g2)s, %(g3)s]::bigint[])[m.position] AS target_group_id
FROM (
    SELECT c.id AS customer_id, v.id AS vehicle_id,
           CASE WHEN s.c3_group IN ('profitable_loyal', 'split_loyal') THEN 1
                WHEN s.c3_group IN ('high_risk', 'mining', 'high_cost') AND s.tier IN ('A', 'B') THEN 2
                WHEN s.c3_group IN ('low_cost', 'mysterious_opportunity')
                     AND v.purchase_date <= %(on)s AND v.purchase_date > %(three_years_before)s THEN 3
           END AS position
    FROM customers_customer c
    JOIN segmentation_customersegment s ON s.customer_id = c.id AND s.valid_to_id IS NULL AND s.dealership_id = %(d)s
    JOIN customers_vehicle v ON v.owner_id = c.id AND v.dealership_id = %(d)s AND v.plate LIKE '粤B%%'
    WHERE c.dealership_id = %(d)s AND {contactable}
) AS m
WHERE m.position IS NOT NULL
ORDER BY m.customer_id, m.position, m.vehicle_id
"""
BASELINE_INSERT = f"""
INSERT INTO campaigns_invitation (campaign_id, target_group_id, customer_id, vehicle_id, variant, holdout, round,
                                  status, attempts, created_at)
SELECT %(campaign)s, b.target_group_id, b.customer_id, b.vehicle_id, 'A', false, 1, 'pending', 0, now()
FROM ({BASELINE_SELECT}) AS b
"""
# Rows of the generated list that the baseline does not have, and the other way round (both must be 0).
DIFFERENCE = f"""
SELECT (SELECT count(*) FROM (SELECT customer_id, vehicle_id, target_group_id FROM campaigns_invitation
                              WHERE campaign_id = %(campaign)s
                              EXCEPT SELECT * FROM ({BASELINE_SELECT}) AS b1) AS x),
       (SELECT count(*) FROM (SELECT * FROM ({BASELINE_SELECT}) AS b2
                              EXCEPT SELECT customer_id, vehicle_id, target_group_id FROM campaigns_invitation
                              WHERE campaign_id = %(campaign)s) AS y)
"""


def _sql(statement: str) -> str:
    """``statement`` with the contact rule's SQL in place of ``{contactable}``."""
    from customers.contact import MARKETING, contactable_sql

    return statement.replace("{contactable}", contactable_sql(MARKETING, "call", alias="c"))


def _kind(sql: str) -> str:
    head = sql.lstrip().split(None, 1)[0].upper()
    if head == "COMMIT":
        return "COMMIT: deferred foreign-key checks"
    if head == "INSERT" and "campaigns_invitation" in sql:
        return "INSERT … SELECT of the groups"
    if head == "UPDATE" and "campaigns_invitation" in sql:
        return "UPDATE: assign to agents"
    if head == "SELECT" and '"campaigns_invitation"."id"' in sql and "ORDER BY" in sql:
        return "SELECT: ids to assign"
    return "other: lock, groups, agents, load"


def _generate(campaign, agents) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from campaigns import services

    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        result = services.invitation_list_generate(campaign=campaign, agents=agents)
        seconds = time.perf_counter() - started
    phases = defaultdict(float)
    for query in queries:
        phases[_kind(query["sql"])] += float(query["time"])
    return {
        "seconds": seconds,
        "queries": len(queries),
        "added": result["added"],
        "assigned": result["assigned"],
        "phases": dict(phases),
    }


def child() -> None:
    common.setup()
    from django.db import connection, transaction
    from django.db.models import Count

    from campaigns import selectors
    from campaigns.models import Invitation
    from campaigns.targeting import years_before

    dealership = common.demo_store()
    figures = {"cleanup before": common.cleanup(dealership)}
    try:
        agents = common.agents_create(dealership)
        campaign = common.campaign_create(dealership, "INVITATIONS")
        scratch = common.campaign_create(dealership, "BASELINE")
        small = common.campaign_create(dealership, "SMALL", extra_filters={"models": ["新君威", "陆尊"]})
        for c in (campaign, small):
            common.campaign_run(c)
        figures["preview"] = [(row["group"].name, row["would_add"]) for row in selectors.preview(campaign=campaign)]
        groups = list(scratch.target_groups.order_by("position").values_list("pk", flat=True))
        params = {
            "d": dealership.pk,
            "campaign": scratch.pk,
            "g1": groups[0],
            "g2": groups[1],
            "g3": groups[2],
            "on": campaign.starts_on,
            "three_years_before": years_before(campaign.starts_on, 3),
        }
        with connection.cursor() as cursor:
            cursor.execute(_sql(BASELINE_SELECT), params)  # warm the cache, as the generation will find it
            cursor.fetchall()
            with transaction.atomic():
                started = time.perf_counter()
                cursor.execute(_sql(BASELINE_INSERT), params)
                rows, inserted = cursor.rowcount, time.perf_counter()
                # the foreign-key checks a commit would run (Django's constraints are deferred), then roll back
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                checked = time.perf_counter()
                figures["baseline"] = {
                    "seconds": checked - started,
                    "insert": inserted - started,
                    "checks": checked - inserted,
                    "rows": rows,
                }
                transaction.set_rollback(True)
            cursor.execute("VACUUM ANALYZE campaigns_invitation")  # the rolled-back rows are dead

        figures["generate"] = _generate(campaign, agents)
        with connection.cursor() as cursor:
            cursor.execute(
                _sql(DIFFERENCE),
                {**params, "campaign": campaign.pk, **dict(zip(("g1", "g2", "g3"), _groups(campaign), strict=True))},
            )
            figures["difference"] = list(cursor.fetchone())
        listed = Invitation.objects.filter(campaign=campaign)
        figures["holdout"] = listed.filter(holdout=True).count()
        figures["variant B"] = listed.filter(variant="B").count()
        figures["per agent"] = sorted(
            listed.filter(agent__isnull=False).values("agent").annotate(n=Count("id")).values_list("n", flat=True)
        )
        figures["small"] = _generate(small, agents)
        figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        figures["cleanup"] = common.cleanup(dealership)
    print(json.dumps(figures, ensure_ascii=False))


def _groups(campaign) -> list[int]:
    return list(campaign.target_groups.order_by("position").values_list("pk", flat=True))


def main() -> None:
    if "--child" in sys.argv:
        child()
        return
    if not common.is_postgres():
        print("bench_invitations: set DATABASE_URL=postgres://… (the seeded, segmented data set); skipped.")
        return
    common.migrate()
    env = {**os.environ, "PYTHONPATH": str(common.ROOT)}
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, __file__, "--child"], capture_output=True, text=True, check=False, env=env
    )
    if done.returncode:
        print(done.stdout, done.stderr, file=sys.stderr)
        raise SystemExit("the benchmark failed (is the segmented DEMO data set there? see the docstring)")
    f = json.loads(done.stdout.strip().splitlines()[-1])
    base, gen, small = f["baseline"], f["generate"], f["small"]
    for name, n in f["preview"]:
        print(f"  group {name:<32} {n:>7,} customers")
    print(
        f"baseline INSERT … SELECT      {base['seconds']:6.2f} s  {base['rows']:,} rows: one hand-written statement "
        f"{base['insert']:.2f} s and the foreign-key checks of its commit {base['checks']:.2f} s"
    )
    print(
        f"invitation_list_generate      {gen['seconds']:6.2f} s  {gen['added']:,} rows, {gen['assigned']:,} assigned "
        f"to 10 agents ({min(f['per agent']):,}–{max(f['per agent']):,} each), {f['holdout']:,} holdout, "
        f"{f['variant B']:,} variant B; {gen['queries']} queries"
    )
    for phase, seconds in sorted(gen["phases"].items(), key=lambda item: -item[1]):
        print(f"    {phase:<40} {seconds:6.2f} s")
    print(
        f"same rows as the baseline: {'yes' if f['difference'] == [0, 0] else 'NO'} "
        f"(only in the list {f['difference'][0]}, only in the baseline {f['difference'][1]})"
    )
    print(
        f"a smaller list (two models)   {small['seconds']:6.2f} s  {small['added']:,} rows; {small['queries']} queries"
        f" ({'the same number' if small['queries'] == gen['queries'] else 'NOT the same number'})"
    )
    ratio = gen["seconds"] / base["seconds"]
    verdict = "met" if ratio <= TARGET_RATIO else "NOT met"
    print(
        f"generation / baseline = {ratio:.1f} (target ≤ {TARGET_RATIO}: {verdict};"
        f" {gen['seconds'] / base['insert']:.1f} × the bare INSERT without its checks), {gen['queries']} queries"
        f" whatever the size, peak RSS {f['peak_mb']:.0f} MB"
    )
    print("cleaned up: " + ", ".join(f"{n or 0:,} {what}" for what, n in f["cleanup"].items()))


if __name__ == "__main__":
    main()
