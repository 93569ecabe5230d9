"""``manage.py rotate_phone_keys``: re-encrypt the stored phone numbers (and other encrypted personal data)
with the newest key of ``PHONE_ENCRYPTION_KEYS``, in batches. Rotate a key by putting the new one first in the
list (keeping the old one after it), running this, then dropping the old key."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from dealercrm.core.rotation import DEFAULT_BATCH, rotate_all


class Command(BaseCommand):
    help = _("Re-encrypt stored phone numbers and other encrypted personal data with the newest key, in batches.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH, help=_("Rows read and written per transaction.")
        )

    def handle(self, *args, batch_size, **options):
        results = rotate_all(batch=max(1, batch_size))
        for result in results:
            self.stdout.write(
                _("%(table)s.%(column)s: %(rotated)d of %(read)d re-encrypted")
                % {"table": result.table, "column": result.column, "rotated": result.rotated, "read": result.read}
            )
        rotated = sum(r.rotated for r in results)
        self.stdout.write(self.style.SUCCESS(_("Done: %(n)d values re-encrypted.") % {"n": rotated}))
