"""Campaigns, target groups and coupons keep who changed them, with old → new; the set-based paths (the
invitation list, coupons for a whole group) name who ran them on the campaign's or the group's own history;
the daily job is recorded as the system; the administrator reads it on the campaign page."""

from datetime import date
from decimal import Decimal

import pytest
from django.urls import reverse

from campaigns import selectors, services
from campaigns.models import Campaign, Coupon, TargetGroup
from campaigns.tasks import campaigns_daily_task
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory

pytestmark = pytest.mark.usefixtures("frozen")


def latest(model, pk):
    return model.history.filter(id=pk).order_by("-history_date", "-history_id").first()


def fields(entry) -> dict:
    return {change.field: (change.old, change.new) for change in entry.changes}


def test_campaign_and_group_changes_name_the_manager_with_old_and_new(dealership, campaign, make_group, as_manager):
    group = make_group({}, name="所有客户")
    services.campaign_update(campaign=campaign, changes={"name": "冬季关爱", "budget": 1500}, acting_user=as_manager)
    services.target_group_update(group=group, changes={"name": "老客户"}, acting_user=as_manager)

    entries = selectors.campaign_change_history(dealership=dealership, campaign=campaign)

    by_record = {(e.record, e.kind): e for e in entries}
    edit = by_record[("campaign", "~")]
    assert edit.user == as_manager
    assert fields(edit) == {"name": ("冬季保养邀约", "冬季关爱"), "budget": ("20000.00", "1500.00")}
    renamed = by_record[("target group", "~")]
    assert (renamed.user, fields(renamed), renamed.record_label) == (
        as_manager,
        {"name": ("所有客户", "老客户")},
        "老客户",
    )


def test_the_invitation_list_and_group_coupons_name_who_ran_them(
    dealership, campaign, make_group, make_template, person, cc_manager, as_manager, agent
):
    person()
    person()
    group = make_group({})
    services.campaign_schedule(campaign=campaign, acting_user=as_manager)
    services.campaign_start(campaign=campaign, today=campaign.starts_on, acting_user=as_manager)

    services.invitation_list_generate(campaign=campaign, agents=[agent], acting_user=cc_manager)
    issued = services.coupons_issue_to_group(group=group, template=make_template(), acting_user=as_manager)

    listed = latest(Campaign, campaign.pk)
    assert (listed.history_user, listed.history_change_reason) == (cc_manager, "invitation list: +2")
    handed = latest(TargetGroup, group.pk)
    assert issued == 2
    assert (handed.history_user, handed.history_change_reason) == (as_manager, "coupons issued: 2 × ¥100 工时券")


def test_a_redeemed_and_a_voided_coupon_show_who_did_it_on_the_campaign_page(
    dealership, campaign, make_template, advisor, as_manager, admin_user, client_for
):
    template = make_template(min_spend=Decimal("0"))
    customer = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=customer)
    redeemed = services.coupon_issue(template=template, customer=customer, campaign=campaign)
    voided = services.coupon_issue(template=template, customer=customer, campaign=campaign)
    day = date(2026, 12, 1)
    visit = ServiceVisitFactory(vehicle=customer.vehicles.get(), opened_on=day, closed_on=day)
    services.coupon_redeem(coupon=redeemed, visit=visit, acting_user=advisor)
    services.coupon_void(coupon=voided, reason="客户投诉", acting_user=as_manager)

    entries = selectors.campaign_change_history(dealership=dealership, campaign=campaign)
    coupons = {e.record_label: e for e in entries if e.record == "coupon"}
    assert coupons[redeemed.code].user == advisor
    assert fields(coupons[redeemed.code])["status"] == ("Open", "Redeemed")
    assert (coupons[voided.code].user, fields(coupons[voided.code])["void_reason"]) == (as_manager, ("—", "客户投诉"))

    html = client_for(admin_user).get(reverse("campaigns:detail", args=[campaign.pk])).content.decode()
    assert 'data-testid="change-history"' in html and redeemed.code in html and "客户投诉" in html


def test_the_daily_job_is_recorded_as_the_system(dealership, campaign, make_group):
    make_group({})
    services.campaign_schedule(campaign=campaign)

    assert campaigns_daily_task.delay().get()["started"] == 1  # 1 December: in its period

    started = latest(Campaign, campaign.pk)
    assert started.status == Campaign.Status.RUNNING
    assert (started.history_user, started.history_change_reason) == (
        None,
        "system: campaigns.tasks.campaigns_daily_task",
    )


def test_only_the_administrator_sees_the_campaign_change_history_and_another_store_finds_nothing(
    campaign, admin_user, as_manager, cc_manager, outsider, client_for
):
    page = reverse("campaigns:detail", args=[campaign.pk])
    assert 'data-testid="change-history"' in client_for(admin_user).get(page).content.decode()
    for user in (as_manager, cc_manager):
        response = client_for(user).get(page)
        assert response.status_code == 200
        assert 'data-testid="change-history"' not in response.content.decode()
    assert client_for(outsider).get(page).status_code == 404


def test_the_coupons_are_only_those_of_the_campaign_and_the_dealership(
    dealership, other_dealership, campaign, make_template, advisor
):
    template = make_template(min_spend=Decimal("0"))
    customer = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=customer)
    off_campaign = services.coupon_issue(template=template, customer=customer)
    services.coupon_void(coupon=off_campaign, reason="作废", acting_user=advisor)

    entries = selectors.campaign_change_history(dealership=dealership, campaign=campaign)
    assert not [e for e in entries if e.record == "coupon"]
    assert selectors.campaign_change_history(dealership=other_dealership, campaign=campaign) == []
    assert Coupon.history.filter(id=off_campaign.pk).count() == 2
