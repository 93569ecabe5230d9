"""The counter's side of campaigns: the VIP "green channel" on today's arrivals, open coupons on the 360 page,
redeeming a coupon (from the 360 page or by its code) with every refusal shown, and voiding one.

Each page and action is checked for a role that may (200/302), a colleague who may not (403) and a user of
another dealership (404).
"""

from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import services
from campaigns.models import Coupon, Invitation
from customers.models import Appointment
from tests.campaigns.conftest import NOW
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

TODAY = date(2026, 12, 1)
COUNTER = reverse("customers:counter")
DESK = reverse("calls:coupon-redeem")


def text(response) -> str:
    return unescape(response.content.decode())


def follow_text(response) -> str:
    """The page a redirect leads to, with its messages."""
    return text(response)


@pytest.fixture(autouse=True)
def at_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def offer(dealership):
    return services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100"), min_spend=Decimal("300")
    )


@pytest.fixture
def invitees(dealership, campaign, person, agent, running, offer):
    """Two invitees of a running campaign who accepted with an appointment today (and so hold its coupon)."""
    for i in range(2):
        person(c3_group="profitable_loyal", name=f"贵宾{i}")
    services.target_group_create(
        campaign=campaign, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]}, offers=[offer]
    )
    running()
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    invitations = list(Invitation.objects.filter(campaign=campaign).order_by("id"))
    for i, invitation in enumerate(invitations):
        services.call_record(
            invitation=invitation, agent=agent, outcome="accepted", appointment_date=TODAY, time_slot=f"0{9 + i}:00"
        )
    return [i.customer for i in Invitation.objects.filter(campaign=campaign).select_related("customer")]


@pytest.fixture
def walk_in(dealership):
    """A customer booked at the counter today: no campaign behind the appointment."""
    customer = CustomerFactory(dealership=dealership, name="散客")
    Appointment.objects.create(dealership=dealership, customer=customer, date=TODAY, source="counter")
    return customer


@pytest.fixture
def holder(invitees):
    return invitees[0]


@pytest.fixture
def coupon(holder):
    return Coupon.objects.get(customer=holder)


def visit_of(customer, **fields):
    vehicle = customer.vehicles.first() or VehicleFactory(owner=customer)
    fields = {"opened_on": TODAY, "closed_on": TODAY, "total_amount": Decimal("800.00"), **fields}
    return ServiceVisitFactory(vehicle=vehicle, **fields)


# --- Today's arrivals ------------------------------------------------------------------------------------


def test_an_invitee_arriving_today_has_the_vip_badge_with_the_campaign_and_coupons(
    client_for, advisor, invitees, walk_in, campaign
):
    html = text(client_for(advisor).get(COUNTER))

    rows = html.split('data-testid="arrival"')[1:]
    assert len(rows) == 3
    vip = [row for row in rows if 'data-testid="vip"' in row]
    assert len(vip) == 2
    for row in vip:
        assert "VIP green channel" in row and campaign.name in row
        assert 'data-testid="arrival-coupons"' in row and "¥100 工时券" in row
    plain = next(row for row in rows if "散客" in row)
    assert 'data-testid="vip"' not in plain and 'data-testid="arrival-coupons"' not in plain
    for customer in invitees:
        assert Coupon.objects.get(customer=customer).code in html


def test_the_arrivals_take_the_same_queries_for_one_or_many_invitees(
    client_for, advisor, dealership, campaign, person, agent, invitees, offer
):
    client = client_for(advisor)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(COUNTER).status_code == 200
        return len(queries)

    two = count()
    for i in range(5):
        customer = person(c3_group="profitable_loyal", name=f"新贵宾{i}")
        invitation = Invitation.objects.create(
            campaign=campaign, target_group=campaign.target_groups.get(), customer=customer, agent=agent, created_at=NOW
        )
        services.call_record(invitation=invitation, agent=agent, outcome="accepted", appointment_date=TODAY)
    assert Appointment.objects.filter(date=TODAY).count() == 7
    assert count() == two


def test_marking_a_vip_arrived_still_works_and_the_list_keeps_the_others_marks(client_for, advisor, invitees):
    first = Appointment.objects.filter(customer=invitees[0]).get()
    url = reverse("customers:appointment-status", args=[first.pk])

    response = client_for(advisor).post(url, {"status": "arrived"}, headers={"HX-Request": "true"})

    html = text(response)
    assert response.status_code == 200 and f"{invitees[0].name} has arrived." in html
    assert html.count('data-testid="arrival"') == 1 and 'data-testid="vip"' in html
    first.refresh_from_db()
    assert first.status == Appointment.Status.ARRIVED


def test_the_counter_has_the_coupon_code_box_for_the_advisor_only(client_for, advisor, agent, db):
    assert 'id="coupon-lookup-form"' in text(client_for(advisor).get(COUNTER))
    assert 'id="coupon-lookup-form"' not in text(client_for(agent).get(COUNTER))


# --- The 360 page ----------------------------------------------------------------------------------------


def detail(customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


def test_the_360_page_lists_open_coupons_with_a_redeem_form_for_the_advisor(client_for, advisor, holder, coupon):
    visit = visit_of(holder, ro_number="RO-TODAY-1")

    html = text(client_for(advisor).get(detail(holder)))

    card = html.split('id="card-coupons"')[1].split("</section>")[0]
    assert coupon.code in card and "¥100 工时券" in card and "¥100 off labour" in card
    assert f"last day {coupon.expires_on:%Y-%m-%d}" in card
    assert 'data-testid="redeem-form"' in card and f'<option value="{visit.pk}">' in card and "RO-TODAY-1" in card
    assert 'data-testid="void-form"' not in card  # voiding is for managers
    assert 'data-testid="vip"' in html  # booked through the campaign for today


def test_the_360_page_offers_void_to_managers_and_no_redeem_to_agents(client_for, as_manager, agent, holder, coupon):
    visit_of(holder)
    manager = text(client_for(as_manager).get(detail(holder)))
    assert 'data-testid="void-form"' in manager and 'data-testid="redeem-form"' in manager

    html = text(client_for(agent).get(detail(holder)))
    assert coupon.code in html and 'data-testid="redeem-form"' not in html and 'data-testid="void-form"' not in html


def test_a_customer_without_visits_is_asked_for_one_first(client_for, advisor, holder, coupon):
    assert 'data-testid="redeem-no-visit"' in text(client_for(advisor).get(detail(holder)))


def test_redeemed_and_expired_coupons_are_not_open(client_for, advisor, holder, coupon, offer):
    Coupon.objects.filter(pk=coupon.pk).update(expires_on=TODAY - timedelta(days=1))

    html = text(client_for(advisor).get(detail(holder)))

    assert coupon.code not in html and 'data-testid="coupons-empty"' in html


def test_the_360_page_takes_the_same_queries_for_one_or_more_coupons(client_for, advisor, holder, offer):
    client = client_for(advisor)
    visit_of(holder)

    def count():
        with CaptureQueriesContext(connection) as queries:
            assert client.get(detail(holder)).status_code == 200
        return len(queries)

    one = count()
    for _ in range(4):
        services.coupon_issue(template=offer, customer=holder)
    ServiceVisitFactory.create_batch(6, vehicle=holder.vehicles.first())
    assert count() == one


# --- Redeeming -------------------------------------------------------------------------------------------


def test_an_advisor_redeems_from_the_360_page_and_comes_back_to_it(client_for, advisor, holder, coupon):
    visit = visit_of(holder, ro_number="RO-TODAY-2")
    client = client_for(advisor)

    response = client.post(DESK, {"code": coupon.code, "visit": visit.pk, "next": detail(holder)})

    assert response.status_code == 302 and response.url == detail(holder)
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.REDEEMED and coupon.redeemed_visit == visit
    assert coupon.redeemed_by == advisor
    html = text(client.get(detail(holder)))
    assert f"Coupon {coupon.code} (¥100 工时券) redeemed on visit RO-TODAY-2." in html
    assert 'data-testid="coupons-empty"' in html


def test_the_code_desk_shows_the_coupon_and_the_customers_recent_visits(client_for, advisor, holder, coupon):
    visits = [
        visit_of(holder, opened_on=TODAY - timedelta(days=n), closed_on=TODAY - timedelta(days=n)) for n in range(7)
    ]

    response = client_for(advisor).get(DESK, {"code": coupon.code.lower()})

    html = text(response)
    assert response.status_code == 200
    assert 'data-testid="coupon"' in html and holder.name in html and "¥100 off labour" in html
    assert html.count("<option value=") == 5  # the five most recent
    assert f'<option value="{visits[0].pk}">' in html and f'<option value="{visits[6].pk}">' not in html


def test_the_code_desk_redeems_and_comes_back_to_the_code(client_for, advisor, holder, coupon):
    visit = visit_of(holder)
    client = client_for(advisor)

    response = client.post(DESK, {"code": coupon.code, "visit": visit.pk})

    assert response.status_code == 302 and response.url == f"{DESK}?code={coupon.code}"
    html = text(client.get(response.url))
    assert "redeemed on visit" in html and 'data-testid="redeem-form"' not in html
    assert "Redeemed" in html


def test_an_unknown_code_is_not_found(client_for, advisor, db):
    response = client_for(advisor).get(DESK, {"code": "NOSUCHCODE12"})

    assert response.status_code == 404 and 'data-testid="coupon-not-found"' in text(response)


def test_the_desk_without_a_code_is_the_empty_form(client_for, advisor, db):
    response = client_for(advisor).get(DESK)

    assert response.status_code == 200 and 'id="coupon-code"' in text(response)


def _expired(coupon, visit, user):
    Coupon.objects.filter(pk=coupon.pk).update(expires_on=TODAY - timedelta(days=1))


def _used(coupon, visit, user):
    services.coupon_redeem(coupon=coupon, visit=visit_of(coupon.customer), acting_user=user)


def _voided(coupon, visit, user):
    services.coupon_void(coupon=coupon, reason="重复发放", acting_user=user)


REFUSALS = {
    "expired": (_expired, {}, "expired on 2026-11-30"),
    "used": (_used, {}, "was already redeemed on 2026-12-01 10:00"),
    "voided": (_voided, {}, "was voided"),
    "other-customer": (None, {"other": True}, "belongs to another customer"),
    "below-minimum-spend": (None, {"total_amount": Decimal("200.00")}, "below the coupon's minimum spend of ¥300"),
    "wrong-visit-type": ("maintenance-only", {"visit_type": "repair"}, "is not valid on a mechanical repair visit"),
    "next-visit-only": ("next-visit", {}, "can be used from the customer's next visit on"),
}


#: refusals because of the coupon's state (a state conflict, 409); the others are about the visit
CONFLICTS = {"expired", "used", "voided"}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_refused_redemption_says_why_and_changes_nothing(client_for, advisor, dealership, holder, coupon, case):
    prepare, visit_fields, says = REFUSALS[case]
    visit_fields = dict(visit_fields)
    owner = CustomerFactory(dealership=dealership, name="别人") if visit_fields.pop("other", False) else holder
    visit = visit_of(owner, **visit_fields)
    if prepare == "maintenance-only":
        template = services.coupon_template_create(
            dealership=dealership, name="保养券", kind="labor_amount", value=Decimal("50"), visit_types=["maintenance"]
        )
        coupon = services.coupon_issue(template=template, customer=holder)
    elif prepare == "next-visit":
        template = services.coupon_template_create(
            dealership=dealership, name="下次券", kind="labor_amount", value=Decimal("50"), next_visit_only=True
        )
        coupon = services.coupon_issue(template=template, customer=holder, issued_visit=visit)
    elif prepare:
        prepare(coupon, visit, advisor)
    before = Coupon.objects.get(pk=coupon.pk)
    client = client_for(advisor)

    response = client.post(DESK, {"code": coupon.code, "visit": visit.pk, "next": detail(holder)}, follow=True)

    html = text(response)
    if case in CONFLICTS:  # the coupon's state does not allow it: 409, as in the API, with the way back
        assert response.status_code == 409 and says in html
        assert 'data-testid="refused"' in html and f'href="{detail(holder)}"' in html
    else:  # the visit does not qualify: back on the page with the reason
        assert response.status_code == 200 and says in html
        assert 'role="alert"' in html.split('id="messages"')[1][:400]
    after = Coupon.objects.get(pk=coupon.pk)
    assert (after.status, after.redeemed_visit_id) == (before.status, before.redeemed_visit_id)


def test_a_visit_of_another_store_is_refused(client_for, advisor, other_dealership, coupon):
    foreign = visit_of(CustomerFactory(dealership=other_dealership))

    response = client_for(advisor).post(DESK, {"code": coupon.code, "visit": foreign.pk}, follow=True)

    assert "not one of this dealership" in text(response)
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED


def test_next_must_stay_on_this_site(client_for, advisor, holder, coupon):
    response = client_for(advisor).post(
        DESK, {"code": coupon.code, "visit": visit_of(holder).pk, "next": "https://evil.example/"}
    )

    assert response.url == f"{DESK}?code={coupon.code}"


# --- Voiding ---------------------------------------------------------------------------------------------


def test_a_manager_voids_a_coupon_with_a_reason(client_for, as_manager, holder, coupon):
    client = client_for(as_manager)
    url = reverse("calls:coupon-void", args=[coupon.pk])

    refused = client.post(url, {"reason": "  ", "next": detail(holder)}, follow=True)
    assert "Say why the coupon is voided." in text(refused)
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED

    response = client.post(url, {"reason": "客户重复领取", "next": detail(holder)})

    assert response.status_code == 302 and response.url == detail(holder)
    coupon.refresh_from_db()
    assert (coupon.status, coupon.void_reason) == (Coupon.Status.VOID, "客户重复领取")
    assert f"Coupon {coupon.code} voided." in text(client.get(detail(holder)))


# --- Roles -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["advisor", "as_manager", "admin_user"])
def test_redeeming_roles_open_the_desk(request, client_for, role, coupon):
    user = request.getfixturevalue(role)
    assert client_for(user).get(DESK, {"code": coupon.code}).status_code == 200


@pytest.mark.parametrize("role", ["agent", "cc_manager"])
def test_call_centre_roles_may_not_redeem(request, client_for, role, holder, coupon):
    client = client_for(request.getfixturevalue(role))

    assert client.get(DESK, {"code": coupon.code}).status_code == 403
    assert client.post(DESK, {"code": coupon.code, "visit": visit_of(holder).pk}).status_code == 403
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED


def test_only_managers_void(client_for, advisor, agent, coupon):
    url = reverse("calls:coupon-void", args=[coupon.pk])
    for user in (advisor, agent):
        assert client_for(user).post(url, {"reason": "试试"}).status_code == 403
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED


def test_another_stores_user_finds_no_coupon_of_ours(client_for, outsider, holder, coupon):
    client = client_for(outsider)

    assert client.get(DESK, {"code": coupon.code}).status_code == 404
    assert client.post(DESK, {"code": coupon.code, "visit": visit_of(holder).pk}).status_code == 404
    assert client.post(reverse("calls:coupon-void", args=[coupon.pk]), {"reason": "x"}).status_code == 404
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.ISSUED
