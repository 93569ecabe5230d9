"""Defect 5: brute force on the login page, the admin login and the token endpoint ends in a lockout.

django-axes locks a username from an address after AXES_FAILURE_LIMIT failures in a row, for
AXES_COOLOFF_TIME: the right password is refused meanwhile, other users are unaffected, and after the
cool-off the right password works again. (Axes is off in the test settings: these tests switch it on.)
"""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db
RIGHT = "pass-1234"  # tests.factories.UserFactory's password
ATTEMPTS = 30


@pytest.fixture(autouse=True)
def axes_on(settings):
    settings.AXES_ENABLED = True
    settings.LANGUAGE_CODE = "en"
    return settings


def _login_page(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def _admin_login(client, username, password):
    return client.post(reverse("admin:login"), {"username": username, "password": password, "next": "/admin/"})


def _token(client, username, password):
    return client.post(reverse("api-token"), {"username": username, "password": password}, format="json")


def _hammer(login, client, username):
    answers = [login(client, username, "wrong-password").status_code for _ in range(ATTEMPTS)]
    return answers


def test_the_login_page_locks_a_username_after_repeated_failures(client, settings, advisor, as_manager):
    limit = settings.AXES_FAILURE_LIMIT
    answers = _hammer(_login_page, client, "advisor")
    # the first failures are answered with the form again, then the lockout page
    assert answers[: limit - 1] == [200] * (limit - 1)
    assert set(answers[limit:]) == {429}
    locked = _login_page(client, "advisor", RIGHT)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert 'data-testid="locked-out"' in page and "Too many failed logins" in page
    assert "_auth_user_id" not in client.session
    # another user logs in from the same address
    assert _login_page(client, "asmanager", RIGHT).status_code == 302
    client.logout()
    # after the cool-off the right password works again
    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)):
        assert _login_page(client, "advisor", RIGHT).status_code == 302


def test_the_lockout_page_is_translated(client, settings, advisor):
    settings.LANGUAGE_CODE = "zh-hans"
    _hammer(_login_page, client, "advisor")
    page = _login_page(client, "advisor", RIGHT).content.decode()
    assert "登录已暂时锁定" in page


def test_the_admin_login_locks_too(client, settings, django_user_model):
    django_user_model.objects.create_superuser("operator", "op@example.com", RIGHT)
    django_user_model.objects.create_superuser("operator2", "op2@example.com", RIGHT)
    answers = _hammer(_admin_login, client, "operator")
    assert set(answers[settings.AXES_FAILURE_LIMIT :]) == {429}
    assert _admin_login(client, "operator", RIGHT).status_code == 429
    assert client.get("/admin/").status_code == 302  # not logged in
    assert _admin_login(client, "operator2", RIGHT).status_code == 302
    client.logout()
    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)):
        assert _admin_login(client, "operator", RIGHT).status_code == 302
        assert client.get("/admin/").status_code == 200


def test_the_token_endpoint_answers_429_in_the_error_contract(settings, advisor, as_manager):
    api = APIClient()
    answers = _hammer(_token, api, "advisor")
    assert answers[: settings.AXES_FAILURE_LIMIT - 1] == [400] * (settings.AXES_FAILURE_LIMIT - 1)
    assert set(answers[settings.AXES_FAILURE_LIMIT :]) == {429}
    locked = _token(api, "advisor", RIGHT)
    assert locked.status_code == 429
    body = locked.json()
    assert body["code"] == "locked_out" and body["fields"] == {} and "Too many failed logins" in body["message"]
    assert "token" not in body
    # another user gets a token from the same address
    assert "token" in _token(api, "asmanager", RIGHT).json()
    with time_machine.travel(timezone.now() + settings.AXES_COOLOFF_TIME + timedelta(seconds=5)):
        answer = _token(api, "advisor", RIGHT)
        assert answer.status_code == 200 and answer.json()["token"]


def test_a_success_before_the_limit_starts_the_count_again(client, settings, advisor):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login_page(client, "advisor", "wrong-password")
    assert _login_page(client, "advisor", RIGHT).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login_page(client, "advisor", "wrong-password").status_code == 200
    assert _login_page(client, "advisor", RIGHT).status_code == 302


def test_failures_are_counted_per_client_behind_a_trusted_proxy(client, settings, advisor):
    # given one proxy in front, which appends the client's address to X-Forwarded-For
    settings.TRUSTED_PROXY_COUNT = 1

    def attempt(client_address, password, spoofed=""):
        forwarded = f"{spoofed}, {client_address}" if spoofed else client_address
        return client.post(
            reverse("login"),
            {"username": "advisor", "password": password},
            REMOTE_ADDR="10.0.0.2",
            HTTP_X_FORWARDED_FOR=forwarded,
        )

    # when one client fails too often, even writing a different address in front of its own
    for n in range(ATTEMPTS):
        attempt("203.0.113.7", "wrong-password", spoofed=f"198.51.100.{n}")
    # then that client is locked out, and the same user from another address is not
    assert attempt("203.0.113.7", RIGHT).status_code == 429
    assert attempt("203.0.113.8", RIGHT).status_code == 302
