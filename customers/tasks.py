from celery import shared_task

from dealercrm.core.audit import as_task_actor
from dealercrm.core.models import Dealership

from .services import customers_flag_duplicate_phones


@shared_task(
    name="customers.tasks.flag_duplicate_phones_task",
    acks_late=True,
    max_retries=3,
    time_limit=600,
    soft_time_limit=540,
)
def flag_duplicate_phones_task(dealership_id: int | None = None) -> dict[str, int]:
    """Nightly: refresh the possible-duplicate flag of every dealership (or one)."""
    dealerships = Dealership.objects.filter(is_active=True)
    if dealership_id:
        dealerships = dealerships.filter(pk=dealership_id)
    with as_task_actor(flag_duplicate_phones_task.name):
        return {d.code: customers_flag_duplicate_phones(dealership=d) for d in dealerships}


@shared_task(
    bind=True,
    name="customers.tasks.import_run_task",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=0,
    time_limit=30 * 60,
    soft_time_limit=29 * 60,
)
def import_run_task(self, run_id: int) -> str:
    """Run the queued DMS import ``run_id`` (``customers.importing.jobs``); returns its status. Delivered twice,
    it runs once; delivered again after its worker died, its run is marked failed (it wrote nothing)."""
    from .importing.jobs import import_execute

    redelivered = bool((self.request.delivery_info or {}).get("redelivered"))
    run = import_execute(run_id=run_id, redelivered=redelivered)
    return run.status if run is not None else "skipped"
