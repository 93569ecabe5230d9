"""Benchmark of a segmentation run on the ``seed_demo --customers 100000`` data set (about 1,000,000 visits).

Run it from the project root (PostgreSQL; the data set is the one ``bench/bench_seed.py`` leaves)::

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_seed.py   # once
    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_segment.py

In one child process (so that its peak memory is the run's own) it times, for the DEMO dealership:
a hand-written SQL statement aggregating the per-customer metrics over the same visits (the baseline),
that statement's rows written straight into the result tables (a floor for any run; rolled back),
a full first run (previous segmentation rows of the store deleted first), an unchanged re-run (nothing
read has changed: recorded as unchanged), and a forced re-run (everything computed again, nothing written),
with the number of queries of each. Targets (issue): full run ≤ 2 × the baseline, unchanged re-run
≤ half the first and writing no history rows, peak memory ≤ 500 MB, queries independent of the customers.
"""

import json
import os
import resource
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")

BASELINE = """
SELECT v.customer_id,
       COUNT(*) FILTER (WHERE v.opened_on > %(window_start)s),
       COUNT(*) FILTER (WHERE v.opened_on > %(window_start)s AND v.visit_type = 'maintenance'),
       SUM(v.total_amount) FILTER (WHERE v.opened_on > %(window_start)s),
       SUM(v.total_amount) FILTER (WHERE v.opened_on > %(window_start)s AND v.visit_type = 'maintenance'),
       COUNT(*) FILTER (WHERE v.opened_on > %(year_start)s),
       SUM(v.total_amount),
       MAX(v.opened_on),
       MIN(COALESCE(x.purchase_date, v.opened_on))
FROM customers_servicevisit v JOIN customers_vehicle x ON x.id = v.vehicle_id
WHERE v.dealership_id = %(d)s AND v.opened_on <= %(ref)s
GROUP BY v.customer_id
"""

# A floor for any run: the baseline's rows written straight into the customer results, and a row per vehicle
# into the vehicle results, in one statement each (no classification, no forecast; rolled back).
FLOOR = (
    f"""INSERT INTO segmentation_customersegment (dealership_id, customer_id, valid_from_id, c3_group, tier,
        value_layer, lapsed, window_visits, maintenance_visits, window_spend, maintenance_spend, observed_from,
        visits_12m, lifetime_value, last_visit_on, tags)
    SELECT %(d)s, a.customer_id, 0, '', 'D', 'potential', false, a.n, a.m, COALESCE(a.s, 0), COALESCE(a.ms, 0),
           a.first, a.y, a.ltv, a.last, 0
    FROM ({BASELINE.replace("SELECT v.customer_id,", "SELECT v.customer_id AS customer_id,", 1)}) AS a (
        customer_id, n, m, s, ms, y, ltv, last, first)""",
    """INSERT INTO segmentation_vehicleforecast (dealership_id, vehicle_id, valid_from_id, age_band,
        last_maintenance_on, interval_days, due_basis, next_due_on)
    SELECT %(d)s, x.id, 0, '', NULL, NULL, '', NULL FROM customers_vehicle x WHERE x.dealership_id = %(d)s""",
)


def child() -> None:
    import django

    django.setup()
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from dealercrm.core.models import Dealership
    from segmentation.models import CustomerSegment, SegmentationRun, VehicleForecast
    from segmentation.services import segmentation_run

    dealership = Dealership.objects.get(code="DEMO")
    ref = timezone.localdate()
    figures = {}
    with transaction.atomic():
        CustomerSegment.objects.filter(dealership=dealership).delete()
        VehicleForecast.objects.filter(dealership=dealership).delete()
        SegmentationRun.objects.filter(dealership=dealership).delete()
    with connection.cursor() as cursor:
        for table in ("segmentation_customersegment", "segmentation_vehicleforecast"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        params = {
            "d": dealership.pk,
            "ref": ref,
            "window_start": ref - timedelta(days=730),
            "year_start": ref - timedelta(days=365),
        }
        cursor.execute(BASELINE, params)  # warm the cache, as the runs will find it
        cursor.fetchall()
        started = time.perf_counter()
        cursor.execute(BASELINE, params)
        rows = cursor.fetchall()
        figures["baseline"] = {"seconds": time.perf_counter() - started, "rows": len(rows)}
    with transaction.atomic():
        with connection.cursor() as cursor:
            started = time.perf_counter()
            for statement in FLOOR:
                cursor.execute(statement, params)
            figures["floor"] = {"seconds": time.perf_counter() - started}
        transaction.set_rollback(True)
    for name, force in (("first run", False), ("unchanged re-run", False), ("forced re-run", True)):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            run = segmentation_run(dealership=dealership, reference_date=ref, force=force)
            seconds = time.perf_counter() - started
        figures[name] = {
            "seconds": seconds,
            "queries": len(queries),
            "customers": run.customers,
            "changed_customers": run.changed_customers,
            "changed_vehicles": run.changed_vehicles,
            "reused": bool(run.reused_from_id),
        }
    figures["history rows"] = CustomerSegment.objects.filter(dealership=dealership).count()
    figures["peak_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def main() -> None:
    if "--child" in sys.argv:
        child()
        return
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "psql", "pgsql")):
        print("bench_segment: set DATABASE_URL=postgres://… (run bench/bench_seed.py on it first); skipped.")
        return
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, __file__, "--child"], capture_output=True, text=True, check=False
    )
    if done.returncode:
        print(done.stdout, done.stderr, file=sys.stderr)
        raise SystemExit("the benchmark failed (is the DEMO data set there? run bench/bench_seed.py)")
    f = json.loads(done.stdout.strip().splitlines()[-1])
    base, first, again = f["baseline"], f["first run"], f["unchanged re-run"]
    print(f"baseline SQL aggregate   {base['seconds']:6.2f} s  ({base['rows']:,} customers with visits)")
    print(
        f"SQL floor                {f['floor']['seconds']:6.2f} s  (that aggregate written straight into the "
        f"result tables: {f['floor']['seconds'] / base['seconds']:.1f} × the baseline)"
    )
    for name in ("first run", "unchanged re-run", "forced re-run"):
        r = f[name]
        print(
            f"{name:<24} {r['seconds']:6.2f} s  {r['queries']:3d} queries  {r['customers']:,} customers, "
            f"{r['changed_customers']:,} customer rows and {r['changed_vehicles']:,} vehicle rows written"
            + ("  (unchanged: reused)" if r["reused"] else "")
        )
    print(f"history rows after all three: {f['history rows']:,}   peak RSS {f['peak_mb']:.0f} MB")
    ratio = first["seconds"] / base["seconds"]
    print(
        f"full run / baseline = {ratio:.1f} (target ≤ 2), unchanged re-run / first = "
        f"{again['seconds'] / first['seconds']:.2f} (target ≤ 0.5), peak {f['peak_mb']:.0f} MB (target ≤ 500)"
    )


if __name__ == "__main__":
    main()
