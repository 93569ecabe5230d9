"""API tokens (django-rest-knox with DealerCRM's token model) and the staff REST endpoints.

Tokens are stored as digests, expire, are revocable and record their last use at most once a minute.
The /api/v1/staff/ endpoints follow the role table ("staff.manage") and the admin's dealerships.
"""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from dealercrm.core.auth import LAST_USED_RESOLUTION
from dealercrm.core.models import ApiToken
from dealercrm.core.roles import Role
from dealercrm.core.staff import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
GOOD_PASSWORD = "Kettle-Mango-7281"


def _client(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


@pytest.fixture
def issued(admin_user, advisor):
    return services.token_issue(acting_user=admin_user, user=advisor, name="DMS sync", days=30)


@pytest.fixture
def admin_of_b(other_dealership):
    return UserFactory(username="admin-b", role=Role.ADMIN, dealerships=[other_dealership])


def test_the_token_endpoint_answers_a_key_shown_once_with_the_default_expiry(advisor):
    response = APIClient().post(
        reverse("api-token"), {"username": "advisor", "password": "pass-1234", "name": "BI"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    token = ApiToken.objects.get(user=advisor)
    assert body["token"].startswith(token.token_key) and body["token"] != token.digest
    assert token.name == "BI"
    assert timedelta(days=89) < token.expiry - timezone.now() <= timedelta(days=90)
    assert _client(body["token"]).get(reverse("api-customer-list")).status_code == 200


def test_an_expired_token_is_refused(issued):
    token, key = issued
    with time_machine.travel(token.expiry + timedelta(seconds=1)):
        assert _client(key).get(reverse("api-customer-list")).status_code == 401


def test_a_token_of_a_deactivated_user_is_refused(issued, admin_user, advisor):
    _token, key = issued
    services.staff_set_active(acting_user=admin_user, user=advisor, active=False)
    assert _client(key).get(reverse("api-customer-list")).status_code == 401


def test_last_use_is_written_at_most_once_a_minute(issued, django_assert_num_queries):
    token, key = issued
    api = _client(key)
    url = reverse("api-customer-list")
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api.get(url)
    token.refresh_from_db()
    assert token.last_used_at == start

    # within the minute: no write at all (the same number of queries as a request that just wrote it, minus one)
    with time_machine.travel(start + timedelta(seconds=30), tick=False):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as quiet:
            api.get(url)
    assert not [q for q in quiet.captured_queries if q["sql"].startswith("UPDATE")]
    token.refresh_from_db()
    assert token.last_used_at == start

    # a minute on: written again, once
    later = start + LAST_USED_RESOLUTION + timedelta(seconds=1)
    with time_machine.travel(later, tick=False), CaptureQueriesContext(connection) as busy:
        api.get(url)
    updates = [q for q in busy.captured_queries if q["sql"].startswith("UPDATE")]
    assert len(updates) == 1 and "last_used_at" in updates[0]["sql"]
    token.refresh_from_db()
    assert token.last_used_at == later
    # and no history row per use
    assert token.history.count() == 1


def test_the_schema_documents_the_token_header_and_the_staff_endpoints(client, admin_user):
    client.force_login(admin_user)
    schema = client.get(reverse("api-schema"), {"format": "json"}).json()
    assert schema["components"]["securitySchemes"]["tokenAuth"]["name"] == "Authorization"
    assert {"/api/v1/staff/users/", "/api/v1/staff/tokens/", "/api/v1/staff/tokens/{token_key}/"} <= set(
        schema["paths"]
    )
    assert "429" in schema["paths"]["/api/v1/auth/token/"]["post"]["responses"]


# --- /api/v1/staff/ ---------------------------------------------------------------------------------------


def test_the_admin_lists_and_creates_users_through_the_api(api_client_for, admin_user, advisor, dealership):
    api = api_client_for(admin_user)
    listed = api.get(reverse("api-staff-user-list")).json()["results"]
    assert {row["username"] for row in listed} == {"administrator", "advisor"}
    created = api.post(
        reverse("api-staff-user-list"),
        {"username": "dms-sync", "role": Role.ADVISOR, "password": GOOD_PASSWORD, "dealerships": ["SZ01"]},
        format="json",
    )
    assert created.status_code == 201, created.content
    assert created.json()["dealerships"] == ["SZ01"]
    assert "password" not in created.json()


def test_the_admin_issues_and_revokes_a_token_through_the_api(api_client_for, admin_user, advisor):
    api = api_client_for(admin_user)
    issued = api.post(
        reverse("api-staff-token-list"), {"user": advisor.pk, "name": "WeChat", "days": 30}, format="json"
    )
    assert issued.status_code == 201, issued.content
    key = issued.json()["token"]
    prefix = issued.json()["token_key"]
    assert _client(key).get(reverse("api-customer-list")).status_code == 200
    # the key is never listed again
    listing = api.get(reverse("api-staff-token-list")).content.decode()
    assert key not in listing and prefix in listing
    assert api.delete(reverse("api-staff-token-detail", args=[prefix])).status_code == 204
    assert _client(key).get(reverse("api-customer-list")).status_code == 401


@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AGENT, Role.CC_MANAGER, Role.AS_MANAGER])
def test_other_roles_get_403_from_the_staff_api(api_client_for, users, role, advisor, issued):
    api = api_client_for(users[role])
    assert api.get(reverse("api-staff-user-list")).status_code == 403
    assert api.get(reverse("api-staff-token-list")).status_code == 403
    assert api.post(reverse("api-staff-user-deactivate", args=[advisor.pk])).status_code == 403
    assert api.delete(reverse("api-staff-token-detail", args=[issued[0].token_key])).status_code == 403


def test_an_admin_of_another_dealership_gets_404(api_client_for, admin_of_b, advisor, issued):
    api = api_client_for(admin_of_b)
    assert api.get(reverse("api-staff-user-detail", args=[advisor.pk])).status_code == 404
    assert api.post(reverse("api-staff-user-deactivate", args=[advisor.pk])).status_code == 404
    assert (
        api.patch(reverse("api-staff-user-detail", args=[advisor.pk]), {"role": "admin"}, format="json").status_code
        == 404
    )
    assert api.delete(reverse("api-staff-token-detail", args=[issued[0].token_key])).status_code == 404
    password = reverse("api-staff-user-set-password", args=[advisor.pk])
    assert api.post(password, {"password": "short"}, format="json").status_code == 404  # not 400: not even there
    assert (
        api.post(reverse("api-staff-token-list"), {"user": advisor.pk, "name": "x"}, format="json").status_code == 404
    )
    advisor.refresh_from_db()
    assert advisor.is_active and advisor.role == Role.ADVISOR


def test_the_api_cannot_make_staff_or_superusers(api_client_for, admin_user):
    api = api_client_for(admin_user)
    created = api.post(
        reverse("api-staff-user-list"),
        {"username": "x", "role": Role.ADMIN, "password": GOOD_PASSWORD, "is_superuser": True, "is_staff": True},
        format="json",
    )
    assert created.status_code == 201
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="x")
    assert not user.is_superuser and not user.is_staff


def test_a_weak_password_is_refused_on_the_field(api_client_for, admin_user, advisor):
    api = api_client_for(admin_user)
    response = api.post(reverse("api-staff-user-set-password", args=[advisor.pk]), {"password": "123"}, format="json")
    assert response.status_code == 400
    assert "password" in response.json()["fields"]


def test_a_taken_username_is_refused_with_its_code(api_client_for, admin_user, advisor):
    api = api_client_for(admin_user)
    response = api.post(
        reverse("api-staff-user-list"),
        {"username": "ADVISOR", "role": Role.AGENT, "password": GOOD_PASSWORD},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "username_taken" and "username" in response.json()["fields"]


def test_the_api_refuses_an_admin_what_would_reach_another_store(
    api_client_for, admin_user, dealership, other_dealership
):
    both = UserFactory(username="both", role=Role.ADVISOR, dealerships=[dealership, other_dealership])
    api = api_client_for(admin_user)
    token = api.post(reverse("api-staff-token-list"), {"user": both.pk, "name": "x"}, format="json")
    assert token.status_code == 403 and token.json()["code"] == "shared_user"
    promoted = api.patch(reverse("api-staff-user-detail", args=[both.pk]), {"role": Role.ADMIN}, format="json")
    assert promoted.status_code == 403 and promoted.json()["code"] == "shared_user"
    password = api.post(
        reverse("api-staff-user-set-password", args=[both.pk]), {"password": GOOD_PASSWORD}, format="json"
    )
    assert password.status_code == 403
    assert api.post(reverse("api-staff-user-deactivate", args=[both.pk])).status_code == 403
    both.refresh_from_db()
    assert (both.role, both.is_active) == (Role.ADVISOR, True) and not ApiToken.objects.filter(user=both).exists()
    # renaming them is theirs to do
    renamed = api.patch(reverse("api-staff-user-detail", args=[both.pk]), {"display_name": "两店"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["dealerships"] == ["SZ01"]


@pytest.mark.parametrize("path", ["/api/v1/staff/users/abc/", "/api/v1/staff/users/%60%C3%AD/deactivate/"])
def test_a_malformed_id_is_not_found(api_client_for, admin_user, path):
    api = api_client_for(admin_user)
    response = api.get(path) if path.endswith("abc/") else api.post(path)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
