"""Survey links: signed, valid 14 days, answered once (also under a race); a low score opens a complaint."""

import datetime as dt
import threading
import time

import pytest
import time_machine
from django.core import signing
from django.db import connection

from followups import surveys
from followups.models import Complaint, Survey, Touch, TouchChannel, TouchClass
from followups.surveys import SurveyLinkError, survey_answer, survey_from_token, survey_link_for_touch, survey_token
from tests.followups.factories_complaints import TUESDAY_10, survey_of, visit_of


def survey_touch(visit, *, now=TUESDAY_10):
    return Touch.objects.create(
        dealership=visit.dealership,
        kind=Touch.Kind.SURVEY,
        customer=visit.customer,
        visit=visit,
        due_at=now,
        touch_class=TouchClass.SERVICE,
        channel=TouchChannel.SMS,
        priority=2,
    )


def token_of(link: str) -> str:
    return link.rstrip("/").rsplit("/", 1)[1]


# --- the link ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_dispatcher_gets_one_survey_and_one_link_per_visit_however_often_it_asks(dealership, settings):
    settings.SITE_URL = "https://crm.example.cn"
    visit = visit_of(dealership)
    touch = survey_touch(visit)

    first = survey_link_for_touch(touch, now=TUESDAY_10)
    again = survey_link_for_touch(touch, now=TUESDAY_10 + dt.timedelta(hours=3))

    assert first == again
    assert first.startswith("https://crm.example.cn/s/")
    survey = Survey.objects.get()
    assert (survey.visit, survey.customer, survey.touch, survey.dealership) == (
        visit,
        visit.customer,
        touch,
        dealership,
    )
    assert survey.expires_at == TUESDAY_10 + dt.timedelta(days=14)
    assert survey_from_token(token_of(first), now=TUESDAY_10) == survey


@pytest.mark.django_db
def test_an_owner_events_survey_is_made_once_per_customer(dealership):
    from campaigns.models import Campaign

    visit = visit_of(dealership)
    event = Campaign.objects.create(
        dealership=dealership,
        code="OWNER26",
        name="车主节",
        kind="owner_event",
        starts_on=dt.date(2026, 3, 1),
        ends_on=dt.date(2026, 3, 2),
    )

    link = surveys.survey_link_for_event(campaign=event, customer=visit.customer, now=TUESDAY_10)

    assert surveys.survey_link_for_event(campaign=event, customer=visit.customer) == link
    survey = Survey.objects.get()
    assert (survey.campaign, survey.visit) == (event, None)


@pytest.mark.django_db
def test_a_tampered_token_is_refused_as_invalid(dealership):
    survey = survey_of(dealership)
    token = survey_token(survey)
    other = survey_of(dealership)
    forged_pk = signing.Signer(salt=surveys.SALT).sign_object(
        [other.pk, survey.nonce]
    )  # a real signature, the wrong nonce
    other_salt = signing.Signer(salt="campaigns.invite").sign_object(
        [survey.pk, survey.nonce]
    )  # signed for something else

    for bad in (
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "x" + token,
        "nonsense",
        forged_pk,
        other_salt,
    ):
        with pytest.raises(SurveyLinkError) as refused:
            survey_from_token(bad, now=TUESDAY_10)
        assert (refused.value.status, refused.value.code) == (400, "survey_link_invalid")


@pytest.mark.django_db
def test_a_link_answers_for_14_days_and_not_on_the_15th(dealership):
    survey = survey_of(dealership, now=TUESDAY_10)
    token = survey_token(survey)

    with time_machine.travel(TUESDAY_10 + dt.timedelta(days=14, seconds=-1), tick=False):
        assert survey_from_token(token) == survey
    with time_machine.travel(TUESDAY_10 + dt.timedelta(days=15), tick=False):
        with pytest.raises(SurveyLinkError) as refused:
            survey_from_token(token)
        assert (refused.value.status, refused.value.code) == (410, "survey_link_expired")
        with pytest.raises(SurveyLinkError):
            survey_answer(survey=survey, satisfaction=5, nps=10)
    survey.refresh_from_db()
    assert survey.answered_at is None


@pytest.mark.django_db
def test_a_link_answers_once(dealership):
    survey = survey_of(dealership)
    token = survey_token(survey)

    survey_answer(survey=survey, satisfaction=5, nps=9, comment=" 服务很好 ", now=TUESDAY_10 + dt.timedelta(days=1))

    with pytest.raises(SurveyLinkError) as reused:
        survey_from_token(token, now=TUESDAY_10 + dt.timedelta(days=2))
    assert (reused.value.status, reused.value.code) == (410, "survey_answered")
    with pytest.raises(SurveyLinkError) as again:
        survey_answer(survey=survey, satisfaction=1, nps=0, now=TUESDAY_10 + dt.timedelta(days=2))
    assert again.value.code == "survey_answered"
    survey.refresh_from_db()
    assert (survey.satisfaction, survey.nps, survey.comment) == (5, 9, "服务很好")
    assert not Complaint.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("satisfaction", "nps", "opens"),
    [(2, 10, True), (3, 6, True), (1, 0, True), (3, 7, False), (5, 9, False), (4, 8, False)],
)
def test_a_low_score_opens_a_complaint_exactly_at_the_thresholds(dealership, satisfaction, nps, opens):
    survey = survey_of(dealership)

    survey_answer(survey=survey, satisfaction=satisfaction, nps=nps, comment="", now=TUESDAY_10)

    assert Complaint.objects.filter(survey=survey).exists() is opens


@pytest.mark.django_db
def test_a_low_score_opens_a_complaint_and_stops_the_customers_surveys_and_marketing(dealership, agent):
    survey = survey_of(dealership, now=TUESDAY_10)
    customer = survey.customer
    other_visit = visit_of(dealership, customer=customer)
    pending_survey = survey_touch(other_visit)
    marketing = Touch.objects.create(
        dealership=dealership,
        kind=Touch.Kind.WAKE_UP,
        customer=customer,
        occasion="2026H1",
        due_at=TUESDAY_10,
        touch_class=TouchClass.MARKETING,
        channel=TouchChannel.SMS,
        priority=4,
    )
    service_call = Touch.objects.create(
        dealership=dealership,
        kind=Touch.Kind.DAY_7,
        customer=customer,
        visit=other_visit,
        due_at=TUESDAY_10,
        touch_class=TouchClass.SERVICE,
        channel=TouchChannel.CALL,
        priority=3,
    )
    someone_else = survey_touch(visit_of(dealership))

    survey_answer(survey=survey, satisfaction=2, nps=3, comment="等太久了", now=TUESDAY_10 + dt.timedelta(hours=2))

    complaint = Complaint.objects.get()
    assert (complaint.source, complaint.customer, complaint.visit, complaint.survey) == (
        "survey",
        customer,
        survey.visit,
        survey,
    )
    assert "等太久了" in complaint.summary
    # its follow-up call: for an agent of the store, at once, before anything else
    call = Touch.objects.get(kind=Touch.Kind.COMPLAINT)
    assert (call.complaint, call.channel, call.priority, call.touch_class, call.assignee, call.status) == (
        complaint,
        "call",
        1,
        "service",
        agent,
        "planned",
    )
    assert call.due_at == TUESDAY_10 + dt.timedelta(hours=2)
    # the customer's pending survey and marketing stop; a service call and other customers' touches do not
    for touch in (pending_survey, marketing, service_call, someone_else):
        touch.refresh_from_db()
    assert (pending_survey.status, pending_survey.reason) == ("cancelled", "complaint_open")
    assert (marketing.status, marketing.reason) == ("cancelled", "complaint_open")
    assert service_call.status == someone_else.status == "planned"
    # the audit trail says who: the customer's answer
    assert complaint.history.get().history_change_reason == surveys.SURVEY_ACTOR


@pytest.mark.django_db
def test_answers_out_of_range_are_refused(dealership):
    survey = survey_of(dealership)
    for satisfaction, nps in ((0, 5), (6, 5), (3, 11), (3, -1), (None, 5)):
        with pytest.raises(surveys.ApplicationError) as refused:
            survey_answer(survey=survey, satisfaction=satisfaction, nps=nps, now=TUESDAY_10)
        assert refused.value.code == "survey_answer_invalid"
    survey.refresh_from_db()
    assert survey.answered_at is None


# --- two answers at the same moment (PostgreSQL) --------------------------------------------------------------


def answer_at_once(survey, n=2) -> list[str]:
    barrier = threading.Barrier(n)
    outcomes = [None] * n

    def answer(i):
        try:
            barrier.wait(timeout=10)
            survey_answer(survey=Survey(pk=survey.pk), satisfaction=4 + (i % 2), nps=8 + i, comment=f"#{i}")
            outcomes[i] = "answered"
        except SurveyLinkError as exc:
            outcomes[i] = exc.code
        except Exception as exc:  # pragma: no cover - shown by the assertions
            outcomes[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=answer, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.fixture
def slow_race(monkeypatch):
    """Both answers pass validation before either writes: the validation waits a moment."""
    validate = surveys._validate

    def slow(*args):
        time.sleep(0.3)
        return validate(*args)

    monkeypatch.setattr("followups.surveys._validate", slow)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_answers_at_the_same_moment_make_one(dealership, slow_race):
    survey = survey_of(dealership, now=dt.datetime.now(dt.UTC))

    outcomes = answer_at_once(survey)

    assert sorted(outcomes) == ["answered", "survey_answered"]
    survey.refresh_from_db()
    winner = outcomes.index("answered")
    assert survey.comment == f"#{winner}"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_guard_both_answers_are_taken(dealership, slow_race, monkeypatch):
    # the same race with the "answered_at IS NULL" condition removed: the harness does see the double answer
    monkeypatch.setattr("followups.surveys._unanswered", lambda qs: qs)
    survey = survey_of(dealership, now=dt.datetime.now(dt.UTC))

    outcomes = answer_at_once(survey)

    assert outcomes == ["answered", "answered"]
