"""Defect 2: every route with a format suffix (``/customers/1/consent.json``) answers as its plain route does.

The actions did not take ``format`` and answered 500. The routes are read from the URL configuration, so a
new action is covered without touching this test.
"""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from customers.models import Appointment, Customer, ServiceVisit, Vehicle

pytestmark = pytest.mark.django_db


def _suffix_routes(patterns=None, prefix=""):
    """(route text, view) of every API route that takes a format suffix."""
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _suffix_routes(entry.url_patterns, route)
        elif (
            isinstance(entry, URLPattern)
            and "format" in entry.pattern.regex.groupindex
            and route.startswith("api/")
            and getattr(entry.callback, "actions", None)
        ):
            yield entry


SUFFIX_ROUTES = list(_suffix_routes())


def test_the_api_has_format_suffix_routes():
    names = {entry.name for entry in SUFFIX_ROUTES}
    assert {"api-customer-consent", "api-appointment-set-status", "api-customer-detail"} <= names


@pytest.mark.parametrize(
    "entry", SUFFIX_ROUTES, ids=[f"{entry.name}:{'/'.join(sorted(entry.callback.actions))}" for entry in SUFFIX_ROUTES]
)
def test_a_format_suffix_route_answers_like_its_plain_route(entry, records, as_manager, api_client_for):
    model = getattr(entry.callback.cls, "model", None)
    objects = {Customer: records["customers"][0], Vehicle: records["vehicles"][0], ServiceVisit: records["visits"][0]}
    objects[Appointment] = records["appointment"]
    kwargs = {"format": "json"}
    for name in entry.pattern.regex.groupindex.keys() - {"format"}:
        kwargs[name] = objects[model].pk if model in objects else 999_999  # a record of its own: not found
    plain_kwargs = {key: value for key, value in kwargs.items() if key != "format"}
    api = api_client_for(as_manager)
    for method in list(entry.callback.actions):
        suffixed = getattr(api, method)(reverse(entry.name, kwargs=kwargs), {}, format="json")
        plain = getattr(api, method)(reverse(entry.name, kwargs=plain_kwargs), {}, format="json")
        assert suffixed.status_code == plain.status_code, (method, suffixed.content)
        assert suffixed["Content-Type"] == "application/json"
