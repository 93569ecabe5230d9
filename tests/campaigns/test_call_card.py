"""The workbench's call card (``campaigns.callcard``): one statement that must give the answers of the ORM.

Its queue is written again in SQL, so every rule of ``selectors.agent_queue`` is checked here against it,
invitation by invitation: who is due, in which order, and who never is. Its instances are built from a raw
row, so they are checked against the ORM's own: the same field values, with the same Python types.
"""

import itertools
from datetime import date, timedelta
from decimal import Decimal

import pytest

from campaigns import callcard, selectors, services
from campaigns.models import Campaign, Coupon, CouponTemplate, Invitation
from customers.contact import MARKETING, SERVICE, contactable_sql
from customers.models import Customer, ServiceVisit
from dealercrm.core.models import Dealership
from segmentation.models import CustomerSegment
from tests.campaigns.conftest import NOW, generate
from tests.factories import ServiceVisitFactory
from tests.same_rows import rows


def orm_queue(agent, dealership, now):
    return list(selectors.agent_queue(agent=agent, dealership=dealership, now=now).values_list("pk", flat=True))


def card_queue(agent, dealership, now):
    """The heads the call card gives, one after the other (each is put off to after ``now`` once read)."""
    heads = []
    while (card := callcard.next_call_card(agent=agent, dealership=dealership, now=now)) is not None:
        heads.append(card.invitation.pk)
        Invitation.objects.filter(pk=card.invitation.pk).update(next_call_at=now + timedelta(days=365))
    return heads


@pytest.fixture
def listed(campaign, person, make_group, agent):
    """Twelve invitations of ``agent``, each left in one state the queue must include or leave out."""
    for _ in range(12):
        person()
    make_group({})
    generate(campaign, [agent])
    invitations = list(Invitation.objects.filter(campaign=campaign).select_related("customer").order_by("id"))
    assert len(invitations) == 12
    return invitations


def test_the_card_gives_the_queue_of_agent_queue_in_its_order(listed, agent, second_agent, dealership, campaign):
    (
        fresh,
        fresh_too,
        call_back_due,
        retry_due,
        call_back_later,
        holdout,
        accepted,
        used_up,
        no_consent,
        do_not_contact,
        wrong_number,
        another_agents,
    ) = listed
    Invitation.objects.filter(pk=call_back_due.pk).update(status="call_back", next_call_at=NOW - timedelta(hours=1))
    Invitation.objects.filter(pk=retry_due.pk).update(attempts=1, next_call_at=NOW - timedelta(minutes=30))
    Invitation.objects.filter(pk=call_back_later.pk).update(status="call_back", next_call_at=NOW + timedelta(hours=1))
    Invitation.objects.filter(pk=holdout.pk).update(holdout=True)
    Invitation.objects.filter(pk=accepted.pk).update(status="accepted")
    Invitation.objects.filter(pk=used_up.pk).update(attempts=campaign.max_attempts)
    Customer.objects.filter(pk=no_consent.customer_id).update(marketing_consent=False)
    Customer.objects.filter(pk=do_not_contact.customer_id).update(do_not_contact=True)
    Customer.objects.filter(pk=wrong_number.customer_id).update(flag_wrong_number=True)
    Invitation.objects.filter(pk=another_agents.pk).update(agent=second_agent)

    expected = [call_back_due.pk, retry_due.pk, fresh.pk, fresh_too.pk]
    assert orm_queue(agent, dealership, NOW) == expected
    assert card_queue(agent, dealership, NOW) == expected
    assert card_queue(second_agent, dealership, NOW) == [another_agents.pk]


@pytest.mark.parametrize(
    "change",
    [
        {"status": Campaign.Status.FINISHED},
        {"starts_on": NOW.date() + timedelta(days=1)},
        {"ends_on": NOW.date() - timedelta(days=1)},
    ],
    ids=["finished", "not started", "over"],
)
def test_a_campaign_not_running_today_gives_no_card(listed, agent, dealership, campaign, change):
    Campaign.objects.filter(pk=campaign.pk).update(**change)

    assert orm_queue(agent, dealership, NOW) == []
    assert callcard.next_call_card(agent=agent, dealership=dealership, now=NOW) is None


def test_another_dealerships_card_is_never_given(listed, agent, dealership):
    other = Dealership.objects.create(code="OTHER", name="别家", plate_prefix="粤A")
    first = listed[0]

    assert callcard.next_call_card(agent=agent, dealership=other, now=NOW) is None
    assert callcard.call_card(dealership=other, pk=first.pk) is None
    assert callcard.call_card(dealership=dealership, pk=first.pk).invitation.pk == first.pk


def test_the_card_holds_what_the_orm_reads_with_the_same_types(listed, agent, dealership, run):
    first = listed[0]
    vehicle = first.customer.vehicles.get()
    older = ServiceVisitFactory(vehicle=vehicle, opened_on=date(2026, 3, 1), closed_on=date(2026, 3, 1))
    newer = ServiceVisitFactory(vehicle=vehicle, opened_on=date(2026, 9, 1), closed_on=date(2026, 9, 2))
    ServiceVisitFactory(vehicle=vehicle, opened_on=date(2026, 9, 1), closed_on=date(2026, 9, 1))  # same day, later
    current = CustomerSegment.objects.get(customer=first.customer)
    CustomerSegment.objects.filter(pk=current.pk).update(lifetime_value=Decimal("6543.21"))

    card = callcard.next_call_card(agent=agent, dealership=dealership, now=NOW)

    orm = Invitation.objects.select_related("campaign", "target_group", "customer", "vehicle").get(pk=first.pk)
    assert card.invitation.pk == first.pk
    for mine, theirs in [
        (card.invitation, orm),
        (card.invitation.campaign, orm.campaign),
        (card.invitation.target_group, orm.target_group),
        (card.invitation.customer, orm.customer),
        (card.invitation.vehicle, orm.vehicle),
        (card.segment, CustomerSegment.objects.get(pk=current.pk)),
    ]:
        for field in type(theirs)._meta.concrete_fields:
            value, expected = getattr(mine, field.attname), getattr(theirs, field.attname)
            assert (value, type(value)) == (expected, type(expected)), field.name
        assert not mine._state.adding
    assert isinstance(card.invitation.target_group.filters, dict)
    assert card.invitation.customer.phone.as_national  # a phone number, not a string
    latest = ServiceVisit.objects.filter(customer=first.customer).order_by("-opened_on", "-id").first()
    assert latest.pk not in (older.pk, newer.pk)
    assert card.last_visit.pk == latest.pk and card.last_visit.vehicle.plate == vehicle.plate


def test_a_customer_without_a_segment_a_visit_or_a_vehicle_has_an_empty_card(listed, agent, dealership):
    first = listed[0]
    CustomerSegment.objects.filter(customer=first.customer).delete()
    Invitation.objects.filter(pk=first.pk).update(vehicle=None)

    card = callcard.next_call_card(agent=agent, dealership=dealership, now=NOW)

    assert card.invitation.pk == first.pk
    assert (card.segment, card.last_visit, card.invitation.vehicle) == (None, None, None)


def test_only_the_current_segment_is_on_the_card(listed, agent, dealership, run):
    first = listed[0]
    current = CustomerSegment.objects.get(customer=first.customer)
    later_run = type(run).objects.create(
        dealership=dealership, rule_set=run.rule_set, reference_date=run.reference_date + timedelta(days=1)
    )
    CustomerSegment.objects.filter(pk=current.pk).update(valid_to=later_run)
    newest = CustomerSegment.objects.get(pk=current.pk)
    newest.pk, newest.valid_from, newest.valid_to, newest.c3_group = None, later_run, None, "low_cost"
    newest.save()

    card = callcard.next_call_card(agent=agent, dealership=dealership, now=NOW)

    assert card.segment.pk == newest.pk and card.segment.c3_group == "low_cost"


def test_the_cards_coupons_are_coupons_open(listed, agent, dealership, make_template):
    first, second = listed[0], listed[1]
    labour, gift = make_template(name="¥100 工时券"), make_template(name="洗车券", kind="gift", gift="免费洗车一次")
    expired = services.coupon_issue(template=labour, customer=first.customer, now=NOW - timedelta(days=40))
    Coupon.objects.filter(pk=expired.pk).update(expires_on=NOW.date() - timedelta(days=1))  # its last day was yesterday
    soon = services.coupon_issue(template=labour, customer=first.customer, now=NOW - timedelta(days=20))
    later = services.coupon_issue(template=gift, customer=first.customer, campaign=first.campaign, now=NOW)
    voided = services.coupon_issue(template=gift, customer=first.customer, now=NOW)
    services.coupon_void(coupon=voided, reason="客户不需要")
    services.coupon_issue(template=gift, customer=second.customer, now=NOW)  # another customer's

    card = callcard.next_call_card(agent=agent, dealership=dealership, now=NOW)

    expected = selectors.coupons_open(dealership=dealership, customer=first.customer, today=NOW.date())
    assert [c.pk for c in card.coupons] == [c.pk for c in expected] == [soon.pk, later.pk]
    for mine, theirs in zip(card.coupons, expected, strict=True):
        for field in Coupon._meta.concrete_fields:
            assert getattr(mine, field.attname) == getattr(theirs, field.attname), field.name
        assert mine.template.name == theirs.template.name
        assert (mine.campaign and mine.campaign.name) == (theirs.campaign and theirs.campaign.name)
    assert card.coupons[1].campaign.name == first.campaign.name and card.coupons[0].campaign is None

    # the customer 360 page's coupons card reads the same statement
    on_the_page = callcard.coupons_open(dealership=dealership, customer_id=first.customer.pk, today=NOW.date())
    assert rows(on_the_page, "template", "campaign") == rows(expected, "template", "campaign")


@pytest.mark.parametrize("variant", ["A", "B"])
def test_the_cards_offer_is_the_variants_active_templates_in_order(
    campaign, person, make_group, make_template, agent, dealership, variant
):
    zebra, apple, retired, only_b = (  # made in this order: by name, apple comes first
        make_template(name="2 号券"),
        make_template(name="1 号券"),
        make_template(name="旧券"),
        make_template(name="B 组券"),
    )
    for _ in range(4):
        person()
    make_group({}, ab_test=True, script_b="B", offers=[zebra, apple, retired], offers_b=[only_b, retired])
    CouponTemplate.objects.filter(pk=retired.pk).update(active=False)
    generate(campaign, [agent])
    mine = Invitation.objects.filter(campaign=campaign, variant=variant).first()
    Invitation.objects.filter(campaign=campaign).exclude(pk=mine.pk).update(status="declined")

    card = callcard.next_call_card(agent=agent, dealership=dealership, now=NOW)

    assert card.invitation.pk == mine.pk
    expected = [t.pk for t in mine.offer_templates() if t.active]
    assert [t.pk for t in card.offers] == expected
    assert expected == ([apple.pk, zebra.pk] if variant == "A" else [only_b.pk])


# --- the contact rule (customers.contact) in the card's SQL ---------------------------------------------------

FLAGS = ("marketing_consent", "do_not_contact", "flag_wrong_number", "sms_opt_out")


def test_the_cards_sql_and_the_orm_agree_on_every_combination_of_the_contact_flags(
    campaign, person, make_group, agent, dealership
):
    # Given sixteen customers on the agent's list, one per combination of the four contact flags
    combinations = [dict(zip(FLAGS, bits, strict=True)) for bits in itertools.product((False, True), repeat=4)]
    for _ in combinations:
        person()
    make_group({})
    generate(campaign, [agent])
    invitations = list(Invitation.objects.filter(campaign=campaign).order_by("id"))
    for invitation, flags in zip(invitations, combinations, strict=True):
        Customer.objects.filter(pk=invitation.customer_id).update(**flags)

    # Then the hand-written head and the ORM's queue hold the same customers: those a campaign call may reach
    expected = [
        inv.pk
        for inv, flags in zip(invitations, combinations, strict=True)
        if flags["marketing_consent"] and not flags["do_not_contact"] and not flags["flag_wrong_number"]
    ]
    assert orm_queue(agent, dealership, NOW) == expected
    assert card_queue(agent, dealership, NOW) == expected
    assert len(expected) == 2  # with and without a "T" reply: it stops texts, not calls


def test_the_cards_sql_is_the_contact_rules_own():
    sql = callcard._queue_head("sqlite", True)

    assert contactable_sql(MARKETING, "call", alias="qcu") in sql
    assert contactable_sql(SERVICE, "call", alias="tcu") in sql
    assert "sms_opt_out" not in sql
