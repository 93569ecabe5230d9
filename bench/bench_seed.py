"""Benchmark: ``seed_demo --customers 100000 --reset`` (about a million visits) on PostgreSQL.

Target: at most 60 s on the 2-core development machine, peak memory well under 1.5 GB.

Run it from the project root against a PostgreSQL database of its own (created and
migrated here if needed; its DEMO dealership is regenerated, nothing else is touched):

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_seed.py

Options: ``--customers N`` (default 100000), ``--seed S``, ``--today YYYY-MM-DD``.
The command runs in a child process; the figures printed are its wall time (the
command also prints the time of each phase), the rows per table of the DEMO
dealership, and the child's peak resident memory. The first run on an empty
database has nothing to delete; later runs include deleting the previous demo data.
Before the timed run the demo tables are vacuumed (untimed), so that rows deleted by
earlier runs do not pile up where autovacuum is off (it is off on the development
machine's server).
"""

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import psycopg2
from psycopg2 import sql

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://root@127.0.0.1:5432/dealercrm_bench"
TARGET_SECONDS = 60
TABLES = [
    ("customers", "customers_customer", "dealership_id = %s"),
    ("vehicles", "customers_vehicle", "dealership_id = %s"),
    (
        "ownerships",
        "customers_vehicleownership",
        "vehicle_id IN (SELECT id FROM customers_vehicle WHERE dealership_id = %s)",
    ),
    (
        "consent events",
        "customers_consentevent",
        "customer_id IN (SELECT id FROM customers_customer WHERE dealership_id = %s)",
    ),
    ("visits", "customers_servicevisit", "dealership_id = %s"),
    (
        "mileage readings",
        "customers_mileagereading",
        "vehicle_id IN (SELECT id FROM customers_vehicle WHERE dealership_id = %s)",
    ),
]


def connect(url: str, dbname: str | None = None):
    parsed = urlparse(url)
    return psycopg2.connect(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        user=parsed.username or "root",
        password=parsed.password or None,
        dbname=dbname or parsed.path.lstrip("/"),
    )


def ensure_database(url: str) -> None:
    name = urlparse(url).path.lstrip("/")
    conn = connect(url, "postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            print(f"creating database {name}")
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    conn.close()


def run_measured(args: list[str], env: dict) -> tuple[float, int, str]:
    """Run a child process; return its wall seconds, peak RSS in MB and output."""
    started = time.perf_counter()
    child = subprocess.Popen(  # noqa: S603 - our own interpreter and manage.py
        args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    output = child.stdout.read()
    _pid, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        print(output)
        sys.exit(f"{' '.join(args)} failed with exit code {child.returncode}")
    return seconds, usage.ru_maxrss // 1024, output


def vacuum(url: str) -> float:
    """Reclaim the rows a previous --reset deleted (this server may run without autovacuum), untimed."""
    started = time.perf_counter()
    conn = connect(url)
    conn.autocommit = True
    with conn.cursor() as cursor:
        tables = sql.SQL(", ").join(sql.Identifier(table) for _label, table, _where in TABLES)
        cursor.execute(sql.SQL("VACUUM (ANALYZE) {}").format(tables))
    conn.close()
    return time.perf_counter() - started


def row_counts(url: str) -> dict[str, int]:
    conn = connect(url)
    counts = {}
    with conn.cursor() as cursor:
        cursor.execute("SELECT id FROM core_dealership WHERE code = 'DEMO'")
        dealership_id = cursor.fetchone()[0]
        for label, table, where in TABLES:
            query = sql.SQL("SELECT count(*) FROM {} WHERE " + where).format(sql.Identifier(table))
            cursor.execute(query, [dealership_id])
            counts[label] = cursor.fetchone()[0]
    conn.close()
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--today", default=None)
    options = parser.parse_args()

    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    if not url.startswith(("postgres", "pgsql", "psql")):
        sys.exit("bench_seed needs PostgreSQL: DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench")
    env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "dealercrm.settings.local"}
    python = sys.executable

    ensure_database(url)
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)  # noqa: S603

    command = [python, "manage.py", "seed_demo", "--customers", str(options.customers), "--seed", str(options.seed)]
    command += ["--reset"] + (["--today", options.today] if options.today else [])
    print(f"vacuumed the demo tables before the run in {vacuum(url):.1f} s (not counted)")
    load_before = os.getloadavg()
    seconds, peak_mb, output = run_measured(command, env)

    print(output.rstrip())
    print()
    print(f"seed_demo --customers {options.customers} --reset on {urlparse(url).path.lstrip('/')}")
    verdict = "OK" if seconds <= TARGET_SECONDS else "OVER"
    print(f"  wall time      {seconds:8.1f} s   (target ≤ {TARGET_SECONDS} s: {verdict})")
    print(f"  peak RSS       {peak_mb:8,d} MB  (target < 1,536 MB)")
    print(f"  load average   {load_before[0]:8.2f}     (1 min, before the run; other work on the machine slows it)")
    total = 0
    for label, count in row_counts(url).items():
        print(f"  {label:<16} {count:>10,}")
        total += count
    print(f"  {'rows in all':<16} {total:>10,}  ({total / seconds:,.0f} rows/s)")


if __name__ == "__main__":
    main()
