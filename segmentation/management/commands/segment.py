"""``python manage.py segment [--dealership CODE] [--date YYYY-MM-DD] [--force]``."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from dealercrm.core.commands import dealership_by_code, iso_date
from dealercrm.core.models import Dealership
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

    def handle(self, *args, **options):
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
