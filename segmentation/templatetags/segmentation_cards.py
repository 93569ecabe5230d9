from django import template

from segmentation import selectors
from segmentation.talking_points import TALKING_POINTS

register = template.Library()


@register.inclusion_tag("customers/360/_segment.html", takes_context=True)
def segment_card(context, customer):
    """The 360 page's card: the customer's group, tier and layer from the latest run, the talking points for
    the group, and each vehicle's next maintenance due date (two queries)."""
    segment = selectors.customer_segment_current(dealership=context["dealership"], customer_id=customer.pk)
    forecasts = selectors.vehicle_forecasts_current(dealership=context["dealership"], customer=customer)
    return {
        "segment": segment,
        "talking_point": TALKING_POINTS.get(segment.c3_group) if segment else None,
        "forecasts": forecasts,
        "today": context.get("today"),
    }
