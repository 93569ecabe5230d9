"""A list filtered by a related record's id: an id that no record can have (not positive, or beyond 64 bits)
is refused in the error contract naming the filter, on SQLite too (where it used to be a 500), and a real id
of another dealership matches nothing."""

import pytest

from tests.factories import CustomerFactory, ServiceVisitFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("value", ["-1", "0", "67079093900616318324716863488", "9223372036854775808"])
@pytest.mark.parametrize("path", ["/api/v1/visits/", "/api/v1/appointments/", "/api/v1/campaigns/target-groups/"])
def test_an_id_no_record_can_have_is_refused_naming_the_filter(api_client_for, as_manager, path, value):
    name = "campaign" if "target-groups" in path else "customer"
    response = api_client_for(as_manager).get(path, {name: value})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] in {"min_value", "max_value"} and list(body["fields"]) == [name]


def test_the_largest_id_is_asked_and_matches_nothing(api_client_for, as_manager, dealership, other_dealership):
    mine = ServiceVisitFactory(vehicle__owner=CustomerFactory(dealership=dealership))
    theirs = ServiceVisitFactory(vehicle__owner=CustomerFactory(dealership=other_dealership))
    api = api_client_for(as_manager)
    assert api.get("/api/v1/visits/", {"customer": str(2**63 - 1)}).json()["results"] == []
    assert api.get("/api/v1/visits/", {"customer": theirs.customer_id}).json()["results"] == []
    assert [v["id"] for v in api.get("/api/v1/visits/", {"customer": mine.customer_id}).json()["results"]] == [mine.pk]
