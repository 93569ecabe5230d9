"""Jobs of the shared core."""

from celery import shared_task

from . import access_log


@shared_task(name="dealercrm.core.tasks.access_log_purge_task", acks_late=True, time_limit=600, soft_time_limit=540)
def access_log_purge_task() -> int:
    """Remove access events older than ``ACCESS_LOG_RETENTION_DAYS``; returns how many went."""
    return access_log.purge_expired()
