from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        # The 360 page's cards and the counter's marks: customers reads them from its registry, never from here.
        from customers import cards

        from . import cards as campaign_cards

        cards.register(
            name="campaigns.vip",
            order=10,
            action="customer.view",
            template="campaigns/360/_vip_flag.html",
            context=campaign_cards.vip_flag,
            slot="flags",
        )
        cards.register(
            name="campaigns.coupons",
            order=30,
            action="customer.view",
            template="campaigns/360/_coupons.html",
            context=campaign_cards.coupons_card,
        )
        cards.register_arrival_marks("campaigns", campaign_cards.arrival_marks)
