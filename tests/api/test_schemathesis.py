"""Attack test: schemathesis over the whole published schema, for each role of the dealership.

Every operation is called with data generated from the schema (valid and invalid), authenticated as an
advisor, an agent, a call-centre manager, an after-sales manager and an administrator of a dealership with a
few real records of every kind; detail routes are called with the ids of those records as well as with
generated ones. Each answer must be no server error, conform to the schema (body, status code, content type,
headers). Bounded and deterministic: a few examples per operation, a fixed derandomised search, no
shrinking; about a minute per role on two cores.

The schema is generated in-process (as ``manage.py spectacular`` does), the requests go to the Django WSGI
application in the test database, and the token comes from ``api_client_for`` (``auth_header``).
"""

import json

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from campaigns import services as campaign_services
from campaigns.models import Invitation

CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
]
DEALERSHIP = "SZ01"  # the code of conftest's ``dealership``
ROLES = ["advisor", "agent", "cc_manager", "as_manager", "admin_user"]
#: examples per operation and generation mode: enough to reach every documented answer of a small API
EXAMPLES = {GenerationMode.POSITIVE: 3, GenerationMode.NEGATIVE: 2}
SEARCH = settings(
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is reported as found
    suppress_health_check=list(HealthCheck),
    report_multiple_bugs=False,
)


@pytest.fixture(scope="module")
def api_schema(django_db_blocker):
    """The published schema, generated in-process (the /api/schema/ endpoint is behind login)."""
    with django_db_blocker.unblock():
        document = SchemaGenerator().get_schema(request=None, public=True)
    return schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(document)))


@pytest.fixture
def wsgi_app():
    """Django's WSGI application, kept inside the test's transaction (as Django's test client does, the
    connection is not closed between requests)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield WSGIHandler()
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def known_ids(records, dealership, agent, as_manager):
    """Path prefix → the id of a real record of that kind (the longest prefix wins)."""
    campaign = records["campaign"]
    campaign_services.campaign_schedule(campaign=campaign)
    campaign_services.campaign_start(campaign=campaign, today=campaign.starts_on)
    campaign_services.invitation_list_generate(campaign=campaign, agents=[agent])
    term = campaign_services.compliance_term_add(dealership=dealership, kind="banned", phrase="第一品牌")
    invitation = Invitation.objects.filter(campaign=campaign).order_by("pk").first()
    return {
        "/api/v1/customers/{id}/": records["customers"][0].pk,
        "/api/v1/vehicles/{id}/": records["vehicles"][0].pk,
        "/api/v1/visits/{id}/": records["visits"][0].pk,
        "/api/v1/appointments/{id}/": records["appointment"].pk,
        "/api/v1/campaigns/campaigns/{id}/": campaign.pk,
        "/api/v1/campaigns/target-groups/{id}/": records["group"].pk,
        "/api/v1/campaigns/invitations/{id}/": invitation.pk if invitation else None,
        "/api/v1/campaigns/coupon-templates/{id}/": records["template"].pk,
        "/api/v1/campaigns/coupons/{id}/": records["coupons"][0].pk,
        "/api/v1/campaigns/compliance-terms/{id}/": term.pk,
        "/api/v1/segmentation/rules/{id}/": records["rule_set"].pk,
        "/api/v1/segmentation/runs/{id}/": records["run"].pk,
        "/api/v1/staff/users/{id}/": as_manager.pk,
    }


def _fixed_path(path: str, known: dict) -> dict | None:
    prefix = max((p for p in known if path.startswith(p) and known[p]), key=len, default=None)
    return {"id": known[prefix]} if prefix else None


def _exercise(operation, mode, headers, app, path_parameters=None, answered=None) -> str | None:
    """Run ``operation``'s generated cases; the first failure as text, or None. With ``path_parameters``
    (a real record's id) the dealership is named right too, so that the record is found."""
    fixed = {}
    if path_parameters:
        names = {parameter.name for parameter in operation.iter_parameters()}
        if "X-Dealership" in names:
            fixed["headers"] = {"X-Dealership": DEALERSHIP}
        if "dealership" in names:
            fixed["query"] = {"dealership": DEALERSHIP}
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters, **fixed)

    @settings(SEARCH, max_examples=EXAMPLES[mode])
    @given(case=strategy)
    def run(case):
        response = case.call(app=app, headers=headers)
        if answered is not None and 200 <= response.status_code < 300:
            answered.add(operation.label)
        case.validate_response(response, checks=CHECKS, headers=headers)

    try:
        run()
    except Unsatisfiable:  # nothing to negate in this operation
        return None
    except (Exception, BaseExceptionGroup) as exc:  # every failure is collected and reported together
        return f"{operation.label} [{mode.value}{' with a real id' if path_parameters else ''}]: {exc}"
    return None


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_every_operation_keeps_to_the_published_schema(role, request, api_schema, known_ids, auth_header, wsgi_app):
    user = request.getfixturevalue(role)
    headers = {"Authorization": auth_header(user)}
    failures, answered = [], set()
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) > 60  # the whole API, not an empty schema
    for operation in operations:
        fixed = _fixed_path(operation.path, known_ids)
        runs = [(GenerationMode.POSITIVE, None), (GenerationMode.NEGATIVE, None)]
        if fixed:
            runs.insert(0, (GenerationMode.POSITIVE, fixed))
        for mode, path_parameters in runs:
            failure = _exercise(operation, mode, headers, wsgi_app, path_parameters, answered)
            if failure:
                failures.append(failure)
    assert not failures, f"{len(failures)} operations failed as {role}:\n\n" + "\n\n".join(failures)
    # the attack got past the door: every role reads the records it may read (a run that only met 401, 403 and
    # 404 would pass the checks above and prove nothing)
    reads = {"GET /api/v1/customers/{id}/", "GET /api/v1/campaigns/campaigns/{id}/", "GET /api/v1/segmentation/rules/"}
    assert reads <= answered, sorted(answered)


def test_the_attack_reaches_real_records(known_ids):
    # Detail routes are also called with these ids: a missing one would leave the route to 404s only.
    assert all(known_ids.values()), known_ids
