from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PrivacyConfig(AppConfig):
    """Customers' rights over their data (PIPL): export and erasure on request, possible duplicates and their
    merge, and the review of customers kept longer than needed. It reads and writes across the other apps."""

    name = "privacy"
    verbose_name = _("Personal data")
