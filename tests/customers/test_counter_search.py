"""The counter's one search box: what it recognises, what it finds, and how the page answers."""

from datetime import date

import pytest
from django.urls import reverse

from customers.selectors import classify_search, counter_search
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory, make_vin

COUNTER = reverse("customers:counter")
SEARCH = reverse("customers:counter-search")
VIN_ZHANG = make_vin(90001)
VIN_LI = make_vin(90002)


@pytest.fixture
def zhang(dealership):
    customer = CustomerFactory(dealership=dealership, customer_no="C0001", name="张伟", phone="+8613800138000")
    VehicleFactory(owner=customer, plate="粤BA1234", vin=VIN_ZHANG, model="新君越")
    return customer


@pytest.fixture
def li(dealership):
    customer = CustomerFactory(dealership=dealership, customer_no="C0002", name="李娜", phone="+8613912345678")
    VehicleFactory(owner=customer, plate="粤BD12345", vin=VIN_LI, model="微蓝6", fuel_type="EV")
    return customer


@pytest.fixture
def stranger(other_dealership):
    """A customer of another store with the same plate and phone as 张伟: never found from SZ01."""
    customer = CustomerFactory(dealership=other_dealership, customer_no="C0001", name="张伟", phone="+8613800138000")
    VehicleFactory(owner=customer, plate="粤BA1234", vin=VIN_ZHANG)
    return customer


def names(results):
    return [customer.name for customer in results]


# --- What the box recognises ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "kind", "text"),
    [
        ("粤BA1234", "plate", "粤BA1234"),
        ("粤b·a1234", "plate", "粤BA1234"),
        ("粤BD12345", "plate", "粤BD12345"),
        ("A1234", "plate", "A1234"),
        ("ba1234", "plate", "BA1234"),
        ("13800138000", "phone", "13800138000"),
        ("+86 138 0013 8000", "phone", "13800138000"),
        ("0755-8888 6666", "phone", "75588886666"),
        ("8000", "digits", "8000"),
        ("12345", "digits", "12345"),
        ("12", "too_short", "12"),
        (VIN_ZHANG, "vin", VIN_ZHANG),
        (VIN_ZHANG.lower(), "vin", VIN_ZHANG),
        (VIN_ZHANG[-8:], "vin_part", VIN_ZHANG[-8:]),
        ("张伟", "name", "张伟"),
        ("苏", "name", "苏"),  # a surname that is also a province's abbreviation
        ("Wang", "name", "Wang"),
        ("", "empty", ""),
        ("   ", "empty", ""),
    ],
)
def test_the_search_box_recognises_what_was_typed_by_its_shape(typed, kind, text):
    query = classify_search(typed)

    assert (query.kind, query.text) == (kind, text)
    assert query.label  # every kind has a label to show


# --- What it finds ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed",
    [
        "粤BA1234",  # full plate
        "粤B A1234",  # as printed, with a space
        "A1234",  # the last five characters
        "BA1234",
        "13800138000",  # full phone
        "+86 138-0013-8000",
        "8000",  # last four digits of the phone
        "138000",
        VIN_ZHANG,  # full VIN
        VIN_ZHANG[-6:],  # last six of the VIN
        VIN_ZHANG[-10:],
        "张伟",  # name
        "C0001",  # customer number
    ],
)
def test_the_counter_finds_a_customer_by_plate_phone_vin_or_name(zhang, li, stranger, dealership, typed):
    _, results = counter_search(dealership=dealership, q=typed)

    assert names(results) == ["张伟"]
    assert results[0].pk == zhang.pk  # never the other store's 张伟


def test_a_partial_name_finds_everyone_whose_name_contains_it(zhang, li, dealership):
    CustomerFactory(dealership=dealership, name="张晓明")

    _, results = counter_search(dealership=dealership, q="张")

    assert sorted(names(results)) == ["张伟", "张晓明"]


def test_the_matching_vehicle_is_marked_for_highlighting(zhang, dealership):
    VehicleFactory(owner=zhang, plate="粤BC5678")

    _, results = counter_search(dealership=dealership, q="A1234")

    assert [v.plate for v in results[0].matched_vehicles] == ["粤BA1234"]
    assert len(results[0].vehicles.all()) == 2


def test_a_new_energy_plate_is_found_by_its_last_five(zhang, li, dealership):
    _, results = counter_search(dealership=dealership, q="12345")

    assert names(results) == ["李娜"]


def test_results_carry_the_last_visit_and_recent_visitors_come_first(zhang, li, dealership):
    ServiceVisitFactory(vehicle=zhang.vehicles.get(), opened_on=date(2024, 1, 5), closed_on=None)
    ServiceVisitFactory(vehicle=li.vehicles.get(), opened_on=date(2025, 3, 1), closed_on=None)
    ServiceVisitFactory(vehicle=li.vehicles.get(), opened_on=date(2023, 3, 1), closed_on=None)

    _, results = counter_search(dealership=dealership, q="粤B")

    assert names(results) == ["李娜", "张伟"]
    assert [c.last_visit for c in results] == [date(2025, 3, 1), date(2024, 1, 5)]


def test_nothing_is_searched_for_an_empty_or_too_short_box(zhang, dealership):
    assert counter_search(dealership=dealership, q="")[1] == []
    assert counter_search(dealership=dealership, q="12")[1] == []


def test_the_search_runs_in_a_fixed_number_of_queries(dealership, django_assert_max_num_queries):
    for n in range(15):
        customer = CustomerFactory(dealership=dealership, name=f"王{n}")
        VehicleFactory(owner=customer)
        VehicleFactory(owner=customer)
        ServiceVisitFactory(vehicle=customer.vehicles.first())

    with django_assert_max_num_queries(2):  # customers with their last visit, then their vehicles
        _, results = counter_search(dealership=dealership, q="王")
        for customer in results:
            list(customer.vehicles.all())

    assert len(results) == 15


def test_at_most_the_limit_is_returned(dealership):
    for n in range(5):
        CustomerFactory(dealership=dealership, name=f"王{n}")

    _, results = counter_search(dealership=dealership, q="王", limit=3)

    assert len(results) == 3


# --- How the page answers -------------------------------------------------------------------------------------


def test_enter_with_exactly_one_result_opens_the_360_page(client_for, advisor, zhang, li):
    response = client_for(advisor).get(COUNTER, {"q": "A1234"})

    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[zhang.pk])


def test_enter_with_several_results_lists_them_without_javascript(client_for, advisor, zhang, li):
    response = client_for(advisor).get(COUNTER, {"q": "粤B"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="counter-search"' in html
    assert 'value="粤B"' in html
    assert html.count('data-testid="search-result"') == 2
    assert reverse("customers:detail", args=[zhang.pk]) in html
    assert reverse("customers:detail", args=[li.pk]) in html
    assert 'data-kind="plate"' in html


def test_as_you_type_htmx_gets_only_the_results_partial(client_for, advisor, zhang, li):
    response = client_for(advisor).get(SEARCH, {"q": "8000"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a fragment for #search-results
    assert 'data-kind="digits"' in html
    assert html.count('data-testid="search-result"') == 1
    assert "张伟" in html
    assert "138****8000" in html and "138 0013 8000" not in html  # the phone, masked (PIPL)
    assert "One match: press Enter to open it." in html


def test_as_you_type_a_single_result_is_listed_not_redirected(client_for, advisor, zhang):
    response = client_for(advisor).get(COUNTER, {"q": "A1234"}, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert 'data-testid="search-result"' in response.content.decode()


def test_the_search_box_is_wired_to_the_partial(client_for, advisor):
    html = client_for(advisor).get(COUNTER).content.decode()

    assert f'hx-get="{SEARCH}"' in html
    assert 'hx-trigger="input changed delay:250ms, search"' in html
    assert 'hx-target="#search-results"' in html
    assert 'id="search-results"' in html
    assert "autofocus" in html


def test_an_empty_box_says_what_to_type(client_for, advisor):
    html = client_for(advisor).get(COUNTER).content.decode()

    assert 'data-testid="search-empty"' in html
    assert "A phone number, or its last four digits" in html


def test_no_match_says_so_and_offers_to_create_the_customer(client_for, advisor, zhang):
    response = client_for(advisor).get(SEARCH, {"q": "13700001111"})

    html = response.content.decode()
    assert "No customer of this dealership matches “13700001111”." in html
    assert f"{reverse('customers:create')}?q=13700001111" in html


def test_an_agent_is_not_offered_to_create_a_customer(client_for, agent, zhang):
    html = client_for(agent).get(SEARCH, {"q": "13700001111"}).content.decode()

    assert "No customer of this dealership matches" in html
    assert 'data-testid="create-from-search"' not in html


def test_the_other_stores_customers_never_appear(client_for, advisor, stranger):
    html = client_for(advisor).get(SEARCH, {"q": "粤BA1234"}).content.decode()

    assert 'data-testid="search-result"' not in html
    assert 'data-testid="search-no-match"' in html


def test_the_search_partial_role_and_dealership_gates(client_for, agent, outsider, zhang, db):
    # Every role of the store may search
    assert client_for(agent).get(SEARCH, {"q": "张伟"}).status_code == 200
    # Another store's user asking for SZ01 gets 404, not its customers
    assert client_for(outsider).get(SEARCH, {"q": "张伟", "dealership": "SZ01"}).status_code == 404
