"""Send the due follow-up touches once (what the beat's dispatcher does).

    python manage.py dispatch_touches

Runs ``followups.dispatcher.dispatch_due()``, the function ``dispatch_touches_task`` calls, as the system
``manage.py dispatch_touches`` in the audit: it claims the due touches, checks each again (sending hours,
consent, the cap) and sends it through its channel's back end. Running it twice sends nothing twice.
"""

from ._single import SingleStepCommand
from ._steps import DISPATCH


class Command(SingleStepCommand):
    help = "Send the due follow-up touches through their channels (sending hours, consent and the cap checked)."
    step = DISPATCH
    actor = "manage.py dispatch_touches"
