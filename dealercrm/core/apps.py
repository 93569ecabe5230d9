from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    default = True
    name = "dealercrm.core"
    label = "core"
    verbose_name = _("Dealerships and staff")

    def ready(self):
        # Phone numbers are stored encrypted: without well-formed keys nothing may start (a message naming the
        # setting, not a page showing a ciphertext or an empty number later).
        from . import crypto

        crypto.check_keys()
        from . import lockout  # noqa: F401 - connects the access event of every failed sign-in


class OperatorsAdminConfig(admin_apps.AdminConfig):
    """Django's admin, whose site lets in active superusers only (``dealercrm.core.admin_site.OperatorsAdminSite``)."""

    default = False  # named in INSTALLED_APPS; CoreConfig stays this module's default
    default_site = "dealercrm.core.admin_site.OperatorsAdminSite"
