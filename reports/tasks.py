"""Placeholder: the weekly pack's task is filled by its helper."""

from celery import shared_task


@shared_task(name="reports.tasks.weekly_packs_task")
def weekly_packs_task():
    return 0
