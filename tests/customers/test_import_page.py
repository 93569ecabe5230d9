"""The import page: upload, a check in the background and its report before anything is written, confirm,
rejects to download. Celery is eager here: the task runs when the request's transaction commits."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from customers.models import Customer, ImportRun, ServiceVisit
from tests.customers.dms_files import (
    CUSTOMER_HEADER,
    VEHICLE_HEADER,
    VISIT_HEADER,
    csv_bytes,
    customer_row,
    vehicle_row,
    visit_row,
)

pytestmark = pytest.mark.django_db

URL = reverse("customers:import")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def post(django_capture_on_commit_callbacks):
    """POST as the browser does, the queued task run on commit, and the page the redirect leads to."""

    def send(client, data, **options):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, data, **options)
        if response.status_code != 302:
            return response
        return client.get(response.url)

    return send


def _upload(name, header, rows, **options):
    return SimpleUploadedFile(name, csv_bytes(header, rows, **options), content_type="text/csv")


def _three_files(customers=None):
    return {
        "customers": _upload(
            "客户.csv", CUSTOMER_HEADER, customers or [customer_row(1), customer_row(2)], encoding="gbk"
        ),
        "vehicles": _upload("vehicles.csv", VEHICLE_HEADER, [vehicle_row(1), vehicle_row(2)]),
        "visits": _upload("visits.csv", VISIT_HEADER, [visit_row(1), visit_row(2)]),
    }


def test_manager_sees_the_form(client_for, as_manager):
    response = client_for(as_manager).get(URL)

    assert response.status_code == 200
    content = response.content.decode()
    assert 'id="dms-import-form"' in content
    assert 'enctype="multipart/form-data"' in content
    assert "200 MB" in content  # the upload limit is stated
    assert 'id="recent-imports-empty"' in content


@pytest.mark.parametrize("role", ["advisor", "agent", "cc_manager"])
def test_other_roles_are_refused(client_for, users, role):
    from dealercrm.core.roles import Role

    response = client_for(users[Role(role)]).get(URL)

    assert response.status_code == 403


def test_administrator_may_import(client_for, admin_user):
    assert client_for(admin_user).get(URL).status_code == 200


def test_a_manager_of_another_dealership_gets_404(client_for, outsider):
    response = client_for(outsider).get(URL, {"dealership": "SZ01"})

    assert response.status_code == 404


def test_upload_shows_the_report_and_writes_nothing_until_confirmed(client_for, as_manager, media, post):
    client = client_for(as_manager)

    # When the files are uploaded
    response = post(client, _three_files())

    # Then the page shows what would happen, and nothing is written yet
    assert response.status_code == 200
    content = response.content.decode()
    assert 'data-status="previewed"' in content
    assert 'id="confirm-import"' in content
    assert response.context["result"].files["visits"].created == 2
    assert not Customer.objects.exists()
    assert not ServiceVisit.objects.exists()
    check = ImportRun.objects.get()
    assert (check.status, check.dry_run) == ("succeeded", True)
    token = response.context["upload"].token
    assert (media / "imports" / token / "customers.csv").is_file()

    # When the manager confirms
    response = post(client, {"token": token, "confirm": "1"})

    # Then the rows are written, the report says so, and the uploaded files are gone
    assert response.status_code == 200
    assert 'data-status="committed"' in response.content.decode()
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["客户1", "客户2"]
    assert ServiceVisit.objects.count() == 2
    run = ImportRun.objects.get(status="succeeded", dry_run=False)
    assert (run.source, run.started_by) == ("page", as_manager)
    assert not (media / "imports" / token / "customers.csv").exists()

    # And confirming twice does not import twice
    post(client, {"token": token, "confirm": "1"})
    assert ImportRun.objects.filter(dry_run=False).count() == 1


def test_bad_rows_are_listed_and_the_import_can_skip_them(client_for, as_manager, post):
    client = client_for(as_manager)
    customers = [customer_row(1), customer_row(2, phone="12345")]

    # When a file with a bad row is checked
    response = post(client, _three_files(customers))

    # Then every bad row is in a table and there is no "import now" button
    content = response.content.decode()
    assert 'data-status="rejected"' in content
    assert 'id="import-errors"' in content
    assert "12345" in content and "手机号" not in content  # the English header of this file
    assert 'id="confirm-import"' not in content
    token = response.context["upload"].token

    # When the manager checks again skipping the invalid rows, then imports
    response = post(client, {"token": token, "skip_invalid": "1"})
    assert 'id="confirm-import"' in response.content.decode()
    assert not Customer.objects.exists()
    response = post(client, {"token": token, "confirm": "1"})

    # Then the valid rows are in and the rejected ones can be downloaded with their reasons
    assert list(Customer.objects.values_list("customer_no", flat=True)) == ["C00001"]
    assert ServiceVisit.objects.count() == 1
    content = response.content.decode()
    assert 'id="rejects-downloads"' in content
    download = client.get(URL, {"download": token, "file": "visits"})
    assert download.status_code == 200
    body = b"".join(download.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    assert "row 3 of the vehicles file" in body.decode("utf-8-sig")


def test_another_user_cannot_use_the_upload(client_for, as_manager, admin_user, post):
    response = post(client_for(as_manager), _three_files())
    token = response.context["upload"].token

    other = client_for(admin_user)
    assert other.post(URL, {"token": token, "confirm": "1"}).status_code == 404
    assert other.get(URL, {"download": token, "file": "visits"}).status_code == 404
    assert not Customer.objects.exists()


def test_a_form_without_files_or_with_a_wrong_kind_of_file_is_refused(client_for, as_manager):
    client = client_for(as_manager)

    response = client.post(URL, {})
    assert "Choose at least one file" in response.content.decode()

    response = client.post(URL, {"customers": SimpleUploadedFile("photo.jpg", b"\xff\xd8", content_type="image/jpeg")})
    assert "Choose a .csv or .xlsx file" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_an_excel_upload_is_checked_like_a_csv(client_for, as_manager, post):
    from openpyxl import Workbook

    workbook = Workbook()
    workbook.active.append(["客户编号", "姓名", "手机号"])
    workbook.active.append(["C1", "张三", 13900000001])
    content = io.BytesIO()
    workbook.save(content)
    upload = SimpleUploadedFile(
        "客户.xlsx",
        content.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )

    response = post(client_for(as_manager), {"customers": upload})

    assert response.context["result"].files["customers"].format == "xlsx"
    assert response.context["result"].files["customers"].created == 1


def test_a_file_over_the_upload_limit_is_refused(client_for, as_manager, settings):
    settings.DMS_IMPORT_MAX_UPLOAD_MB = 0

    response = client_for(as_manager).post(URL, _three_files())

    assert "larger than 0 MB" in response.content.decode()
    assert not ImportRun.objects.exists()


def test_the_upload_answers_at_once_and_the_page_follows_the_run_until_its_report(client_for, as_manager, post):
    client = client_for(as_manager)

    # When the files are uploaded and the task has not run yet (no worker took it)
    response = client.post(URL, _three_files())

    # Then the answer is immediate: the run is queued and its page asks for itself again (htmx, no script)
    assert response.status_code == 302
    run = ImportRun.objects.get()
    assert (run.status, run.dry_run, run.rows_read) == ("queued", True, 0)
    page = client.get(response.url)
    content = page.content.decode()
    assert 'id="import-run"' in content and 'hx-trigger="every 2s"' in content
    assert 'data-run-status="queued"' in content
    assert 'id="import-progress"' in content
    assert "<script>" not in content

    # When the task runs (as a worker would), the same page shows the report and stops asking
    from customers.tasks import import_run_task

    assert import_run_task.delay(run.pk).get() == "succeeded"
    content = client.get(response.url).content.decode()
    assert 'data-run-status="succeeded"' in content and 'data-status="previewed"' in content
    assert "hx-trigger" not in content
    run.refresh_from_db()
    assert (run.rows_read, run.rows_checked, run.rows_written) == (6, 6, 0)
    # and a second delivery of the task does nothing
    assert import_run_task.delay(run.pk).get() == "skipped"


def test_a_run_page_is_for_the_dealerships_importers(client_for, as_manager, admin_user, users, outsider, post):
    from dealercrm.core.roles import Role

    response = client_for(as_manager).post(URL, _three_files())
    url = response.url

    # the administrator (may import) sees the run but not the uploader's buttons
    page = client_for(admin_user).get(url)
    assert page.status_code == 200 and 'id="confirm-import"' not in page.content.decode()
    # an advisor of the store may not; another dealership's manager does not find it
    assert client_for(users[Role.ADVISOR]).get(url).status_code == 403
    assert client_for(outsider).get(url).status_code == 404
    run = ImportRun.objects.get()
    assert client_for(outsider).get(URL, {"run": run.pk}).status_code == 404


def test_recent_imports_are_told_in_words(client_for, as_manager, post, settings):
    client = client_for(as_manager)
    customers = [customer_row(1), customer_row(2), customer_row(3, phone="12345")]
    post(client, {"customers": _upload("c.csv", CUSTOMER_HEADER, customers), "skip_invalid": "on"})

    content = client.get(URL).content.decode()
    assert "customers: 2 new, 0 updated, 0 unchanged, 1 rejected" in content
    assert "✗" not in content and "+2 /" not in content

    refused = [customer_row(1), customer_row(2), customer_row(3, phone="12345")]
    post(client, {"customers": _upload("c2.csv", CUSTOMER_HEADER, refused)})
    content = client.get(URL).content.decode()
    assert "0 new, 0 updated, 0 unchanged, 1 rejected, 2 valid but not imported" in content


def test_a_refused_check_counts_the_valid_rows_as_not_imported(client_for, as_manager, post):
    customers = [customer_row(1), customer_row(2), customer_row(3, phone="12345")]

    response = post(client_for(as_manager), {"customers": _upload("c.csv", CUSTOMER_HEADER, customers)})

    content = response.content.decode()
    assert 'data-count="not_imported">2<' in content
    assert 'data-count="rejected">1<' in content


def test_a_running_import_shows_how_far_it_is(client_for, as_manager, dealership):
    run = ImportRun.objects.create(
        dealership=dealership,
        started_by=as_manager,
        source="page",
        status=ImportRun.Status.RUNNING,
        files={"visits": {"name": "r.csv", "rows_expected": 1000}},
        rows_read=300,
        rows_checked=250,
    )

    content = client_for(as_manager).get(URL, {"run": run.pk}).content.decode()

    assert 'max="1000" value="250"' in content
    assert 'data-count="rows_read">300<' in content
    assert 'hx-trigger="every 2s"' in content
