"""The possible duplicates: same phone number, or same name and a shared vehicle; the page and the API."""

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer, VehicleOwnership
from customers.services import customers_flag_duplicate_phones
from privacy.duplicates import NAME_VEHICLE, PHONE, duplicate_groups, groups_load
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

pytestmark = pytest.mark.django_db

URL = "/privacy/duplicates/"
API = "/api/v1/privacy/duplicates/"


def same_phone(dealership, n=2, phone="+8613911112222", **fields):
    return [CustomerFactory(dealership=dealership, phone=phone, **fields) for _ in range(n)]


def shared_vehicle_pair(dealership, name="李娜"):
    """Two customers of the same name (different phones): the vehicle was the first's, now the second's."""
    first = CustomerFactory(dealership=dealership, name=name)
    second = CustomerFactory(dealership=dealership, name=name)
    vehicle = VehicleFactory(owner=second)
    VehicleOwnership.objects.create(
        vehicle=vehicle, customer=first, started_on=date(2020, 1, 1), ended_on=date(2023, 1, 1)
    )
    VehicleOwnership.objects.create(vehicle=vehicle, customer=second, started_on=date(2023, 1, 1))
    return first, second


def test_customers_sharing_a_phone_form_one_group(dealership):
    trio = same_phone(dealership, 3)
    CustomerFactory(dealership=dealership)  # a phone of their own
    groups = duplicate_groups(dealership=dealership)
    assert [(g.kind, g.ids) for g in groups] == [(PHONE, sorted(c.pk for c in trio))]


def test_same_name_and_a_shared_vehicle_form_a_pair(dealership):
    first, second = shared_vehicle_pair(dealership)
    CustomerFactory(dealership=dealership, name="李娜")  # same name, no shared vehicle
    other = CustomerFactory(dealership=dealership, name="王芳")  # a shared vehicle, another name
    VehicleFactory(owner=other)
    groups = duplicate_groups(dealership=dealership)
    assert [(g.kind, g.ids) for g in groups] == [(NAME_VEHICLE, [first.pk, second.pk])]


def test_a_current_owner_counts_without_an_ownership_row(dealership):
    first = CustomerFactory(dealership=dealership, name="赵磊")
    second = CustomerFactory(dealership=dealership, name="赵磊")
    vehicle = VehicleFactory(owner=second)  # no ownership row at all: the current owner is enough
    VehicleOwnership.objects.create(
        vehicle=vehicle, customer=first, started_on=date(2020, 1, 1), ended_on=date(2021, 1, 1)
    )
    assert [g.ids for g in duplicate_groups(dealership=dealership)] == [[first.pk, second.pk]]


def test_a_pair_already_sharing_a_phone_is_listed_once(dealership):
    first, second = shared_vehicle_pair(dealership)
    Customer.objects.filter(pk=first.pk).update(phone_hash=second.phone_hash)
    assert [(g.kind, g.ids) for g in duplicate_groups(dealership=dealership)] == [(PHONE, [first.pk, second.pk])]


def test_erased_customers_and_other_dealerships_are_left_out(dealership, other_dealership):
    _keep, erased = same_phone(dealership, 2)
    Customer.objects.filter(pk=erased.pk).update(erased_at="2026-01-01T00:00:00Z")
    same_phone(other_dealership, 2)
    assert duplicate_groups(dealership=dealership) == []
    assert len(duplicate_groups(dealership=other_dealership)) == 1


def test_groups_load_shows_visits_and_vehicles(dealership):
    a, b = same_phone(dealership, 2)
    visit = ServiceVisitFactory(vehicle=VehicleFactory(owner=a), opened_on=date(2025, 3, 4), closed_on=date(2025, 3, 4))
    ServiceVisitFactory(vehicle=visit.vehicle, opened_on=date(2024, 1, 1), closed_on=date(2024, 1, 1))
    [group] = groups_load(dealership=dealership, groups=duplicate_groups(dealership=dealership))
    shown = {c.pk: (c.visit_count, c.last_visit_on, len(c.vehicles.all())) for c in group.customers}
    assert shown == {a.pk: (2, date(2025, 3, 4), 1), b.pk: (0, None, 0)}


# --- the page --------------------------------------------------------------------------------------------------


def test_the_manager_sees_each_group_side_by_side_with_masked_phones(dealership, as_manager, client_for):
    a, b = same_phone(dealership, 2, phone="+8613911112222")
    first, second = shared_vehicle_pair(dealership)
    response = client_for(as_manager).get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-testid="duplicate-group"') == 2
    assert "139****2222" in html and "13911112222" not in html
    assert f"?survivor={a.pk}&amp;merged={b.pk}" in html and f"?survivor={b.pk}&amp;merged={a.pk}" in html
    assert f"?survivor={first.pk}&amp;merged={second.pk}" in html


def test_the_page_has_an_empty_state(dealership, as_manager, client_for):
    CustomerFactory(dealership=dealership)
    response = client_for(as_manager).get(URL)
    assert response.status_code == 200
    assert 'data-testid="empty-state"' in response.content.decode()


def test_a_customers_own_duplicates(dealership, as_manager, client_for):
    a, _b = same_phone(dealership, 2)
    c, d = same_phone(dealership, 2, phone="+8613722223333")
    html = client_for(as_manager).get(URL, {"customer": c.pk}).content.decode()
    assert (
        html.count('data-testid="duplicate-group"') == 1 and f"merged={d.pk}" in html and f"merged={a.pk}" not in html
    )


def test_the_page_is_paginated(dealership, as_manager, client_for):
    for i in range(23):
        same_phone(dealership, 2, phone=f"+86139000{i:05d}")
    client = client_for(as_manager)
    assert client.get(URL).content.decode().count('data-testid="duplicate-group"') == 20
    assert client.get(URL, {"page": 2}).content.decode().count('data-testid="duplicate-group"') == 3


def test_a_colleague_of_another_role_is_refused(dealership, advisor, agent, cc_manager, client_for):
    same_phone(dealership, 2)
    for user in (advisor, agent, cc_manager):
        assert client_for(user).get(URL).status_code == 403


def test_another_dealership_sees_none_of_ours(dealership, outsider, client_for):
    a, _b = same_phone(dealership, 2)
    client = client_for(outsider)
    response = client.get(URL)
    assert response.status_code == 200 and 'data-testid="duplicate-group"' not in response.content.decode()
    assert client.get(URL, {"customer": a.pk}).status_code == 404


def _queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx)


def test_the_page_reads_a_fixed_number_of_queries(dealership, as_manager, client_for, django_assert_num_queries):
    client = client_for(as_manager)
    a, _b = same_phone(dealership, 2)
    VehicleFactory(owner=a)
    few = _queries(client, URL)
    for i in range(15):
        pair = same_phone(dealership, 2, phone=f"+86137000{i:05d}")
        VehicleFactory(owner=pair[0])
        ServiceVisitFactory(vehicle=VehicleFactory(owner=pair[1]))
    shared_vehicle_pair(dealership)
    # the groups (1), their customers with visit figures (1), their vehicles (1), whatever the number of groups
    with django_assert_num_queries(few):
        assert client.get(URL).content.decode().count('data-testid="duplicate-group"') == 17


# --- the API ---------------------------------------------------------------------------------------------------


def test_the_api_lists_the_groups(dealership, as_manager, api_client_for):
    a, b = same_phone(dealership, 2, phone="+8613911112222")
    VehicleFactory(owner=a, plate="粤B12345")
    response = api_client_for(as_manager).get(API)
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    [group] = body["results"]
    assert group["kind"] == "phone"
    assert [c["id"] for c in group["customers"]] == [a.pk, b.pk]
    assert group["customers"][0]["phone"] == "139****2222"
    assert group["customers"][0]["vehicles"][0]["plate"] == "粤B12345"
    assert group["customers"][0]["visit_count"] == 0


def test_the_api_list_reads_a_fixed_number_of_queries(
    dealership, as_manager, api_client_for, django_assert_num_queries
):
    api = api_client_for(as_manager)
    same_phone(dealership, 2)
    with CaptureQueriesContext(connection) as ctx:
        api.get(API)
    for i in range(10):
        VehicleFactory(owner=same_phone(dealership, 2, phone=f"+86136000{i:05d}")[0])
    with django_assert_num_queries(len(ctx)):
        assert api.get(API).json()["count"] == 11


def test_the_api_refuses_other_roles_and_other_dealerships(dealership, advisor, outsider, api_client_for):
    same_phone(dealership, 2)
    assert api_client_for(advisor).get(API).status_code == 403
    response = api_client_for(outsider).get(API)
    assert response.status_code == 200 and response.json()["count"] == 0


def test_the_flags_and_the_list_agree(dealership):
    a, b = same_phone(dealership, 2)
    customers_flag_duplicate_phones(dealership=dealership)
    flagged = set(Customer.objects.filter(flag_possible_duplicate=True).values_list("pk", flat=True))
    assert flagged == {pk for g in duplicate_groups(dealership=dealership) for pk in g.ids} == {a.pk, b.pk}
