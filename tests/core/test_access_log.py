"""The access log for administrators (issue 13, point 3): the page, its filters, its export, the read-only API,
what nobody can change, and how long events are kept.

Events are written here through ``dealercrm.core.access_log.record`` (the one writer); the events written where
things happen (sign-ins, tokens) are tested in ``test_access_log_events.py``.
"""

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from dealercrm.core import access_log
from dealercrm.core.models import AccessEvent
from dealercrm.core.roles import Role
from dealercrm.core.staff import views as staff_views
from dealercrm.core.tasks import access_log_purge_task
from tests.factories import CustomerFactory, UserFactory

pytestmark = pytest.mark.django_db
Kind = AccessEvent.Kind
PAGE = "staff:access-log"
EXPORT = "staff:access-log-export"
API = "api-staff-access-log-list"


@pytest.fixture
def admin_of_b(other_dealership):
    return UserFactory(username="admin-b", role=Role.ADMIN, dealerships=[other_dealership])


def event(kind=Kind.REVEAL, *, user=None, dealership=None, customer=None, what="360 page", when=None, **fields):
    """An access event as ``record`` writes it, at ``when`` (default now)."""
    recorded = access_log.record(kind, user=user, dealership=dealership, customer=customer, what=what, **fields)
    if when is not None:  # the app cannot update the log: the test moves the event back in time in SQL
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {AccessEvent._meta.db_table} SET occurred_at = %s WHERE id = %s", [when, recorded.pk]
            )
        recorded = AccessEvent.objects.get(pk=recorded.pk)
    return recorded


def shown_whats(response) -> list[str]:
    return [e.what for e in response.context["page"]]


# --- the page: who sees what ------------------------------------------------------------------------------------


def test_the_admin_sees_the_dealerships_events_newest_first(
    client_for, admin_user, advisor, dealership, other_dealership, outsider
):
    # Given events of this dealership, of another, and events of no dealership (failed sign-ins)
    customer = CustomerFactory(dealership=dealership, name="王芳", customer_no="C-0001")
    now = timezone.now()
    event(user=advisor, dealership=dealership, customer=customer, what="older reveal", when=now - dt.timedelta(hours=2))
    event(Kind.EXPORT, user=admin_user, dealership=dealership, what="newer export", customers=12)
    event(Kind.REVEAL, user=outsider, dealership=other_dealership, what="their reveal")
    event(Kind.LOGIN_FAILED, user=advisor, what="our advisor's failed sign-in")
    event(Kind.LOGIN_FAILED, user=outsider, what="their failed sign-in")
    event(Kind.LOGIN_FAILED, username="nobody", what="unknown name")
    event(Kind.LOGIN_FAILED, username="advisor", what="the advisor's name, no user linked")

    # When the administrator opens the access log
    response = client_for(admin_user).get(reverse(PAGE))

    # Then only ours, newest first, with the customer's current name
    assert response.status_code == 200
    whats = shown_whats(response)
    assert set(whats) == {
        "older reveal",
        "newer export",
        "our advisor's failed sign-in",
        "the advisor's name, no user linked",
    }
    assert whats[-1] == "older reveal"
    page = response.content.decode()
    assert 'data-testid="staff-tabs"' in page and reverse(PAGE) in page
    assert "王芳" in page and "C-0001" in page
    assert "their reveal" not in page and "unknown name" not in page


@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AGENT, Role.CC_MANAGER, Role.AS_MANAGER])
def test_other_roles_are_refused(client_for, api_client_for, users, role, dealership):
    event(dealership=dealership)
    client = client_for(users[role])
    assert client.get(reverse(PAGE)).status_code == 403
    assert client.get(reverse(EXPORT), {"format": "csv"}).status_code == 403
    assert api_client_for(users[role]).get(reverse(API)).status_code == 403
    assert AccessEvent.objects.filter(kind=Kind.EXPORT).count() == 0


def test_an_admin_of_another_dealership_sees_none_of_ours(client_for, api_client_for, admin_of_b, advisor, dealership):
    event(user=advisor, dealership=dealership, what="ours")
    event(Kind.LOGIN_FAILED, user=advisor, what="our advisor's failed sign-in")
    client = client_for(admin_of_b)
    assert shown_whats(client.get(reverse(PAGE))) == []
    # naming our dealership is "not found"
    assert client.get(reverse(PAGE), {"dealership": dealership.code}).status_code == 404
    assert client.get(reverse(EXPORT), {"dealership": dealership.code}).status_code == 404
    api = api_client_for(admin_of_b)
    assert api.get(reverse(API)).json()["results"] == []
    assert api.get(reverse(API), HTTP_X_DEALERSHIP=dealership.code).status_code == 404
    exported = client.get(reverse(EXPORT), {"format": "csv"}).content.decode("utf-8-sig")
    assert "ours" not in exported and "failed sign-in" not in exported


def test_the_empty_log_says_so(client_for, admin_user):
    page = client_for(admin_user).get(reverse(PAGE)).content.decode()
    assert 'data-testid="no-access-events"' in page
    assert "Nothing recorded yet" in page
    assert 'data-testid="download-csv"' not in page


def test_the_log_is_paginated(client_for, admin_user, dealership):
    for n in range(staff_views.ACCESS_EVENTS_PER_PAGE + 3):
        event(dealership=dealership, what=f"event {n}")
    client = client_for(admin_user)
    first = client.get(reverse(PAGE))
    assert len(first.context["page"]) == staff_views.ACCESS_EVENTS_PER_PAGE
    assert first.context["page"].paginator.count == staff_views.ACCESS_EVENTS_PER_PAGE + 3
    second = client.get(reverse(PAGE), {"page": 2})
    assert len(second.context["page"]) == 3
    assert not set(shown_whats(first)) & set(shown_whats(second))


def test_the_pages_queries_do_not_grow_with_its_rows(
    client_for, admin_user, advisor, dealership, django_assert_max_num_queries
):
    client = client_for(admin_user)
    event(user=advisor, dealership=dealership, customer=CustomerFactory(dealership=dealership))
    client.get(reverse(PAGE))  # the session and the like, read once
    with django_assert_max_num_queries(100) as few:
        client.get(reverse(PAGE))
    for _ in range(20):
        event(user=advisor, dealership=dealership, customer=CustomerFactory(dealership=dealership))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse(PAGE))
    assert len(response.context["page"]) == 21


# --- filters ----------------------------------------------------------------------------------------------------


@pytest.fixture
def history(dealership, advisor, agent, admin_user):
    """Events of several users, customers, kinds and days (Shenzhen time)."""
    zone = dealership.zone
    wang = CustomerFactory(dealership=dealership, name="王芳", customer_no="C-0001")
    li = CustomerFactory(dealership=dealership, name="李娜", customer_no="C-0002")
    gone = CustomerFactory(dealership=dealership, name="张伟", customer_no="C-0003")
    erased = CustomerFactory(dealership=dealership, name="赵敏", customer_no="C-0004")
    at = lambda day, hour: dt.datetime(2026, 3, day, hour, 0, tzinfo=zone)  # noqa: E731
    event(user=advisor, dealership=dealership, customer=wang, what="reveal wang 1 Mar", when=at(1, 9))
    event(user=agent, dealership=dealership, customer=li, what="reveal li 2 Mar", when=at(2, 23))
    event(Kind.EXPORT, user=admin_user, dealership=dealership, what="export 3 Mar", customers=40, when=at(3, 0))
    event(user=advisor, dealership=dealership, customer=li, what="reveal li 4 Mar", when=at(4, 8))
    event(user=advisor, dealership=dealership, customer=gone, what="reveal gone", when=at(5, 8))
    event(Kind.ERASURE, user=admin_user, dealership=dealership, customer=erased, what="erasure", when=at(6, 8))
    gone_id = gone.pk
    gone.delete()  # merged away: the event keeps its id
    type(erased).objects.filter(pk=erased.pk).update(name="", erased_at=timezone.now())
    return {"wang": wang, "li": li, "gone_id": gone_id, "erased": erased}


def test_filter_by_user(client_for, admin_user, agent, history):
    response = client_for(admin_user).get(reverse(PAGE), {"user": agent.pk})
    assert shown_whats(response) == ["reveal li 2 Mar"]


def test_filter_by_customer_number_or_id(client_for, admin_user, history):
    client = client_for(admin_user)
    by_no = shown_whats(client.get(reverse(PAGE), {"customer": "C-0002"}))
    by_id = shown_whats(client.get(reverse(PAGE), {"customer": str(history["li"].pk)}))
    assert by_no == by_id == ["reveal li 4 Mar", "reveal li 2 Mar"]
    # a customer merged away is found by id, and shown by id only
    response = client.get(reverse(PAGE), {"customer": history["gone_id"]})
    assert shown_whats(response) == ["reveal gone"]
    assert "张伟" not in response.content.decode()
    assert "no longer a customer" in response.content.decode()
    # an erased customer has no identity: found by id, shown without name or number
    response = client.get(reverse(PAGE), {"customer": history["erased"].pk})
    assert shown_whats(response) == ["erasure"]
    page = response.content.decode()
    assert "赵敏" not in page and "C-0004" not in page and "(erased)" in page
    # a number nobody has finds nothing
    assert shown_whats(client.get(reverse(PAGE), {"customer": "C-9999"})) == []


def test_filter_by_kind(client_for, admin_user, history):
    response = client_for(admin_user).get(reverse(PAGE), {"kind": Kind.EXPORT})
    assert shown_whats(response) == ["export 3 Mar"]


def test_filter_by_days_at_the_store(client_for, admin_user, history):
    # 2 March 23:00 and 3 March 00:00 in Shenzhen are on either side of midnight there (not in UTC)
    client = client_for(admin_user)
    response = client.get(reverse(PAGE), {"date_from": "2026-03-02", "date_to": "2026-03-02"})
    assert shown_whats(response) == ["reveal li 2 Mar"]
    response = client.get(reverse(PAGE), {"date_from": "2026-03-03"})
    assert shown_whats(response) == ["erasure", "reveal gone", "reveal li 4 Mar", "export 3 Mar"]
    response = client.get(reverse(PAGE), {"date_to": "2026-03-01"})
    assert shown_whats(response) == ["reveal wang 1 Mar"]


def test_filters_combine(client_for, admin_user, advisor, history):
    response = client_for(admin_user).get(
        reverse(PAGE), {"user": advisor.pk, "customer": "C-0002", "kind": Kind.REVEAL, "date_from": "2026-03-03"}
    )
    assert shown_whats(response) == ["reveal li 4 Mar"]


def test_a_reversed_range_is_a_clear_error(client_for, api_client_for, admin_user, history):
    query = {"date_from": "2026-03-05", "date_to": "2026-03-01"}
    response = client_for(admin_user).get(reverse(PAGE), query)
    assert response.status_code == 200
    page = response.content.decode()
    assert "is before the start date" in page and 'data-testid="filter-invalid"' in page
    assert "page" not in response.context
    assert response.context["form"].errors["date_to"]
    # the export and the API refuse it too, and write nothing
    exported = client_for(admin_user).get(reverse(EXPORT), {**query, "format": "csv"})
    assert exported.status_code == 400 and "is before the start date" in exported.content.decode()
    answer = api_client_for(admin_user).get(reverse(API), query)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_filter" and "date_to" in answer.json()["fields"]
    assert not AccessEvent.objects.filter(kind=Kind.EXPORT, what__startswith="access log").exists()


def test_a_bad_user_or_kind_is_an_error_not_everything(client_for, admin_user, outsider, history):
    client = client_for(admin_user)
    assert client.get(reverse(PAGE), {"user": outsider.pk}).context["form"].errors["user"]
    assert client.get(reverse(PAGE), {"kind": "peek"}).context["form"].errors["kind"]


# --- the export ---------------------------------------------------------------------------------------------------


def _csv_rows(response):
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_csv_export_holds_the_filtered_events_and_is_one_access_event(client_for, admin_user, history, dealership):
    before = AccessEvent.objects.count()
    response = client_for(admin_user).get(reverse(EXPORT), {"format": "csv", "kind": Kind.REVEAL})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="access-log-SZ01-')
    header, *rows = _csv_rows(response)
    assert header[:3] == ["When", "Kind", "Who"]
    assert [row[6] for row in rows] == ["reveal gone", "reveal li 4 Mar", "reveal li 2 Mar", "reveal wang 1 Mar"]
    li_row = rows[1]
    assert li_row[2] == "advisor" and li_row[4:6] == ["C-0002", "李娜"] and li_row[0] == "2026-03-04 08:00:00"
    gone_row = rows[0]
    assert gone_row[3] == str(history["gone_id"]) and gone_row[4:6] == ["", ""]
    # exactly one event: the export, with the number of distinct customers in it (wang, li, the one merged away)
    assert AccessEvent.objects.count() == before + 1
    export = AccessEvent.objects.latest("id")
    assert (export.kind, export.what, export.customers) == (Kind.EXPORT, "access log (csv)", 3)
    assert (export.user, export.dealership) == (admin_user, dealership)
    assert export.details == {"kind": Kind.REVEAL}


def test_the_xlsx_export_has_the_same_rows(client_for, admin_user, history):
    client = client_for(admin_user)
    as_csv = _csv_rows(client.get(reverse(EXPORT), {"format": "csv", "customer": "C-0002"}))
    response = client.get(reverse(EXPORT), {"format": "xlsx", "customer": "C-0002"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    as_xlsx = [["" if cell is None else str(cell) for cell in row] for row in sheet.iter_rows(values_only=True)]
    assert as_xlsx == as_csv
    assert len(as_xlsx) == 3  # the headings and li's two reveals (the csv export's own event came after it)
    latest = AccessEvent.objects.latest("id")
    assert (latest.what, latest.customers) == ("access log (xlsx)", 1)


def test_an_unknown_format_is_not_found_and_writes_nothing(client_for, admin_user, history):
    before = AccessEvent.objects.count()
    assert client_for(admin_user).get(reverse(EXPORT), {"format": "pdf"}).status_code == 404
    assert AccessEvent.objects.count() == before


def test_a_cell_that_looks_like_a_formula_is_neutralised(client_for, admin_user, dealership):
    event(dealership=dealership, what='=HYPERLINK("http://x")')
    rows = _csv_rows(client_for(admin_user).get(reverse(EXPORT)))
    assert rows[1][6].startswith("'=")


# --- the API ------------------------------------------------------------------------------------------------------


def test_the_api_lists_the_events_with_the_same_filters(api_client_for, admin_user, advisor, history):
    api = api_client_for(admin_user)
    body = api.get(reverse(API), {"customer": "C-0002"}).json()
    assert [e["what"] for e in body["results"]] == ["reveal li 4 Mar", "reveal li 2 Mar"]
    first = body["results"][0]
    assert first["kind"] == "reveal" and first["username"] == "advisor" and first["user"] == advisor.pk
    assert (first["customer"], first["customer_no"], first["customer_name"]) == (history["li"].pk, "C-0002", "李娜")
    erased = api.get(reverse(API), {"customer": history["erased"].pk}).json()["results"]
    assert [(e["customer_no"], e["customer_name"]) for e in erased] == [("", "")]
    window = api.get(reverse(API), {"date_from": "2026-03-02", "date_to": "2026-03-03", "kind": "reveal"}).json()
    assert [e["what"] for e in window["results"]] == ["reveal li 2 Mar"]


def test_the_api_pages_newest_first(api_client_for, admin_user, dealership):
    now = timezone.now()
    for n in range(5):
        event(dealership=dealership, what=f"e{n}", when=now - dt.timedelta(minutes=n))
    api = api_client_for(admin_user)
    first = api.get(reverse(API), {"page_size": 3}).json()
    second = api.get(first["next"]).json()
    assert [e["what"] for e in first["results"] + second["results"]] == ["e0", "e1", "e2", "e3", "e4"]


def test_the_api_cannot_write(api_client_for, admin_user, dealership):
    recorded = event(dealership=dealership)
    api = api_client_for(admin_user)
    assert api.post(reverse(API), {"kind": "export", "what": "forged"}, format="json").status_code == 405
    assert api.delete(reverse(API)).status_code == 405
    assert api.delete(f"{reverse(API)}{recorded.pk}/").status_code == 404
    assert api.patch(f"{reverse(API)}{recorded.pk}/", {"what": "x"}, format="json").status_code == 404
    assert AccessEvent.objects.get(pk=recorded.pk).what == "360 page"


# --- nobody edits the log -----------------------------------------------------------------------------------------


def test_the_log_has_no_edit_or_delete_url():
    for name in [
        "staff:access-log-edit",
        "staff:access-log-delete",
        "staff:access-event",
        "api-staff-access-log-detail",
    ]:
        with pytest.raises(NoReverseMatch):
            reverse(name, args=[1])


def test_the_page_takes_no_post(client_for, admin_user, dealership):
    recorded = event(dealership=dealership)
    client = client_for(admin_user)
    assert client.post(reverse(PAGE), {"what": "forged"}).status_code == 405
    assert client.post(reverse(EXPORT)).status_code == 405
    assert list(AccessEvent.objects.values_list("what", flat=True)) == [recorded.what]


def test_an_event_cannot_be_saved_again_updated_or_deleted(dealership):
    recorded = event(dealership=dealership, what="as it was")
    recorded.what = "changed"
    with pytest.raises(PermissionError):
        recorded.save()
    with pytest.raises(PermissionError):
        AccessEvent.objects.filter(pk=recorded.pk).update(what="changed")
    with pytest.raises(PermissionError):
        AccessEvent.objects.filter(pk=recorded.pk).delete()
    with pytest.raises(PermissionError):
        AccessEvent.objects.get(pk=recorded.pk).delete()
    assert list(AccessEvent.objects.values_list("what", flat=True)) == ["as it was"]


def test_the_django_admin_shows_the_log_read_only(client, django_user_model, dealership):
    recorded = event(dealership=dealership, what="as it was")
    operator = django_user_model.objects.create_superuser("operator", "op@example.com", "pass-1234")
    client.force_login(operator)
    changelist = reverse("admin:core_accessevent_changelist")
    response = client.get(changelist)
    assert response.status_code == 200 and "as it was" in response.content.decode()
    model_admin = response.context["cl"].model_admin
    request = response.wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, recorded)
    assert not model_admin.has_delete_permission(request, recorded)
    assert "delete_selected" not in model_admin.get_actions(request)
    assert client.get(reverse("admin:core_accessevent_add")).status_code == 403
    assert client.get(reverse("admin:core_accessevent_delete", args=[recorded.pk])).status_code == 403
    change = reverse("admin:core_accessevent_change", args=[recorded.pk])
    assert client.get(change).status_code == 200  # a view, without a save button
    assert client.post(change, {"what": "changed"}).status_code == 403
    assert client.post(changelist, {"action": "delete_selected", "_selected_action": [recorded.pk]}).status_code in {
        200,
        302,
    }
    assert list(AccessEvent.objects.values_list("what", flat=True)) == ["as it was"]


# --- retention ----------------------------------------------------------------------------------------------------


def test_the_nightly_job_removes_only_events_older_than_the_retention(settings, dealership):
    settings.ACCESS_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    old = event(dealership=dealership, what="31 days", when=now - dt.timedelta(days=31))
    event(dealership=dealership, what="29 days", when=now - dt.timedelta(days=29))
    event(dealership=dealership, what="today")
    assert access_log_purge_task.delay().get() == 1
    assert sorted(AccessEvent.objects.values_list("what", flat=True)) == ["29 days", "today"]
    assert not AccessEvent.objects.filter(pk=old.pk).exists()
    # a longer retention keeps everything
    settings.ACCESS_LOG_RETENTION_DAYS = 1095
    assert access_log_purge_task.delay().get() == 0


def test_the_retention_job_is_scheduled_nightly():
    scheduled = [entry["task"] for entry in django_settings.CELERY_BEAT_SCHEDULE.values()]
    assert "dealercrm.core.tasks.access_log_purge_task" in scheduled
    [entry] = [e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith("access_log_purge_task")]
    assert entry["schedule"].hour == {2}  # a crontab: once a night
    assert django_settings.ACCESS_LOG_RETENTION_DAYS == 3 * 365  # the default: three years


# --- the store's consent wording (staff:dealership) ---------------------------------------------------------------


def test_the_admin_edits_the_stores_consent_wording(client_for, admin_user, dealership):
    client = client_for(admin_user)
    page = client.get(reverse("staff:dealership")).content.decode()
    assert 'name="consent_text"' in page and "kept with every consent as its proof" in page
    wording = (
        "本人同意深圳别克4S店使用本人姓名、手机号码及车辆保养记录，通过短信、电话或微信向本人发送保养提醒及优惠信息。"
    )
    response = client.post(
        reverse("staff:dealership"),
        {
            "name": dealership.name,
            "time_zone": "Asia/Shanghai",
            "plate_prefix": "粤B",
            "consent_text": f"  {wording}\n",
        },
    )
    assert response.status_code == 302
    dealership.refresh_from_db()
    assert dealership.consent_text == wording
    assert wording in client.get(reverse("staff:dealership")).content.decode()
    # the change is on the audit trail
    assert "consent text" in client.get(reverse("staff:audit")).content.decode()
    # emptied: the standard wording again
    client.post(
        reverse("staff:dealership"), {"name": dealership.name, "time_zone": "Asia/Shanghai", "consent_text": ""}
    )
    dealership.refresh_from_db()
    assert dealership.consent_text == ""


def test_a_colleague_cannot_change_the_consent_wording(client_for, advisor, dealership):
    response = client_for(advisor).post(
        reverse("staff:dealership"), {"name": "x", "time_zone": "Asia/Shanghai", "consent_text": "forged"}
    )
    assert response.status_code == 403
    dealership.refresh_from_db()
    assert dealership.consent_text == ""
