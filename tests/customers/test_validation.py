"""One rule, three ways in: the page, the API and the DMS import refuse the same bad date with the same code.

The rules live in ``customers.validators`` (the models' ``clean()``, the services and the import call them)
and are taken on the dealership's own date (``Dealership.local_date``). The stores here are at the two ends
of the clock: Kiritimati (UTC+14) is always at least a day ahead of Pago Pago (UTC-11), so "the store's
today" is told apart from the server's whatever the hour the tests run.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from customers import services
from customers.importing import run_import
from customers.models import Appointment, ConsentEvent, Customer, ServiceVisit, Vehicle
from customers.validators import (
    APPOINTMENT_NOT_PAST,
    BIRTHDAY_NOT_FUTURE,
    CONSENT_IN_RANGE,
    PURCHASE_NOT_FUTURE,
    VISIT_CLOSED_BEFORE_OPENED,
    VISIT_NOT_FUTURE,
)
from dealercrm.core.roles import Role
from tests.customers.dms_files import customer_row, vehicle_row, visit_row, write_csv
from tests.customers.test_pages import customer_data, vehicle_data, visit_data
from tests.factories import CustomerFactory, DealershipFactory, UserFactory, VehicleFactory, make_vin

AHEAD, BEHIND = "Pacific/Kiritimati", "Pacific/Pago_Pago"


@pytest.fixture
def store(db):
    """A store whose today is at least a day behind Kiritimati's."""
    return DealershipFactory(code="PAGO", time_zone=BEHIND)


@pytest.fixture
def clerk(store):
    return UserFactory(username="clerk", role=Role.ADVISOR, dealerships=[store])


@pytest.fixture
def owner(store):
    return CustomerFactory(dealership=store, customer_no="C0001")


@pytest.fixture
def car(owner):
    return VehicleFactory(owner=owner, vin=make_vin(70001), plate="粤BA1234")


def ahead_today():
    return DealershipFactory(code="KIRI", time_zone=AHEAD).local_date()


def day_after(store, days=1) -> str:
    return (store.local_date() + timedelta(days=days)).isoformat()


def form_codes(response, field) -> list[str]:
    assert response.status_code == 200, "the page should show the form again"
    return [error.code for error in response.context["form"].errors.as_data()[field]]


def api_error(response, field) -> str:
    assert response.status_code == 400, response.content
    body = response.json()
    assert field in body["fields"], body
    return body["code"]


def import_codes(store, tmp_path, kind, header, rows) -> dict[str, str]:
    """{column: code} of the import's refusals."""
    path = write_csv(tmp_path / f"{kind}.csv", header, rows)
    result = run_import(dealership=store, files={kind: path})
    assert not result.ok
    return {error.column: error.code for error in result.errors if error.code}


CUSTOMER_HEADER = list(customer_row(1))
VEHICLE_HEADER = list(vehicle_row(1))
VISIT_HEADER = list(visit_row(1))


# --- birthdays -----------------------------------------------------------------------------------------------


def test_a_future_birthday_is_refused_alike_by_page_api_and_import(store, clerk, client_for, api_client_for, tmp_path):
    tomorrow = day_after(store)
    code = BIRTHDAY_NOT_FUTURE.code

    page = client_for(clerk).post(reverse("customers:create"), customer_data(birthday=tomorrow))
    api = api_client_for(clerk).post(
        reverse("api-customer-list"),
        {"customer_no": "C9", "name": "李娜", "phone": "13912345678", "birthday": tomorrow},
    )
    imported = import_codes(store, tmp_path, "customers", CUSTOMER_HEADER, [customer_row(1, birthday=tomorrow)])

    assert form_codes(page, "birthday") == [code] == [api_error(api, "birthday")]
    assert imported == {"birthday": code}
    assert not Customer.objects.exists()


def test_a_birthday_on_the_stores_today_is_accepted_everywhere(store, clerk, client_for, api_client_for, tmp_path):
    today = store.local_date().isoformat()

    page = client_for(clerk).post(reverse("customers:create"), customer_data(birthday=today))
    api = api_client_for(clerk).post(
        reverse("api-customer-list"), {"customer_no": "C9", "name": "李娜", "phone": "13912345679", "birthday": today}
    )
    path = write_csv(tmp_path / "customers.csv", CUSTOMER_HEADER, [customer_row(1, birthday=today)])
    imported = run_import(dealership=store, files={"customers": path})

    assert page.status_code == 302 and api.status_code == 201 and imported.ok
    assert Customer.objects.filter(birthday=store.local_date()).count() == 3


def test_the_rule_follows_the_stores_date_not_the_servers(store, clerk):
    """Kiritimati's today is a future day in Pago Pago: refused there; a Kiritimati store takes it."""
    day = ahead_today()
    kiritimati = DealershipFactory(code="KIRI")

    with pytest.raises(Exception) as refused:
        services.customer_create(dealership=store, customer_no="C1", name="王芳", phone="13912345678", birthday=day)
    accepted = services.customer_create(
        dealership=kiritimati, customer_no="C1", name="王芳", phone="13912345678", birthday=day
    )

    assert refused.value.error_dict["birthday"][0].code == BIRTHDAY_NOT_FUTURE.code
    assert accepted.birthday == day


def test_editing_a_customer_checks_the_birthday_too(store, clerk, owner, client_for, api_client_for):
    tomorrow = day_after(store)
    page = client_for(clerk).post(
        reverse("customers:edit", args=[owner.pk]),
        customer_data(customer_no=owner.customer_no, birthday=tomorrow, phone="13912345670"),
    )
    api = api_client_for(clerk).patch(
        reverse("api-customer-detail", args=[owner.pk]), {"birthday": tomorrow}, format="json"
    )

    assert form_codes(page, "birthday") == [api_error(api, "birthday")] == [BIRTHDAY_NOT_FUTURE.code]
    owner.refresh_from_db()
    assert owner.birthday != store.local_date() + timedelta(days=1)


# --- purchase dates ----------------------------------------------------------------------------------------------


def test_a_future_purchase_date_is_refused_alike_by_page_api_and_import(
    store, clerk, owner, client_for, api_client_for, tmp_path
):
    tomorrow = day_after(store)
    code = PURCHASE_NOT_FUTURE.code

    page = client_for(clerk).post(
        reverse("customers:vehicle-create", args=[owner.pk]), vehicle_data(purchase_date=tomorrow)
    )
    api = api_client_for(clerk).post(
        reverse("api-vehicle-list"),
        {"vin": make_vin(901), "model": "GL8", "owner": owner.pk, "purchase_date": tomorrow},
        format="json",
    )
    imported = import_codes(
        store, tmp_path, "vehicles", VEHICLE_HEADER, [vehicle_row(1, owner=1, purchase_date=tomorrow)]
    )

    assert form_codes(page, "purchase_date") == [code] == [api_error(api, "purchase_date")]
    assert imported["purchase_date"] == code
    assert not Vehicle.objects.exists()


# --- visits ------------------------------------------------------------------------------------------------------


def test_a_visit_opened_in_the_future_is_refused_alike_by_page_api_and_import(
    store, clerk, owner, car, client_for, api_client_for, tmp_path
):
    tomorrow = day_after(store)
    code = VISIT_NOT_FUTURE.code

    page = client_for(clerk).post(
        reverse("customers:visit-create", args=[owner.pk]), visit_data(car, opened_on=tomorrow, closed_on="")
    )
    api = api_client_for(clerk).post(
        reverse("api-visit-list"),
        {"ro_number": "RO9", "vehicle": car.pk, "opened_on": tomorrow, "visit_type": "maintenance", "total_amount": 1},
        format="json",
    )
    imported = import_codes(
        store, tmp_path, "visits", VISIT_HEADER, [visit_row(1, opened_at=tomorrow, closed_at="", vin=car.vin)]
    )

    assert form_codes(page, "opened_on") == [code] == [api_error(api, "opened_on")]
    assert imported["opened_at"] == code
    assert not ServiceVisit.objects.exists()


def test_a_visit_closed_before_it_opened_is_refused_alike_by_page_api_and_import(
    store, clerk, owner, car, client_for, api_client_for, tmp_path
):
    page = client_for(clerk).post(
        reverse("customers:visit-create", args=[owner.pk]),
        visit_data(car, opened_on="2025-04-02", closed_on="2025-04-01"),
    )
    api = api_client_for(clerk).post(
        reverse("api-visit-list"),
        {
            "ro_number": "RO9",
            "vehicle": car.pk,
            "opened_on": "2025-04-02",
            "closed_on": "2025-04-01",
            "visit_type": "maintenance",
            "total_amount": 1,
        },
        format="json",
    )
    imported = import_codes(
        store,
        tmp_path,
        "visits",
        VISIT_HEADER,
        [visit_row(1, opened_at="2025-04-02", closed_at="2025-04-01", vin=car.vin)],
    )

    assert form_codes(page, "closed_on") == [VISIT_CLOSED_BEFORE_OPENED] == [api_error(api, "closed_on")]
    assert imported["closed_at"] == VISIT_CLOSED_BEFORE_OPENED
    assert not ServiceVisit.objects.exists()


# --- consent -----------------------------------------------------------------------------------------------------
# The page records consent as given now (it has no time field): the API and the import name a time.


@pytest.mark.parametrize(
    "when",
    [datetime(410, 5, 1, tzinfo=UTC), datetime(1989, 12, 31, 12, tzinfo=UTC), "future"],
    ids=["year-410", "before-1990", "future"],
)
def test_a_consent_time_out_of_range_is_refused_alike_by_api_and_import(
    when, store, clerk, owner, api_client_for, tmp_path
):
    if when == "future":
        when = datetime.now(UTC) + timedelta(days=2)
    code = CONSENT_IN_RANGE.code

    api = api_client_for(clerk).post(
        reverse("api-customer-consent", args=[owner.pk]),
        {"granted": True, "channel": "phone", "occurred_at": when.isoformat()},
        format="json",
    )
    row = customer_row(2, marketing_consent="是", consent_date=store.local_date(when).isoformat())
    path = write_csv(tmp_path / "customers.csv", CUSTOMER_HEADER, [row])
    imported = run_import(dealership=store, files={"customers": path})

    assert api_error(api, "occurred_at") == code
    assert [error.column for error in imported.errors] == ["consent_date"]
    if when.year >= 1900:  # earlier years the import's date reader refuses first, as no date it can store
        assert [error.code for error in imported.errors] == [code]
    assert not ConsentEvent.objects.exists()


def test_consent_from_1990_to_now_is_accepted(store, owner):
    early = services.consent_record(
        customer=owner, granted=True, channel="phone", occurred_at=datetime(1990, 1, 2, tzinfo=UTC)
    )
    now = services.consent_record(customer=owner, granted=False, channel="phone")

    assert ConsentEvent.objects.filter(pk__in=[early.pk, now.pk]).count() == 2


# --- appointments ------------------------------------------------------------------------------------------------


def test_an_appointment_for_a_past_day_is_refused_by_the_service_and_the_api(store, clerk, owner, api_client_for):
    yesterday = day_after(store, -1)

    api = api_client_for(clerk).post(
        reverse("api-appointment-list"), {"customer": owner.pk, "date": yesterday}, format="json"
    )
    with pytest.raises(Exception) as refused:
        services.appointment_create(dealership=store, customer=owner, date=store.local_date() - timedelta(days=1))
    today = services.appointment_create(dealership=store, customer=owner, date=store.local_date())

    assert api_error(api, "date") == APPOINTMENT_NOT_PAST.code
    assert refused.value.error_dict["date"][0].code == APPOINTMENT_NOT_PAST.code
    assert list(Appointment.objects.all()) == [today]
