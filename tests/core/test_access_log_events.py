"""Access events written where things happen: every failed sign-in (the login page, the admin's login, the
token endpoint; locked out too) and every API token created or revoked (the staff pages, the staff API, the
token endpoint): exactly one event each, with the username and the address."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from dealercrm.core.models import AccessEvent, ApiToken
from dealercrm.core.staff import services

pytestmark = pytest.mark.django_db
Kind = AccessEvent.Kind
RIGHT = "pass-1234"  # tests.factories.UserFactory's password
ADDRESS = "203.0.113.7"


def events(kind):
    return list(AccessEvent.objects.filter(kind=kind).order_by("id"))


# --- failed sign-ins ------------------------------------------------------------------------------------------


def test_a_failed_sign_in_on_the_login_page_is_one_event(client, advisor, admin_user):
    response = client.post(reverse("login"), {"username": "advisor", "password": "wrong"}, REMOTE_ADDR=ADDRESS)
    assert response.status_code == 200  # the form again
    [failed] = events(Kind.LOGIN_FAILED)
    assert (failed.username, failed.user, failed.ip, failed.dealership) == ("advisor", advisor, ADDRESS, None)
    assert failed.what == "sign-in"
    assert AccessEvent.objects.count() == 1
    # the administrator of the advisor's dealership finds it on the access log
    client.force_login(admin_user)
    assert [e.pk for e in client.get(reverse("staff:access-log")).context["page"]] == [failed.pk]


def test_an_unknown_username_is_recorded_as_tried(client):
    client.post(reverse("login"), {"username": "guess", "password": "wrong"})
    [failed] = events(Kind.LOGIN_FAILED)
    assert (failed.username, failed.user) == ("guess", None)


def test_a_successful_sign_in_is_no_event(client, advisor):
    assert client.post(reverse("login"), {"username": "advisor", "password": RIGHT}).status_code == 302
    assert not AccessEvent.objects.exists()


def test_a_failed_sign_in_at_the_token_endpoint_is_one_event(advisor):
    response = APIClient().post(
        reverse("api-token"), {"username": "advisor", "password": "wrong"}, format="json", REMOTE_ADDR=ADDRESS
    )
    assert response.status_code == 400
    [failed] = events(Kind.LOGIN_FAILED)
    assert (failed.username, failed.user, failed.ip, failed.what) == ("advisor", advisor, ADDRESS, "sign-in (API)")
    assert not ApiToken.objects.exists() and not events(Kind.TOKEN_CREATED)


def test_a_failed_admin_login_is_one_event(client, django_user_model):
    django_user_model.objects.create_superuser("operator", "op@example.com", RIGHT)
    client.post(reverse("admin:login"), {"username": "operator", "password": "wrong", "next": "/admin/"})
    assert [e.username for e in events(Kind.LOGIN_FAILED)] == ["operator"]


def test_a_session_user_is_not_blamed_for_anothers_failed_sign_in(client, admin_user, advisor):
    client.force_login(admin_user)
    APIClient().post(reverse("api-token"), {"username": "advisor", "password": "wrong"}, format="json")
    client.post(reverse("login"), {"username": "advisor", "password": "wrong"})
    assert [(e.user, e.username) for e in events(Kind.LOGIN_FAILED)] == [(advisor, "advisor")] * 2


@pytest.mark.parametrize("where", ["login", "api-token"])
def test_every_attempt_is_one_event_also_when_locked_out(client, settings, advisor, where):
    # Given the lockout on (off in the test settings) and more attempts than it allows
    settings.AXES_ENABLED = True
    attempts = settings.AXES_FAILURE_LIMIT + 3
    post = (
        (lambda password: client.post(reverse("login"), {"username": "advisor", "password": password}))
        if where == "login"
        else (
            lambda password: APIClient().post(
                reverse("api-token"), {"username": "advisor", "password": password}, format="json"
            )
        )
    )

    # When someone keeps trying, then tries the right password while locked out
    answers = [post("wrong").status_code for _ in range(attempts)]
    answers.append(post(RIGHT).status_code)

    # Then each attempt is one event, the refused right password too, and the last ones say "locked out"
    assert answers[-1] == 429
    failed = events(Kind.LOGIN_FAILED)
    assert len(failed) == attempts + 1
    assert {e.username for e in failed} == {"advisor"}
    assert failed[-1].details == {"locked_out": True}
    assert not failed[0].details
    assert not events(Kind.TOKEN_CREATED)


# --- API tokens -------------------------------------------------------------------------------------------------


def test_a_token_issued_on_the_staff_page_is_one_event(client_for, admin_user, advisor, dealership):
    response = client_for(admin_user).post(
        reverse("staff:token-create"), {"user": advisor.pk, "name": "DMS sync", "days": 30}, REMOTE_ADDR=ADDRESS
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=advisor)
    [created] = events(Kind.TOKEN_CREATED)
    assert (created.user, created.dealership, created.ip) == (admin_user, dealership, ADDRESS)
    assert created.details["token_key"] == token.token_key and created.details["token_user"] == "advisor"
    assert created.details["name"] == "DMS sync"
    assert AccessEvent.objects.count() == 1


def test_a_refused_token_is_no_event(client_for, admin_user, advisor):
    client_for(admin_user).post(reverse("staff:token-create"), {"user": advisor.pk, "name": " ", "days": 30})
    assert not ApiToken.objects.exists() and not AccessEvent.objects.exists()


def test_a_token_revoked_on_the_staff_page_is_one_event_after_the_confirmation(
    client_for, admin_user, advisor, dealership
):
    token, _key = services.token_issue(acting_user=admin_user, user=advisor, name="DMS sync")
    client = client_for(admin_user)
    url = reverse("staff:token-revoke", args=[token.token_key])
    # the confirmation step changes nothing
    assert client.post(url).status_code == 200
    assert not events(Kind.TOKEN_REVOKED)
    assert client.post(url, {"confirmed": "yes"}, REMOTE_ADDR=ADDRESS).status_code == 302
    [revoked] = events(Kind.TOKEN_REVOKED)
    assert (revoked.user, revoked.dealership, revoked.ip) == (admin_user, dealership, ADDRESS)
    assert revoked.details["token_key"] == token.token_key
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_the_staff_api_writes_one_event_per_token_created_and_revoked(api_client_for, admin_user, advisor, dealership):
    api = api_client_for(admin_user)  # its own token comes from the tests' fixture, not the endpoint: no event
    assert not AccessEvent.objects.exists()
    response = api.post(reverse("api-staff-token-list"), {"user": advisor.pk, "name": "BI", "days": 90}, format="json")
    assert response.status_code == 201
    key = response.json()["token_key"]
    [created] = events(Kind.TOKEN_CREATED)
    assert (created.user, created.dealership, created.details["token_key"]) == (admin_user, dealership, key)
    assert api.delete(reverse("api-staff-token-detail", args=[key])).status_code == 204
    [revoked] = events(Kind.TOKEN_REVOKED)
    assert (revoked.user, revoked.dealership, revoked.details["token_key"]) == (admin_user, dealership, key)
    assert AccessEvent.objects.count() == 2


def test_a_token_from_the_token_endpoint_is_one_event(client_for, advisor, admin_user, dealership):
    response = APIClient().post(
        reverse("api-token"),
        {"username": "advisor", "password": RIGHT, "name": "BI"},
        format="json",
        REMOTE_ADDR=ADDRESS,
    )
    assert response.status_code == 200
    token = ApiToken.objects.get(user=advisor)
    [created] = events(Kind.TOKEN_CREATED)
    assert (created.user, created.dealership, created.ip) == (advisor, None, ADDRESS)
    assert created.details["token_key"] == token.token_key == response.json()["token"][: len(token.token_key)]
    assert AccessEvent.objects.count() == 1
    # no dealership of its own: the advisor's administrator sees it all the same
    page = client_for(admin_user).get(reverse("staff:access-log"), {"kind": Kind.TOKEN_CREATED})
    assert [e.pk for e in page.context["page"]] == [created.pk]
