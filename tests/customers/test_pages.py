"""Server-rendered pages: the layout, the counter's arrivals, the customer 360 page and the counter's forms.

Every page is checked for a role that may (200), a colleague whose role may not (403) and a user of
another dealership (404). The counter search itself is in test_counter_search.py.
"""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from customers import services
from customers.models import Appointment, ConsentEvent, Customer, ServiceVisit, Vehicle, VehicleOwnership
from dealercrm.core.roles import Role
from tests.factories import CustomerFactory, ServiceVisitFactory, UserFactory, VehicleFactory, make_vin

COUNTER = reverse("customers:counter")
GOOD_VIN = make_vin(70001)
BAD_CHECK_DIGIT_VIN = GOOD_VIN[:8] + ("0" if GOOD_VIN[8] != "0" else "1") + GOOD_VIN[9:]


def text(response) -> str:
    return response.content.decode()


@pytest.fixture
def customer(dealership):
    return CustomerFactory(
        dealership=dealership,
        customer_no="C0001",
        name="张伟",
        phone="+8613800138000",
        gender="M",
        birthday=date(1985, 6, 1),
        city="深圳",
        member_tier="gold",
        points=1280,
        preferred_channel="wechat",
        marketing_consent=False,
    )


@pytest.fixture
def vehicle(customer):
    return VehicleFactory(
        owner=customer,
        plate="粤BA1234",
        vin=make_vin(70002),
        brand="别克",
        model="新君越",
        model_year=2021,
        purchase_date=date(2021, 3, 15),
        warranty_end=date(2099, 3, 15),
        mileage_km=45200,
    )


@pytest.fixture
def foreign_customer(other_dealership):
    customer = CustomerFactory(dealership=other_dealership, name="外店客户")
    VehicleFactory(owner=customer)
    return customer


def visit_data(vehicle, **overrides):
    data = {
        "vehicle": vehicle.pk,
        "ro_number": "RO-NEW-1",
        "visit_type": "maintenance",
        "opened_on": "2025-04-01",
        "closed_on": "2025-04-01",
        "mileage_km": "46000",
        "labor_amount": "200.00",
        "parts_amount": "350.50",
        "total_amount": "",
        "payer": "customer",
        "advisor_name": "",
        "campaign_code": "",
    }
    return {**data, **overrides}


def vehicle_data(**overrides):
    data = {
        "plate": "粤BC5678",
        "vin": GOOD_VIN,
        "brand": "别克",
        "model": "GL8",
        "model_year": "2022",
        "fuel_type": "ICE",
        "purchase_date": "2022-05-01",
        "warranty_end": "2025-05-01",
        "mileage_km": "30000",
    }
    return {**data, **overrides}


def customer_data(**overrides):
    data = {
        "customer_no": "",
        "name": "王芳",
        "phone": "13912345678",
        "gender": "F",
        "birthday": "1990-02-03",
        "city": "深圳",
        "preferred_channel": "phone",
        "member_tier": "",
        "points": "0",
        "notes": "",
        "consent": "",
    }
    return {**data, **overrides}


# --- The layout ------------------------------------------------------------------------------------------------


def test_anonymous_visitors_are_sent_to_the_login_page(client, db):
    response = client.get(COUNTER)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_the_login_page_has_the_form_and_the_language_switcher(client, db):
    response = client.get(reverse("login"))

    html = text(response)
    assert response.status_code == 200
    assert 'id="login-form"' in html
    assert 'name="username"' in html and 'name="password"' in html
    assert f'action="{reverse("set_language")}"' in html
    assert 'value="zh-hans"' in html and "简体中文" in html and 'value="en"' in html


def test_logging_in_lands_on_the_counter(client, advisor):
    response = client.post(reverse("login"), {"username": "advisor", "password": "pass-1234"})

    assert response.status_code == 302
    assert response.url == COUNTER


def test_the_header_shows_product_nav_store_language_and_user_menu(client_for, advisor):
    html = text(client_for(advisor).get(COUNTER))

    assert 'lang="en"' in html
    assert "DealerCRM" in html
    assert 'data-testid="nav-counter"' in html
    assert f'href="{reverse("api-docs")}"' not in html  # the API docs are for managers (below)
    assert 'data-testid="current-dealership"' in html and "深圳别克4S店" in html
    assert 'id="dealership-switcher"' not in html  # one store: its name, no switcher
    assert f'action="{reverse("logout")}"' in html
    assert f'action="{reverse("set_language")}"' in html
    assert "bootstrap.min.css" in html and "bootstrap.bundle.min.js" in html
    assert "django_htmx/htmx-2.min.js" in html
    assert not re.search(r'(?:src|href)="(?:https?:)?//', html)  # works offline: nothing loaded from elsewhere


@pytest.mark.parametrize(
    ("role", "shown"),
    [
        (Role.ADVISOR, False),
        (Role.AGENT, False),
        (Role.CC_MANAGER, True),
        (Role.AS_MANAGER, True),
        (Role.ADMIN, True),
    ],
)
def test_the_api_docs_link_is_for_managers_and_administrators(client_for, users, role, shown):
    html = text(client_for(users[role]).get(COUNTER))

    assert ('data-testid="nav-api-docs"' in html) is shown


def test_the_api_schema_and_docs_need_a_login_and_a_managers_role(client, client_for, advisor, cc_manager):
    # anonymous: the browser is sent to log in; the schema answers 401
    docs = client.get(reverse("api-docs"))
    assert docs.status_code == 302 and docs.url.startswith(reverse("login"))
    assert client.get(reverse("api-schema")).status_code == 401
    # an advisor: refused
    assert client_for(advisor).get(reverse("api-schema")).status_code == 403
    assert client_for(advisor).get(reverse("api-docs")).status_code == 403
    # a call-centre manager reads both
    manager = client_for(cc_manager)
    assert manager.get(reverse("api-docs")).status_code == 200
    schema = manager.get(reverse("api-schema"), HTTP_ACCEPT="application/json")
    assert schema.status_code == 200 and "/api/v1/customers/" in schema.json()["paths"]


def test_the_django_admin_link_is_for_the_platforms_operators_only(client_for, advisor, admin_user):
    assert 'data-testid="nav-admin"' not in text(client_for(advisor).get(COUNTER))
    # the store's administrator gets the app's Administration pages, not the Django admin
    html = text(client_for(admin_user).get(COUNTER))
    assert 'data-testid="nav-admin"' not in html and 'data-testid="nav-staff"' in html

    admin_user.is_staff = True  # staff alone does not open the Django admin
    admin_user.save()
    assert 'data-testid="nav-admin"' not in text(client_for(admin_user).get(COUNTER))
    admin_user.is_superuser = True
    admin_user.save()
    assert 'data-testid="nav-admin"' in text(client_for(admin_user).get(COUNTER))


def test_the_import_link_is_for_roles_that_may_import(client_for, advisor, as_manager):
    assert 'data-testid="nav-import"' not in text(client_for(advisor).get(COUNTER))
    try:
        reverse("customers:import")
    except NoReverseMatch:
        pytest.skip("the DMS import page (customers:import) is not routed yet")
    assert 'data-testid="nav-import"' in text(client_for(as_manager).get(COUNTER))


def test_choosing_chinese_renders_pages_in_chinese(client_for, advisor):
    client = client_for(advisor)

    response = client.post(reverse("set_language"), {"language": "zh-hans", "next": COUNTER})

    assert response.status_code == 302
    html = text(client.get(COUNTER))
    assert '<html lang="zh-hans">' in html
    assert "简体中文" in html


def test_logging_out_is_a_post(client_for, advisor):
    client = client_for(advisor)

    response = client.post(reverse("logout"))

    assert response.status_code == 302
    assert client.get(COUNTER).status_code == 302  # back to the login page


# --- The dealership switcher -----------------------------------------------------------------------------------


@pytest.fixture
def two_store_advisor(dealership, other_dealership):
    return UserFactory(username="roaming", role=Role.ADVISOR, dealerships=[dealership, other_dealership])


def test_a_user_of_several_stores_gets_a_switcher(client_for, two_store_advisor):
    html = text(client_for(two_store_advisor).get(COUNTER))

    assert 'id="dealership-switcher"' in html
    assert f'action="{reverse("switch-dealership")}"' in html
    assert 'name="dealership" value="SZ01"' in html and 'name="dealership" value="GZ02"' in html
    assert 'name="next"' in html


def test_switching_store_changes_whose_records_the_pages_show(client_for, two_store_advisor, customer):
    client = client_for(two_store_advisor)
    detail = reverse("customers:detail", args=[customer.pk])
    # GZ02 comes first by code: SZ01's customer is not found there
    assert client.get(detail).status_code == 404

    response = client.post(reverse("switch-dealership"), {"dealership": "SZ01", "next": detail})

    assert response.status_code == 302 and response.url == detail
    assert client.get(detail).status_code == 200
    assert 'aria-current="true"' in text(client.get(COUNTER))


def test_the_dealership_parameter_picks_the_store_for_one_request(client_for, two_store_advisor, customer):
    client = client_for(two_store_advisor)
    detail = reverse("customers:detail", args=[customer.pk])

    assert client.get(detail, {"dealership": "SZ01"}).status_code == 200
    assert client.get(detail).status_code == 404  # the session still says GZ02


def test_a_store_the_user_does_not_belong_to_is_404(client_for, advisor):
    assert client_for(advisor).get(COUNTER, {"dealership": "GZ02"}).status_code == 404


# --- Today's expected arrivals ---------------------------------------------------------------------------------


def _today():
    return timezone.localdate()


@pytest.fixture
def booked(dealership, customer, vehicle):
    return Appointment.objects.create(
        dealership=dealership, customer=customer, vehicle=vehicle, date=_today(), time_slot="09:30", source="campaign"
    )


def test_the_counter_lists_todays_booked_appointments(client_for, advisor, dealership, customer, vehicle, booked):
    other = CustomerFactory(dealership=dealership, name="明天来")
    Appointment.objects.create(dealership=dealership, customer=other, date=_today() + timedelta(days=1))
    came = CustomerFactory(dealership=dealership, name="已到店")
    Appointment.objects.create(dealership=dealership, customer=came, date=_today(), status="arrived")

    html = text(client_for(advisor).get(COUNTER))

    assert html.count('data-testid="arrival"') == 1
    assert "张伟" in html and "粤BA1234" in html and "09:30" in html
    assert "明天来" not in html and "已到店" not in html
    assert 'data-testid="mark-arrived"' in html and 'data-testid="mark-no-show"' in html


def test_no_appointments_today_shows_an_empty_state(client_for, advisor):
    assert 'data-testid="arrivals-empty"' in text(client_for(advisor).get(COUNTER))


def test_an_advisor_marks_an_arrival(client_for, advisor, booked):
    url = reverse("customers:appointment-status", args=[booked.pk])

    response = client_for(advisor).post(url, {"status": "arrived"})

    assert response.status_code == 302 and response.url == COUNTER
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.ARRIVED


def test_with_htmx_the_arrivals_list_comes_back_in_place(client_for, advisor, booked):
    url = reverse("customers:appointment-status", args=[booked.pk])

    response = client_for(advisor).post(url, {"status": "no_show"}, headers={"HX-Request": "true"})

    html = text(response)
    assert response.status_code == 200
    assert html.lstrip().startswith("<section") and 'id="arrivals"' in html
    assert "张伟 marked as no-show." in html
    assert 'data-testid="arrival"' not in html
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.NO_SHOW


def test_an_appointment_already_handled_cannot_be_marked_again(client_for, advisor, booked):
    booked.status = Appointment.Status.CANCELLED
    booked.save()
    url = reverse("customers:appointment-status", args=[booked.pk])

    response = client_for(advisor).post(url, {"status": "arrived"}, follow=True)

    assert "cannot become" in text(response)
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED


def test_with_htmx_an_appointment_handled_meanwhile_answers_409_with_the_list_and_the_reason(
    client_for, advisor, booked
):
    # Given a colleague cancelled the appointment after the advisor's list was drawn
    booked.status = Appointment.Status.CANCELLED
    booked.save()

    response = client_for(advisor).post(
        reverse("customers:appointment-status", args=[booked.pk]), {"status": "arrived"}, headers={"HX-Request": "true"}
    )

    # Then the answer is a state conflict, as in the API, and still the list with the reason on top
    html = text(response)
    assert response.status_code == 409
    assert 'id="arrivals"' in html and 'id="arrivals-feedback"' in html and "cannot become" in html
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.CANCELLED


def test_an_unknown_status_is_refused(client_for, advisor, booked):
    url = reverse("customers:appointment-status", args=[booked.pk])

    assert client_for(advisor).post(url, {"status": "cancelled"}).status_code == 400


def test_an_agent_sees_arrivals_but_may_not_mark_them(client_for, agent, booked):
    client = client_for(agent)
    html = text(client.get(COUNTER))
    assert 'data-testid="arrival"' in html and 'data-testid="mark-arrived"' not in html

    response = client.post(reverse("customers:appointment-status", args=[booked.pk]), {"status": "arrived"})

    assert response.status_code == 403
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_another_stores_user_cannot_mark_an_arrival(client_for, outsider, booked):
    response = client_for(outsider).post(
        reverse("customers:appointment-status", args=[booked.pk]), {"status": "arrived"}
    )

    assert response.status_code == 404
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


# --- The customer 360 page -------------------------------------------------------------------------------------


def test_the_360_page_shows_the_customer_card(client_for, advisor, customer, vehicle):
    customer.flag_possible_duplicate = True
    customer.flag_wrong_number = True
    customer.do_not_contact = True
    customer.save()

    html = text(client_for(advisor).get(reverse("customers:detail", args=[customer.pk])))

    assert "138 0013 8000" not in html and "13800138000" not in html  # masked: the full number is a click away
    for expected in ["张伟", "C0001", "138****8000", "Male", "1985-06-01", "深圳", "Gold", "1280 points", "WeChat"]:
        assert expected in html, expected
    for flag in ["flag-possible-duplicate", "flag-wrong-number", "flag-do-not-contact"]:
        assert f'data-testid="{flag}"' in html


def test_the_360_page_shows_consent_and_its_history(client_for, advisor, agent, customer):
    services.consent_record(
        customer=customer,
        granted=True,
        channel="counter",
        acting_user=advisor,
        occurred_at=timezone.now() - timedelta(days=30),
        note="签署纸质授权",
    )
    services.consent_record(customer=customer, granted=False, channel="phone", acting_user=agent)

    html = text(client_for(advisor).get(reverse("customers:detail", args=[customer.pk])))

    assert 'id="consent-state" data-granted="false"' in html
    assert html.count('data-testid="consent-event"') == 2
    history = html.split('id="consent-history"')[1].split("</table>")[0]
    assert history.index("Withdrawn") < history.index("Granted")  # newest first
    assert "At the counter" in history and "Phone" in history and "签署纸质授权" in history
    assert str(advisor) in history and str(agent) in history


def test_the_360_page_shows_vehicles_with_age_warranty_and_owners(client_for, advisor, customer, vehicle, dealership):
    previous = CustomerFactory(dealership=dealership, name="前车主")
    VehicleOwnership.objects.filter(vehicle=vehicle).delete()
    VehicleOwnership.objects.create(
        vehicle=vehicle, customer=previous, started_on=date(2021, 3, 15), ended_on=date(2023, 1, 1)
    )
    VehicleOwnership.objects.create(vehicle=vehicle, customer=customer, started_on=date(2023, 1, 1))

    html = text(client_for(advisor).get(reverse("customers:detail", args=[customer.pk])))

    card = html.split('id="card-vehicles"')[1].split("</section>")[0]
    assert "粤BA1234" in card and vehicle.vin in card and "新君越" in card and "2021" in card
    assert "2021-03-15" in card and 'data-testid="vehicle-age"' in card and "years old" in card
    assert "45,200 km" in card
    assert "2099-03-15" in card and "in warranty" in card
    assert "前车主" in card and "2021-03-15 to 2023-01-01" in card
    assert "since 2023-01-01 (current)" in card


def test_the_360_page_lists_visits_with_totals(client_for, advisor, customer, vehicle):
    ServiceVisitFactory(
        vehicle=vehicle,
        ro_number="RO-A",
        opened_on=date(2024, 5, 10),
        labor_amount=Decimal("200.00"),
        parts_amount=Decimal("350.00"),
        total_amount=Decimal("550.00"),
        campaign_code="SUMMER24",
        advisor_name="王顾问",
    )
    ServiceVisitFactory(
        vehicle=vehicle,
        ro_number="RO-B",
        opened_on=date(2024, 9, 1),
        closed_on=date(2024, 9, 2),
        visit_type="bodywork",
        labor_amount=Decimal("1000.50"),
        parts_amount=Decimal("2000.25"),
        total_amount=Decimal("3000.75"),
        payer="insurance",
    )

    html = text(client_for(advisor).get(reverse("customers:detail", args=[customer.pk])))

    table = html.split('id="visit-history"')[1].split("</table>")[0]
    assert table.index("RO-B") < table.index("RO-A")  # newest first
    for expected in ["2024-05-10", "粤BA1234", "Maintenance", "Bodywork / accident", "Insurance", "SUMMER24", "王顾问"]:
        assert expected in table, expected
    totals = table.split('id="visit-totals"')[1]
    assert "Total, 2 visits" in totals
    assert "1,200.50" in totals and "2,350.25" in totals and "3,550.75" in totals
    assert "2 visits, last on 2024-09-01" in html


def test_the_360_page_has_placeholders_for_what_later_modules_fill(client_for, advisor, customer):
    html = text(client_for(advisor).get(reverse("customers:detail", args=[customer.pk])))

    for card in ["card-segment", "card-coupons", "card-followups"]:
        assert f'id="{card}"' in html
    assert 'data-testid="visits-empty"' in html and 'data-testid="vehicles-empty"' in html


def _count_360_queries(client, customer):
    url = reverse("customers:detail", args=[customer.pk])
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def test_the_360_page_needs_the_same_queries_for_1_or_30_visits(
    client_for, advisor, customer, vehicle, dealership, django_assert_max_num_queries
):
    client = client_for(advisor)
    ServiceVisitFactory(vehicle=vehicle)
    services.consent_record(customer=customer, granted=True, channel="counter", acting_user=advisor)
    # session, user, store, then 8 for the page, 2 for its segment card, 1 for its open coupons and 4 for the
    # follow-up cards (touches due and recent, complaints, surveys: tests/customers/test_360_cards.py counts them)
    with django_assert_max_num_queries(17):
        client.get(reverse("customers:detail", args=[customer.pk]))
    one = _count_360_queries(client, customer)

    other_car = VehicleFactory(owner=customer)
    for n in range(29):
        ServiceVisitFactory(vehicle=other_car if n % 2 else vehicle, opened_on=date(2020, 1, 1) + timedelta(days=n))
    for n in range(5):
        services.consent_record(customer=customer, granted=bool(n % 2), channel="phone", acting_user=advisor)
    Appointment.objects.create(dealership=dealership, customer=customer, vehicle=other_car, date=_today())

    assert ServiceVisit.objects.filter(customer=customer).count() == 30
    assert _count_360_queries(client, customer) == one


def test_buttons_follow_the_role(client_for, advisor, agent, customer):
    url = reverse("customers:detail", args=[customer.pk])
    advisor_html = text(client_for(advisor).get(url))
    agent_html = text(client_for(agent).get(url))

    for button in ["action-edit-customer", "action-add-vehicle", "action-record-visit", "action-record-consent"]:
        assert f'id="{button}"' in advisor_html
    assert 'id="action-record-consent"' in agent_html
    for button in ["action-edit-customer", "action-add-vehicle", "action-record-visit"]:
        assert f'id="{button}"' not in agent_html


def test_another_stores_customer_is_404(client_for, advisor, foreign_customer):
    assert client_for(advisor).get(reverse("customers:detail", args=[foreign_customer.pk])).status_code == 404


# --- Customer forms --------------------------------------------------------------------------------------------


def test_an_advisor_creates_a_customer_with_consent(client_for, advisor, dealership):
    response = client_for(advisor).post(reverse("customers:create"), customer_data(consent="granted"))

    customer = Customer.objects.get(dealership=dealership, name="王芳")
    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[customer.pk])
    assert str(customer.phone) == "+8613912345678"
    assert customer.customer_no == "CRM000001"  # numbered here when left blank
    assert customer.marketing_consent is True
    event = ConsentEvent.objects.get(customer=customer)
    assert (event.granted, event.channel, event.recorded_by) == (True, "counter", advisor)


def test_customers_created_here_are_numbered_in_sequence(client_for, advisor, dealership):
    CustomerFactory(dealership=dealership, customer_no="CRM000041")
    client = client_for(advisor)

    client.post(reverse("customers:create"), customer_data())

    assert Customer.objects.filter(dealership=dealership, customer_no="CRM000042", name="王芳").exists()


def test_the_new_customer_form_takes_the_phone_typed_at_the_counter(client_for, advisor):
    response = client_for(advisor).get(reverse("customers:create"), {"q": "139 1234 5678"})

    assert response.status_code == 200
    assert 'name="phone" value="139 1234 5678"' in text(response)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("phone", "12345", "Enter a valid phone number"),
        ("phone", "", "This field is required."),
        ("name", "", "This field is required."),
        ("birthday", "1990-02-30", "Enter a valid date."),
        ("points", "-5", "Ensure this value is greater than or equal to 0."),
    ],
)
def test_a_bad_customer_is_refused_with_a_field_error(client_for, advisor, dealership, field, value, message):
    response = client_for(advisor).post(reverse("customers:create"), customer_data(**{field: value}))

    assert response.status_code == 200
    form = response.context["form"]
    assert message in " ".join(form.errors[field])
    assert not Customer.objects.filter(dealership=dealership).exists()
    assert "Nothing was saved" in text(response)


def test_a_taken_customer_number_is_a_field_error(client_for, advisor, customer, dealership):
    response = client_for(advisor).post(reverse("customers:create"), customer_data(customer_no="C0001"))

    assert response.context["form"].errors["customer_no"] == ["Customer number C0001 already exists."]
    assert Customer.objects.filter(dealership=dealership).count() == 1


def test_errors_are_in_the_users_language(client_for, advisor, dealership):
    client = client_for(advisor)
    client.post(reverse("set_language"), {"language": "zh-hans", "next": COUNTER})

    response = client.post(reverse("customers:create"), customer_data(name=""))

    assert "该字段是必填项。" in response.context["form"].errors["name"]


def test_the_same_customer_number_may_exist_in_another_store(client_for, advisor, other_dealership, dealership):
    CustomerFactory(dealership=other_dealership, customer_no="C0009")

    response = client_for(advisor).post(reverse("customers:create"), customer_data(customer_no="C0009"))

    assert response.status_code == 302
    assert Customer.objects.filter(dealership=dealership, customer_no="C0009").exists()


def test_an_advisor_edits_a_customer(client_for, advisor, customer):
    response = client_for(advisor).post(
        reverse("customers:edit", args=[customer.pk]),
        customer_data(customer_no="C0001", name="张伟强", phone="13800138001", member_tier="diamond", points="99"),
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.name, str(customer.phone), customer.member_tier, customer.points) == (
        "张伟强",
        "+8613800138001",
        "diamond",
        99,
    )
    assert customer.marketing_consent is False  # consent is not edited here


def test_editing_with_a_bad_phone_changes_nothing(client_for, advisor, customer):
    response = client_for(advisor).post(
        reverse("customers:edit", args=[customer.pk]), customer_data(customer_no="C0001", name="新名字", phone="abc")
    )

    assert response.status_code == 200
    assert "phone" in response.context["form"].errors
    assert "张伟" in text(response)  # the header keeps the stored name
    customer.refresh_from_db()
    assert customer.name == "张伟"


def test_editing_to_a_phone_another_customer_has_flags_both(client_for, advisor, customer, dealership):
    other = CustomerFactory(dealership=dealership, phone="+8613911112222")

    client_for(advisor).post(
        reverse("customers:edit", args=[customer.pk]), customer_data(customer_no="C0001", phone="13911112222")
    )

    customer.refresh_from_db()
    other.refresh_from_db()
    assert customer.flag_possible_duplicate and other.flag_possible_duplicate


# --- Consent ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AGENT, Role.CC_MANAGER, Role.AS_MANAGER])
def test_every_role_of_the_store_records_consent(client_for, users, customer, role):
    user = users[role]

    response = client_for(user).post(
        reverse("customers:consent", args=[customer.pk]), {"granted": "1", "channel": "phone", "note": "电话同意"}
    )

    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.marketing_consent is True and customer.consent_channel == "phone"
    event = ConsentEvent.objects.get(customer=customer)
    assert (event.granted, event.recorded_by, event.note) == (True, user, "电话同意")


def test_a_withdrawal_is_recorded_and_stops_marketing(client_for, agent, customer):
    services.consent_record(customer=customer, granted=True, channel="counter")

    client_for(agent).post(reverse("customers:consent", args=[customer.pk]), {"granted": "0", "channel": "sms"})

    customer.refresh_from_db()
    assert customer.marketing_consent is False and not customer.can_be_marketed
    assert list(customer.consent_events.values_list("granted", flat=True)) == [False, True]


def test_consent_needs_an_answer_and_a_known_channel(client_for, advisor, customer):
    response = client_for(advisor).post(reverse("customers:consent", args=[customer.pk]), {"channel": "dms"})

    assert set(response.context["form"].errors) == {"granted", "channel"}
    assert not ConsentEvent.objects.exists()


# --- Vehicle forms ---------------------------------------------------------------------------------------------


def test_an_advisor_adds_a_vehicle(client_for, advisor, customer):
    response = client_for(advisor).post(
        reverse("customers:vehicle-create", args=[customer.pk]), vehicle_data(plate="粤b c5678", vin=GOOD_VIN.lower())
    )

    assert response.status_code == 302
    vehicle = Vehicle.objects.get(vin=GOOD_VIN)
    assert (vehicle.owner, vehicle.plate, vehicle.model, vehicle.mileage_km) == (customer, "粤BC5678", "GL8", 30000)
    assert VehicleOwnership.objects.filter(vehicle=vehicle, customer=customer, ended_on__isnull=True).exists()


def test_a_new_energy_plate_of_8_characters_is_accepted(client_for, advisor, customer):
    response = client_for(advisor).post(
        reverse("customers:vehicle-create", args=[customer.pk]), vehicle_data(plate="粤BD12345", fuel_type="EV")
    )

    assert response.status_code == 302
    assert Vehicle.objects.get(vin=GOOD_VIN).plate == "粤BD12345"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("vin", BAD_CHECK_DIGIT_VIN, "check digit (9th character) should be"),
        ("vin", GOOD_VIN[:16], "A VIN has 17 characters; this one has 16."),
        ("vin", "LSGPC54U0BF12345O", "except I, O and Q"),
        ("plate", "粤BI2345", "is not a mainland plate"),
        ("plate", "ABC1234", "is not a mainland plate"),
        ("plate", "粤BD1234567", "at most 8 characters"),
        ("purchase_date", "2022-13-01", "Enter a valid date."),
        ("model", "", "This field is required."),
        ("mileage_km", "-1", "greater than or equal to 0"),
    ],
)
def test_a_bad_vehicle_is_refused_with_a_field_error(client_for, advisor, customer, field, value, message):
    response = client_for(advisor).post(
        reverse("customers:vehicle-create", args=[customer.pk]), vehicle_data(**{field: value})
    )

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not Vehicle.objects.exists()
    assert not VehicleOwnership.objects.exists()


def test_a_vin_already_on_file_is_a_field_error(client_for, advisor, customer, vehicle):
    response = client_for(advisor).post(
        reverse("customers:vehicle-create", args=[customer.pk]), vehicle_data(vin=vehicle.vin)
    )

    assert response.context["form"].errors["vin"] == [f"VIN {vehicle.vin} is already on file (owner: 张伟 (C0001))."]
    assert Vehicle.objects.count() == 1


def test_an_advisor_edits_a_vehicle(client_for, advisor, customer, vehicle):
    response = client_for(advisor).post(
        reverse("customers:vehicle-edit", args=[vehicle.pk]),
        vehicle_data(vin=vehicle.vin, plate="粤BX9999", mileage_km="50000", warranty_end="2030-01-01"),
    )

    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[customer.pk])
    vehicle.refresh_from_db()
    assert (vehicle.plate, vehicle.model, vehicle.mileage_km, vehicle.warranty_end) == (
        "粤BX9999",
        "GL8",
        50000,
        date(2030, 1, 1),
    )


def test_editing_a_vehicle_with_a_bad_vin_changes_nothing(client_for, advisor, vehicle):
    response = client_for(advisor).post(
        reverse("customers:vehicle-edit", args=[vehicle.pk]), vehicle_data(vin=BAD_CHECK_DIGIT_VIN, plate="粤BX9999")
    )

    assert response.status_code == 200
    assert "vin" in response.context["form"].errors
    vehicle.refresh_from_db()
    assert vehicle.plate == "粤BA1234"


# --- Visit form ------------------------------------------------------------------------------------------------


def test_an_advisor_records_a_visit_and_the_total_defaults_to_labour_plus_parts(client_for, advisor, customer, vehicle):
    response = client_for(advisor).post(
        reverse("customers:visit-create", args=[customer.pk]), visit_data(vehicle, campaign_code="summer24")
    )

    assert response.status_code == 302
    assert response.url == reverse("customers:detail", args=[customer.pk])
    visit = ServiceVisit.objects.get(ro_number="RO-NEW-1")
    assert (visit.customer, visit.vehicle, visit.opened_on) == (customer, vehicle, date(2025, 4, 1))
    assert (visit.labor_amount, visit.parts_amount, visit.total_amount) == (
        Decimal("200.00"),
        Decimal("350.50"),
        Decimal("550.50"),
    )
    assert visit.campaign_code == "SUMMER24"
    assert visit.advisor == advisor  # left blank: the one at the counter


def test_a_given_total_is_kept(client_for, advisor, customer, vehicle):
    client_for(advisor).post(
        reverse("customers:visit-create", args=[customer.pk]), visit_data(vehicle, total_amount="500.00")
    )

    assert ServiceVisit.objects.get().total_amount == Decimal("500.00")


def test_the_visit_form_offers_the_customers_vehicles_and_today(client_for, advisor, customer, vehicle, dealership):
    someone_else = VehicleFactory(owner=CustomerFactory(dealership=dealership))

    response = client_for(advisor).get(reverse("customers:visit-create", args=[customer.pk]), {"vehicle": vehicle.pk})

    form = response.context["form"]
    assert list(form.fields["vehicle"].queryset) == [vehicle]
    assert someone_else not in form.fields["vehicle"].queryset
    assert form.initial["opened_on"] == timezone.localdate()


def test_a_customer_without_a_vehicle_is_asked_to_add_one_first(client_for, advisor, customer):
    response = client_for(advisor).get(reverse("customers:visit-create", args=[customer.pk]))

    assert 'data-testid="no-vehicle"' in text(response)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("labor_amount", "-1.00", "greater than or equal to 0"),
        ("parts_amount", "-0.01", "greater than or equal to 0"),
        ("total_amount", "-5", "greater than or equal to 0"),
        ("labor_amount", "10.005", "no more than 2 decimal places"),
        ("labor_amount", "abc", "Enter a number."),
        ("opened_on", "2025-02-30", "Enter a valid date."),
        ("opened_on", "", "This field is required."),
        ("closed_on", "2025-03-01", "cannot close before it opened"),
        ("ro_number", "", "This field is required."),
        ("visit_type", "oil", "Select a valid choice."),
        ("mileage_km", "-3", "greater than or equal to 0"),
    ],
)
def test_a_bad_visit_is_refused_with_a_field_error(client_for, advisor, customer, vehicle, field, value, message):
    response = client_for(advisor).post(
        reverse("customers:visit-create", args=[customer.pk]), visit_data(vehicle, **{field: value})
    )

    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert not ServiceVisit.objects.exists()


def test_a_duplicate_ro_number_is_a_clear_field_error(client_for, advisor, customer, vehicle):
    ServiceVisitFactory(vehicle=vehicle, ro_number="RO-NEW-1")

    response = client_for(advisor).post(reverse("customers:visit-create", args=[customer.pk]), visit_data(vehicle))

    assert response.status_code == 200
    assert response.context["form"].errors["ro_number"] == ["RO number RO-NEW-1 is already on file."]
    assert ServiceVisit.objects.count() == 1


def test_another_customers_vehicle_cannot_be_chosen(client_for, advisor, customer, vehicle, dealership):
    someone_else = VehicleFactory(owner=CustomerFactory(dealership=dealership))

    response = client_for(advisor).post(reverse("customers:visit-create", args=[customer.pk]), visit_data(someone_else))

    assert "vehicle" in response.context["form"].errors
    assert not ServiceVisit.objects.exists()


def test_a_services_refusal_is_shown_on_the_form():
    from django.core.exceptions import ValidationError

    from customers.forms import ConsentForm
    from dealercrm.core.exceptions import ApplicationError
    from dealercrm.core.forms import add_service_error

    form = ConsentForm(data={"granted": "1", "channel": "phone"})
    assert form.is_valid()

    add_service_error(form, ApplicationError("That record belongs to another dealership."))
    add_service_error(form, ValidationError({"channel": "Not today.", "dealership": "Wrong store."}))

    assert form.errors["channel"] == ["Not today."]
    assert form.non_field_errors() == ["That record belongs to another dealership.", "Wrong store."]


# --- Another store named in the query (URL × role × method: tests/core/test_access.py) ------------------------


def _pages(customer, vehicle, appointment):
    """(name, method, url, data, a role that may, a role that may not or None when every role may)."""
    c, v = customer.pk, vehicle.pk
    return [
        ("counter", "get", COUNTER, None, Role.ADVISOR, None),
        ("search", "get", reverse("customers:counter-search") + "?q=张伟", None, Role.AGENT, None),
        ("360", "get", reverse("customers:detail", args=[c]), None, Role.CC_MANAGER, None),
        ("create", "get", reverse("customers:create"), None, Role.ADVISOR, Role.AGENT),
        ("edit", "get", reverse("customers:edit", args=[c]), None, Role.AS_MANAGER, Role.CC_MANAGER),
        ("consent", "get", reverse("customers:consent", args=[c]), None, Role.AGENT, None),
        ("vehicle-create", "get", reverse("customers:vehicle-create", args=[c]), None, Role.ADMIN, Role.AGENT),
        ("vehicle-edit", "get", reverse("customers:vehicle-edit", args=[v]), None, Role.ADVISOR, Role.CC_MANAGER),
        ("visit-create", "get", reverse("customers:visit-create", args=[c]), None, Role.ADVISOR, Role.AGENT),
        (
            "arrival",
            "post",
            reverse("customers:appointment-status", args=[appointment.pk]),
            {"status": "arrived"},
            Role.AS_MANAGER,
            Role.AGENT,
        ),
    ]


def _request(client, method, url, data):
    return client.post(url, data or {}) if method == "post" else client.get(url)


def test_a_store_named_in_the_query_that_is_not_the_users_is_404_on_every_page(
    client_for, outsider, customer, vehicle, booked
):
    # (each URL × role × method, and other dealerships' records by id: tests/core/test_access.py)
    client = client_for(outsider)
    for _name, method, url, data, _allowed, _refused in _pages(customer, vehicle, booked):
        # asking for SZ01 explicitly is the only way in, and it is 404
        url += ("&" if "?" in url else "?") + "dealership=SZ01"
        assert _request(client, method, url, data).status_code == 404, url


def test_posting_a_form_is_gated_like_opening_it(client_for, agent, customer, vehicle):
    response = client_for(agent).post(reverse("customers:visit-create", args=[customer.pk]), visit_data(vehicle))

    assert response.status_code == 403
    assert not ServiceVisit.objects.exists()


def test_posting_to_another_stores_customer_is_404_and_saves_nothing(client_for, outsider, customer, vehicle):
    response = client_for(outsider).post(
        reverse("customers:vehicle-create", args=[customer.pk]), vehicle_data(vin=make_vin(70009))
    )

    assert response.status_code == 404
    assert not Vehicle.objects.filter(vin=make_vin(70009)).exists()
