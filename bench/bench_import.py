"""Benchmark of the DMS import on PostgreSQL: a 1,000,000-row visits file.

Run (PostgreSQL required; the figures are printed, nothing is asserted)::

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm .venv/bin/python bench/bench_import.py
    # options: --visits 1000000 --vehicles 250000 --customers 200000 --keep --out bench/out

It generates the three CSV files under ``--out`` (kept between runs), creates a
throw-away dealership, imports the customers and vehicles files first (timed
too), then imports the visits file in a fresh child process so that its peak
memory (``ru_maxrss``) is the import's own, and imports it once more (every row
unchanged). Targets (ENGINEERING): at least 50,000 visit rows/s with a peak RSS
of at most 500 MB; (issue 13) the customers file's phones encrypted at 20,000 or
more a second. The dealership and its rows are deleted afterwards unless
``--keep``. The imports run as ``manage.py import_dms --bulk`` runs them (the
bulk-load mode allowed); ``--no-bulk`` runs them as the task of a page or API
upload does (never that mode). Either way each written row gets its history row.
"""

import argparse
import csv
import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")

TARGET_ROWS_PER_S = 50_000
TARGET_RSS_MB = 500
TARGET_PHONES_PER_S = 20_000  # issue 13: the customers file's phones encrypted
ADVISORS = ["王顾问", "李顾问", "张顾问", "sa.chen", "sa.liu", "赵顾问", "", ""]
VISIT_TYPES = ["保养", "保养", "保养", "机电维修", "钣喷", "索赔", "其他", "maintenance", "repair"]
PAYERS = ["客户", "客户", "客户", "保险", "索赔", "内部", "customer"]


def _setup_django():
    import django

    django.setup()


def _vins(n: int) -> list[str]:
    from customers.validators import vin_check_digit

    chars = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"
    rnd = random.Random(7)
    vins = []
    for i in range(n):
        body = "LSG" + "".join(rnd.choice(chars) for _ in range(5)) + "0" + "".join(rnd.choice(chars) for _ in range(2))
        vin = body + f"{i:06d}"
        vins.append(vin[:8] + vin_check_digit(vin) + vin[9:])
    return vins


def generate(out: Path, customers: int, vehicles: int, visits: int) -> dict[str, Path]:
    """Write the three files (reused when already there with the same sizes)."""
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "customers": out / f"customers_{customers}.csv",
        "vehicles": out / f"vehicles_{vehicles}.csv",
        "visits": out / f"visits_{visits}_{vehicles}.csv",
    }
    rnd = random.Random(42)
    if not paths["customers"].exists():
        with paths["customers"].open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["客户编号", "姓名", "手机号", "性别", "生日", "城市", "营销授权", "授权日期"])
            for i in range(customers):
                w.writerow(
                    [
                        f"K{i:08d}",
                        f"客户{i}",
                        f"13{rnd.randint(3, 9)}{i:08d}",
                        "男" if i % 2 else "女",
                        f"19{rnd.randint(60, 99)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                        "深圳",
                        "是" if i % 3 else "否",
                        f"2023-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                    ]
                )
    vins = _vins(vehicles)
    if not paths["vehicles"].exists():
        with paths["vehicles"].open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(["VIN", "车牌号", "品牌", "车型", "年款", "购车日期", "燃油类型", "车主编号", "里程"])
            letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
            for i, vin in enumerate(vins):
                w.writerow(
                    [
                        vin,
                        f"粤{letters[i % 24]}{letters[(i // 24) % 24]}{i % 10000:04d}",
                        "别克",
                        rnd.choice(["GL8", "新君威", "新君越", "英朗", "凯越"]),
                        rnd.randint(2012, 2024),
                        f"20{rnd.randint(12, 24)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
                        rnd.choice(["燃油", "燃油", "混动", "纯电"]),
                        f"K{i % customers:08d}",
                        rnd.randint(1000, 150000),
                    ]
                )
    if not paths["visits"].exists():
        with paths["visits"].open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(
                [
                    "ro_number",
                    "vin",
                    "customer_no",
                    "opened_at",
                    "closed_at",
                    "mileage_km",
                    "visit_type",
                    "labor_amount",
                    "parts_amount",
                    "total_amount",
                    "payer",
                    "advisor",
                    "campaign_code",
                ]
            )
            for i in range(visits):
                v = rnd.randrange(vehicles)
                day = f"20{rnd.randint(21, 24)}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}"
                labor = rnd.randint(0, 200000) / 100
                parts = rnd.randint(0, 500000) / 100
                w.writerow(
                    [
                        f"R{i:09d}",
                        vins[v],
                        f"K{v % customers:08d}" if i % 10 == 0 else "",
                        day,
                        day,
                        rnd.randint(1000, 200000),
                        rnd.choice(VISIT_TYPES),
                        f"{labor:.2f}",
                        f"{parts:.2f}",
                        f"{labor + parts:.2f}",
                        rnd.choice(PAYERS),
                        rnd.choice(ADVISORS),
                        "SUMMER24" if i % 20 == 0 else "",
                    ]
                )
    return paths


def child(args) -> None:
    """Import one file in this process and print the figures as JSON (peak RSS is this process's own)."""
    _setup_django()
    from customers.importing import run_import
    from dealercrm.core.models import Dealership

    dealership = Dealership.objects.get(code=args.dealership)
    if os.environ.get("BENCH_LOG"):
        import logging

        logging.getLogger("customers.importing").setLevel(logging.DEBUG)
    started = time.perf_counter()
    result = run_import(
        dealership=dealership, files={args.kind: Path(args.file)}, source="command", bulk=not args.no_bulk
    )
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = result.files[args.kind]
    print(
        json.dumps(
            {
                "status": str(result.status),
                "errors": len(result.errors),
                "first_errors": [e.as_dict() for e in result.errors[:3]],
                "rows": report.rows,
                "created": report.created,
                "updated": report.updated,
                "unchanged": report.unchanged,
                "seconds": seconds,
                "peak_mb": peak_kb / 1024,
            }
        )
    )


def _run_child(kind: str, path: Path, dealership: str, *, bulk: bool = True) -> dict:
    command = [sys.executable, __file__, "--child", kind, "--file", str(path), "--dealership", dealership]
    if not bulk:
        command.append("--no-bulk")
    done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603 - our own script
    if done.returncode:
        print(done.stdout, done.stderr, file=sys.stderr)
        raise SystemExit(f"the {kind} import failed")
    if os.environ.get("BENCH_LOG"):
        print(done.stderr, file=sys.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _show(label: str, figures: dict) -> None:
    rate = figures["rows"] / figures["seconds"] if figures["seconds"] else 0
    print(
        f"{label:<22} {figures['rows']:>9,} rows  {figures['seconds']:7.2f} s  {rate:>9,.0f} rows/s  "
        f"peak RSS {figures['peak_mb']:6.0f} MB  created {figures['created']:,} updated {figures['updated']:,} "
        f"unchanged {figures['unchanged']:,}  status {figures['status']} errors {figures['errors']}"
    )
    if figures["errors"]:
        print("   first errors:", figures["first_errors"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--vehicles", type=int, default=250_000)
    parser.add_argument("--customers", type=int, default=200_000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "out")
    parser.add_argument("--keep", action="store_true", help="keep the benchmark dealership and its rows")
    parser.add_argument(
        "--no-bulk", action="store_true", help="import as a page or API upload does: never the bulk-load mode"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--dealership", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.kind = args.child
        child(args)
        return
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres", "psql", "pgsql")):
        print("bench_import: set DATABASE_URL=postgres://… (the target is measured on PostgreSQL); skipped.")
        return

    _setup_django()
    from django.db import connection

    from dealercrm.core.models import Dealership

    started = time.perf_counter()
    paths = generate(args.out, args.customers, args.vehicles, args.visits)
    print(f"files ready in {time.perf_counter() - started:.1f} s: " + ", ".join(str(p) for p in paths.values()))
    code = f"BENCH{int(time.time()) % 10**8}"
    dealership = Dealership.objects.create(code=code, name="Benchmark", city="深圳", plate_prefix="粤B")
    connection.close()
    try:
        print(f"load: {os.getloadavg()[0]:.2f} (1-minute average), {os.cpu_count()} CPUs")
        bulk = not args.no_bulk
        print("mode:", "import_dms --bulk (bulk-load mode allowed)" if bulk else "as a web upload (no bulk-load mode)")
        _show("customers", _run_child("customers", paths["customers"], code, bulk=bulk))
        _show("vehicles", _run_child("vehicles", paths["vehicles"], code, bulk=bulk))
        first = _run_child("visits", paths["visits"], code, bulk=bulk)
        _show("visits", first)
        again = _run_child("visits", paths["visits"], code, bulk=bulk)
        _show("visits re-import", again)
        rate = first["rows"] / first["seconds"]
        verdict = "meets" if rate >= TARGET_ROWS_PER_S and first["peak_mb"] <= TARGET_RSS_MB else "MISSES"
        print(
            f"visits import: {rate:,.0f} rows/s (target ≥ {TARGET_ROWS_PER_S:,}), peak RSS {first['peak_mb']:.0f} MB "
            f"(target ≤ {TARGET_RSS_MB}): {verdict} the target; re-import {again['seconds']:.1f} s"
        )
        encrypted = encryption_rate(paths["customers"])
        print(
            f"customers file's phones encrypted (ciphertext, keyed hash, last four, as the import does): "
            f"{encrypted:,.0f} phones/s (target ≥ {TARGET_PHONES_PER_S:,}: "
            f"{'meets' if encrypted >= TARGET_PHONES_PER_S else 'MISSES'} it)"
        )
    finally:
        if not args.keep:
            _delete(dealership.pk)


def encryption_rate(path: Path) -> float:
    """Phones a second that the import's encryption step (``writer._encrypted_phones``: Fernet, HMAC, last four)
    turns the customers file's checked numbers into, in chunks of the import's size, in this process."""
    import numpy as np
    import pandas as pd

    from customers.importing import validate, writer

    numbers = pd.read_csv(path, usecols=["手机号"], dtype=str)["手机号"].map(validate.phone_e164).to_numpy(object)
    started = time.perf_counter()
    for start in range(0, len(numbers), 50_000):
        writer._encrypted_phones(np.asarray(numbers[start : start + 50_000], dtype=object))
    return len(numbers) / (time.perf_counter() - started)


def _delete(dealership_id: int) -> None:
    from django.db import connection, transaction

    from customers.models import (
        ConsentEvent,
        Customer,
        ImportRun,
        MileageReading,
        ServiceVisit,
        Vehicle,
        VehicleOwnership,
    )

    with transaction.atomic(), connection.cursor() as cursor:
        vehicles = f"SELECT id FROM {Vehicle._meta.db_table} WHERE dealership_id = %s"
        customers = f"SELECT id FROM {Customer._meta.db_table} WHERE dealership_id = %s"
        histories = [
            f"DELETE FROM {m.history.model._meta.db_table} WHERE dealership_id = %s"
            for m in (ServiceVisit, Vehicle, Customer)
        ]
        for sql in (
            *histories,
            f"DELETE FROM {ServiceVisit._meta.db_table} WHERE dealership_id = %s",
            f"DELETE FROM {MileageReading._meta.db_table} WHERE vehicle_id IN ({vehicles})",
            f"DELETE FROM {VehicleOwnership._meta.db_table} WHERE vehicle_id IN ({vehicles})",
            f"DELETE FROM {Vehicle._meta.db_table} WHERE dealership_id = %s",
            f"DELETE FROM {ConsentEvent._meta.db_table} WHERE customer_id IN ({customers})",
            f"DELETE FROM {Customer._meta.db_table} WHERE dealership_id = %s",
            f"DELETE FROM {ImportRun._meta.db_table} WHERE dealership_id = %s",
            "DELETE FROM core_dealership WHERE id = %s",
        ):
            cursor.execute(sql, [dealership_id])


if __name__ == "__main__":
    main()
