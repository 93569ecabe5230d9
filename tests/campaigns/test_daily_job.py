"""The daily job: campaigns start on their first day and finish after their last, coupons expire, absent
invitees get their second invitation; twice changes nothing; and once through a real worker over Redis."""

import uuid
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from celery.contrib.testing.worker import start_worker
from celery.result import AsyncResult
from django.conf import settings
from django.utils import timezone

from campaigns import services
from campaigns.models import Campaign, Coupon, Invitation
from campaigns.tasks import campaigns_daily_task
from tests.campaigns.conftest import END, SHANGHAI, START, generate
from tests.core.test_celery import redis_celery_app  # noqa: F401 - the fixture
from tests.factories import CustomerFactory, VehicleFactory


def new_campaign(dealership, code, starts_on, ends_on, *, schedule=True):
    campaign = services.campaign_create(
        dealership=dealership, code=code, name=code, kind="maintenance", starts_on=starts_on, ends_on=ends_on
    )
    services.target_group_create(campaign=campaign, name="所有", filters={})
    if schedule:
        services.campaign_schedule(campaign=campaign)
    return campaign


def status(campaign) -> str:
    return Campaign.objects.get(pk=campaign.pk).status


def test_a_scheduled_campaign_starts_on_its_first_day_and_finishes_after_its_last(campaign, frozen):
    services.target_group_create(campaign=campaign, name="所有", filters={})
    frozen.move_to(datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI))
    services.campaign_schedule(campaign=campaign)

    assert services.campaigns_advance(today=START - timedelta(days=1)) == {"started": 0, "finished": 0}
    assert status(campaign) == "scheduled"
    assert services.campaigns_advance(today=START) == {"started": 1, "finished": 0}
    assert status(campaign) == "running"
    assert services.campaigns_advance(today=START) == {"started": 0, "finished": 0}  # twice: nothing more
    assert services.campaigns_advance(today=END) == {"started": 0, "finished": 0}  # the last day is a day of it
    assert services.campaigns_advance(today=END + timedelta(days=1)) == {"started": 0, "finished": 1}
    assert status(campaign) == "finished"
    assert services.campaigns_advance(today=END + timedelta(days=1)) == {"started": 0, "finished": 0}


def test_drafts_are_left_alone_and_a_scheduled_campaign_whose_days_all_passed_finishes(dealership, frozen):
    draft = new_campaign(dealership, "DRAFT", date(2026, 12, 1), date(2026, 12, 3), schedule=False)
    missed = new_campaign(dealership, "MISSED", date(2026, 12, 1), date(2026, 12, 3))
    late_start = new_campaign(dealership, "LATE", date(2026, 12, 1), date(2026, 12, 20))

    assert services.campaigns_advance(today=date(2026, 12, 4)) == {"started": 1, "finished": 1}
    assert (status(draft), status(missed), status(late_start)) == ("draft", "finished", "running")


def test_without_a_date_each_dealership_advances_on_its_own_day(dealership, other_dealership, frozen):
    # Given campaigns starting on 20 November in Shenzhen and in a store in Ürümqi (two hours behind)
    other_dealership.time_zone = "Asia/Urumqi"
    other_dealership.save()
    frozen.move_to(datetime(2026, 11, 1, 9, 0, tzinfo=SHANGHAI))
    here = new_campaign(dealership, "SZ", START, END)
    there = new_campaign(other_dealership, "XJ", START, END)

    # When the job runs at 00:10 on 20 November, Shanghai time (22:10 on the 19th in Ürümqi)
    frozen.move_to(datetime(2026, 11, 20, 0, 10, tzinfo=SHANGHAI))
    assert services.campaigns_advance() == {"started": 1, "finished": 0}
    assert (status(here), status(there)) == ("running", "scheduled")

    # and again once it is the 20th in Ürümqi
    frozen.move_to(datetime(2026, 11, 20, 2, 10, tzinfo=SHANGHAI))
    assert services.campaigns_advance() == {"started": 1, "finished": 0}
    assert status(there) == "running"


def test_the_daily_task_does_every_step_once_and_a_second_run_changes_nothing(
    dealership, campaign, person, make_group, make_template, agent, frozen
):
    # Given (on 1 December) a running campaign with a customer who booked 5 December and never came,
    offer = make_template(name="¥100 工时券", valid_days=30)
    person()
    make_group({}, offers=[offer])
    generate(campaign, [agent])
    inv = Invitation.objects.get(campaign=campaign)
    services.call_record(invitation=inv, agent=agent, outcome="accepted", appointment_date=date(2026, 12, 5))
    # a campaign that starts on 19 December, one whose last day is 18 December, a coupon good until 18 December
    starting = new_campaign(dealership, "NEW", date(2026, 12, 19), date(2026, 12, 31))
    ending = new_campaign(dealership, "OLD", date(2026, 12, 1), date(2026, 12, 18))
    services.campaign_start(campaign=ending, today=date(2026, 12, 1))
    short = services.coupon_issue(template=make_template(name="短券", valid_days=18), customer=inv.customer)
    assert short.expires_on == date(2026, 12, 18)

    # When the daily job runs at 00:10 on 19 December (eagerly here, as the demo runs it)
    frozen.move_to(datetime(2026, 12, 19, 0, 10, tzinfo=SHANGHAI))
    figures = campaigns_daily_task.delay().get()

    # Then each step did its part
    assert figures == {"started": 1, "finished": 1, "coupons_expired": 1, "second_invitations": 1}
    assert (status(starting), status(ending), status(campaign)) == ("running", "finished", "running")
    inv.refresh_from_db()
    assert (inv.round, inv.status) == (2, "pending")
    assert dict(Coupon.objects.values_list("template__name", "status")) == {"¥100 工时券": "issued", "短券": "expired"}

    # and a second run (a retry, or beat sending it twice) changes nothing
    assert campaigns_daily_task.delay().get() == {
        "started": 0,
        "finished": 0,
        "coupons_expired": 0,
        "second_invitations": 0,
    }


def test_beat_sends_the_task_every_hour_so_that_each_store_gets_it_soon_after_its_own_midnight():
    entry = settings.CELERY_BEAT_SCHEDULE["campaigns-daily"]
    assert entry["task"] == campaigns_daily_task.name == "campaigns.tasks.campaigns_daily_task"
    assert (entry["schedule"].hour, entry["schedule"].minute) == (set(range(24)), {10})
    assert campaigns_daily_task.acks_late and campaigns_daily_task.reject_on_worker_lost


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_runs_the_daily_task_through_redis(redis_celery_app):  # noqa: F811
    # Given committed rows (the worker has its own connection), dated from the real today in Shanghai: the worker
    # lives in real time, not on the stopped clock of the other tests
    from tests.factories import DealershipFactory

    store = DealershipFactory(code="DAILY1")
    today = timezone.localdate(timezone=ZoneInfo("Asia/Shanghai"))
    starting = new_campaign(store, "START", today, today + timedelta(days=30))
    ending = new_campaign(store, "END", today, today + timedelta(days=30))
    services.campaign_start(campaign=ending, today=today)
    Campaign.objects.filter(pk=ending.pk).update(
        starts_on=today - timedelta(days=20), ends_on=today - timedelta(days=1)
    )
    owner = CustomerFactory(dealership=store)
    VehicleFactory(owner=owner)
    template = services.coupon_template_create(
        dealership=store, name="¥50", kind="labor_amount", value=Decimal("50"), valid_days=30
    )
    stale = services.coupon_issue(template=template, customer=owner, now=timezone.now() - timedelta(days=31))
    fresh = services.coupon_issue(template=template, customer=owner)
    queue = f"dealercrm-test-{uuid.uuid4().hex}"

    # When a real worker consumes the task from Redis
    with start_worker(redis_celery_app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30):
        result = campaigns_daily_task.apply_async(queue=queue)
        figures = result.get(timeout=60)

    # Then it ran there and wrote to the database the test reads
    assert isinstance(result, AsyncResult) and result.state == "SUCCESS"
    assert figures == {"started": 1, "finished": 1, "coupons_expired": 1, "second_invitations": 0}
    assert (status(starting), status(ending)) == ("running", "finished")
    assert Coupon.objects.get(pk=stale.pk).status == "expired" and Coupon.objects.get(pk=fresh.pk).status == "issued"
