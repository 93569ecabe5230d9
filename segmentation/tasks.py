from datetime import date

from celery import shared_task

from dealercrm.core.audit import as_task_actor
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
def segment_dealership_task(
    dealership_id: int,
    trigger: str = SegmentationRun.Trigger.SCHEDULE,
    user_id=None,
    reference_date: str | None = None,
    force: bool = False,
) -> int:
    """One dealership's run for ``reference_date`` (ISO; default: its today), idempotent: a repeat finds nothing
    changed unless ``force``. Returns the run's id."""
    from dealercrm.core.models import User

    dealership = Dealership.objects.get(pk=dealership_id)
    user = User.objects.filter(pk=user_id).first() if user_id else None
    day = date.fromisoformat(reference_date) if reference_date else None
    with as_task_actor(segment_dealership_task.name, user_id):  # the user who asked for it, or the system
        return segmentation_run(
            dealership=dealership, reference_date=day, trigger=trigger, acting_user=user, force=force
        ).pk


@shared_task(bind=True, name="segmentation.tasks.segment_all_task", acks_late=True, time_limit=60, soft_time_limit=50)
def segment_all_task(self) -> list[int]:
    """Nightly: one run per active dealership, each in a task of its own, sent to the queue this task came from."""
    queue = (self.request.delivery_info or {}).get("routing_key")
    ids = list(Dealership.objects.filter(is_active=True).values_list("pk", flat=True))
    for dealership_id in ids:
        segment_dealership_task.apply_async(args=[dealership_id], queue=queue)
    return ids
