"""``{% load consent_text %}{% consent_text_for dealership as text %}``: the store's consent text
(``customers.consent.consent_text_for``), for a card that shows it (the workbench's call card)."""

from django import template

from customers.consent import consent_text_for as _consent_text_for

register = template.Library()


@register.simple_tag
def consent_text_for(dealership) -> str:
    return _consent_text_for(dealership) if dealership else ""
