"""A customer with something of everything (no tests here): visits, a redeemed and an open coupon, a campaign
invitation with its outcome and an open one, touches done and pending with messages, a survey, complaints, a
booked appointment, consent events, a segment row."""

from __future__ import annotations

import datetime as dt
import secrets

from django.utils import timezone

from campaigns.models import CallAttempt, Campaign, Coupon, CouponTemplate, Invitation, TargetGroup
from customers.models import Appointment, ConsentEvent
from followups.models import Complaint, Message, Survey, Touch, TouchAttempt
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory
from tests.followups.factories_pages import complaint_for, touch_of
from tests.followups.factories_planner import run_of, segment_of

PHONE = "+8613912345678"


def local(dealership, day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dealership.zone)


def full_customer(dealership, agent, *, day=dt.date(2026, 3, 10), open_items=True):
    """``(customer, parts)``: the customer and a dict of their records."""
    customer = CustomerFactory(
        dealership=dealership,
        name="李秘密",
        phone=PHONE,
        email="li@example.test",
        wechat_openid="oWX-secret",
        birthday=dt.date(1980, 5, 6),
        notes="住在南山区科技园",
    )
    vehicle = VehicleFactory(owner=customer)
    visits = [
        ServiceVisitFactory(vehicle=vehicle, opened_on=day, closed_on=day, campaign_code="SPRING"),
        ServiceVisitFactory(vehicle=vehicle, opened_on=day - dt.timedelta(days=40), closed_on=None),
    ]
    ConsentEvent.objects.create(
        customer=customer, granted=True, occurred_at=local(dealership, day), channel="counter", note="本人签字"
    )
    template = CouponTemplate.objects.create(dealership=dealership, name="工时8折", kind="labor_amount", value=50)
    campaign = Campaign.objects.create(
        dealership=dealership,
        code="SPRING",
        name="春季保养",
        kind="maintenance",
        starts_on=day - dt.timedelta(days=10),
        ends_on=day + dt.timedelta(days=20),
        status=Campaign.Status.RUNNING,
    )
    group = TargetGroup.objects.create(campaign=campaign, name="全部")
    invitation = Invitation.objects.create(
        campaign=campaign,
        target_group=group,
        customer=customer,
        agent=agent,
        status=Invitation.Status.ACCEPTED,
        attempts=1,
        created_at=local(dealership, day - dt.timedelta(days=9)),
    )
    CallAttempt.objects.create(
        invitation=invitation,
        agent=agent,
        outcome="accepted",
        called_at=local(dealership, day - dt.timedelta(days=8)),
        note="客户说周六来，电话13912345678",
    )
    redeemed = Coupon.objects.create(
        dealership=dealership,
        template=template,
        customer=customer,
        campaign=campaign,
        invitation=invitation,
        code=secrets.token_hex(4).upper(),
        status=Coupon.Status.REDEEMED,
        issued_at=local(dealership, day - dt.timedelta(days=8)),
        expires_on=day + dt.timedelta(days=60),
        redeemed_at=local(dealership, day),
        redeemed_visit=visits[0],
    )
    done = touch_of(
        customer, status=Touch.Status.DONE, due_at=local(dealership, day + dt.timedelta(days=7)), visit=visits[0]
    )
    done.notes = "客户很满意"
    done.completed_at = done.due_at
    done.outcome = "done"
    done.save()
    TouchAttempt.objects.create(
        touch=done, agent=agent, outcome="done", called_at=done.due_at, satisfaction=5, note="他说老婆也要来"
    )
    Message.objects.create(
        dealership=dealership,
        touch=done,
        customer=customer,
        channel="sms",
        backend="console",
        recipient=PHONE,
        body="李秘密您好，感谢光临",
        idempotency_key=secrets.token_hex(16),
        status=Message.Status.DELIVERED,
        created_at=done.due_at,
    )
    survey = Survey.objects.create(
        dealership=dealership,
        customer=customer,
        visit=visits[0],
        nonce=secrets.token_hex(8),
        sent_at=local(dealership, day + dt.timedelta(days=1)),
        expires_at=local(dealership, day + dt.timedelta(days=15)),
        answered_at=local(dealership, day + dt.timedelta(days=2)),
        satisfaction=4,
        nps=9,
        comment="顾问小王很好，我的电话是13912345678",
    )
    resolved = complaint_for(
        customer, opened_at=local(dealership, day + dt.timedelta(days=2)), status=Complaint.Status.CLOSED
    )
    resolved.resolution = "给李先生道歉并赠送洗车"
    resolved.closed_at = resolved.opened_at + dt.timedelta(days=1)
    resolved.save()
    run = run_of(dealership, day)
    segment = segment_of(customer, run, last_visit_on=day)
    parts = {
        "vehicle": vehicle,
        "visits": visits,
        "campaign": campaign,
        "invitation": invitation,
        "redeemed": redeemed,
        "done_touch": done,
        "survey": survey,
        "resolved_complaint": resolved,
        "run": run,
        "segment": segment,
    }
    if open_items:
        parts["open_coupon"] = Coupon.objects.create(
            dealership=dealership,
            template=template,
            customer=customer,
            code=secrets.token_hex(4).upper(),
            issued_at=local(dealership, day),
            expires_on=day + dt.timedelta(days=90),
        )
        parts["appointment"] = Appointment.objects.create(
            dealership=dealership, customer=customer, vehicle=vehicle, date=day + dt.timedelta(days=5), note="要代步车"
        )
        parts["open_complaint"] = complaint_for(customer, opened_at=local(dealership, day + dt.timedelta(days=3)))
        parts["pending_touch"] = touch_of(
            customer, kind="day15", due_at=local(dealership, day + dt.timedelta(days=15)), visit=visits[0]
        )
        other = Campaign.objects.create(
            dealership=dealership,
            code="SUMMER",
            name="夏季检查",
            kind="seasonal",
            starts_on=day,
            ends_on=day + dt.timedelta(days=30),
        )
        parts["open_invitation"] = Invitation.objects.create(
            campaign=other,
            target_group=TargetGroup.objects.create(campaign=other, name="全部"),
            customer=customer,
            agent=agent,
            next_call_at=timezone.now(),
            created_at=local(dealership, day),
        )
    return customer, parts
