"""Builders shared by the merge and duplicates tests: a customer with a row in every relation to Customer."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import count
from zoneinfo import ZoneInfo

from campaigns import services as campaign_services
from campaigns.models import Coupon, CouponTemplate, Invitation, TargetGroup
from customers.models import Appointment, ConsentEvent, VehicleOwnership
from followups.models import Complaint, Message, Survey, Touch, WeChatSubscription
from segmentation.models import CustomerSegment, CustomerTag, SegmentationRun, Tag
from segmentation.services import ruleset_current
from tests.factories import ServiceVisitFactory, VehicleFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")
WHEN = datetime(2026, 11, 1, 9, tzinfo=SHANGHAI)
_seq = count(1)


def campaign_for(dealership, code=None):
    campaign = campaign_services.campaign_create(
        dealership=dealership,
        code=code or f"MRG{next(_seq)}",
        name="冬季保养邀约",
        kind="maintenance",
        starts_on=date(2026, 11, 20),
        ends_on=date(2026, 12, 31),
        budget=Decimal("1000.00"),
    )
    group = TargetGroup.objects.create(campaign=campaign, name="组1")
    return campaign, group


def invite(customer, campaign, group, **fields):
    return Invitation.objects.create(
        campaign=campaign, target_group=group, customer=customer, created_at=WHEN, **fields
    )


def segmentation_run(dealership, **fields):
    return SegmentationRun.objects.create(
        dealership=dealership,
        rule_set=ruleset_current(dealership=dealership),
        reference_date=date(2026, 11, 1),
        status=SegmentationRun.Status.SUCCEEDED,
        **fields,
    )


def segment(customer, run, valid_to=None):
    return CustomerSegment.objects.create(
        dealership=customer.dealership,
        customer=customer,
        valid_from=run,
        valid_to=valid_to,
        c3_group="profitable_loyal",
        tier="A",
        value_layer="high",
        lapsed=False,
        window_visits=1,
        maintenance_visits=1,
        window_spend=Decimal("100.00"),
        maintenance_spend=Decimal("100.00"),
        visits_12m=1,
        lifetime_value=Decimal("100.00"),
    )


def touch(customer, kind=Touch.Kind.BIRTHDAY, occasion="2026", **fields):
    return Touch.objects.create(
        dealership=customer.dealership,
        customer=customer,
        kind=kind,
        occasion=occasion,
        due_at=WHEN,
        touch_class="service",
        channel="sms",
        priority=3,
        **fields,
    )


def tag_for(dealership, code="vip"):
    return Tag.objects.get_or_create(dealership=dealership, code=code, defaults={"name": code, "kind": "value"})[0]


def everything(customer, *, run=None, segment_until=None, campaign=None):
    """One row of every relation to Customer for ``customer``; returns {relation label: row}."""
    dealership = customer.dealership
    n = next(_seq)
    vehicle = VehicleFactory(owner=customer)
    VehicleOwnership.objects.create(vehicle=vehicle, customer=customer, started_on=date(2022, 3, 1))
    visit = ServiceVisitFactory(vehicle=vehicle, customer=customer)
    campaign, group = campaign or campaign_for(dealership)
    template = CouponTemplate.objects.create(dealership=dealership, name="券", kind="labor_amount", value=Decimal("50"))
    rows = {
        "customers.ConsentEvent.customer": ConsentEvent.objects.create(
            customer=customer, granted=True, occurred_at=WHEN, channel="counter"
        ),
        "customers.Vehicle.owner": vehicle,
        "customers.VehicleOwnership.customer": VehicleOwnership.objects.get(vehicle=vehicle),
        "customers.ServiceVisit.customer": visit,
        "customers.Appointment.customer": Appointment.objects.create(
            dealership=dealership, customer=customer, vehicle=vehicle, date=date(2026, 12, 20)
        ),
        "segmentation.CustomerSegment.customer": segment(
            customer, run or segmentation_run(dealership), valid_to=segment_until
        ),
        "segmentation.CustomerTag.customer": CustomerTag.objects.create(
            customer=customer, tag=tag_for(dealership, f"t{n}")
        ),
        "campaigns.Invitation.customer": invite(customer, campaign, group),
        "campaigns.Coupon.customer": Coupon.objects.create(
            dealership=dealership,
            template=template,
            customer=customer,
            code=f"MRGC{n:08d}",
            issued_at=WHEN,
            expires_on=date(2027, 1, 31),
        ),
        "followups.Touch.customer": touch(customer, kind="day7", occasion="", visit=visit),
        "followups.Message.customer": Message.objects.create(
            dealership=dealership,
            customer=customer,
            channel="sms",
            backend="console",
            recipient="138****0000",
            body="您好",
            idempotency_key=f"merge-{n}",
        ),
        "followups.Survey.customer": Survey.objects.create(
            dealership=dealership,
            customer=customer,
            nonce=f"n{n}",
            sent_at=WHEN,
            expires_at=WHEN + timedelta(days=7),
        ),
        "followups.Complaint.customer": Complaint.objects.create(
            dealership=dealership,
            customer=customer,
            source="counter",
            summary="等太久",
            opened_at=WHEN,
            response_due_at=WHEN + timedelta(days=1),
            resolution_due_at=WHEN + timedelta(days=3),
        ),
        "followups.WeChatSubscription.customer": WeChatSubscription.objects.create(customer=customer),
    }
    return rows
