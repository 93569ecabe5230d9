"""The weekly report pack: due from Monday 08:00 in the store's zone, built once from a snapshot, e-mailed once per
(week, dealership, recipient) — when the job runs twice, under a real worker, and when it is retried after a
crash between sending and recording; the history page and the download for the store's managers only."""

import datetime as dt
import io
import uuid
from zoneinfo import ZoneInfo

import openpyxl
import pytest
import time_machine
from celery.contrib.testing.worker import start_worker
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from dealercrm.core.roles import Role
from reports import packs
from reports.models import PackDelivery, WeeklyPack
from reports.tasks import weekly_packs_task
from tests.core.test_celery import redis_celery_app  # noqa: F401 - the fixture
from tests.factories import DealershipFactory, UserFactory
from tests.reports.test_exports import visits, visits_report  # noqa: F401 - the fixtures

SHANGHAI = ZoneInfo("Asia/Shanghai")
#: Monday 3 June 2024, 08:05 in Shanghai: last week is 27 May – 2 June
MONDAY = dt.datetime(2024, 6, 3, 8, 5, tzinfo=SHANGHAI)
WEEK = dt.date(2024, 5, 27)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def managers(dealership):
    """Who receives the pack: the store's as-manager, cc-manager and admin with an e-mail (not the agent, not
    an inactive manager, not one without an address, not another store's manager)."""
    made = {
        "as": UserFactory(username="pk-as", role=Role.AS_MANAGER, email="as@example.cn", dealerships=[dealership]),
        "cc": UserFactory(username="pk-cc", role=Role.CC_MANAGER, email="cc@example.cn", dealerships=[dealership]),
        "admin": UserFactory(username="pk-ad", role=Role.ADMIN, email="ad@example.cn", dealerships=[dealership]),
    }
    UserFactory(username="pk-agent", role=Role.AGENT, email="agent@example.cn", dealerships=[dealership])
    UserFactory(
        username="pk-gone", role=Role.AS_MANAGER, email="gone@example.cn", is_active=False, dealerships=[dealership]
    )
    UserFactory(username="pk-nomail", role=Role.AS_MANAGER, email="", dealerships=[dealership])
    return made


def sent_to():
    return sorted(address for message in mail.outbox for address in message.to)


def test_the_due_week_follows_monday_8_in_the_stores_zone(dealership):
    # Monday 08:05 in Shanghai: the week just ended; at 07:59 still the week before it
    assert packs.due_week(dealership, MONDAY) == WEEK
    assert packs.due_week(dealership, MONDAY.replace(hour=7, minute=59)) == WEEK - dt.timedelta(days=7)
    # Wednesday: still the week just ended (a job that missed Monday catches up)
    assert packs.due_week(dealership, MONDAY + dt.timedelta(days=2)) == WEEK
    # a store in Urumqi-less time zones: 08:05 in Shanghai is 00:05 in London, still before its Monday 08:00
    dealership.time_zone = "Europe/London"
    assert packs.due_week(dealership, MONDAY) == WEEK - dt.timedelta(days=7)


@pytest.mark.django_db
def test_the_pack_is_one_workbook_of_last_weeks_tables_sent_once_to_each_manager(
    dealership,
    other_dealership,
    visits,  # noqa: F811
    visits_report,  # noqa: F811
):
    people = managers(dealership)
    with time_machine.travel(MONDAY, tick=False):
        first = packs.weekly_packs()
        again = packs.weekly_packs()  # the job runs twice
    pack = WeeklyPack.objects.get(dealership=dealership)
    assert (pack.week_start, pack.status) == (WEEK, "ready")
    assert first["built"] == 2 and again["built"] == 0  # both stores (the other has no manager with a mail)
    # one e-mail per manager, never a second
    assert sent_to() == ["ad@example.cn", "as@example.cn", "cc@example.cn"]
    assert first["sent"] == 3 and again["sent"] == 0
    assert set(pack.deliveries.values_list("recipient_id", "status")) == {(u.pk, "sent") for u in people.values()}
    message = mail.outbox[0]
    assert dealership.name in message.subject and "2024-05-27" in message.subject
    name, content, mimetype = message.attachments[0]
    assert name == "SZ01-20240527.xlsx" and mimetype.endswith("spreadsheetml.sheet")
    # the workbook: the key figures, then the test report's tables for 27 May – 2 June (no visit that week)
    book = openpyxl.load_workbook(io.BytesIO(content))
    assert len(book.sheetnames) >= 2
    assert len(set(book.sheetnames)) == len(book.sheetnames)
    assert pack.file.read() == content


@pytest.mark.django_db
def test_a_retry_after_a_crash_between_sending_and_recording_sends_no_second_email(dealership):
    people = managers(dealership)
    with time_machine.travel(MONDAY, tick=False):
        pack, mine = packs.pack_claim(dealership, WEEK, timezone.now())
        packs.pack_build(pack)
        # the crashed run: it claimed the as-manager's delivery and sent it, then died before recording "sent"
        PackDelivery.objects.create(pack=pack, recipient=people["as"], email="as@example.cn", status="sending")
        retried = packs.weekly_packs()
    assert mine and retried["sent"] == 2
    assert sent_to() == ["ad@example.cn", "cc@example.cn"]  # not the as-manager a second time
    # past the lease, the row left "sending" is marked ambiguous and reported, never resent by itself
    with time_machine.travel(MONDAY + packs.DELIVERY_LEASE + dt.timedelta(minutes=1), tick=False):
        later = packs.weekly_packs()
        last = packs.weekly_packs()
    assert later["ambiguous"] == 1 and later["sent"] == 0 and last["ambiguous"] == 0
    stuck = PackDelivery.objects.get(recipient=people["as"])
    assert stuck.status == "failed" and "unknown" in stuck.error
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_a_pack_being_built_by_another_job_is_left_to_it_until_its_claim_runs_out(dealership):
    managers(dealership)
    with time_machine.travel(MONDAY, tick=False):
        _pack, mine = packs.pack_claim(dealership, WEEK, timezone.now())  # another job is building it
        assert mine
        assert packs.weekly_packs()["built"] == 0 and mail.outbox == []
    with time_machine.travel(MONDAY + packs.PACK_LEASE + dt.timedelta(minutes=1), tick=False):
        # that job died: the pack is taken again, built and sent once
        assert packs.weekly_packs()["built"] == 1
    assert len(mail.outbox) == 3


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_pack_once_when_the_job_runs_twice(redis_celery_app):  # noqa: F811
    # Given a store (committed: the worker has its own connection) with three managers, on a Monday after 08:00
    store = DealershipFactory(code="PACK1", name="深圳别克4S店")
    managers(store)
    queue = f"dealercrm-test-{uuid.uuid4().hex}"
    now = timezone.now().astimezone(SHANGHAI)
    week = packs.due_week(store, now)
    # When the beat job is sent twice and a real worker runs both
    with start_worker(redis_celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        first = weekly_packs_task.apply_async(queue=queue)
        second = weekly_packs_task.apply_async(queue=queue)
        outcomes = [first.get(timeout=120), second.get(timeout=120)]
    # Then the pack was built once and each manager received one e-mail
    pack = WeeklyPack.objects.get(dealership=store)
    assert (pack.week_start, pack.status) == (week, "ready")
    assert sum(outcome["sent"] for outcome in outcomes) == 3
    assert sorted(a for m in mail.outbox for a in m.to if m.subject and "PACK1" not in a) == [
        "ad@example.cn",
        "as@example.cn",
        "cc@example.cn",
    ]
    assert PackDelivery.objects.filter(pack=pack, status="sent").count() == 3


# --- pages -------------------------------------------------------------------------------------------------------


@pytest.fixture
def ready_pack(dealership, other_dealership):
    managers(dealership)
    with time_machine.travel(MONDAY, tick=False):
        packs.weekly_packs()
    return WeeklyPack.objects.get(dealership=dealership), WeeklyPack.objects.get(dealership=other_dealership)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("role", "status"),
    [("advisor", 403), ("agent", 403), ("cc_manager", 200), ("as_manager", 200), ("admin_user", 200)],
)
def test_the_pack_history_and_download_are_for_the_stores_managers(role, status, request, client_for, ready_pack):
    pack, foreign = ready_pack
    client = client_for(request.getfixturevalue(role))
    page = client.get(reverse("reports:packs"))
    assert page.status_code == status
    download = client.get(reverse("reports:pack-file", args=[pack.pk]))
    assert download.status_code == status
    if status == 200:
        assert b'data-testid="sent-%d">3<' % pack.pk in page.content  # three managers received it
        assert openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
        # another store's pack: not found
        assert client.get(reverse("reports:pack-file", args=[foreign.pk])).status_code == 404


@pytest.mark.django_db
def test_another_stores_manager_sees_neither_the_pack_nor_its_history(client_for, outsider, ready_pack):
    pack, foreign = ready_pack
    client = client_for(outsider)
    assert client.get(reverse("reports:pack-file", args=[pack.pk])).status_code == 404
    page = client.get(reverse("reports:packs"))
    assert page.status_code == 200 and f'data-pack="{pack.pk}"'.encode() not in page.content
    assert f'data-pack="{foreign.pk}"'.encode() in page.content


@pytest.mark.django_db
def test_the_history_page_is_a_fixed_number_of_queries(client_for, as_manager, dealership):
    client = client_for(as_manager)
    WeeklyPack.objects.create(dealership=dealership, week_start=WEEK, status="ready", file="reports/packs/a.xlsx")
    client.get(reverse("reports:packs"))
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        client.get(reverse("reports:packs"))
    for weeks in range(1, 11):
        WeeklyPack.objects.create(dealership=dealership, week_start=WEEK - dt.timedelta(days=7 * weeks), status="ready")
    with CaptureQueriesContext(connection) as eleven:
        page = client.get(reverse("reports:packs"))
    assert page.content.count(b"data-pack=") == 11
    assert len(eleven) == len(one)
