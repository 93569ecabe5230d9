"""Benchmark of the counter's search by phone under load, with the numbers stored encrypted (issue 13).

Run it from the project root (PostgreSQL; the ``seed_demo --customers 100000`` data set, which it seeds with
``bench/bench_seed.py`` when the DEMO store has fewer customers)::

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench make bench BENCH=bench/bench_counter_search.py
    # options: --rounds 3 --seconds 15 --warmup 3 --connections 8 --workers 2 --sample 500

It starts gunicorn as ``bench_customer360.py`` does (production settings, ``--workers`` sync workers), logs
``--connections`` advisors' browsers in, and has each type, one after the other, what an advisor types at the
counter for a customer drawn from ``--sample`` random customers: the whole number (``13812345678``: one
lookup of its keyed hash), its last seven digits (the customers with the same last four, decrypted and
compared) and its last four (the last-four index), as the search box sends them while typing
(``GET /customers/search/?q=…`` with ``HX-Request``: the results partial). Printed per kind and in all:
requests/s, p50/p95/p99, answers not 200, workers' CPU per request, and the queries of one search of each kind.

Target (issue 13): p95 ≤ 50 ms.
"""

import argparse
import os
import random
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import free_port, percentile, remove_user, start_gunicorn, stop  # noqa: E402
from bench_customer360 import Browser, ensure_data_set, is_postgres, workers_cpu  # noqa: E402

TARGET_P95_MS = 50
USERNAME = "bench.counter"
KINDS = ("whole number", "last seven", "last four")


def typed(phone) -> dict[str, str]:
    from customers.phones import national_digits

    digits = national_digits(phone)
    return {"whole number": digits, "last seven": digits[-7:], "last four": digits[-4:]}


def user_create(dealership, password: str):
    from dealercrm.core.models import Membership, User
    from dealercrm.core.roles import Role

    remove_user(USERNAME)
    user = User(username=USERNAME, role=Role.ADVISOR, display_name="压测前台")
    user.set_password(password)
    user.save()
    Membership.objects.create(user=user, dealership=dealership)
    return user


def queries_per_search(user, searches: list[tuple[str, str]]) -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1", HTTP_HX_REQUEST="true")
    client.force_login(user)
    counts = {}
    for kind, text in searches:
        if kind in counts:
            continue
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/customers/search/?q={quote(text)}")
        if response.status_code != 200:
            raise RuntimeError(f"search {text!r} answered {response.status_code} in process")
        counts[kind] = len(captured)
    client.logout()
    return counts


def load(browsers, searches: list[tuple[str, str]], seconds: float, seed: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {kind: [] for kind in KINDS}
    bad = [0]
    lock = threading.Lock()
    end = time.perf_counter() + seconds

    def run(browser, rng):
        mine: dict[str, list[float]] = {kind: [] for kind in KINDS}
        failed = 0
        while time.perf_counter() < end:
            kind, text = rng.choice(searches)
            began = time.perf_counter()
            try:
                status, _body = browser.request("GET", f"/customers/search/?q={quote(text)}")
                failed += status != 200
            except OSError:
                failed += 1
            mine[kind].append((time.perf_counter() - began) * 1000)
        with lock:
            for kind in KINDS:
                times[kind].extend(mine[kind])
            bad[0] += failed

    threads = [threading.Thread(target=run, args=(b, random.Random(seed * 100 + i))) for i, b in enumerate(browsers)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times["_span"] = [time.perf_counter() - began]
    times["_bad"] = bad
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15, help="of each round")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=500, help="customers whose numbers are typed")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--customers", type=int, default=100_000, help="seed the DEMO store when it has fewer")
    options = parser.parse_args()
    if not is_postgres():
        print("bench_counter_search: set DATABASE_URL=postgres://… (the seeded data set); skipped.")
        return
    ensure_data_set(options.customers)
    from django.db import connection

    from customers.models import Customer
    from dealercrm.core.models import Dealership

    dealership = Dealership.objects.get(code="DEMO")
    ids = list(Customer.objects.filter(dealership=dealership).values_list("pk", flat=True))
    chosen = random.Random(options.seed).sample(ids, min(options.sample, len(ids)))
    searches = [
        (kind, text)
        for phone in Customer.objects.filter(pk__in=chosen).values_list("phone", flat=True)
        for kind, text in typed(phone).items()
    ]
    folder = Path(tempfile.mkdtemp(prefix="bench-counter-search-"))
    server = None
    browsers = []
    password = secrets.token_urlsafe(16)
    try:
        user = user_create(dealership, password)
        queries = queries_per_search(user, searches)
        connection.close()
        port = free_port()
        server = start_gunicorn(
            port=port, folder=folder, workers=options.workers, timeout=60, access_format="%(m)s %(U)s %(s)s %(D)s"
        )
        browsers = [Browser(port) for _ in range(options.connections)]
        for browser in browsers:
            browser.login(USERNAME, password)
        load(browsers, searches, options.warmup, options.seed)
        load_before = os.getloadavg()
        rounds = []
        for r in range(options.rounds):
            cpu = workers_cpu(server)
            figures = load(browsers, searches, options.seconds, options.seed + r)
            requests = sum(len(figures[kind]) for kind in KINDS)
            figures["_cpu_ms"] = [(workers_cpu(server) - cpu) * 1000 / max(requests, 1)]
            rounds.append(figures)
        load_after = os.getloadavg()
    except Exception:
        log = folder / "error.log"
        if log.exists():
            print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        stop(server)
        remove_user(USERNAME, [b.cookies["sessionid"] for b in browsers if "sessionid" in b.cookies])
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"GET /customers/search/?q=… (the counter's as-you-type results) for {len(chosen)} random customers' numbers "
        f"(whole, last seven, last four), session of an advisor, gunicorn {options.workers} sync workers, "
        f"production settings; {options.connections} connections, {options.rounds} rounds of {options.seconds} s"
    )
    print(f"queries per search (in process): {queries}")
    print(f"load average (1 min) before: {load_before[0]:.2f}, after: {load_after[0]:.2f} (2 cores, shared)")
    worst = 0.0
    bad = 0
    for number, figures in enumerate(rounds, 1):
        every = [t for kind in KINDS for t in figures[kind]]
        span = figures["_span"][0]
        bad += figures["_bad"][0]
        worst = max(worst, percentile(every, 95))
        print(
            f"round {number}: {len(every) / span:7.1f} req/s  p50 {percentile(every, 50):6.1f}  "
            f"p95 {percentile(every, 95):6.1f}  p99 {percentile(every, 99):6.1f} ms  ({len(every):,} requests, "
            f"{figures['_bad'][0]} not 200; workers' CPU {figures['_cpu_ms'][0]:.1f} ms a request)"
        )
        for kind in KINDS:
            print(
                f"    {kind:<13} p50 {percentile(figures[kind], 50):6.1f}  p95 {percentile(figures[kind], 95):6.1f} ms"
            )
    met = worst <= TARGET_P95_MS and not bad
    print(
        f"p95 at most {worst:.1f} ms, {bad} answers not 200 (target p95 ≤ {TARGET_P95_MS} ms: "
        f"{'met' if met else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
