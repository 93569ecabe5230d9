"""Complaint deadlines: business hours of the store, in its time zone; escalation once, by email to its admins."""

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dealercrm.core.roles import Role
from followups import complaints
from followups.complaints import add_business_hours, add_working_days
from followups.models import Complaint, FollowupPolicy
from tests.factories import UserFactory
from tests.followups.factories_complaints import SHANGHAI, TUESDAY_10, complaint_of

URUMQI = ZoneInfo("Asia/Urumqi")  # UTC+6, two hours behind Shanghai's clocks
UTC = dt.UTC
MON_SAT = (1, 2, 3, 4, 5, 6)


def local(day: str, hm: str, zone=SHANGHAI) -> dt.datetime:
    return dt.datetime.fromisoformat(f"{day}T{hm}").replace(tzinfo=zone)


def hours(start, n, *, zone=SHANGHAI, workdays=MON_SAT, opens=dt.time(9), closes=dt.time(18)):
    return add_business_hours(start, n, zone=zone, opens=opens, closes=closes, workdays=workdays)


# --- the arithmetic of business hours (9:00–18:00, Monday to Saturday: the defaults) ---------------------------


def test_24_business_hours_from_tuesday_morning_end_on_thursday_afternoon():
    # Tue 10–18 (8 h), Wed 9–18 (9 h), Thu 9–16 (7 h)
    assert hours(local("2026-03-03", "10:00"), 24) == local("2026-03-05", "16:00")


def test_a_complaint_in_the_evening_counts_from_the_next_opening():
    # opened Tue 20:00: Wed 9 h, Thu 9 h, Fri 6 h
    assert hours(local("2026-03-03", "20:00"), 24) == local("2026-03-06", "15:00")
    # before opening on the same day: from 9:00
    assert hours(local("2026-03-04", "07:15"), 2) == local("2026-03-04", "11:00")


def test_sunday_is_not_counted_and_a_store_closed_on_saturday_skips_it_too():
    # Sat 17:00: Sat 1 h, (Sunday), Mon 9 h, Tue 9 h, Wed 5 h
    assert hours(local("2026-03-07", "17:00"), 24) == local("2026-03-11", "14:00")
    # the same from Friday 17:00 in a store working Monday to Friday: Fri 1 h, Mon 9, Tue 9, Wed 5
    assert hours(local("2026-03-06", "17:00"), 24, workdays=(1, 2, 3, 4, 5)) == local("2026-03-11", "14:00")
    # a Sunday start waits for Monday's opening
    assert hours(local("2026-03-08", "11:00"), 1) == local("2026-03-09", "10:00")


def test_across_midnight_and_exactly_at_closing():
    # just before midnight and just after it: both count from the next morning's opening
    assert hours(local("2026-03-03", "23:59"), 1) == local("2026-03-04", "10:00")
    assert hours(local("2026-03-04", "00:01"), 1) == local("2026-03-04", "10:00")
    # a deadline that falls at closing time stays on that day; one minute more moves to the next morning
    assert hours(local("2026-03-03", "10:00"), 8) == local("2026-03-03", "18:00")
    assert hours(local("2026-03-03", "10:00"), 8 + 1 / 60) == local("2026-03-04", "09:01")
    # at closing time itself nothing is left of the day
    assert hours(local("2026-03-03", "18:00"), 1) == local("2026-03-04", "10:00")


def test_the_hours_are_the_stores_own_in_its_time_zone():
    # 01:30 UTC is 09:30 in Shanghai (open) and 07:30 in Urumqi (not yet open)
    start = dt.datetime(2026, 3, 3, 1, 30, tzinfo=UTC)
    assert hours(start, 1) == local("2026-03-03", "10:30")
    assert hours(start, 1, zone=URUMQI) == local("2026-03-03", "10:00", URUMQI)
    # 16:30 UTC on Monday is already Tuesday 00:30 in Shanghai: Tuesday's opening counts
    assert hours(dt.datetime(2026, 3, 2, 16, 30, tzinfo=UTC), 1) == local("2026-03-03", "10:00")


def test_working_days_end_at_closing_on_the_last_of_them():
    # opened Tuesday: Wed, Thu, Fri, Sat, (Sun), Mon, Tue, Wed → the 7th working day is the next Wednesday
    assert add_working_days(
        local("2026-03-03", "10:00"), 7, zone=SHANGHAI, closes=dt.time(18), workdays=MON_SAT
    ) == local("2026-03-11", "18:00")


@pytest.mark.django_db
def test_an_opened_complaint_carries_the_stores_deadlines(dealership):
    FollowupPolicy.objects.create(
        dealership=dealership,
        business_from=dt.time(8, 30),
        business_until=dt.time(17, 30),
        business_days=[1, 2, 3, 4, 5],
    )
    dealership.refresh_from_db()

    complaint = complaint_of(dealership, now=local("2026-03-06", "16:30"))  # a Friday

    # Fri 16:30–17:30 (1 h), Mon 9 h, Tue 9 h, Wed 8:30 + 5 h
    assert complaint.response_due_at == local("2026-03-11", "13:30")
    # 7 working days from Friday, Monday to Friday: the Tuesday after next, at closing
    assert complaint.resolution_due_at == local("2026-03-17", "17:30")


# --- escalation ---------------------------------------------------------------------------------------------


@pytest.fixture
def store_admins(dealership, other_dealership):
    ours = UserFactory(username="boss", role=Role.ADMIN, email="boss@store.example", dealerships=[dealership])
    UserFactory(username="nomail", role=Role.ADMIN, email="", dealerships=[dealership])
    UserFactory(username="mgr", role=Role.AS_MANAGER, email="mgr@store.example", dealerships=[dealership])
    UserFactory(username="theirs", role=Role.ADMIN, email="boss@other.example", dealerships=[other_dealership])
    return ours


@pytest.mark.django_db
def test_an_unanswered_complaint_is_escalated_once_to_the_stores_administrators(dealership, store_admins):
    late = complaint_of(dealership, now=TUESDAY_10, summary="车漆划伤")  # due Thursday 16:00
    answered = complaint_of(dealership, now=TUESDAY_10)
    complaints.complaint_acknowledge(complaint=answered, acting_user=store_admins)
    not_yet = complaint_of(dealership, now=TUESDAY_10 + dt.timedelta(days=1))

    just_before = complaints.complaint_deadlines_check(now=late.response_due_at - dt.timedelta(seconds=1))
    first = complaints.complaint_deadlines_check(now=late.response_due_at)
    second = complaints.complaint_deadlines_check(now=late.response_due_at + dt.timedelta(hours=1))

    assert just_before == {"escalated": 0, "emails": 0}
    assert first == {"escalated": 1, "emails": 1}
    assert second == {"escalated": 0, "emails": 0}
    late.refresh_from_db()
    assert late.escalated_at == late.response_due_at
    assert Complaint.objects.filter(escalated_at__isnull=False).get() == late
    (email,) = mail.outbox
    assert email.to == ["boss@store.example"]  # administrators of this store with an address; no manager
    assert "车漆划伤" in email.body and f"/followups/complaints/{late.pk}/" in email.body
    assert dealership.name in email.subject
    # the escalation is in the complaint's history, by the system
    row = late.history.get(escalated_at__isnull=False)
    assert row.history_user is None
    assert row.history_change_reason.startswith("escalated")
    assert not_yet.pk  # still within its deadline


@pytest.mark.django_db
def test_the_beat_task_escalates_through_the_same_check(dealership, store_admins):
    from followups.tasks import complaint_deadlines_task

    complaint = complaint_of(dealership, now=TUESDAY_10)

    with time_machine.travel(complaint.response_due_at + dt.timedelta(minutes=5), tick=False):
        result = complaint_deadlines_task.delay().get()
        again = complaint_deadlines_task.delay().get()

    assert (result, again) == ({"escalated": 1, "emails": 1}, {"escalated": 0, "emails": 0})
    assert len(mail.outbox) == 1
    row = complaint.history.get(escalated_at__isnull=False)
    assert row.history_change_reason.startswith("escalated") and row.history_user is None


@pytest.mark.django_db
def test_escalation_is_set_based(dealership, other_dealership, store_admins):
    # six late complaints in two stores: the same queries as for one, plus one email per store
    for _ in range(5):
        complaint_of(dealership, now=TUESDAY_10)
    complaint_of(other_dealership, now=TUESDAY_10)
    later = TUESDAY_10 + dt.timedelta(days=7)

    # lock and claim (2), read the claimed (1), history (1), administrators (1); savepoint queries aside
    with CaptureQueriesContext(connection) as captured:
        result = complaints.complaint_deadlines_check(now=later)

    assert result == {"escalated": 6, "emails": 2}
    assert len([q for q in captured.captured_queries if "SAVEPOINT" not in q["sql"]]) == 5
    assert sorted(m.to[0] for m in mail.outbox) == ["boss@other.example", "boss@store.example"]
    assert "5" in next(m.subject for m in mail.outbox if m.to == ["boss@store.example"])


# --- two runs at the same moment (PostgreSQL) ---------------------------------------------------------------


def check_at_once(now, n=2) -> list:
    barrier = threading.Barrier(n)
    results = [None] * n

    def run(i):
        try:
            barrier.wait(timeout=10)
            results[i] = complaints.complaint_deadlines_check(now=now)
        except Exception as exc:  # pragma: no cover - shown by the assertions
            results[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


@pytest.fixture
def slow_mail(monkeypatch):
    """Both runs have read the due complaints before either has finished (the admins' lookup waits)."""
    lookup = complaints.store_admins

    def slow(ids):
        time.sleep(0.3)
        return lookup(ids)

    monkeypatch.setattr("followups.complaints.store_admins", slow)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_escalate_each_complaint_once(dealership, store_admins, slow_mail, monkeypatch):
    # the first run holds its claimed complaints a moment before committing: the second meets them then
    claim = complaints._claim_escalations

    def slow_claim(now):
        ids = claim(now)
        time.sleep(0.3)
        return ids

    monkeypatch.setattr("followups.complaints._claim_escalations", slow_claim)
    late = [complaint_of(dealership, now=TUESDAY_10) for _ in range(3)]

    results = check_at_once(late[0].response_due_at + dt.timedelta(hours=1))

    assert sorted(r["escalated"] for r in results) == [0, 3]
    assert len(mail.outbox) == 1
    assert Complaint.history.filter(escalated_at__isnull=False).count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_claim_both_runs_escalate(dealership, store_admins, slow_mail, monkeypatch):
    # the claim replaced by a plain read and an unconditional update: the harness does see the double escalation
    def unguarded(now):
        due = Complaint.objects.filter(status="open", response_due_at__lte=now)
        ids = list(due.values_list("pk", flat=True))
        time.sleep(0.3)
        Complaint.objects.filter(pk__in=ids).update(escalated_at=now)
        return ids

    monkeypatch.setattr("followups.complaints._claim_escalations", unguarded)
    late = [complaint_of(dealership, now=TUESDAY_10) for _ in range(3)]

    results = check_at_once(late[0].response_due_at + dt.timedelta(hours=1))

    assert [r["escalated"] for r in results] == [3, 3]
    assert len(mail.outbox) == 2
