"""Benchmark of the agent's workbench under load: ten agents making 50 round trips a second together.

Run it from the project root (PostgreSQL; the segmented ``seed_demo --customers 100000`` data set, see
``bench/bench_invitations.py``)::

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench make bench BENCH=bench/bench_workbench.py
    # options: --agents 10 --rate 5 (round trips per agent per second) --seconds 60 --warmup 5 --workers 3

It creates ten agents and a running campaign of about 50,000 invitations assigned to them (the groups of
``bench/_campaigns.py``, with a coupon offer; the table is analysed afterwards, as autovacuum would), and
follow-up call tasks in their one queue (issue 11: ``--followups-due`` per agent due now, day-7 follow-ups and
satisfaction calls, which come before the invitations by priority, and ``--followups-later`` per agent due in
the next days; one ``INSERT … SELECT``, ``bench/_campaigns.py``), then
starts gunicorn as the Dockerfile does (three sync workers) with the production settings
(``bench/_settings.py``: DEBUG off, persistent connections, static files collected into a temporary
folder), and an access log that records each request's server time.

From this process, each of ten threads logs in as its agent (the login page's CSRF cookie, then the session
cookie and the rotated CSRF token) and paces itself to ``--rate`` round trips a second, as a proxy that
terminates TLS would send them (``X-Forwarded-Proto: https``, ``Origin``). A round trip is, as the
workbench makes it (``--flow post``, the default), one ``POST /calls/<id>/outcome/`` (an invitation) or
``POST /calls/touches/<id>/outcome/`` (a follow-up call) that records the outcome and answers with the next
customer (the agent's first customer comes from ``GET /calls/next/``);
with ``--flow get+post``, ``GET /calls/next/`` and then the POST, every time. The invitation id is read from
the partial's ``data-invitation-id`` or ``data-touch-id`` (else from the form's action); the POST carries
``HX-Request: true``, the CSRF token and the form fields ``outcome`` (an invitation's: no answer, busy, wrong
number, declined, call back, accepted; a follow-up call's: reached, no answer, busy, wrong number, declined,
call back; drawn at random), ``reason`` (with declined), ``appointment_date``, ``call_back_at``, ``time_slot``
and ``note``. Each round trip is timed from
the first byte sent to the last byte received; the first ``--warmup`` seconds are not counted. Besides
the round trips, each agent asks for today's counts as the page does (``GET /calls/counts/`` after recorded
calls, at most every ``COUNTS_EVERY_S``, and every ``COUNTS_POLL_S``): that load is on the server too, but
those requests are reported on their own line, not in the round trip.

It prints the achieved rate, the latency percentiles of the round trip and of each request (as the client
saw them, and as gunicorn's access log timed them), the errors, and checks that every call recorded by a
200 answer is in the database. Target (issue): round trip p95 ≤ 100 ms at 50 round trips a second.
Everything is stopped and deleted at the end: gunicorn, the campaign with its calls, appointments and
coupons, the follow-up call tasks with their calls, the agents and their sessions, the temporary folder.
"""

import argparse
import http.client
import json
import os
import random
import re
import secrets
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent))

import _campaigns as common
from _server import free_port, percentile, start_gunicorn, stop

TARGET_P95_MS = 100
#: how often each outcome is recorded (a call centre's usual mix)
#: the page asks for today's counts after recorded calls at most this often (static/js/workbench.js) …
COUNTS_EVERY_S = 3
#: … and every minute (templates/campaigns/workbench/page.html)
COUNTS_POLL_S = 60
OUTCOMES = {
    "no_answer": 35,
    "busy": 10,
    "wrong_number": 3,
    "declined": 22,
    "call_back": 10,
    "accepted": 20,
}
#: a follow-up call's outcomes (followups.calls): no complaints here (a complaint starts its own work)
FOLLOWUP_OUTCOMES = {
    "done": 45,
    "no_answer": 25,
    "busy": 8,
    "wrong_number": 2,
    "declined": 10,
    "call_back": 10,
}
DECLINE_REASONS = ["not_needed", "price", "time", "elsewhere", "sold", "moved", "unhappy", "other"]
CARD_ID = re.compile(rb'id="call-card"[^>]*data-(invitation|touch)-id="(\d+)"')
OUTCOME_ACTION = re.compile(rb'action="/calls/((?:touches/)?)(\d+)/outcome/"')
CSRF_FIELD = re.compile(rb'name="csrfmiddlewaretoken" value="([^"]+)"')
ACCESS_FORMAT = "%(t)s %(m)s %(U)s %(s)s %(D)s"


class Client:
    """One agent's browser: a cookie jar over ``http.client`` (gunicorn's sync workers close every connection,
    so each request opens a new one, as a proxy in front of them would)."""

    def __init__(self, port: int):
        self.port = port
        self.origin = f"https://127.0.0.1:{port}"
        self.cookies: dict[str, str] = {}
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None):
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "X-Forwarded-Proto": "https",
            "Accept-Language": "zh-hans",
            **(headers or {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = self.origin + path
        try:
            self.connection.request(method, path, body=data, headers=headers)
            response = self.connection.getresponse()
            content = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()
            raise
        for header in response.headers.get_all("Set-Cookie") or []:
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if response.will_close:
            self.connection.close()
        return response.status, content

    def login(self, username: str, password: str) -> None:
        status, page = self.request("GET", "/accounts/login/")
        match = CSRF_FIELD.search(page)
        if status != 200 or not match:
            raise RuntimeError(f"GET /accounts/login/ answered {status}")
        status, _body = self.request(
            "POST",
            "/accounts/login/",
            {"username": username, "password": password, "csrfmiddlewaretoken": match.group(1).decode()},
        )
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"logging in as {username} answered {status}")

    def htmx(self, method: str, path: str, body: dict | None = None):
        headers = {"HX-Request": "true", "HX-Current-URL": f"{self.origin}/calls/"}
        if method == "POST":
            headers["X-CSRFToken"] = self.cookies["csrftoken"]
        return self.request(method, path, body, headers)


def head(page: bytes) -> tuple[str, int] | None:
    """What the card shows: ("invitation", id) or ("touch", id), or None for nobody to call."""
    match = CARD_ID.search(page)
    if match:
        return match.group(1).decode(), int(match.group(2))
    match = OUTCOME_ACTION.search(page)
    if match:
        return ("touch" if match.group(1) else "invitation"), int(match.group(2))
    return None


def outcome_path(card: tuple[str, int]) -> str:
    source, pk = card
    return f"/calls/touches/{pk}/outcome/" if source == "touch" else f"/calls/{pk}/outcome/"


def outcome_fields(rng: random.Random, zone: ZoneInfo, source: str = "invitation") -> dict:
    now = datetime.now(zone)
    weights = FOLLOWUP_OUTCOMES if source == "touch" else OUTCOMES
    outcome = rng.choices(list(weights), weights=list(weights.values()))[0]
    extra = {"reason": rng.choice(DECLINE_REASONS)} if outcome == "declined" else {}
    return {
        **extra,
        "outcome": outcome,
        "appointment_date": (now + timedelta(days=1)).date().isoformat(),
        "call_back_at": (now + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "time_slot": rng.choice(["09:00", "10:30", "14:00", "15:30", ""]),
        "note": rng.choice(["", "", "", "客户在开会，下午再打", "已发短信提醒"]),
    }


def agent_loop(index: int, client: Client, options, zone: ZoneInfo, start: float, results: list, lock) -> None:
    """Round trips at ``options.rate`` a second from ``start`` (staggered by agent) until the end."""
    rng = random.Random(index)
    interval = 1 / options.rate
    end = start + options.warmup + options.seconds
    scheduled = start + index * interval / options.agents
    pk = None  # flow "post": the customer the previous answer showed
    changed, counts_at, polled_at = False, start, start  # the page loaded with today's counts
    while scheduled < end:
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        began = time.perf_counter()
        if began >= end:
            break
        row = {"at": began - start, "late": began - scheduled, "error": None, "posted": False}
        if began - scheduled > interval:  # more than a round trip behind: drop the backlog
            scheduled = began
        try:
            if options.flow == "post" and pk is not None:
                status, row["get_ms"] = 200, 0.0  # the last answer already showed the next customer
            else:
                status, page = client.htmx("GET", "/calls/next/")
                row["get_ms"] = (time.perf_counter() - began) * 1000
                pk = head(page) if status == 200 else None
            if status != 200:
                row["error"] = f"GET next {status}"
            elif pk is None:
                row["error"] = "nobody to call"
            else:
                posted = time.perf_counter()
                row["source"] = pk[0]
                status, page = client.htmx("POST", outcome_path(pk), outcome_fields(rng, zone, pk[0]))
                row["post_ms"] = (time.perf_counter() - posted) * 1000
                row["posted"] = status == 200
                pk = head(page) if status == 200 else None
                if status != 200:
                    row["error"] = f"POST outcome {status}"
        except (OSError, http.client.HTTPException) as exc:
            row["error"] = type(exc).__name__
        row["ms"] = (time.perf_counter() - began) * 1000
        # what the page does besides (static/js/workbench.js): today's counts after recorded calls, at most
        # every COUNTS_EVERY_S, and every COUNTS_POLL_S; not part of the round trip, but part of the load
        changed = changed or row["posted"]
        since = time.perf_counter()
        if (changed and since - counts_at >= COUNTS_EVERY_S) or since - polled_at >= COUNTS_POLL_S:
            counts_at = polled_at = since
            changed = False
            try:
                status, _page = client.htmx("GET", "/calls/counts/")
                row["counts_ms"] = (time.perf_counter() - since) * 1000
                if status != 200:
                    row["error"] = row["error"] or f"GET counts {status}"
            except (OSError, http.client.HTTPException) as exc:
                row["error"] = row["error"] or type(exc).__name__
        with lock:
            results.append(row)
        scheduled += interval


def server_times(log: Path, since: datetime) -> dict[str, list[float]]:
    """Milliseconds gunicorn spent on each workbench request logged from ``since`` on, by endpoint."""
    times: dict[str, list[float]] = {
        "GET /calls/next/": [],
        "POST /calls/<id>/outcome/": [],
        "POST /calls/touches/<id>/outcome/": [],
        "GET /calls/counts/": [],
    }
    for line in log.read_text(errors="replace").splitlines():
        match = re.match(r"\[([^\]]+)\] (\S+) (\S+) (\d+) (\d+)", line)
        if not match:
            continue
        stamp, method, path, _status, micros = match.groups()
        if datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z") < since:
            continue
        if method == "GET" and path in ("/calls/next/", "/calls/counts/"):
            times[f"GET {path}"].append(int(micros) / 1000)
        elif method == "POST" and re.fullmatch(r"/calls/\d+/outcome/", path):
            times["POST /calls/<id>/outcome/"].append(int(micros) / 1000)
        elif method == "POST" and re.fullmatch(r"/calls/touches/\d+/outcome/", path):
            times["POST /calls/touches/<id>/outcome/"].append(int(micros) / 1000)
    return times


def prepare(options, password: str):
    """The agents and the running campaign with its list (in this process, before the load)."""
    from django.db import connection

    from campaigns import services

    dealership = common.demo_store()
    common.cleanup(dealership)
    agents = common.agents_create(dealership, n=options.agents, password=password)
    campaign = common.campaign_create(dealership, "WORKBENCH", offers=True)
    common.campaign_run(campaign)
    generated = services.invitation_list_generate(campaign=campaign, agents=agents)
    with connection.cursor() as cursor:  # what autovacuum does after such an insert (it may be off here)
        cursor.execute("ANALYZE campaigns_invitation")
    generated.update(
        common.followup_calls_create(
            dealership, agents, campaign=campaign, due=options.followups_due, later=options.followups_later
        )
    )
    return dealership, agents, campaign, generated


def report(options, results: list, server: dict, recorded: int, generated: dict, load: tuple) -> bool:
    counted = [r for r in results if options.warmup <= r["at"] < options.warmup + options.seconds]
    ok = [r for r in counted if r["error"] is None]
    errors = Counter(r["error"] for r in counted if r["error"])
    span = options.seconds
    trips = [r["ms"] for r in ok]
    gets = [r["get_ms"] for r in ok if r["get_ms"]]
    counts = [r["counts_ms"] for r in counted if "counts_ms" in r]
    print(
        f"flow {options.flow}: {options.agents} agents × {options.rate:g} round trips/s for {options.seconds} s "
        f"(after {options.warmup} s of warm-up), gunicorn {options.workers} sync workers, production settings; "
        f"{generated['added']:,} invitations, {generated['assigned']:,} assigned; "
        f"{generated.get('follow-up calls', 0):,} follow-up call tasks, {generated.get('due now', 0):,} due now"
    )
    print(f"load average before: {load[0]:.2f}")
    print(
        f"round trips: {len(counted):,} started, {len(ok):,} without error, achieved "
        f"{len(ok) / span:.1f}/s (target {options.agents * options.rate:g}/s); "
        f"started late by more than 50 ms: {sum(r['late'] > 0.05 for r in counted)}"
    )

    def line(name, values):
        if not values:
            return
        print(
            f"  {name:<28} p50 {percentile(values, 50):6.1f}  p95 {percentile(values, 95):6.1f}  "
            f"p99 {percentile(values, 99):6.1f}  max {max(values, default=float('nan')):6.1f} ms"
        )

    print("as the client saw them:")
    line("round trip (POST)" if options.flow == "post" else "round trip (GET + POST)", trips)
    line("GET /calls/next/", gets)
    line("POST /calls/<id>/outcome/", [r["post_ms"] for r in ok if r.get("source") == "invitation"])
    line("POST /calls/touches/<id>/outcome/", [r["post_ms"] for r in ok if r.get("source") == "touch"])
    line("GET /calls/counts/ (besides)", counts)
    print("as gunicorn timed them (access log):")
    for name, values in server.items():
        line(name, values)
    print(f"errors: {dict(errors) or 'none'}")
    posted = sum(r["posted"] for r in results)
    followups = sum(r["posted"] and r.get("source") == "touch" for r in results)
    print(
        f"calls answered 200: {posted:,} (follow-up calls {followups:,}); calls in the database: {recorded:,} "
        "(campaign and follow-up)"
    )
    p95 = percentile(trips, 95)
    met = p95 <= TARGET_P95_MS and not errors and len(ok) >= 0.95 * options.agents * options.rate * span
    print(
        f"round trip p95 = {p95:.1f} ms at {len(ok) / span:.1f} round trips/s "
        f"(target ≤ {TARGET_P95_MS} ms at {options.agents * options.rate:g}/s: {'met' if met else 'NOT met'})"
    )
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=common.AGENTS)
    parser.add_argument("--rate", type=float, default=5, help="round trips per agent per second")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--followups-due", type=int, default=100, help="follow-up calls per agent due now")
    parser.add_argument("--followups-later", type=int, default=1000, help="follow-up calls per agent due later")
    parser.add_argument(
        "--flow",
        choices=["post", "get+post"],
        default="post",
        help="post: the workbench's own round trip, one POST that records the outcome and answers with the next "
        "customer (a GET only when an agent starts); get+post: GET /calls/next/ then the POST, every time",
    )
    options = parser.parse_args()
    if not common.is_postgres():
        print("bench_workbench: set DATABASE_URL=postgres://… (the seeded, segmented data set); skipped.")
        return
    common.migrate()
    common.setup()
    from django.db import connection
    from django.db.models import Q

    from campaigns.models import CallAttempt
    from customers.models import Customer
    from followups.models import Touch, TouchAttempt

    folder = Path(tempfile.mkdtemp(prefix="bench-workbench-"))
    password = secrets.token_urlsafe(16)
    server = None
    dealership = None
    updated_at: dict = {}
    clients: list[Client] = []
    try:
        dealership, agents, campaign, generated = prepare(options, password)
        called = Customer.objects.filter(
            Q(invitations__campaign=campaign)
            | Q(pk__in=Touch.objects.filter(dealership=dealership, occasion=common.FOLLOWUP_MARK).values("customer_id"))
        )
        updated_at = dict(called.values_list("pk", "updated_at"))  # a wrong number sets it: put back after
        zone = ZoneInfo(dealership.time_zone or "Asia/Shanghai")
        connection.close()
        port = free_port()
        server = start_gunicorn(
            port=port, folder=folder, workers=options.workers, timeout=120, access_format=ACCESS_FORMAT
        )
        for agent in agents:
            client = Client(port)
            client.login(agent.username, password)
            clients.append(client)
        status, page = clients[0].htmx("GET", "/calls/next/")
        if status != 200 or head(page) is None:
            raise RuntimeError(f"GET /calls/next/ answered {status} without a customer: is the workbench there?")
        results: list[dict] = []
        lock = threading.Lock()
        load = os.getloadavg()
        start = time.perf_counter() + 0.5
        measured_from = datetime.now().astimezone() + timedelta(seconds=0.5 + options.warmup)
        threads = [
            threading.Thread(target=agent_loop, args=(i, c, options, zone, start, results, lock))
            for i, c in enumerate(clients)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        stop(server)
        server = None
        recorded = CallAttempt.objects.filter(invitation__campaign=campaign).count()
        recorded += TouchAttempt.objects.filter(
            touch__dealership=dealership, touch__occasion=common.FOLLOWUP_MARK
        ).count()
        times = server_times(folder / "access.log", measured_from.replace(microsecond=0))
        report(options, results, times, recorded, generated, load)
    except Exception:
        log = folder / "error.log"
        if log.exists():
            print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        stop(server)
        if dealership is not None:
            keys = [c.cookies["sessionid"] for c in clients if "sessionid" in c.cookies]
            removed = common.cleanup(dealership, session_keys=keys, updated_at=updated_at)
            print("cleaned up: " + json.dumps(removed, ensure_ascii=False))
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
