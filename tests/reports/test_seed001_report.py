"""Seed 001's 市场活动量化分析表 (邀请人数, 出席人数, 出席率, 签单量, 签单率, 费用投入, 签单成本) for a campaign built
from records: 160 invited customers (and 8 kept as a holdout), 44 of whom came within the period, 36 of whom
booked on the call (an appointment), a cost of ¥9,000.

Worked by hand: attendance 44 ÷ 160 = 27.5 %; sign rate 36 ÷ 160 = 22.5 %; cost per signing 9,000 ÷ 36 = ¥250.00.
A second campaign in the period: 40 invited, 6 came, 4 booked, cost ¥1,000.01 → 15.0 %, 10.0 %, ¥250.00 (1,000.01 ÷
4 = 250.0025). Totals: 200 invited, 50 came (25.0 %), 40 booked (20.0 %), ¥10,000.01 ÷ 40 = ¥250.00.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from campaigns.models import Campaign, Invitation, TargetGroup
from customers.models import Appointment, Customer, ServiceVisit, Vehicle
from reports.periods import Period
from reports.registry import display, kpi, report
from reports.scope import Scope
from tests.factories import make_plate, make_vin

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")


def campaign_from_records(dealership, *, code, start, end, invited, came, booked, cost, holdout=0, offset=0):
    """A finished campaign with ``invited`` invitees (+ ``holdout``), the first ``came`` of whom have a visit in
    the period and the first ``booked`` an appointment from the call; each holdout customer came too (they do
    not count)."""
    campaign = Campaign.objects.create(
        dealership=dealership,
        code=code,
        name=f"活动 {code}",
        kind="maintenance",
        starts_on=start,
        ends_on=end,
        cost=cost,
        budget=cost,
        status=Campaign.Status.FINISHED,
    )
    group = TargetGroup.objects.create(campaign=campaign, name="全部")
    total = invited + holdout
    customers = Customer.objects.bulk_create(
        Customer(
            dealership=dealership,
            customer_no=f"{code}-{i:04d}",
            name=f"客户{i}",
            phone=f"+86137{offset + i:08d}",
            marketing_consent=True,
        )
        for i in range(total)
    )
    vehicles = Vehicle.objects.bulk_create(
        Vehicle(
            dealership=dealership,
            owner=c,
            vin=make_vin(500_000 + offset + i),
            plate=make_plate(offset + i),
            brand="别克",
            model="英朗",
            model_year=2012,
            purchase_date=date(2012, 1, 1),
            fuel_type="ICE",
        )
        for i, c in enumerate(customers)
    )
    vehicles = {v.owner_id: v.pk for v in vehicles}
    appointments = Appointment.objects.bulk_create(
        Appointment(dealership=dealership, customer=c, date=start, source="campaign") for c in customers[:booked]
    )
    appointment_of = {a.customer_id: a.pk for a in appointments}
    Invitation.objects.bulk_create(
        Invitation(
            campaign=campaign,
            target_group=group,
            customer=c,
            vehicle_id=vehicles[c.pk],
            holdout=i >= invited,
            appointment_id=appointment_of.get(c.pk),
            status="accepted" if c.pk in appointment_of else "declined",
            created_at=datetime(start.year, start.month, start.day, 9, tzinfo=SHANGHAI),
        )
        for i, c in enumerate(customers)
    )
    # visitors: the first ``came`` invitees and every holdout customer, on the period's last day; one invitee more
    # comes the day after the period (not attended)
    visitors = customers[:came] + customers[invited:]
    ServiceVisit.objects.bulk_create(
        [
            ServiceVisit(
                dealership=dealership,
                ro_number=f"RO-{code}-{i:04d}",
                vehicle_id=vehicles[c.pk],
                customer=c,
                opened_on=end,
                visit_type="maintenance",
                total_amount=Decimal("500.00"),
            )
            for i, c in enumerate(visitors)
        ]
        + [
            ServiceVisit(
                dealership=dealership,
                ro_number=f"RO-{code}-late",
                vehicle_id=vehicles[customers[came].pk],
                customer=customers[came],
                opened_on=date.fromordinal(end.toordinal() + 1),
                visit_type="maintenance",
                total_amount=Decimal("500.00"),
            )
        ]
    )
    return campaign


def test_the_seed_001_analysis_table_for_campaigns_built_from_records(dealership, as_manager):
    campaign_from_records(
        dealership,
        code="SPRING",
        start=date(2026, 3, 1),
        end=date(2026, 3, 31),
        invited=160,
        came=44,
        booked=36,
        cost=Decimal("9000.00"),
        holdout=8,
    )
    campaign_from_records(
        dealership,
        code="APRIL",
        start=date(2026, 4, 1),
        end=date(2026, 4, 15),
        invited=40,
        came=6,
        booked=4,
        cost=Decimal("1000.01"),
        offset=1000,
    )
    scope, period = Scope.of(dealership, user=as_manager), Period(date(2026, 3, 1), date(2026, 4, 30))

    (table,) = report("campaign-analysis").build(scope, period, {})

    columns = ["invited", "attended", "attendance_rate", "booked", "sign_rate", "cost", "cost_per_signing"]
    kinds = {c.key: c.kind for c in table.columns}
    shown = [[row["code"]] + [display(row[key], kinds[key]) for key in columns] for row in [*table.rows, table.totals]]
    assert shown == [
        ["SPRING", "160", "44", "27.5%", "36", "22.5%", "¥9,000.00", "¥250.00"],
        ["APRIL", "40", "6", "15.0%", "4", "10.0%", "¥1,000.01", "¥250.00"],
        ["Total", "200", "50", "25.0%", "40", "20.0%", "¥10,000.01", "¥250.00"],
    ]
    # the KPIs read the same figures (pooled over both campaigns)
    assert kpi("campaigns.attendance_rate").compute(scope, period).value == Decimal("0.25")
    assert kpi("campaigns.sign_rate").compute(scope, period).value == Decimal("0.2")
    assert kpi("campaigns.cost_per_signing").compute(scope, period).value == Decimal("250.00")
