"""An after-sales manager builds the seed 002 campaign through the pages, in a real browser.

Given hand-built customers with segmentation results (some matching each of the seed's two target groups, some
missing them by plate, model, vehicle age, C3 group or consent), the manager creates the campaign, adds the
profitable-loyal and the low-cost groups, and sees the preview count exactly the matching customers. A banned
absolute expression ("最专业") in the first group's script makes scheduling fail with a message naming it; once
the script is reworded the campaign is scheduled, started (its period began three days ago) and its invitation
list generated for the agent. The figures are checked on the page and in the database.

The live server runs on the real clock (nothing is time-travelled): the period is set around today and the
vehicles' ages are counted back from the campaign's first day. It runs in English, the test settings' language.
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.db.models import Count
from django.utils import timezone
from playwright.sync_api import expect

from campaigns.models import Campaign, Invitation, TargetGroup
from tests.campaigns.conftest import person, run  # noqa: F401  (fixtures: customers with segmentation results)

pytestmark = pytest.mark.browser

CODE = "BK2014S"
MODELS = ["新君威", "新君越", "GL8", "陆尊"]
LOYAL, LOW = "盈利忠诚", "低成本"
SCRIPT = "您好，我是别克4S店客服，我会第一时间为您安排维修。"
LOW_SCRIPT = "您好，夏季空调检测免费，欢迎回厂。"
BANNED_SCRIPT = "您好，我们是最专业的4S店，我会第一时间为您安排维修。"
#: where the campaign page's screenshot goes, for a person to look at what the manager sees
SHOT = Path("/tmp") / "campaign-detail.png"  # noqa: S108


def bought(first_day, band):
    """A purchase date well inside ``band`` (the vehicle's age on the campaign's first day)."""
    days = {"<1": 200, "1-2": 540, "2-3": 900, "3-5": 1460, "5+": 2600}[band]
    return first_day - timedelta(days=days)


@pytest.fixture
def period():
    """The campaign's period: it began three days ago and runs for two months."""
    today = timezone.localdate()
    return today - timedelta(days=3), today + timedelta(days=60)


@pytest.fixture
def people(person, period):  # noqa: F811
    """(loyal, low, misses): who each seed group matches, and near misses of every condition."""
    first_day, _last_day = period
    loyal = [
        person(c3_group="profitable_loyal", model="新君威", bought=bought(first_day, "1-2")),
        person(c3_group="profitable_loyal", model="GL8", bought=bought(first_day, "3-5")),
        person(c3_group="profitable_loyal", model="陆尊", bought=bought(first_day, "2-3")),
        person(c3_group="profitable_loyal", model="新君越", bought=bought(first_day, "2-3")),
    ]
    low = [
        person(c3_group="low_cost", model="新君越", bought=bought(first_day, "<1")),
        person(c3_group="low_cost", model="GL8", bought=bought(first_day, "1-2")),
    ]
    misses = [
        person(c3_group="profitable_loyal", model="新君越", bought=bought(first_day, "2-3"), plate="粤A12345"),
        person(c3_group="profitable_loyal", model="英朗", bought=bought(first_day, "2-3")),  # another model
        person(c3_group="profitable_loyal", model="新君越", bought=bought(first_day, "<1")),  # too new here
        person(c3_group="low_cost", model="新君威", bought=bought(first_day, "3-5")),  # too old for low-cost
        person(c3_group="low_cost", model="GL8", bought=bought(first_day, "5+")),
        person(c3_group="profitable_loyal", model="新君越", bought=bought(first_day, "3-5"), marketing_consent=False),
        person(c3_group="low_cost", model="新君越", bought=bought(first_day, "<1"), do_not_contact=True),
        person(c3_group="mining", model="新君越", bought=bought(first_day, "1-2")),  # in neither C3 group
    ]
    return loyal, low, misses


def messages(page):
    return page.locator("#messages")


def fill_group(page, *, name, c3_group, age_bands, goal, script):
    page.locator("#id_name").fill(name)
    page.locator(f"input[name=c3_group][value={c3_group}]").check()
    page.locator("#id_models").select_option(MODELS)
    page.locator("#id_plate_prefix").fill("粤B")
    for band in age_bands:
        page.locator(f"input[name=age_band][value='{band}']").check()
    page.locator("#id_goal_percent").fill(goal)
    page.locator("#id_script").fill(script)


def submit_group(page):
    page.locator("#group-form-submit").click()
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/#groups$"))


def test_a_manager_builds_the_seed_002_campaign_in_the_browser(
    page, log_in, screenshot, as_manager, agent, people, period
):
    loyal, low, misses = people
    first_day, last_day = period

    # Given the after-sales manager on the campaign list (from the header's link)
    log_in("asmanager")
    page.get_by_test_id("nav-campaigns").click()
    expect(page).to_have_url(re.compile(r"/campaigns/$"))
    expect(page.get_by_test_id("no-campaigns")).to_be_visible()

    # When they create the campaign: code, name, type, a period around today, a budget
    page.get_by_test_id("campaign-create").click()
    expect(page.locator("#campaign-form")).to_be_visible()
    page.locator("#id_code").fill(CODE.lower())
    page.locator("#id_name").fill("别克夏季保养")
    page.locator("#id_kind").select_option("maintenance")
    page.locator("#id_starts_on").fill(first_day.isoformat())
    page.locator("#id_ends_on").fill(last_day.isoformat())
    page.locator("#id_budget").fill("30000")
    page.locator("#campaign-form-submit").click()

    # Then they land on the draft campaign, which asks for its target groups
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/$"))
    campaign = Campaign.objects.get(code=CODE)
    expect(messages(page)).to_contain_text(f"Campaign {CODE} created. Next: add its target groups.")
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "draft")
    expect(page.get_by_test_id("campaign-period")).to_have_text(f"{first_day:%Y-%m-%d} – {last_day:%Y-%m-%d}")
    expect(page.get_by_test_id("campaign-budget")).to_have_text("¥30,000.00")
    expect(page.get_by_test_id("no-groups")).to_be_visible()
    expect(page.get_by_test_id("generate-later")).to_be_visible()
    assert (campaign.created_by, campaign.kind, campaign.starts_on) == (as_manager, "maintenance", first_day)

    # When they add the profitable-loyal group, its script carrying a banned absolute expression
    page.get_by_test_id("group-create").click()
    expect(page.locator("main")).to_contain_text(f"campaign's first day ({first_day:%Y-%m-%d})")
    for model in [*MODELS, "英朗"]:  # the store's models are offered
        expect(page.locator(f"#id_models option[value='{model}']")).to_have_count(1)
    fill_group(
        page, name=LOYAL, c3_group="profitable_loyal", age_bands=["1-2", "2-3", "3-5"], goal="18", script=BANNED_SCRIPT
    )
    submit_group(page)
    expect(messages(page)).to_contain_text(f"Target group “{LOYAL}” added.")

    # And the low-cost group: same plate and models, younger cars
    page.get_by_test_id("group-create").click()
    fill_group(page, name=LOW, c3_group="low_cost", age_bands=["<1", "1-2", "2-3"], goal="10", script=LOW_SCRIPT)
    submit_group(page)
    first, second = TargetGroup.objects.filter(campaign=campaign).order_by("position")
    assert (first.name, second.name) == (LOYAL, LOW)
    # (the browser sends the chosen models in the select's order, which is the store's models sorted)
    assert {**first.filters, "models": sorted(first.filters["models"])} == {
        "c3_group": ["profitable_loyal"],
        "age_band": ["1-2", "2-3", "3-5"],
        "models": sorted(MODELS),
        "plate_prefix": "粤B",
    }
    assert second.filters["age_band"] == ["<1", "1-2", "2-3"] and sorted(second.filters["models"]) == sorted(MODELS)

    # Then the groups read back as set, and the preview counts exactly the hand-built matches
    filters = page.get_by_test_id(f"group-filters-{first.pk}")
    expect(filters).to_contain_text("Profitable-loyal")
    expect(filters).to_contain_text(", ".join(first.filters["models"]))
    expect(filters).to_contain_text("粤B")
    expect(filters).to_contain_text("1–2 years, 2–3 years, 3–5 years")
    expect(filters).to_contain_text("18 % success rate")
    expect(page.get_by_test_id(f"group-filters-{second.pk}")).to_contain_text("10 % success rate")
    for group, matching in ((first, loyal), (second, low)):
        expect(page.get_by_test_id(f"preview-matches-{group.pk}")).to_have_text(str(len(matching)))
        expect(page.get_by_test_id(f"preview-invited-{group.pk}")).to_have_text("0")
        expect(page.get_by_test_id(f"preview-add-{group.pk}")).to_have_text(str(len(matching)))
    assert (len(loyal), len(low)) == (4, 2)
    eligible = len(loyal) + len(low) + len(misses) - 2  # one without consent, one on do-not-contact
    expect(page.get_by_test_id("ineligible")).to_contain_text(f"{eligible} customers of the store may be invited")
    expect(page.locator("[data-testid^=matches-nobody-]")).to_have_count(0)

    # And the Advertising Law check flags the script
    expect(page.get_by_test_id("compliance-blocked")).to_be_visible()
    expect(page.locator("[data-testid=finding][data-phrase=最专业]")).to_contain_text(LOYAL)

    # When they try to schedule it anyway (and confirm it: scheduling cannot be undone)
    page.get_by_test_id("schedule").click()
    expect(page.get_by_test_id("confirm-step")).to_have_attribute("data-action", "schedule")
    page.get_by_test_id("confirm").click()

    # Then it is refused with a message naming the expression and where it is, and stays a draft
    refusal = messages(page).get_by_role("alert")
    expect(refusal).to_contain_text("最专业")
    expect(refusal).to_contain_text(f"the call script of target group “{LOYAL}”")
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "draft")
    screenshot("schedule-refused")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    # When they reword the script
    page.get_by_test_id(f"group-edit-{first.pk}").click()
    expect(page.locator("#id_script")).to_have_value(BANNED_SCRIPT)
    page.locator("#id_script").fill(SCRIPT)
    submit_group(page)

    # Then the check passes, the filters are untouched, and scheduling works
    expect(messages(page)).to_contain_text(f"Target group “{LOYAL}” saved.")
    expect(page.get_by_test_id("compliance-ok")).to_be_visible()
    expect(page.get_by_test_id(f"group-script-{first.pk}")).to_have_text(SCRIPT)
    expect(page.get_by_test_id(f"preview-matches-{first.pk}")).to_have_text(str(len(loyal)))
    first.refresh_from_db()
    assert first.script == SCRIPT and sorted(first.filters["models"]) == sorted(MODELS)

    # Scheduling asks first; cancelling leaves the draft as it was
    page.get_by_test_id("schedule").click()
    expect(page.get_by_test_id("confirm-step")).to_contain_text("别克夏季保养")
    screenshot("schedule-confirm")
    page.get_by_test_id("cancel").click()
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "draft")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.DRAFT

    page.get_by_test_id("schedule").click()
    page.get_by_test_id("confirm").click()
    expect(messages(page)).to_contain_text(f"Campaign {CODE} is scheduled.")
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "scheduled")
    expect(page.get_by_test_id(f"group-edit-{first.pk}")).to_have_count(0)  # groups are frozen now

    # When they start it (its period has begun)
    page.get_by_test_id("start").click()
    expect(messages(page)).to_contain_text(f"Campaign {CODE} is running.")
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "running")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.RUNNING

    # And generate the invitation list for the agent (the store's only one, ticked by default)
    rows = page.locator("#generate-form tr[data-agent]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-agent", str(agent.pk))
    expect(page.locator(f"#id_gen-agent_{agent.pk}")).to_be_checked()
    page.get_by_test_id("generate").click()

    # Then the page says who was added to which group, and the results count the invitations
    expect(page).to_have_url(re.compile(r"/campaigns/\d+/#results$"))
    expect(messages(page)).to_contain_text(
        f"List generated: 6 customers added ({LOYAL}: 4, {LOW}: 2), 6 assigned to agents."
    )
    for group, matching in ((first, loyal), (second, low)):
        expect(page.get_by_test_id(f"invited-{group.pk}")).to_have_text(str(len(matching)))
        expect(page.get_by_test_id(f"booked-{group.pk}")).to_have_text("0")
        expect(page.get_by_test_id(f"preview-invited-{group.pk}")).to_have_text(str(len(matching)))
        expect(page.get_by_test_id(f"preview-add-{group.pk}")).to_have_text("0")
    expect(page.get_by_test_id("summary-total").locator("td").first).to_have_text("6")
    expect(page.get_by_test_id("campaign-booked")).to_contain_text("0 of 6 invited")
    page.screenshot(path=SHOT, full_page=True)
    screenshot("list-generated")

    # And the database holds one invitation per matching customer, in their group, on the agent's list
    invitations = Invitation.objects.filter(campaign=campaign)
    per_group = dict(invitations.values_list("target_group__name").annotate(n=Count("id")))
    assert per_group == {LOYAL: 4, LOW: 2}
    assert set(invitations.filter(target_group=first).values_list("customer_id", flat=True)) == {c.pk for c in loyal}
    assert set(invitations.filter(target_group=second).values_list("customer_id", flat=True)) == {c.pk for c in low}
    assert set(invitations.values_list("agent_id", flat=True)) == {agent.pk}
    assert not invitations.filter(holdout=True).exists()

    # When they finish the campaign: the page asks first, naming the customers still to call
    page.get_by_test_id("finish").click()
    expect(page.get_by_test_id("confirm-step")).to_contain_text("6 customers still to call")
    page.get_by_test_id("confirm").click()

    # Then it is finished
    expect(messages(page)).to_contain_text(f"Campaign {CODE} is finished.")
    expect(page.get_by_test_id("campaign-status")).to_have_attribute("data-status", "finished")
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.FINISHED
