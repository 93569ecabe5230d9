"""A customer answers the survey of their visit on a phone (360 px wide, touch), in Chinese.

Given a visit's survey and its signed link, the customer opens the link: the page is in Chinese, fits the
screen without sideways scrolling, and its answers are large enough to tap. They tap a low satisfaction and a
low NPS, write a comment and send it: the thank-you page follows, the answer is recorded and a complaint is open.
Opening the link again says, in Chinese, that it was answered already (410)."""

import pytest
from django.utils import timezone, translation
from django.utils.translation import gettext
from playwright.sync_api import expect

from followups.models import Complaint
from followups.surveys import survey_token
from tests.followups.factories_complaints import survey_of

pytestmark = pytest.mark.browser

PHONE = {"width": 360, "height": 740}


def zh(text: str) -> str:
    with translation.override("zh-hans"):
        return gettext(text)


@pytest.fixture
def browser_locale():
    """The phone speaks Chinese."""
    return "zh-CN"


@pytest.mark.browser_context_args(viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=2)
def test_a_customer_answers_the_survey_on_a_phone_in_chinese(page, screenshot, dealership):
    survey = survey_of(dealership, now=timezone.now())
    link = f"/s/{survey_token(survey)}/"

    # When the customer opens the link on their phone
    response = page.goto(link)

    # Then the page asks in Chinese and fits the screen
    assert response.status == 200
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_text(zh("How satisfied are you with your visit?"))).to_be_visible()
    expect(page.get_by_test_id("survey-store")).to_have_text(dealership.name)
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # and every answer is a large tap target (at least 44 px high; NPS buttons at least 40 px wide)
    for value in range(1, 6):
        box = page.get_by_test_id(f"satisfaction-{value}").bounding_box()
        assert box["height"] >= 44 and box["width"] >= 250
    for value in range(11):
        box = page.get_by_test_id(f"nps-{value}").bounding_box()
        assert box["height"] >= 44 and box["width"] >= 40
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot("questions")

    # When they tap "dissatisfied" and 5 of 10, write a comment and send it
    page.get_by_test_id("satisfaction-2").tap()
    page.get_by_test_id("nps-5").tap()
    expect(page.locator("#id_satisfaction_3")).to_be_checked()  # 5, 4, 3, 2, 1: the fourth is 2
    page.locator("#id_comment").fill("等了两个小时，没人解释")
    screenshot("answered")
    page.get_by_test_id("survey-submit").tap()

    # Then they are thanked, in Chinese
    expect(page.get_by_test_id("survey-thanks")).to_contain_text(zh("Thank you for your answer!"))
    screenshot("thanks")
    survey.refresh_from_db()
    assert (survey.satisfaction, survey.nps, survey.comment) == (2, 5, "等了两个小时，没人解释")
    # and the low score opened a complaint about the visit
    complaint = Complaint.objects.get(survey=survey)
    assert (complaint.status, complaint.visit) == ("open", survey.visit)

    # When they open the link again, it says it has been answered (410), still in Chinese
    again = page.goto(link)
    assert again.status == 410
    expect(page.get_by_test_id("survey-link-refused")).to_contain_text(zh("Already answered"))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot("already-answered")
