"""One campaign end to end through the services: groups, preview, list, calls, attendance, coupons."""

from datetime import date
from decimal import Decimal

import time_machine

from campaigns import selectors, services
from campaigns.models import CallAttempt, Coupon, Invitation
from tests.campaigns.conftest import NOW
from tests.factories import ServiceVisitFactory


def test_a_campaign_end_to_end(dealership, campaign, person, agent, cc_manager, advisor, running):
    loyal = [person(c3_group="profitable_loyal", plate=f"粤B1234{i}") for i in range(4)]
    low = [person(c3_group="low_cost", bought=date(2025, 1, 1)) for _ in range(3)]
    person(c3_group="profitable_loyal", marketing_consent=False)  # never invited
    template = services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100"), min_spend=Decimal("300")
    )
    g1 = services.target_group_create(
        campaign=campaign,
        name="盈利忠诚",
        filters={"c3_group": ["profitable_loyal"], "models": ["新君越"], "age_band": ["3-5"]},
        script="您好，我会第一时间为您安排维修。",
        offers=[template],
        goal_rate=Decimal("0.18"),
    )
    g2 = services.target_group_create(
        campaign=campaign, name="低成本", filters={"c3_group": ["low_cost"], "age_band": ["1-2", "<1"]}
    )
    rows = selectors.preview(campaign=campaign)
    assert [(r["matches"], r["would_add"]) for r in rows] == [(4, 4), (3, 3)]

    with time_machine.travel(NOW, tick=False):
        running()
        result = services.invitation_list_generate(campaign=campaign, agents={agent: 1, cc_manager: 1})
        assert result["added"] == 7
        assert services.invitation_list_generate(campaign=campaign)["added"] == 0
        assert Invitation.objects.filter(campaign=campaign, agent=agent).count() in (3, 4)

        first = selectors.next_invitation(agent=agent, dealership=dealership)
        services.call_record(invitation=first, agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
        first.refresh_from_db()
        assert first.status == Invitation.Status.ACCEPTED and first.appointment.source == "campaign"
        coupons = Coupon.objects.filter(customer=first.customer)
        if first.target_group == g1:
            assert coupons.count() == 1
        second = selectors.next_invitation(agent=agent, dealership=dealership)
        assert second.pk != first.pk
        services.call_record(invitation=second, agent=agent, outcome="no_answer")
        assert CallAttempt.objects.count() == 2

    ServiceVisitFactory(
        vehicle=first.customer.vehicles.first(),
        opened_on=date(2026, 12, 5),
        closed_on=date(2026, 12, 5),
        total_amount=Decimal("800"),
    )
    summary = selectors.group_summary(campaign=campaign)
    assert sum(r["attended"] for r in summary) == 1
    assert sum(r["invited"] for r in summary) == 7
    assert loyal and low and g2
