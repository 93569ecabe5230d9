"""seed_campaign_demo: seed 002's summer campaign on the demo store, running, with its call list and a few calls."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from campaigns import selectors
from campaigns.demo import CALLS, DEMO_CAMPAIGN_CODE, LABOUR_COUPON, PARTS_COUPON, SEED_MODELS
from campaigns.models import CallAttempt, Campaign, Coupon, CouponTemplate, Invitation, TargetGroup
from customers.demo import DEMO_CODE
from customers.models import Appointment
from dealercrm.core.models import Dealership

N = 500  # customers: enough for both groups to match a few dozen


def seed_and_segment() -> Dealership:
    call_command("seed_demo", "--customers", str(N), stdout=StringIO())
    call_command("segment", "--dealership", DEMO_CODE, stdout=StringIO())
    return Dealership.objects.get(code=DEMO_CODE)


def seed_campaign_demo() -> str:
    out = StringIO()
    call_command("seed_campaign_demo", "--dealership", DEMO_CODE, stdout=out)
    return out.getvalue()


@pytest.fixture
def store(db):
    return seed_and_segment()


def snapshot(store) -> dict:
    """Everything the command writes, row by row where it matters."""
    invitations = Invitation.objects.filter(campaign__dealership=store).order_by("id")
    return {
        "campaigns": list(Campaign.objects.filter(dealership=store).values_list("id", "status", "updated_at")),
        "groups": TargetGroup.objects.filter(campaign__dealership=store).count(),
        "templates": CouponTemplate.objects.filter(dealership=store).count(),
        "invitations": list(invitations.values_list("id", "agent_id", "holdout", "variant", "status", "attempts")),
        "calls": CallAttempt.objects.filter(invitation__campaign__dealership=store).count(),
        "appointments": Appointment.objects.filter(dealership=store).count(),
        "coupons": Coupon.objects.filter(dealership=store).count(),
    }


def test_the_demo_campaign_runs_with_two_groups_a_list_given_to_the_agents_and_a_few_calls(store):
    out = seed_campaign_demo()

    campaign = Campaign.objects.get(dealership=store, code=DEMO_CAMPAIGN_CODE)
    assert campaign.status == Campaign.Status.RUNNING
    assert campaign.in_period(timezone.localdate())
    assert DEMO_CAMPAIGN_CODE in out

    loyal, low_cost = campaign.target_groups.order_by("position")
    assert loyal.filters["c3_group"] == ["profitable_loyal"]
    assert loyal.filters["age_band"] == ["1-2", "2-3", "3-5"]
    assert low_cost.filters["c3_group"] == ["low_cost"]
    assert low_cost.filters["age_band"] == ["<1", "1-2", "2-3"]
    for group in (loyal, low_cost):
        assert group.filters["plate_prefix"] == store.plate_prefix == "粤B"
        assert set(group.filters["models"]) == set(SEED_MODELS)
        assert "我会第一时间为您安排维修" in group.script
    assert (loyal.goal_rate, low_cost.goal_rate) == (Decimal("0.18"), Decimal("0.10"))
    assert loyal.holdout_share > 0 and not loyal.ab_test
    assert low_cost.ab_test and low_cost.holdout_share == 0 and low_cost.script_b != low_cost.script
    assert [t.name for t in loyal.offers.all()] == [LABOUR_COUPON]
    assert [t.name for t in low_cost.offers.all()] == [LABOUR_COUPON]
    assert [t.name for t in low_cost.offers_b.all()] == [PARTS_COUPON]
    labour = CouponTemplate.objects.get(dealership=store, name=LABOUR_COUPON)
    parts = CouponTemplate.objects.get(dealership=store, name=PARTS_COUPON)
    assert (labour.kind, labour.value, labour.next_visit_only) == ("labor_amount", Decimal("100.00"), True)
    assert (parts.kind, parts.value) == ("parts_percent", Decimal("15.00"))  # 85折

    invitations = Invitation.objects.filter(campaign=campaign)
    assert invitations.filter(target_group=loyal).exists() and invitations.filter(target_group=low_cost).exists()
    assert invitations.filter(target_group=loyal, holdout=True).exists()
    assert not invitations.filter(target_group=low_cost, holdout=True).exists()
    assert not invitations.filter(holdout=True, agent__isnull=False).exists()
    called = invitations.filter(holdout=False)
    assert set(called.values_list("agent__username", flat=True)) == {"agent", "ccmanager"}
    mine, managers = (called.filter(agent__username=name).count() for name in ("agent", "ccmanager"))
    assert mine > managers  # the agent carries twice the manager's share
    assert set(invitations.filter(target_group=low_cost).values_list("variant", flat=True)) <= {"A", "B"}

    attempts = CallAttempt.objects.filter(invitation__campaign=campaign)
    assert attempts.count() == len(CALLS)
    assert all(a.called_at <= timezone.now() for a in attempts)
    accepted = invitations.filter(status=Invitation.Status.ACCEPTED)
    assert accepted.count() == sum(outcome == "accepted" for _who, outcome in CALLS)
    for invitation in accepted.select_related("appointment"):
        appointment = invitation.appointment
        assert appointment.source == Appointment.Source.CAMPAIGN and appointment.status == Appointment.Status.BOOKED
        assert campaign.in_period(appointment.date)
    assert Coupon.objects.filter(campaign=campaign).count() == accepted.count()  # one offer per variant

    summary = selectors.group_summary(campaign=campaign)
    assert sum(row["called"] for row in summary) == len({a.invitation_id for a in attempts})
    assert sum(row["booked"] for row in summary) == accepted.count()
    progress = {row["agent"]: row for row in selectors.agent_progress(campaign=campaign)}
    assert len(progress) == 2 and all(row["calls"] > 0 for row in progress.values())


def test_a_second_run_changes_nothing_and_says_so(store):
    seed_campaign_demo()
    before = snapshot(store)

    out = seed_campaign_demo()

    assert snapshot(store) == before
    assert "already has the campaign" in out and "nothing changed" in out


def test_a_store_that_is_not_segmented_is_refused_and_nothing_is_written(db):
    call_command("seed_demo", "--customers", "50", stdout=StringIO())

    with pytest.raises(CommandError, match="segment"):
        seed_campaign_demo()
    assert not Campaign.objects.exists() and not CouponTemplate.objects.exists()


def test_an_unknown_store_is_refused(db):
    with pytest.raises(CommandError, match="NOPE"):
        call_command("seed_campaign_demo", "--dealership", "NOPE", stdout=StringIO())
