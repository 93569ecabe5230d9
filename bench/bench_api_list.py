"""Benchmark of the customer list endpoint against a plain DRF view of the same table, side by side.

Run it from the project root (PostgreSQL; the ``seed_demo --customers 100000`` data set, which it seeds with
``bench/bench_seed.py`` when the DEMO store has fewer customers)::

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench make bench BENCH=bench/bench_api_list.py
    # options: --rounds 3 --seconds 10 --warmup 3 --connections 8 --workers 2

It starts gunicorn (two sync workers) with the production settings (``bench/_settings.py``: DEBUG off,
persistent connections, Redis cache when ``REDIS_URL`` is set) and the benchmark's URLconf
(``bench/_urls.py``): the project's URLs plus ``/bench/plain-customers/``, a plain DRF view with the same
authentication, permission, throttling and dealership resolution that answers the 50 newest customers as
``values()`` dictionaries. The user is an advisor of the DEMO store (``bench.api``) with an API token made as
the project makes them; the throttle's rate is raised (``API_USER_THROTTLE_RATE``, per second so that its
history stays as short as a real client's) so that no request is refused; it still runs on every request.

``wrk`` (``--connections`` connections, 2 threads; ``Authorization: Token …`` and ``X-Forwarded-Proto:
https`` as behind the TLS proxy) then loads, in turn, ``GET /api/v1/customers/`` (the first page of 50) and
the plain view, ``--seconds`` each, for ``--rounds`` rounds after ``--warmup`` seconds of each; without
``wrk`` a Python loop of as many threads (``http.client``) stands in. Printed per round and in all: requests/s,
p50/p95/p99 latency (as the client saw them), non-2xx answers, the workers' CPU time per request (from
``/proc``: less sensitive than the rates to other work on the machine), the ratio of the list's rate to the
plain view's, and the median server time of each from gunicorn's access log. ``--floor`` adds a third
endpoint, ``/bench/floor/``: the same authentication, permission, throttling and dealership, answering ``[]``
without a query of its own, the cost every API request pays before it reads anything.

Target (issue): the list reaches at least 0.5× the plain view's rate with p95 ≤ 50 ms. Gunicorn, the user
and its token, and the temporary folder are removed at the end.
"""

import argparse
import http.client
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _server import free_port, percentile, start_gunicorn, stop  # noqa: E402

TARGET_RATIO = 0.5
TARGET_P95_MS = 50
USERNAME = "bench.api"
ENDPOINTS = {"list": "/api/v1/customers/", "plain": "/bench/plain-customers/"}
FLOOR = {"floor": "/bench/floor/"}
BARE = {"bare": "/bench/bare-customers/"}
ACCESS_FORMAT = "%(m)s %(U)s %(s)s %(D)s"
#: wrk's report, as JSON on the last line (latency in microseconds)
WRK_SCRIPT = """
wrk.headers["Authorization"] = "Token %(token)s"
wrk.headers["X-Forwarded-Proto"] = "https"
wrk.headers["Accept"] = "application/json"
done = function(summary, latency, requests)
  io.write(string.format('\\n{"requests": %%d, "seconds": %%.6f, "non2xx": %%d, "errors": %%d, '
    .. '"p50": %%d, "p95": %%d, "p99": %%d, "max": %%d}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
"""


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
        subprocess.run(seed, cwd=ROOT, env=env, check=True, timeout=600)  # noqa: S603


def user_create():
    """An advisor of the DEMO store and an API token for them, made as the project makes tokens."""
    from dealercrm.core.models import Dealership, Membership, User
    from dealercrm.core.roles import Role

    cleanup()
    user = User.objects.create(username=USERNAME, role=Role.ADVISOR, display_name="压测接口")
    user.set_unusable_password()
    user.save()
    Membership.objects.create(user=user, dealership=Dealership.objects.get(code="DEMO"))
    # the hashed, named tokens of the administration pages (django-rest-knox), as a REST client gets one
    from dealercrm.core.staff.services import token_issue_for_login

    _token, key = token_issue_for_login(user=user, name="bench_api_list")
    return user, key


def cleanup() -> None:
    """Delete the benchmark's user (its membership and tokens go with it), and the history rows of all three."""
    from django.apps import apps
    from django.conf import settings

    from dealercrm.core.models import Membership, User

    User.objects.filter(username=USERNAME).delete()
    if not hasattr(User, "history"):
        return
    ids = list(User.history.filter(username=USERNAME).values_list("id", flat=True).distinct())
    token_model = apps.get_model(getattr(settings, "KNOX_TOKEN_MODEL", "knox.AuthToken"))
    for model in (Membership, token_model):
        if hasattr(model, "history"):
            model.history.filter(user_id__in=ids).delete()
    User.history.filter(username=USERNAME).delete()


def workers_cpu(server: subprocess.Popen) -> float:
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


def get(port: int, path: str, token: str) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Authorization": f"Token {token}", "X-Forwarded-Proto": "https", "Accept": "application/json"}
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def check(port: int, token: str) -> None:
    """Both answer 200 with 50 customers before any load."""
    for name, path in ENDPOINTS.items():
        status, body = get(port, path, token)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {body[:300]!r}")
        data = json.loads(body)
        rows = data["results"] if name == "list" else data
        if len(rows) != 50:
            raise RuntimeError(f"GET {path} answered {len(rows)} customers, not 50")


def load_wrk(port: int, path: str, token: str, seconds: int, connections: int, script: Path) -> dict:
    script.write_text(WRK_SCRIPT % {"token": token})
    command = ["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", "--timeout", "10s"]
    command += ["-s", str(script), f"http://127.0.0.1:{port}{path}"]
    output = subprocess.run(command, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout  # noqa: S603
    report = json.loads(output.strip().splitlines()[-1])
    return {
        "rps": report["requests"] / report["seconds"],
        "requests": report["requests"],
        "bad": report["non2xx"] + report["errors"],
        **{q: report[q] / 1000 for q in ("p50", "p95", "p99", "max")},
    }


def load_python(port: int, path: str, token: str, seconds: int, connections: int, _script: Path) -> dict:
    """The stand-in for wrk: ``connections`` threads, each sending its next request when the last is answered."""
    times: list[float] = []
    bad = [0]
    lock = threading.Lock()
    end = time.perf_counter() + seconds

    def run():
        mine, failed = [], 0
        while time.perf_counter() < end:
            began = time.perf_counter()
            try:
                status, _body = get(port, path, token)
                failed += status != 200
            except (OSError, http.client.HTTPException):
                failed += 1
            mine.append((time.perf_counter() - began) * 1000)
        with lock:
            times.extend(mine)
            bad[0] += failed

    threads = [threading.Thread(target=run) for _ in range(connections)]
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


def server_times(log: Path, endpoints: dict) -> dict[str, list[float]]:
    """Milliseconds gunicorn spent on each request of the endpoints, in the order logged."""
    times = {name: [] for name in endpoints}
    paths = {path: name for name, path in endpoints.items()}
    for line in log.read_text(errors="replace").splitlines():
        match = re.fullmatch(r"GET (\S+) (\d+) (\d+)", line.strip())
        if match and match.group(1) in paths:
            times[paths[match.group(1)]].append(int(match.group(3)) / 1000)
    return times


def line(label: str, figures: dict) -> str:
    return (
        f"  {label:<24} {figures['rps']:8.1f} req/s  p50 {figures['p50']:6.1f}  p95 {figures['p95']:6.1f}  "
        f"p99 {figures['p99']:6.1f}  max {figures['max']:6.1f} ms  ({figures['requests']:,} requests, "
        f"{figures['bad']} not 200; workers' CPU {figures['cpu_ms']:.1f} ms a request)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10, help="of each endpoint in each round")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of each endpoint before the rounds")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--customers", type=int, default=100_000, help="seed the DEMO store when it has fewer")
    parser.add_argument("--python-load", action="store_true", help="use the Python load loop even if wrk is there")
    parser.add_argument(
        "--floor",
        action="store_true",
        help="also load /bench/floor/ (authentication, permission, throttling, dealership; no query of its own)",
    )
    parser.add_argument(
        "--bare",
        action="store_true",
        help="also load /bench/bare-customers/ (the plain view without authentication, permission or throttling)",
    )
    options = parser.parse_args()
    if not is_postgres():
        print("bench_api_list: set DATABASE_URL=postgres://… (the seeded data set); skipped.")
        return
    ensure_data_set(options.customers)
    from django.db import connection

    load = load_python if options.python_load or not shutil.which("wrk") else load_wrk
    tool = "Python threads (http.client)" if load is load_python else "wrk, 2 threads"
    folder = Path(tempfile.mkdtemp(prefix="bench-api-list-"))
    server = None
    try:
        _user, token = user_create()
        connection.close()
        port = free_port()
        server = start_gunicorn(
            port=port,
            folder=folder,
            workers=options.workers,
            timeout=60,
            access_format=ACCESS_FORMAT,
            env={"BENCH_ROOT_URLCONF": "bench._urls", "API_USER_THROTTLE_RATE": "1000000/second"},
        )
        check(port, token)
        script = folder / "report.lua"
        endpoints = {**ENDPOINTS, **(FLOOR if options.floor else {}), **(BARE if options.bare else {})}
        for path in endpoints.values():
            load(port, path, token, options.warmup, options.connections, script)
        (folder / "access.log").write_text("")  # gunicorn appends: only the measured requests from here on
        load_before = os.getloadavg()
        rounds = []
        for _ in range(options.rounds):
            figures = {}
            for name, path in endpoints.items():
                cpu = workers_cpu(server)
                figures[name] = load(port, path, token, options.seconds, options.connections, script)
                figures[name]["cpu_ms"] = (workers_cpu(server) - cpu) * 1000 / max(figures[name]["requests"], 1)
            rounds.append(figures)
        load_after = os.getloadavg()
        stop(server)
        server = None
        served = server_times(folder / "access.log", endpoints)
    except Exception:
        log = folder / "error.log"
        if log.exists():
            print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        stop(server)
        cleanup()
        shutil.rmtree(folder, ignore_errors=True)

    print(
        f"GET /api/v1/customers/ (page of 50) against {ENDPOINTS['plain']} (50 values() dicts), token auth, "
        f"gunicorn {options.workers} sync workers, production settings; {tool}, {options.connections} connections, "
        f"{options.rounds} rounds of {options.seconds} s each after {options.warmup} s of warm-up"
    )
    print(f"load average (1 min) before: {load_before[0]:.2f}, after: {load_after[0]:.2f} (2 cores, shared)")
    ratios = []
    for number, figures in enumerate(rounds, 1):
        ratio = figures["list"]["rps"] / figures["plain"]["rps"]
        ratios.append(ratio)
        print(f"round {number}: ratio {ratio:.2f}")
        print(line("customer list", figures["list"]))
        print(line("plain view", figures["plain"]))
        if "floor" in figures:
            print(line("floor (no query)", figures["floor"]))
        if "bare" in figures:
            print(
                line("bare plain view", figures["bare"])
                + f"  list / bare {figures['list']['rps'] / figures['bare']['rps']:.2f}"
            )
    print(
        "server time (gunicorn's access log), median: "
        + ", ".join(f"{name} {statistics.median(values):.1f} ms" for name, values in served.items() if values)
    )
    cpu = {name: statistics.median(figures[name]["cpu_ms"] for figures in rounds) for name in rounds[0]}
    if cpu["list"]:
        print(
            f"workers' CPU per request, median: list {cpu['list']:.2f} ms, plain {cpu['plain']:.2f} ms "
            f"(plain / list = {cpu['plain'] / cpu['list']:.2f}: the ratio the rates tend to when the workers are the "
            "bottleneck)" + (f"; floor {cpu['floor']:.2f} ms" if "floor" in cpu else "")
        )
    p95 = max(figures["list"]["p95"] for figures in rounds)
    bad = sum(figures[name]["bad"] for figures in rounds for name in ENDPOINTS)
    met = min(ratios) >= TARGET_RATIO and p95 <= TARGET_P95_MS and not bad
    print(
        f"ratio {min(ratios):.2f} … {max(ratios):.2f} (median {statistics.median(ratios):.2f}), list p95 at most "
        f"{p95:.1f} ms, {bad} answers not 200 (target ratio ≥ {TARGET_RATIO} and p95 ≤ {TARGET_P95_MS} ms: "
        f"{'met' if met else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
