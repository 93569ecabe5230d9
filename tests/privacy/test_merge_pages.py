"""The merge's confirmation page, its API and the 360 page's link to a customer's duplicates."""

import pytest
from django.contrib.messages import get_messages

from customers.models import Customer
from customers.services import customers_flag_duplicate_phones
from dealercrm.core.models import AccessEvent
from tests.factories import CustomerFactory, UserFactory, VehicleFactory

from .test_merge_helpers import WHEN, everything

pytestmark = pytest.mark.django_db

URL = "/privacy/duplicates/merge/"
API = "/api/v1/privacy/duplicates/merge/"


@pytest.fixture
def pair(dealership):
    survivor = CustomerFactory(dealership=dealership, name="张伟", phone="+8613800000001")
    merged = CustomerFactory(dealership=dealership, name="张伟", phone="+8613800000001")
    customers_flag_duplicate_phones(dealership=dealership)
    return survivor, merged


def test_the_page_shows_both_customers_and_what_will_move_and_asks_first(pair, as_manager, client_for):
    survivor, merged = pair
    everything(merged)
    VehicleFactory(owner=merged)  # two vehicles
    response = client_for(as_manager).get(URL, {"survivor": survivor.pk, "merged": merged.pk})
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="duplicate-customer"') == 2
    assert "138****0001" in html and "13800000001" not in html
    assert 'data-testid="confirm-step"' in html and 'name="confirmed" value="yes"' in html
    assert "vehicles: 2" in html and "complaints: 1" in html
    assert Customer.objects.filter(pk=merged.pk).exists()  # nothing done by looking


def test_a_post_without_confirmation_only_asks(pair, as_manager, client_for):
    survivor, merged = pair
    response = client_for(as_manager).post(URL, {"survivor": survivor.pk, "merged": merged.pk})
    assert response.status_code == 200 and 'data-testid="confirm-step"' in response.content.decode()
    assert Customer.objects.filter(pk=merged.pk).exists()


def test_the_confirmed_post_merges_and_goes_to_the_survivor(pair, as_manager, client_for):
    survivor, merged = pair
    client = client_for(as_manager)
    response = client.post(URL, {"survivor": survivor.pk, "merged": merged.pk, "confirmed": "yes"})
    assert response.status_code == 302 and response.url == f"/customers/{survivor.pk}/"
    assert not Customer.objects.filter(pk=merged.pk).exists()
    assert [str(m) for m in get_messages(response.wsgi_request)] == [
        f"Customer {merged.customer_no} was merged into {survivor.customer_no}."
    ]
    event = AccessEvent.objects.get(kind=AccessEvent.Kind.MERGE)
    assert event.user == as_manager and event.customer_id == survivor.pk


def test_a_customer_with_itself_is_refused_on_the_page(pair, as_manager, client_for):
    survivor, _merged = pair
    client = client_for(as_manager)
    # (a refused value is shown on the page with 200, as an invalid form is: dealercrm.core.views.refusal_status)
    response = client.get(URL, {"survivor": survivor.pk, "merged": survivor.pk})
    assert response.status_code == 200 and 'data-testid="merge-refused"' in response.content.decode()
    assert 'data-testid="confirm-step"' not in response.content.decode()
    response = client.post(URL, {"survivor": survivor.pk, "merged": survivor.pk, "confirmed": "yes"})
    assert response.status_code == 200 and 'data-testid="merge-refused"' in response.content.decode()
    assert Customer.objects.filter(pk=survivor.pk).exists()
    assert not AccessEvent.objects.exists()


def test_an_erased_customer_is_refused_on_the_page(pair, as_manager, client_for):
    survivor, merged = pair
    Customer.objects.filter(pk=merged.pk).update(erased_at=WHEN)
    response = client_for(as_manager).post(URL, {"survivor": survivor.pk, "merged": merged.pk, "confirmed": "yes"})
    assert response.status_code == 409 and Customer.objects.filter(pk=merged.pk).exists()


def test_missing_ids_are_asked_for_and_unknown_ones_not_found(pair, as_manager, client_for):
    survivor, _merged = pair
    client = client_for(as_manager)
    assert client.get(URL).status_code == 400
    assert client.get(URL, {"survivor": survivor.pk, "merged": "x"}).status_code == 400
    assert client.post(URL, {"confirmed": "yes"}).status_code == 400
    assert client.get(URL, {"survivor": survivor.pk, "merged": 999999}).status_code == 404


def test_colleagues_of_other_roles_are_refused(pair, advisor, agent, cc_manager, client_for):
    survivor, merged = pair
    for user in (advisor, agent, cc_manager):
        client = client_for(user)
        assert client.get(URL, {"survivor": survivor.pk, "merged": merged.pk}).status_code == 403
        data = {"survivor": survivor.pk, "merged": merged.pk, "confirmed": "yes"}
        assert client.post(URL, data).status_code == 403
    assert Customer.objects.filter(pk=merged.pk).exists()


def test_another_dealership_finds_neither_customer(pair, outsider, client_for):
    survivor, merged = pair
    client = client_for(outsider)
    assert client.get(URL, {"survivor": survivor.pk, "merged": merged.pk}).status_code == 404
    data = {"survivor": survivor.pk, "merged": merged.pk, "confirmed": "yes"}
    assert client.post(URL, data).status_code == 404
    assert Customer.objects.filter(pk=merged.pk).exists()


# --- the API ---------------------------------------------------------------------------------------------------


def test_the_api_merges_and_answers_the_survivor(pair, as_manager, api_client_for):
    survivor, merged = pair
    everything(merged)
    response = api_client_for(as_manager).post(API, {"survivor": survivor.pk, "merged": merged.pk}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["id"] == survivor.pk and body["phone"] == "138****0001"
    assert body["flag_possible_duplicate"] is False
    assert not Customer.objects.filter(pk=merged.pk).exists()
    assert AccessEvent.objects.filter(kind=AccessEvent.Kind.MERGE).count() == 1


def test_the_api_refuses_a_customer_with_itself(pair, as_manager, api_client_for):
    survivor, _merged = pair
    response = api_client_for(as_manager).post(API, {"survivor": survivor.pk, "merged": survivor.pk}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "merge_same_customer"


def test_the_api_refuses_an_erased_customer(pair, as_manager, api_client_for):
    survivor, merged = pair
    Customer.objects.filter(pk=survivor.pk).update(erased_at=WHEN)
    response = api_client_for(as_manager).post(API, {"survivor": survivor.pk, "merged": merged.pk}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "merge_erased_customer"


def test_the_api_refuses_a_merge_across_dealerships(dealership, other_dealership, api_client_for):
    # given a manager of both stores, and a customer in each
    manager = UserFactory(username="both", role="as_manager", dealerships=[dealership, other_dealership])
    ours = CustomerFactory(dealership=dealership)
    theirs = CustomerFactory(dealership=other_dealership)
    response = api_client_for(manager).post(
        f"{API}?dealership={dealership.code}", {"survivor": ours.pk, "merged": theirs.pk}, format="json"
    )
    assert response.status_code == 400 and response.json()["code"] == "merge_across_dealerships"
    assert Customer.objects.filter(pk=theirs.pk).exists()


def test_the_api_refuses_other_roles_and_dealerships(pair, advisor, outsider, api_client_for):
    survivor, merged = pair
    data = {"survivor": survivor.pk, "merged": merged.pk}
    assert api_client_for(advisor).post(API, data, format="json").status_code == 403
    response = api_client_for(outsider).post(API, data, format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert Customer.objects.filter(pk=merged.pk).exists()


def test_the_api_validates_its_body(as_manager, api_client_for):
    response = api_client_for(as_manager).post(API, {"survivor": "x"}, format="json")
    assert response.status_code == 400 and set(response.json()["fields"]) == {"survivor", "merged"}


# --- the 360 page ----------------------------------------------------------------------------------------------


def test_the_360_page_links_a_flagged_customer_to_their_duplicates(pair, as_manager, advisor, client_for):
    survivor, _merged = pair
    link = f'href="/privacy/duplicates/?customer={survivor.pk}"'
    assert link in client_for(as_manager).get(f"/customers/{survivor.pk}/").content.decode()
    assert link not in client_for(advisor).get(f"/customers/{survivor.pk}/").content.decode()


def test_no_link_for_a_customer_not_flagged(dealership, as_manager, client_for):
    customer = CustomerFactory(dealership=dealership)
    assert "/privacy/duplicates/" not in client_for(as_manager).get(f"/customers/{customer.pk}/").content.decode()
