from django import template

from dealercrm.core.privacy import mask_phone as _mask_phone

register = template.Library()


@register.filter
def mask_phone(phone) -> str:
    """``{{ customer.phone|mask_phone }}``: 138****5678."""
    return _mask_phone(phone)
