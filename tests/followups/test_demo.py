"""seed_followups_demo: the demo store's follow-ups, replayed through the real planner, dispatcher, calls,
surveys and complaints, so that the demo shows every kind of touch in every state; and what is left due is sent
by run_followups as the demo runs."""

import re
from datetime import datetime, timedelta
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction

from campaigns.models import CallAttempt
from customers.demo import DEMO_CODE
from customers.models import Appointment, ServiceVisit
from dealercrm.core.models import Dealership
from followups.demo import LANGUAGES, TEXT_KINDS, followups_demo_seed
from followups.models import Complaint, FollowupPolicy, Message, MessageTemplate, Survey, Touch, TouchAttempt

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: a Wednesday at 10:30 in Shenzhen: the texts of this morning are due, inside the sending hours
NOW = datetime(2026, 3, 11, 10, 30, tzinfo=SHANGHAI)
N = 500
LINK = re.compile(r"https?://\S+")


@pytest.fixture
def store(db):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--customers", str(N), stdout=StringIO())
        call_command("segment", "--dealership", DEMO_CODE, stdout=StringIO())
        call_command("seed_campaign_demo", "--dealership", DEMO_CODE, stdout=StringIO())
    return Dealership.objects.get(code=DEMO_CODE)


def seed(store) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("seed_followups_demo", "--dealership", store.code, stdout=out)
    return out.getvalue()


def states(store) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for kind, status in Touch.objects.filter(dealership=store).values_list("kind", "status").distinct():
        found.setdefault(kind, set()).add(status)
    return found


def snapshot(store) -> dict:
    """What the demo wrote, without ids (a rolled-back run's ids differ), row by row."""
    touches = Touch.objects.filter(dealership=store)
    return {
        "touches": sorted(
            touches.values_list(
                "kind", "customer__customer_no", "status", "reason", "channel", "due_at", "attempts", "outcome"
            )
        ),
        # a survey link carries a secret drawn at random (secrets): the rest of the text is the same
        "messages": sorted(
            (recipient, LINK.sub("<link>", body), created_at)
            for recipient, body, created_at in Message.objects.filter(dealership=store).values_list(
                "recipient", "body", "created_at"
            )
        ),
        "calls": sorted(
            TouchAttempt.objects.filter(touch__dealership=store).values_list(
                "touch__customer__customer_no", "outcome", "called_at", "note", "satisfaction"
            )
        ),
        "surveys": sorted(
            Survey.objects.filter(dealership=store).values_list(
                "customer__customer_no", "satisfaction", "nps", "answered_at"
            ),
            key=str,
        ),
        "complaints": sorted(
            Complaint.objects.filter(dealership=store).values_list(
                "customer__customer_no", "status", "opened_at", "escalated_at"
            ),
            key=str,
        ),
    }


def test_the_demo_shows_every_kind_of_touch_in_every_state(store):
    out = seed(store)
    found = states(store)
    touches = Touch.objects.filter(dealership=store)

    # Settings and templates: the store's policy written down, a template per text kind in Chinese and English
    policy = FollowupPolicy.objects.get(dealership=store)
    assert (policy.marketing_cap, policy.cap_days, policy.send_from.hour, policy.send_until.hour) == (4, 30, 9, 20)
    for kind in TEXT_KINDS:
        languages = set(MessageTemplate.objects.filter(dealership=store, kind=kind).values_list("language", flat=True))
        assert languages == set(LANGUAGES), kind

    # Their history names the command (the system), the complaints' steps the manager who took them
    template_history = MessageTemplate.history.filter(dealership_id=store.pk)
    assert {(h.history_user_id, h.history_change_reason) for h in template_history} == {
        (None, "system: manage.py seed_followups_demo")
    }
    acknowledged = Complaint.history.filter(dealership_id=store.pk, status=Complaint.Status.ACKNOWLEDGED)
    assert {h.history_user.username for h in acknowledged} == {"asmanager"}

    # Every kind the planner makes is there
    for kind in ("day7", "day15", "day30", "csi_call", "survey", "due_message", "due_call", "wake_up", "complaint"):
        assert kind in found, (kind, found, out)
    # Texts sent through the database back end, one message each
    assert {"sent"} <= found["day15"] & found["day30"] & found["survey"] & found["due_message"]
    sent = touches.filter(status=Touch.Status.SENT)
    messages = Message.objects.filter(dealership=store)
    assert messages.count() == sent.count() > 0
    assert set(messages.values_list("backend", flat=True)) == {"database"} or all(
        "database" in backend.lower() for backend in messages.values_list("backend", flat=True)
    )
    # Calls done by the agent with attempts and notes; some still to make
    assert "done" in found["day7"] and "planned" in found["day7"]
    attempts = TouchAttempt.objects.filter(touch__dealership=store)
    assert {"done", "no_answer", "call_back", "declined"} <= set(attempts.values_list("outcome", flat=True))
    assert attempts.exclude(note="").exists()
    assert attempts.filter(outcome="declined").exclude(reason="").exists()
    assert attempts.filter(satisfaction__isnull=False).exists()
    # Surveys answered, some low; their complaints in every state, one overdue and escalated
    answered = Survey.objects.filter(dealership=store, answered_at__isnull=False)
    assert answered.filter(satisfaction__gte=4).exists() and answered.filter(satisfaction__lte=2).exists()
    complaints = Complaint.objects.filter(dealership=store)
    assert set(complaints.values_list("status", flat=True)) == set(Complaint.Status.values)
    escalated = complaints.filter(escalated_at__isnull=False)
    assert escalated.count() >= 1
    assert all(c.status == Complaint.Status.OPEN and c.response_due_at < c.escalated_at for c in escalated)
    # Stop conditions: a reminder cancelled because the customer booked, a wake-up because they came
    booked = touches.filter(kind__in=Touch.BY_VEHICLE, status=Touch.Status.CANCELLED, reason="booked").first()
    assert booked is not None
    assert Appointment.objects.filter(customer=booked.customer, date__gt=NOW.date()).exists()
    came = touches.filter(kind=Touch.Kind.WAKE_UP, status=Touch.Status.CANCELLED, reason="visited").first()
    assert came is not None
    assert ServiceVisit.objects.filter(customer=came.customer, opened_on__gte=came.created_at.date()).exists()
    # A "T" reply to a text: the customer's pending marketing texts stop at once
    opted_out = touches.filter(kind=Touch.Kind.WAKE_UP, status=Touch.Status.CANCELLED, reason="sms_opt_out").first()
    assert opted_out is not None and opted_out.customer.sms_opt_out
    # Quiet hours: the visits the DMS delivered at 20:15 yesterday have touches that waited for this morning
    late = touches.filter(
        visit__ro_number__startswith="DEMO-LATE", channel="sms", status=Touch.Status.PLANNED, due_at__lte=NOW
    )
    assert late.exists()
    assert {t.due_at.astimezone(SHANGHAI) for t in late} == {datetime(2026, 3, 11, 9, 0, tzinfo=SHANGHAI)}
    # The cap: a lapsed customer reached four times by the campaign has their wake-up held back
    capped = touches.get(kind=Touch.Kind.WAKE_UP, status=Touch.Status.PLANNED)
    assert capped.due_at > NOW + timedelta(days=20)
    reached = CallAttempt.objects.filter(invitation__customer=capped.customer, outcome__in=CallAttempt.REACHED)
    assert reached.count() == 4


def test_seeding_again_changes_nothing_and_the_same_seed_gives_the_same_demo(store):
    # Given the demo replayed once (then rolled back) and once for good
    with transaction.atomic():
        seed(store)
        first = snapshot(store)
        transaction.set_rollback(True)
    assert not Touch.objects.filter(dealership=store).exists()
    seed(store)
    second = snapshot(store)

    # Then both runs wrote the same rows
    assert first == second
    assert first["touches"] and first["messages"] and first["calls"] and first["complaints"]

    # And a third run leaves the store as it is
    out = seed(store)
    assert "nothing changed" in out or "已有" in out
    assert snapshot(store) == second


def test_what_is_left_due_is_sent_by_run_followups_once(store):
    # Given the seeded demo at 10:30, this morning's texts due and not yet sent
    seed(store)
    due = Touch.objects.filter(dealership=store, channel="sms", status=Touch.Status.PLANNED, due_at__lte=NOW)
    assert due.exists()
    before = Message.objects.filter(dealership=store).count()

    # When the demo's loop runs a round, and another
    with time_machine.travel(NOW, tick=False):
        call_command("run_followups", "--once", stdout=StringIO(), stderr=StringIO())
        after_first = Message.objects.filter(dealership=store).count()
        call_command("run_followups", "--once", stdout=StringIO(), stderr=StringIO())

    # Then this morning's texts went out once, and the second round sent nothing more
    assert after_first > before
    assert not due.exclude(touch_class="marketing").exists()
    assert Message.objects.filter(dealership=store).count() == after_first


def test_the_replay_is_small_whatever_the_store(store):
    # The demo's follow-ups replay a few days: bounded by the days, not by the size of the history
    result = None
    with time_machine.travel(NOW, tick=False):
        result = followups_demo_seed(dealership=store, days=1)
    assert result.created
    assert result.calls <= 16
