"""The Celery application. Start a worker and beat as the README says."""

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")

app = Celery("dealercrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def _verify_keys(**kwargs):
    """A worker whose key cannot decrypt the stored phone numbers stops as it starts (PHONE_ENCRYPTION_KEYS)."""
    from dealercrm.core.crypto import verify_stored_keys

    verify_stored_keys()
