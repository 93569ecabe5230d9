"""The dealership administrator's pages (/staff/): users, tokens, settings and the audit trail.

Each page is tested for the owner (the admin role), a colleague of another role (403) and an
administrator of another dealership (404 for our users and tokens).
"""

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from dealercrm.core.exceptions import ApplicationError
from dealercrm.core.models import ApiToken, Membership
from dealercrm.core.roles import Role
from dealercrm.core.staff import services
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
User = get_user_model()
GOOD_PASSWORD = "Kettle-Mango-7281"


@pytest.fixture
def admin_of_b(other_dealership):
    return UserFactory(username="admin-b", role=Role.ADMIN, dealerships=[other_dealership])


@pytest.fixture
def a_token(advisor, admin_user):
    token, _key = services.token_issue(acting_user=admin_user, user=advisor, name="DMS sync")
    return token


def pages(advisor, a_token):
    return [
        reverse("staff:users"),
        reverse("staff:user-create"),
        reverse("staff:user-edit", args=[advisor.pk]),
        reverse("staff:user-password", args=[advisor.pk]),
        reverse("staff:tokens"),
        reverse("staff:token-create"),
        reverse("staff:dealership"),
        reverse("staff:audit"),
    ]


def test_every_page_opens_for_the_admin_role(client_for, admin_user, advisor, a_token):
    client = client_for(admin_user)
    for url in pages(advisor, a_token):
        response = client.get(url)
        assert response.status_code == 200, url
        assert 'data-testid="staff-tabs"' in response.content.decode()


@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AGENT, Role.CC_MANAGER, Role.AS_MANAGER])
def test_other_roles_are_refused(client_for, users, role, advisor, a_token):
    client = client_for(users[role])
    for url in pages(advisor, a_token):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("staff:user-deactivate", args=[advisor.pk])).status_code == 403
    assert client.post(reverse("staff:token-revoke", args=[a_token.token_key])).status_code == 403
    advisor.refresh_from_db()
    assert advisor.is_active and ApiToken.objects.filter(pk=a_token.pk).exists()


def test_an_admin_of_another_dealership_finds_none_of_ours(client_for, admin_of_b, advisor, a_token):
    client = client_for(admin_of_b)
    for url in [
        reverse("staff:user-edit", args=[advisor.pk]),
        reverse("staff:user-password", args=[advisor.pk]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.post(reverse("staff:user-deactivate", args=[advisor.pk])).status_code == 404
    assert client.post(reverse("staff:token-revoke", args=[a_token.token_key])).status_code == 404
    listed = client.get(reverse("staff:users")).content.decode()
    assert "advisor" not in listed
    assert "DMS sync" not in client.get(reverse("staff:tokens")).content.decode()
    advisor.refresh_from_db()
    assert advisor.is_active and ApiToken.objects.filter(pk=a_token.pk).exists()


def test_the_menu_offers_administration_to_the_admin_role_only(client_for, admin_user, as_manager):
    counter = reverse("customers:counter")
    assert 'data-testid="nav-staff"' in client_for(admin_user).get(counter).content.decode()
    assert 'data-testid="nav-staff"' not in client_for(as_manager).get(counter).content.decode()


# --- users ------------------------------------------------------------------------------------------------


def test_the_admin_creates_a_user_who_can_log_in(client_for, admin_user, dealership, client):
    page = client_for(admin_user)
    response = page.post(
        reverse("staff:user-create"),
        {
            "username": "newagent",
            "display_name": "王小明",
            "role": Role.AGENT,
            "dealerships": [dealership.pk],
            "password": GOOD_PASSWORD,
        },
    )
    assert response.status_code == 302
    created = User.objects.get(username="newagent")
    assert (created.role, created.is_staff, created.is_superuser) == (Role.AGENT, False, False)
    assert list(created.dealerships.all()) == [dealership]
    page.logout()
    assert client.login(username="newagent", password=GOOD_PASSWORD)


def test_a_weak_password_is_refused_with_nothing_saved(client_for, admin_user, dealership):
    response = client_for(admin_user).post(
        reverse("staff:user-create"),
        {"username": "weak", "role": Role.AGENT, "dealerships": [dealership.pk], "password": "12345678"},
    )
    assert response.status_code == 200
    assert "password" in response.context["form"].errors
    assert not User.objects.filter(username="weak").exists()


def test_a_user_cannot_be_given_a_dealership_that_is_not_the_admins(client_for, admin_user, other_dealership):
    response = client_for(admin_user).post(
        reverse("staff:user-create"),
        {"username": "sneaky", "role": Role.ADMIN, "dealerships": [other_dealership.pk], "password": GOOD_PASSWORD},
    )
    assert response.status_code == 200
    assert not User.objects.filter(username="sneaky").exists()


def test_editing_a_user_of_two_stores_only_changes_the_admins_membership(
    client_for, admin_user, dealership, other_dealership
):
    # given a user of A and B, and an admin of A only
    both = UserFactory(username="both", role=Role.ADVISOR, dealerships=[dealership, other_dealership])
    client = client_for(admin_user)
    url = reverse("staff:user-edit", args=[both.pk])
    assert 'data-testid="user-shared"' in client.get(url).content.decode()
    # when the admin renames them: saved, and the B membership is still there
    response = client.post(url, {"display_name": "两店", "role": Role.ADVISOR, "dealerships": [dealership.pk]})
    assert response.status_code == 302
    both.refresh_from_db()
    assert both.display_name == "两店"
    assert set(both.dealerships.values_list("code", flat=True)) == {"SZ01", "GZ02"}
    # and when they take A away, the user stays in B (and leaves the admin's list)
    response = client.post(url, {"display_name": "两店", "role": Role.ADVISOR})
    assert response.status_code == 302
    assert set(both.dealerships.values_list("code", flat=True)) == {"GZ02"}
    assert client.get(url).status_code == 404


def test_what_reaches_another_store_is_not_the_admins_to_change(client_for, admin_user, dealership, other_dealership):
    # a user's role, password, active flag and tokens reach all their dealerships: the admin of A alone may
    # not change them for a user who also works in B (else they could act in B as that user)
    both = UserFactory(username="both", role=Role.ADVISOR, dealerships=[dealership, other_dealership])
    client = client_for(admin_user)
    refused = client.post(
        reverse("staff:user-edit", args=[both.pk]),
        {"display_name": "", "role": Role.ADMIN, "dealerships": [dealership.pk]},
    )
    assert refused.status_code == 403 and "do not administer" in refused.content.decode()
    refused = client.post(
        reverse("staff:user-password", args=[both.pk]), {"password": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    )
    assert refused.status_code == 403 and "do not administer" in refused.content.decode()
    client.post(reverse("staff:user-deactivate", args=[both.pk]), {"confirmed": "yes"})
    refused = client.post(reverse("staff:token-create"), {"user": both.pk, "name": "x", "days": 90})
    assert refused.status_code == 200 and "user" in refused.context["form"].errors  # not even offered
    with pytest.raises(services.SharedUser):
        services.token_issue(acting_user=admin_user, user=both, name="x")
    both.refresh_from_db()
    assert (both.role, both.is_active, both.check_password("pass-1234")) == (Role.ADVISOR, True, True)
    assert not ApiToken.objects.filter(user=both).exists()


def test_a_user_is_never_left_without_a_dealership(admin_user, dealership):
    only_a = UserFactory(username="only-a", dealerships=[dealership])
    with pytest.raises(ApplicationError) as refused:
        services.staff_update(acting_user=admin_user, user=only_a, role=only_a.role, display_name="", dealerships=[])
    assert refused.value.code == "no_dealership"
    assert list(only_a.dealerships.values_list("code", flat=True)) == ["SZ01"]


def test_deactivation_ends_sessions_and_tokens(client_for, admin_user, advisor, api_client_for, client):
    # given the advisor logged in and with an API token
    from django.test import Client

    session = Client()
    session.force_login(advisor)
    api = api_client_for(advisor)
    assert session.get(reverse("customers:counter")).status_code == 200
    assert api.get(reverse("api-customer-list")).status_code == 200
    # when the admin deactivates them
    response = client_for(admin_user).post(reverse("staff:user-deactivate", args=[advisor.pk]), {"confirmed": "yes"})
    assert response.status_code == 302
    # then neither the session nor the token works any more
    assert session.get(reverse("customers:counter")).status_code == 302
    assert api.get(reverse("api-customer-list")).status_code == 401
    # and reactivation lets the token work again
    client_for(admin_user).post(reverse("staff:user-reactivate", args=[advisor.pk]))
    assert api.get(reverse("api-customer-list")).status_code == 200


def test_the_admin_cannot_deactivate_themselves(client_for, admin_user):
    client = client_for(admin_user)
    response = client.post(reverse("staff:user-deactivate", args=[admin_user.pk]), follow=True)
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert "You may not deactivate yourself." in response.content.decode()


def test_a_password_reset_is_validated_and_works(client_for, admin_user, advisor, client):
    page = client_for(admin_user)
    url = reverse("staff:user-password", args=[advisor.pk])
    refused = page.post(url, {"password": "advisor", "password2": "advisor"})
    assert refused.status_code == 200 and "password" in refused.context["form"].errors
    assert page.post(url, {"password": GOOD_PASSWORD, "password2": GOOD_PASSWORD}).status_code == 302
    page.logout()
    assert client.login(username="advisor", password=GOOD_PASSWORD)


def test_superusers_and_staff_are_not_the_admins_to_manage(client_for, admin_user, dealership):
    operator = UserFactory(username="op", dealerships=[dealership], is_superuser=True, is_staff=True)
    client = client_for(admin_user)
    assert client.get(reverse("staff:user-edit", args=[operator.pk])).status_code == 404
    assert "op" not in [u.username for u in client.get(reverse("staff:users")).context["users"]]


# --- tokens -----------------------------------------------------------------------------------------------


def test_a_token_is_issued_shown_once_and_stored_hashed(client_for, admin_user, advisor, api_client_for):
    page = client_for(admin_user)
    response = page.post(reverse("staff:token-create"), {"user": advisor.pk, "name": "BI tool", "days": 30})
    assert response.status_code == 200
    key = response.context["key"]
    assert response["Cache-Control"] == "no-store"
    token = ApiToken.objects.get(name="BI tool")
    assert key not in (token.digest, token.token_key) and key.startswith(token.token_key)
    assert token.created_by == admin_user and token.user == advisor
    assert 29 <= (token.expiry - token.created).days <= 30
    # the key is in no later page
    assert key not in page.get(reverse("staff:tokens")).content.decode()
    assert key not in page.get(reverse("staff:user-edit", args=[advisor.pk])).content.decode()


def test_a_revoked_token_stops_working(client_for, admin_user, advisor):
    from rest_framework.test import APIClient

    token, key = services.token_issue(acting_user=admin_user, user=advisor, name="DMS")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert api.get(reverse("api-customer-list")).status_code == 200
    client_for(admin_user).post(reverse("staff:token-revoke", args=[token.token_key]), {"confirmed": "yes"})
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert api.get(reverse("api-customer-list")).status_code == 401


# --- dealership settings ----------------------------------------------------------------------------------


def test_the_admin_changes_the_dealerships_settings(client_for, admin_user, dealership):
    response = client_for(admin_user).post(
        reverse("staff:dealership"), {"name": "深圳别克南山店", "time_zone": "Asia/Urumqi", "plate_prefix": "粤b"}
    )
    assert response.status_code == 302
    dealership.refresh_from_db()
    assert (dealership.name, dealership.time_zone, dealership.plate_prefix) == ("深圳别克南山店", "Asia/Urumqi", "粤B")


@pytest.mark.parametrize("prefix", ["B粤", "粤I", "X", "粤BB"])
def test_a_bad_plate_prefix_is_refused(client_for, admin_user, dealership, prefix):
    response = client_for(admin_user).post(
        reverse("staff:dealership"), {"name": "新名字", "time_zone": "Asia/Shanghai", "plate_prefix": prefix}
    )
    assert response.status_code == 200
    assert response.context["form"].errors
    dealership.refresh_from_db()
    assert (dealership.name, dealership.plate_prefix) == ("深圳别克4S店", "粤B")


# --- audit ------------------------------------------------------------------------------------------------


def test_the_audit_trail_shows_who_changed_what_from_what_to_what(client_for, admin_user, advisor, dealership):
    client = client_for(admin_user)
    client.post(
        reverse("staff:user-edit", args=[advisor.pk]),
        {"display_name": "陈晓东", "role": Role.AS_MANAGER, "dealerships": [dealership.pk]},
    )
    client.post(
        reverse("staff:user-password", args=[advisor.pk]), {"password": GOOD_PASSWORD, "password2": GOOD_PASSWORD}
    )
    client.post(reverse("staff:user-deactivate", args=[advisor.pk]), {"confirmed": "yes"})
    client.post(reverse("staff:dealership"), {"name": "南山店", "time_zone": "Asia/Shanghai", "plate_prefix": "粤B"})

    events = client.get(reverse("staff:audit")).context["events"]
    by_reason = {e.reason: e for e in events if e.reason}
    assert by_reason["password reset"].who == admin_user
    assert by_reason["deactivated"].changes[0].new == "no"
    role_change = next(e for e in events if any(c.field == "role" for c in e.changes))
    change = next(c for c in role_change.changes if c.field == "role")
    assert (role_change.who, role_change.record, change.old, change.new) == (
        admin_user,
        "advisor",
        "Service advisor",
        "After-sales manager",
    )
    renamed = next(e for e in events if e.what == "dealership")
    assert [(c.field, c.old, c.new) for c in renamed.changes] == [("name", "深圳别克4S店", "南山店")]
    # the hash of the password is in no history row
    assert not hasattr(advisor.history.model, "password")


def test_another_dealerships_admin_sees_none_of_our_audit(client_for, admin_user, admin_of_b, advisor, dealership):
    client_for(admin_user).post(reverse("staff:user-deactivate", args=[advisor.pk]), {"confirmed": "yes"})
    events = client_for(admin_of_b).get(reverse("staff:audit")).context["events"]
    assert all(e.record != "advisor" for e in events)
    assert not any(e.what == "dealership" and e.record == dealership.code for e in events)


def test_the_audit_page_reads_in_a_fixed_number_of_queries(client_for, admin_user, advisor, dealership):
    client = client_for(admin_user)
    services.token_issue(acting_user=admin_user, user=advisor, name="x")
    Membership.objects.count()

    def count():
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("staff:audit")).status_code == 200
        return len(captured)

    before = count()
    for n in range(5):
        services.staff_create(
            acting_user=admin_user,
            username=f"u{n}",
            display_name="",
            role=Role.AGENT,
            dealerships=[dealership],
            password=GOOD_PASSWORD,
        )
    assert count() == before


def test_deactivating_and_revoking_ask_first(client_for, admin_user, advisor, a_token):
    client = client_for(admin_user)
    # a first POST only asks
    asked = client.post(reverse("staff:user-deactivate", args=[advisor.pk]))
    assert asked.status_code == 200 and 'data-testid="confirm-step"' in asked.content.decode()
    asked = client.post(reverse("staff:token-revoke", args=[a_token.token_key]), {"next": "/staff/"})
    assert asked.status_code == 200 and 'name="next" value="/staff/"' in asked.content.decode()
    advisor.refresh_from_db()
    assert advisor.is_active and ApiToken.objects.filter(pk=a_token.pk).exists()
    # the confirmed POST acts
    client.post(reverse("staff:user-deactivate", args=[advisor.pk]), {"confirmed": "yes"})
    done = client.post(reverse("staff:token-revoke", args=[a_token.token_key]), {"confirmed": "yes", "next": "/staff/"})
    assert done["Location"] == "/staff/"
    advisor.refresh_from_db()
    assert not advisor.is_active and not ApiToken.objects.filter(pk=a_token.pk).exists()
