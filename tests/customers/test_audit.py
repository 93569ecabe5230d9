"""Every write to customers, consent, vehicles, visits and appointments names who made it, with old → new.

Through a page or the API the request's user is recorded; a service called directly (a task, a command, a
test) records the ``acting_user`` it is given; the administrator reads it all on the 360 page.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers import selectors, services
from customers.models import Appointment, Customer, ServiceVisit, Vehicle
from customers.tasks import flag_duplicate_phones_task
from dealercrm.core.audit import acting_as, as_task_actor, current_actor
from tests.factories import CustomerFactory, make_vin


@pytest.fixture
def customer(dealership, advisor):
    return services.customer_create(
        dealership=dealership, acting_user=advisor, customer_no="C0001", name="张伟", phone="13800138000"
    )


@pytest.fixture
def car(dealership, customer, advisor):
    return services.vehicle_create(
        dealership=dealership, owner=customer, acting_user=advisor, vin=make_vin(1), plate="粤BA0001", model="GL8"
    )


def latest(model, pk):
    return model.history.filter(id=pk).order_by("-history_date", "-history_id").first()


def changed_fields(entry) -> dict:
    return {change.field: (change.old, change.new) for change in entry.changes}


# --- the acting user, without a request -------------------------------------------------------------------------


def test_a_service_called_directly_records_its_acting_user_on_every_audited_record(
    dealership, advisor, as_manager, customer, car
):
    services.customer_update(customer=customer, acting_user=as_manager, city="广州")
    visit = services.visit_create(
        dealership=dealership, vehicle=car, acting_user=advisor, ro_number="RO1", opened_on=date(2025, 1, 2),
        visit_type="maintenance", total_amount=Decimal("300.00"),
    )  # fmt: skip
    appointment = services.appointment_create(
        dealership=dealership, customer=customer, date=dealership.local_date(), acting_user=advisor
    )
    services.appointment_set_status(appointment=appointment, status=Appointment.Status.ARRIVED, acting_user=as_manager)

    assert latest(Customer, customer.pk).history_user == as_manager
    assert latest(Vehicle, car.pk).history_user == advisor
    assert latest(ServiceVisit, visit.pk).history_user == advisor
    assert latest(Appointment, appointment.pk).history_user == as_manager
    assert latest(Appointment, appointment.pk).status == Appointment.Status.ARRIVED


def test_consent_names_who_recorded_it_and_the_customers_history_shows_the_change(customer, agent):
    event = services.consent_record(customer=customer, granted=True, channel="phone", acting_user=agent)

    row = latest(Customer, customer.pk)
    assert event.recorded_by == agent
    assert (row.history_user, row.marketing_consent, row.consent_channel) == (agent, True, "phone")


def test_a_transfer_and_a_new_mileage_are_recorded_as_the_acting_users(dealership, advisor, as_manager, car):
    buyer = CustomerFactory(dealership=dealership, name="李娜")
    services.vehicle_transfer(vehicle=car, new_owner=buyer, acting_user=as_manager)
    services.mileage_record(vehicle=car, mileage_km=12000, read_on=dealership.local_date(), source="counter")

    rows = list(Vehicle.history.filter(id=car.pk).order_by("history_date", "history_id"))
    assert (rows[-2].owner_id, rows[-2].history_user) == (buyer.pk, as_manager)
    assert (rows[-1].mileage_km, rows[-1].history_user) == (12000, None)  # nobody named: no user


def test_acting_as_names_the_user_or_the_system_and_restores_the_outer_one(advisor, customer):
    with acting_as(advisor):
        with as_task_actor("customers.tasks.flag_duplicate_phones_task"):
            inner = current_actor()
            customer.save()
        assert current_actor().user == advisor
    assert current_actor() is None

    row = latest(Customer, customer.pk)
    assert inner.user is None and inner.reason == "system: customers.tasks.flag_duplicate_phones_task"
    assert (row.history_user, row.history_change_reason) == (None, inner.reason)


def test_a_task_started_by_a_user_names_them(advisor, customer):
    with as_task_actor("any task", advisor.pk):
        customer.save()
    row = latest(Customer, customer.pk)
    assert (row.history_user, row.history_change_reason) == (advisor, None)


def test_a_nightly_task_runs_as_the_system(dealership):
    assert flag_duplicate_phones_task.apply().get() == {dealership.code: 0}


# --- through a page and the API: the request's user -----------------------------------------------------------------


def test_a_page_edit_and_an_api_edit_record_the_requests_user(
    client_for, api_client_for, advisor, as_manager, customer, car
):
    client_for(advisor).post(
        reverse("customers:vehicle-edit", args=[car.pk]),
        {"plate": "粤BX9999", "vin": car.vin, "model": "GL8", "brand": "", "model_year": "", "fuel_type": "",
         "purchase_date": "", "warranty_end": "", "mileage_km": ""},
    )  # fmt: skip
    assert (latest(Vehicle, car.pk).plate, latest(Vehicle, car.pk).history_user) == ("粤BX9999", advisor)

    response = api_client_for(as_manager).patch(
        reverse("api-customer-detail", args=[customer.pk]), {"city": "佛山"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert (latest(Customer, customer.pk).city, latest(Customer, customer.pk).history_user) == ("佛山", as_manager)


# --- reading it back: old → new ---------------------------------------------------------------------------------------


def test_the_change_history_names_who_changed_which_field_from_what_to_what(
    dealership, advisor, as_manager, agent, customer, car
):
    services.customer_update(customer=customer, acting_user=as_manager, city="广州", phone="13900139000")
    services.vehicle_update(vehicle=car, acting_user=advisor, plate="粤BZ0002")
    services.consent_record(customer=customer, granted=False, channel="phone", acting_user=agent)

    entries = selectors.customer_change_history(dealership=dealership, customer=customer)

    edit = next(e for e in entries if e.user == as_manager and e.record == "customer")
    # the phone masked, as on every page
    assert changed_fields(edit) == {"city": ("—", "广州"), "phone": ("138****8000", "139****9000")}
    plate = next(e for e in entries if e.record == "vehicle" and e.kind == "~")
    assert (plate.user, changed_fields(plate)) == (advisor, {"plate": ("粤BA0001", "粤BZ0002")})
    consent = [e for e in entries if e.user == agent]
    assert {e.record for e in consent} == {"customer", "consent event"}
    assert changed_fields(next(e for e in consent if e.record == "customer"))["consent_channel"] == ("—", "Phone")
    created = next(e for e in entries if e.record == "customer" and e.kind == "+")
    assert created.user == advisor and changed_fields(created)["name"] == ("—", "张伟")
    assert [e.when for e in entries] == sorted((e.when for e in entries), reverse=True)


def test_the_change_history_reads_no_other_dealerships_rows(dealership, other_dealership, advisor, customer):
    stranger = CustomerFactory(dealership=other_dealership)
    services.customer_update(customer=stranger, acting_user=advisor, city="广州")

    entries = selectors.customer_change_history(dealership=other_dealership, customer=customer)

    assert entries == []


def test_the_change_history_needs_the_same_queries_for_one_or_many_changes(dealership, advisor, customer, car):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            selectors.customer_change_history(dealership=dealership, customer=customer)
        return len(captured)

    services.customer_update(customer=customer, acting_user=advisor, city="广州")
    one = queries()
    for city in ["佛山", "东莞", "珠海", "中山", "江门"]:
        services.customer_update(customer=customer, acting_user=advisor, city=city)
        services.vehicle_update(vehicle=car, acting_user=advisor, brand=city)

    assert queries() == one
    entries = selectors.customer_change_history(dealership=dealership, customer=customer)
    assert len([e for e in entries if e.record == "customer"]) == 7


# --- the card on the 360 page: the administrator's ------------------------------------------------------------------


def test_the_administrator_sees_the_change_history_on_the_360_page(client_for, admin_user, as_manager, customer):
    services.customer_update(customer=customer, acting_user=as_manager, city="广州")

    response = client_for(admin_user).get(reverse("customers:detail", args=[customer.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="change-history"' in html
    assert 'data-field="city"' in html and "广州" in html and str(as_manager.display_name or as_manager) in html


def test_other_roles_see_no_change_history_and_another_store_finds_no_customer(
    client_for, advisor, as_manager, outsider, customer
):
    for user in (advisor, as_manager):
        response = client_for(user).get(reverse("customers:detail", args=[customer.pk]))
        assert response.status_code == 200
        assert 'data-testid="change-history"' not in response.content.decode()
    assert client_for(outsider).get(reverse("customers:detail", args=[customer.pk])).status_code == 404
