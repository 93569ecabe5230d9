"""``{% render_card card %}``: one card of the 360 page (``customers.cards``), its template rendered with its
context on top of the page's; ``|amount``: money as the page shows it."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.formats import get_format

register = template.Library()
CENTS = Decimal("0.01")


@register.simple_tag(takes_context=True)
def render_card(context, card):
    tpl = context.template.engine.get_template(card.template)
    with context.push(**card.context):
        return tpl.render(context)


@register.filter
def amount(value) -> str:
    """A money amount with two decimals, grouped as the language groups thousands ("1,234.50" in English,
    "1234.50" in Chinese), as ``floatformat:"2g"`` writes it, for less: the 360 page writes three per visit.
    Rounds half up, as floatformat does; None → ""."""
    if value is None or value == "":
        return ""
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        return ""
    text = f"{number.quantize(CENTS, rounding=ROUND_HALF_UP):.2f}"
    if not get_format("NUMBER_GROUPING"):  # zh-hans writes 1234.50
        return text
    grouped = f"{Decimal(text):,.2f}"
    separator = get_format("THOUSAND_SEPARATOR")
    return grouped if separator == "," else grouped.replace(",", separator)
