"""Hand-built customers with segmentation results, and a campaign to invite them to."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine

from campaigns import services
from campaigns.models import Campaign
from dealercrm.core.roles import Role
from segmentation.models import CustomerSegment, SegmentationRun
from segmentation.services import ruleset_current
from tests.factories import CustomerFactory, UserFactory, VehicleFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
START, END = date(2026, 11, 20), date(2026, 12, 31)
#: "now" of these tests: a working morning inside the campaign's period
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def run(dealership):
    """A finished segmentation run of the dealership to hang results on."""
    return SegmentationRun.objects.create(
        dealership=dealership,
        rule_set=ruleset_current(dealership=dealership),
        reference_date=START - timedelta(days=1),
        status=SegmentationRun.Status.SUCCEEDED,
    )


@pytest.fixture
def person(dealership, run):
    """``person(c3_group=…, tier=…, model=…, bought=date, plate=…, **customer fields)``: a customer with one
    current vehicle and a current segmentation result."""

    def make(
        *,
        c3_group="profitable_loyal",
        tier="A",
        value_layer="high",
        lapsed=False,
        tags=0,
        last_visit_on=date(2026, 9, 1),
        model="新君越",
        bought=date(2023, 6, 1),
        plate=None,
        vehicles=1,
        **fields,
    ):
        customer = CustomerFactory(dealership=dealership, **fields)
        for i in range(vehicles):
            extra = {"plate": plate} if plate and i == 0 else {}
            VehicleFactory(owner=customer, model=model, purchase_date=bought, **extra)
        CustomerSegment.objects.create(
            dealership=dealership,
            customer=customer,
            valid_from=run,
            c3_group=c3_group,
            tier=tier,
            value_layer=value_layer,
            lapsed=lapsed,
            window_visits=4,
            maintenance_visits=3,
            window_spend=Decimal("3000.00"),
            maintenance_spend=Decimal("1500.00"),
            observed_from=date(2023, 6, 1),
            visits_12m=2,
            lifetime_value=Decimal("6000.00"),
            last_visit_on=last_visit_on,
            tags=tags,
        )
        return customer

    return make


@pytest.fixture
def campaign(dealership, as_manager):
    return services.campaign_create(
        dealership=dealership,
        acting_user=as_manager,
        code="SUMMER26",
        name="冬季保养邀约",
        kind="maintenance",
        starts_on=START,
        ends_on=END,
        budget=Decimal("20000.00"),
    )


def schedule_and_run(campaign):
    """Schedule the campaign and start it on its first day."""
    services.campaign_schedule(campaign=campaign)
    campaign.refresh_from_db()
    return services.campaign_start(campaign=campaign, today=START)


@pytest.fixture
def running(campaign):
    def start():
        schedule_and_run(campaign)
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.RUNNING
        return campaign

    return start


# --- added for the service tests of campaigns ---------------------------------------------------------------


@pytest.fixture
def second_agent(dealership):
    return UserFactory(username="agent2", role=Role.AGENT, dealerships=[dealership])


@pytest.fixture
def third_agent(dealership):
    return UserFactory(username="agent3", role=Role.AGENT, dealerships=[dealership])


@pytest.fixture
def make_template(dealership):
    """``make_template(name=…, kind=…, …)``: a coupon template of the dealership (¥100 off labour by default)."""

    def make(**fields):
        fields = {"name": "¥100 工时券", "kind": "labor_amount", "value": Decimal("100"), **fields}
        return services.coupon_template_create(dealership=dealership, **fields)

    return make


@pytest.fixture
def make_group(campaign):
    """``make_group(filters, name=…, **fields)``: a target group of the draft ``campaign``."""

    def make(filters=None, *, name=None, **fields):
        count = campaign.target_groups.count()
        return services.target_group_create(
            campaign=campaign, name=name or f"组{count + 1}", filters=filters or {}, **fields
        )

    return make


def generate(campaign, agents):
    """Start ``campaign`` (scheduled, then running from its first day) if it is a draft, and generate its list."""
    campaign.refresh_from_db()
    if campaign.status == Campaign.Status.DRAFT:
        services.campaign_schedule(campaign=campaign)
        services.campaign_start(campaign=campaign, today=campaign.starts_on)
    campaign.refresh_from_db()
    return services.invitation_list_generate(campaign=campaign, agents=agents)


@pytest.fixture
def frozen():
    """The clock stopped at ``NOW``; ``frozen.move_to(datetime)`` moves it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller
