"""Helpers of the dispatcher's tests: due touches built by hand, a loopback HTTP provider, the store's clock."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from followups.models import Priority, Touch, TouchClass
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

_occasions = itertools.count(1)

SERVICE_PRIORITY = {
    "day7": Priority.MAINTENANCE,
    "survey": Priority.SATISFACTION,
    "due_message": Priority.MAINTENANCE,
    "birthday": Priority.MAINTENANCE,
}


def local(dealership, day: dt.date, hour: int = 0, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dealership.zone)


def make_touch(customer, *, kind="day7", channel="sms", due_at, touch_class=None, priority=None, **fields) -> Touch:
    """A planned touch of ``kind`` for ``customer`` with the subject its kind needs."""
    subject = {}
    if kind in Touch.BY_VISIT:
        vehicle = customer.vehicles.first() or VehicleFactory(owner=customer)
        subject["visit"] = ServiceVisitFactory(vehicle=vehicle, opened_on=dt.date(2026, 3, 1), closed_on=None)
    elif kind in Touch.BY_VEHICLE:
        subject["vehicle"] = customer.vehicles.first() or VehicleFactory(owner=customer)
        subject["occasion"] = (dt.date(2026, 4, 1) + dt.timedelta(days=next(_occasions))).isoformat()
    elif kind in Touch.BY_CUSTOMER:
        subject["occasion"] = f"o{next(_occasions)}"
    if touch_class is None:
        touch_class = TouchClass.MARKETING if kind == "wake_up" else TouchClass.SERVICE
    if priority is None:
        priority = Priority.MARKETING if touch_class == TouchClass.MARKETING else SERVICE_PRIORITY.get(kind, 3)
    return Touch.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        kind=kind,
        channel=channel,
        touch_class=touch_class,
        priority=priority,
        due_at=due_at,
        **subject,
        **fields,
    )


def marketing_touch(customer, *, due_at, channel="sms", **fields) -> Touch:
    return make_touch(customer, kind="wake_up", channel=channel, due_at=due_at, **fields)


def customer_of(dealership, **fields):
    customer = CustomerFactory(dealership=dealership, **fields)
    VehicleFactory(owner=customer)
    return customer


# --- a provider on loopback ---------------------------------------------------------------------------------


class Provider:
    """A real HTTP server on 127.0.0.1 (port 0, a thread): records every request; ``answer(path, payload)``
    decides the reply (status, JSON) and may sleep to time out the client."""

    def __init__(self, answer=None):
        self.requests: list[dict] = []
        self.answer = answer or (lambda path, payload, headers: (200, {"code": "OK", "message_id": "m1"}))
        self.lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self, method):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    payload = json.loads(raw) if raw else {}
                except ValueError:
                    payload = {"raw": raw.decode(errors="replace")}
                entry = {"method": method, "path": self.path, "headers": dict(self.headers), "json": payload}
                with provider.lock:
                    provider.requests.append(entry)
                status, body = provider.answer(self.path, payload, dict(self.headers))
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_POST(self):
                self._handle("POST")

            def do_GET(self):
                self._handle("GET")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()

    def posts(self, path_part: str = "") -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["method"] == "POST" and path_part in r["path"]]


def slow(seconds: float, then=(200, {"code": "OK", "message_id": "late"})):
    def answer(path, payload, headers):
        time.sleep(seconds)
        return then

    return answer
