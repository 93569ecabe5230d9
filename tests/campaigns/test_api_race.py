"""Two advisors redeem one coupon through the API at the same moment: one gets 200, the other 409 with the
reason; and the negative control, without the lock, shows that the harness does see the double redemption."""

import threading
import time
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from campaigns import services
from campaigns.models import Coupon
from tests.factories import CustomerFactory, ServiceVisitFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def race(dealership, advisor, as_manager, api_client_for, monkeypatch):
    """A coupon, two visits of its customer, two counter staff, and a slower check: both requests read the
    coupon before either writes, unless the coupon is locked."""
    template = services.coupon_template_create(
        dealership=dealership, name="¥100 工时券", kind="labor_amount", value=Decimal("100")
    )
    customer = CustomerFactory(dealership=dealership)
    coupon = services.coupon_issue(template=template, customer=customer)
    visits = [ServiceVisitFactory(vehicle__owner=customer, opened_on=date.today(), closed_on=None) for _ in range(2)]
    check = services.redemption_refusal

    def slow_check(*args, **kwargs):
        time.sleep(0.3)
        return check(*args, **kwargs)

    monkeypatch.setattr("campaigns.services.redemption_refusal", slow_check)
    return coupon, visits, [api_client_for(advisor), api_client_for(as_manager)]


def redeem_at_once(coupon, visits, clients):
    barrier = threading.Barrier(len(visits))
    answers = [None] * len(visits)
    path = reverse("api-campaign-coupon-redeem", args=[coupon.pk])

    def redeem(i):
        try:
            barrier.wait(timeout=10)
            response = clients[i].post(path, {"visit": visits[i].pk}, format="json")
            answers[i] = (response.status_code, response.json())
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(i,)) for i in range(len(visits))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


def test_two_redemptions_at_once_one_wins_and_the_other_is_told_409(race):
    coupon, visits, clients = race

    answers = redeem_at_once(coupon, visits, clients)

    assert sorted(status for status, _body in answers) == [200, 409], answers
    (refused,) = [body for status, body in answers if status == 409]
    assert refused["message"].startswith(f"Coupon {coupon.code} was already redeemed on ")
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.REDEEMED
    assert coupon.history.filter(status="redeemed").count() == 1


def test_negative_control_without_the_lock_both_requests_redeem(race, monkeypatch):
    coupon, visits, clients = race
    monkeypatch.setattr(
        "campaigns.services._lock_coupon", lambda pk: Coupon.objects.select_related("template").get(pk=pk)
    )

    answers = redeem_at_once(coupon, visits, clients)

    assert [status for status, _body in answers] == [200, 200], answers
    assert coupon.history.filter(status="redeemed").count() == 2
