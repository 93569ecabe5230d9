"""REST API v1 of campaigns, endpoint by endpoint: each role the table allows gets it done, and a user of another
dealership finds none of our rows in their lists or bodies. (Each URL × method answering anonymous users, every
role and other dealerships as the role table says: tests/core/test_access.py.)"""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from campaigns import services
from campaigns.models import Coupon, Invitation
from dealercrm.core.roles import Role
from tests.campaigns.conftest import END, NOW, START, schedule_and_run
from tests.factories import ServiceVisitFactory, UserFactory

pytestmark = pytest.mark.django_db

EVERYONE = set(Role.values)
MANAGERS = {Role.AS_MANAGER, Role.ADMIN}
CALL_LISTS = {Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN}
CALLS = {Role.AGENT, Role.CC_MANAGER}
REDEEM = {Role.ADVISOR, Role.AS_MANAGER, Role.ADMIN}
REPORTS = {Role.AGENT, Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN}  # an agent: their own figures


@pytest.fixture(autouse=True)
def now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(dealership, person, campaign, agent, users):
    """SZ01 with a draft (with a group), a scheduled and a running campaign (its list given to the agent), a
    coupon template, an open coupon, a visit to redeem it on, and a compliance term."""
    template = services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100"), min_spend=Decimal("300")
    )
    draft_group = services.target_group_create(
        campaign=campaign, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]}, offers=[template]
    )
    scheduled = services.campaign_create(
        dealership=dealership, code="AUTUMN26", name="秋季检测", kind="seasonal", starts_on=START, ends_on=END
    )
    services.target_group_create(campaign=scheduled, name="全部车主", filters={})
    services.campaign_schedule(campaign=scheduled)
    running = services.campaign_create(
        dealership=dealership, code="WINTER26", name="冬季保养", kind="maintenance", starts_on=START, ends_on=END
    )
    services.target_group_create(campaign=running, name="低成本", filters={"c3_group": ["low_cost"]}, offers=[template])
    for _ in range(3):
        person(c3_group="low_cost")
    schedule_and_run(running)
    services.invitation_list_generate(campaign=running, agents=[agent])
    invitation = Invitation.objects.filter(campaign=running).order_by("id").first()
    customer = invitation.customer
    coupon = services.coupon_issue(template=template, customer=customer, campaign=running)
    visit = ServiceVisitFactory(
        vehicle=customer.vehicles.first(), opened_on=date(2026, 12, 1), closed_on=None, total_amount=Decimal("800")
    )
    term = services.compliance_term_add(dealership=dealership, kind="banned", phrase="超值")
    return {
        "template": template,
        "draft": campaign,
        "draft_group": draft_group,
        "scheduled": scheduled,
        "running": running,
        "invitation": invitation,
        "customer": customer,
        "coupon": coupon,
        "visit": visit,
        "term": term,
        "users": users,
    }


def url(name, *args):
    return reverse(f"api-campaign-{name}", args=args)


def _on_callers_list(w, user):
    """Given the invitation is on the caller's own list."""
    Invitation.objects.filter(pk=w["invitation"].pk).update(agent=user)


def campaign_payload(**extra):
    return {
        "code": "spring27",
        "name": "春季空调检测",
        "kind": "seasonal",
        "starts_on": "2027-03-01",
        "ends_on": "2027-04-30",
        "budget": "5000.00",
        **extra,
    }


def group_payload(w, **extra):
    return {
        "campaign": w["draft"].pk,
        "name": "低成本",
        "filters": {"c3_group": ["low_cost"], "age_band": ["<1", "1-2"]},
        "offers": [w["template"].pk],
        **extra,
    }


def template_payload(**extra):
    return {"name": "轮胎85折", "kind": "parts_percent", "value": "15.00", "visit_types": ["repair"], **extra}


# name: (method, url, payload, roles allowed, status when allowed[, given])
ENDPOINTS = {
    "campaign list": ("get", lambda w: url("list"), None, EVERYONE, 200),
    "campaign detail": ("get", lambda w: url("detail", w["draft"].pk), None, EVERYONE, 200),
    "campaign create": ("post", lambda w: url("list"), lambda w: campaign_payload(), MANAGERS, 201),
    "campaign patch": ("patch", lambda w: url("detail", w["draft"].pk), lambda w: {"budget": "30000"}, MANAGERS, 200),
    "campaign schedule": ("post", lambda w: url("schedule", w["draft"].pk), None, MANAGERS, 200),
    "campaign start": ("post", lambda w: url("start", w["scheduled"].pk), None, MANAGERS, 200),
    "campaign finish": ("post", lambda w: url("finish", w["running"].pk), None, MANAGERS, 200),
    "campaign preview": ("get", lambda w: url("preview", w["draft"].pk), None, EVERYONE, 200),
    "campaign compliance": ("get", lambda w: url("compliance", w["draft"].pk), None, EVERYONE, 200),
    "campaign results": ("get", lambda w: url("results", w["running"].pk), None, REPORTS, 200),
    "campaign generate": (
        "post",
        lambda w: url("generate", w["running"].pk),
        lambda w: {"agents": {str(w["users"][Role.AGENT].pk): 2, str(w["users"][Role.CC_MANAGER].pk): 1}},
        CALL_LISTS,
        200,
    ),
    "campaign assign": (
        "post",
        lambda w: url("assign", w["running"].pk),
        lambda w: {"agents": [w["users"][Role.AGENT].pk]},
        CALL_LISTS,
        200,
    ),
    "campaign reassign": (
        "post",
        lambda w: url("reassign", w["running"].pk),
        lambda w: {"from_agent": w["users"][Role.AGENT].pk, "agents": [w["users"][Role.CC_MANAGER].pk]},
        CALL_LISTS,
        200,
    ),
    "campaign progress": ("get", lambda w: url("progress", w["running"].pk), None, CALL_LISTS, 200),
    "target group list": ("get", lambda w: url("target-group-list"), None, EVERYONE, 200),
    "target group detail": ("get", lambda w: url("target-group-detail", w["draft_group"].pk), None, EVERYONE, 200),
    "target group create": ("post", lambda w: url("target-group-list"), group_payload, MANAGERS, 201),
    "target group put": (
        "put",
        lambda w: url("target-group-detail", w["draft_group"].pk),
        lambda w: group_payload(w, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]}),
        MANAGERS,
        200,
    ),
    "target group patch": (
        "patch",
        lambda w: url("target-group-detail", w["draft_group"].pk),
        lambda w: {"script": "您好，我会第一时间为您安排。"},
        MANAGERS,
        200,
    ),
    "target group delete": (
        "delete",
        lambda w: url("target-group-detail", w["draft_group"].pk),
        None,
        MANAGERS,
        204,
    ),
    "invitation list": ("get", lambda w: url("invitation-list"), None, EVERYONE, 200),
    "invitation detail": ("get", lambda w: url("invitation-detail", w["invitation"].pk), None, EVERYONE, 200),
    "invitation next": ("get", lambda w: url("invitation-next"), None, CALLS, 200, _on_callers_list),
    "invitation outcome": (
        "post",
        lambda w: url("invitation-outcome", w["invitation"].pk),
        lambda w: {"outcome": "no_answer"},
        CALLS,
        201,
        _on_callers_list,
    ),
    "coupon template list": ("get", lambda w: url("coupon-template-list"), None, EVERYONE, 200),
    "coupon template detail": (
        "get",
        lambda w: url("coupon-template-detail", w["template"].pk),
        None,
        EVERYONE,
        200,
    ),
    "coupon template create": (
        "post",
        lambda w: url("coupon-template-list"),
        lambda w: template_payload(),
        MANAGERS,
        201,
    ),
    "coupon template put": (
        "put",
        lambda w: url("coupon-template-detail", w["template"].pk),
        lambda w: {"name": "¥150 工时券", "kind": "labor_amount", "value": "150.00"},
        MANAGERS,
        200,
    ),
    "coupon template patch": (
        "patch",
        lambda w: url("coupon-template-detail", w["template"].pk),
        lambda w: {"min_spend": "500"},
        MANAGERS,
        200,
    ),
    "coupon list": ("get", lambda w: url("coupon-list"), None, EVERYONE, 200),
    "coupon detail": ("get", lambda w: url("coupon-detail", w["coupon"].pk), None, EVERYONE, 200),
    "coupon issue": (
        "post",
        lambda w: url("coupon-issue"),
        lambda w: {"template": w["template"].pk, "customer": w["customer"].pk},
        MANAGERS,
        201,
    ),
    "coupon redeem": (
        "post",
        lambda w: url("coupon-redeem", w["coupon"].pk),
        lambda w: {"visit": w["visit"].pk},
        REDEEM,
        200,
    ),
    "coupon void": (
        "post",
        lambda w: url("coupon-void", w["coupon"].pk),
        lambda w: {"reason": "客户重复领取"},
        MANAGERS,
        200,
    ),
    "compliance term list": ("get", lambda w: url("compliance-term-list"), None, EVERYONE, 200),
    "compliance term create": (
        "post",
        lambda w: url("compliance-term-list"),
        lambda w: {"kind": "allowed", "phrase": "最低消费"},
        MANAGERS,
        201,
    ),
    "compliance term delete": (
        "delete",
        lambda w: url("compliance-term-detail", w["term"].pk),
        None,
        MANAGERS,
        204,
    ),
}


def call(api, name, w, user=None):
    method, path, payload, _roles, _ok, *given = ENDPOINTS[name]
    if given and user is not None:
        given[0](w, user)
    return getattr(api, method)(path(w), payload(w) if payload else None, format="json")


#: (endpoint, a role the table allows)
ALLOWED = [(name, role) for name, entry in ENDPOINTS.items() for role in sorted(entry[3])]


@pytest.mark.parametrize(("name", "role"), ALLOWED)
def test_every_role_the_table_allows_does_it(name, role, world, api_client_for):
    # (a role the table refuses gets 403, anonymous 401 and a user of another dealership 404:
    # tests/core/test_access.py)
    # given a member of SZ01 whose role may
    user = world["users"][role]
    # when they call the endpoint with a valid request
    response = call(api_client_for(user), name, world, user)
    # then it is done
    assert response.status_code == ENDPOINTS[name][4], response.content


LIST_ENDPOINTS = {
    "campaign list": "draft",
    "target group list": "draft_group",
    "invitation list": "invitation",
    "coupon template list": "template",
    "coupon list": "coupon",
    "compliance term list": "term",
}


@pytest.mark.parametrize("name", LIST_ENDPOINTS)
def test_lists_show_only_the_current_dealership(name, world, outsider, api_client_for):
    response = call(api_client_for(outsider), name, world)
    assert response.status_code == 200
    assert response.json()["results"] == []
    # and the owner sees the record
    owner = call(api_client_for(world["users"][Role.ADMIN]), name, world)
    assert world[LIST_ENDPOINTS[name]].pk in {row["id"] for row in owner.json()["results"]}


def test_an_agent_of_another_dealership_has_nobody_to_call_here(world, other_dealership, api_client_for):
    stranger = UserFactory(username="gz-agent", role=Role.AGENT, dealerships=[other_dealership])
    assert api_client_for(stranger).get(url("invitation-next")).status_code == 204


def test_an_outsider_cannot_use_our_records_in_a_body(world, outsider, api_client_for):
    # given a manager of GZ02 who names SZ01's template and customer
    response = api_client_for(outsider).post(
        url("coupon-issue"), {"template": world["template"].pk, "customer": world["customer"].pk}, format="json"
    )
    # then they are unknown in GZ02, exactly like ids that do not exist
    assert response.status_code == 400
    assert response.json()["fields"]["template"] == [
        f"No coupon template with id {world['template'].pk} in this dealership."
    ]
    assert response.json()["fields"]["customer"] == [f"No customer with id {world['customer'].pk} in this dealership."]
    assert Coupon.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("put", lambda w: url("detail", w["draft"].pk)),
        ("delete", lambda w: url("detail", w["draft"].pk)),
        ("delete", lambda w: url("coupon-template-detail", w["template"].pk)),
        ("delete", lambda w: url("coupon-detail", w["coupon"].pk)),
        ("patch", lambda w: url("coupon-detail", w["coupon"].pk)),
        ("delete", lambda w: url("invitation-detail", w["invitation"].pk)),
        ("get", lambda w: url("compliance-term-detail", w["term"].pk)),
    ],
)
def test_methods_the_api_does_not_offer_answer_405(method, path, world, api_client_for):
    response = getattr(api_client_for(world["users"][Role.ADMIN]), method)(path(world), {}, format="json")
    assert response.status_code == 405
