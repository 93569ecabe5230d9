from celery import shared_task

from dealercrm.core.audit import as_task_actor

from . import services


@shared_task(
    name="campaigns.tasks.campaigns_daily_task",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=2,
    time_limit=600,
    soft_time_limit=540,
)
def campaigns_daily_task() -> dict:
    """Hourly (each store's day follows its own time zone): start and finish campaigns on their days, expire
    coupons past their last day, and put accepted-but-absent invitees back on the list for a second
    invitation. Each step is a conditional update, so a repeat (or a worker killed midway) changes nothing
    more."""
    with as_task_actor(campaigns_daily_task.name):  # nobody started it: the system, named by the task
        figures = services.campaigns_advance()
        figures["coupons_expired"] = services.coupons_expire()
        figures["second_invitations"] = services.second_invitations_release()
    return figures
