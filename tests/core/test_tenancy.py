"""Who may do what (SPEC "Who uses it") and which dealership a request works in."""

import pytest
from django.urls import reverse

from dealercrm.core.roles import PERMISSIONS, Role, can
from dealercrm.core.tenancy import SESSION_KEY
from tests.factories import DealershipFactory, UserFactory

ADVISOR, AGENT, CC, AS, ADMIN = Role.ADVISOR, Role.AGENT, Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN
ROLES = [ADVISOR, AGENT, CC, AS, ADMIN]

# SPEC's table, row by row ("r" = read only: the *.view action). Columns: advisor, agent, cc manager,
# as manager, admin. ✓ and r are True, — is False.
SPEC_TABLE = {
    # search customers, customer 360: ✓ ✓ ✓ ✓ ✓
    "customer.view": (True, True, True, True, True),
    # create/edit customer, vehicle, visit; consent: ✓, consent only, consent only, ✓, ✓
    "customer.edit": (True, False, False, True, True),
    "customer.consent": (True, True, True, True, True),
    # redeem coupon, mark arrival: ✓ — — ✓ ✓
    "coupon.redeem": (True, False, False, True, True),
    "appointment.arrival": (True, False, False, True, True),
    # import from the DMS: — — — ✓ ✓
    "dms.import": (False, False, False, True, True),
    # segmentation rules, runs: r r r ✓ ✓
    "segmentation.view": (True, True, True, True, True),
    "segmentation.manage": (False, False, False, True, True),
    # campaigns, target groups, coupon templates: r r r ✓ ✓
    "campaign.view": (True, True, True, True, True),
    "campaign.manage": (False, False, False, True, True),
    # generate / assign call lists: — — ✓ ✓ ✓
    "calllist.manage": (False, False, True, True, True),
    # work own calls and follow-ups: — ✓ ✓ — —
    "calls.work": (False, True, True, False, False),
    # complaints: r (own visits), r, r, ✓, ✓
    "complaint.view": (True, True, True, True, True),
    "complaint.manage": (False, False, False, True, True),
    # opening one: whoever hears the customer (the counter, a call, a manager)
    "complaint.open": (True, True, True, True, True),
    # follow-ups (SPEC: the call-centre manager "watches progress per agent"; templates and settings with
    # campaigns and complaints: the after-sales manager's)
    "followups.overview": (False, False, True, True, True),
    "followups.manage": (False, False, False, True, True),
    # reports, dashboards, exports of personal data: —, own figures, ✓, ✓, ✓
    "reports.view": (False, True, True, True, True),
    "reports.all": (False, False, True, True, True),
    # (the agent's "own figures" are no export of the store's customers)
    "exports.personal": (False, False, True, True, True),
    # the API's schema and docs: "for managers and administrators" (issue 10), the call-centre manager included
    "api.docs": (False, False, True, True, True),
    # a full phone number, shown on purpose and logged (SPEC "Personal data": "the agent working the call, the
    # advisor at the counter, managers"; the agent only on their own call, through calls.work)
    "phone.reveal": (True, False, True, True, False),
    # a customer's data exported or erased on request, duplicates merged, the retention review: the after-sales
    # manager (exports of personal data, data quality) and the administrator
    "privacy.manage": (False, False, False, True, True),
    # users, roles, dealerships, audit trail: — — — — ✓
    "staff.manage": (False, False, False, False, True),
    "audit.view": (False, False, False, False, True),
}


class _User:
    """Just what ``can`` reads: the role table needs no database."""

    def __init__(self, role, *, is_active=True, is_authenticated=True):
        self.role = role
        self.is_active = is_active
        self.is_authenticated = is_authenticated


def test_every_action_in_the_code_is_in_the_spec_table():
    # A new action must be added to SPEC_TABLE above, with the SPEC's answer for each role.
    assert set(PERMISSIONS) == set(SPEC_TABLE)


@pytest.mark.parametrize("action", sorted(SPEC_TABLE))
@pytest.mark.parametrize("role", ROLES)
def test_role_table_matches_spec(action, role):
    expected = SPEC_TABLE[action][ROLES.index(role)]
    assert can(_User(role), action) is expected


@pytest.mark.parametrize("action", sorted(SPEC_TABLE))
def test_inactive_or_anonymous_users_may_do_nothing(action):
    assert can(_User(ADMIN, is_active=False), action) is False
    assert can(_User(ADMIN, is_authenticated=False), action) is False


def test_an_unknown_action_is_a_programming_error():
    with pytest.raises(KeyError):
        can(_User(ADMIN), "customer.destroy")


def test_has_perm_reads_the_same_table(db, advisor, as_manager):
    assert advisor.has_perm("dealercrm.customer.edit") is True
    assert advisor.has_perm("dealercrm.dms.import") is False
    assert as_manager.has_perm("dealercrm.dms.import") is True


# --- Which dealership a request works in ---------------------------------------------------------

COUNTER = "/customers/"


def current(response):
    assert response.status_code == 200, response.status_code
    return response.context["dealership"].code


@pytest.fixture
def two_store_user(dealership, other_dealership):
    """An advisor working in both SZ01 and GZ02 (GZ02 sorts first)."""
    return UserFactory(username="roaming", role=ADVISOR, dealerships=[dealership, other_dealership])


def test_counter_url():
    assert reverse("customers:counter") == COUNTER


def test_single_store_user_needs_no_choice(client_for, advisor):
    # Given an advisor of one store only
    client = client_for(advisor)

    # Then every page works in that store without naming it
    assert current(client.get(COUNTER)) == "SZ01"


def test_several_stores_default_to_the_first_by_code(client_for, two_store_user):
    assert current(client_for(two_store_user).get(COUNTER)) == "GZ02"


def test_query_parameter_chooses_the_store(client_for, two_store_user):
    client = client_for(two_store_user)

    assert current(client.get(COUNTER, {"dealership": "SZ01"})) == "SZ01"
    assert current(client.get(COUNTER, {"dealership": "sz01"})) == "SZ01"
    # only for that request
    assert current(client.get(COUNTER)) == "GZ02"


def test_header_chooses_the_store(client_for, two_store_user):
    response = client_for(two_store_user).get(COUNTER, headers={"X-Dealership": "SZ01"})

    assert current(response) == "SZ01"


def test_switcher_keeps_the_choice_in_the_session(client_for, two_store_user):
    # Given a user of two stores, working in GZ02 by default
    client = client_for(two_store_user)

    # When they pick SZ01 in the header switcher, on a page that named GZ02 explicitly
    response = client.post("/dealership/switch/", {"dealership": "SZ01", "next": f"{COUNTER}?dealership=GZ02"})

    # Then they land back on the page, without the old choice in the URL
    assert response.status_code == 302
    assert response.url == COUNTER
    # and later requests work in SZ01
    assert current(client.get(COUNTER)) == "SZ01"
    assert client.session[SESSION_KEY] == two_store_user.dealerships.get(code="SZ01").pk
    # while an explicit choice still wins for its own request
    assert current(client.get(COUNTER, {"dealership": "GZ02"})) == "GZ02"
    assert current(client.get(COUNTER)) == "SZ01"


def test_switcher_refuses_a_store_the_user_does_not_belong_to(client_for, advisor, other_dealership):
    client = client_for(advisor)

    response = client.post("/dealership/switch/", {"dealership": "GZ02"}, follow=True)

    assert SESSION_KEY not in client.session
    assert "You do not belong to that dealership." in [str(m) for m in response.context["messages"]]
    assert current(client.get(COUNTER)) == "SZ01"


def test_switcher_ignores_an_offsite_next(client_for, two_store_user):
    response = client_for(two_store_user).post(
        "/dealership/switch/", {"dealership": "SZ01", "next": "https://evil.example.com/"}
    )

    assert response.status_code == 302
    assert response.url == "/"


@pytest.mark.parametrize("how", ["query", "header"])
@pytest.mark.parametrize("code", ["GZ02", "NOPE99"])
def test_a_store_of_others_or_no_store_at_all_is_not_found(client_for, advisor, other_dealership, how, code):
    # Given an advisor of SZ01 only: GZ02 exists but is not theirs, NOPE99 does not exist
    client = client_for(advisor)

    # When they name it
    if how == "query":
        response = client.get(COUNTER, {"dealership": code})
    else:
        response = client.get(COUNTER, headers={"X-Dealership": code})

    # Then both answer 404 alike, so another store's existence is never confirmed
    assert response.status_code == 404


def test_an_inactive_store_is_ignored(client_for, dealership):
    # Given an advisor still a member of a closed store whose code sorts first
    closed = DealershipFactory(code="AA01", name="已关闭门店", is_active=False)
    user = UserFactory(username="veteran", role=ADVISOR, dealerships=[closed, dealership])
    client = client_for(user)

    # Then the default is the active store, and the closed one cannot be chosen
    assert current(client.get(COUNTER)) == "SZ01"
    assert client.get(COUNTER, {"dealership": "AA01"}).status_code == 404
    client.post("/dealership/switch/", {"dealership": "AA01"})
    assert SESSION_KEY not in client.session


def test_a_store_closed_after_it_was_chosen_falls_back(client_for, two_store_user, dealership):
    # Given a user who switched to SZ01
    client = client_for(two_store_user)
    client.post("/dealership/switch/", {"dealership": "SZ01"})
    assert current(client.get(COUNTER)) == "SZ01"

    # When SZ01 is closed
    dealership.is_active = False
    dealership.save(update_fields=["is_active"])

    # Then they work in their remaining store
    assert current(client.get(COUNTER)) == "GZ02"


def test_user_without_a_dealership_is_told_to_ask_an_administrator(client_for, db):
    # Given a staff account that belongs to no store yet
    user = UserFactory(username="newcomer", role=ADVISOR)

    # When they open the counter
    response = client_for(user).get(COUNTER)

    # Then access is refused with a message saying why
    assert response.status_code == 403
    assert "Your account belongs to no dealership yet. Ask an administrator." in response.content.decode()


def test_anonymous_visitor_is_sent_to_log_in(client, db):
    response = client.get(COUNTER)

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_dealerships_today_is_its_own_not_the_servers(db):
    # Given a store in Ürümqi (UTC+6) and one in Shanghai (UTC+8)
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    from tests.factories import DealershipFactory

    urumqi = DealershipFactory(code="UR01", time_zone="Asia/Urumqi")
    shanghai = DealershipFactory(code="SH01", time_zone="Asia/Shanghai")
    # When it is 01:00 on 1 January in Shanghai
    moment = datetime(2027, 1, 1, 1, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    # Then Ürümqi is still on 31 December
    assert urumqi.zone == ZoneInfo("Asia/Urumqi")
    assert (urumqi.local_date(moment), shanghai.local_date(moment)) == (date(2026, 12, 31), date(2027, 1, 1))
