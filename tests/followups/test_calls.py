"""Recording a follow-up call (``followups.calls.followup_call_record``): each outcome moves the touch as the
agent expects, a touch no longer to be made is refused with 409, and the contact rule of a service call holds
(no consent needed; do-not-contact and a wrong number stop it)."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from customers.models import Customer
from dealercrm.core.exceptions import ApplicationError, StateConflict
from followups.calls import RETRY_AFTER, followup_call_record
from followups.models import Complaint, Touch, TouchAttempt
from tests.factories import CustomerFactory, UserFactory
from tests.followups.factories_calls import call_task

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: a Tuesday morning in Shenzhen
NOW = datetime(2026, 3, 3, 10, 0, tzinfo=SHANGHAI)


@pytest.fixture
def task(dealership, agent):
    return call_task(dealership, agent, due_at=NOW - timedelta(hours=1))


def record(touch, agent, outcome, **options):
    attempt = followup_call_record(touch=touch, agent=agent, outcome=outcome, now=NOW, **options)
    touch.refresh_from_db()
    return attempt


def test_reached_closes_the_task_with_the_attempt_and_the_note(task, agent):
    attempt = record(task, agent, "done", note="车况良好，客户满意")

    assert (task.status, task.outcome, task.attempts, task.completed_at) == ("done", "done", 1, NOW)
    assert "车况良好，客户满意" in task.notes
    assert (attempt.agent, attempt.called_at, attempt.outcome, attempt.note) == (
        agent,
        NOW,
        "done",
        "车况良好，客户满意",
    )
    assert TouchAttempt.objects.get() == attempt


@pytest.mark.parametrize("outcome", ["no_answer", "busy"])
def test_no_answer_or_busy_comes_back_later_until_the_attempts_run_out(task, agent, outcome):
    record(task, agent, outcome)
    assert (task.status, task.attempts, task.due_at) == ("planned", 1, NOW + RETRY_AFTER)

    record(task, agent, outcome)
    assert (task.status, task.attempts) == ("planned", 2)

    record(task, agent, outcome)
    assert (task.status, task.attempts, task.reason) == ("failed", 3, "attempts_exhausted")
    assert task.reason_detail == "The attempts allowed ran out." and task.completed_at == NOW
    assert TouchAttempt.objects.filter(touch=task).count() == 3


def test_a_call_back_is_due_at_its_time_and_uses_no_attempt(task, agent):
    at = NOW + timedelta(days=1, hours=4)

    attempt = record(task, agent, "call_back", call_back_at=at)

    assert (task.status, task.attempts, task.due_at, attempt.call_back_at) == ("planned", 0, at, at)


def test_a_call_back_given_as_local_time_is_the_stores_time(task, agent):
    record(task, agent, "call_back", call_back_at=datetime(2026, 3, 4, 15, 30))

    assert task.due_at == datetime(2026, 3, 4, 15, 30, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("at", "code"),
    [(None, "call_back_not_later"), (NOW, "call_back_not_later"), (NOW + timedelta(days=20), "call_back_after_expiry")],
)
def test_a_call_back_needs_a_time_later_than_now_and_before_the_task_expires(dealership, agent, at, code):
    touch = call_task(dealership, agent, due_at=NOW, expires_at=NOW + timedelta(days=10))

    with pytest.raises(ApplicationError) as refused:
        record(touch, agent, "call_back", call_back_at=at)

    assert refused.value.code == code
    assert not TouchAttempt.objects.exists() and touch.due_at == NOW


def test_a_wrong_number_ends_the_task_and_flags_the_customer_as_the_agent(task, agent):
    record(task, agent, "wrong_number")

    assert (task.status, task.reason) == ("failed", "wrong_number")
    customer = Customer.objects.get(pk=task.customer_id)
    assert customer.flag_wrong_number
    assert customer.history.latest().history_user == agent  # through the row, as a campaign call flags it


def test_declined_needs_a_reason_and_records_it(task, agent):
    with pytest.raises(ApplicationError) as refused:
        record(task, agent, "declined")
    assert refused.value.code == "reason_required" and "reason" in refused.value.fields
    with pytest.raises(ApplicationError) as refused:
        record(task, agent, "declined", reason="because")
    assert refused.value.code == "unknown_reason"
    assert not TouchAttempt.objects.exists()

    attempt = record(task, agent, "declined", reason="time")

    assert (task.status, task.outcome, attempt.reason) == ("done", "declined", "time")


def test_a_reason_belongs_to_a_decline_only(task, agent):
    with pytest.raises(ApplicationError) as refused:
        record(task, agent, "done", reason="price")
    assert refused.value.code == "reason_not_asked"


def test_a_complaint_raised_on_the_call_is_opened_from_the_call(task, agent):
    with pytest.raises(ApplicationError) as refused:
        record(task, agent, "complaint")
    assert refused.value.code == "complaint_summary_required"

    record(task, agent, "complaint", note="保养后异响，要求返修")

    assert (task.status, task.outcome) == ("done", "complaint")
    complaint = Complaint.objects.get(customer=task.customer)
    assert (complaint.source, complaint.summary, complaint.visit_id) == ("call", "保养后异响，要求返修", task.visit_id)
    assert complaint.opened_by == agent


def test_a_satisfaction_call_records_the_score(dealership, agent):
    touch = call_task(dealership, agent, due_at=NOW, kind=Touch.Kind.SATISFACTION)

    for wrong in (0, 6, "很好"):
        with pytest.raises(ApplicationError) as refused:
            record(touch, agent, "done", satisfaction=wrong)
        assert refused.value.code == "satisfaction_out_of_range"
    attempt = record(touch, agent, "done", satisfaction=4)

    assert (attempt.satisfaction, touch.status) == (4, "done")


def test_only_a_satisfaction_call_takes_a_score(task, agent):
    with pytest.raises(ApplicationError) as refused:
        record(task, agent, "done", satisfaction=5)
    assert refused.value.code == "satisfaction_not_asked"


@pytest.mark.parametrize("status", ["done", "cancelled", "failed", "expired"])
def test_a_task_no_longer_planned_is_refused_with_a_conflict(task, agent, status):
    Touch.objects.filter(pk=task.pk).update(status=status)

    with pytest.raises(StateConflict) as refused:
        record(task, agent, "done")

    assert refused.value.status == 409 and refused.value.code == "touch_not_planned"
    assert not TouchAttempt.objects.exists()


def test_the_second_tab_recording_the_same_call_gets_a_conflict(task, agent):
    # Given the task open in two tabs, recorded in the first
    stale = Touch.objects.get(pk=task.pk)
    record(task, agent, "done")

    # When the second tab records it too, from its stale copy
    with pytest.raises(StateConflict) as refused:
        followup_call_record(touch=stale, agent=agent, outcome="no_answer", now=NOW)

    # Then nothing more is recorded
    assert refused.value.code == "touch_not_planned"
    assert TouchAttempt.objects.count() == 1


def test_another_agents_task_is_refused_with_a_conflict(task, dealership):
    colleague = UserFactory(username="agent-b", role="agent", dealerships=[dealership])

    with pytest.raises(StateConflict) as refused:
        record(task, colleague, "done")

    assert refused.value.code == "another_agents_touch"


def test_an_expired_task_is_refused(dealership, agent):
    touch = call_task(dealership, agent, due_at=NOW - timedelta(days=2), expires_at=NOW - timedelta(minutes=1))

    with pytest.raises(StateConflict) as refused:
        record(touch, agent, "done")

    assert refused.value.code == "touch_expired"


def test_a_service_call_needs_no_marketing_consent(dealership, agent):
    customer = CustomerFactory(dealership=dealership, marketing_consent=False, sms_opt_out=True)
    touch = call_task(dealership, agent, due_at=NOW, customer=customer)

    record(touch, agent, "done")

    assert touch.status == "done"


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"do_not_contact": True}, "do_not_contact"), ({"flag_wrong_number": True}, "wrong_number")],
)
def test_do_not_contact_or_a_wrong_number_stops_a_service_call(dealership, agent, fields, code):
    touch = call_task(dealership, agent, due_at=NOW, customer=CustomerFactory(dealership=dealership, **fields))

    with pytest.raises(ApplicationError) as refused:
        record(touch, agent, "done")

    assert refused.value.code == code
    assert touch.status == "planned" and not TouchAttempt.objects.exists()


def test_a_marketing_call_needs_consent(dealership, agent):
    customer = CustomerFactory(dealership=dealership, marketing_consent=False)
    touch = call_task(dealership, agent, due_at=NOW, kind=Touch.Kind.WAKE_UP, customer=customer)

    with pytest.raises(ApplicationError) as refused:
        record(touch, agent, "done")

    assert refused.value.code == "no_marketing_consent"


def test_an_unknown_outcome_is_refused(task, agent):
    with pytest.raises(ApplicationError) as refused:
        record(task, agent, "hung_up")
    assert refused.value.code == "unknown_outcome"
