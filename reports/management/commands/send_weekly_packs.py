"""Build and e-mail every store's due weekly report pack, once (what the beat's job does every 15 minutes).

    python manage.py send_weekly_packs

Runs ``reports.packs.weekly_packs()``, the function ``weekly_packs_task`` calls, as the system
``manage.py send_weekly_packs`` in the audit. Running it twice builds and sends nothing twice: a pack is built
once per store and week, and e-mailed once per recipient.
"""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from dealercrm.core.audit import as_task_actor

from ...packs import weekly_packs


class Command(BaseCommand):
    help = "Build and e-mail each store's weekly report pack of last week, if not done yet."

    def handle(self, *args, **options):
        with as_task_actor("manage.py send_weekly_packs"):
            done = weekly_packs()
        self.stdout.write(
            _(
                "Weekly packs: %(built)d built, %(failed_builds)d failed to build; e-mails: %(sent)d sent, "
                "%(failed)d failed, %(ambiguous)d of unknown outcome (not resent)."
            )
            % done
        )
