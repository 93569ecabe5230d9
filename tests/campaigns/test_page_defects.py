"""Defects of the campaign pages found by trying them (issue 10): each test failed before its fix."""

import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.utils import translation

from campaigns import services
from campaigns.forms import CampaignForm, TargetGroupForm
from campaigns.models import Campaign, Coupon, Invitation
from tests.campaigns.conftest import NOW, START
from tests.campaigns.test_pages import CREATE, shown_messages, text, url
from tests.factories import ServiceVisitFactory


@pytest.fixture
def template(dealership):
    return services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100"), min_spend=Decimal("300")
    )


@pytest.fixture
def group(campaign, template):
    return services.target_group_create(
        campaign=campaign, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]}, offers=[template]
    )


@pytest.fixture
def listed(campaign, group, person, agent):
    """The campaign running with a generated list of four profitable-loyal customers."""
    for _ in range(4):
        person()
    with time_machine.travel(NOW, tick=False):
        services.campaign_schedule(campaign=campaign)
        services.campaign_start(campaign=campaign, today=START)
        services.invitation_list_generate(campaign=campaign, agents=[agent])
    campaign.refresh_from_db()


def row_of(html: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}".*?</tr>', html, re.S).group(0)


# --- A/B and holdout: "no data yet" before the first call ---------------------------------------------------


@pytest.fixture
def ab_holdout(campaign, person, agent):
    """An A/B group with a holdout, its list generated, nobody called yet."""
    for _ in range(12):
        person()
    with time_machine.travel(NOW, tick=False):
        ab = services.target_group_create(
            campaign=campaign,
            name="对比",
            filters={"c3_group": ["profitable_loyal"]},
            ab_test=True,
            script="A 话术",
            script_b="B 话术",
            holdout_share=Decimal("0.25"),
        )
        services.campaign_schedule(campaign=campaign)
        services.campaign_start(campaign=campaign, today=START)
        services.invitation_list_generate(campaign=campaign, agents=[agent])
    return ab


def test_before_any_call_the_ab_and_holdout_panel_says_no_data_yet(client_for, as_manager, campaign, ab_holdout):
    html = text(client_for(as_manager).get(url("detail", campaign.pk)))

    variant = row_of(html, f"variant-{ab_holdout.pk}")
    holdout = row_of(html, f"holdout-{ab_holdout.pk}")
    assert variant.count("no data yet") == 2 and "Nothing to compare yet" in variant
    assert "0.0" not in variant and "Significant" not in variant and "No significant" not in variant
    assert "no data yet" in holdout and "0.0" not in holdout and "…" not in holdout


def test_once_both_variants_are_called_the_figures_show(client_for, as_manager, campaign, ab_holdout, agent):
    with time_machine.travel(NOW, tick=False):
        for invitation in Invitation.objects.filter(campaign=campaign, holdout=False):
            services.call_record(invitation=invitation, agent=agent, outcome="declined", reason="not_needed")

    html = text(client_for(as_manager).get(url("detail", campaign.pk)))

    variant = row_of(html, f"variant-{ab_holdout.pk}")
    assert "0 / 4 · 0.0 %" in variant and "0 / 5 · 0.0 %" in variant and "no data yet" not in variant
    # called, but nobody came on either side: a 0.0 … 0.0 interval says nothing
    holdout = row_of(html, f"holdout-{ab_holdout.pk}")
    assert "0.0 %" in holdout and "0.0 points" in holdout and "…" not in holdout and "no data yet" in holdout


def test_the_interval_shows_once_there_is_something_to_measure(client_for, as_manager, campaign, ab_holdout, agent):
    with time_machine.travel(NOW, tick=False):
        for i, invitation in enumerate(Invitation.objects.filter(campaign=campaign, holdout=False).order_by("id")):
            services.call_record(invitation=invitation, agent=agent, outcome="declined", reason="not_needed")
            if i % 2:
                ServiceVisitFactory(
                    vehicle=invitation.customer.vehicles.first(), opened_on=date(2026, 12, 1), closed_on=None
                )

    holdout = row_of(text(client_for(as_manager).get(url("detail", campaign.pk))), f"holdout-{ab_holdout.pk}")

    assert "…" in holdout and "no data yet" not in holdout


# --- the list generation names the holdout ------------------------------------------------------------------


def test_the_generation_message_says_the_missing_invitees_are_the_holdout(
    client_for, cc_manager, agent, campaign, person
):
    for _ in range(12):
        person()
    with time_machine.travel(NOW, tick=False):
        services.target_group_create(
            campaign=campaign,
            name="盈利忠诚",
            filters={"c3_group": ["profitable_loyal"]},
            holdout_share=Decimal("0.25"),
        )
        services.campaign_schedule(campaign=campaign)
        services.campaign_start(campaign=campaign, today=START)

        response = client_for(cc_manager).post(
            url("generate", campaign.pk), {f"gen-agent_{agent.pk}": "on", f"gen-weight_{agent.pk}": "1"}
        )

    said = " ".join(shown_messages(response))
    assert "9 customers invited (盈利忠诚: 9), 9 assigned to agents; 3 more kept back as the holdout" in said
    assert Invitation.objects.filter(campaign=campaign, holdout=True).count() == 3
    assert Invitation.objects.filter(campaign=campaign, holdout=False).count() == 9


# --- actions that cannot be undone ask first ----------------------------------------------------------------


def test_scheduling_asks_first_and_nothing_happens_until_it_is_confirmed(client_for, as_manager, campaign, group):
    client = client_for(as_manager)

    with time_machine.travel(START - timedelta(days=3), tick=False):
        response = client.post(url("status", campaign.pk), {"transition": "schedule"})

    html = text(response)
    assert response.status_code == 200 and 'data-testid="confirm-step"' in html and 'data-action="schedule"' in html
    assert f"It starts by itself on {START:%Y-%m-%d}" in html
    assert 'name="confirmed" value="yes"' in html and 'name="transition" value="schedule"' in html
    assert f'href="{url("detail", campaign.pk)}"' in html  # cancel: back to the campaign
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    with time_machine.travel(NOW, tick=False):
        assert "Its period has begun" in text(client.post(url("status", campaign.pk), {"transition": "schedule"}))
        client.post(url("status", campaign.pk), {"transition": "schedule", "confirmed": "yes"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED


def test_finishing_asks_first_naming_the_customers_still_to_call(client_for, as_manager, campaign, listed):
    client = client_for(as_manager)

    response = client.post(url("status", campaign.pk), {"transition": "finish"})

    html = text(response)
    assert 'data-action="finish"' in html and "4 customers still to call" in html
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING

    client.post(url("status", campaign.pk), {"transition": "finish", "confirmed": "yes"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FINISHED


def test_starting_needs_no_confirmation(client_for, as_manager, campaign, group):
    with time_machine.travel(NOW, tick=False):
        services.campaign_schedule(campaign=campaign)
        client_for(as_manager).post(url("status", campaign.pk), {"transition": "start"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING


def test_issuing_coupons_to_a_group_asks_first_with_the_number(
    client_for, as_manager, campaign, group, template, listed
):
    client = client_for(as_manager)

    response = client.post(url("group-issue-coupons", group.pk), {"template": template.pk})

    html = text(response)
    assert 'data-action="issue-coupons"' in html and "4 invitees of the group" in html and "Issue 4 coupons" in html
    assert f'name="template" value="{template.pk}"' in html
    assert not Coupon.objects.exists()

    client.post(url("group-issue-coupons", group.pk), {"template": template.pk, "confirmed": "yes"})
    assert Coupon.objects.filter(campaign=campaign, template=template).count() == 4


def test_the_confirmation_steps_keep_their_guards(client_for, advisor, outsider, campaign, group, template):
    posts = [
        (url("status", campaign.pk), {"transition": "schedule"}),
        (url("group-issue-coupons", group.pk), {"template": template.pk}),
    ]
    for page, data in posts:
        assert client_for(advisor).post(page, data).status_code == 403, page
        assert client_for(outsider).post(page, data).status_code == 404, page


# --- wording ------------------------------------------------------------------------------------------------


def test_a_target_groups_name_is_a_name_of_a_thing_not_of_a_person(campaign):
    with translation.override("zh-hans"):
        assert str(TargetGroupForm(campaign=campaign).fields["name"].label) == "名称"  # not 姓名, a person's name


def test_the_english_campaign_form_has_no_chinese_in_its_help(client_for, as_manager):
    html = text(client_for(as_manager).get(CREATE))

    help_texts = re.findall(r'class="form-text"[^>]*>(.*?)</', html, re.S)
    assert help_texts and not any(re.search(r"[\u4e00-\u9fff]", help_text) for help_text in help_texts)
    with translation.override("en"):
        assert "活动代码" not in str(CampaignForm().fields["code"].help_text)
