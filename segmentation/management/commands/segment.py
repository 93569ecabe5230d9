"""``python manage.py segment [--dealership CODE] [--date YYYY-MM-DD] [--force] [--user USERNAME]``."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from dealercrm.core.audit import as_task_actor
from dealercrm.core.commands import dealership_by_code, iso_date
from dealercrm.core.models import Dealership, User
from segmentation.models import SegmentationRun
from segmentation.services import segmentation_run


class Command(BaseCommand):
    help = "Segment the customers of one dealership, or of every active dealership (one run each)."

    def add_arguments(self, parser):
        parser.add_argument("--dealership", help="code of the dealership (default: every active dealership)")
        parser.add_argument(
            "--date", type=iso_date("--date"), help="reference date, YYYY-MM-DD (default: today where the store is)"
        )
        parser.add_argument("--force", action="store_true", help="compute again even when nothing has changed")
        parser.add_argument("--user", help="username of the person running it (default: the system)")

    def handle(self, *args, **options):
        user = None
        if options["user"]:
            user = User.objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(_("No user “%(name)s”.") % {"name": options["user"]})
        with as_task_actor("manage.py segment", getattr(user, "pk", None)):
            self._segment(options, user)

    def _segment(self, options, user):
        if options["dealership"]:
            dealerships = [dealership_by_code(options["dealership"])]
        else:
            dealerships = Dealership.objects.filter(is_active=True).order_by("code")
        for dealership in dealerships:
            run = segmentation_run(
                dealership=dealership,
                reference_date=options["date"],
                trigger=SegmentationRun.Trigger.COMMAND,
                force=options["force"],
                acting_user=user,
            )
            if run.reused_from_id:
                outcome = _("unchanged since run #%(id)s") % {"id": run.reused_from_id}
            else:
                outcome = _("%(customers)d customers changed, %(vehicles)d vehicles changed") % {
                    "customers": run.changed_customers,
                    "vehicles": run.changed_vehicles,
                }
            self.stdout.write(
                _("%(code)s: run #%(id)s for %(date)s, %(n)d customers (%(active)d active): %(outcome)s; %(ms)d ms.")
                % {
                    "code": dealership.code,
                    "id": run.pk,
                    "date": run.reference_date.isoformat(),
                    "n": run.customers,
                    "active": run.active_customers,
                    "outcome": outcome,
                    "ms": run.duration_ms,
                }
            )
