"""Build seed 002's summer campaign on the demo store: running, its call list generated, a few calls made.

    python manage.py seed_campaign_demo [--dealership DEMO]

The store must have been seeded (``seed_demo``) and segmented (``segment``). A store that has the campaign
(code ``campaigns.demo.DEMO_CAMPAIGN_CODE``) already is left as it is.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from campaigns.demo import DEMO_CAMPAIGN_CODE, campaign_demo_seed
from customers.demo import DEMO_CODE
from dealercrm.core.audit import as_task_actor
from dealercrm.core.commands import dealership_by_code
from dealercrm.core.exceptions import ApplicationError


class Command(BaseCommand):
    help = (
        "Create the demo campaign (seed 002's summer campaign) on a segmented store: two target groups, "
        "coupons, the call list given to the agents, and a few calls."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dealership", default=DEMO_CODE, help="Code of the dealership (default DEMO).")

    def handle(self, *args, dealership, **options):
        store = dealership_by_code(dealership)
        try:
            with as_task_actor("manage.py seed_campaign_demo"):  # its history rows name the system
                result = campaign_demo_seed(dealership=store)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        campaign = result.campaign
        if not result.created:
            self.stdout.write(
                _("Dealership %(code)s already has the campaign %(campaign)s (%(status)s); nothing changed.")
                % {"code": store.code, "campaign": DEMO_CAMPAIGN_CODE, "status": campaign.get_status_display()}
            )
            return
        for name, (invited, held_out) in result.groups.items():
            self.stdout.write(
                _("%(group)s: %(invited)d customers invited, %(held_out)d of them held out (not called).")
                % {"group": name, "invited": invited, "held_out": held_out}
            )
        self.stdout.write(
            _("Call list given to %(agents)s.")
            % {"agents": ", ".join(f"{name} ({n})" for name, n in result.agents.items())}
        )
        self.stdout.write(
            _("%(calls)d calls made (%(outcomes)s); %(coupons)d coupons issued.")
            % {
                "calls": sum(result.calls.values()),
                "outcomes": ", ".join(f"{label} {n}" for label, n in result.calls.items()),
                "coupons": result.coupons,
            }
        )
        self.stdout.write(
            self.style.SUCCESS(
                _("Campaign %(campaign)s “%(name)s” is running from %(start)s to %(end)s.")
                % {
                    "campaign": campaign.code,
                    "name": campaign.name,
                    "start": campaign.starts_on.isoformat(),
                    "end": campaign.ends_on.isoformat(),
                }
            )
        )
