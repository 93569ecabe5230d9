"""The planner's satisfaction call after a campaign (followups.planner.plan_campaign_satisfaction_calls): to
every invitee outside the holdout who attended, by the campaigns app's own attendance, within 3 days."""

import datetime as dt

import pytest
import time_machine

from campaigns.models import Invitation
from dealercrm.core.roles import Role
from followups import planner
from followups.models import Priority, Touch
from tests.campaigns import conftest as campaign_fixtures
from tests.factories import UserFactory
from tests.followups.factories_planner import local, visit_of

# the campaigns tests' fixtures: a campaign of 20 Nov – 31 Dec 2026, customers with segmentation results, groups
campaign, person, run, make_group = (
    campaign_fixtures.campaign,
    campaign_fixtures.person,
    campaign_fixtures.run,
    campaign_fixtures.make_group,
)
generate = campaign_fixtures.generate


@pytest.fixture
def agents(dealership):
    return [UserFactory(username=f"agent{i}", role=Role.AGENT, dealerships=[dealership]) for i in range(2)]


def test_after_a_campaign_ends_a_satisfaction_call_to_every_invitee_who_attended(
    dealership,
    campaign,
    person,
    make_group,
    agents,
):
    # Given a campaign (20 Nov – 31 Dec 2026) with four invitees: two came in the period, one of them kept in
    # the holdout, one came after the period, one never came
    came, held_out, late, _never = (person() for _ in range(4))
    make_group({})
    generate(campaign, agents)
    Invitation.objects.filter(campaign=campaign, customer=held_out).update(holdout=True)
    visit_of(came, dt.date(2026, 12, 20))
    visit_of(held_out, dt.date(2026, 12, 21))
    visit_of(late, dt.date(2027, 1, 1))

    # When the planner runs the day after the day after the last day
    with time_machine.travel(local(dealership, dt.date(2027, 1, 2), 10), tick=False):
        planner.plan_all()
        planner.plan_all()

    # Then one satisfaction call, to the invitee who came, due the day after the end, for three days
    (touch,) = Touch.objects.filter(kind="campaign_csi")
    assert touch.customer_id == came.pk and touch.invitation.campaign_id == campaign.pk
    assert touch.due_at == local(dealership, dt.date(2027, 1, 1), 9)
    assert touch.expires_at == local(dealership, dt.date(2027, 1, 4))
    assert (touch.channel, touch.priority) == ("call", Priority.SATISFACTION)
    assert touch.assignee_id in {a.pk for a in agents}


def test_no_campaign_satisfaction_call_once_the_three_days_are_over(
    dealership,
    campaign,
    person,
    make_group,
    agents,
):
    came = person()
    make_group({})
    generate(campaign, agents)
    visit_of(came, dt.date(2026, 12, 20))

    with time_machine.travel(local(dealership, dt.date(2027, 1, 4), 10), tick=False):
        planner.plan_all(lookback_days=30)

    assert not Touch.objects.filter(kind="campaign_csi").exists()
