"""What a service advisor or agent says to a customer of each C3 group (shown on the 360 page)."""

from django.utils.translation import gettext_lazy as _

from .models import C3Group

TALKING_POINTS = {
    C3Group.PROFITABLE_LOYAL: _(
        "A loyal, profitable customer: thank them, offer the VIP green channel and ask whom they would recommend us to."
    ),
    C3Group.SPLIT_LOYAL: _(
        "Maintains here and spends well, but repairs may go elsewhere: mention our repair and bodywork guarantee "
        "and offer a free check."
    ),
    C3Group.HIGH_RISK: _(
        "Comes for costly repairs but seldom for maintenance: offer a maintenance plan that prevents the next repair."
    ),
    C3Group.HIGH_OPPORTUNITY: _(
        "Spends well but comes seldom: book the next maintenance now and offer something on that visit."
    ),
    C3Group.HIGH_COST: _(
        "Often here, mostly for repairs at low spend: look for a repeat fault and explain each visit clearly."
    ),
    C3Group.MINING: _(
        "Maintains regularly but spends little: suggest the recommended extra items (fluids, tyres, filters) "
        "with the next service."
    ),
    C3Group.LOW_COST: _(
        "Mostly accident or insurance repairs: offer regular maintenance with a coupon and remind them of the "
        "insurance renewal."
    ),
    C3Group.MYSTERIOUS_OPPORTUNITY: _(
        "Seldom here and spends little: ask what they need; a first-maintenance coupon can bring them back."
    ),
}
