"""Benchmark: each registered report's ``build()`` against a hand-written SQL statement for the same figures.

Target: every report within 2× its statement (issue 12), on the 100,000-customer data set with a 50,000-invitee
campaign:

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_seed.py           # once
    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_segment.py        # once
    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_campaign_seed.py  # once
    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_followups_seed.py # once
    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_reports.py

The statements are the ``BASELINES = {slug: sql}`` of the ``bench/_baselines_<section>.py`` modules (parameters
``%(dealership)s``, ``%(start)s``, ``%(end)s``, ``%(campaign)s``); a report without one is printed as such. The
period is the last 180 days of the DEMO store (the benchmark campaign ran 120 to 31 days ago); the campaign
reports take the campaign ``RPT-50K`` and are skipped, with a message, when it does not exist yet; the follow-up
and data-quality reports measure the touches, surveys, complaints and messages of ``bench_followups_seed.py``
(without them they time only the fixed overhead). Each is run once to warm the caches, then timed 5 times; the
medians are printed with their ratio.

Options: ``--runs N`` (default 5), ``--days N`` (default 180), ``--only SLUG`` (repeatable).
"""

from __future__ import annotations

import argparse
import importlib
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAMPAIGN_CODE = "RPT-50K"
TARGET = 2.0


def baselines() -> dict[str, str]:
    found = {}
    for path in sorted((ROOT / "bench").glob("_baselines_*.py")):
        module = importlib.import_module(f"bench.{path.stem}")
        found.update(getattr(module, "BASELINES", {}))
    return found


def timed(function, runs: int) -> float:
    function()  # warm the caches
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--days", type=int, default=180)
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args()
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "psql", "pgsql")):
        print("bench_reports: set DATABASE_URL=postgres://… (run bench/bench_seed.py on it first); skipped.")
        return
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")
    import django

    django.setup()
    from django.db import connection
    from django.utils import translation

    from campaigns.models import Campaign
    from dealercrm.core.models import Dealership
    from reports import exports, registry
    from reports.periods import Period
    from reports.scope import Scope

    translation.activate("zh-hans")
    store = Dealership.objects.filter(code="DEMO").first()
    if store is None:
        sys.exit("bench_reports: no DEMO store: run bench/bench_seed.py on this database first.")
    today = store.local_date()
    period = Period(today - timedelta(days=args.days - 1), today)
    campaign = Campaign.objects.filter(dealership=store, code=CAMPAIGN_CODE).first()
    statements = baselines()
    scope = Scope.of(store)
    sql_params = {
        "dealership": store.pk,
        "start": period.start,
        "end": period.end,
        "campaign": campaign and campaign.pk,
    }
    print(f"DEMO store {store.pk}, period {period}, campaign {CAMPAIGN_CODE}: {campaign.pk if campaign else 'none'}")
    print(f"{'report':<24} {'build ms':>10} {'SQL ms':>10} {'ratio':>7}  rows")
    worst = 0.0
    for report in registry.reports():
        if args.only and report.slug not in args.only:
            continue
        params = {}
        wanted = [param for param in report.params if param.name == "campaign"]
        if wanted and campaign is not None:
            params["campaign"] = str(campaign.pk)
        elif wanted and wanted[0].required:
            print(f"{report.slug:<24} skipped: no campaign {CAMPAIGN_CODE} (run bench/bench_campaign_seed.py)")
            continue

        def build(report=report, params=params):
            return exports.build(report, scope, period, exports.resolve_params(report, scope, params))

        tables = build()
        rows = sum(len(table.rows) for table in tables)
        build_seconds = timed(build, args.runs)
        statement = statements.get(report.slug)
        if statement is None:
            print(f"{report.slug:<24} {build_seconds * 1000:>10.1f} {'—':>10} {'—':>7}  {rows}  (no baseline)")
            continue

        def baseline(statement=statement):
            with connection.cursor() as cursor:
                cursor.execute(statement, sql_params)
                return cursor.fetchall()

        sql_seconds = timed(baseline, args.runs)
        ratio = build_seconds / sql_seconds if sql_seconds else float("inf")
        worst = max(worst, ratio)
        mark = "" if ratio <= TARGET else f"  above {TARGET:g}×"
        print(
            f"{report.slug:<24} {build_seconds * 1000:>10.1f} {sql_seconds * 1000:>10.1f} {ratio:>6.2f}×  {rows}{mark}"
        )
    print(f"worst ratio {worst:.2f}× (target ≤ {TARGET:g}×)")


if __name__ == "__main__":
    main()
