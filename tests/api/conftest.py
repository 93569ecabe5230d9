"""A dealership with a few real records of every kind the API serves, and the token header of a user."""

from datetime import timedelta
from decimal import Decimal

import pytest

from campaigns import services as campaign_services
from customers import services as customer_services
from segmentation.services import ruleset_current, segmentation_run
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory


@pytest.fixture
def auth_header(api_client_for):
    """``auth_header(user)``: the Authorization header ``api_client_for`` authenticates ``user`` with (so that a
    client other than DRF's, e.g. schemathesis, authenticates the same way)."""

    def make(user) -> str:
        return api_client_for(user)._credentials["HTTP_AUTHORIZATION"]

    return make


@pytest.fixture
def records(dealership, as_manager, agent):
    """Customers with vehicles and visits, an appointment, the rules and a run, a campaign with a target group,
    a coupon template and two coupons (one issued by the campaign, one at the counter)."""
    customers = [CustomerFactory(dealership=dealership) for _ in range(3)]
    vehicles = [VehicleFactory(owner=customer) for customer in customers]
    visits = [ServiceVisitFactory(vehicle=vehicle) for vehicle in vehicles]
    today = dealership.local_date()
    appointment = customer_services.appointment_create(
        dealership=dealership, customer=customers[0], vehicle=vehicles[0], date=today + timedelta(days=3)
    )
    rule_set = ruleset_current(dealership=dealership)
    run = segmentation_run(dealership=dealership, acting_user=as_manager)
    campaign = campaign_services.campaign_create(
        dealership=dealership,
        acting_user=as_manager,
        code="WINTER",
        name="冬季保养邀约",
        kind="maintenance",
        starts_on=today,
        ends_on=today + timedelta(days=30),
        budget=Decimal("5000.00"),
    )
    template = campaign_services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100")
    )
    group = campaign_services.target_group_create(campaign=campaign, name="全部客户", filters={}, offers=[template])
    coupons = [
        campaign_services.coupon_issue(template=template, customer=customers[0], campaign=campaign),
        campaign_services.coupon_issue(template=template, customer=customers[1]),
    ]
    return {
        "customers": customers,
        "vehicles": vehicles,
        "visits": visits,
        "appointment": appointment,
        "rule_set": rule_set,
        "run": run,
        "campaign": campaign,
        "group": group,
        "template": template,
        "coupons": coupons,
    }
