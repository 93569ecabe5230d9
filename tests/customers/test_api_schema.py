"""The OpenAPI schema and the Swagger UI page of API v1."""

import json
import re

import pytest
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.urls import reverse
from drf_spectacular.validation import validate_schema

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema(client, as_manager):
    client.force_login(as_manager)  # the schema is for managers and administrators
    response = client.get(reverse("api-schema"), {"format": "json"})
    assert response.status_code == 200
    return json.loads(response.content)


def test_the_schema_generates_without_warnings_and_validates(tmp_path):
    # the same check CI runs: any warning or error fails
    target = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert "/api/v1/customers/" in target.read_text()


def test_the_schema_endpoint_serves_a_valid_openapi_document(schema):
    validate_schema(schema)  # raises on an invalid document
    assert schema["openapi"].startswith("3.")
    assert {
        "/api/v1/customers/",
        "/api/v1/customers/{id}/",
        "/api/v1/customers/{id}/consent/",
        "/api/v1/vehicles/",
        "/api/v1/vehicles/{id}/",
        "/api/v1/visits/",
        "/api/v1/visits/{id}/",
        "/api/v1/appointments/",
        "/api/v1/appointments/{id}/",
        "/api/v1/appointments/{id}/status/",
        "/api/v1/auth/token/",
    } <= set(schema["paths"])


def test_every_dealership_scoped_operation_documents_the_x_dealership_header(schema):
    for path, operations in schema["paths"].items():
        if path == "/api/v1/auth/token/" or path.startswith("/api/v1/followups/webhooks/"):
            continue  # no dealership: a token is exchanged here; providers sign their webhooks
        for method, operation in operations.items():
            headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
            assert "X-Dealership" in headers, f"{method.upper()} {path}"


def test_token_authentication_is_documented(schema):
    token = schema["components"]["securitySchemes"]["tokenAuth"]
    assert (token["type"], token["in"], token["name"]) == ("apiKey", "header", "Authorization")
    assert {"tokenAuth": []} in schema["paths"]["/api/v1/customers/"]["get"]["security"]
    assert "/api/v1/auth/token/" in schema["info"]["description"]
    body = schema["paths"]["/api/v1/auth/token/"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"].endswith("/AuthTokenRequest")


#: the only records the API deletes: a draft campaign's target groups, a store's own compliance terms, an
#: API token (revoked by an administrator; its history keeps who revoked it), and a store's own message template
#: (the built-in text is used again; its history keeps who deleted it)
DELETABLE = {
    "/api/v1/campaigns/target-groups/{id}/",
    "/api/v1/campaigns/compliance-terms/{id}/",
    "/api/v1/staff/tokens/{token_key}/",
    "/api/v1/followups/message-templates/{id}/",
    # a store's incentive tier table of a group back to the SPEC's defaults (the table, not a record, goes)
    "/api/v1/reports/incentive-tiers/{group}/",
}


def test_no_delete_operation_is_published_but_for_drafts_and_terms(schema):
    # Customers, vehicles, visits, appointments, campaigns, invitations and coupons are never deleted
    # (a coupon is voided).
    deleting = {path for path, operations in schema["paths"].items() if "delete" in operations}
    assert deleting == DELETABLE


def test_list_filters_are_documented(schema):
    params = {p["name"] for p in schema["paths"]["/api/v1/visits/"]["get"]["parameters"]}
    assert {"opened_on_after", "opened_on_before", "visit_type", "payer", "ro_number", "search", "cursor"} <= params


def test_the_docs_page_loads_its_assets_locally(client, cc_manager):
    # given no internet at the dealership (the app must work offline)
    client.force_login(cc_manager)
    response = client.get(reverse("api-docs"))
    assert response.status_code == 200
    html = response.content.decode()
    # then Swagger UI comes from the sidecar's static files, not from a CDN
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in assets
    assert all(url.startswith("/") and not url.startswith("//") for url in assets), assets
    assert not re.search(r"cdn\.|jsdelivr|unpkg|cdnjs", html)
    # and every asset it names is there to be served
    for url in assets:
        if url.startswith("/static/"):
            assert finders.find(url.removeprefix("/static/")), url
