"""Benchmark of the customer 360 page, with its cards, under load: an advisor opening random customers.

Run it from the project root (PostgreSQL; the ``seed_demo --customers 100000`` data set, which it seeds with
``bench/bench_seed.py`` when the DEMO store has fewer customers)::

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench make bench BENCH=bench/bench_customer360.py
    # options: --rounds 3 --seconds 15 --warmup 3 --connections 8 --workers 2 --sample 500 --no-followups

It starts gunicorn (``--workers`` sync workers) with the production settings (``bench/_settings.py``: DEBUG
off, persistent connections), makes an advisor of the DEMO store (``bench.360``) and logs each of
``--connections`` threads in through the login page (a session of its own, as a browser has). Each thread
then opens ``GET /customers/<id>/`` of customers drawn at random from ``--sample`` customers with visits,
the next request when the last is answered, ``--seconds`` per round for ``--rounds`` rounds after
``--warmup`` seconds. Printed: requests/s, p50/p95/p99 as the client saw them, answers not 200, the median
server time from gunicorn's access log, and the queries one page makes (counted in this process through
Django's test client, before the load).

So that the follow-up cards have something to show, the sampled customers get what the follow-up planner
would have made for them (unless ``--no-followups``): day-7/15/30 touches of their three latest visits (the
older ones done, the newer ones planned), a survey of the latest visit answered, and an open complaint for
one customer in five; all removed again at the end with the user, its sessions and its history rows.

Target (issue 11): p95 ≤ 100 ms with 8 connections (measured before the issue at 131–158 ms).
"""

import argparse
import http.client
import os
import random
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import free_port, percentile, remove_user, start_gunicorn, stop  # noqa: E402

TARGET_P95_MS = 100
USERNAME = "bench.360"
MARK = "bench-360"
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
PAGE = re.compile(r"/customers/\d+/")


def is_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres", "psql", "pgsql"))


def ensure_data_set(customers: int) -> None:
    """Migrate; seed the DEMO store with ``bench/bench_seed.py`` when it has fewer than ``customers``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    import django

    django.setup()
    from customers.models import Customer

    if Customer.objects.filter(dealership__code="DEMO").count() < customers:
        print(f"seeding the DEMO store with {customers:,} customers (bench/bench_seed.py)")
        seed = [sys.executable, "bench/bench_seed.py", "--customers", str(customers)]
        subprocess.run(seed, cwd=ROOT, env=env, check=True, timeout=900)  # noqa: S603


def sample_customers(dealership, n: int, seed: int) -> list[int]:
    """``n`` customers of the store with at least one visit, drawn at random (reproducibly)."""
    from customers.models import ServiceVisit

    ids = sorted(set(ServiceVisit.objects.filter(dealership=dealership).values_list("customer_id", flat=True)))
    return random.Random(seed).sample(ids, min(n, len(ids)))


def user_create(dealership, password: str):
    from dealercrm.core.models import Membership, User
    from dealercrm.core.roles import Role

    cleanup_user()
    user = User(username=USERNAME, role=Role.ADVISOR, display_name="压测顾问")
    user.set_password(password)
    user.save()
    Membership.objects.create(user=user, dealership=dealership)
    return user


def cleanup_user(session_keys=()) -> None:
    """The benchmark's user, membership, sessions (``session_keys``) and history rows (``_server.remove_user``)."""
    remove_user(USERNAME, session_keys)


def followups_create(dealership, customer_ids: list[int]) -> dict[str, int]:
    """What the planner would have made for the sampled customers (see the module's docstring); bulk inserts,
    no history rows (the clean-up deletes by the mark)."""
    try:
        from followups.models import Complaint, Survey, Touch
    except ImportError:
        return {}
    from django.utils import timezone

    from customers.models import ServiceVisit

    now = timezone.now()
    zone = dealership.zone
    visits: dict[int, list] = {}
    for visit in (
        ServiceVisit.objects.filter(customer_id__in=customer_ids)
        .order_by("customer_id", "-opened_on", "-id")
        .only("id", "customer_id", "opened_on")
    ):
        visits.setdefault(visit.customer_id, []).append(visit)
    touches, surveys, complaints = [], [], []
    for number, (customer_id, theirs) in enumerate(visits.items()):
        for visit in theirs[:3]:
            opened = timezone.make_aware(
                timezone.datetime.combine(visit.opened_on, timezone.datetime.min.time()).replace(hour=10), zone
            )
            for days, kind in ((7, "day7"), (15, "day15"), (30, "day30")):
                due = opened + timedelta(days=days)
                past = due < now
                touches.append(
                    Touch(
                        dealership=dealership,
                        kind=kind,
                        customer_id=customer_id,
                        visit_id=visit.pk,
                        due_at=due,
                        touch_class="service",
                        channel="call" if kind != "day15" else "sms",
                        priority=2,
                        status="done" if past else "planned",
                        completed_at=due if past else None,
                        outcome="done" if past else "",
                        notes=MARK,
                        max_attempts=3,
                    )
                )
        latest = theirs[0]
        sent = now - timedelta(days=3)
        surveys.append(
            Survey(
                dealership=dealership,
                customer_id=customer_id,
                visit_id=latest.pk,
                nonce=f"{MARK}-{secrets.token_hex(6)}",
                sent_at=sent,
                expires_at=sent + timedelta(days=14),
                answered_at=sent + timedelta(hours=5),
                satisfaction=4 + number % 2,
                nps=8 + number % 3,
                comment="",
            )
        )
        if number % 5 == 0:
            complaints.append(
                Complaint(
                    dealership=dealership,
                    customer_id=customer_id,
                    visit_id=latest.pk,
                    source="counter",
                    status="open",
                    summary=f"[{MARK}] 等待时间太长",
                    opened_at=now - timedelta(hours=3),
                    response_due_at=now + timedelta(hours=21),
                    resolution_due_at=now + timedelta(days=9),
                )
            )
    followups_cleanup()
    Touch.objects.bulk_create(touches, batch_size=2000, ignore_conflicts=True)
    Survey.objects.bulk_create(surveys, batch_size=2000, ignore_conflicts=True)
    Complaint.objects.bulk_create(complaints, batch_size=2000)
    return {"touches": len(touches), "surveys": len(surveys), "complaints": len(complaints)}


def followups_cleanup() -> None:
    try:
        from followups.models import Complaint, Survey, Touch
    except ImportError:
        return
    from django.db import connection

    with connection.cursor() as cursor:
        table = Complaint._meta.db_table
        cursor.execute(f"DELETE FROM {table} WHERE summary LIKE %s", [f"[{MARK}]%"])
        cursor.execute(f"DELETE FROM {Survey._meta.db_table} WHERE nonce LIKE %s", [f"{MARK}-%"])
        cursor.execute(f"DELETE FROM {Touch._meta.db_table} WHERE notes = %s", [MARK])


def queries_per_page(user, customer_ids: list[int]) -> list[int]:
    """The queries of a few pages, through Django's test client in this process (the local settings)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    counts = []
    for pk in customer_ids[:5]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/customers/{pk}/")
        if response.status_code != 200:
            raise RuntimeError(f"/customers/{pk}/ answered {response.status_code} in process")
        counts.append(len(captured))
    client.logout()
    return counts


class Browser:
    """One advisor's browser: a cookie jar over ``http.client``, a new connection per request (gunicorn's sync
    workers close each one)."""

    def __init__(self, port: int):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        headers = {"Host": f"127.0.0.1:{self.port}", "X-Forwarded-Proto": "https", "Accept-Language": "zh-hans"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + path
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            content = response.read()
        finally:
            connection.close()
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        return response.status, content

    def login(self, username: str, password: str) -> None:
        status, page = self.request("GET", "/accounts/login/")
        match = CSRF_FIELD.search(page)
        if status != 200 or not match:
            raise RuntimeError(f"GET /accounts/login/ answered {status}")
        form = {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1).decode()}
        status, _body = self.request("POST", "/accounts/login/", form)
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"logging in as {username} answered {status}")


def load(browsers: list[Browser], customer_ids: list[int], seconds: float, seed: int) -> dict:
    """Each browser in its own thread opens random customers' pages for ``seconds``."""
    times: list[float] = []
    bad = [0]
    lock = threading.Lock()
    end = time.perf_counter() + seconds

    def run(browser: Browser, rng: random.Random):
        mine, failed = [], 0
        while time.perf_counter() < end:
            path = f"/customers/{rng.choice(customer_ids)}/"
            began = time.perf_counter()
            try:
                status, _body = browser.request("GET", path)
                failed += status != 200
            except (OSError, http.client.HTTPException):
                failed += 1
            mine.append((time.perf_counter() - began) * 1000)
        with lock:
            times.extend(mine)
            bad[0] += failed

    threads = [
        threading.Thread(target=run, args=(browser, random.Random(seed * 100 + i)))
        for i, browser in enumerate(browsers)
    ]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    span = time.perf_counter() - began
    return {
        "rps": len(times) / span,
        "requests": len(times),
        "bad": bad[0],
        **{f"p{q}": percentile(times, q) for q in (50, 95, 99)},
        "max": max(times, default=float("nan")),
    }


def workers_cpu(server) -> float:
    """CPU seconds (user + system) used so far by gunicorn's workers (Linux ``/proc``; 0 elsewhere)."""
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        return 0.0
    ticks = 0
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def server_times(log: Path) -> list[float]:
    times = []
    for line in log.read_text(errors="replace").splitlines():
        match = re.fullmatch(r"GET (\S+) (\d+) (\d+)", line.strip())
        if match and PAGE.fullmatch(match.group(1)):
            times.append(int(match.group(3)) / 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=15, help="of each round")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=500, help="customers with visits drawn at random")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--customers", type=int, default=100_000, help="seed the DEMO store when it has fewer")
    parser.add_argument("--no-followups", action="store_true", help="do not give the sample touches, surveys…")
    options = parser.parse_args()
    if not is_postgres():
        print("bench_customer360: set DATABASE_URL=postgres://… (the seeded data set); skipped.")
        return
    ensure_data_set(options.customers)
    from django.db import connection

    from dealercrm.core.models import Dealership

    dealership = Dealership.objects.get(code="DEMO")
    folder = Path(tempfile.mkdtemp(prefix="bench-customer360-"))
    server = None
    browsers: list[Browser] = []
    password = secrets.token_urlsafe(16)
    try:
        customer_ids = sample_customers(dealership, options.sample, options.seed)
        user = user_create(dealership, password)
        made = {} if options.no_followups else followups_create(dealership, customer_ids)
        queries = queries_per_page(user, customer_ids)
        connection.close()
        port = free_port()
        server = start_gunicorn(
            port=port, folder=folder, workers=options.workers, timeout=60, access_format=ACCESS_FORMAT
        )
        browsers = [Browser(port) for _ in range(options.connections)]
        for browser in browsers:
            browser.login(USERNAME, password)
        status, _page = browsers[0].request("GET", f"/customers/{customer_ids[0]}/")
        if status != 200:
            raise RuntimeError(f"/customers/{customer_ids[0]}/ answered {status}")
        load(browsers, customer_ids, options.warmup, options.seed)
        (folder / "access.log").write_text("")
        load_before = os.getloadavg()
        rounds = []
        for r in range(options.rounds):
            cpu = workers_cpu(server)
            figures = load(browsers, customer_ids, options.seconds, options.seed + r)
            figures["cpu_ms"] = (workers_cpu(server) - cpu) * 1000 / max(figures["requests"], 1)
            rounds.append(figures)
        load_after = os.getloadavg()
        stop(server)
        server = None
        served = server_times(folder / "access.log")
    except Exception:
        log = folder / "error.log"
        if log.exists():
            print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        stop(server)
        followups_cleanup()
        cleanup_user([b.cookies["sessionid"] for b in browsers if "sessionid" in b.cookies])
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"GET /customers/<id>/ (the 360 page) of {len(customer_ids)} random customers with visits, session of an "
        f"advisor, gunicorn {options.workers} sync workers, production settings; {options.connections} "
        f"connections (Python threads), {options.rounds} rounds of {options.seconds} s after {options.warmup} s"
    )
    if made:
        print("follow-up records given to the sample: " + ", ".join(f"{n:,} {what}" for what, n in made.items()))
    print(f"queries per page (in process, 5 customers): {queries}")
    print(f"load average (1 min) before: {load_before[0]:.2f}, after: {load_after[0]:.2f} (2 cores, shared)")
    for number, figures in enumerate(rounds, 1):
        print(
            f"round {number}: {figures['rps']:7.1f} req/s  p50 {figures['p50']:6.1f}  p95 {figures['p95']:6.1f}  "
            f"p99 {figures['p99']:6.1f}  max {figures['max']:6.1f} ms  ({figures['requests']:,} requests, "
            f"{figures['bad']} not 200; workers' CPU {figures['cpu_ms']:.1f} ms a request)"
        )
    if served:
        print(
            f"server time (gunicorn's access log): median {statistics.median(served):.1f} ms, "
            f"p95 {percentile(served, 95):.1f} ms"
        )
    p95 = max(figures["p95"] for figures in rounds)
    bad = sum(figures["bad"] for figures in rounds)
    met = p95 <= TARGET_P95_MS and not bad
    print(
        f"p95 at most {p95:.1f} ms, {bad} answers not 200 (target p95 ≤ {TARGET_P95_MS} ms: "
        f"{'met' if met else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
