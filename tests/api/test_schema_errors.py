"""The published schema documents the error contract and says what the responses hold (defect 8)."""

import json

import pytest
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer

pytestmark = pytest.mark.django_db

ERROR = {"$ref": "#/components/schemas/Error"}


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


def operations(schema):
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            yield path, method.upper(), operation


def test_the_error_component_is_the_contract(schema):
    error = schema["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "fields"}
    assert error["properties"]["fields"]["additionalProperties"] == {"type": "array", "items": {"type": "string"}}


def test_every_4xx_of_every_operation_is_documented_with_its_body(schema):
    for path, method, operation in operations(schema):
        statuses = {int(code) for code in operation["responses"] if code.isdigit()}
        if path == "/api/v1/auth/token/":
            pass  # the login itself: no 401/403 before it
        elif path.startswith("/api/v1/followups/webhooks/"):
            # a provider's call, signed with the shared secret: a bad signature is a 401; no user, so no 403
            assert 401 in statuses and 403 not in statuses, (method, path)
        else:
            assert {401, 403} <= statuses, (method, path)
        for code, response in operation["responses"].items():
            if code.startswith("4") and path != "/api/v1/import/":  # the import's 400 is its report
                assert response["content"]["application/json"]["schema"] == ERROR, (method, path, code)
                assert "`" in response["description"], (method, path, code)  # the codes it may carry


def test_the_statuses_follow_from_the_operation(schema):
    paths = schema["paths"]
    detail = paths["/api/v1/customers/{id}/"]
    assert {"400", "401", "403", "404"} <= detail["get"]["responses"].keys()
    assert {"400", "401", "403", "404", "409", "415"} <= detail["patch"]["responses"].keys()
    assert "409" not in detail["get"]["responses"]
    write = paths["/api/v1/customers/"]["post"]["responses"]["400"]["description"]
    assert all(f"`{code}`" in write for code in ("invalid", "parse_error", "dealership_required"))
    assert "`not_authenticated`" in paths["/api/v1/customers/"]["get"]["responses"]["401"]["description"]
    assert "WWW-Authenticate" in paths["/api/v1/customers/"]["get"]["responses"]["401"]["headers"]
    assert (
        "`coupon_redeemed`"
        in paths["/api/v1/campaigns/coupons/{id}/redeem/"]["post"]["responses"]["409"]["description"]
    )
    # a read that meets a state (a run that did not finish) declares its 409
    movement = paths["/api/v1/segmentation/runs/{id}/movement/"]["get"]["responses"]
    assert "`run_not_finished`" in movement["409"]["description"]


@pytest.mark.parametrize(
    ("component", "field"),
    [
        ("Coupon", "campaign_code"),
        ("Coupon", "redeemed_by"),
        ("Coupon", "redeemed_ro_number"),
        ("RuleSet", "created_by"),
        ("Run", "started_by"),
        ("ConsentEvent", "recorded_by"),
        ("Invitation", "appointment_date"),
    ],
)
def test_a_read_only_field_that_can_be_empty_is_nullable(schema, component, field):
    assert schema["components"]["schemas"][component]["properties"][field].get("nullable") is True


@pytest.mark.parametrize(("component", "field"), [("Customer", "consent_channel"), ("CustomerSegment", "c3_group")])
def test_a_blank_choice_is_in_the_schema(schema, component, field):
    assert {"$ref": "#/components/schemas/BlankEnum"} in schema["components"]["schemas"][component]["properties"][
        field
    ]["oneOf"]


def test_a_coupon_issued_at_the_counter_answers_the_nulls_the_schema_allows(schema, advisor, api_client_for, records):
    coupon = records["coupons"][1]  # no campaign, not redeemed
    body = api_client_for(advisor).get(reverse("api-campaign-coupon-detail", args=[coupon.pk])).json()
    properties = schema["components"]["schemas"]["Coupon"]["properties"]
    for name, value in body.items():
        assert value is not None or properties[name].get("nullable"), name
