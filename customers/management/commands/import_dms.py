"""``manage.py import_dms --dealership CODE [--customers F] [--vehicles F] [--visits F] [--skip-invalid] [--bulk]``.

The import runs here, in this process (a page or API upload goes to a Celery task instead). ``--bulk`` allows
the bulk-load mode for a large first load (``customers.importing.bulkload``): only from the command line.
"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from customers.importing import run_import
from customers.importing.schema import KIND_LABELS
from dealercrm.core.commands import dealership_by_code
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.models import User


class Command(BaseCommand):
    help = "Import customers, vehicles and repair orders exported from the DMS (CSV or Excel)."

    def add_arguments(self, parser):
        parser.add_argument("--dealership", required=True, help="code of the dealership, e.g. SZ01")
        parser.add_argument("--customers", type=Path, help="customers file")
        parser.add_argument("--vehicles", type=Path, help="vehicles file")
        parser.add_argument("--visits", type=Path, help="repair orders file")
        parser.add_argument(
            "--skip-invalid",
            action="store_true",
            help="import the valid rows and reject the others (default: any bad row and nothing is imported)",
        )
        parser.add_argument(
            "--rejects-out",
            type=Path,
            help="with --skip-invalid: write the rejected rows here (one CSV per file: NAME-customers.csv, …)",
        )
        parser.add_argument("--dry-run", action="store_true", help="check and count, write nothing")
        parser.add_argument(
            "--user",
            help="username recorded as having run the import (without it the history names the system)",
        )
        parser.add_argument(
            "--bulk",
            action="store_true",
            help=(
                "allow the bulk-load mode for a large load of repair orders: the table's indexes are dropped and "
                "rebuilt, its triggers switched off (readers wait until the import commits)"
            ),
        )

    def handle(self, *args, **options):
        dealership = dealership_by_code(options["dealership"])
        files = {kind: options[kind] for kind in ("customers", "vehicles", "visits") if options[kind]}
        if not files:
            raise CommandError(_("Give at least one file: --customers, --vehicles or --visits."))
        for kind, path in files.items():
            if not path.is_file():
                raise CommandError(_("%(kind)s file not found: %(path)s") % {"kind": kind, "path": path})
        if options["rejects_out"] and not options["skip_invalid"]:
            raise CommandError(_("--rejects-out needs --skip-invalid: otherwise nothing is imported on a bad row."))
        acting_user = None
        if options["user"]:
            acting_user = User.objects.filter(username=options["user"]).first()
            if acting_user is None:
                raise CommandError(_("No user “%(user)s”.") % {"user": options["user"]})

        try:
            result = run_import(
                dealership=dealership,
                files=files,
                skip_invalid=options["skip_invalid"],
                dry_run=options["dry_run"],
                acting_user=acting_user,
                source="command",
                bulk=options["bulk"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc

        for error in result.errors:
            self.stderr.write(
                _("%(file)s row %(row)s, %(column)s “%(value)s”: %(reason)s")
                % {
                    "file": KIND_LABELS[error.file],
                    "row": error.row,
                    "column": error.column,
                    "value": error.value,
                    "reason": error.reason,
                }
            )
        if not result.ok:
            raise CommandError(
                _("Nothing was imported: %(n)d problem(s) found (listed above). Fix them, or use --skip-invalid.")
                % {"n": len(result.errors)}
            )
        for kind, report in result.files.items():
            self.stdout.write(
                _(
                    "%(kind)s (%(name)s): %(created)d created, %(updated)d updated, "
                    "%(unchanged)d unchanged, %(rejected)d rejected"
                )
                % {
                    "kind": KIND_LABELS[kind],
                    "name": report.name,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "rejected": report.rejected,
                }
            )
        if options["rejects_out"] and result.rejects:
            target = options["rejects_out"]
            for kind, content in result.rejects.items():
                path = target.with_name(f"{target.stem}-{kind}{target.suffix or '.csv'}")
                path.write_bytes(content)
                self.stdout.write(_("Rejected %(kind)s rows written to %(path)s") % {"kind": kind, "path": path})
        if result.dry_run:
            self.stdout.write(_("Dry run: nothing was written."))
        else:
            self.stdout.write(
                self.style.SUCCESS(
                    _("Import %(id)s done in %(ms)d ms.") % {"id": result.run_id, "ms": result.duration_ms}
                )
            )
