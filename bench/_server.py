"""What the load benchmarks share: a free port, gunicorn with production settings, and percentiles."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0 … 100) of ``values``."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def start_gunicorn(
    *, port: int, folder: Path, workers: int, timeout: int, access_format: str, env: dict | None = None
) -> subprocess.Popen:
    """gunicorn serving the app under ``bench._settings`` (production settings) on ``port``; its access log
    (``access_format``) and error log in ``folder``. Returns once it answers."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "bench._settings",
        "BENCH_STATIC_ROOT": str(folder / "static"),
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DJANGO_LOG_LEVEL": "WARNING",
        **(env or {}),
    }
    subprocess.run([sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "dealercrm.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers), "--timeout", str(timeout)]
    command += ["--access-logfile", str(folder / "access.log"), "--access-logformat", access_format]
    command += ["--error-logfile", str(folder / "error.log")]
    server = subprocess.Popen(command, cwd=ROOT, env=env)  # noqa: S603 - the venv's gunicorn
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited: " + (folder / "error.log").read_text()[-2000:])
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return server
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not answer within 60 s")


def stop(server: subprocess.Popen | None) -> None:
    if server is None or server.poll() is not None:
        return
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def remove_user(username: str, session_keys=()) -> None:
    """A benchmark's user, its memberships, its sessions (``session_keys``) and their history rows: gone, as if
    the benchmark never ran (Django must be set up)."""
    from django.contrib.sessions.models import Session

    from dealercrm.core.models import Membership, User

    Session.objects.filter(session_key__in=list(session_keys)).delete()
    User.objects.filter(username=username).delete()
    if hasattr(User, "history"):
        ids = list(User.history.filter(username=username).values_list("id", flat=True).distinct())
        if hasattr(Membership, "history"):
            Membership.history.filter(user_id__in=ids).delete()
        User.history.filter(username=username).delete()
