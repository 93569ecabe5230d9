"""``python manage.py export_segments --dealership CODE [--run ID] --out FILE.csv``."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from dealercrm.core.commands import dealership_by_code
from segmentation import selectors
from segmentation.exports import write_csv
from segmentation.models import SegmentationRun


class Command(BaseCommand):
    help = "Export each customer's segment as a run left it (default: the latest run) as CSV."

    def add_arguments(self, parser):
        parser.add_argument("--dealership", required=True, help="code of the dealership, e.g. SZ01")
        parser.add_argument("--run", type=int, help="id of the run (default: the latest finished run)")
        parser.add_argument("--out", type=Path, required=True, help="the CSV file to write")

    def handle(self, *args, **options):
        dealership = dealership_by_code(options["dealership"])
        if options["run"]:
            run = selectors.runs(dealership=dealership).filter(pk=options["run"]).first()
            if run is None:
                raise CommandError(
                    _("Run #%(id)s is not a run of %(code)s.") % {"id": options["run"], "code": dealership.code}
                )
            if run.status != SegmentationRun.Status.SUCCEEDED:
                raise CommandError(_("Run #%(id)s did not finish: it has no results.") % {"id": run.pk})
        else:
            run = selectors.run_latest(dealership=dealership)
            if run is None:
                raise CommandError(
                    _("%(code)s has no segmentation run yet: run “manage.py segment --dealership %(code)s” first.")
                    % {"code": dealership.code}
                )
        with options["out"].open("w", encoding="utf-8", newline="") as out:
            count = write_csv(run, out)
        self.stdout.write(
            _("%(n)d customers of run #%(id)s (%(date)s) written to %(path)s.")
            % {"n": count, "id": run.pk, "date": run.reference_date.isoformat(), "path": options["out"]}
        )
