"""REST API v1 of campaigns in detail: bad input and refusals with their messages, filters, the agent's view of
invitations (their own only, phones masked for others), coupons refused for each reason, compliance, the A/B
and holdout results, and query counts."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import services
from campaigns.models import CallAttempt, Campaign, ComplianceTerm, Coupon, Invitation, TargetGroup
from dealercrm.core.roles import Role
from tests.campaigns.conftest import END, NOW, START, schedule_and_run
from tests.factories import CustomerFactory, DealershipFactory, ServiceVisitFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = NOW.date()


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


def url(name, *args):
    return reverse(f"api-campaign-{name}", args=args)


def ids(response):
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


@pytest.fixture
def agent2(dealership):
    return UserFactory(username="agent2", role=Role.AGENT, dealerships=[dealership])


@pytest.fixture
def template(dealership):
    return services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100"), min_spend=Decimal("300")
    )


@pytest.fixture
def listed(campaign, person, template, agent, agent2):
    """The campaign running, with two groups (4 loyal, 2 low-cost customers) shared between two agents."""
    loyal = services.target_group_create(
        campaign=campaign, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]}, offers=[template]
    )
    low = services.target_group_create(campaign=campaign, name="低成本", filters={"c3_group": ["low_cost"]})
    for _ in range(4):
        person(c3_group="profitable_loyal")
    for _ in range(2):
        person(c3_group="low_cost")
    schedule_and_run(campaign)
    services.invitation_list_generate(campaign=campaign, agents=[agent, agent2])
    campaign.refresh_from_db()
    return {"campaign": campaign, "loyal": loyal, "low": low}


def own_invitation(campaign, agent):
    return Invitation.objects.filter(campaign=campaign, agent=agent).order_by("id").first()


# --- campaigns --------------------------------------------------------------------------------------------


def test_campaign_filters(dealership, campaign, as_manager, api_client_for):
    later = services.campaign_create(
        dealership=dealership,
        code="SPRING27",
        name="春季空调检测",
        kind="seasonal",
        starts_on=date(2027, 3, 1),
        ends_on=date(2027, 4, 30),
    )
    services.target_group_create(campaign=later, name="全部车主")
    services.campaign_schedule(campaign=later)
    api = api_client_for(as_manager)
    listing = url("list")
    assert ids(api.get(listing)) == {campaign.pk, later.pk}
    assert ids(api.get(listing, {"status": "scheduled"})) == {later.pk}
    assert ids(api.get(listing, {"kind": "maintenance"})) == {campaign.pk}
    assert ids(api.get(listing, {"code": " spring27 "})) == {later.pk}
    assert ids(api.get(listing, {"period_after": "2026-12-31"})) == {campaign.pk, later.pk}
    assert ids(api.get(listing, {"period_after": "2027-01-01"})) == {later.pk}
    assert ids(api.get(listing, {"period_before": "2027-02-28"})) == {campaign.pk}
    assert ids(api.get(listing, {"period_after": "2027-01-01", "period_before": "2027-02-28"})) == set()
    assert ids(api.get(listing, {"active_on": "2027-03-01"})) == {later.pk}
    assert ids(api.get(listing, {"search": "空调"})) == {later.pk}
    assert api.get(listing, {"status": "paused"}).status_code == 400


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"ends_on": "2026-10-01"}, "ends_on", "The last day comes before the first day."),
        ({"kind": "gala"}, "kind", ""),
        ({"budget": "-1"}, "budget", ""),
        ({"max_attempts": 11}, "max_attempts", ""),
        ({"colour": "red"}, "colour", "Unknown field."),
    ],
)
def test_a_bad_campaign_is_refused_naming_the_field(payload, field, message, as_manager, api_client_for):
    body = {"code": "X1", "name": "活动", "kind": "maintenance", "starts_on": "2026-11-20", "ends_on": "2026-12-31"}
    response = api_client_for(as_manager).post(url("list"), {**body, **payload}, format="json")
    assert response.status_code == 400
    assert message in response.json()["fields"][field][0]
    assert not Campaign.objects.exists()


def test_a_campaign_code_is_unique_in_the_dealership(campaign, as_manager, api_client_for):
    body = {
        "code": "summer26",
        "name": "重复",
        "kind": "maintenance",
        "starts_on": "2026-11-20",
        "ends_on": "2026-12-31",
    }
    response = api_client_for(as_manager).post(url("list"), body, format="json")
    assert response.status_code == 400
    assert response.json()["message"] == "Campaign code SUMMER26 is already used in this dealership."


def test_a_running_campaign_changes_only_some_fields(listed, as_manager, api_client_for):
    api = api_client_for(as_manager)
    path = url("detail", listed["campaign"].pk)
    refused = api.patch(path, {"code": "OTHER", "starts_on": "2026-11-25"}, format="json")
    assert refused.status_code == 409
    assert refused.json()["code"] == "campaign_not_editable"
    assert refused.json()["message"].startswith("A running campaign cannot change its ")
    changed = api.patch(path, {"name": "冬季保养关爱", "cost": "1200.50"}, format="json")
    assert changed.status_code == 200, changed.content
    assert (changed.json()["name"], changed.json()["cost"], changed.json()["code"]) == (
        "冬季保养关爱",
        "1200.50",
        "SUMMER26",
    )


def test_the_status_changes_only_through_the_actions(campaign, as_manager, api_client_for):
    api = api_client_for(as_manager)
    path = url("detail", campaign.pk)
    refused = api.patch(path, {"status": "running"}, format="json")
    assert refused.status_code == 400
    assert refused.json()["fields"]["status"] == ["Change the status with the schedule, start and finish actions."]
    # echoing the status it has is fine (a client sending back what it read)
    echoed = api.patch(path, {"status": "draft", "name": "冬季保养"}, format="json")
    assert (echoed.status_code, echoed.json()["name"], echoed.json()["status"]) == (200, "冬季保养", "draft")


def test_state_changes_in_the_wrong_order_are_refused(campaign, as_manager, api_client_for):
    api = api_client_for(as_manager)
    no_group = api.post(url("schedule", campaign.pk))
    assert (no_group.status_code, no_group.json()["message"]) == (400, "Add a target group first.")
    start = api.post(url("start", campaign.pk))
    assert start.json()["message"] == "Only a scheduled campaign can start; this one is draft."
    finish = api.post(url("finish", campaign.pk))
    assert finish.json()["message"] == "Only a scheduled or running campaign can finish; this one is draft."
    generate = api.post(url("generate", campaign.pk), {}, format="json")
    assert generate.json()["message"] == "The list is generated for a scheduled or running campaign; this one is draft."


# --- target groups ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filters", "messages"),
    [
        ({"colour": ["red"]}, ["Unknown filter: colour."]),
        ({"c3_group": ["gold"]}, ["Unknown code in “c3_group”: gold"]),
        ({"age_band": ["7-9"], "tier": ["E"]}, ["Unknown code in “tier”: E", "Unknown code in “age_band”: 7-9"]),
        ({"models": "GL8"}, ["“models” must be a list of names."]),
        ({"last_visit_after": "yesterday"}, ["“last_visit_after” is not a date (YYYY-MM-DD): yesterday."]),
        ("profitable_loyal", ["The filters must be an object of codes."]),
    ],
)
def test_bad_filters_are_refused_naming_each_problem(filters, messages, campaign, as_manager, api_client_for):
    response = api_client_for(as_manager).post(
        url("target-group-list"), {"campaign": campaign.pk, "name": "组", "filters": filters}, format="json"
    )
    assert response.status_code == 400
    problems = response.json()["fields"]["filters"]
    assert len(problems) == len(messages), problems
    for message in messages:
        assert any(problem.startswith(message) for problem in problems), (message, problems)
    assert not TargetGroup.objects.exists()


def test_a_filter_matching_nobody_previews_zero(campaign, person, as_manager, api_client_for):
    person(c3_group="profitable_loyal", model="新君越")
    api = api_client_for(as_manager)
    created = api.post(
        url("target-group-list"),
        {"campaign": campaign.pk, "name": "陆尊车主", "filters": {"models": ["陆尊"], "plate_prefix": "粤B"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    preview = api.get(url("preview", campaign.pk)).json()
    assert [(g["matches"], g["would_add"], g["invited"]) for g in preview["groups"]] == [(0, 0, 0)]
    assert preview["customers"]["eligible"] == 1


def test_a_customer_matched_by_two_groups_is_previewed_in_the_first(campaign, person, as_manager, api_client_for):
    person(c3_group="profitable_loyal", model="GL8")
    api = api_client_for(as_manager)
    for name, filters in (("GL8", {"models": ["GL8"]}), ("盈利忠诚", {"c3_group": ["profitable_loyal"]})):
        api.post(url("target-group-list"), {"campaign": campaign.pk, "name": name, "filters": filters}, format="json")
    groups = api.get(url("preview", campaign.pk)).json()["groups"]
    assert [(g["name"], g["matches"], g["would_add"]) for g in groups] == [("GL8", 1, 1), ("盈利忠诚", 1, 0)]


def test_target_groups_change_only_while_the_campaign_is_a_draft(listed, template, as_manager, api_client_for):
    api = api_client_for(as_manager)
    group = listed["loyal"]
    changed = api.patch(url("target-group-detail", group.pk), {"name": "改名"}, format="json")
    assert changed.status_code == 409
    assert changed.json()["code"] == "campaign_not_draft"
    assert changed.json()["message"] == "Target groups change only while the campaign is a draft; this one is running."
    deleted = api.delete(url("target-group-detail", group.pk))
    assert deleted.status_code == 409
    added = api.post(url("target-group-list"), {"campaign": listed["campaign"].pk, "name": "新组"}, format="json")
    assert added.status_code == 409
    assert TargetGroup.objects.filter(pk=group.pk, name="盈利忠诚").exists() and TargetGroup.objects.count() == 2


def test_a_target_group_is_updated_with_its_offers(campaign, template, as_manager, api_client_for):
    api = api_client_for(as_manager)
    tyre = services.coupon_template_create(
        dealership=campaign.dealership, name="轮胎85折", kind="parts_percent", value=15
    )
    created = api.post(
        url("target-group-list"),
        {"campaign": campaign.pk, "name": "A/B", "offers": [template.pk], "holdout_share": "0.1"},
        format="json",
    ).json()
    path = url("target-group-detail", created["id"])
    refused = api.patch(path, {"ab_test": True}, format="json")
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("An A/B test needs the variant B script")
    changed = api.patch(path, {"ab_test": True, "script_b": "您好，B 话术。", "offers_b": [tyre.pk]}, format="json")
    assert changed.status_code == 200, changed.content
    body = api.get(path).json()
    assert (body["offers"], body["offers_b"], body["holdout_share"]) == ([template.pk], [tyre.pk], "0.1000")
    assert api.delete(path).status_code == 204
    assert not TargetGroup.objects.exists()


def test_a_target_group_takes_nothing_of_another_dealership(campaign, other_dealership, as_manager, api_client_for):
    theirs = services.coupon_template_create(dealership=other_dealership, name="券", kind="gift", gift="雨刮")
    their_campaign = services.campaign_create(
        dealership=other_dealership, code="GZ1", name="广州", kind="maintenance", starts_on=START, ends_on=END
    )
    api = api_client_for(as_manager)
    response = api.post(
        url("target-group-list"), {"campaign": their_campaign.pk, "name": "组", "offers": [theirs.pk]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "campaign": [f"No campaign with id {their_campaign.pk} in this dealership."],
        "offers": [f"No coupon template with id {theirs.pk} in this dealership."],
    }


def test_a_target_group_does_not_move_to_another_campaign(dealership, campaign, as_manager, api_client_for):
    group = services.target_group_create(campaign=campaign, name="组")
    other = services.campaign_create(
        dealership=dealership, code="OTHER", name="另一个", kind="maintenance", starts_on=START, ends_on=END
    )
    response = api_client_for(as_manager).patch(
        url("target-group-detail", group.pk), {"campaign": other.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"]["campaign"] == ["A target group cannot move to another campaign."]


def test_target_groups_are_filtered_by_campaign(dealership, campaign, as_manager, api_client_for):
    mine = services.target_group_create(campaign=campaign, name="组")
    other = services.campaign_create(
        dealership=dealership, code="OTHER", name="另一个", kind="maintenance", starts_on=START, ends_on=END
    )
    services.target_group_create(campaign=other, name="组")
    assert ids(api_client_for(as_manager).get(url("target-group-list"), {"campaign": campaign.pk})) == {mine.pk}


# --- the invitation list ----------------------------------------------------------------------------------


def test_generating_twice_adds_only_new_matches(listed, person, cc_manager, agent, api_client_for):
    api = api_client_for(cc_manager)
    path = url("generate", listed["campaign"].pk)
    assert api.post(path, {"agents": [agent.pk]}, format="json").json()["added"] == 0
    person(c3_group="low_cost")  # a customer who matches only now
    again = api.post(path, {"agents": [agent.pk]}, format="json").json()
    assert (again["added"], again["assigned"]) == (1, 1)
    assert api.post(path, {}, format="json").json()["added"] == 0
    assert Invitation.objects.filter(campaign=listed["campaign"]).count() == 7


@pytest.mark.parametrize(
    ("agents", "message"),
    [
        ({"abc": 1}, "Give an object of user id → weight, or a list of user ids."),
        ({"1": 0}, "A weight is a whole number of at least 1."),
        ("everyone", "Give an object of user id → weight, or a list of user ids."),
        ([], "Choose at least one agent."),
    ],
)
def test_bad_agents_are_refused(agents, message, listed, cc_manager, api_client_for):
    response = api_client_for(cc_manager).post(
        url("generate", listed["campaign"].pk), {"agents": agents}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert message in (body["fields"].get("agents") or [body["message"]])[0]


def test_a_misspelt_agents_key_is_refused_not_taken_for_every_agent(listed, person, agent, cc_manager, api_client_for):
    person(c3_group="low_cost")
    response = api_client_for(cc_manager).post(
        url("generate", listed["campaign"].pk), {"agent": [agent.pk]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["fields"] == {"agent": ["Unknown field."]}
    assert Invitation.objects.filter(campaign=listed["campaign"]).count() == 6


def test_staff_who_do_not_work_calls_are_not_agents(listed, advisor, outsider, cc_manager, api_client_for):
    response = api_client_for(cc_manager).post(
        url("assign", listed["campaign"].pk), {"agents": [advisor.pk, outsider.pk]}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["message"] == f"Not an agent of this dealership: {advisor.pk}, {outsider.pk}."


def test_reassign_moves_an_agents_open_invitations(listed, agent, agent2, cc_manager, api_client_for):
    campaign = listed["campaign"]
    theirs = Invitation.objects.filter(campaign=campaign, agent=agent).count()
    response = api_client_for(cc_manager).post(
        url("reassign", campaign.pk), {"from_agent": agent.pk, "agents": [agent2.pk]}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"assigned": theirs}
    assert Invitation.objects.filter(campaign=campaign, agent=agent2).count() == 6
    progress = api_client_for(cc_manager).get(url("progress", campaign.pk)).json()
    assert [(row["agent_id"], row["invitations"], row["open"]) for row in progress["agent_progress"]] == [
        (agent2.pk, 6, 6)
    ]


# --- invitations and calls --------------------------------------------------------------------------------


def test_an_agent_sees_only_their_own_invitations(listed, agent, agent2, cc_manager, api_client_for):
    campaign = listed["campaign"]
    own = set(Invitation.objects.filter(agent=agent).values_list("pk", flat=True))
    assert ids(api_client_for(agent).get(url("invitation-list"))) == own
    assert len(ids(api_client_for(cc_manager).get(url("invitation-list")))) == 6
    theirs = own_invitation(campaign, agent2)
    assert api_client_for(agent).get(url("invitation-detail", theirs.pk)).status_code == 404


def test_the_phone_is_masked_and_in_full_only_for_the_assigned_agent_who_asks(
    listed, agent, cc_manager, as_manager, api_client_for
):
    invitation = own_invitation(listed["campaign"], agent)
    phone = str(invitation.customer.phone)
    masked = phone[3:6] + "****" + phone[-4:]
    detail = url("invitation-detail", invitation.pk)
    assert api_client_for(agent).get(detail).json()["customer_phone"] == masked
    assert api_client_for(agent).get(detail, {"reveal": "phone"}).json()["customer_phone"] == phone[3:]
    for reader in (cc_manager, as_manager):
        assert api_client_for(reader).get(detail, {"reveal": "phone"}).status_code == 403
        assert api_client_for(reader).get(detail).json()["customer_phone"] == masked
        rows = api_client_for(reader).get(url("invitation-list")).json()["results"]
        assert all("****" in row["customer_phone"] for row in rows)


def test_invitation_filters(listed, agent, agent2, as_manager, api_client_for):
    campaign = listed["campaign"]
    api = api_client_for(as_manager)
    listing = url("invitation-list")
    every = set(Invitation.objects.values_list("pk", flat=True))
    low = set(Invitation.objects.filter(target_group=listed["low"]).values_list("pk", flat=True))
    first = own_invitation(campaign, agent)
    services.call_record(invitation=first, agent=agent, outcome="declined", reason="not_needed")
    assert ids(api.get(listing, {"campaign": campaign.pk})) == every
    assert ids(api.get(listing, {"target_group": listed["low"].pk})) == low
    assert ids(api.get(listing, {"agent": agent2.pk})) == set(
        Invitation.objects.filter(agent=agent2).values_list("pk", flat=True)
    )
    assert ids(api.get(listing, {"status": "declined"})) == {first.pk}
    assert ids(api.get(listing, {"holdout": "true"})) == set()
    assert ids(api.get(listing, {"holdout": "false", "unassigned": "false"})) == every
    assert ids(api.get(listing, {"customer": first.customer_id})) == {first.pk}
    assert api.get(listing, {"status": "maybe"}).status_code == 400


def test_an_invitation_shows_the_calls_made(listed, agent, as_manager, api_client_for):
    invitation = own_invitation(listed["campaign"], agent)
    services.call_record(invitation=invitation, agent=agent, outcome="busy", note="占线")
    body = api_client_for(as_manager).get(url("invitation-detail", invitation.pk)).json()
    assert [(c["outcome"], c["agent"], c["note"]) for c in body["calls"]] == [("busy", "agent", "占线")]
    assert (body["status"], body["attempts"], body["next_call_at"]) == ("pending", 1, "2026-12-01T12:00:00+08:00")


def test_next_is_204_when_nobody_is_waiting(listed, cc_manager, api_client_for):
    assert api_client_for(cc_manager).get(url("invitation-next")).status_code == 204


def test_a_call_back_and_a_no_answer_come_back_in_the_queue(listed, agent, api_client_for):
    api = api_client_for(agent)
    first = api.get(url("invitation-next")).json()
    response = api.post(
        url("invitation-outcome", first["id"]),
        {"outcome": "call_back", "call_back_at": "2026-12-01T15:00:00+08:00"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert (response.json()["invitation"]["status"], response.json()["coupons"]) == ("call_back", [])
    assert api.get(url("invitation-next")).json()["id"] != first["id"]
    with time_machine.travel(NOW + timedelta(hours=5), tick=False):
        assert api.get(url("invitation-next")).json()["id"] == first["id"]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"outcome": "accepted"}, "appointment_date", "Give the day the customer booked."),
        ({"outcome": "call_back"}, "call_back_at", "Give the time to call back."),
        ({"outcome": "hung_up"}, "outcome", ""),
        ({"outcome": "accepted", "appointment_date": "2027-01-05"}, None, "between today and the campaign's"),
        ({"outcome": "call_back", "call_back_at": "2026-11-30T10:00:00+08:00"}, None, "later than now"),
        ({"outcome": "no_answer", "note": "x" * 201}, "note", ""),
        ({"outcome": "no_answer", "notes": "拼错"}, "notes", "Unknown field."),
    ],
)
def test_a_bad_outcome_is_refused_naming_the_problem(payload, field, message, listed, agent, api_client_for):
    invitation = own_invitation(listed["campaign"], agent)
    response = api_client_for(agent).post(url("invitation-outcome", invitation.pk), payload, format="json")
    assert response.status_code == 400
    body = response.json()
    assert message in (body["message"] if field is None else body["fields"][field][0])
    assert not CallAttempt.objects.exists()


def test_an_outcome_on_a_finished_campaign_is_refused(listed, agent, as_manager, api_client_for):
    invitation = own_invitation(listed["campaign"], agent)
    assert api_client_for(as_manager).post(url("finish", listed["campaign"].pk)).status_code == 200
    response = api_client_for(agent).post(
        url("invitation-outcome", invitation.pk),
        {"outcome": "accepted", "appointment_date": "2026-12-05"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["code"] == "campaign_not_running"
    assert response.json()["message"] == "The campaign is finished: calls are recorded only while it runs."
    assert not CallAttempt.objects.exists()
    assert api_client_for(agent).get(url("invitation-next")).status_code == 204


def test_only_the_assigned_agent_records_an_outcome(listed, agent, agent2, cc_manager, api_client_for):
    invitation = own_invitation(listed["campaign"], agent)
    path = url("invitation-outcome", invitation.pk)
    # a call-centre manager sees the invitation but it is not on their list
    by_manager = api_client_for(cc_manager).post(path, {"outcome": "declined"}, format="json")
    assert by_manager.status_code == 403
    assert by_manager.json()["message"] == "This customer is on another agent's list."
    # another agent does not even see it
    assert api_client_for(agent2).post(path, {"outcome": "declined"}, format="json").status_code == 404
    assert not CallAttempt.objects.exists()


def test_a_wrong_number_flags_the_customer(listed, agent, api_client_for):
    invitation = own_invitation(listed["campaign"], agent)
    response = api_client_for(agent).post(url("invitation-outcome", invitation.pk), {"outcome": "wrong_number"})
    assert response.status_code == 201
    invitation.customer.refresh_from_db()
    assert invitation.customer.flag_wrong_number is True


# --- coupon templates and coupons -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"kind": "parts_percent", "value": "150"}, "value"),
        ({"kind": "points", "value": "1"}, "value"),
        ({"kind": "gift", "gift": ""}, "gift"),
        ({"kind": "labor_amount", "value": "100", "visit_types": ["picnic"]}, "visit_types"),
        ({"kind": "labor_amount", "value": "100", "valid_days": 0}, "valid_days"),
    ],
)
def test_a_bad_coupon_template_is_refused_naming_the_field(payload, field, as_manager, api_client_for):
    response = api_client_for(as_manager).post(url("coupon-template-list"), {"name": "券", **payload}, format="json")
    assert response.status_code == 400
    body = response.json()
    # a list's item is named by its index: "visit_types.0"
    assert any(name.split(".")[0] == field for name in body["fields"]), body


@pytest.fixture
def coupon_case(dealership, template):
    customer = CustomerFactory(dealership=dealership)
    visit = ServiceVisitFactory(
        vehicle__owner=customer, opened_on=TODAY, closed_on=TODAY, visit_type="maintenance", total_amount=Decimal("550")
    )
    return customer, visit


REFUSALS = {
    "expired": (lambda c: Coupon.objects.filter(pk=c.pk).update(expires_on=TODAY - timedelta(days=1)), "expired on"),
    "voided": (lambda c: services.coupon_void(coupon=c, reason="作废"), "was voided"),
    "another customer's": (
        lambda c: Coupon.objects.filter(pk=c.pk).update(customer=CustomerFactory(dealership=c.dealership)),
        "belongs to another customer",
    ),
    "below the minimum spend": (
        lambda c: c.template.__class__.objects.filter(pk=c.template_id).update(min_spend=Decimal("1000")),
        "below the coupon's minimum spend of ¥1000.00",
    ),
    "another visit type": (
        lambda c: c.template.__class__.objects.filter(pk=c.template_id).update(visit_types=["bodywork"]),
        "is not valid on a maintenance visit",
    ),
    "next visit only": (
        lambda c: c.template.__class__.objects.filter(pk=c.template_id).update(next_visit_only=True),
        "can be used from the customer's next visit on",
    ),
}


@pytest.mark.parametrize("reason", REFUSALS)
def test_a_coupon_that_cannot_be_used_is_refused_with_the_reason(
    reason, coupon_case, template, advisor, api_client_for
):
    customer, visit = coupon_case
    coupon = services.coupon_issue(template=template, customer=customer, issued_visit=visit)
    make_unusable, message = REFUSALS[reason]
    make_unusable(coupon)
    response = api_client_for(advisor).post(url("coupon-redeem", coupon.pk), {"visit": visit.pk}, format="json")
    # the coupon's own state (voided, expired) is a conflict; the visit not meeting its terms a bad request
    assert response.status_code == (409 if reason in ("expired", "voided") else 400), response.content
    assert message in response.json()["message"]
    coupon.refresh_from_db()
    assert coupon.status != Coupon.Status.REDEEMED


def test_a_coupon_is_redeemed_once_then_409(coupon_case, template, advisor, as_manager, api_client_for):
    customer, visit = coupon_case
    coupon = services.coupon_issue(template=template, customer=customer)
    first = api_client_for(advisor).post(url("coupon-redeem", coupon.pk), {"visit": visit.pk}, format="json")
    assert first.status_code == 200
    second = api_client_for(as_manager).post(url("coupon-redeem", coupon.pk), {"visit": visit.pk}, format="json")
    assert second.status_code == 409
    assert second.json()["message"] == f"Coupon {coupon.code} was already redeemed on 2026-12-01 10:00."
    coupon.refresh_from_db()
    assert (coupon.redeemed_by, coupon.redeemed_visit) == (advisor, visit)


def test_a_visit_of_another_dealership_is_not_found(template, advisor, other_dealership, api_client_for, dealership):
    coupon = services.coupon_issue(template=template, customer=CustomerFactory(dealership=dealership))
    theirs = ServiceVisitFactory(vehicle__owner=CustomerFactory(dealership=other_dealership))
    response = api_client_for(advisor).post(url("coupon-redeem", coupon.pk), {"visit": theirs.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["fields"]["visit"] == [f"No service visit with id {theirs.pk} in this dealership."]


def test_coupons_are_found_by_code_customer_status_and_campaign(listed, template, as_manager, api_client_for):
    campaign = listed["campaign"]
    invitation = Invitation.objects.filter(target_group=listed["loyal"]).first()
    issued = services.coupons_issue_to_group(group=listed["loyal"], template=template)
    loose = services.coupon_issue(template=template, customer=invitation.customer)
    services.coupon_void(coupon=loose, reason="重复")
    api = api_client_for(as_manager)
    listing = url("coupon-list")
    every = set(Coupon.objects.values_list("pk", flat=True))
    assert issued == 4 and len(every) == 5
    assert ids(api.get(listing, {"campaign": campaign.pk})) == every - {loose.pk}
    assert ids(api.get(listing, {"customer": invitation.customer_id})) == set(
        Coupon.objects.filter(customer=invitation.customer).values_list("pk", flat=True)
    )
    assert ids(api.get(listing, {"status": "void"})) == {loose.pk}
    spoken = " ".join([loose.code[:4].lower(), loose.code[4:8], loose.code[8:]])
    assert ids(api.get(listing, {"code": spoken})) == {loose.pk}
    assert ids(api.get(listing, {"code": "NOSUCHCODE"})) == set()


def test_coupons_are_issued_to_a_target_group_once(listed, template, as_manager, api_client_for):
    api = api_client_for(as_manager)
    body = {"template": template.pk, "target_group": listed["loyal"].pk}
    first = api.post(url("coupon-issue"), body, format="json")
    assert first.status_code == 201, first.content
    assert first.json() == {"issued": 4, "coupon": None}
    assert api.post(url("coupon-issue"), body, format="json").json()["issued"] == 0
    assert set(Coupon.objects.values_list("campaign_id", flat=True)) == {listed["campaign"].pk}


def test_a_coupon_is_issued_to_one_customer(dealership, template, campaign, as_manager, api_client_for):
    customer = CustomerFactory(dealership=dealership)
    response = api_client_for(as_manager).post(
        url("coupon-issue"), {"template": template.pk, "customer": customer.pk, "campaign": campaign.pk}, format="json"
    )
    assert response.status_code == 201, response.content
    coupon = response.json()["coupon"]
    assert response.json()["issued"] == 1
    assert (coupon["customer"], coupon["campaign_code"], coupon["status"]) == (customer.pk, "SUMMER26", "issued")
    assert (coupon["issued_at"], coupon["expires_on"]) == ("2026-12-01T10:00:00+08:00", "2027-02-28")
    assert len(coupon["code"]) == 12


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({}, None),
        ({"customer": True, "target_group": True}, None),
        ({"target_group": True, "campaign": True}, "campaign"),
    ],
)
def test_a_coupon_goes_to_a_customer_or_a_group(extra, field, listed, template, dealership, as_manager, api_client_for):
    values = {
        "customer": CustomerFactory(dealership=dealership).pk,
        "target_group": listed["loyal"].pk,
        "campaign": listed["campaign"].pk,
    }
    body = {"template": template.pk, **{name: values[name] for name in extra}}
    response = api_client_for(as_manager).post(url("coupon-issue"), body, format="json")
    assert response.status_code == 400
    body = response.json()
    assert (body["message"] and not body["fields"]) if field is None else field in body["fields"]
    assert not Coupon.objects.exists()


def test_an_inactive_template_issues_nothing(dealership, template, as_manager, api_client_for):
    api = api_client_for(as_manager)
    assert api.patch(url("coupon-template-detail", template.pk), {"active": False}, format="json").status_code == 200
    response = api.post(
        url("coupon-issue"), {"template": template.pk, "customer": CustomerFactory(dealership=dealership).pk}
    )
    assert response.status_code == 400
    assert response.json()["message"] == "The coupon template “¥100 工时券” is not active."


def test_void_a_coupon_with_a_reason(dealership, template, as_manager, advisor, api_client_for):
    coupon = services.coupon_issue(template=template, customer=CustomerFactory(dealership=dealership))
    api = api_client_for(as_manager)
    assert "reason" in api.post(url("coupon-void", coupon.pk), {}, format="json").json()["fields"]
    voided = api.post(url("coupon-void", coupon.pk), {"reason": "客户投诉补偿错误"}, format="json")
    assert voided.status_code == 200
    assert (voided.json()["status"], voided.json()["void_reason"]) == ("void", "客户投诉补偿错误")
    again = api.post(url("coupon-void", coupon.pk), {"reason": "再次"}, format="json")
    assert again.status_code == 409 and again.json()["code"] == "coupon_not_open"
    assert again.json()["message"] == f"Only an open coupon can be voided; {coupon.code} is void."


# --- compliance -------------------------------------------------------------------------------------------


def test_banned_expressions_are_found_and_stop_the_schedule(campaign, as_manager, api_client_for):
    api = api_client_for(as_manager)
    services.target_group_create(campaign=campaign, name="全部车主", script="我们是全城最好的4S店，第一时间为您服务。")
    findings = api.get(url("compliance", campaign.pk)).json()
    assert findings["compliant"] is False
    assert [(f["phrase"], f["where"]) for f in findings["findings"]] == [
        ("最好", "the call script of target group “全部车主”")
    ]
    refused = api.post(url("schedule", campaign.pk))
    assert refused.status_code == 400
    assert refused.json()["message"].startswith("The campaign uses banned absolute expressions: “最好”")
    assert [f["phrase"] for f in refused.json()["findings"]] == ["最好"]
    # the dealership allows the phrase (say, legal cleared it), and the campaign passes
    term = api.post(url("compliance-term-list"), {"kind": "allowed", "phrase": "全城最好"}, format="json")
    assert term.status_code == 201, term.content
    assert api.get(url("compliance", campaign.pk)).json()["compliant"] is True
    assert api.post(url("schedule", campaign.pk)).status_code == 200


def test_compliance_terms_are_listed_added_once_and_removed(dealership, as_manager, api_client_for):
    api = api_client_for(as_manager)
    added = api.post(url("compliance-term-list"), {"kind": "banned", "phrase": " 超值 "}, format="json")
    assert added.status_code == 201
    assert (added.json()["phrase"], added.json()["kind_display"]) == ("超值", "Banned expression")
    twice = api.post(url("compliance-term-list"), {"kind": "banned", "phrase": "超值"}, format="json")
    assert (twice.status_code, twice.json()["message"]) == (400, "“超值” is already on the list.")
    assert api.post(url("compliance-term-list"), {"kind": "maybe", "phrase": "x"}, format="json").status_code == 400
    assert [t["phrase"] for t in api.get(url("compliance-term-list"), {"kind": "banned"}).json()["results"]] == ["超值"]
    assert api.delete(url("compliance-term-detail", added.json()["id"])).status_code == 204
    assert not ComplianceTerm.objects.exists()


# --- results ----------------------------------------------------------------------------------------------


def test_results_compare_the_variants_and_measure_the_holdout(
    dealership, campaign, person, agent, cc_manager, api_client_for
):
    group = services.target_group_create(
        campaign=campaign,
        name="A/B",
        filters={"c3_group": ["profitable_loyal"]},
        ab_test=True,
        script="A 话术",
        script_b="B 话术",
        holdout_share=Decimal("0.2"),
    )
    for _ in range(20):
        person(c3_group="profitable_loyal")
    schedule_and_run(campaign)
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    called = list(Invitation.objects.filter(campaign=campaign, holdout=False).order_by("id"))
    holdout = list(Invitation.objects.filter(campaign=campaign, holdout=True))
    assert (len(called), len(holdout)) == (16, 4)
    accepted = [inv for inv in called if inv.variant == "B"][:3]
    for invitation in accepted:
        services.call_record(invitation=invitation, agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
    for invitation in called[:8] + holdout[:1]:
        ServiceVisitFactory(vehicle=invitation.vehicle, opened_on=date(2026, 11, 25), closed_on=date(2026, 11, 25))

    body = api_client_for(cc_manager).get(url("results", campaign.pk)).json()

    [row] = body["group_summary"]
    assert (row["invited"], row["booked"], row["attended"], row["holdout"], row["holdout_attended"]) == (16, 3, 8, 4, 1)
    assert (row["attendance_rate"], row["revenue"], row["average_ticket"]) == (0.5, "4400.00", "550.00")
    [variants] = body["variant_results"]
    assert (variants["target_group"], variants["a"]["accepted"], variants["b"]["accepted"]) == (group.pk, 0, 3)
    assert variants["a"]["invited"] + variants["b"]["invited"] == 16
    assert variants["test"] == "fisher"  # small counts: the exact test
    assert 0 < variants["p_value"] <= 1 and variants["significant"] is (variants["p_value"] < 0.05)
    assert variants["difference"] == pytest.approx(variants["rate_b"] - variants["rate_a"])
    [uplift] = body["holdouts"]
    assert (uplift["called_rate"], uplift["holdout_rate"], uplift["uplift"]) == (0.5, 0.25, 0.25)
    assert uplift["low"] < 0.25 < uplift["high"]


# --- query counts -----------------------------------------------------------------------------------------


def _queries(api, path):
    with CaptureQueriesContext(connection) as queries:
        assert api.get(path).status_code == 200
    return len(queries)


def test_lists_take_the_same_queries_for_few_rows_and_many(
    campaign, person, template, agent, as_manager, api_client_for
):
    services.target_group_create(campaign=campaign, name="全部", offers=[template])
    person()
    schedule_and_run(campaign)
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    services.coupons_issue_to_group(group=campaign.target_groups.get(), template=template)
    api = api_client_for(as_manager)
    paths = [url("invitation-list"), url("coupon-list"), url("list"), url("target-group-list")]
    few = [_queries(api, path) for path in paths]
    for _ in range(6):
        person()
    services.invitation_list_generate(campaign=campaign, agents=[agent])
    services.coupons_issue_to_group(group=campaign.target_groups.get(), template=template)
    assert Invitation.objects.count() == Coupon.objects.count() == 7
    assert [_queries(api, path) for path in paths] == few


def test_a_multi_store_manager_works_in_the_store_they_name(campaign, other_dealership, dealership, api_client_for):
    chain = UserFactory(username="chain", role=Role.AS_MANAGER, dealerships=[dealership, other_dealership])
    api = api_client_for(chain)
    assert api.get(url("list")).status_code == 400
    assert ids(api.get(url("list"), HTTP_X_DEALERSHIP="SZ01")) == {campaign.pk}
    assert ids(api.get(url("list"), {"dealership": "GZ02"})) == set()
    DealershipFactory(code="FS03")
    assert api.get(url("detail", campaign.pk), HTTP_X_DEALERSHIP="FS03").status_code == 404
