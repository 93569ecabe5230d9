"""The customers' services refuse with stable codes; a refusal because of the record's state is a 409."""

import pytest
from django.urls import reverse

from customers import services
from customers.models import Appointment
from dealercrm.core.exceptions import ApplicationError, StateConflict
from tests.factories import CustomerFactory, VehicleFactory


def test_an_appointment_in_a_final_state_answers_409_with_its_code(dealership, advisor, api_client_for):
    customer = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=customer)  # marking the arrival opens the visit of the car the customer came with
    appointment = services.appointment_create(dealership=dealership, customer=customer, date=dealership.local_date())
    api = api_client_for(advisor)
    path = reverse("api-appointment-set-status", args=[appointment.pk])

    arrived = api.post(path, {"status": "arrived"}, format="json")
    again = api.post(path, {"status": "no_show"}, format="json")

    assert arrived.status_code == 200, arrived.content
    assert again.status_code == 409
    assert again.json()["code"] == "appointment_status_not_allowed"
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.ARRIVED


def test_refusals_name_their_code(dealership, other_dealership, advisor):
    customer = CustomerFactory(dealership=dealership)
    foreign_car = VehicleFactory(owner=CustomerFactory(dealership=other_dealership))

    with pytest.raises(ApplicationError) as channel:
        services.consent_record(customer=customer, granted=True, channel="fax", acting_user=advisor)
    with pytest.raises(ApplicationError) as foreign:
        services.appointment_create(dealership=dealership, customer=customer, vehicle=foreign_car, date=None)

    assert (channel.value.code, channel.value.status) == ("unknown_consent_channel", 400)
    assert not isinstance(foreign.value, StateConflict)
    assert (foreign.value.code, foreign.value.status) == ("other_dealership", 400)
