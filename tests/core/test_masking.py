"""Masking by construction: no page and no API answer shows a customer's full phone number, to any role.

Generated from the URL configuration and the access test's dataset (``tests.core.test_access``: every URL with
real ids, every role of the dealership): for each URL that answers GET, each role's answer (a page, a partial,
a JSON body, a file) holds none of the dataset's customers' numbers in any common form: E.164
(``+8613800000005``), national (``13800000005``), spaced (``138 0000 0005``) or dashed (``138-0000-0005``). The
full number is only ever the answer of an explicit, logged reveal (a POST: ``customers:phone-reveal``,
``calls:phone``, ``calls:followup-phone``; or ``?reveal=phone`` on the agent's own invitation), which no GET here
asks for.
"""

import pytest
from django.db import transaction

from customers import phones
from customers.models import Customer
from tests.core.test_access import QUERIES, ROUTES, build_path, world  # noqa: F401 (world: the dataset fixture)

#: query strings that make a URL show customers (a search that finds them), by URL name
SHOWING = {
    "customers:counter-search": lambda data: f"q={_the_customer(data).name}",
    "customers:counter": lambda data: f"q={_the_customer(data).name}",
}

#: answers that hold the full number on purpose, by URL name, with the reason
FULL_ON_PURPOSE = {
    "privacy:subject-export": "a customer's own data exported at their request (PIPL right of access): in full, "
    "logged as a subject_export event",
    "api-privacy-customer-export": "the same through the API",
}

GETS = [route for route in ROUTES if "get" in route.methods() and route.name not in FULL_ON_PURPOSE]


def _the_customer(data) -> Customer:
    return Customer.objects.get(pk=data["customer"])


def full_forms(phone) -> set[str]:
    """The ways a full number is commonly written."""
    national = phones.national_digits(phone)
    forms = {phones.e164(phone), national}
    if len(national) == 11:
        forms |= {f"{national[:3]} {national[3:7]} {national[7:]}", f"{national[:3]}-{national[3:7]}-{national[7:]}"}
    return forms


def body(response) -> str:
    content = b"".join(response.streaming_content) if getattr(response, "streaming", False) else response.content
    return content.decode("utf-8", errors="replace")


def get(client, path):
    with transaction.atomic():
        response = client.get(path)
        text = body(response)
        transaction.set_rollback(True)
    return response, text


def _case_id(route) -> str:
    return f"GET /{route.text}"


@pytest.mark.django_db
@pytest.mark.parametrize("route", GETS, ids=[_case_id(route) for route in GETS])
def test_no_answer_shows_a_full_phone_number(route, world):  # noqa: F811
    data = world["data"]
    path = build_path(route, data)
    queries = [q(data) for q in (QUERIES.get(route.name), SHOWING.get(route.name)) if q]
    if queries:
        path += "?" + "&".join(queries)
    numbers = {
        form: customer.customer_no
        for customer in Customer.objects.exclude(phone_hash="")
        for form in full_forms(customer.phone)
    }

    found = []
    for role, (_user, client) in world["members"].items():
        response, text = get(client, path)
        shown = sorted({numbers[form] for form in numbers if form in text})
        if shown:
            found.append(f"{role} ({response.status_code}): the full number of {', '.join(shown)}")

    assert not found, f"GET {path} shows full phone numbers:\n" + "\n".join(found)


def test_the_exemptions_name_urls_that_exist():
    assert set(FULL_ON_PURPOSE) <= {route.name for route in ROUTES}


def test_the_check_sees_a_full_number_in_each_form():
    # negative control: the forms the test looks for are those a page would print
    forms = full_forms("+8613812345678")
    assert {"+8613812345678", "13812345678", "138 1234 5678", "138-1234-5678"} <= forms
    assert not any(form in "138****5678" for form in forms)
