"""Defect 1: the Django admin is for the platform's operators (active superusers) only.

A dealership's administrator (the "admin" role) of store B must read nothing of store A there, and no
API token is readable in the admin by anyone.
"""

import pytest
from django.urls import NoReverseMatch, reverse

from dealercrm.core.roles import Role
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def customer_of_a(dealership):
    return CustomerFactory(dealership=dealership, name="张三", customer_no="A0001")


@pytest.fixture
def admin_of_b(other_dealership):
    # as the demo made them before the fix: the "admin" role with staff status
    return UserFactory(username="admin-b", role=Role.ADMIN, dealerships=[other_dealership], is_staff=True)


ADMIN_PAGES = ["/admin/", "/admin/customers/customer/", "/admin/core/user/"]


@pytest.mark.parametrize("path", ADMIN_PAGES)
def test_a_dealership_admin_with_staff_status_gets_no_admin_content(client, admin_of_b, customer_of_a, path):
    # given an administrator of store B (even one marked staff)
    client.force_login(admin_of_b)
    # when they open the Django admin
    response = client.get(path)
    # then they are sent to the admin's login, and nothing of store A is shown
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert "张三" not in client.get(path, follow=True).content.decode()


def test_a_dealership_admin_cannot_open_a_customer_of_another_store(client, admin_of_b, customer_of_a):
    client.force_login(admin_of_b)
    response = client.get(reverse("admin:customers_customer_change", args=[customer_of_a.pk]))
    assert response.status_code == 302
    response = client.post(reverse("admin:customers_customer_change", args=[customer_of_a.pk]), {"name": "改"})
    assert response.status_code == 302
    customer_of_a.refresh_from_db()
    assert customer_of_a.name == "张三"


def test_no_token_is_registered_in_the_admin(client, api_client_for, advisor, django_user_model):
    # given a token, and an operator of the platform
    api_client_for(advisor)
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "pass-1234-x!")
    client.force_login(operator)
    # then neither DRF's token proxy (gone with rest_framework.authtoken) nor any token model is in the admin
    for name in (
        "admin:authtoken_tokenproxy_changelist",
        "admin:knox_authtoken_changelist",
        "admin:core_apitoken_changelist",
    ):
        with pytest.raises(NoReverseMatch):
            reverse(name)
    assert client.get("/admin/authtoken/tokenproxy/").status_code == 404
    index = client.get("/admin/")
    registered = {model["object_name"].lower() for app in index.context["app_list"] for model in app["models"]}
    assert registered and not any("token" in name for name in registered)


def test_a_superuser_reads_every_store(client, customer_of_a, django_user_model):
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "pass-1234-x!")
    client.force_login(operator)
    response = client.get(reverse("admin:customers_customer_change", args=[customer_of_a.pk]))
    assert response.status_code == 200
    assert "张三" in response.content.decode()


def test_an_inactive_superuser_is_not_let_in(client, django_user_model):
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "pass-1234-x!")
    operator.is_active = False
    operator.save()
    client.force_login(operator)
    assert client.get("/admin/").status_code == 302


def test_createsuperuser_still_makes_an_operator(client, django_user_model):
    from django.core.management import call_command

    call_command("createsuperuser", "--noinput", "--username=root2", "--email=r@example.com", verbosity=0)
    operator = django_user_model.objects.get(username="root2")
    assert operator.is_superuser and operator.is_staff
    client.force_login(operator)
    assert client.get("/admin/").status_code == 200
