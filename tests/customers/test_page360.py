"""The customer 360 page's hand-written reads (``customers.page360``) give what ``selectors.customer_360``,
their definition, gives: the same rows in the same order, the same values of the same types, the same related
objects; and the page reads through them."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from customers import page360, selectors
from customers.models import Appointment, ConsentEvent, VehicleOwnership
from tests.factories import CustomerFactory, DealershipFactory, ServiceVisitFactory, UserFactory, VehicleFactory
from tests.same_rows import row, rows

pytestmark = pytest.mark.django_db
AT = dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def customer(db):
    """A customer with two vehicles (one bought from someone else), consent events recorded by a user and
    by nobody (two at the same moment), fourteen visits with ties on the day, and twelve appointments with
    ties on the day and the slot, some without a vehicle."""
    owner = CustomerFactory(name="李四")
    seller = CustomerFactory(dealership=owner.dealership, name="张三")
    second = VehicleFactory(owner=owner, plate="粤B00002")
    first = VehicleFactory(owner=owner, plate="粤B00001")
    VehicleOwnership.objects.create(
        vehicle=second, customer=seller, started_on=dt.date(2020, 1, 1), ended_on=dt.date(2023, 6, 1)
    )
    VehicleOwnership.objects.create(vehicle=second, customer=owner, started_on=dt.date(2023, 6, 1))
    VehicleOwnership.objects.create(vehicle=first, customer=owner, started_on=dt.date(2022, 3, 1))
    clerk = UserFactory(dealerships=[owner.dealership], display_name="前台小王")
    for offset, granted, by in ((0, True, clerk), (1, False, None), (1, True, clerk), (5, False, clerk)):
        ConsentEvent.objects.create(
            customer=owner,
            granted=granted,
            occurred_at=AT + dt.timedelta(days=offset),
            channel="counter",
            recorded_by=by,
            note="当面确认" if by else "",
        )
    for index in range(14):
        ServiceVisitFactory(
            vehicle=first if index % 3 else second,
            opened_on=dt.date(2025, 1, 1) + dt.timedelta(days=10 * (index // 2)),
            closed_on=None,
            labor_amount=Decimal("100.10") + index,
            parts_amount=Decimal("0.05") * index,
            total_amount=Decimal("100.10") + index + Decimal("0.05") * index,
        )
    for index in range(12):
        Appointment.objects.create(
            dealership=owner.dealership,
            customer=owner,
            vehicle=first if index % 4 else None,
            date=dt.date(2026, 4, 1) + dt.timedelta(days=index // 3),
            time_slot=("09:00", "14:00")[index % 2],
        )
    ServiceVisitFactory(vehicle=VehicleFactory(owner=seller))  # someone else's visit
    return owner


def _same(expected: dict, got: dict):
    assert row(got["customer"]) == row(expected["customer"])
    assert rows(got["vehicles"]) == rows(expected["vehicles"])
    assert [rows(v.owner_history) for v in got["vehicles"]] == [rows(v.owner_history) for v in expected["vehicles"]]
    # the page shows only the name of an ownership's customer: that much is read
    assert [[(o.customer.pk, o.customer.name) for o in v.owner_history] for v in got["vehicles"]] == [
        [(o.customer.pk, o.customer.name) for o in v.owner_history] for v in expected["vehicles"]
    ]
    # who recorded an event: the page shows their name (``User.__str__``), and that much is read
    assert rows(got["consent_events"]) == rows(expected["consent_events"])
    assert _recorded_by(got) == _recorded_by(expected)
    assert rows(got["visits"], "vehicle") == rows(expected["visits"], "vehicle")
    assert {k: (v, type(v).__name__) for k, v in got["totals"].items()} == {
        k: (v, type(v).__name__) for k, v in expected["totals"].items()
    }
    assert rows(got["appointments"], "vehicle") == rows(expected["appointments"], "vehicle")


def _recorded_by(page):
    return [(e.recorded_by_id, str(e.recorded_by) if e.recorded_by else None) for e in page["consent_events"]]


@pytest.mark.parametrize("limit", [10, 3, None])
def test_the_reads_give_what_the_selector_gives(customer, limit):
    expected = selectors.customer_360(dealership=customer.dealership, pk=customer.pk, visits_limit=limit)
    got = page360.read(dealership=customer.dealership, pk=customer.pk, visits_limit=limit)
    assert len(got["visits"]) == (limit or 14) and got["totals"]["count"] == 14
    assert len(got["appointments"]) == 10 and len(got["vehicles"]) == 2
    _same(expected, got)


def test_the_totals_are_the_sums_of_every_visit_as_decimals(customer):
    got = page360.read(dealership=customer.dealership, pk=customer.pk, visits_limit=3)
    assert got["totals"]["total"] == sum(Decimal("100.10") + i + Decimal("0.05") * i for i in range(14))
    assert isinstance(got["totals"]["labor"], Decimal) and got["totals"]["last"] == dt.date(2025, 3, 2)


def test_the_ownership_history_and_who_recorded_consent_come_along(customer):
    got = page360.read(dealership=customer.dealership, pk=customer.pk)
    histories = {v.plate: [o.customer.name for o in v.owner_history] for v in got["vehicles"]}
    assert histories == {"粤B00001": ["李四"], "粤B00002": ["李四", "张三"]}
    assert [str(e.recorded_by) if e.recorded_by else None for e in got["consent_events"]] == [
        "前台小王",
        "前台小王",
        None,
        "前台小王",
    ]


def test_a_customer_with_nothing_yet(db):
    lone = CustomerFactory()
    expected = selectors.customer_360(dealership=lone.dealership, pk=lone.pk, visits_limit=10)
    got = page360.read(dealership=lone.dealership, pk=lone.pk, visits_limit=10)
    _same(expected, got)
    assert got["totals"] == {"total": None, "labor": None, "parts": None, "count": 0, "last": None}


def test_another_dealerships_customer_or_no_number_is_404(customer):
    other = DealershipFactory()
    for pk in (customer.pk, "abc", None, 10**12):
        with pytest.raises(Http404):
            page360.read(dealership=other if pk == customer.pk else customer.dealership, pk=pk)
    with pytest.raises(Http404):
        selectors.customer_360(dealership=other, pk=customer.pk)


def test_the_reads_take_five_statements_however_much_there_is(customer):
    with CaptureQueriesContext(connection) as queries:
        page360.read(dealership=customer.dealership, pk=customer.pk)
    assert len(queries) == 5
