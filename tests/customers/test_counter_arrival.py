"""The counter: "arrived" opens the visit in the same step (page and API), all or nothing, and the customer's
coupons are offered for that visit at once; a "next visit only" coupon offers only the visits it may be used on."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from campaigns import services as campaign_services
from campaigns.models import Coupon
from customers import services
from customers.models import Appointment, ServiceVisit
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)
HTMX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def customer(dealership):
    return CustomerFactory(dealership=dealership, name="张伟")


@pytest.fixture
def vehicle(customer):
    return VehicleFactory(owner=customer, plate="粤BA1234", model="新君越")


@pytest.fixture
def booked(dealership, customer, vehicle):
    return Appointment.objects.create(
        dealership=dealership, customer=customer, vehicle=vehicle, date=TODAY, time_slot="09:30", source="campaign"
    )


def visit_on_file(**fields):
    """A visit recorded earlier (opened and closed the same day unless said)."""
    fields.setdefault("opened_on", TODAY)
    fields.setdefault("closed_on", fields["opened_on"])
    return ServiceVisitFactory(**fields)


def status_url(appointment):
    return reverse("customers:appointment-status", args=[appointment.pk])


def text(response) -> str:
    return response.content.decode()


def template(dealership, **fields):
    fields = {"name": "¥100 工时券", "kind": "labor_amount", "value": Decimal("100"), **fields}
    return campaign_services.coupon_template_create(dealership=dealership, **fields)


# --- the page ----------------------------------------------------------------------------------------------------


def test_the_arrivals_list_offers_the_visit_with_the_suggested_ro_and_the_appointments_vehicle(
    client_for, advisor, dealership, customer, vehicle, booked
):
    other = VehicleFactory(owner=customer, plate="粤BZ9999")

    html = text(client_for(advisor).get(reverse("customers:counter")))

    assert 'data-testid="arrival-form"' in html
    assert 'placeholder="RO20261201-001"' in html
    options = html[html.index('data-testid="arrival-vehicle"') :]
    assert options.index(f'value="{vehicle.pk}"') < options.index(f'value="{other.pk}"')
    assert '<option value="maintenance" selected>' in html


def test_arrived_opens_the_visit_in_the_same_step(client_for, advisor, dealership, customer, vehicle, booked):
    response = client_for(advisor).post(status_url(booked), {"status": "arrived"}, headers=HTMX)

    html = text(response)
    assert response.status_code == 200
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.ARRIVED
    visit = ServiceVisit.objects.get(customer=customer)
    assert (visit.ro_number, visit.vehicle_id, visit.visit_type, visit.opened_on) == (
        "RO20261201-001",
        vehicle.pk,
        "maintenance",
        TODAY,
    )
    assert visit.advisor_id == advisor.pk and visit.total_amount == Decimal("0")
    assert booked.history.first().history_user == advisor and visit.history.first().history_user == advisor
    assert "张伟 has arrived. Visit RO20261201-001 is open." in html
    assert f"/customers/{customer.pk}/?visit={visit.pk}#card-coupons" in html
    # the next arrival is offered the next number
    Appointment.objects.create(dealership=dealership, customer=customer, vehicle=vehicle, date=TODAY)
    assert 'placeholder="RO20261201-002"' in text(client_for(advisor).get(reverse("customers:counter")))


def test_the_advisor_types_the_ro_number_the_type_and_another_vehicle(client_for, advisor, customer, booked):
    second = VehicleFactory(owner=customer)

    client_for(advisor).post(
        status_url(booked),
        {"status": "arrived", "ro_number": "ro-8812", "visit_type": "repair", "vehicle": str(second.pk)},
        headers=HTMX,
    )

    visit = ServiceVisit.objects.get(customer=customer)
    assert (visit.ro_number, visit.visit_type, visit.vehicle_id) == ("RO-8812", "repair", second.pk)


def test_a_campaign_arrival_carries_the_campaigns_code(client_for, advisor, customer, booked):
    client_for(advisor).post(status_url(booked), {"status": "arrived", "campaign_code": "win26"}, headers=HTMX)

    assert ServiceVisit.objects.get(customer=customer).campaign_code == "WIN26"


def test_a_duplicate_ro_number_is_refused_and_the_arrival_is_not_half_recorded(
    client_for, advisor, dealership, customer, vehicle, booked
):
    visit_on_file(dealership=dealership, vehicle=vehicle, customer=customer, ro_number="RO-1", opened_on=TODAY)

    response = client_for(advisor).post(status_url(booked), {"status": "arrived", "ro_number": "RO-1"}, headers=HTMX)

    html = text(response)
    assert 'id="arrivals-feedback"' in html and "RO number RO-1 is already on file." in html
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED
    assert ServiceVisit.objects.filter(customer=customer).count() == 1
    assert booked.history.filter(status=Appointment.Status.ARRIVED).count() == 0
    # and the appointment is still on the list, to try again
    assert f'data-appointment-id="{booked.pk}"' in html


def test_without_javascript_a_refusal_comes_back_as_a_message(
    client_for, advisor, dealership, customer, vehicle, booked
):
    visit_on_file(dealership=dealership, vehicle=vehicle, customer=customer, ro_number="RO-1", opened_on=TODAY)

    response = client_for(advisor).post(status_url(booked), {"status": "arrived", "ro_number": "RO-1"}, follow=True)

    assert "RO number RO-1 is already on file." in text(response)
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_a_customer_without_a_vehicle_on_file_is_refused_with_what_to_do(client_for, advisor, dealership):
    walk_in = CustomerFactory(dealership=dealership, name="无车客户")
    appointment = Appointment.objects.create(dealership=dealership, customer=walk_in, date=TODAY)

    html = text(client_for(advisor).post(status_url(appointment), {"status": "arrived"}, headers=HTMX))

    assert "Choose the vehicle the customer came with" in html
    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.BOOKED


def test_a_vehicle_of_another_customer_or_store_is_refused(
    client_for, advisor, dealership, other_dealership, customer, booked
):
    stranger = VehicleFactory(owner=CustomerFactory(dealership=dealership))
    foreign = VehicleFactory(owner=CustomerFactory(dealership=other_dealership))
    client = client_for(advisor)

    first = text(client.post(status_url(booked), {"status": "arrived", "vehicle": stranger.pk}, headers=HTMX))
    second = text(client.post(status_url(booked), {"status": "arrived", "vehicle": foreign.pk}, headers=HTMX))

    assert "That vehicle is not the customer&#x27;s." in first
    assert "That vehicle is not one of this dealership&#x27;s." in second
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED and not ServiceVisit.objects.exists()


def test_no_show_opens_no_visit(client_for, advisor, booked):
    client_for(advisor).post(status_url(booked), {"status": "no_show", "ro_number": "RO-9"}, headers=HTMX)

    booked.refresh_from_db()
    assert booked.status == Appointment.Status.NO_SHOW and not ServiceVisit.objects.exists()


def test_the_service_is_all_or_nothing(dealership, customer, vehicle, booked, advisor):
    visit_on_file(dealership=dealership, vehicle=vehicle, customer=customer, ro_number="RO-1", opened_on=TODAY)

    from dealercrm.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError) as refused:
        services.appointment_arrive(appointment=booked, acting_user=advisor, ro_number="RO-1")

    assert refused.value.code == "ro_number_taken" and "ro_number" in refused.value.fields
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


# --- the API -----------------------------------------------------------------------------------------------------


def api_url(appointment):
    return f"/api/v1/appointments/{appointment.pk}/status/"


def test_the_api_arrival_opens_the_visit_and_answers_it(api_client_for, advisor, customer, vehicle, booked):
    response = api_client_for(advisor).post(
        api_url(booked), {"status": "arrived", "ro_number": "RO-77", "visit_type": "repair"}, format="json"
    )

    assert response.status_code == 200, response.json()
    body = response.json()
    visit = ServiceVisit.objects.get(customer=customer)
    assert body["status"] == "arrived"
    assert body["visit"] == {
        "id": visit.pk,
        "ro_number": "RO-77",
        "opened_on": "2026-12-01",
        "visit_type": "repair",
        "vehicle": vehicle.pk,
    }


def test_the_api_refuses_a_duplicate_ro_number_atomically(
    api_client_for, advisor, dealership, customer, vehicle, booked
):
    visit_on_file(dealership=dealership, vehicle=vehicle, customer=customer, ro_number="RO-1", opened_on=TODAY)

    response = api_client_for(advisor).post(api_url(booked), {"status": "arrived", "ro_number": "RO-1"}, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "ro_number_taken"
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_the_api_no_show_answers_no_visit(api_client_for, advisor, booked):
    response = api_client_for(advisor).post(api_url(booked), {"status": "no_show"}, format="json")

    assert response.status_code == 200 and response.json()["visit"] is None


def test_the_api_vehicle_of_another_store_reads_as_not_found(api_client_for, advisor, other_dealership, booked):
    foreign = VehicleFactory(owner=CustomerFactory(dealership=other_dealership))

    response = api_client_for(advisor).post(
        api_url(booked), {"status": "arrived", "vehicle": foreign.pk}, format="json"
    )

    assert response.status_code == 400 and "vehicle" in response.json()["fields"]
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


def test_the_api_arrival_is_the_advisors_and_not_the_agents_nor_another_stores(api_client_for, agent, outsider, booked):
    assert api_client_for(agent).post(api_url(booked), {"status": "arrived"}, format="json").status_code == 403
    assert api_client_for(outsider).post(api_url(booked), {"status": "arrived"}, format="json").status_code == 404
    booked.refresh_from_db()
    assert booked.status == Appointment.Status.BOOKED


# --- a coupon at once ----------------------------------------------------------------------------------------------


def test_after_the_arrival_a_coupon_is_redeemed_on_the_new_visit_at_once(
    client_for, advisor, dealership, customer, vehicle, booked, frozen
):
    # Given a coupon issued at booking, yesterday
    frozen.move_to(NOW - timedelta(days=1))
    coupon = campaign_services.coupon_issue(template=template(dealership), customer=customer)
    frozen.move_to(NOW)
    client = client_for(advisor)

    # When the advisor marks the arrival
    html = text(client.post(status_url(booked), {"status": "arrived"}, headers=HTMX))
    visit = ServiceVisit.objects.get(customer=customer)
    assert "Redeem the open coupon on this visit" in html

    # Then the customer's page offers the coupon with the new visit chosen
    page = text(client.get(reverse("customers:detail", args=[customer.pk]) + f"?visit={visit.pk}"))
    assert f'<option value="{visit.pk}" selected>' in page
    response = client.post(
        reverse("calls:coupon-redeem"), {"code": coupon.code, "visit": visit.pk, "next": f"/customers/{customer.pk}/"}
    )
    assert response.status_code == 302
    coupon.refresh_from_db()
    assert (coupon.status, coupon.redeemed_visit_id) == (Coupon.Status.REDEEMED, visit.pk)


def test_a_next_visit_only_coupon_offers_only_the_visits_it_may_be_used_on(
    client_for, advisor, dealership, customer, vehicle, booked, frozen
):
    # Given a visit a week ago, and yesterday's visit that issued a next-visit-only coupon
    older = visit_on_file(
        dealership=dealership, vehicle=vehicle, customer=customer, ro_number="RO-OLD", opened_on=TODAY - timedelta(7)
    )
    issuing = visit_on_file(
        dealership=dealership, vehicle=vehicle, customer=customer, ro_number="RO-ISS", opened_on=TODAY - timedelta(1)
    )
    frozen.move_to(NOW - timedelta(days=1))
    coupon = campaign_services.coupon_issue(
        template=template(dealership, next_visit_only=True), customer=customer, issued_visit=issuing
    )
    frozen.move_to(NOW)
    client = client_for(advisor)
    detail = reverse("customers:detail", args=[customer.pk])

    # Before today's visit: no visit can take it, and the page says why
    page = text(client.get(detail))
    assert 'data-testid="redeem-no-visit"' in page and "next-visit-only" in page
    desk = text(client.get(reverse("calls:coupon-redeem") + f"?code={coupon.code}"))
    assert 'data-testid="redeem-form"' not in desk

    # When the customer arrives today
    client.post(status_url(booked), {"status": "arrived", "ro_number": "RO-NEW"}, headers=HTMX)
    new = ServiceVisit.objects.get(ro_number="RO-NEW")

    # Then the choices are exactly today's visit, on the 360 page and at the coupon desk
    for html in (text(client.get(detail)), text(client.get(reverse("calls:coupon-redeem") + f"?code={coupon.code}"))):
        form = html[html.index('data-testid="redeem-form"') :]
        form = form[: form.index("</select>")]
        assert f'value="{new.pk}"' in form
        assert f'value="{issuing.pk}"' not in form and f'value="{older.pk}"' not in form


def test_the_choices_are_the_redemption_rule_itself(dealership, customer, vehicle, frozen):
    visits = [
        visit_on_file(
            dealership=dealership,
            vehicle=vehicle,
            customer=customer,
            opened_on=TODAY - timedelta(days=d),
            visit_type=kind,
            total_amount=Decimal(total),
        )
        for d, kind, total in [
            (0, "maintenance", "0"),
            (0, "repair", "800"),
            (1, "maintenance", "600"),
            (3, "repair", "50"),
        ]
    ]
    frozen.move_to(NOW - timedelta(days=1))
    coupons = [
        campaign_services.coupon_issue(
            template=template(dealership, next_visit_only=True), customer=customer, issued_visit=visits[2]
        ),
        campaign_services.coupon_issue(template=template(dealership, min_spend=Decimal("500")), customer=customer),
        campaign_services.coupon_issue(template=template(dealership, visit_types=["repair"]), customer=customer),
    ]
    frozen.move_to(NOW)
    coupons = list(Coupon.objects.select_related("template").filter(pk__in=[c.pk for c in coupons]).order_by("pk"))

    for coupon in coupons:
        choices = campaign_services.coupon_visit_choices(coupon=coupon, visits=visits, today=TODAY)
        allowed = [v for v in visits if campaign_services.redemption_refusal(coupon, v, TODAY) is None]
        assert choices == allowed
    assert [v.pk for v in campaign_services.coupon_visit_choices(coupon=coupons[0], visits=visits, today=TODAY)] == [
        visits[0].pk,
        visits[1].pk,
    ]


def test_the_choices_take_no_query_per_visit(dealership, customer, vehicle, django_assert_num_queries):
    visits = [visit_on_file(dealership=dealership, vehicle=vehicle, customer=customer) for _ in range(5)]
    coupon = campaign_services.coupon_issue(template=template(dealership), customer=customer)
    coupon = Coupon.objects.select_related("template").get(pk=coupon.pk)
    visits = list(ServiceVisit.objects.filter(pk__in=[v.pk for v in visits]))

    with django_assert_num_queries(0):
        campaign_services.coupon_visit_choices(coupon=coupon, visits=visits, today=TODAY, dealership=dealership)


def test_a_campaign_appointment_without_a_vehicle_preselects_the_invitations(
    client_for, advisor, dealership, customer, vehicle
):
    from campaigns.models import Campaign, Invitation

    other = VehicleFactory(owner=customer)  # created later: listed second unless preselected
    campaign = Campaign.objects.create(
        dealership=dealership, code="WIN", name="冬季", kind="maintenance", starts_on=TODAY, ends_on=TODAY
    )
    group = campaign_services.target_group_create(campaign=campaign, name="组", filters={})
    appointment = Appointment.objects.create(dealership=dealership, customer=customer, date=TODAY, source="campaign")
    Invitation.objects.create(
        campaign=campaign, target_group=group, customer=customer, vehicle=other, appointment=appointment, created_at=NOW
    )

    html = text(client_for(advisor).get(reverse("customers:counter")))

    options = html[html.index('data-testid="arrival-vehicle"') :]
    assert options.index(f'value="{other.pk}"') < options.index(f'value="{vehicle.pk}"')
    assert 'name="campaign_code" value="WIN"' in html
