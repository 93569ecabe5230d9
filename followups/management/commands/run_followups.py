"""Run the follow-up jobs in a loop without Celery: plan, send, check complaint deadlines, every N seconds.

    python manage.py run_followups [--every SECONDS] [--once]

Each round runs, in order, the functions the beat's Celery tasks call (``followups.planner.plan_all``,
``followups.dispatcher.dispatch_due``, ``followups.complaints.complaint_deadlines_check``), as the system
``manage.py run_followups`` in the audit. It is what ``make demo`` starts beside the development server, where
Celery runs eagerly and there is no beat; in production a worker and beat do the same on their schedule.
Every step is idempotent, so a round run twice, or beside a beat, plans and sends nothing twice. It stops on
SIGINT or SIGTERM after the step it is in; ``--once`` runs one round and exits (non-zero if a step failed).
"""

from __future__ import annotations

import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import close_old_connections
from django.utils import timezone
from django.utils.translation import gettext as _

from ._steps import ALL_STEPS, describe, did_something, run_step

ACTOR = "manage.py run_followups"


class Command(BaseCommand):
    help = (
        "Plan and send follow-up touches and check complaint deadlines every N seconds until stopped "
        "(the demo's stand-in for a Celery worker and beat)."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=float,
            default=None,
            help="Seconds between the starts of two rounds (default: FOLLOWUPS_RUN_EVERY_SECONDS, 30).",
        )
        parser.add_argument("--once", action="store_true", help="Run one round and exit.")

    def handle(self, *args, every, once, **options):
        every = every if every is not None else getattr(settings, "FOLLOWUPS_RUN_EVERY_SECONDS", 30)
        if every <= 0:
            raise CommandError(_("--every must be a positive number of seconds."))
        if once:
            outcomes = self.round()
            failed = [outcome for outcome in outcomes if outcome.status == "failed"]
            if failed:
                raise CommandError(_("%(n)d step(s) failed.") % {"n": len(failed)})
            return
        stop = threading.Event()
        previous = {sig: signal.signal(sig, lambda *_args: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
        self.stdout.write(_("Running the follow-up jobs every %(every)g s; stop with Ctrl+C.") % {"every": every})
        try:
            while not stop.is_set():
                started = time.monotonic()
                self.round(quiet=True)
                close_old_connections()
                stop.wait(max(0.0, every - (time.monotonic() - started)))
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.stdout.write(_("Follow-up jobs stopped."))

    def round(self, *, quiet: bool = False):
        """Run every step once; ``quiet``: say nothing of a step that found nothing to do (the loop's rounds)."""
        outcomes = []
        stamp = timezone.localtime().strftime("%H:%M:%S")
        for step in ALL_STEPS:
            outcome = run_step(step, actor=ACTOR)
            outcomes.append(outcome)
            if quiet and outcome.ok and not did_something(outcome.result):
                continue
            line = f"[{stamp}] {describe(outcome)}"
            if outcome.status == "failed":
                self.stderr.write(self.style.ERROR(line))
            elif outcome.status == "unavailable":
                self.stderr.write(self.style.WARNING(line))
            else:
                self.stdout.write(line)
            self.stdout.flush()
        return outcomes
