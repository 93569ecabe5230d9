"""Give the demo store its follow-ups: settings, message templates and the last days of follow-up work.

    python manage.py seed_followups_demo [--dealership DEMO] [--days 5] [--seed 0]

Runs after ``seed_demo``, ``segment`` and ``seed_campaign_demo`` (``make demo`` runs all four). It replays the
last days through the real planner, dispatcher, calls, surveys and complaints (``followups.demo``), as the system
``manage.py seed_followups_demo`` in the audit (the calls as the agent, the complaints as the manager). A store
that has touches or templates already is left as it is.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from customers.demo import DEMO_CODE
from dealercrm.core.audit import as_task_actor
from dealercrm.core.commands import dealership_by_code
from dealercrm.core.exceptions import ApplicationError
from followups.demo import DEFAULT_DAYS, demo_summary, followups_demo_seed


class Command(BaseCommand):
    help = "Give the demo store follow-up settings, message templates and a few days of follow-up work."

    def add_arguments(self, parser):
        parser.add_argument("--dealership", default=DEMO_CODE, help="Code of the dealership (default DEMO).")
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="How many past days to replay (default 5).")
        parser.add_argument("--seed", type=int, default=0, help="Random seed: the same seed gives the same data.")

    def handle(self, *args, dealership, days, seed, **options):
        if not 1 <= days <= 14:
            raise CommandError(_("--days must be between 1 and 14."))
        store = dealership_by_code(dealership)
        try:
            with as_task_actor("manage.py seed_followups_demo"):
                result = followups_demo_seed(dealership=store, seed=seed, days=days)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        if not result.created:
            self.stdout.write(_("Dealership %(code)s has follow-ups already; nothing changed.") % {"code": store.code})
            return
        self.stdout.write(
            _(
                "%(templates)d message templates; %(calls)d follow-up calls made, %(answers)d surveys answered, "
                "%(complaints)d complaints."
            )
            % {
                "templates": result.templates,
                "calls": result.calls,
                "answers": result.surveys_answered,
                "complaints": result.complaints,
            }
        )
        for kind, states in sorted(demo_summary(dealership=store).items()):
            self.stdout.write(f"{kind:>14}: " + ", ".join(f"{status} {n}" for status, n in sorted(states.items())))
        self.stdout.write(
            self.style.SUCCESS(
                _("Follow-ups of %(code)s replayed over the last %(days)d days.") % {"code": store.code, "days": days}
            )
        )
