"""Coupons: codes, validity and expiry, redemption and its refusals, voiding, and two advisors redeeming one
coupon at the same moment (PostgreSQL, with a negative control)."""

import re
import threading
import time
from datetime import date, datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.http import Http404

from campaigns import selectors, services
from campaigns.models import Coupon
from campaigns.services import CODE_ALPHABET, CODE_LENGTH
from dealercrm.core.exceptions import ApplicationError
from tests.campaigns.conftest import NOW, SHANGHAI
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory


def customer_of(dealership):
    customer = CustomerFactory(dealership=dealership)
    VehicleFactory(owner=customer)
    return customer


def visit_of(customer, day=date(2026, 12, 1), total="500.00", visit_type="maintenance"):
    return ServiceVisitFactory(
        vehicle=customer.vehicles.first(),
        opened_on=day,
        closed_on=day,
        total_amount=Decimal(total),
        visit_type=visit_type,
    )


@pytest.fixture
def owner(dealership):
    return customer_of(dealership)


@pytest.fixture
def labour(make_template):
    return make_template(name="¥100 工时券", valid_days=30, min_spend=Decimal("300"))


def issue(template, customer, now=NOW, **options):
    return services.coupon_issue(template=template, customer=customer, now=now, **options)


def refusal(coupon, visit, now=NOW) -> str:
    with pytest.raises(ApplicationError) as refused:
        services.coupon_redeem(coupon=coupon, visit=visit, now=now)
    coupon.refresh_from_db()
    return refused.value.message


# --- codes ------------------------------------------------------------------------------------------------


def test_codes_are_long_unguessable_and_free_of_look_alikes():
    codes = [services.coupon_code() for _ in range(5000)]

    assert len(set(codes)) == len(codes)
    assert all(len(code) == CODE_LENGTH >= 10 for code in codes)
    assert set("".join(codes)) <= set(CODE_ALPHABET)
    assert not set(CODE_ALPHABET) & set("0O1IL2Z5S8B")
    assert len(set(CODE_ALPHABET)) ** CODE_LENGTH > 2**50  # more than 50 bits: not worth guessing
    assert len(set("".join(codes))) == len(CODE_ALPHABET)  # and every symbol is used


def test_issued_coupons_have_unique_codes_found_however_they_are_typed(dealership, other_dealership, owner, labour):
    coupons = [issue(labour, owner) for _ in range(200)]

    assert len({c.code for c in coupons}) == 200
    assert all(len(c.code) >= 10 and set(c.code) <= set(CODE_ALPHABET) for c in coupons)
    typed = f"  {coupons[0].code.lower()} "
    assert selectors.coupon_by_code(dealership=dealership, code=typed) == coupons[0]
    with pytest.raises(Http404):
        selectors.coupon_by_code(dealership=other_dealership, code=coupons[0].code)


# --- validity and expiry ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("issued_at", "valid_days", "valid_until", "expires_on"),
    [
        (NOW, 30, None, date(2026, 12, 30)),  # the day of issue is the first of 30
        (NOW, 1, None, date(2026, 12, 1)),
        (NOW, 30, date(2026, 12, 15), date(2026, 12, 15)),  # the template's last day comes first
        (NOW, 30, date(2027, 3, 1), date(2026, 12, 30)),
        (datetime(2026, 12, 1, 0, 30, tzinfo=SHANGHAI), 30, None, date(2026, 12, 30)),  # 16:30 UTC on 30 Nov
        (datetime(2026, 11, 30, 23, 59, tzinfo=SHANGHAI), 30, None, date(2026, 12, 29)),
    ],
)
def test_a_coupon_lasts_its_days_from_the_day_of_issue_at_the_dealership(
    owner, make_template, issued_at, valid_days, valid_until, expires_on
):
    template = make_template(valid_days=valid_days, valid_until=valid_until)

    coupon = issue(template, owner, now=issued_at)

    assert (coupon.issued_at, coupon.expires_on, coupon.status) == (issued_at, expires_on, "issued")
    assert coupon.dealership_id == owner.dealership_id


def test_coupons_are_issued_only_from_a_live_template_of_the_customers_store(other_dealership, owner, make_template):
    with pytest.raises(ApplicationError, match="is not active"):
        issue(make_template(name="停用", active=False), owner)
    with pytest.raises(ApplicationError, match="was valid until 2026-11-30"):
        issue(make_template(name="过期", valid_until=date(2026, 11, 30)), owner)
    with pytest.raises(ApplicationError, match="different dealerships"):
        issue(make_template(name="别店"), customer_of(other_dealership))
    assert not Coupon.objects.exists()


def test_the_daily_expiry_closes_open_coupons_after_their_last_day_only(owner, labour, advisor):
    # Given coupons lasting until 30 December: one open, one redeemed, one voided
    open_one, redeemed, voided = (issue(labour, owner) for _ in range(3))
    services.coupon_redeem(coupon=redeemed, visit=visit_of(owner), now=NOW, acting_user=advisor)
    services.coupon_void(coupon=voided, reason="客户不需要")

    assert services.coupons_expire(today=date(2026, 12, 30)) == 0  # still good on its last day
    assert services.coupons_expire(today=date(2026, 12, 31)) == 1
    assert services.coupons_expire(today=date(2026, 12, 31)) == 0  # a second run changes nothing

    statuses = {c.pk: c.status for c in Coupon.objects.all()}
    assert statuses == {open_one.pk: "expired", redeemed.pk: "redeemed", voided.pk: "void"}


def test_the_daily_expiry_waits_for_midnight_at_each_dealership(
    dealership, other_dealership, make_template, owner, frozen
):
    # Given a store in Ürümqi (two hours behind Shanghai) and one in Guangzhou, each with a coupon ending 30 Dec
    dealership.time_zone = "Asia/Urumqi"
    dealership.save()
    far = issue(make_template(valid_days=30), owner)
    near_template = services.coupon_template_create(
        dealership=other_dealership, name="¥50", kind="labor_amount", value=Decimal("50"), valid_days=30
    )
    near = issue(near_template, customer_of(other_dealership))
    assert far.expires_on == near.expires_on == date(2026, 12, 30)

    # When the job runs at 00:10 on 31 December, Shanghai time (22:10 on the 30th in Ürümqi)
    frozen.move_to(datetime(2026, 12, 31, 0, 10, tzinfo=SHANGHAI))
    assert services.coupons_expire() == 1

    # Then only the Guangzhou coupon expired; the Ürümqi one expires once it is the 31st there
    far.refresh_from_db()
    near.refresh_from_db()
    assert (far.status, near.status) == ("issued", "expired")
    assert [c.pk for c in selectors.coupons_open(dealership=dealership, customer=owner)] == [far.pk]
    frozen.move_to(datetime(2026, 12, 31, 2, 10, tzinfo=SHANGHAI))
    assert selectors.coupons_open(dealership=dealership, customer=owner) == []
    assert services.coupons_expire() == 1


# --- redemption -------------------------------------------------------------------------------------------


def test_a_coupon_is_redeemed_once_on_a_visit_and_the_redemption_is_recorded(owner, labour, advisor):
    coupon = issue(labour, owner)
    visit = visit_of(owner, total="300.00")  # the minimum spend exactly
    later = datetime(2026, 12, 3, 9, 15, tzinfo=SHANGHAI)

    redeemed = services.coupon_redeem(coupon=coupon, visit=visit, acting_user=advisor, now=later)

    coupon.refresh_from_db()
    assert (coupon.status, coupon.redeemed_visit, coupon.redeemed_by, coupon.redeemed_at) == (
        "redeemed",
        visit,
        advisor,
        later,
    )
    assert redeemed.pk == coupon.pk
    change = coupon.history.first()
    assert (change.status, change.history_change_reason, change.prev_record.status) == ("redeemed", "redeem", "issued")
    assert refusal(coupon, visit_of(owner, day=date(2026, 12, 4))) == (
        f"Coupon {coupon.code} was already redeemed on 2026-12-03 09:15."
    )
    assert coupon.redeemed_visit == visit


def test_an_expired_coupon_is_refused_on_the_day_after_even_before_the_daily_job(owner, labour):
    coupon = issue(labour, owner)
    visit = visit_of(owner, day=date(2026, 12, 31))
    message = f"Coupon {coupon.code} expired on 2026-12-30."

    assert refusal(coupon, visit, now=datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI)) == message
    services.coupons_expire(today=date(2026, 12, 31))
    assert refusal(coupon, visit, now=datetime(2026, 12, 31, 9, 0, tzinfo=SHANGHAI)) == message
    # on its last day it was still good
    fresh = issue(labour, owner)
    services.coupon_redeem(
        coupon=fresh, visit=visit_of(owner, day=date(2026, 12, 30)), now=datetime(2026, 12, 30, 19, 0, tzinfo=SHANGHAI)
    )


def test_a_voided_coupon_is_refused(owner, labour):
    coupon = issue(labour, owner)
    services.coupon_void(coupon=coupon, reason="重复发放")
    assert refusal(coupon, visit_of(owner)) == f"Coupon {coupon.code} was voided."
    assert coupon.status == "void"


def test_another_customers_coupon_is_refused(dealership, owner, labour):
    coupon = issue(labour, owner)
    assert refusal(coupon, visit_of(customer_of(dealership))) == f"Coupon {coupon.code} belongs to another customer."
    assert coupon.status == "issued"


def test_a_visit_below_the_minimum_spend_is_refused(owner, labour):
    coupon = issue(labour, owner)
    assert refusal(coupon, visit_of(owner, total="299.99")) == (
        "This visit's total ¥299.99 is below the coupon's minimum spend of ¥300.00."
    )
    assert coupon.status == "issued"


def test_a_visit_of_another_type_is_refused(owner, make_template):
    coupon = issue(make_template(visit_types=["maintenance", "warranty"]), owner)

    assert refusal(coupon, visit_of(owner, visit_type="repair")) == (
        f"Coupon {coupon.code} is not valid on a mechanical repair visit."
    )
    services.coupon_redeem(coupon=coupon, visit=visit_of(owner, visit_type="warranty"), now=NOW)


def test_a_next_visit_coupon_is_refused_on_the_visit_that_issued_it_and_before_it(owner, make_template):
    # Given a "next visit" coupon handed out at a visit on 1 December
    issuing = visit_of(owner, day=date(2026, 12, 1))
    coupon = issue(make_template(next_visit_only=True), owner, issued_visit=issuing)
    message = f"Coupon {coupon.code} can be used from the customer's next visit on."

    # Then it is refused on that visit and on an older one, and taken on the next
    assert refusal(coupon, issuing) == message
    assert refusal(coupon, visit_of(owner, day=date(2026, 11, 28))) == message
    services.coupon_redeem(coupon=coupon, visit=visit_of(owner, day=date(2026, 12, 8)), now=NOW)
    assert coupon.status == "issued" and Coupon.objects.get(pk=coupon.pk).status == "redeemed"


def test_a_coupon_of_another_dealership_is_refused(other_dealership, owner, labour):
    coupon = issue(labour, owner)
    assert refusal(coupon, visit_of(customer_of(other_dealership))) == "This coupon belongs to another dealership."
    assert coupon.status == "issued"


# --- voiding ----------------------------------------------------------------------------------------------


def test_only_an_open_coupon_is_voided_and_a_reason_is_needed(owner, labour, frozen):
    coupon = issue(labour, owner)
    with pytest.raises(ApplicationError, match=re.escape("Say why the coupon is voided.")):
        services.coupon_void(coupon=coupon, reason="  ")

    services.coupon_void(coupon=coupon, reason="  客户投诉后补发  ")

    coupon.refresh_from_db()
    assert (coupon.status, coupon.void_reason, coupon.voided_at) == ("void", "客户投诉后补发", NOW)
    with pytest.raises(ApplicationError, match=f"Only an open coupon can be voided; {coupon.code} is void."):
        services.coupon_void(coupon=coupon, reason="再作废")
    redeemed = issue(labour, owner)
    services.coupon_redeem(coupon=redeemed, visit=visit_of(owner), now=NOW)
    with pytest.raises(ApplicationError, match="is redeemed"):
        services.coupon_void(coupon=redeemed, reason="误操作")
    expired = issue(labour, owner, now=datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI))
    services.coupons_expire(today=NOW.date())
    with pytest.raises(ApplicationError, match="is expired"):
        services.coupon_void(coupon=expired, reason="过期")


# --- two advisors at the same moment ------------------------------------------------------------------------


def redeem_at_once(coupon, visits, advisor) -> list[str]:
    """Redeem ``coupon`` on each of ``visits`` from as many threads, released together; their outcomes."""
    barrier = threading.Barrier(len(visits))
    outcomes = [None] * len(visits)

    def redeem(i, visit):
        try:
            barrier.wait(timeout=10)
            services.coupon_redeem(coupon=Coupon(pk=coupon.pk), visit=visit, acting_user=advisor)
            outcomes[i] = "redeemed"
        except ApplicationError as exc:
            outcomes[i] = exc.message
        except Exception as exc:  # pragma: no cover - shown by the assertions
            outcomes[i] = repr(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(i, v)) for i, v in enumerate(visits)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.fixture
def race(dealership, advisor, make_template, monkeypatch):
    """A coupon, two visits of its customer, and a slower check: both advisors read the coupon before either
    writes, unless the coupon is locked."""
    owner = customer_of(dealership)
    coupon = services.coupon_issue(template=make_template(valid_days=30), customer=owner)
    visits = [visit_of(owner, day=date.today()), visit_of(owner, day=date.today())]
    check = services.redemption_refusal

    def slow_check(*args, **kwargs):
        time.sleep(0.5)
        return check(*args, **kwargs)

    monkeypatch.setattr("campaigns.services.redemption_refusal", slow_check)
    return coupon, visits


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_advisors_redeeming_one_coupon_at_once_one_wins_and_the_other_is_told(race, advisor):
    coupon, visits = race

    outcomes = redeem_at_once(coupon, visits, advisor)

    assert outcomes.count("redeemed") == 1
    (refused,) = [o for o in outcomes if o != "redeemed"]
    assert refused.startswith(f"Coupon {coupon.code} was already redeemed on ")
    coupon.refresh_from_db()
    winner = visits[outcomes.index("redeemed")]
    assert (coupon.status, coupon.redeemed_visit_id) == ("redeemed", winner.pk)
    assert coupon.history.filter(status="redeemed").count() == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_negative_control_without_the_lock_both_redemptions_succeed(race, advisor, monkeypatch):
    # The same race with the lock replaced by a plain read: the harness does see the double redemption
    coupon, visits = race
    monkeypatch.setattr(
        "campaigns.services._lock_coupon", lambda pk: Coupon.objects.select_related("template").get(pk=pk)
    )

    outcomes = redeem_at_once(coupon, visits, advisor)

    assert outcomes == ["redeemed", "redeemed"]
    assert coupon.history.filter(status="redeemed").count() == 2
