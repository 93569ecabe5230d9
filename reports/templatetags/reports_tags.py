"""Template helpers of the reports' pages."""

from django import template
from django.urls import NoReverseMatch, reverse
from django.utils.http import urlencode

from reports.registry import display

register = template.Library()


@register.simple_tag
def url_or_empty(name, *args, query="", **kwargs):
    """``{% url %}`` that gives "" when ``name`` does not resolve (a page another part of the app adds later,
    e.g. the exports); ``query`` (a query string) is appended."""
    try:
        url = reverse(name, args=args or None, kwargs=kwargs or None)
    except NoReverseMatch:
        return ""
    return f"{url}?{query}" if query else url


@register.filter
def shown(value, kind):
    """A value as people read it (``registry.display``): "—" for None, rates as "19.9%", money with ¥."""
    return display(value, kind)


@register.simple_tag(takes_context=True)
def with_query(context, **changes):
    """The current query string with ``changes`` (a value of None or "" removes the parameter)."""
    params = context["request"].GET.copy()
    for key, value in changes.items():
        params.pop(key, None)
        if value not in (None, ""):
            params[key] = value
    return urlencode(sorted(params.items()))
