"""``{% render_card card %}``: one card of the 360 page (``customers.cards``), its template rendered with its
context on top of the page's."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def render_card(context, card):
    tpl = context.template.engine.get_template(card.template)
    with context.push(**card.context):
        return tpl.render(context)
