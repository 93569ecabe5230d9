from celery import shared_task

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
    return {d.code: customers_flag_duplicate_phones(dealership=d) for d in dealerships}
