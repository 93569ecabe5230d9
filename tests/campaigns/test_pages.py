"""The managers' campaign pages: the list, a campaign with its groups, preview, list generation and results, the
progress page, coupon templates and the compliance terms.

Who may do what: every role reads campaigns and coupon templates; after-sales managers and administrators change
them; call-centre managers (and those two) generate and assign call lists; everyone else gets 403. A record of our
store is 404 to a user of another dealership, and anonymous visitors go to the login page.
"""

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import services
from campaigns.models import Campaign, ComplianceTerm, Coupon, CouponTemplate, Invitation, TargetGroup
from dealercrm.core.roles import Role
from tests.campaigns.conftest import END, NOW, START
from tests.factories import ServiceVisitFactory

LIST = reverse("campaigns:list")
CREATE = reverse("campaigns:create")
TEMPLATES = reverse("campaigns:coupon-templates")
TEMPLATE_CREATE = reverse("campaigns:coupon-template-create")
COMPLIANCE = reverse("campaigns:compliance")

# Vehicle ages on the campaign's first day (2026-11-20), by the purchase date.
UNDER_1, Y1_2, Y2_3, Y3_5, OVER_5 = (
    date(2026, 3, 1),
    date(2025, 1, 1),
    date(2024, 3, 1),
    date(2022, 6, 1),
    date(2020, 1, 1),
)
SEED_MODELS = ["新君威", "新君越", "GL8", "陆尊"]


def text(response) -> str:
    return response.content.decode()


def url(name, *args) -> str:
    return reverse(f"campaigns:{name}", args=args)


def shown_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def refused_for_a_state(response) -> str:
    """The text of the 409 page a page action answers when the record's state does not allow it."""
    assert response.status_code == 409, response.status_code
    html = response.content.decode()
    assert 'data-testid="refused"' in html
    return html


def by_testid(html: str, name: str) -> str:
    """The text of the element with ``data-testid=name`` (its first line of content)."""
    found = re.search(rf'data-testid="{re.escape(name)}"[^>]*>\s*([^<]*)', html)
    assert found, f"no data-testid={name}"
    return found.group(1).strip()


def group_data(name, **fields) -> dict:
    """A target group form's POST data: ``fields`` are the form's field names (lists for the multi-selects)."""
    return {"name": name, **fields}


@pytest.fixture
def template(dealership):
    return services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100"), min_spend=Decimal("300")
    )


@pytest.fixture
def group(campaign, template):
    return services.target_group_create(
        campaign=campaign,
        name="盈利忠诚",
        filters={"c3_group": ["profitable_loyal"]},
        script="您好，我会第一时间为您安排维修。",
        offers=[template],
        goal_rate=Decimal("0.18"),
    )


@pytest.fixture
def term(dealership):
    return services.compliance_term_add(dealership=dealership, kind="banned", phrase="最豪华")


@pytest.fixture
def listed(campaign, group, person, agent, cc_manager):
    """The campaign running with a generated list of four profitable-loyal customers."""
    people = [person() for _ in range(4)]
    with time_machine.travel(NOW, tick=False):
        services.campaign_schedule(campaign=campaign)
        services.campaign_start(campaign=campaign, today=START)
        services.invitation_list_generate(campaign=campaign, agents={agent: 1, cc_manager: 1})
    campaign.refresh_from_db()
    return people


@pytest.fixture
def travel():
    with time_machine.travel(NOW, tick=False):
        yield


# --- Who may see and do what (each URL × role × method: tests/core/test_access.py) ---------------------------


def test_another_stores_user_sees_their_own_lists_not_ours(client_for, outsider, campaign, template, term):
    client = client_for(outsider)

    assert campaign.code not in text(client.get(LIST))
    assert 'data-testid="no-campaigns"' in text(client.get(LIST))
    assert template.name not in text(client.get(TEMPLATES))
    assert term.phrase not in text(client.get(COMPLIANCE))


@pytest.mark.parametrize("role", Role.values)
def test_the_campaigns_link_is_in_every_roles_navigation(client_for, users, role):
    html = text(client_for(users[role]).get(reverse("customers:counter")))

    assert 'data-testid="nav-campaigns"' in html and f'href="{LIST}"' in html


# --- The campaign list -----------------------------------------------------------------------------------


def test_an_empty_list_says_what_to_do_next(client_for, as_manager, advisor, dealership):
    html = text(client_for(as_manager).get(LIST))
    assert 'data-testid="no-campaigns"' in html and "Create the first one" in html and f'href="{CREATE}"' in html

    html = text(client_for(advisor).get(LIST))
    assert 'data-testid="no-campaigns"' in html and "An after-sales manager creates campaigns" in html
    assert f'href="{CREATE}"' not in html


def test_the_list_filters_by_status(client_for, advisor, dealership, campaign, group, travel):
    other = services.campaign_create(
        dealership=dealership, code="SPRING27", name="春季检测", kind="seasonal", starts_on=START, ends_on=END
    )
    services.target_group_create(campaign=other, name="全部")
    services.campaign_schedule(campaign=other)
    client = client_for(advisor)

    html = text(client.get(LIST))
    assert f'data-campaign="{campaign.pk}"' in html and f'data-campaign="{other.pk}"' in html
    assert 'data-testid="campaign-create"' not in html

    html = text(client.get(LIST, {"status": "scheduled"}))
    assert f'data-campaign="{other.pk}"' in html and f'data-campaign="{campaign.pk}"' not in html

    html = text(client.get(LIST, {"status": "finished"}))
    assert 'data-testid="no-campaigns"' in html and "No campaign is finished" in html
    assert 'data-campaign="' not in text(client.get(LIST, {"status": "running"}))
    assert f'data-campaign="{campaign.pk}"' in text(client.get(LIST, {"status": "nonsense"}))  # ignored: all


def test_a_manager_creates_a_campaign(client_for, as_manager, dealership):
    client = client_for(as_manager)
    assert 'id="campaign-form"' in text(client.get(CREATE))

    response = client.post(
        CREATE,
        {
            "code": " bk2026w ",
            "name": "冬季保养邀约",
            "kind": "maintenance",
            "description": "冬季保养，工时八折",
            "starts_on": "2026-11-20",
            "ends_on": "2026-12-31",
            "budget": "20000",
            "cost": "0",
            "max_attempts": "3",
            "reinvite_after_days": "14",
        },
    )

    campaign = Campaign.objects.get(dealership=dealership)
    assert response.status_code == 302 and response.url == url("detail", campaign.pk)
    assert campaign.code == "BK2026W" and campaign.created_by == as_manager and campaign.budget == Decimal("20000")
    assert "add its target groups" in " ".join(shown_messages(response))


def test_the_campaign_form_shows_the_services_refusals(client_for, as_manager, campaign):
    data = {
        "code": campaign.code,
        "name": "另一个活动",
        "kind": "seasonal",
        "starts_on": "2026-11-20",
        "ends_on": "2026-11-01",
        "max_attempts": "3",
        "reinvite_after_days": "14",
        "budget": "0",
        "cost": "0",
    }
    client = client_for(as_manager)

    html = text(client.post(CREATE, data))
    assert "The last day comes before the first day." in html

    html = text(client.post(CREATE, {**data, "ends_on": "2026-12-31"}))
    assert f"Campaign code {campaign.code} is already used in this dealership." in html
    assert Campaign.objects.count() == 1


def test_a_running_campaign_refuses_a_new_code_and_takes_a_new_name(client_for, as_manager, campaign, group, running):
    with time_machine.travel(NOW, tick=False):
        running()
        client = client_for(as_manager)
        page = url("edit", campaign.pk)
        html = text(client.get(page))
        assert 'data-testid="editable-note"' in html and "only its campaign name" in html
        data = {name: getattr(campaign, name) for name in services.CAMPAIGN_FIELDS}
        data = {k: ("" if v is None else v) for k, v in data.items()}

        response = client.post(page, {**data, "code": "NEWCODE"})
        assert response.status_code == 409  # the campaign's state refuses it
        assert "A running campaign cannot change its campaign code." in text(response)
        campaign.refresh_from_db()
        assert campaign.code == "SUMMER26"

        response = client.post(page, {**data, "name": "冬季保养邀约（延长）", "ends_on": "2027-01-15"})
        assert response.status_code == 302
        campaign.refresh_from_db()
        assert campaign.name == "冬季保养邀约（延长）" and campaign.ends_on == date(2027, 1, 15)

        services.campaign_finish(campaign=campaign)
        data = {**data, "name": campaign.name, "ends_on": "2027-01-15"}
        response = client.post(page, {**data, "budget": "1"})
        assert "A finished campaign cannot change its budget." in text(response)
        response = client.post(page, {**data, "cost": "8800.50"})
        assert response.status_code == 302
        campaign.refresh_from_db()
        assert campaign.cost == Decimal("8800.50")


# --- Seed 002 through the pages ---------------------------------------------------------------------------


def seed_002_people(person):
    """Customers who match the seed's two groups, and near misses of every condition."""
    loyal = [
        person(c3_group="profitable_loyal", model="新君威", bought=Y1_2),
        person(c3_group="profitable_loyal", model="GL8", bought=Y3_5),
        person(c3_group="profitable_loyal", model="陆尊", bought=Y2_3),
        person(c3_group="profitable_loyal", model="新君越", bought=Y2_3),
    ]
    low = [
        person(c3_group="low_cost", model="新君越", bought=UNDER_1),
        person(c3_group="low_cost", model="GL8", bought=Y1_2),
    ]
    misses = [
        person(c3_group="profitable_loyal", model="新君越", bought=UNDER_1),  # too new for the loyal group
        person(c3_group="profitable_loyal", model="英朗", bought=Y2_3),  # another model
        person(c3_group="profitable_loyal", model="新君越", bought=Y2_3, plate="粤A12345"),  # another city's plate
        person(c3_group="profitable_loyal", model="新君越", bought=Y3_5, marketing_consent=False),
        person(c3_group="profitable_loyal", model="新君越", bought=Y2_3, do_not_contact=True),
        person(c3_group="low_cost", model="新君威", bought=Y3_5),  # too old for the low-cost group
        person(c3_group="low_cost", model="GL8", bought=OVER_5),
        person(c3_group="low_cost", model="新君越", bought=UNDER_1, flag_wrong_number=True),
        person(c3_group="mining", model="新君越", bought=UNDER_1),
    ]
    return loyal, low, misses


def test_a_manager_builds_the_seed_002_campaign_through_the_pages(
    client_for, as_manager, cc_manager, agent, dealership, person, template, travel
):
    loyal, low, _misses = seed_002_people(person)
    client = client_for(as_manager)

    response = client.post(
        CREATE,
        {
            "code": "BK2014S",
            "name": "别克夏季保养",
            "kind": "maintenance",
            "starts_on": START.isoformat(),
            "ends_on": END.isoformat(),
            "budget": "30000",
            "cost": "12000",
            "max_attempts": "3",
            "reinvite_after_days": "14",
        },
    )
    campaign = Campaign.objects.get(code="BK2014S")
    assert response.status_code == 302
    html = text(client.get(url("detail", campaign.pk)))
    assert 'data-testid="no-groups"' in html and 'data-testid="no-results"' in html

    html = text(client.get(url("group-create", campaign.pk)))
    models_select = re.search(r'<select name="models".*?</select>', html, re.S).group(0)
    assert all(f'value="{name}"' in models_select for name in [*SEED_MODELS, "英朗"])
    assert "the campaign&#x27;s first day (2026-11-20)" in html or "the campaign's first day (2026-11-20)" in html

    response = client.post(
        url("group-create", campaign.pk),
        group_data(
            "盈利忠诚",
            c3_group=["profitable_loyal"],
            models=["新君威", "新君越", "GL8"],
            models_text="陆尊",
            plate_prefix="粤b",
            age_band=["1-2", "2-3", "3-5"],
            goal_percent="18",
            script="您好，我是别克4S店客服，我会第一时间为您安排维修。",
            offers=[template.pk],
        ),
    )
    assert response.status_code == 302, text(response)
    response = client.post(
        url("group-create", campaign.pk),
        group_data(
            "低成本",
            c3_group=["low_cost"],
            models=SEED_MODELS,
            plate_prefix="粤B",
            age_band=["<1", "1-2", "2-3"],
            goal_percent="12",
            script="您好，夏季空调检测免费。",
        ),
    )
    assert response.status_code == 302, text(response)
    first, second = campaign.target_groups.order_by("position")
    assert first.filters == {
        "c3_group": ["profitable_loyal"],
        "age_band": ["1-2", "2-3", "3-5"],
        "models": ["新君威", "新君越", "GL8", "陆尊"],
        "plate_prefix": "粤B",
    }
    assert first.goal_rate == Decimal("0.18") and list(first.offers.all()) == [template]
    assert second.filters["age_band"] == ["<1", "1-2", "2-3"] and second.position == 2

    html = text(client.get(url("detail", campaign.pk)))
    assert by_testid(html, f"preview-matches-{first.pk}") == str(len(loyal)) == "4"
    assert by_testid(html, f"preview-add-{first.pk}") == "4"
    assert by_testid(html, f"preview-matches-{second.pk}") == str(len(low)) == "2"
    assert "matches-nobody" not in html
    assert "Profitable-loyal" in html and "1–2 years, 2–3 years, 3–5 years" in html
    assert "新君威, 新君越, GL8, 陆尊" in html and "粤B" in html and "18 % success rate" in html
    assert 'data-testid="compliance-ok"' in html

    response = client.post(url("status", campaign.pk), {"transition": "schedule", "confirmed": "yes"})
    assert response.status_code == 302 and "is scheduled" in " ".join(shown_messages(response))
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED
    html = text(client.get(url("detail", campaign.pk)))
    assert 'id="generate-form"' in html and 'data-testid="start"' in html

    response = client.post(
        url("generate", campaign.pk),
        {
            f"gen-agent_{agent.pk}": "on",
            f"gen-weight_{agent.pk}": "2",
            f"gen-agent_{cc_manager.pk}": "on",
            f"gen-weight_{cc_manager.pk}": "1",
        },
    )
    assert response.status_code == 302
    said = " ".join(shown_messages(response))
    assert "6 customers added (盈利忠诚: 4, 低成本: 2), 6 assigned to agents" in said
    invited = Invitation.objects.filter(campaign=campaign)
    assert set(invited.values_list("customer_id", flat=True)) == {c.pk for c in loyal + low}
    assert invited.filter(agent=agent).count() == 4 and invited.filter(agent=cc_manager).count() == 2

    html = text(client.get(url("detail", campaign.pk)))
    assert by_testid(html, f"invited-{first.pk}") == "4" and by_testid(html, f"invited-{second.pk}") == "2"
    assert by_testid(html, f"preview-add-{first.pk}") == "0" and by_testid(html, f"preview-invited-{first.pk}") == "4"


# --- Compliance on the campaign page ------------------------------------------------------------------------


def test_a_banned_expression_blocks_scheduling_and_an_allowed_phrase_passes(
    client_for, as_manager, campaign, person, travel
):
    person()
    group = services.target_group_create(
        campaign=campaign, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]}, script="我们是最专业的4S店"
    )
    client = client_for(as_manager)

    response = client.post(url("status", campaign.pk), {"transition": "schedule", "confirmed": "yes"}, follow=True)

    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT
    said = " ".join(shown_messages(response)) or text(response)
    html = text(response)
    assert "最专业" in said and "the call script of target group “盈利忠诚”" in said
    assert 'data-testid="compliance-blocked"' in html and 'data-phrase="最专业"' in html
    assert "我们是最专业的4S店" in html  # the excerpt

    data = group_data("盈利忠诚", c3_group=["profitable_loyal"], script="我会第一时间为您安排维修")
    assert client.post(url("group-edit", group.pk), data).status_code == 302
    assert 'data-testid="compliance-ok"' in text(client.get(url("detail", campaign.pk)))

    response = client.post(url("status", campaign.pk), {"transition": "schedule", "confirmed": "yes"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.SCHEDULED, shown_messages(response)


def test_the_campaign_copy_is_checked_too(client_for, as_manager, campaign, group):
    services.campaign_update(campaign=campaign, changes={"description": "全市最低价保养"})

    html = text(client_for(as_manager).get(url("detail", campaign.pk)))

    assert 'data-phrase="最低价"' in html and "in the campaign copy" in html


def test_status_buttons_follow_the_status(client_for, as_manager, advisor, campaign, group, travel):
    client = client_for(as_manager)
    html = text(client.get(url("detail", campaign.pk)))
    assert 'data-testid="schedule"' in html and 'data-testid="finish"' not in html

    response = client.post(url("status", campaign.pk), {"transition": "start"})
    assert "Only a scheduled campaign can start; this one is draft." in refused_for_a_state(response)

    client.post(url("status", campaign.pk), {"transition": "schedule", "confirmed": "yes"})
    client.post(url("status", campaign.pk), {"transition": "start"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING
    html = text(client.get(url("detail", campaign.pk)))
    assert 'data-testid="finish"' in html and 'data-testid="schedule"' not in html

    assert client.post(url("status", campaign.pk), {"transition": "explode"}).status_code == 400
    response = client.post(url("status", campaign.pk), {"transition": "finish", "confirmed": "yes"})
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FINISHED and response.status_code == 302

    html = text(client_for(advisor).get(url("detail", campaign.pk)))
    assert 'id="status-form"' not in html and 'data-testid="campaign-edit"' not in html


# --- Target groups ----------------------------------------------------------------------------------------


def test_the_group_form_builds_every_filter_and_rate(client_for, as_manager, dealership, campaign, template):
    from segmentation.models import Tag

    Tag.objects.create(dealership=dealership, code="vip-club", name="车友会会员", kind="source")
    other = services.coupon_template_create(dealership=dealership, name="保养 85折", kind="parts_percent", value=15)
    client = client_for(as_manager)
    html = text(client.get(url("group-create", campaign.pk)))
    assert "车友会会员" in html and "New-energy vehicle" in html and 'value="none"' in html

    response = client.post(
        url("group-create", campaign.pk),
        group_data(
            "沉睡唤醒",
            c3_group=["high_risk", "none"],
            tier=["C", "D"],
            value_layer=["high"],
            lapsed="yes",
            last_visit_after="2025-01-01",
            last_visit_before="2025-12-31",
            tags=["lapsed", "vip-club"],
            models_text="英朗，GL8",
            goal_percent="12.5",
            script="好久不见",
            offers=[template.pk],
            ab_test="on",
            script_b="好久不见，送您一次免费检测",
            offers_b=[other.pk],
            holdout_percent="10",
        ),
    )

    assert response.status_code == 302, text(response)
    group = TargetGroup.objects.get(campaign=campaign)
    assert group.filters == {
        "c3_group": ["high_risk", "none"],
        "tier": ["C", "D"],
        "value_layer": ["high"],
        "tags": ["lapsed", "vip-club"],
        "models": ["英朗", "GL8"],
        "last_visit_after": "2025-01-01",
        "last_visit_before": "2025-12-31",
        "lapsed": True,
    }
    assert group.goal_rate == Decimal("0.125") and group.holdout_share == Decimal("0.1")
    assert group.ab_test and list(group.offers_b.all()) == [other]

    html = text(client.get(url("detail", campaign.pk)))
    assert "High-risk, No group" in html and "Lapsed only" in html and "车友会会员" in html
    assert "from 2025-01-01 to 2025-12-31" in html and "holdout 10 %" in html

    html = text(client.get(url("group-edit", group.pk)))
    assert 'value="12.5"' in html and 'value="10"' in html and "英朗" in html
    response = client.post(url("group-edit", group.pk), group_data("沉睡唤醒", lapsed="no", holdout_percent="0"))
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.filters == {"lapsed": False} and not group.ab_test and group.goal_rate is None
    assert list(group.offers.all()) == []


def test_the_group_form_refuses_wrong_input_with_the_reason(client_for, as_manager, campaign):
    client = client_for(as_manager)
    page = url("group-create", campaign.pk)

    html = text(client.post(page, group_data("X", last_visit_after="2026-05-01", last_visit_before="2026-01-01")))
    assert "The last-visit range ends before it starts." in html
    html = text(client.post(page, group_data("X", holdout_percent="60", goal_percent="120")))
    assert "Ensure this value is less than or equal to 50." in html
    assert "Ensure this value is less than or equal to 100." in html
    html = text(client.post(page, group_data("X", ab_test="on")))
    assert "An A/B test needs the variant B script" in html
    html = text(client.post(page, group_data("X", c3_group=["vip"])))
    assert "Select a valid choice." in html
    assert not TargetGroup.objects.exists()


def test_groups_change_only_while_the_campaign_is_a_draft(client_for, as_manager, campaign, group, travel):
    services.campaign_schedule(campaign=campaign)
    client = client_for(as_manager)

    html = text(client.get(url("group-edit", group.pk)))
    assert 'data-testid="groups-locked"' in html
    response = client.post(url("group-edit", group.pk), group_data("新名字"))
    assert response.status_code == 409
    assert "Target groups change only while the campaign is a draft; this one is scheduled." in text(response)
    response = client.post(url("group-create", campaign.pk), group_data("另一个"))
    assert "Target groups change only while the campaign is a draft" in text(response)
    response = client.post(url("group-delete", group.pk))
    assert "Target groups change only while the campaign is a draft" in refused_for_a_state(response)
    group.refresh_from_db()
    assert group.name == "盈利忠诚" and TargetGroup.objects.count() == 1
    assert 'data-testid="group-create"' not in text(client.get(url("detail", campaign.pk)))


def test_a_draft_group_is_deleted_after_asking(client_for, as_manager, campaign, group):
    client = client_for(as_manager)

    html = text(client.get(url("group-delete", group.pk)))
    assert "Delete the target group “盈利忠诚”?" in html
    response = client.post(url("group-delete", group.pk))

    assert response.status_code == 302 and not TargetGroup.objects.filter(pk=group.pk).exists()
    assert "deleted" in " ".join(shown_messages(response))


def test_the_preview_warns_of_a_group_that_matches_nobody(client_for, as_manager, campaign, person):
    person(c3_group="profitable_loyal")
    person(c3_group="profitable_loyal", marketing_consent=False)
    matched = services.target_group_create(
        campaign=campaign, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]}
    )
    empty = services.target_group_create(campaign=campaign, name="陆尊车主", filters={"models": ["陆尊"]})

    html = text(client_for(as_manager).get(url("detail", campaign.pk)))

    assert f'data-testid="matches-nobody-{empty.pk}"' in html and "“陆尊车主” matches nobody" in html
    assert f'data-testid="matches-nobody-{matched.pk}"' not in html
    assert by_testid(html, f"preview-matches-{matched.pk}") == "1"
    ineligible = re.sub(r"\s+", " ", by_testid(html, "ineligible"))
    assert "1 customer of the store may be invited" in ineligible and "1 without marketing consent" in ineligible


# --- The invitation list ----------------------------------------------------------------------------------


def test_the_list_is_generated_only_once_scheduled(client_for, cc_manager, agent, campaign, group, person):
    person()
    client = client_for(cc_manager)
    html = text(client.get(url("detail", campaign.pk)))
    assert 'data-testid="generate-later"' in html and 'id="generate-form"' not in html
    assert 'id="status-form"' not in html  # a call-centre manager does not schedule

    response = client.post(url("generate", campaign.pk), {f"gen-agent_{agent.pk}": "on"})

    said = refused_for_a_state(response)
    assert "The list is generated for a scheduled or running campaign; this one is draft." in said
    assert not Invitation.objects.exists()


def test_generating_needs_an_agent_and_a_whole_weight(client_for, cc_manager, agent, campaign, group, person, travel):
    person()
    services.campaign_schedule(campaign=campaign)
    client = client_for(cc_manager)
    html = text(client.get(url("detail", campaign.pk)))
    assert f'name="gen-agent_{agent.pk}"' in html and f'name="gen-weight_{cc_manager.pk}"' in html

    response = client.post(url("generate", campaign.pk), {})
    assert "Choose at least one agent." in shown_messages(response)
    response = client.post(url("generate", campaign.pk), {f"gen-agent_{agent.pk}": "on", f"gen-weight_{agent.pk}": "0"})
    assert any("greater than or equal to 1" in m for m in shown_messages(response))
    assert not Invitation.objects.exists()

    response = client.post(url("generate", campaign.pk), {f"gen-agent_{agent.pk}": "on"})
    assert "1 customer added (盈利忠诚: 1), 1 assigned to agents" in " ".join(shown_messages(response))
    assert Invitation.objects.get().agent == agent
    response = client.post(url("generate", campaign.pk), {f"gen-agent_{agent.pk}": "on"})
    assert "Nobody new to add" in " ".join(shown_messages(response))


def test_the_results_show_each_groups_figures(
    client_for, as_manager, dealership, campaign, group, person, agent, cc_manager, template
):
    people = [person() for _ in range(4)]
    non_target = person(c3_group="mining")
    services.campaign_update(campaign=campaign, changes={"cost": Decimal("1000")})
    with time_machine.travel(NOW, tick=False):
        services.campaign_schedule(campaign=campaign)
        services.campaign_start(campaign=campaign, today=START)
        services.invitation_list_generate(campaign=campaign, agents=[agent])
        first, second, *_rest = Invitation.objects.filter(campaign=campaign).order_by("id")
        services.call_record(invitation=first, agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
        services.call_record(invitation=second, agent=agent, outcome="declined", reason="not_needed")
    for invitation, amount in ((first, "800.00"), (second, "455.50")):
        ServiceVisitFactory(
            vehicle=invitation.customer.vehicles.first(),
            opened_on=date(2026, 12, 5),
            closed_on=date(2026, 12, 5),
            total_amount=Decimal(amount),
        )
    ServiceVisitFactory(
        vehicle=non_target.vehicles.first(),
        opened_on=date(2026, 12, 6),
        closed_on=date(2026, 12, 6),
        total_amount=Decimal("1200.00"),
        campaign_code=campaign.code,
    )

    html = text(client_for(as_manager).get(url("detail", campaign.pk)))

    assert len(people) == 4
    assert by_testid(html, f"invited-{group.pk}") == "4" and by_testid(html, f"booked-{group.pk}") == "1"
    assert by_testid(html, f"success-{group.pk}") == "25.0 %"  # 1 ÷ 4, goal 18 %: reached
    assert "Goal reached" in html
    assert by_testid(html, f"attended-{group.pk}") == "2"
    assert by_testid(html, f"revenue-{group.pk}") == "¥1,255.50"
    assert "¥627.75" in html  # average ticket: 1,255.50 ÷ 2
    assert by_testid(html, "non-target-customers") == "1" and by_testid(html, "non-target-revenue") == "¥1,200.00"
    assert 'data-testid="no-tests"' in html
    assert by_testid(html, "cost-per-booking") == "¥1,000.00"  # 签单成本: cost ÷ booked


def test_the_goal_is_judged_only_once_the_group_has_been_called(client_for, as_manager, campaign, group, listed, agent):
    # Given a list generated but nobody called: no verdict on the goal yet
    html = text(client_for(as_manager).get(url("detail", campaign.pk)))
    assert "Below the goal" not in html and "Goal reached" not in html
    # When the first call is declined, then the group is below its goal
    with time_machine.travel(NOW, tick=False):
        first = Invitation.objects.filter(campaign=campaign, agent=agent).order_by("id").first()
        services.call_record(invitation=first, agent=agent, outcome="declined", reason="not_needed")
    html = text(client_for(as_manager).get(url("detail", campaign.pk)))
    assert "Below the goal" in html


def test_ab_variants_and_the_holdout_are_compared(client_for, as_manager, campaign, person, agent, travel):
    for _ in range(12):
        person()
    group = services.target_group_create(
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
    for invitation in Invitation.objects.filter(campaign=campaign, holdout=False, variant="B"):
        services.call_record(invitation=invitation, agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
        ServiceVisitFactory(
            vehicle=invitation.customer.vehicles.first(), opened_on=date(2026, 12, 5), closed_on=date(2026, 12, 5)
        )
    for invitation in Invitation.objects.filter(campaign=campaign, holdout=False, variant="A"):
        services.call_record(invitation=invitation, agent=agent, outcome="declined", reason="not_needed")

    html = text(client_for(as_manager).get(url("detail", campaign.pk)))

    assert f'data-testid="variant-{group.pk}"' in html and "Fisher&#x27;s exact test" in html
    row = re.search(rf'data-testid="variant-{group.pk}".*?</tr>', html, re.S).group(0)
    # 12 matches: 3 (a quarter, rounded) held out; of the 9 called, every second is variant B
    assert "0 / 4 · 0.0 %" in row and "5 / 5 · 100.0 %" in row and "Significant difference" in row
    assert re.search(r"0\.\d{4}", row)
    assert f'data-testid="holdout-{group.pk}"' in html and "95 % confidence interval" in html
    holdout = re.search(rf'data-testid="holdout-{group.pk}".*?</tr>', html, re.S).group(0)
    assert "55.6 %" in holdout and "0.0 %" in holdout and "55.6 points" in holdout


# --- Coupons ------------------------------------------------------------------------------------------------


def test_coupons_are_issued_to_a_group_from_the_campaign_page(
    client_for, as_manager, campaign, group, template, listed
):
    client = client_for(as_manager)
    html = text(client.get(url("detail", campaign.pk)))
    assert f'data-testid="issue-coupons-{group.pk}"' in html

    response = client.post(url("group-issue-coupons", group.pk), {"template": template.pk, "confirmed": "yes"})

    assert response.status_code == 302
    assert "4 coupons “¥100 工时券” issued to target group “盈利忠诚”." in shown_messages(response)
    assert Coupon.objects.filter(campaign=campaign, template=template).count() == 4
    response = client.post(url("group-issue-coupons", group.pk), {"template": template.pk, "confirmed": "yes"})
    assert "0 coupons" in " ".join(shown_messages(response))
    response = client.post(url("group-issue-coupons", group.pk), {"template": "999999"})
    assert "Choose an active coupon template of this store." in shown_messages(response)


def test_coupon_templates_are_listed_with_an_empty_state(client_for, as_manager, advisor, dealership):
    html = text(client_for(advisor).get(TEMPLATES))
    assert 'data-testid="no-templates"' in html and f'href="{TEMPLATE_CREATE}"' not in html
    html = text(client_for(as_manager).get(TEMPLATES))
    assert 'data-testid="no-templates"' in html and f'href="{TEMPLATE_CREATE}"' in html


def test_a_manager_creates_and_edits_a_coupon_template(client_for, as_manager, advisor, dealership):
    client = client_for(as_manager)
    data = {
        "name": "第四条轮胎 85折",
        "kind": "parts_percent",
        "value": "150",
        "gift": "",
        "min_spend": "500",
        "visit_types": ["maintenance", "repair"],
        "next_visit_only": "on",
        "valid_days": "60",
        "valid_until": "2026-12-31",
        "active": "on",
    }

    html = text(client.post(TEMPLATE_CREATE, data))
    assert "A percentage off parts is more than 0 and less than 100." in html
    assert not CouponTemplate.objects.exists()

    response = client.post(TEMPLATE_CREATE, {**data, "value": "15"})
    assert response.status_code == 302 and response.url == TEMPLATES
    template = CouponTemplate.objects.get()
    assert template.dealership == dealership and template.value == Decimal("15")
    assert template.visit_types == ["maintenance", "repair"] and template.next_visit_only
    assert template.valid_until == date(2026, 12, 31)

    html = text(client_for(advisor).get(TEMPLATES))
    assert "第四条轮胎 85折" in html and "15 % off" in html and "Maintenance, Mechanical repair" in html
    assert "¥500.00" in html and 'data-testid="template-edit-' not in html

    client = client_for(as_manager)
    edit = url("coupon-template-edit", template.pk)
    assert 'value="第四条轮胎 85折"' in text(client.get(edit))
    response = client.post(edit, {**data, "value": "15", "visit_types": [], "active": ""})
    assert response.status_code == 302
    template.refresh_from_db()
    assert not template.active and template.visit_types == []


def test_a_gift_needs_its_name(client_for, as_manager):
    response = client_for(as_manager).post(
        TEMPLATE_CREATE, {"name": "礼品", "kind": "gift", "value": "0", "min_spend": "0", "valid_days": "30"}
    )

    assert response.status_code == 200 and "Name the gift." in text(response)


# --- Progress and assignment ----------------------------------------------------------------------------------


def test_the_progress_page_shows_agents_and_groups(client_for, cc_manager, campaign, group, agent, listed):
    with time_machine.travel(NOW, tick=False):
        mine = Invitation.objects.filter(agent=agent).order_by("id")
        services.call_record(invitation=mine[0], agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
        services.call_record(invitation=mine[1], agent=agent, outcome="no_answer")

    html = text(client_for(cc_manager).get(url("progress", campaign.pk)))

    assert by_testid(html, f"agent-invitations-{agent.pk}") == "2"
    assert by_testid(html, f"agent-calls-{agent.pk}") == "2" and by_testid(html, f"agent-accepted-{agent.pk}") == "1"
    assert by_testid(html, f"agent-invitations-{cc_manager.pk}") == "2"
    assert f'data-testid="group-progress-{group.pk}"' in html and "18.0 %" in html
    assert 'id="reassign-form"' in html and "0 open invitations have no agent." in html


def test_an_agents_open_invitations_move_to_others(client_for, cc_manager, campaign, agent, listed):
    client = client_for(cc_manager)
    before = Invitation.objects.filter(agent=agent).count()

    response = client.post(
        url("reassign", campaign.pk),
        {"move-from_agent": agent.pk, f"move-agent_{agent.pk}": "on", f"move-agent_{cc_manager.pk}": "on"},
    )

    assert response.status_code == 302 and response.url == url("progress", campaign.pk)
    assert f"{before} open invitations moved." in shown_messages(response)
    assert not Invitation.objects.filter(agent=agent).exists()
    response = client.post(url("reassign", campaign.pk), {"move-from_agent": cc_manager.pk})
    assert "Choose at least one agent." in shown_messages(response)
    response = client.post(
        url("reassign", campaign.pk), {"move-from_agent": cc_manager.pk, f"move-agent_{cc_manager.pk}": "on"}
    )
    assert "Choose at least one other agent." in shown_messages(response)


def test_unassigned_invitations_are_given_out(client_for, as_manager, campaign, agent, cc_manager, listed):
    Invitation.objects.filter(campaign=campaign).update(agent=None)
    client = client_for(as_manager)
    html = text(client.get(url("progress", campaign.pk)))
    assert "4 open invitations have no agent." in html and 'id="assign-form"' in html
    assert 'data-testid="no-progress"' in html

    response = client.post(
        url("assign", campaign.pk),
        {f"assign-agent_{agent.pk}": "on", f"assign-weight_{agent.pk}": "3", f"assign-agent_{cc_manager.pk}": "on"},
    )

    assert "4 unassigned invitations given to agents." in shown_messages(response)
    assert Invitation.objects.filter(agent=agent).count() == 3
    assert Invitation.objects.filter(agent=cc_manager).count() == 1


# --- Compliance terms ------------------------------------------------------------------------------------------


def test_the_compliance_page_lists_the_built_in_terms_and_ours(client_for, as_manager, term):
    html = text(client_for(as_manager).get(COMPLIANCE))

    assert "最专业" in html and "第一时间" in html and "最低消费" in html
    assert f'data-testid="term-{term.pk}"' in html and "最豪华" in html
    assert 'data-testid="no-own-allowed"' in html


def test_a_manager_adds_and_removes_terms(client_for, as_manager, dealership, campaign):
    services.target_group_create(campaign=campaign, name="豪华", script="全城最豪华的休息区")
    client = client_for(as_manager)
    assert 'data-testid="compliance-ok"' in text(client.get(url("detail", campaign.pk)))

    response = client.post(COMPLIANCE, {"kind": "banned", "phrase": " 最豪华 "})
    assert response.status_code == 302 and "“最豪华” added to the banned expressions." in shown_messages(response)
    term = ComplianceTerm.objects.get(dealership=dealership)
    assert 'data-phrase="最豪华"' in text(client.get(url("detail", campaign.pk)))

    html = text(client.post(COMPLIANCE, {"kind": "banned", "phrase": "最豪华"}))
    assert "“最豪华” is already on the list." in html
    html = text(client.post(COMPLIANCE, {"kind": "allowed", "phrase": ""}))
    assert "This field is required." in html

    response = client.post(COMPLIANCE, {"kind": "allowed", "phrase": "最专业"})
    assert response.status_code == 302
    assert "Lifted for this store: 最专业." in text(client.get(COMPLIANCE))

    response = client.post(url("compliance-remove", term.pk))
    assert response.status_code == 302 and "“最豪华” removed." in shown_messages(response)
    assert not ComplianceTerm.objects.filter(pk=term.pk).exists()
    assert 'data-testid="compliance-ok"' in text(client.get(url("detail", campaign.pk)))


# --- Query counts ---------------------------------------------------------------------------------------------


def test_the_campaign_pages_queries_do_not_grow_with_customers(
    client_for, as_manager, campaign, person, agent, cc_manager, template, travel
):
    """Two groups (one with an A/B test and a holdout): the detail and progress pages issue as many queries with
    a handful of invitations as with five times as many, and some calls and visits."""
    services.target_group_create(
        campaign=campaign, name="盈利忠诚", filters={"c3_group": ["profitable_loyal"]}, offers=[template]
    )
    services.target_group_create(
        campaign=campaign,
        name="低成本",
        filters={"c3_group": ["low_cost"]},
        ab_test=True,
        script_b="B",
        holdout_share=Decimal("0.2"),
    )
    for _ in range(3):
        person(c3_group="profitable_loyal")
        person(c3_group="low_cost")
    services.campaign_schedule(campaign=campaign)
    services.campaign_start(campaign=campaign, today=START)
    services.invitation_list_generate(campaign=campaign, agents={agent: 1, cc_manager: 1})
    client = client_for(as_manager)
    client.get(url("detail", campaign.pk))  # session, language: warm

    def counted(page):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page).status_code == 200
        return len(queries)

    few = {page: counted(page) for page in (url("detail", campaign.pk), url("progress", campaign.pk))}

    for _ in range(15):
        person(c3_group="profitable_loyal")
        person(c3_group="low_cost")
    services.invitation_list_generate(campaign=campaign, agents={agent: 1, cc_manager: 1})
    for invitation in Invitation.objects.filter(campaign=campaign, holdout=False, agent=agent)[:6]:
        services.call_record(invitation=invitation, agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
        ServiceVisitFactory(
            vehicle=invitation.customer.vehicles.first(), opened_on=date(2026, 12, 5), closed_on=date(2026, 12, 5)
        )
    assert Invitation.objects.filter(campaign=campaign).count() == 36

    many = {page: counted(page) for page in few}

    assert many == few
    assert few[url("detail", campaign.pk)] <= 45, few
