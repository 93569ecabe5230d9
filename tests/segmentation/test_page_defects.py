"""Defects of the segmentation pages found by trying them (issue 10): each test failed before its fix."""

import pytest
from django.urls import reverse
from django.utils import translation

from segmentation.models import Tag
from segmentation.services import segmentation_run
from tests.segmentation.test_engine import REF, build
from tests.segmentation.test_pages import movement, people, text  # noqa: F401 (people: a fixture)


@pytest.mark.usefixtures("people")
@pytest.mark.parametrize("dimension", ["c3", "tier", "layer"])
def test_a_customer_new_since_the_earlier_run_is_shown_as_new_not_as_unchanged(
    client_for, advisor, dealership, dimension
):
    # Given a first run, then a new customer with no visit (no C3 group, tier D, like "idle" in both runs)
    first = segmentation_run(dealership=dealership, reference_date=REF)
    build(dealership, [])
    second = segmentation_run(dealership=dealership, reference_date=REF)

    # When the movement from the first to the second run is shown
    response = client_for(advisor).get(movement(second, **{"from": first.pk, "dimension": dimension}))

    # Then the four customers of both runs stayed; the newcomer is on a row of their own, not on the diagonal
    matrix = response.context["matrix"]
    *before, new = matrix["rows"]
    assert new["new"] and new["label"] == f"New since run #{first.pk}" and new["total"] == 1
    assert not any(cell["diagonal"] for cell in new["cells"])
    assert sum(row["total"] for row in before) == 4
    assert (matrix["total"], matrix["stayed"], matrix["moved"], matrix["new"]) == (5, 4, 0, 1)
    html = text(response)
    assert "of 4 customers in both runs, 4 stayed and 0 moved (0.0 %)" in html
    assert f"1 customer is new since run #{first.pk}." in html
    assert html.count('data-testid="movement-new-row"') == 1


@pytest.mark.usefixtures("people")
def test_the_movement_api_still_counts_new_customers_under_the_empty_origin(api_client_for, advisor, dealership):
    first = segmentation_run(dealership=dealership, reference_date=REF)
    build(dealership, [])
    second = segmentation_run(dealership=dealership, reference_date=REF)

    url = reverse("api-segmentation-run-movement", args=[second.pk])
    body = api_client_for(advisor).get(url, {"from": first.pk, "dimension": "tier"}).json()

    assert body["rows"][""] == {"D": 1} and body["total"] == 5  # as documented: "" is "new since"


def test_a_tags_name_is_a_name_of_a_thing_not_of_a_person():
    with translation.override("zh-hans"):
        assert str(Tag._meta.get_field("name").verbose_name) == "名称"  # not 姓名, a person's name
