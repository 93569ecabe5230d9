"""The Advertising Law check of campaign texts: banned absolute expressions, the allow-list, a dealership's own
terms, and the refusal to schedule or start a campaign that uses them."""

import re
from decimal import Decimal

import pytest

from campaigns import compliance, services
from campaigns.compliance import campaign_findings, scan, terms
from campaigns.models import Campaign
from dealercrm.core.exceptions import ApplicationError
from tests.campaigns.conftest import END, START

BRAG = "我们是最专业的4S店"


def found(text, dealership=None, where="文案"):
    banned, allowed = terms(dealership) if dealership else (list(compliance.BANNED), list(compliance.ALLOWED))
    return [(f.phrase, f.excerpt) for f in scan(text, where, banned, allowed)]


def test_seed_002s_script_line_passes(dealership, campaign, make_group, person):
    person()
    make_group({}, script="我会第一时间为您安排维修")

    assert found("我会第一时间为您安排维修") == []
    assert campaign_findings(campaign) == []
    assert services.campaign_schedule(campaign=campaign).status == Campaign.Status.SCHEDULED


def test_an_absolute_term_is_named_with_the_text_it_is_in_everywhere_the_campaign_speaks(
    campaign, make_group, make_template, person
):
    # Given 最专业 in the campaign copy, a group's script, its variant B script and an offer's name
    person()
    services.campaign_update(campaign=campaign, changes={"description": BRAG})
    offer = make_template(name="最专业保养套餐")
    make_group({}, name="盈利忠诚", script=BRAG, ab_test=True, script_b=f"B：{BRAG}", offers=[offer])

    # When it is scheduled
    with pytest.raises(ApplicationError) as refused:
        services.campaign_schedule(campaign=campaign)

    # Then it stays a draft, and the refusal lists each finding with where it is
    findings = refused.value.extra["findings"]
    assert [(f["phrase"], f["where"]) for f in findings] == [
        ("最专业", "the campaign copy"),
        ("最专业", "the call script of target group “盈利忠诚”"),
        ("最专业", "the variant B script of target group “盈利忠诚”"),
        ("最专业", "the offer “最专业保养套餐” of target group “盈利忠诚”"),
    ]
    message = refused.value.message
    assert message.startswith("The campaign uses banned absolute expressions: ")
    assert "“最专业” in the campaign copy: …我们是最专业的4S店…" in message
    for finding in findings:
        assert f"“最专业” in {finding['where']}: …{finding['excerpt']}…" in message
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.DRAFT


def test_the_campaign_name_is_checked_and_a_non_ab_groups_variant_b_is_not(campaign, make_group, make_template):
    campaign = services.campaign_update(campaign=campaign, changes={"name": "顶级保养节"})
    unused = make_template(name="最低价套餐")
    group = make_group({}, script="您好", script_b=BRAG)  # no A/B test: script B is never read out
    group.offers_b.set([unused])

    assert [(f.phrase, f.where) for f in campaign_findings(campaign)] == [("顶级", "the campaign name")]


def test_a_scheduled_campaign_that_became_non_compliant_does_not_start(campaign, make_group, make_template, person):
    # Given a scheduled campaign whose offer was renamed afterwards
    person()
    offer = make_template(name="保养套餐")
    make_group({}, name="所有", offers=[offer])
    services.campaign_schedule(campaign=campaign)
    services.coupon_template_update(template=offer, changes={"name": "全城最低价保养套餐"})

    # Then starting it on its first day is refused, and the daily job leaves it scheduled
    with pytest.raises(ApplicationError, match="“最低价” in the offer “全城最低价保养套餐” of target group “所有”"):
        services.campaign_start(campaign=campaign, today=START)
    assert services.campaigns_advance(today=START) == {"started": 0, "finished": 0}
    assert Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SCHEDULED

    # and once the offer is fixed it starts
    services.coupon_template_update(template=offer, changes={"name": "超值保养套餐"})
    assert services.campaigns_advance(today=START) == {"started": 1, "finished": 0}


def test_a_scheduled_campaigns_copy_cannot_become_non_compliant(campaign, make_group, person):
    person()
    make_group({})
    services.campaign_schedule(campaign=campaign)

    with pytest.raises(ApplicationError, match="“第一品牌” in the campaign copy"):
        services.campaign_update(campaign=campaign, changes={"description": "别克，第一品牌"})
    assert Campaign.objects.get(pk=campaign.pk).description == ""


def test_an_allowed_phrase_covers_only_the_occurrence_it_overlaps():
    # 第一时间 allows its own 第一, not the 第一 further on
    assert found("我会第一时间联系您，我们是本地第一") == [("第一", "系您，我们是本地第一")]  # 8 characters either side
    assert found("最近最好") == [("最好", "最近最好")]
    assert found("第一次保养免工时费") == []
    assert found("最低消费300元") == []
    assert found("最低价300元") == [("最低价", "最低价300元")]


def test_an_allowed_phrase_covering_part_of_a_banned_one_does_not_allow_it(dealership):
    services.compliance_term_add(dealership=dealership, kind="allowed", phrase="全球")

    assert found("全球领先的服务", dealership) == [("全球领先", "全球领先的服务")]
    assert found("全球联保", dealership) == []


def test_the_longest_expression_is_reported_not_also_the_shorter_inside_it():
    assert found("别克是第一品牌") == [("第一品牌", "别克是第一品牌")]


def test_a_finding_is_reported_once_per_phrase_per_text(campaign):
    assert found("最好的服务，最好的价格，最好的体验") == [("最好", "最好的服务，最好的价")]
    campaign = services.campaign_update(
        campaign=campaign, changes={"name": "最好保养", "description": "最好的服务，最好的价格"}
    )
    assert [(f.phrase, f.where) for f in campaign_findings(campaign)] == [
        ("最好", "the campaign name"),
        ("最好", "the campaign copy"),
    ]
    assert found("最好的服务，第一品牌，最好的价格") == [
        ("第一品牌", "最好的服务，第一品牌，最好的价格"),
        ("最好", "最好的服务，第一品牌"),
    ]


def test_a_dealerships_own_banned_expressions_and_allowed_phrases_apply_to_it_alone(dealership, other_dealership):
    services.compliance_term_add(dealership=dealership, kind="banned", phrase="性价比之王")
    services.compliance_term_add(dealership=dealership, kind="allowed", phrase="第一站")
    services.compliance_term_add(dealership=dealership, kind="allowed", phrase="最大")  # a built-in, allowed outright

    assert found("本店是性价比之王", dealership) == [("性价比之王", "本店是性价比之王")]
    assert found("本店是性价比之王", other_dealership) == []
    assert found("您用车的第一站", dealership) == []
    assert found("您用车的第一站", other_dealership) == [("第一", "您用车的第一站")]
    assert found("年末最大优惠", dealership) == []
    assert found("年末最大优惠", other_dealership) == [("最大", "年末最大优惠")]


def test_a_term_is_added_once_and_needs_words(dealership):
    services.compliance_term_add(dealership=dealership, kind="banned", phrase="  性价比之王 ")
    with pytest.raises(ApplicationError, match=re.escape("“性价比之王” is already on the list.")):
        services.compliance_term_add(dealership=dealership, kind="banned", phrase="性价比之王")
    with pytest.raises(ApplicationError, match=re.escape("Type the phrase.")):
        services.compliance_term_add(dealership=dealership, kind="banned", phrase="  ")
    with pytest.raises(ApplicationError):
        services.compliance_term_add(dealership=dealership, kind="maybe", phrase="随便")


def test_a_dealerships_own_term_blocks_scheduling_its_campaign(dealership, as_manager, person):
    person()
    services.compliance_term_add(dealership=dealership, kind="banned", phrase="保证")
    campaign = services.campaign_create(
        dealership=dealership,
        code="OWN",
        name="保养节",
        kind="maintenance",
        starts_on=START,
        ends_on=END,
        budget=Decimal("1000"),
        description="保证您满意",
    )
    services.target_group_create(campaign=campaign, name="所有", filters={})

    with pytest.raises(ApplicationError, match="“保证” in the campaign copy: …保证您满意…"):
        services.campaign_schedule(campaign=campaign)


def test_latin_letters_match_in_any_case(dealership):
    services.compliance_term_add(dealership=dealership, kind="banned", phrase="No.1")
    services.compliance_term_add(dealership=dealership, kind="allowed", phrase="No.1 Road")

    assert found("本店服务NO.1", dealership) == [("No.1", "本店服务NO.1")]
    assert found("地址：深南大道 no.1 road", dealership) == []
    assert found("Buick 100%原厂配件") == [("100%", "Buick 100%原厂配件")]
