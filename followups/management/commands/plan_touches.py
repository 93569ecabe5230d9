"""Plan the follow-up touches now due to be planned, for every store, once (what the beat's planner does).

    python manage.py plan_touches

Runs ``followups.planner.plan_all()``, the function ``plan_touches_task`` calls, as the system
``manage.py plan_touches`` in the audit. Running it twice plans nothing twice.
"""

from ._single import SingleStepCommand
from ._steps import PLAN


class Command(SingleStepCommand):
    help = "Plan the follow-up touches due to be planned (day 7/15/30, satisfaction calls, surveys, reminders…)."
    step = PLAN
    actor = "manage.py plan_touches"
