"""Seed 002's campaign built end to end through the REST API, on hand-built customers whose counts are exact:
two target groups, preview, schedule, start, the list shared between two agents, a call accepted with a date
(an appointment at the counter), the coupon issued with it redeemed on the visit, and the results."""

from datetime import date, datetime

import pytest
import time_machine
from django.urls import reverse

from dealercrm.core.roles import Role
from tests.campaigns.conftest import NOW, SHANGHAI, START
from tests.factories import ServiceVisitFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = ["新君威", "新君越", "GL8", "陆尊"]
BEFORE_START = datetime(2026, 11, 10, 9, 0, tzinfo=SHANGHAI)
VISIT_DAY = datetime(2026, 12, 5, 10, 30, tzinfo=SHANGHAI)


def url(name, *args):
    return reverse(f"api-campaign-{name}", args=args)


@pytest.fixture
def agent2(dealership):
    return UserFactory(username="agent2", role=Role.AGENT, dealerships=[dealership])


@pytest.fixture
def customers(person):
    """Vehicle ages are taken on the campaign's first day, 2026-11-20: bought 2025-03-01 is 1–2 years old,
    2024-02-01 is 2–3, 2022-08-01 and 2023-01-15 are 3–5, 2026-03-01 is under 1, 2020-05-01 is over 5."""
    loyal = [
        person(c3_group="profitable_loyal", model="新君威", bought=date(2025, 3, 1)),
        person(c3_group="profitable_loyal", model="新君越", bought=date(2024, 2, 1)),
        person(c3_group="profitable_loyal", model="GL8", bought=date(2022, 8, 1)),
        person(c3_group="profitable_loyal", model="陆尊", bought=date(2023, 1, 15)),
        person(c3_group="profitable_loyal", model="新君越", bought=date(2025, 6, 1)),
    ]
    low_cost = [
        person(c3_group="low_cost", model="新君越", bought=date(2026, 3, 1)),
        person(c3_group="low_cost", model="GL8", bought=date(2025, 1, 10)),
        person(c3_group="low_cost", model="陆尊", bought=date(2024, 5, 1)),
    ]
    left_out = [
        person(c3_group="profitable_loyal", model="新君越", bought=date(2024, 2, 1), plate="粤A12345"),  # Guangzhou
        person(c3_group="profitable_loyal", model="英朗", bought=date(2024, 2, 1)),  # another model
        person(c3_group="profitable_loyal", model="新君越", bought=date(2020, 5, 1)),  # over 5 years
        person(c3_group="profitable_loyal", model="新君越", bought=date(2026, 3, 1)),  # under 1 year
        person(c3_group="profitable_loyal", model="新君越", bought=date(2024, 2, 1), marketing_consent=False),
        person(c3_group="profitable_loyal", model="GL8", bought=date(2024, 2, 1), do_not_contact=True),
        person(c3_group="low_cost", model="新君威", bought=date(2022, 8, 1)),  # 3–5 years: not the low-cost bands
        person(c3_group="low_cost", model="新君越", bought=date(2026, 3, 1), flag_wrong_number=True),
    ]
    bystander = person(c3_group="high_risk", model="新君越", bought=date(2025, 1, 10))
    return {"loyal": loyal, "low_cost": low_cost, "left_out": left_out, "bystander": bystander}


def test_seed_002_through_the_api(
    dealership, customers, as_manager, cc_manager, agent, agent2, advisor, api_client_for
):
    manager, centre, caller, counter = (api_client_for(u) for u in (as_manager, cc_manager, agent, advisor))

    with time_machine.travel(BEFORE_START, tick=False):
        # the after-sales manager sets up the offer, the campaign and its two target groups
        template = manager.post(
            url("coupon-template-list"),
            {
                "name": "¥100 工时券",
                "kind": "labor_amount",
                "value": "100",
                "min_spend": "300",
                "visit_types": ["maintenance", "repair"],
                "valid_days": 60,
            },
            format="json",
        )
        assert template.status_code == 201, template.content
        created = manager.post(
            url("list"),
            {
                "code": "bk2026w",
                "name": "冬季关爱活动",
                "kind": "maintenance",
                "description": "老客户冬季保养邀约",
                "starts_on": "2026-11-20",
                "ends_on": "2026-12-31",
                "budget": "20000.00",
            },
            format="json",
        )
        assert created.status_code == 201, created.content
        campaign = created.json()
        assert (campaign["code"], campaign["status"], campaign["created_by"]) == ("BK2026W", "draft", "asmanager")
        groups = {}
        for name, c3, bands, goal in (
            ("盈利忠诚", "profitable_loyal", ["1-2", "2-3", "3-5"], "0.18"),
            ("低成本", "low_cost", ["<1", "1-2", "2-3"], "0.11"),
        ):
            response = manager.post(
                url("target-group-list"),
                {
                    "campaign": campaign["id"],
                    "name": name,
                    "filters": {"c3_group": [c3], "plate_prefix": "粤B", "models": MODELS, "age_band": bands},
                    "goal_rate": goal,
                    "script": "您好，我是别克4S店客服，我会第一时间为您安排保养。",
                    "offers": [template.json()["id"]],
                },
                format="json",
            )
            assert response.status_code == 201, response.content
            groups[name] = response.json()
        assert [g["position"] for g in groups.values()] == [1, 2]

        # the preview counts exactly the hand-built customers who match
        preview = manager.get(url("preview", campaign["id"])).json()
        assert [(g["name"], g["matches"], g["would_add"], g["invited"]) for g in preview["groups"]] == [
            ("盈利忠诚", 5, 5, 0),
            ("低成本", 3, 3, 0),
        ]
        assert preview["customers"] == {"eligible": 14, "no_consent": 1, "do_not_contact": 1, "wrong_number": 1}
        assert manager.get(url("compliance", campaign["id"])).json() == {"compliant": True, "findings": []}

        # scheduled ahead of its first day, it cannot start yet
        scheduled = manager.post(url("schedule", campaign["id"]))
        assert (scheduled.status_code, scheduled.json()["status"]) == (200, "scheduled")
        early = manager.post(url("start", campaign["id"]))
        assert early.status_code == 400
        assert "cannot start on 2026-11-10" in early.json()["message"]

    with time_machine.travel(datetime.combine(START, datetime.min.time(), SHANGHAI).replace(hour=8), tick=False):
        # on its first day the manager starts it, and the call-centre manager shares the list between two agents
        started = manager.post(url("start", campaign["id"]))
        assert (started.status_code, started.json()["status"]) == (200, "running")
        generated = centre.post(
            url("generate", campaign["id"]), {"agents": {str(agent.pk): 1, str(agent2.pk): 1}}, format="json"
        )
        assert generated.status_code == 200, generated.content
        assert generated.json() == {
            "added": 8,
            "assigned": 8,
            "per_group": [
                {"target_group": groups["盈利忠诚"]["id"], "added": 5},
                {"target_group": groups["低成本"]["id"], "added": 3},
            ],
        }
        again = centre.post(url("generate", campaign["id"]), {"agents": [agent.pk, agent2.pk]}, format="json")
        assert again.json()["added"] == 0
        progress = centre.get(url("progress", campaign["id"])).json()
        assert sorted(row["invitations"] for row in progress["agent_progress"]) == [4, 4]
        assert [(row["name"], row["invited"]) for row in progress["group_summary"]] == [("盈利忠诚", 5), ("低成本", 3)]
        invited = {row["customer"] for row in manager.get(url("invitation-list"), {"page_size": 50}).json()["results"]}
        assert invited == {c.pk for c in customers["loyal"] + customers["low_cost"]}

    with time_machine.travel(NOW, tick=False):
        # the agent takes the next customer: their own, the phone masked (in full on asking), the script and the offer
        nxt = caller.get(url("invitation-next"))
        assert nxt.status_code == 200, nxt.content
        invitation = nxt.json()
        assert invitation["agent"] == agent.pk
        assert "****" in invitation["customer_phone"]
        revealed = caller.get(url("invitation-detail", invitation["id"]), {"reveal": "phone"}).json()
        assert revealed["customer_phone"].isdigit() and len(revealed["customer_phone"]) == 11
        assert "第一时间" in invitation["script"]
        assert [offer["name"] for offer in invitation["offers"]] == ["¥100 工时券"]
        assert invitation["vehicle_model"] in MODELS

        # the customer accepts, for 5 December
        outcome = caller.post(
            url("invitation-outcome", invitation["id"]),
            {"outcome": "accepted", "appointment_date": "2026-12-05", "time_slot": "09:00-10:00", "note": "周六上午"},
            format="json",
        )
        assert outcome.status_code == 201, outcome.content
        result = outcome.json()
        assert (result["attempt"]["outcome"], result["attempt"]["agent"]) == ("accepted", "agent")
        assert (result["invitation"]["status"], result["invitation"]["appointment_date"]) == ("accepted", "2026-12-05")
        assert len(result["coupons"]) == 1
        code = result["coupons"][0]["code"]

        # the appointment is on the counter's list for that day
        day = counter.get(reverse("api-appointment-list"), {"date": "2026-12-05"}).json()["results"]
        assert [(a["id"], a["customer"], a["source"], a["time_slot"]) for a in day] == [
            (result["invitation"]["appointment"], invitation["customer"], "campaign", "09:00-10:00")
        ]
        # and the next customer is another one
        assert caller.get(url("invitation-next")).json()["id"] != invitation["id"]

    with time_machine.travel(VISIT_DAY, tick=False):
        # the customer comes; the advisor records the visit and finds the coupon by the code the customer shows
        visit = counter.post(
            reverse("api-visit-list"),
            {
                "ro_number": "RO20261205001",
                "vehicle": invitation["vehicle"],
                "opened_on": "2026-12-05",
                "visit_type": "maintenance",
                "labor_amount": "300.00",
                "parts_amount": "320.00",
                "campaign_code": "BK2026W",
            },
            format="json",
        )
        assert visit.status_code == 201, visit.content
        found = counter.get(url("coupon-list"), {"code": code.lower()}).json()["results"]
        assert [(c["code"], c["status"], c["customer"]) for c in found] == [(code, "issued", invitation["customer"])]
        redeemed = counter.post(url("coupon-redeem", found[0]["id"]), {"visit": visit.json()["id"]}, format="json")
        assert redeemed.status_code == 200, redeemed.content
        assert (redeemed.json()["status"], redeemed.json()["redeemed_by"]) == ("redeemed", "advisor")
        assert redeemed.json()["redeemed_ro_number"] == "RO20261205001"
        # a second try is refused with the reason
        twice = counter.post(url("coupon-redeem", found[0]["id"]), {"visit": visit.json()["id"]}, format="json")
        assert twice.status_code == 409
        assert twice.json()["message"] == f"Coupon {code} was already redeemed on 2026-12-05 10:30."

        # a customer not on the list comes with the campaign's code: a non-target participant
        ServiceVisitFactory(
            vehicle=customers["bystander"].vehicles.get(),
            opened_on=date(2026, 12, 5),
            closed_on=date(2026, 12, 5),
            campaign_code="BK2026W",
        )

    # the results come from the records (a report: the manager's; the counter's advisor may not read them)
    assert counter.get(url("results", campaign["id"])).status_code == 403
    results = manager.get(url("results", campaign["id"])).json()
    group = next(g for g in results["group_summary"] if g["target_group"] == invitation["target_group"])
    assert (group["booked"], group["attended"], group["revenue"], group["average_ticket"]) == (1, 1, "620.00", "620.00")
    assert sum(g["invited"] for g in results["group_summary"]) == 8
    assert results["non_target_participants"] == {"customers": 1, "revenue": "550.00"}
    assert results["variant_results"] == [] and results["holdouts"] == []
