"""The customer 360 page's segmentation card."""

from datetime import timedelta
from decimal import Decimal

from django.urls import reverse

from customers.models import VisitType
from segmentation.services import segmentation_run
from segmentation.talking_points import TALKING_POINTS
from tests.segmentation.test_engine import REF, before, build, fixed_value


def page(client, customer) -> str:
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    return response.content.decode()


def test_before_any_run_the_card_says_what_it_will_show(client_for, advisor, dealership):
    customer = build(dealership, [(10, VisitType.MAINTENANCE, "500")])

    html = page(client_for(advisor), customer)

    assert 'data-testid="segment-empty"' in html and 'data-testid="segment-c3"' not in html


def test_after_a_run_the_card_shows_group_tier_layer_talking_points_and_due_date(client_for, advisor, dealership):
    fixed_value(dealership)
    customer = build(dealership, [(d, VisitType.MAINTENANCE, "3000") for d in (20, 200, 380, 560)], brand="别克")
    segmentation_run(dealership=dealership, reference_date=REF)

    html = page(client_for(advisor), customer)

    assert "Split-loyal" in html and "Tier B" in html and "Mid value" in html  # 2 visits in 12 months, ¥12,000
    assert str(TALKING_POINTS["split_loyal"]) in html.replace("&#x27;", "'")
    due = before(20) + timedelta(days=180)  # every 180 days, shorter than the schedule's 182
    assert f"maintenance due {due.isoformat()} (from its own maintenance interval)" in html
    assert "as of 2025-06-30" in html
    assert 'data-testid="due-dates"' in html


def test_the_card_reads_in_chinese(client_for, advisor, dealership):
    customer = build(dealership, [(30, VisitType.REPAIR, "900")])
    segmentation_run(dealership=dealership, reference_date=REF)
    client = client_for(advisor)
    client.cookies["django_language"] = "zh-hans"

    html = page(client, customer)

    assert "C 级" in html and "高风险群" in html and "潜力" in html  # one repair: the median customer, repairs only


def test_a_lapsed_customer_is_marked(client_for, advisor, dealership):
    customer = build(dealership, [(300, VisitType.MAINTENANCE, Decimal("500"))])
    segmentation_run(dealership=dealership, reference_date=REF)

    assert 'data-testid="segment-lapsed"' in page(client_for(advisor), customer)
