"""Thin Celery tasks of the follow-ups: each reads its work from the database and is safe to run twice."""

from celery import shared_task

from dealercrm.core.audit import as_task_actor

TASK_OPTIONS = {"acks_late": True, "reject_on_worker_lost": True, "max_retries": 2}


@shared_task(name="followups.tasks.plan_touches_task", time_limit=900, soft_time_limit=840, **TASK_OPTIONS)
def plan_touches_task() -> dict:
    """Insert the touches now due to be planned, for every store, and apply the stop conditions."""
    from . import planner

    with as_task_actor(plan_touches_task.name):
        return planner.plan_all()


@shared_task(name="followups.tasks.dispatch_touches_task", time_limit=600, soft_time_limit=540, **TASK_OPTIONS)
def dispatch_touches_task() -> dict:
    """Claim the due touches (with a lease), check each again and send it through its channel."""
    from . import dispatcher

    with as_task_actor(dispatch_touches_task.name):
        return dispatcher.dispatch_due()


@shared_task(name="followups.tasks.complaint_deadlines_task", time_limit=300, soft_time_limit=270, **TASK_OPTIONS)
def complaint_deadlines_task() -> dict:
    """Escalate the complaints whose first-response deadline has passed."""
    from . import complaints

    with as_task_actor(complaint_deadlines_task.name):
        return complaints.complaint_deadlines_check()
