"""Services and database constraints behind every form, endpoint and import."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from customers import services
from customers.models import Appointment, ConsentEvent, Customer, ServiceVisit, VehicleOwnership
from dealercrm.core.exceptions import ApplicationError, StateConflict
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory, make_vin

pytestmark = pytest.mark.django_db


def test_customer_number_is_unique_per_dealership_only(dealership, other_dealership):
    CustomerFactory(dealership=dealership, customer_no="C1")
    CustomerFactory(dealership=other_dealership, customer_no="C1")  # another store may reuse it
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(dealership=dealership, customer_no="C1")


def test_vin_is_unique_per_dealership_only(dealership, other_dealership):
    vin = make_vin(42)
    VehicleFactory(owner=CustomerFactory(dealership=dealership), vin=vin)
    VehicleFactory(owner=CustomerFactory(dealership=other_dealership), vin=vin)
    with pytest.raises(IntegrityError), transaction.atomic():
        VehicleFactory(owner=CustomerFactory(dealership=dealership), vin=vin)


def test_ro_number_is_unique_per_dealership_and_service_says_so(dealership, advisor):
    visit = ServiceVisitFactory(vehicle__owner__dealership=dealership, ro_number="RO1")
    with pytest.raises(ValidationError) as excinfo:
        services.visit_create(
            dealership=dealership,
            vehicle=visit.vehicle,
            acting_user=advisor,
            ro_number="RO1",
            opened_on=date(2025, 1, 2),
            visit_type="repair",
            labor_amount=Decimal("10"),
            parts_amount=Decimal("0"),
        )
    assert "RO1" in str(excinfo.value.message_dict["ro_number"])
    assert ServiceVisit.objects.filter(ro_number="RO1").count() == 1


def test_negative_amounts_are_refused_by_the_database(dealership):
    visit = ServiceVisitFactory(vehicle__owner__dealership=dealership)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceVisit.objects.filter(pk=visit.pk).update(parts_amount=Decimal("-1.00"))


def test_visit_total_defaults_to_labour_plus_parts_and_records_mileage(dealership, advisor):
    vehicle = VehicleFactory(owner=CustomerFactory(dealership=dealership), mileage_km=None)
    visit = services.visit_create(
        dealership=dealership,
        vehicle=vehicle,
        acting_user=advisor,
        ro_number="RO9",
        opened_on=date(2025, 3, 1),
        visit_type="maintenance",
        labor_amount=Decimal("120.50"),
        parts_amount=Decimal("300.25"),
        mileage_km=15000,
    )
    assert visit.total_amount == Decimal("420.75")
    assert visit.customer == vehicle.owner
    assert visit.advisor == advisor
    vehicle.refresh_from_db()
    assert vehicle.mileage_km == 15000
    assert vehicle.readings.get().mileage_km == 15000


def test_visit_of_another_dealerships_vehicle_is_refused(dealership, other_dealership, advisor):
    foreign_vehicle = VehicleFactory(owner=CustomerFactory(dealership=other_dealership))
    with pytest.raises(ApplicationError):
        services.visit_create(
            dealership=dealership,
            vehicle=foreign_vehicle,
            ro_number="X1",
            opened_on=date(2025, 1, 1),
            visit_type="repair",
            total_amount=Decimal("1"),
        )


def test_shared_phone_is_allowed_and_flags_both_as_possible_duplicates(dealership):
    first = services.customer_create(dealership=dealership, customer_no="A1", name="张伟", phone="+8613800138000")
    assert not first.flag_possible_duplicate
    second = services.customer_create(dealership=dealership, customer_no="A2", name="张丽", phone="13800138000")
    first.refresh_from_db()
    assert second.flag_possible_duplicate and first.flag_possible_duplicate
    assert str(second.phone) == "+8613800138000"  # stored in E.164


def test_duplicate_flag_is_cleared_when_the_phone_no_longer_matches(dealership):
    a = services.customer_create(dealership=dealership, customer_no="A1", name="张伟", phone="13800138000")
    b = services.customer_create(dealership=dealership, customer_no="A2", name="张丽", phone="13800138000")
    services.customer_update(customer=b, phone="13900139000")
    a.refresh_from_db()
    b.refresh_from_db()
    assert not a.flag_possible_duplicate and not b.flag_possible_duplicate


def test_invalid_phone_is_refused_with_a_field_error(dealership):
    with pytest.raises(ValidationError) as excinfo:
        services.customer_create(dealership=dealership, customer_no="A1", name="张伟", phone="12345")
    assert "phone" in excinfo.value.message_dict
    assert not Customer.objects.exists()


def test_consent_history_keeps_every_change_and_newest_wins(dealership, advisor):
    customer = CustomerFactory(dealership=dealership, marketing_consent=False)
    now = timezone.now()
    services.consent_record(
        customer=customer, granted=True, channel="counter", acting_user=advisor, occurred_at=now - timedelta(days=10)
    )
    services.consent_record(customer=customer, granted=False, channel="phone", acting_user=advisor, occurred_at=now)
    # A late-arriving older grant is kept in the history but does not undo the newer withdrawal.
    services.consent_record(customer=customer, granted=True, channel="dms", occurred_at=now - timedelta(days=5))
    customer.refresh_from_db()
    assert customer.marketing_consent is False
    assert customer.consent_channel == "phone"
    assert ConsentEvent.objects.filter(customer=customer).count() == 3
    assert ConsentEvent.objects.filter(customer=customer, recorded_by=advisor).count() == 2


def test_vehicle_transfer_keeps_the_ownership_history(dealership):
    seller = CustomerFactory(dealership=dealership)
    buyer = CustomerFactory(dealership=dealership)
    vehicle = services.vehicle_create(
        dealership=dealership, owner=seller, vin=make_vin(7), plate="粤B12345", model="GL8"
    )
    services.vehicle_update(vehicle=vehicle, owner=buyer)
    vehicle.refresh_from_db()
    assert vehicle.owner == buyer
    history = list(VehicleOwnership.objects.filter(vehicle=vehicle).order_by("id"))
    assert [h.customer for h in history] == [seller, buyer]
    assert history[0].ended_on is not None and history[1].ended_on is None


def test_vehicle_with_bad_vin_is_not_saved(dealership):
    owner = CustomerFactory(dealership=dealership)
    bad = make_vin(3)
    bad = bad[:8] + ("0" if bad[8] != "0" else "1") + bad[9:]
    with pytest.raises(ValidationError) as excinfo:
        services.vehicle_create(dealership=dealership, owner=owner, vin=bad, plate="粤B12345", model="GL8")
    assert "vin" in excinfo.value.message_dict


def test_appointment_arrival_moves_only_forward(dealership, advisor):
    customer = CustomerFactory(dealership=dealership)
    appointment = services.appointment_create(dealership=dealership, customer=customer, date=dealership.local_date())
    services.appointment_set_status(appointment=appointment, status=Appointment.Status.ARRIVED, acting_user=advisor)
    with pytest.raises(StateConflict) as refused:
        services.appointment_set_status(appointment=appointment, status=Appointment.Status.NO_SHOW)
    assert refused.value.code == "appointment_status_not_allowed" and refused.value.status == 409
