"""The customer's survey page: in Chinese, answered once; a tampered, expired or used link answers a friendly
page with 400 or 410, never an error; no login needed, and nothing inline for the CSP."""

import datetime as dt
import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, pgettext

from followups.models import Complaint
from followups.surveys import survey_token
from tests.followups.factories_complaints import survey_of


def zh(text: str) -> str:
    """The words the page shows in Chinese (from the zh-hans catalogue once it has them)."""
    with translation.override("zh-hans"):
        return gettext(text)


def pzh(context: str, text: str) -> str:
    with translation.override("zh-hans"):
        return pgettext(context, text)


@pytest.fixture
def survey(dealership):
    return survey_of(dealership, now=timezone.now())


def url(survey):
    return reverse("surveys:answer", args=[survey_token(survey)])


@pytest.mark.django_db
def test_the_page_asks_in_chinese_without_a_login_and_nothing_inline(client, survey):
    response = client.get(url(survey))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-hans">' in html
    assert zh("How satisfied are you with your visit?") in html and pzh("survey", "Send") in html
    assert survey.dealership.name in html
    assert len(re.findall(r'name="satisfaction"', html)) == 5 and len(re.findall(r'name="nps"', html)) == 11
    assert "<script" not in html and "<style" not in html and not re.search(r"\son\w+=", html)
    assert response["Cache-Control"].startswith("max-age=0")


@pytest.mark.django_db
def test_answering_thanks_the_customer_and_the_link_is_used(client, survey):
    response = client.post(url(survey), {"satisfaction": "4", "nps": "9", "comment": "师傅很专业"}, follow=True)

    assert response.redirect_chain == [(reverse("surveys:thanks"), 302)]
    assert zh("Thank you for your answer!") in response.content.decode()
    survey.refresh_from_db()
    assert (survey.satisfaction, survey.nps, survey.comment) == (4, 9, "师傅很专业")
    again = client.get(url(survey))
    assert again.status_code == 410 and 'data-code="survey_answered"' in again.content.decode()
    assert zh("Already answered") in again.content.decode()
    assert client.post(url(survey), {"satisfaction": "1", "nps": "0"}).status_code == 410


@pytest.mark.django_db
def test_an_incomplete_answer_is_asked_again_keeping_what_was_chosen(client, survey):
    response = client.post(url(survey), {"satisfaction": "2", "comment": "等了很久"})

    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="survey-errors"' in html and "等了很久" in html
    assert re.search(r'value="2" checked', html)
    survey.refresh_from_db()
    assert survey.answered_at is None


@pytest.mark.django_db
def test_a_low_score_through_the_page_opens_a_complaint(client, survey):
    client.post(url(survey), {"satisfaction": "1", "nps": "3", "comment": "车没修好"})

    complaint = Complaint.objects.get()
    assert (complaint.source, complaint.survey) == ("survey", survey)
    assert "车没修好" in complaint.summary
    assert (
        zh("Survey: satisfaction %(satisfaction)d of 5, likely to recommend %(nps)d of 10.")
        % {
            "satisfaction": 1,
            "nps": 3,
        }
        in complaint.summary
    )  # written in the page's language


@pytest.mark.django_db
def test_a_tampered_link_answers_400_with_a_friendly_page(client, survey):
    token = survey_token(survey)
    bad = token[:-3] + ("abc" if not token.endswith("abc") else "xyz")

    response = client.get(reverse("surveys:answer", args=[bad]))

    assert response.status_code == 400
    assert 'data-code="survey_link_invalid"' in response.content.decode()
    assert zh("This link does not work") in response.content.decode()


@pytest.mark.django_db
def test_an_expired_link_answers_410_on_day_15(client, dealership):
    sent = timezone.now()
    survey = survey_of(dealership, now=sent)

    with time_machine.travel(sent + dt.timedelta(days=14, minutes=-1), tick=False):
        assert client.get(url(survey)).status_code == 200
    with time_machine.travel(sent + dt.timedelta(days=15), tick=False):
        response = client.get(url(survey))
        posted = client.post(url(survey), {"satisfaction": "5", "nps": "10"})

    assert response.status_code == posted.status_code == 410
    assert 'data-code="survey_link_expired"' in response.content.decode()
    survey.refresh_from_db()
    assert survey.answered_at is None


@pytest.mark.django_db
def test_an_answer_from_a_browser_without_cookies_is_taken(survey):
    # a phone's in-app browser may drop the CSRF cookie: the signed link is the key
    client = Client(enforce_csrf_checks=True)

    response = client.post(url(survey), {"satisfaction": "5", "nps": "10"})

    assert response.status_code == 302
    assert client.get(url(survey))["Content-Language"] == "zh-hans"
