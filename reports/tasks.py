"""The reports' tasks: the weekly report pack (beat, every 15 minutes) and long exports."""

from celery import shared_task

from . import exports, packs


@shared_task(
    name="reports.tasks.weekly_packs_task",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=2,
    time_limit=1800,
    soft_time_limit=1700,
)
def weekly_packs_task() -> dict:
    """Build and e-mail every dealership's due weekly pack (``reports.packs``): claimed rows make a repeat, a
    second job at the same time or a retry after a crash neither build twice nor send an e-mail twice."""
    return packs.weekly_packs()


@shared_task(
    name="reports.tasks.export_report_task",
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=1,
    time_limit=1800,
    soft_time_limit=1700,
)
def export_report_task(job_id: int) -> str:
    """Run one export job (``reports.exports.job_run``): claimed once, progress on its page, the file stored."""
    return exports.job_run(job_id)
