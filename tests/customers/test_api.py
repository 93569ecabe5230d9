"""REST API v1 of customers, vehicles, visits and appointments: roles, tenancy, validation, filters, paging."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from customers.models import (
    Appointment,
    ConsentEvent,
    Customer,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)
from dealercrm.core.roles import Role
from tests.factories import (
    CustomerFactory,
    DealershipFactory,
    ServiceVisitFactory,
    UserFactory,
    VehicleFactory,
    make_plate,
    make_vin,
)

pytestmark = pytest.mark.django_db

EDITORS = {Role.ADVISOR, Role.AS_MANAGER, Role.ADMIN}
EVERYONE = set(Role.values)


def bad_check_digit(vin: str) -> str:
    wrong = "0" if vin[8] != "0" else "1"
    return vin[:8] + wrong + vin[9:]


@pytest.fixture
def szr(dealership):
    """One record of each kind in SZ01 (the store of every role fixture)."""
    customer = CustomerFactory(dealership=dealership, customer_no="C0001", name="张伟", phone="+8613800138000")
    vehicle = VehicleFactory(owner=customer, vin=make_vin(1), plate="粤BA0001")
    visit = ServiceVisitFactory(vehicle=vehicle, ro_number="RO0001")
    appointment = Appointment.objects.create(
        dealership=dealership, customer=customer, vehicle=vehicle, date=timezone.localdate() + timedelta(days=2)
    )
    return {"customer": customer, "vehicle": vehicle, "visit": visit, "appointment": appointment}


def customer_payload(**extra):
    return {"customer_no": "C9001", "name": "李娜", "phone": "13912345678", "city": "深圳", **extra}


def vehicle_payload(owner, **extra):
    return {"vin": make_vin(901), "plate": "粤BD12345", "model": "GL8", "owner": owner.pk, **extra}


def visit_payload(vehicle, **extra):
    return {
        "ro_number": "RO9001",
        "vehicle": vehicle.pk,
        "opened_on": "2024-06-01",
        "visit_type": "maintenance",
        "labor_amount": "200.00",
        "parts_amount": "350.50",
        **extra,
    }


def appointment_payload(customer, **extra):
    return {"customer": customer.pk, "date": (timezone.localdate() + timedelta(days=1)).isoformat(), **extra}


# --- The role table, endpoint by endpoint -------------------------------------------------------------------------
# name: (method, url, payload, roles allowed, status when allowed)
ENDPOINTS = {
    "customer list": ("get", lambda r: reverse("api-customer-list"), None, EVERYONE, 200),
    "customer detail": ("get", lambda r: reverse("api-customer-detail", args=[r["customer"].pk]), None, EVERYONE, 200),
    "customer create": ("post", lambda r: reverse("api-customer-list"), lambda r: customer_payload(), EDITORS, 201),
    "customer put": (
        "put",
        lambda r: reverse("api-customer-detail", args=[r["customer"].pk]),
        lambda r: customer_payload(customer_no="C0001"),
        EDITORS,
        200,
    ),
    "customer patch": (
        "patch",
        lambda r: reverse("api-customer-detail", args=[r["customer"].pk]),
        lambda r: {"city": "东莞"},
        EDITORS,
        200,
    ),
    "consent history": (
        "get",
        lambda r: reverse("api-customer-consent", args=[r["customer"].pk]),
        None,
        EVERYONE,
        200,
    ),
    "consent record": (
        "post",
        lambda r: reverse("api-customer-consent", args=[r["customer"].pk]),
        lambda r: {"granted": False, "channel": "phone"},
        EVERYONE,
        201,
    ),
    "vehicle list": ("get", lambda r: reverse("api-vehicle-list"), None, EVERYONE, 200),
    "vehicle detail": ("get", lambda r: reverse("api-vehicle-detail", args=[r["vehicle"].pk]), None, EVERYONE, 200),
    "vehicle create": (
        "post",
        lambda r: reverse("api-vehicle-list"),
        lambda r: vehicle_payload(r["customer"]),
        EDITORS,
        201,
    ),
    "vehicle patch": (
        "patch",
        lambda r: reverse("api-vehicle-detail", args=[r["vehicle"].pk]),
        lambda r: {"mileage_km": 42000},
        EDITORS,
        200,
    ),
    "visit list": ("get", lambda r: reverse("api-visit-list"), None, EVERYONE, 200),
    "visit detail": ("get", lambda r: reverse("api-visit-detail", args=[r["visit"].pk]), None, EVERYONE, 200),
    "visit create": ("post", lambda r: reverse("api-visit-list"), lambda r: visit_payload(r["vehicle"]), EDITORS, 201),
    "visit patch": (
        "patch",
        lambda r: reverse("api-visit-detail", args=[r["visit"].pk]),
        lambda r: {"campaign_code": "SPRING24"},
        EDITORS,
        200,
    ),
    "appointment list": ("get", lambda r: reverse("api-appointment-list"), None, EVERYONE, 200),
    "appointment detail": (
        "get",
        lambda r: reverse("api-appointment-detail", args=[r["appointment"].pk]),
        None,
        EVERYONE,
        200,
    ),
    # Booking is for those who edit customers and for the call centre (who book from their calls): every role.
    "appointment create": (
        "post",
        lambda r: reverse("api-appointment-list"),
        lambda r: appointment_payload(r["customer"]),
        EVERYONE,
        201,
    ),
    "appointment status": (
        "post",
        lambda r: reverse("api-appointment-set-status", args=[r["appointment"].pk]),
        lambda r: {"status": "arrived"},
        {Role.ADVISOR, Role.AS_MANAGER, Role.ADMIN},
        200,
    ),
}
LIST_ENDPOINTS = [name for name in ENDPOINTS if "list" in name]


def call(api, name, records):
    method, url, payload, _roles, _ok = ENDPOINTS[name]
    return getattr(api, method)(url(records), payload(records) if payload else None, format="json")


#: (endpoint, a role the table allows)
ALLOWED = [(name, role) for name, entry in ENDPOINTS.items() for role in sorted(entry[3])]


@pytest.mark.parametrize(("name", "role"), ALLOWED)
def test_every_role_the_table_allows_does_it(name, role, users, szr, api_client_for):
    # (a role the table refuses gets 403, a user of another dealership 404: tests/core/test_access.py)
    # given a member of SZ01 whose role may
    api = api_client_for(users[role])
    # when they call the endpoint with a valid request
    response = call(api, name, szr)
    # then it is done
    assert response.status_code == ENDPOINTS[name][4], response.content


@pytest.mark.parametrize("name", LIST_ENDPOINTS)
def test_lists_show_only_the_current_dealership(name, outsider, szr, api_client_for):
    # given SZ01 has one record of each kind, and GZ02 has a customer of its own
    theirs = CustomerFactory(dealership=outsider.dealerships.get())
    # when the GZ02 manager lists
    response = call(api_client_for(outsider), name, szr)
    # then nothing of SZ01 shows
    assert response.status_code == 200
    shown = {row["id"] for row in response.json()["results"]}
    assert szr[name.split()[0]].pk not in shown
    if name == "customer list":
        assert shown == {theirs.pk}


def test_an_id_that_is_not_a_number_is_404(advisor, api_client_for, szr):
    assert api_client_for(advisor).get("/api/v1/customers/abc/").status_code == 404


def test_a_foreign_record_is_not_changed_by_an_outsider(outsider, szr, api_client_for):
    # when a manager of GZ02 tries to edit SZ01's customer
    api_client_for(outsider).patch(
        reverse("api-customer-detail", args=[szr["customer"].pk]), {"name": "改名"}, format="json"
    )
    # then it keeps its name
    szr["customer"].refresh_from_db()
    assert szr["customer"].name == "张伟"


@pytest.mark.parametrize("resource", ["customer", "vehicle", "visit", "appointment"])
def test_records_are_not_deleted_through_the_api(resource, as_manager, szr, api_client_for):
    # when even a manager sends DELETE
    response = api_client_for(as_manager).delete(reverse(f"api-{resource}-detail", args=[szr[resource].pk]))
    # then the method is not allowed and the record stays
    assert response.status_code == 405
    assert type(szr[resource]).objects.filter(pk=szr[resource].pk).exists()


# --- Authentication and the dealership to work in -----------------------------------------------------------------


def test_unauthenticated_requests_are_refused(szr):
    response = APIClient().get(reverse("api-customer-list"))
    assert response.status_code in (401, 403)
    assert "results" not in response.json()


def test_a_token_is_obtained_with_username_and_password_and_then_authenticates(advisor, szr):
    # given the advisor's username and password
    anonymous = APIClient()
    # when a REST client asks for a token
    response = anonymous.post(reverse("api-token"), {"username": "advisor", "password": "pass-1234"}, format="json")
    # then it gets one, and the token opens the API as that user
    assert response.status_code == 200
    token = response.json()["token"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    listed = client.get(reverse("api-customer-list"))
    assert listed.status_code == 200
    assert [row["customer_no"] for row in listed.json()["results"]] == ["C0001"]


def test_a_wrong_password_gets_no_token(advisor):
    response = APIClient().post(reverse("api-token"), {"username": "advisor", "password": "nope"}, format="json")
    assert response.status_code == 400
    assert "token" not in response.json()


def test_a_bad_token_is_refused(szr):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    response = client.get(reverse("api-customer-list"))
    assert response.status_code in (401, 403)
    assert response.json()["message"] == "Invalid token."


def test_session_authentication_works_too(advisor, szr):
    # given a user logged in to the site (the browser's session)
    client = APIClient()
    client.force_login(advisor)
    # when the page's script calls the API
    read = client.get(reverse("api-customer-detail", args=[szr["customer"].pk]))
    written = client.patch(reverse("api-customer-detail", args=[szr["customer"].pk]), {"city": "惠州"}, format="json")
    # then the session authenticates both
    assert read.status_code == 200
    assert written.status_code == 200
    assert written.json()["city"] == "惠州"


def test_a_user_of_no_dealership_is_refused(api_client_for, szr):
    loner = UserFactory(username="loner", role=Role.ADMIN)
    response = api_client_for(loner).get(reverse("api-customer-list"))
    assert response.status_code == 403
    assert "results" not in response.json()


@pytest.fixture
def chain_manager(dealership, other_dealership):
    """An after-sales manager of both SZ01 and GZ02."""
    return UserFactory(username="chain", role=Role.AS_MANAGER, dealerships=[dealership, other_dealership])


def test_a_multi_store_user_must_name_the_dealership(chain_manager, szr, api_client_for):
    # when a manager of two stores calls without saying which
    response = api_client_for(chain_manager).get(reverse("api-customer-list"))
    # then the API asks for the header by name
    assert response.status_code == 400
    assert "X-Dealership" in response.json()["message"]


def test_the_x_dealership_header_selects_the_store(chain_manager, other_dealership, szr, api_client_for):
    CustomerFactory(dealership=other_dealership, customer_no="G0001")
    api = api_client_for(chain_manager)
    # when they name SZ01, then GZ02
    sz = api.get(reverse("api-customer-list"), HTTP_X_DEALERSHIP="SZ01")
    gz = api.get(reverse("api-customer-list"), {"dealership": "GZ02"})
    # then each answer holds that store's customers only
    assert [row["customer_no"] for row in sz.json()["results"]] == ["C0001"]
    assert [row["customer_no"] for row in gz.json()["results"]] == ["G0001"]


def test_the_header_also_decides_where_a_record_is_created(chain_manager, other_dealership, api_client_for):
    api = api_client_for(chain_manager)
    response = api.post(reverse("api-customer-list"), customer_payload(), format="json", HTTP_X_DEALERSHIP="GZ02")
    assert response.status_code == 201
    assert Customer.objects.get(pk=response.json()["id"]).dealership == other_dealership


def test_a_dealership_the_user_does_not_belong_to_answers_404(chain_manager, szr, api_client_for):
    DealershipFactory(code="FS03")
    response = api_client_for(chain_manager).get(reverse("api-customer-list"), HTTP_X_DEALERSHIP="FS03")
    assert response.status_code == 404
    assert "results" not in response.json()


def test_a_multi_store_user_cannot_read_a_record_of_another_store_through_the_header(
    chain_manager, other_dealership, szr, api_client_for
):
    # given a customer of SZ01; the manager works in GZ02
    url = reverse("api-customer-detail", args=[szr["customer"].pk])
    response = api_client_for(chain_manager).get(url, HTTP_X_DEALERSHIP="GZ02")
    assert response.status_code == 404


# --- Customers -----------------------------------------------------------------------------------------------------


def test_create_a_customer(advisor, api_client_for, dealership):
    # when an advisor adds a customer with a local mobile number and the customer's consent
    response = api_client_for(advisor).post(
        reverse("api-customer-list"), customer_payload(gender="F", marketing_consent=True), format="json"
    )
    # then the customer is stored in E.164 with the consent recorded as given through the API
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "139****5678"  # masked in the answer
    assert str(Customer.objects.get(pk=body["id"]).phone) == "+8613912345678"
    assert body["gender"] == "F"
    assert body["gender_display"] == "Female"
    customer = Customer.objects.get(pk=body["id"])
    assert customer.dealership == dealership
    assert customer.marketing_consent is True
    event = customer.consent_events.get()
    assert (event.channel, event.recorded_by) == ("api", advisor)


def test_a_second_customer_with_the_same_phone_is_flagged(advisor, api_client_for, szr):
    response = api_client_for(advisor).post(
        reverse("api-customer-list"), customer_payload(phone="138 0013 8000"), format="json"
    )
    assert response.status_code == 201
    assert response.json()["flag_possible_duplicate"] is True
    szr["customer"].refresh_from_db()
    assert szr["customer"].flag_possible_duplicate is True


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"phone": "1380013800"}, "phone"),  # one digit short
        ({"phone": "call me"}, "phone"),
        ({"customer_no": "C0001"}, "customer_no"),
        ({"birthday": "1990-02-30"}, "birthday"),
        ({"gender": "X"}, "gender"),
        ({"name": ""}, "name"),
    ],
)
def test_an_invalid_customer_is_refused_with_nothing_saved(payload, field, advisor, api_client_for, szr):
    response = api_client_for(advisor).post(reverse("api-customer-list"), customer_payload(**payload), format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Customer.objects.count() == 1


def test_a_duplicate_customer_number_says_so_on_the_field(advisor, api_client_for, szr):
    response = api_client_for(advisor).post(
        reverse("api-customer-list"), customer_payload(customer_no="C0001"), format="json"
    )
    assert response.json()["fields"]["customer_no"] == ["Customer number C0001 already exists."]


def test_the_same_customer_number_is_fine_in_another_dealership(outsider, api_client_for, szr):
    response = api_client_for(outsider).post(
        reverse("api-customer-list"), customer_payload(customer_no="C0001"), format="json"
    )
    assert response.status_code == 201


def test_update_a_customer_with_put_and_patch(advisor, api_client_for, szr):
    api = api_client_for(advisor)
    url = reverse("api-customer-detail", args=[szr["customer"].pk])
    put = api.put(url, customer_payload(customer_no="C0001", name="张伟伟"), format="json")
    assert put.status_code == 200, put.content
    patch = api.patch(url, {"do_not_contact": True}, format="json")
    assert patch.status_code == 200
    customer = Customer.objects.get(pk=szr["customer"].pk)
    assert (customer.name, customer.phone, customer.do_not_contact) == ("张伟伟", "+8613912345678", True)
    assert customer.history.count() == 3  # created, put, patch: the audit trail of personal data


def test_a_customer_update_cannot_change_consent_without_recording_it(advisor, api_client_for, szr):
    url = reverse("api-customer-detail", args=[szr["customer"].pk])
    response = api_client_for(advisor).patch(url, {"marketing_consent": False}, format="json")
    assert response.status_code == 400
    assert "consent" in response.json()["fields"]["marketing_consent"][0]
    szr["customer"].refresh_from_db()
    assert szr["customer"].marketing_consent is True


def test_record_and_list_consent(agent, api_client_for, szr):
    # given a customer who agreed to marketing; an agent hears them withdraw on the phone
    api = api_client_for(agent)
    url = reverse("api-customer-consent", args=[szr["customer"].pk])
    earlier = api.post(
        url, {"granted": True, "channel": "counter", "occurred_at": "2024-01-05T10:00:00+08:00"}, format="json"
    )
    # when the agent records the withdrawal
    response = api.post(url, {"granted": False, "channel": "phone", "note": "不要再打了"}, format="json")
    # then the event is kept with who recorded it, and the customer may no longer be marketed to
    assert earlier.status_code == 201
    assert response.status_code == 201, response.content
    assert response.json()["recorded_by"] == "agent"
    assert response.json()["channel_display"] == "Phone"
    szr["customer"].refresh_from_db()
    assert szr["customer"].marketing_consent is False
    # and the history lists both, newest first
    history = api.get(url).json()
    assert [(e["granted"], e["channel"]) for e in history] == [(False, "phone"), (True, "counter")]


@pytest.mark.parametrize(
    "payload",
    [
        {"granted": True, "channel": "pigeon"},
        {"channel": "phone"},
        {"granted": True, "channel": "phone", "occurred_at": "2999-01-01T00:00:00+08:00"},
        {"granted": True, "channel": "phone", "occurred_at": "yesterday"},
    ],
)
def test_invalid_consent_is_refused(payload, agent, api_client_for, szr):
    response = api_client_for(agent).post(
        reverse("api-customer-consent", args=[szr["customer"].pk]), payload, format="json"
    )
    assert response.status_code == 400
    assert not ConsentEvent.objects.exists()


def _ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_customer_filters(advisor, api_client_for, dealership):
    wang = CustomerFactory(dealership=dealership, name="王芳", phone="+8613711112222", city="深圳")
    li = CustomerFactory(
        dealership=dealership, name="李强", phone="+8675588886666", city="东莞", marketing_consent=False
    )
    zhao = CustomerFactory(dealership=dealership, name="赵王", phone="+8613900001111", do_not_contact=True)
    zhao_dup = CustomerFactory(
        dealership=dealership, name="赵敏", phone="+8613900001111", flag_possible_duplicate=True, customer_no="X77"
    )
    Customer.objects.filter(pk=wang.pk).update(updated_at=timezone.now() - timedelta(days=30))
    url = reverse("api-customer-list")
    api = api_client_for(advisor)
    assert _ids(api.get(url, {"phone": "13711112222"})) == {wang.pk}
    assert _ids(api.get(url, {"phone": "+86 137-1111-2222"})) == {wang.pk}
    assert _ids(api.get(url, {"phone": "2222"})) == {wang.pk}
    assert _ids(api.get(url, {"phone": "0755-8888 6666"})) == {li.pk}
    assert _ids(api.get(url, {"name": "王"})) == {wang.pk, zhao.pk}
    assert _ids(api.get(url, {"customer_no": "X77"})) == {zhao_dup.pk}
    assert _ids(api.get(url, {"marketing_consent": "false"})) == {li.pk}
    assert _ids(api.get(url, {"do_not_contact": "true"})) == {zhao.pk}
    assert _ids(api.get(url, {"possible_duplicate": "true"})) == {zhao_dup.pk}
    assert _ids(api.get(url, {"city": "东莞"})) == {li.pk}
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert _ids(api.get(url, {"updated_after": since})) == {li.pk, zhao.pk, zhao_dup.pk}


def test_an_invalid_filter_value_is_a_400(advisor, api_client_for, szr):
    response = api_client_for(advisor).get(reverse("api-customer-list"), {"updated_after": "last week"})
    assert response.status_code == 400
    assert "updated_after" in response.json()["fields"]


def test_customer_search_finds_by_name_number_phone_and_plate(advisor, api_client_for, szr, dealership):
    other = CustomerFactory(dealership=dealership, name="周杰", customer_no="C0002")
    VehicleFactory(owner=other, plate="粤BK7788")
    VehicleFactory(owner=other, plate="粤BK7789")
    url = reverse("api-customer-list")
    api = api_client_for(advisor)
    assert _ids(api.get(url, {"search": "张"})) == {szr["customer"].pk}
    assert _ids(api.get(url, {"search": "C0002"})) == {other.pk}
    assert _ids(api.get(url, {"search": "13800138000"})) == {szr["customer"].pk}
    # a customer with two matching vehicles shows once
    response = api.get(url, {"search": "粤BK778"})
    assert [row["id"] for row in response.json()["results"]] == [other.pk]


def test_cursor_pagination_walks_every_customer_once(advisor, api_client_for, dealership):
    made = {CustomerFactory(dealership=dealership).pk for _ in range(7)}
    api = api_client_for(advisor)
    seen, pages = [], 0
    url = reverse("api-customer-list") + "?page_size=3"
    while url:
        body = api.get(url).json()
        assert "count" not in body  # a cursor, not an offset
        seen += [row["id"] for row in body["results"]]
        url, pages = body["next"], pages + 1
    assert pages == 3
    assert sorted(seen, reverse=True) == seen  # newest first
    assert set(seen) == made and len(seen) == len(made)


# --- Vehicles ------------------------------------------------------------------------------------------------------


def test_create_a_vehicle(advisor, api_client_for, szr):
    # when an advisor adds a car, typing the VIN in lower case and the plate with a dot
    payload = vehicle_payload(szr["customer"], vin=make_vin(901).lower(), plate="粤B·D12345", fuel_type="PHEV")
    response = api_client_for(advisor).post(reverse("api-vehicle-list"), payload, format="json")
    # then it is stored normalised, with its owner summarised and its ownership history started
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["vin"], body["plate"], body["fuel_type_display"]) == (make_vin(901), "粤BD12345", "Plug-in hybrid")
    assert body["owner_summary"] == {
        "id": szr["customer"].pk,
        "customer_no": "C0001",
        "name": "张伟",
        "phone": "138****8000",
    }
    assert VehicleOwnership.objects.filter(vehicle_id=body["id"], customer=szr["customer"]).exists()


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"vin": bad_check_digit(make_vin(901))}, "vin", "check digit"),
        ({"vin": "LSG123"}, "vin", "17 characters"),
        ({"vin": make_vin(1)}, "vin", "already on file"),
        ({"plate": "粤B12"}, "plate", "not a mainland plate"),
        ({"plate": "AB12345"}, "plate", "not a mainland plate"),
        ({"fuel_type": "diesel"}, "fuel_type", ""),
        ({"purchase_date": "2024/13/01"}, "purchase_date", ""),
        ({"model_year": 1800}, "model_year", ""),
    ],
)
def test_an_invalid_vehicle_is_refused_with_nothing_saved(change, field, message, advisor, api_client_for, szr):
    payload = vehicle_payload(szr["customer"], **change)
    response = api_client_for(advisor).post(reverse("api-vehicle-list"), payload, format="json")
    assert response.status_code == 400
    assert message in response.json()["fields"][field][0]
    assert Vehicle.objects.count() == 1


def test_an_owner_of_another_dealership_is_not_found(advisor, api_client_for, other_dealership, szr):
    # given a customer id of GZ02
    stranger = CustomerFactory(dealership=other_dealership)
    # when an SZ01 advisor gives it as the owner
    response = api_client_for(advisor).post(reverse("api-vehicle-list"), vehicle_payload(stranger), format="json")
    # then the id reads as unknown here, exactly like an id that does not exist
    unknown = api_client_for(advisor).post(
        reverse("api-vehicle-list"), {**vehicle_payload(szr["customer"]), "owner": 999999}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["owner"] == [f"No customer with id {stranger.pk} in this dealership."]
    assert unknown.json()["fields"]["owner"] == ["No customer with id 999999 in this dealership."]
    assert Vehicle.objects.count() == 1


def test_a_new_owner_transfers_the_vehicle(advisor, api_client_for, szr, dealership):
    buyer = CustomerFactory(dealership=dealership, name="买家")
    url = reverse("api-vehicle-detail", args=[szr["vehicle"].pk])
    response = api_client_for(advisor).patch(url, {"owner": buyer.pk}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["owner_summary"]["name"] == "买家"
    history = VehicleOwnership.objects.filter(vehicle=szr["vehicle"]).order_by("pk")
    assert [(o.customer_id, o.ended_on is None) for o in history][-1] == (buyer.pk, True)


def test_put_a_vehicle_keeps_its_own_vin(advisor, api_client_for, szr):
    url = reverse("api-vehicle-detail", args=[szr["vehicle"].pk])
    payload = vehicle_payload(szr["customer"], vin=szr["vehicle"].vin, plate="粤BA0002", model="英朗")
    response = api_client_for(advisor).put(url, payload, format="json")
    assert response.status_code == 200, response.content
    szr["vehicle"].refresh_from_db()
    assert (szr["vehicle"].plate, szr["vehicle"].model) == ("粤BA0002", "英朗")


def test_vehicle_filters(advisor, api_client_for, dealership):
    owner = CustomerFactory(dealership=dealership)
    gl8 = VehicleFactory(owner=owner, plate="粤BD12345", model="GL8 陆尊", brand="别克", fuel_type="PHEV")
    regal = VehicleFactory(owner=CustomerFactory(dealership=dealership), plate="粤AC1234", model="新君威")
    url = reverse("api-vehicle-list")
    api = api_client_for(advisor)
    assert _ids(api.get(url, {"plate": "粤b d12345"})) == {gl8.pk}
    assert _ids(api.get(url, {"plate_prefix": "粤A"})) == {regal.pk}
    assert _ids(api.get(url, {"vin": regal.vin.lower()})) == {regal.pk}
    assert _ids(api.get(url, {"model": "gl8"})) == {gl8.pk}
    assert _ids(api.get(url, {"brand": "别克"})) == {gl8.pk, regal.pk}
    assert _ids(api.get(url, {"fuel_type": "PHEV"})) == {gl8.pk}
    assert _ids(api.get(url, {"owner": owner.pk})) == {gl8.pk}
    assert _ids(api.get(url, {"search": regal.vin[-6:]})) == {regal.pk}
    assert api.get(url, {"fuel_type": "steam"}).status_code == 400


# --- Service visits ------------------------------------------------------------------------------------------------


def test_record_a_visit(advisor, api_client_for, szr):
    # when the advisor records a visit with labour and parts but no total
    response = api_client_for(advisor).post(
        reverse("api-visit-list"), visit_payload(szr["vehicle"], mileage_km=30500), format="json"
    )
    # then the customer defaults to the owner, the total is their sum, amounts come back as exact strings
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["customer"] == szr["customer"].pk
    assert (body["vehicle_plate"], body["customer_name"]) == ("粤BA0001", "张伟")
    assert (body["labor_amount"], body["parts_amount"], body["total_amount"]) == ("200.00", "350.50", "550.50")
    assert (body["visit_type"], body["visit_type_display"], body["payer"]) == ("maintenance", "Maintenance", "customer")
    visit = ServiceVisit.objects.get(pk=body["id"])
    assert visit.total_amount == Decimal("550.50")
    assert visit.advisor == advisor
    szr["vehicle"].refresh_from_db()
    assert szr["vehicle"].mileage_km == 30500


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"labor_amount": "-1.00"}, "labor_amount"),
        ({"total_amount": "-0.01"}, "total_amount"),
        ({"parts_amount": "10.005"}, "parts_amount"),
        ({"total_amount": "12abc"}, "total_amount"),
        ({"opened_on": "2024-02-30"}, "opened_on"),
        ({"opened_on": "01/06/2024"}, "opened_on"),
        ({"closed_on": "2024-05-31"}, "closed_on"),
        ({"opened_on": "2999-01-01"}, "opened_on"),
        ({"visit_type": "carwash"}, "visit_type"),
        ({"payer": "santa"}, "payer"),
        ({"ro_number": "RO0001"}, "ro_number"),
    ],
)
def test_an_invalid_visit_is_refused_with_nothing_saved(change, field, advisor, api_client_for, szr):
    payload = visit_payload(szr["vehicle"], **change)
    response = api_client_for(advisor).post(reverse("api-visit-list"), payload, format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert ServiceVisit.objects.count() == 1


def test_a_visit_needs_an_amount(advisor, api_client_for, szr):
    payload = visit_payload(szr["vehicle"])
    del payload["labor_amount"], payload["parts_amount"]
    response = api_client_for(advisor).post(reverse("api-visit-list"), payload, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["total_amount"] == ["Give the total amount, or the labour and parts amounts."]
    assert ServiceVisit.objects.count() == 1


def test_a_duplicate_ro_number_says_so_on_the_field(advisor, api_client_for, szr):
    response = api_client_for(advisor).post(
        reverse("api-visit-list"), visit_payload(szr["vehicle"], ro_number="RO0001"), format="json"
    )
    assert response.json()["fields"]["ro_number"] == ["RO number RO0001 is already on file."]


def test_a_visit_cannot_use_a_vehicle_or_customer_of_another_dealership(advisor, api_client_for, other_dealership, szr):
    stranger = CustomerFactory(dealership=other_dealership)
    their_car = VehicleFactory(owner=stranger)
    api = api_client_for(advisor)
    by_vehicle = api.post(reverse("api-visit-list"), visit_payload(their_car), format="json")
    by_customer = api.post(
        reverse("api-visit-list"), visit_payload(szr["vehicle"], customer=stranger.pk), format="json"
    )
    assert by_vehicle.json()["fields"]["vehicle"] == [f"No vehicle with id {their_car.pk} in this dealership."]
    assert by_customer.json()["fields"]["customer"] == [f"No customer with id {stranger.pk} in this dealership."]
    assert ServiceVisit.objects.count() == 1


def test_update_a_visit(advisor, api_client_for, szr):
    url = reverse("api-visit-detail", args=[szr["visit"].pk])
    api = api_client_for(advisor)
    patch = api.patch(url, {"total_amount": "600.00", "payer": "insurance"}, format="json")
    assert patch.status_code == 200, patch.content
    assert (patch.json()["total_amount"], patch.json()["payer_display"]) == ("600.00", "Insurance")
    put = api.put(url, visit_payload(szr["vehicle"], ro_number="RO0001", closed_on="2024-06-03"), format="json")
    assert put.status_code == 200, put.content
    szr["visit"].refresh_from_db()
    assert (szr["visit"].opened_on.isoformat(), szr["visit"].closed_on.isoformat()) == ("2024-06-01", "2024-06-03")


def test_a_visit_keeps_its_vehicle(advisor, api_client_for, szr, dealership):
    other_car = VehicleFactory(owner=szr["customer"])
    url = reverse("api-visit-detail", args=[szr["visit"].pk])
    response = api_client_for(advisor).patch(url, {"vehicle": other_car.pk}, format="json")
    assert response.status_code == 400
    assert "vehicle" in response.json()["fields"]
    szr["visit"].refresh_from_db()
    assert szr["visit"].vehicle == szr["vehicle"]


def test_renaming_an_ro_to_an_existing_one_is_refused(advisor, api_client_for, szr):
    second = ServiceVisitFactory(vehicle=szr["vehicle"], ro_number="RO0002")
    url = reverse("api-visit-detail", args=[second.pk])
    response = api_client_for(advisor).patch(url, {"ro_number": "RO0001"}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["ro_number"] == ["RO number RO0001 is already on file."]


def test_visit_filters(advisor, api_client_for, dealership):
    from datetime import date

    car = VehicleFactory(owner=CustomerFactory(dealership=dealership), plate="粤BX9999")
    may = ServiceVisitFactory(vehicle=car, opened_on=date(2024, 5, 3), closed_on=None, ro_number="R-MAY")
    june = ServiceVisitFactory(
        opened_on=date(2024, 6, 20),
        closed_on=None,
        visit_type="repair",
        payer="insurance",
        campaign_code="SUMMER",
        vehicle__owner__dealership=dealership,
    )
    july = ServiceVisitFactory(
        opened_on=date(2024, 7, 1), closed_on=None, visit_type="warranty", vehicle__owner__dealership=dealership
    )
    url = reverse("api-visit-list")
    api = api_client_for(advisor)
    assert _ids(api.get(url, {"vehicle": car.pk})) == {may.pk}
    assert _ids(api.get(url, {"customer": june.customer_id})) == {june.pk}
    assert _ids(api.get(url, {"visit_type": "repair"})) == {june.pk}
    assert _ids(api.get(url, {"payer": "insurance"})) == {june.pk}
    assert _ids(api.get(url, {"opened_on_after": "2024-06-01", "opened_on_before": "2024-07-01"})) == {
        june.pk,
        july.pk,
    }
    assert _ids(api.get(url, {"opened_on_before": "2024-05-31"})) == {may.pk}
    assert _ids(api.get(url, {"campaign_code": "SUMMER"})) == {june.pk}
    assert _ids(api.get(url, {"ro_number": "R-MAY"})) == {may.pk}
    assert _ids(api.get(url, {"search": "粤BX99"})) == {may.pk}
    assert api.get(url, {"opened_on_after": "June"}).status_code == 400


# --- Appointments --------------------------------------------------------------------------------------------------


def test_book_an_appointment_and_mark_the_arrival(agent, advisor, api_client_for, szr):
    # given an agent who books an appointment from a call
    booked = api_client_for(agent).post(
        reverse("api-appointment-list"),
        appointment_payload(szr["customer"], vehicle=szr["vehicle"].pk, time_slot="09:00-10:00", source="campaign"),
        format="json",
    )
    assert booked.status_code == 201, booked.content
    body = booked.json()
    assert (body["status"], body["source"], body["vehicle_plate"]) == ("booked", "campaign", "粤BA0001")
    # when the advisor marks the arrival at the counter
    url = reverse("api-appointment-set-status", args=[body["id"]])
    arrived = api_client_for(advisor).post(url, {"status": "arrived"}, format="json")
    # then it is arrived, and it cannot be cancelled afterwards
    assert arrived.status_code == 200
    assert (arrived.json()["status"], arrived.json()["status_display"]) == ("arrived", "Arrived")
    again = api_client_for(advisor).post(url, {"status": "cancelled"}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "appointment_status_not_allowed")  # a state conflict
    assert Appointment.objects.get(pk=body["id"]).status == "arrived"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"date": "2020-01-01"}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"source": "telepathy"}, "source"),
        ({"vehicle": 999999}, "vehicle"),
    ],
)
def test_an_invalid_appointment_is_refused(change, field, agent, api_client_for, szr):
    response = api_client_for(agent).post(
        reverse("api-appointment-list"), appointment_payload(szr["customer"], **change), format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Appointment.objects.count() == 1


def test_an_outsider_cannot_book_a_customer_of_another_dealership(outsider, api_client_for, szr):
    response = api_client_for(outsider).post(
        reverse("api-appointment-list"), appointment_payload(szr["customer"]), format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["customer"] == [f"No customer with id {szr['customer'].pk} in this dealership."]
    assert Appointment.objects.count() == 1


def test_an_unknown_status_is_refused(advisor, api_client_for, szr):
    url = reverse("api-appointment-set-status", args=[szr["appointment"].pk])
    response = api_client_for(advisor).post(url, {"status": "booked"}, format="json")
    assert response.status_code == 400
    assert "status" in response.json()["fields"]


def test_appointment_filters(advisor, api_client_for, szr, dealership):
    today = timezone.localdate()
    later = Appointment.objects.create(
        dealership=dealership, customer=szr["customer"], date=today + timedelta(days=9), status="cancelled"
    )
    url = reverse("api-appointment-list")
    api = api_client_for(advisor)
    assert _ids(api.get(url, {"date": (today + timedelta(days=2)).isoformat()})) == {szr["appointment"].pk}
    assert _ids(api.get(url, {"date_after": (today + timedelta(days=3)).isoformat()})) == {later.pk}
    assert _ids(api.get(url, {"status": "booked"})) == {szr["appointment"].pk}
    assert _ids(api.get(url, {"customer": szr["customer"].pk})) == {szr["appointment"].pk, later.pk}


# --- Query counts --------------------------------------------------------------------------------------------------


def _make_rows(dealership, n):
    for i in range(n):
        customer = CustomerFactory(dealership=dealership)
        vehicle = VehicleFactory(owner=customer, plate=make_plate(1000 + i))
        ServiceVisitFactory(vehicle=vehicle)
        Appointment.objects.create(
            dealership=dealership, customer=customer, vehicle=vehicle, date=timezone.localdate() + timedelta(days=1)
        )


@pytest.mark.parametrize("resource", ["customer", "vehicle", "visit", "appointment"])
def test_lists_take_a_fixed_number_of_queries(
    resource, advisor, dealership, api_client_for, django_assert_max_num_queries
):
    # token + the user's stores + the store + the page (a cursor needs no COUNT); related rows are joined
    api = api_client_for(advisor)
    url = reverse(f"api-{resource}-list") + "?page_size=100"
    counts = []
    for rows, more in ((3, 3), (40, 37)):
        _make_rows(dealership, more)
        with django_assert_max_num_queries(4) as captured:
            response = api.get(url)
        assert len(response.json()["results"]) == rows
        counts.append(len(captured.captured_queries))
    assert counts[0] == counts[1]
