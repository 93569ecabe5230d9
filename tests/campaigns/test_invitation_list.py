"""The invitation list: generation (frozen, once per customer, holdouts, A/B), assignment to agents by weight,
rebalancing, refusals, and the number of queries."""

import re
from collections import Counter
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from campaigns import selectors, services
from campaigns.models import Invitation
from campaigns.services import _shares
from customers import services as customer_services
from customers.models import Customer
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.roles import Role
from segmentation.models import CustomerSegment
from tests.campaigns.conftest import END, START, generate
from tests.factories import UserFactory

pytestmark = pytest.mark.usefixtures("frozen")


def per_agent(campaign) -> dict[int | None, int]:
    return dict(Counter(Invitation.objects.filter(campaign=campaign).values_list("agent_id", flat=True)))


def queued(agent, dealership) -> set[int]:
    return set(selectors.agent_queue(agent=agent, dealership=dealership).values_list("pk", flat=True))


# --- generation ---------------------------------------------------------------------------------------------


def test_generating_twice_adds_nobody_twice(campaign, person, make_group, agent):
    people = [person() for _ in range(6)]
    make_group({"c3_group": ["profitable_loyal"]})

    first = generate(campaign, [agent])
    again = services.invitation_list_generate(campaign=campaign, agents=[agent])

    assert (first["added"], first["assigned"]) == (6, 6)
    assert (again["added"], again["assigned"]) == (0, 0)
    assert sorted(Invitation.objects.filter(campaign=campaign).values_list("customer_id", flat=True)) == sorted(
        p.pk for p in people
    )


def test_customers_who_match_later_are_added_by_a_second_generation_and_the_others_stay_as_they_were(
    campaign, person, make_group, agent, second_agent, frozen
):
    # Given a list generated for the loyal customers, one agent, one customer who had no consent yet
    early = [person(c3_group="profitable_loyal") for _ in range(3)]
    shy = person(c3_group="profitable_loyal", marketing_consent=False)
    moving = person(c3_group="low_cost")
    group = make_group({"c3_group": ["profitable_loyal"]})
    generate(campaign, [agent])
    before = {i.pk: (i.customer_id, i.agent_id, i.created_at) for i in Invitation.objects.filter(campaign=campaign)}

    # When a new customer arrives, one grants consent, another moves into the group, and the list is generated again
    frozen.move_to(date(2026, 12, 2))
    newcomer = person(c3_group="profitable_loyal")
    customer_services.consent_record(customer=shy, granted=True, channel="phone")
    CustomerSegment.objects.filter(customer=moving).update(c3_group="profitable_loyal")
    again = services.invitation_list_generate(campaign=campaign, agents=[second_agent])

    # Then exactly those three are added (to the agents named now), and the first ones did not change
    assert again["added"] == 3 and again["per_group"] == {group.pk: 3}
    added = Invitation.objects.filter(campaign=campaign).exclude(pk__in=before)
    assert {i.customer_id for i in added} == {newcomer.pk, shy.pk, moving.pk}
    assert {i.agent_id for i in added} == {second_agent.pk}
    assert {i.pk: (i.customer_id, i.agent_id, i.created_at) for i in Invitation.objects.filter(pk__in=before)} == before
    assert {c for c, _a, _t in before.values()} == {p.pk for p in early}


def test_the_list_is_generated_only_for_a_scheduled_or_running_campaign(campaign, person, make_group, agent):
    person()
    make_group({})
    with pytest.raises(ApplicationError, match="scheduled or running campaign; this one is draft"):
        services.invitation_list_generate(campaign=campaign, agents=[agent])

    services.campaign_schedule(campaign=campaign)
    assert services.invitation_list_generate(campaign=campaign, agents=[agent])["added"] == 1  # scheduled: yes

    services.campaign_finish(campaign=campaign)
    with pytest.raises(ApplicationError, match="this one is finished"):
        services.invitation_list_generate(campaign=campaign, agents=[agent])
    with pytest.raises(ApplicationError, match="finished"):
        services.invitations_assign(campaign=campaign, agents=[agent])


# --- holdouts and A/B ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("customers", "share", "holdouts"),
    [
        (10, "0.25", 3),  # 2.5 rounds up
        (50, "0.29", 15),  # 14.5 exactly: in floating point 50 × 0.29 is 14.499…, which rounded down
        (90, "0.35", 32),  # 31.5, the same
        (7, "0.1", 1),  # 0.7
        (4, "0.1", 0),  # 0.4
        (9, "0.5", 5),  # 4.5
        (6, "0", 0),
    ],
)
def test_the_holdout_is_round_half_up_of_n_times_the_share_and_is_never_assigned_or_called(
    dealership, campaign, person, make_group, agent, second_agent, customers, share, holdouts
):
    # Given matching customers and a group keeping ``share`` aside
    for _ in range(customers):
        person()
    group = make_group({}, holdout_share=Decimal(share))

    # When the list is generated for two agents
    result = generate(campaign, [agent, second_agent])

    # Then round-half-up(n × share) are holdouts (on SQLite and PostgreSQL alike), none has an agent
    kept = Invitation.objects.filter(campaign=campaign, holdout=True)
    assert kept.count() == holdouts
    assert result["per_group"] == {group.pk: customers}
    assert result["assigned"] == customers - holdouts
    assert not kept.filter(agent__isnull=False).exists()
    assert not Invitation.objects.filter(campaign=campaign, holdout=False, agent__isnull=True).exists()
    # and none is in any agent's queue, even after a reassignment
    services.invitations_assign(campaign=campaign, agents=[agent])
    everyone = queued(agent, dealership) | queued(second_agent, dealership)
    assert len(everyone) == customers - holdouts
    assert everyone.isdisjoint(kept.values_list("pk", flat=True))
    summary = selectors.group_summary(campaign=campaign)[0]
    assert (summary["invited"], summary["holdout"]) == (customers - holdouts, holdouts)


def test_a_holdout_customer_cannot_be_called(campaign, person, make_group, agent):
    person()
    make_group({}, holdout_share=Decimal("0.5"))  # 1 × 0.5 = 0.5: rounds up to one
    generate(campaign, [agent])
    kept = Invitation.objects.get(campaign=campaign)
    assert kept.holdout
    Invitation.objects.filter(pk=kept.pk).update(agent=agent)  # even if someone assigned it by hand

    with pytest.raises(ApplicationError, match="holdout"):
        services.call_record(invitation=kept, agent=agent, outcome="no_answer")


def test_an_ab_group_alternates_variants_over_a_random_order_of_the_called(campaign, person, make_group, agent):
    # Given 21 customers in an A/B group keeping 20 % aside (round(4.2) = 4 holdouts), and a plain group
    for _ in range(21):
        person(c3_group="profitable_loyal")
    for _ in range(5):
        person(c3_group="low_cost")
    ab = make_group(
        {"c3_group": ["profitable_loyal"]}, ab_test=True, script="您好", script_b="您好，送您礼券", holdout_share="0.2"
    )
    plain = make_group({"c3_group": ["low_cost"]})

    generate(campaign, [agent])

    # Then of the 17 called, the even positions of the random order (6, 8, … 20) get B: 8 B and 9 A;
    # the holdouts keep A, and a group without an A/B test has A only
    called = Invitation.objects.filter(target_group=ab, holdout=False)
    assert Counter(called.values_list("variant", flat=True)) == {"A": 9, "B": 8}
    assert set(Invitation.objects.filter(target_group=ab, holdout=True).values_list("variant", flat=True)) == {"A"}
    assert set(Invitation.objects.filter(target_group=plain).values_list("variant", flat=True)) == {"A"}


def test_an_even_ab_group_without_holdout_is_split_exactly_in_half_at_random(dealership, person, agent):
    for _ in range(20):
        person()

    def b_customers(code):
        campaign = services.campaign_create(
            dealership=dealership, code=code, name="AB", kind="maintenance", starts_on=START, ends_on=END
        )
        services.target_group_create(campaign=campaign, name="AB", filters={}, ab_test=True, script_b="B")
        generate(campaign, [agent])
        variants = Counter(Invitation.objects.filter(campaign=campaign).values_list("variant", flat=True))
        assert variants == {"A": 10, "B": 10}
        return set(Invitation.objects.filter(campaign=campaign, variant="B").values_list("customer_id", flat=True))

    # Two lists of the same customers split them differently (1 chance in 184,756 to be the same)
    assert b_customers("AB1") != b_customers("AB2")


# --- assignment -------------------------------------------------------------------------------------------


def test_even_assignment_gives_the_leftovers_to_different_agents(
    campaign, person, make_group, agent, second_agent, third_agent
):
    for _ in range(10):
        person()
    make_group({})

    generate(campaign, [agent, second_agent, third_agent])

    assert sorted(per_agent(campaign).values()) == [3, 3, 4]


def test_weights_two_to_one_give_seven_and_three_of_ten(campaign, person, make_group, agent, second_agent):
    for _ in range(10):
        person()
    make_group({})

    result = generate(campaign, {agent: 2, second_agent: 1})

    assert result["assigned"] == 10
    assert per_agent(campaign) == {agent.pk: 7, second_agent.pk: 3}


def test_weights_apply_per_group_and_the_sums_follow(campaign, person, make_group, agent, second_agent):
    # Given 6 loyal and 4 low-cost customers, two groups, weights 2:1 (ids given as weights' keys)
    for _ in range(6):
        person(c3_group="profitable_loyal")
    for _ in range(4):
        person(c3_group="low_cost")
    loyal = make_group({"c3_group": ["profitable_loyal"]})
    low = make_group({"c3_group": ["low_cost"]})

    generate(campaign, {agent.pk: 2, second_agent.pk: 1})

    # Then each group is split 2:1 by largest remainder (6 → 4/2, 4 → 3/1), 7/3 in all
    def split(group):
        return dict(Counter(Invitation.objects.filter(target_group=group).values_list("agent_id", flat=True)))

    assert split(loyal) == {agent.pk: 4, second_agent.pk: 2}
    assert split(low) == {agent.pk: 3, second_agent.pk: 1}
    assert per_agent(campaign) == {agent.pk: 7, second_agent.pk: 3}


def test_even_shares_over_several_groups_give_each_leftover_to_the_least_loaded(
    campaign, person, make_group, agent, second_agent, third_agent
):
    for _ in range(4):
        person(c3_group="profitable_loyal")
    for _ in range(4):
        person(c3_group="low_cost")
    make_group({"c3_group": ["profitable_loyal"]})
    make_group({"c3_group": ["low_cost"]})

    generate(campaign, [agent, second_agent, third_agent])

    assert sorted(per_agent(campaign).values()) == [2, 3, 3]  # not 4/2/2: the second leftover goes elsewhere


def test_shares_by_largest_remainder_in_whole_numbers():
    assert _shares(10, [(1, 2), (2, 1)], {}) == [(1, 7), (2, 3)]
    assert _shares(10, [(1, 1), (2, 1), (3, 1)], {}) == [(1, 4), (2, 3), (3, 3)]
    assert _shares(1, [(1, 1), (2, 1), (3, 1)], {1: 2, 2: 1, 3: 1}) == [(1, 0), (2, 1), (3, 0)]
    assert _shares(0, [(1, 1), (2, 5)], {}) == [(1, 0), (2, 0)]
    # 2 × (1, 4, 1) / 6 = 1/3, 4/3, 1/3: three equal remainders, so the leftover goes to the least loaded
    # (in floating point 4/3 − 1 is 0.33333333333333326 < 1/3, and it went to agent 1)
    assert _shares(2, [(1, 1), (2, 4), (3, 1)], {1: 5, 3: 5}) == [(1, 0), (2, 2), (3, 0)]
    for n in range(60):
        shares = _shares(n, [(1, 3), (2, 2), (3, 2)], {})
        assert sum(count for _pk, count in shares) == n
        assert all(abs(count - n * w / 7) < 1 for (_pk, count), w in zip(shares, (3, 2, 2), strict=True))


# --- rebalancing ------------------------------------------------------------------------------------------


def test_an_agents_open_invitations_move_to_the_others_when_they_are_away(
    dealership, campaign, person, make_group, agent, second_agent, third_agent, frozen
):
    # Given two groups whose invitations' ids interleave (two generations), shared by three agents,
    for _ in range(6):
        person(c3_group="profitable_loyal")
    for _ in range(6):
        person(c3_group="low_cost")
    loyal = make_group({"c3_group": ["profitable_loyal"]}, holdout_share="0.2")
    low = make_group({"c3_group": ["low_cost"]})
    generate(campaign, [agent, second_agent, third_agent])
    for _ in range(4):
        person(c3_group="profitable_loyal")
    for _ in range(4):
        person(c3_group="low_cost")
    services.invitation_list_generate(campaign=campaign, agents=[agent, second_agent, third_agent])
    ids = Invitation.objects.filter(campaign=campaign).order_by("id")
    assert list(ids.values_list("target_group_id", flat=True)) != sorted(ids.values_list("target_group_id", flat=True))
    # and two calls of the away agent that closed their invitations
    mine = list(Invitation.objects.filter(campaign=campaign, agent=agent).order_by("id"))
    services.call_record(invitation=mine[0], agent=agent, outcome="declined", reason="not_needed")
    services.call_record(invitation=mine[1], agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
    others_before = {
        i.pk: i.agent_id for i in Invitation.objects.filter(campaign=campaign).exclude(agent=agent).exclude(agent=None)
    }
    open_mine = {i.pk: i.target_group_id for i in mine[2:]}

    # When the manager moves the away agent's list to the others
    moved = services.invitations_reassign(campaign=campaign, from_agent=agent, agents=[second_agent, third_agent])

    # Then only the open invitations moved, each to one of the others, evenly within each group
    assert moved == len(open_mine)
    assert set(Invitation.objects.filter(campaign=campaign, agent=agent).values_list("pk", flat=True)) == {
        mine[0].pk,
        mine[1].pk,
    }
    now_theirs = dict(Invitation.objects.filter(pk__in=open_mine).values_list("pk", "agent_id"))
    assert set(now_theirs.values()) <= {second_agent.pk, third_agent.pk}
    for group in (loyal, low):
        in_group = [pk for pk, g in open_mine.items() if g == group.pk]
        counts = Counter(now_theirs[pk] for pk in in_group)
        assert abs(counts[second_agent.pk] - counts[third_agent.pk]) <= 1
    # what the others had stays theirs, the holdouts stay unassigned, and the queues hold everything open
    assert dict(Invitation.objects.filter(pk__in=others_before).values_list("pk", "agent_id")) == others_before
    assert not Invitation.objects.filter(campaign=campaign, holdout=True, agent__isnull=False).exists()
    assert queued(agent, dealership) == set()
    open_called = Invitation.objects.filter(campaign=campaign, holdout=False, status__in=Invitation.OPEN)
    assert queued(second_agent, dealership) | queued(third_agent, dealership) == set(
        open_called.values_list("pk", flat=True)
    )


def test_reassigning_without_naming_agents_spreads_over_every_other_agent(
    campaign, person, make_group, agent, second_agent, cc_manager
):
    for _ in range(6):
        person()
    make_group({})
    generate(campaign, [agent])

    moved = services.invitations_reassign(campaign=campaign, from_agent=agent)

    assert moved == 6
    assert per_agent(campaign) == {second_agent.pk: 3, cc_manager.pk: 3}  # the call-centre manager works calls too
    with pytest.raises(ApplicationError, match="at least one other agent"):
        services.invitations_reassign(campaign=campaign, from_agent=second_agent, agents=[second_agent])


def test_staff_who_do_not_work_calls_or_belong_to_another_store_are_refused(
    dealership, other_dealership, campaign, person, make_group, agent, advisor, as_manager
):
    person()
    make_group({})
    services.campaign_schedule(campaign=campaign)
    elsewhere = UserFactory(username="gzagent", role=Role.AGENT, dealerships=[other_dealership])
    away = UserFactory(username="leaver", role=Role.AGENT, dealerships=[dealership], is_active=False)

    for wrong in (advisor, as_manager, elsewhere, away):
        with pytest.raises(ApplicationError) as refused:
            services.invitation_list_generate(campaign=campaign, agents=[agent, wrong])
        assert refused.value.message == f"Not an agent of this dealership: {wrong.pk}."
    with pytest.raises(ApplicationError, match=re.escape("A weight is a whole number of at least 1.")):
        services.invitation_list_generate(campaign=campaign, agents={agent: 0})
    with pytest.raises(ApplicationError, match=re.escape("Choose at least one agent.")):
        services.invitation_list_generate(campaign=campaign, agents=[])
    with pytest.raises(ApplicationError, match="Not an agent"):
        services.invitations_reassign(campaign=campaign, from_agent=agent, agents=[advisor])
    assert not Invitation.objects.exists()  # a refusal writes nothing


# --- queries ----------------------------------------------------------------------------------------------


def test_generation_and_assignment_take_as_many_queries_for_40_customers_as_for_5(
    dealership, person, agent, second_agent, third_agent
):
    def queries_for(code: str, customers: int) -> tuple[int, int]:
        for _ in range(customers - Customer.objects.filter(dealership=dealership).count()):
            person(c3_group="profitable_loyal")
        campaign = services.campaign_create(
            dealership=dealership, code=code, name="查询", kind="maintenance", starts_on=START, ends_on=END
        )
        services.target_group_create(campaign=campaign, name="忠诚", filters={"c3_group": ["profitable_loyal"]})
        services.target_group_create(campaign=campaign, name="其他", filters={"tier": ["A"]}, holdout_share="0.1")
        services.campaign_schedule(campaign=campaign)
        with CaptureQueriesContext(connection) as generation:
            result = services.invitation_list_generate(campaign=campaign, agents=[agent, second_agent, third_agent])
        assert result["added"] == customers
        with CaptureQueriesContext(connection) as rebalance:
            services.invitations_reassign(campaign=campaign, from_agent=agent, agents=[second_agent, third_agent])
        assert Invitation.objects.filter(campaign=campaign).count() == customers
        return len(generation), len(rebalance)

    small = queries_for("Q5", 5)
    large = queries_for("Q40", 40)

    assert large == small


def test_a_campaign_of_another_store_lists_none_of_this_stores_customers(
    dealership, other_dealership, person, make_group, campaign, agent
):
    person()
    theirs = services.campaign_create(
        dealership=other_dealership, code="GZ", name="广州", kind="maintenance", starts_on=START, ends_on=END
    )
    services.target_group_create(campaign=theirs, name="所有", filters={})
    gz_agent = UserFactory(username="gzagent", role=Role.AGENT, dealerships=[other_dealership])

    assert generate(theirs, [gz_agent])["added"] == 0
    assert not Invitation.objects.filter(campaign=theirs).exists()
    with pytest.raises(ApplicationError, match="Not an agent"):
        services.invitation_list_generate(campaign=theirs, agents=[agent])
