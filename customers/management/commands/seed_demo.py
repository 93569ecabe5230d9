"""Fill the DEMO dealership with generated customers, vehicles and about three years of visits.

    python manage.py seed_demo [--customers N] [--seed S] [--today YYYY-MM-DD] [--reset]

Creates the dealership ``DEMO`` and one account per role (advisor, agent,
ccmanager, asmanager, admin; password ``customers.demo.DEMO_PASSWORD``). If the
dealership already has customers nothing is generated unless ``--reset`` is
given, which deletes them (with their vehicles and visits) first.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from customers.demo import DEFAULT_CUSTOMERS, DEMO_CODE, DEMO_PASSWORD, DEMO_USERS, MAX_CUSTOMERS, demo_seed
from dealercrm.core.audit import as_task_actor
from dealercrm.core.commands import iso_date


class Command(BaseCommand):
    help = "Create the DEMO dealership, one user per role and generated customers, vehicles and visits."

    def add_arguments(self, parser):
        parser.add_argument(
            "--customers", type=int, default=DEFAULT_CUSTOMERS, help="How many customers (default 2000)."
        )
        parser.add_argument("--seed", type=int, default=0, help="Random seed: the same seed gives the same data.")
        parser.add_argument(
            "--today",
            type=iso_date("--today"),
            default=None,
            help="Reference date the history ends on (default: today).",
        )
        parser.add_argument("--reset", action="store_true", help="Delete DEMO's customers, vehicles and visits first.")

    def handle(self, *args, customers, seed, today, reset, **options):
        if not 1 <= customers <= MAX_CUSTOMERS:
            raise CommandError(_("--customers must be between 1 and %(max)d.") % {"max": MAX_CUSTOMERS})
        with as_task_actor("manage.py seed_demo"):  # the history rows it writes name the system
            result = demo_seed(customers=customers, seed=seed, today=today, reset=reset)
        if not result.created:
            self.stdout.write(
                _("Dealership %(code)s already has customers; nothing generated (use --reset to regenerate).")
                % {"code": DEMO_CODE}
            )
            return
        for table, count in result.counts.items():
            self.stdout.write(f"{table:>18}: {count:>10,}")
        self.stdout.write(", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in result.phases.items()))
        self.stdout.write(
            _("%(flagged)d customers sharing a phone flagged as possible duplicates.")
            % {"flagged": result.duplicates_flagged}
        )
        self.stdout.write(
            self.style.SUCCESS(
                _("Demo data for %(code)s written in %(seconds).1f s.") % {"code": DEMO_CODE, "seconds": result.seconds}
            )
        )
        self.stdout.write(
            _("Log in as %(users)s with the password %(password)s.")
            % {"users": ", ".join(username for username, _role, _name in DEMO_USERS), "password": DEMO_PASSWORD}
        )
