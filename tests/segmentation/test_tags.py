"""Customer tags: the automatic ones each run sets, staff's own, and filtering by them."""

from datetime import date
from decimal import Decimal

import pytest

from customers.models import Payer, VisitType
from dealercrm.core.exceptions import ApplicationError
from segmentation.filters import SegmentFilter
from segmentation.models import CustomerSegment, CustomerTag
from segmentation.selectors import customer_segments_at
from segmentation.services import segmentation_run
from segmentation.tagging import (
    AUTOMATIC_TAGS,
    automatic_codes,
    automatic_label,
    customer_tag_add,
    customer_tag_remove,
    tag_create,
)
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory
from tests.segmentation.test_engine import REF, before, build

M, R, B, W = VisitType.MAINTENANCE, VisitType.REPAIR, VisitType.BODYWORK, VisitType.WARRANTY


def tags_of(customer) -> set[str]:
    """The customer's tags now: the automatic ones of their current segment, and staff's own."""
    segment = CustomerSegment.objects.get(customer=customer, valid_to__isnull=True)
    own = CustomerTag.objects.filter(customer=customer).values_list("tag__code", flat=True)
    return set(automatic_codes(segment.tags)) | set(own)


def test_there_are_at_least_ten_automatic_tags_over_several_kinds():
    assert len(AUTOMATIC_TAGS) >= 10
    assert len({kind for kind, _label in AUTOMATIC_TAGS.values()}) >= 8


def test_each_run_sets_the_automatic_tags_from_the_records(dealership):
    customer = CustomerFactory(
        dealership=dealership, preferred_channel="wechat", marketing_consent=False, birthday=date(1980, 6, 2)
    )
    ev = VehicleFactory(owner=customer, fuel_type="EV", purchase_date=before(100))
    VehicleFactory(owner=customer, purchase_date=date(2018, 1, 1))
    for days, kind, payer, code in (
        (20, B, Payer.INSURANCE, ""),
        (50, W, Payer.WARRANTY, "SUMMER"),
        (80, M, Payer.CUSTOMER, ""),
    ):
        ServiceVisitFactory(
            vehicle=ev,
            opened_on=before(days),
            closed_on=None,
            visit_type=kind,
            payer=payer,
            campaign_code=code,
            total_amount=Decimal("900"),
        )
    quiet = build(dealership, [(400, M, "300")], bought_days_ago=2000)
    quiet.do_not_contact = quiet.flag_wrong_number = True
    quiet.save()

    segmentation_run(dealership=dealership, reference_date=REF)

    assert tags_of(customer) == {
        "new_energy",
        "several_vehicles",
        "car_5_years_plus",
        "frequent",
        "accident_repairs",
        "warranty_claims",
        "insurance_paid",
        "prefers_wechat",
        "no_marketing_consent",
        "birthday_this_month",
        "campaign_participant",
    }  # not new_customer: the customer's first car is from 2018
    assert tags_of(quiet) == {"lapsed", "do_not_contact", "wrong_number", "car_5_years_plus"}


def test_a_later_run_removes_automatic_tags_that_no_longer_hold_and_keeps_staff_tags(dealership, advisor):
    customer = build(dealership, [(10, M, "300"), (50, M, "300"), (90, M, "300")])
    segmentation_run(dealership=dealership, reference_date=REF)
    vip = tag_create(dealership=dealership, code="vip-card", name="VIP 卡", kind="value", acting_user=advisor)
    customer_tag_add(customer=customer, tag=vip, acting_user=advisor)
    assert "frequent" in tags_of(customer)

    segmentation_run(dealership=dealership, reference_date=date(2026, 6, 30))  # a year later: lapsed, not frequent

    assert {"lapsed", "vip-card"} <= tags_of(customer) and "frequent" not in tags_of(customer)


def test_automatic_codes_cannot_be_taken_by_staff_tags_and_their_labels_translate(dealership):
    from django.utils import translation

    with pytest.raises(ApplicationError, match="automatic"):
        tag_create(dealership=dealership, code="lapsed", name="x", kind="behaviour")
    assert automatic_label("lapsed") == "Lapsed"
    with translation.override("zh-hans"):
        assert automatic_label("lapsed") == "已流失"


def test_staff_tags_are_added_once_and_removed(dealership, advisor):
    customer = build(dealership, [])
    vip = tag_create(dealership=dealership, code="vip-card", name="VIP 卡", kind="value", acting_user=advisor)

    customer_tag_add(customer=customer, tag=vip, acting_user=advisor)
    customer_tag_add(customer=customer, tag=vip, acting_user=advisor)
    assert CustomerTag.objects.filter(customer=customer).count() == 1

    customer_tag_remove(customer=customer, tag=vip, acting_user=advisor)
    assert not CustomerTag.objects.filter(customer=customer).exists()


def test_a_tag_code_is_taken_once_per_dealership(dealership, other_dealership):
    tag_create(dealership=dealership, code="fleet", name="Fleet", kind="source")
    tag_create(dealership=other_dealership, code="fleet", name="Fleet", kind="source")

    with pytest.raises(ApplicationError, match="exists already"):
        tag_create(dealership=dealership, code="fleet", name="Other", kind="source")


def test_tags_change_with_the_result_and_stay_in_its_history(dealership):
    customer = build(dealership, [(10, M, "300"), (50, M, "300"), (90, M, "300")])
    first = segmentation_run(dealership=dealership, reference_date=REF)
    segmentation_run(dealership=dealership, reference_date=date(2026, 6, 30))

    old = CustomerSegment.objects.get(customer=customer, valid_from=first)
    assert "frequent" in automatic_codes(old.tags) and "lapsed" in tags_of(customer)


def test_a_tag_of_another_dealership_is_refused(dealership, other_dealership):
    customer = build(dealership, [])
    theirs = tag_create(dealership=other_dealership, code="fleet", name="Fleet", kind="source")

    with pytest.raises(ApplicationError, match="another dealership"):
        customer_tag_add(customer=customer, tag=theirs)


def test_a_recent_first_car_makes_a_new_customer(dealership):
    customer = build(dealership, [(10, M, "300")], bought_days_ago=200)

    segmentation_run(dealership=dealership, reference_date=REF)

    assert "new_customer" in tags_of(customer)


def test_segments_filter_by_any_of_the_given_tags(dealership):
    wechat = CustomerFactory(dealership=dealership, preferred_channel="wechat")
    VehicleFactory(owner=wechat)
    ev_owner = build(dealership, [(10, M, "300")])
    VehicleFactory(owner=ev_owner, fuel_type="PHEV")
    build(dealership, [(10, M, "300")])
    run = segmentation_run(dealership=dealership, reference_date=REF)

    def customers(value):
        return sorted(
            SegmentFilter({"tag": value}, queryset=customer_segments_at(run=run)).qs.values_list(
                "customer_id", flat=True
            )
        )

    assert customers("prefers_wechat") == [wechat.pk]
    fleet = tag_create(dealership=dealership, code="fleet", name="Fleet", kind="source")
    customer_tag_add(customer=ev_owner, tag=fleet)
    assert customers("fleet") == [ev_owner.pk]
    assert customers("fleet,prefers_wechat") == sorted([wechat.pk, ev_owner.pk])
    assert customers("prefers_wechat, new_energy") == sorted([wechat.pk, ev_owner.pk])
    assert run.counts["tags"]["new_energy"] == 1
