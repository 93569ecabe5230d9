"""The demo's campaign: seed 002's summer campaign on a store, running, with its call list and a few calls.

``campaign_demo_seed(dealership=…)`` builds, through the services (so that every rule holds), what seed 002
describes: campaign ``BUICK-SUMMER`` with two target groups on the store's plates and its common models —
profitable-loyal customers whose car is 1–5 years old (seed 002's breakdown: 1–2, 2–3 and 3–5 years; goal
18 %, a 10 % holdout) and low-cost customers whose car is under 3 years old (goal 10 %, an A/B test of the
¥100 labour coupon against 85折 on parts) — with seed 002's scripts ("我会第一时间为您安排维修"). It schedules
and starts the campaign (its period, as long as seed 002's, began two weeks ago), generates the list for
the store's agents (the demo's ``agent`` and ``ccmanager`` when they are there, the agent with twice the
manager's share) and records a handful of calls, so that the progress page, the workbench and the
counter's expected arrivals have figures from the first login.

The store must be segmented first (``manage.py segment``). Running it again changes nothing: a store that
has the campaign already is left as it is (``created`` is False).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.demo import DEMO_USERS
from customers.models import Vehicle
from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.models import Dealership, User
from dealercrm.core.roles import Role
from segmentation.models import CustomerSegment

from . import selectors, services
from .models import CallAttempt, Campaign, CouponTemplate, Invitation

DEMO_CAMPAIGN_CODE = "BUICK-SUMMER"
#: seed 002's models: 新君威 and 新君越 (新双君) and the business vans GL8 and 陆尊
SEED_MODELS = ("新君威", "新君越", "GL8", "陆尊")
#: seed 002 ran 2014-05-01 … 07-31: 92 days
PERIOD_DAYS = 92
STARTED_DAYS_AGO = 14
#: the demo agent's share of the list against the call-centre manager's (usernames of ``customers.demo``)
AGENT_WEIGHTS = {"agent": 2, "ccmanager": 1}
#: the after-sales manager who creates the campaign
MANAGER = next(username for username, role, _name in DEMO_USERS if role == Role.AS_MANAGER)
#: the demo's calls are spread over the last hour, a few minutes apart
CALL_MINUTES = 4
#: the calls made on the demo's list: (who, outcome), in order; each takes that agent's next customer
CALLS = (
    ("agent", CallAttempt.Outcome.ACCEPTED),
    ("agent", CallAttempt.Outcome.NO_ANSWER),
    ("agent", CallAttempt.Outcome.DECLINED),
    ("agent", CallAttempt.Outcome.ACCEPTED),
    ("agent", CallAttempt.Outcome.CALL_BACK),
    ("agent", CallAttempt.Outcome.BUSY),
    ("agent", CallAttempt.Outcome.ACCEPTED),
    ("agent", CallAttempt.Outcome.DECLINED),
    ("ccmanager", CallAttempt.Outcome.ACCEPTED),
    ("ccmanager", CallAttempt.Outcome.NO_ANSWER),
    ("ccmanager", CallAttempt.Outcome.DECLINED),
)
NOTES = {
    CallAttempt.Outcome.ACCEPTED: "客户同意到店做空调检测，已告知预约礼",
    CallAttempt.Outcome.CALL_BACK: "客户在开车，约明天上午再打",
    CallAttempt.Outcome.DECLINED: "近期不用车，暂不需要",
}

NAME = "C3 夏季空调养护邀约"
DESCRIPTION = (
    "夏季空调养护活动：预约到店赠送精美礼品，进店免费做空调系统检测和空气质量检测；"
    "盈利忠诚群与低成本群差异化邀约，活动期间保养赠送100元保养工时礼券（限下次使用）。"
)
LABOUR_COUPON = "¥100 保养工时券（限下次使用）"
PARTS_COUPON = "第四条轮胎材料85折"
LOYAL_SCRIPT = (
    "您好，我是别克4S店的客服专员。感谢您一直以来对我们的信任！本季度我们为老客户准备了夏季空调养护活动："
    "预约到店可获赠精美礼品，进店免费做空调系统检测和空气质量检测，保养还赠送100元工时礼券。"
    "您看这周哪天方便过来？到店后我会第一时间为您安排维修。"
)
LOW_COST_SCRIPT = (
    "您好，我是别克4S店的客服专员。您的爱车还在保修期内，天气热了，建议做一次空调系统检测。"
    "活动期间保养、事故维修赠送100元保养工时礼券（限下次使用）。您看哪天方便？到店后我会第一时间为您安排维修。"
)
LOW_COST_SCRIPT_B = (
    "您好，我是别克4S店的客服专员。您的爱车还在保修期内，天气热了，建议做一次空调系统检测。"
    "活动期间购买四条轮胎，第四条可享材料85折优惠。您看哪天方便？到店后我会第一时间为您安排维修。"
)


@dataclass
class CampaignDemoResult:
    created: bool
    campaign: Campaign
    #: target group name → (invited, of which held out)
    groups: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: agent (display name or username) → invitations assigned
    agents: dict[str, int] = field(default_factory=dict)
    #: outcome label → calls recorded
    calls: dict[str, int] = field(default_factory=dict)
    coupons: int = 0


def _staff(dealership: Dealership, username: str) -> User | None:
    return User.objects.filter(username=username, memberships__dealership=dealership, is_active=True).first()


def demo_agents(dealership: Dealership) -> dict[User, int]:
    """The call list's agents and their weights: the demo's agent and call-centre manager when the store has
    them, else every agent of the store evenly."""
    weights = {user: weight for name, weight in AGENT_WEIGHTS.items() if (user := _staff(dealership, name))}
    weights = {user: w for user, w in weights.items() if user in set(services.agents_of(dealership))}
    if not weights:
        weights = dict.fromkeys(services.agents_of(dealership), 1)
    if not weights:
        raise ApplicationError(
            _("Dealership %(code)s has no call-centre agent to give the list to.") % {"code": dealership.code},
            code="no_agent",
        )
    return weights


def store_models(dealership: Dealership) -> list[str]:
    """Seed 002's models that the store services, else its four most common models."""
    counts = dict(
        Vehicle.objects.filter(dealership=dealership)
        .values_list("model")
        .annotate(n=Count("id"))
        .values_list("model", "n")
    )
    present = [model for model in SEED_MODELS if counts.get(model)]
    return present or sorted(counts, key=lambda model: (-counts[model], model))[:4]


def _template(dealership: Dealership, acting_user, *, name: str, **fields) -> CouponTemplate:
    existing = CouponTemplate.objects.filter(dealership=dealership, name=name).first()
    return existing or services.coupon_template_create(
        dealership=dealership, acting_user=acting_user, name=name, **fields
    )


def _make_calls(campaign: Campaign, staff: dict[str, User], now: datetime) -> None:
    """``CALLS``, each to that agent's next customer, a few minutes apart in the hour before ``now``."""
    dealership = campaign.dealership
    local = timezone.localtime(now, dealership.zone)
    now -= timedelta(minutes=CALL_MINUTES * len(CALLS) - 1)
    appointment_days = [min(local.date() + timedelta(days=n), campaign.ends_on) for n in (1, 2, 3, 2, 1)]
    call_back_at = (local + timedelta(days=1)).replace(hour=10, minute=30, second=0, microsecond=0)
    for i, (username, outcome) in enumerate(CALLS):
        agent = staff.get(username)
        invitation = agent and selectors.next_invitation(agent=agent, dealership=dealership, now=now)
        if not invitation:
            continue
        extra = {}
        if outcome == CallAttempt.Outcome.ACCEPTED:
            extra = {"appointment_date": appointment_days[i % len(appointment_days)], "time_slot": "10:00"}
        elif outcome == CallAttempt.Outcome.CALL_BACK:
            extra = {"call_back_at": call_back_at}
        elif outcome == CallAttempt.Outcome.DECLINED:  # a declined call takes its reason (issue 11)
            extra = {"reason": CallAttempt.DeclineReason.NOT_NEEDED}
        services.call_record(
            invitation=invitation, agent=agent, outcome=outcome, note=NOTES.get(outcome, ""), now=now, **extra
        )
        now += timedelta(minutes=CALL_MINUTES)


@transaction.atomic
def campaign_demo_seed(*, dealership: Dealership, now: datetime | None = None) -> CampaignDemoResult:
    """Build the demo campaign on ``dealership`` (see the module's docstring), or find it there already."""
    existing = Campaign.objects.filter(dealership=dealership, code=DEMO_CAMPAIGN_CODE).first()
    if existing is not None:
        return CampaignDemoResult(created=False, campaign=existing)
    if not CustomerSegment.objects.filter(dealership=dealership, valid_to__isnull=True).exists():
        raise ApplicationError(
            _("Dealership %(code)s is not segmented yet: run “manage.py segment --dealership %(code)s” first.")
            % {"code": dealership.code},
            code="not_segmented",
        )
    now = now or timezone.now()
    today: date = timezone.localtime(now, dealership.zone).date()
    weights = demo_agents(dealership)
    manager = _staff(dealership, MANAGER)

    labour = _template(
        dealership,
        manager,
        name=LABOUR_COUPON,
        kind=CouponTemplate.Kind.LABOR_AMOUNT,
        value=Decimal("100"),
        visit_types=["maintenance", "bodywork"],
        next_visit_only=True,
        valid_days=90,
    )
    parts = _template(
        dealership,
        manager,
        name=PARTS_COUPON,
        kind=CouponTemplate.Kind.PARTS_PERCENT,
        value=Decimal("15"),
        visit_types=["maintenance", "repair"],
        valid_days=60,
    )
    starts_on = today - timedelta(days=STARTED_DAYS_AGO)
    campaign = services.campaign_create(
        dealership=dealership,
        acting_user=manager,
        code=DEMO_CAMPAIGN_CODE,
        name=NAME,
        kind="seasonal",
        description=DESCRIPTION,
        starts_on=starts_on,
        ends_on=starts_on + timedelta(days=PERIOD_DAYS - 1),
        budget=Decimal("30000.00"),
        cost=Decimal("8600.00"),
    )
    vehicles = {"models": store_models(dealership)}
    if dealership.plate_prefix:
        vehicles["plate_prefix"] = dealership.plate_prefix
    services.target_group_create(
        campaign=campaign,
        acting_user=manager,
        name="盈利忠诚群 · 1–5 年车龄",
        filters={"c3_group": ["profitable_loyal"], "age_band": ["1-2", "2-3", "3-5"], **vehicles},
        goal_rate=Decimal("0.18"),
        script=LOYAL_SCRIPT,
        holdout_share=Decimal("0.10"),
        offers=[labour],
    )
    services.target_group_create(
        campaign=campaign,
        acting_user=manager,
        name="低成本群 · 0–3 年车龄",
        filters={"c3_group": ["low_cost"], "age_band": ["<1", "1-2", "2-3"], **vehicles},
        goal_rate=Decimal("0.10"),
        script=LOW_COST_SCRIPT,
        ab_test=True,
        script_b=LOW_COST_SCRIPT_B,
        offers=[labour],
        offers_b=[parts],
    )
    campaign = services.campaign_schedule(campaign=campaign, acting_user=manager)
    campaign = services.campaign_start(campaign=campaign, acting_user=manager, today=today)
    services.invitation_list_generate(campaign=campaign, agents=weights, acting_user=manager)
    _make_calls(campaign, {user.username: user for user in weights}, now)
    return _result(campaign)


def _result(campaign: Campaign) -> CampaignDemoResult:
    result = CampaignDemoResult(created=True, campaign=campaign)
    invitations = Invitation.objects.filter(campaign=campaign)
    for group in campaign.target_groups.order_by("position", "id"):
        mine = invitations.filter(target_group=group)
        result.groups[group.name] = (mine.count(), mine.filter(holdout=True).count())
    for row in (
        invitations.filter(agent__isnull=False)
        .values("agent__username", "agent__display_name")
        .annotate(n=Count("id"))
        .order_by("agent__username")
    ):
        result.agents[row["agent__display_name"] or row["agent__username"]] = row["n"]
    labels = dict(CallAttempt.Outcome.choices)
    for row in (
        CallAttempt.objects.filter(invitation__campaign=campaign).values("outcome").annotate(n=Count("id")).order_by()
    ):
        result.calls[str(labels[row["outcome"]])] = row["n"]
    result.coupons = campaign.coupons.count()
    return result
