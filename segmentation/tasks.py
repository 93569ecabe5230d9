from celery import shared_task

from dealercrm.core.models import Dealership

from .models import SegmentationRun
from .services import segmentation_run


@shared_task(
    name="segmentation.tasks.segment_dealership_task",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=2,
    time_limit=1800,
    soft_time_limit=1700,
)
def segment_dealership_task(dealership_id: int, trigger: str = SegmentationRun.Trigger.SCHEDULE, user_id=None) -> int:
    """One dealership's run for its today (idempotent: a repeat finds nothing changed). Returns the run's id."""
    from dealercrm.core.models import User

    dealership = Dealership.objects.get(pk=dealership_id)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    return segmentation_run(dealership=dealership, trigger=trigger, acting_user=user).pk


@shared_task(bind=True, name="segmentation.tasks.segment_all_task", acks_late=True, time_limit=60, soft_time_limit=50)
def segment_all_task(self) -> list[int]:
    """Nightly: one run per active dealership, each in a task of its own, sent to the queue this task came from."""
    queue = (self.request.delivery_info or {}).get("routing_key")
    ids = list(Dealership.objects.filter(is_active=True).values_list("pk", flat=True))
    for dealership_id in ids:
        segment_dealership_task.apply_async(args=[dealership_id], queue=queue)
    return ids
