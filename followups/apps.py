from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FollowupsConfig(AppConfig):
    name = "followups"
    verbose_name = _("Follow-ups")

    def ready(self):
        # The 360 page's cards (touches, complaints, surveys): customers reads them from its registry.
        from . import cards

        cards.register()

        from . import receivers  # noqa: F401  (the stops on consent changes, the template check)
