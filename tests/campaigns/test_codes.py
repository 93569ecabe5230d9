"""Every refusal of the campaigns' services carries a stable code; a refusal because of the record's state is
a StateConflict (409), whatever way in (page, API, task) meets it."""

from datetime import date
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from campaigns import services
from dealercrm.core.exceptions import ApplicationError, StateConflict
from segmentation.services import ruleset_update
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

pytestmark = pytest.mark.usefixtures("frozen")


def refused(call) -> ApplicationError:
    with pytest.raises(ApplicationError) as caught:
        call()
    return caught.value


def test_a_model_rule_broken_through_a_service_names_its_code(dealership, campaign, make_group, make_template):
    bad_filters = refused(lambda: make_group({"tier": ["Z"]}))
    no_gift = refused(lambda: make_template(name="礼品", kind="gift", value=Decimal("0"), gift=" "))
    backwards = refused(lambda: services.campaign_update(campaign=campaign, changes={"ends_on": date(2026, 11, 1)}))
    with pytest.raises(ValidationError) as bad_rules:  # the rules' service lets the model's error through
        ruleset_update(dealership=dealership, changes={"tier_a_min": 1})

    assert (bad_filters.code, bad_filters.status, list(bad_filters.fields)) == ("invalid_filters", 400, ["filters"])
    assert (no_gift.code, list(no_gift.fields)) == ("gift_missing", ["gift"])
    assert backwards.code == "ends_before_start"
    assert [e.code for e in bad_rules.value.error_dict["tier_a_min"]] == ["invalid_tier_a_min"]


def test_state_conflicts_are_409_with_their_code(dealership, campaign, make_group, make_template, advisor):
    group = make_group({})
    draft_finish = refused(lambda: services.campaign_finish(campaign=campaign))
    services.campaign_schedule(campaign=campaign)
    group_edit = refused(lambda: services.target_group_update(group=group, changes={"name": "x"}))

    customer = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=customer)
    coupon = services.coupon_issue(template=make_template(min_spend=Decimal("0")), customer=customer)
    day = date(2026, 12, 1)
    visit = ServiceVisitFactory(vehicle=customer.vehicles.get(), opened_on=day, closed_on=day)
    services.coupon_redeem(coupon=coupon, visit=visit, acting_user=advisor)
    twice = refused(lambda: services.coupon_redeem(coupon=coupon, visit=visit, acting_user=advisor))
    void_redeemed = refused(lambda: services.coupon_void(coupon=coupon, reason="错发"))

    for error, code in [
        (draft_finish, "campaign_not_running"),
        (group_edit, "campaign_not_draft"),
        (twice, "coupon_already_redeemed"),
        (void_redeemed, "coupon_not_open"),
    ]:
        assert isinstance(error, StateConflict) and (error.code, error.status) == (code, 409)


def test_a_coupon_refused_for_its_terms_is_a_400_with_its_code(dealership, make_template, advisor):
    customer = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=customer)
    coupon = services.coupon_issue(template=make_template(min_spend=Decimal("300")), customer=customer)
    day = date(2026, 12, 1)
    cheap = ServiceVisitFactory(
        vehicle=customer.vehicles.get(), opened_on=day, closed_on=day, total_amount=Decimal("299.99")
    )

    error = refused(lambda: services.coupon_redeem(coupon=coupon, visit=cheap, acting_user=advisor))

    assert not isinstance(error, StateConflict)
    assert (error.code, error.status) == ("coupon_min_spend_not_met", 400)
