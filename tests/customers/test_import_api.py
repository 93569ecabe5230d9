"""POST /api/v1/import/: the same import as the page and the command, run in the background (202 and a status
URL); GET /api/v1/imports/<id>/: status, progress and the report. Celery is eager here: the task runs when the
request's transaction commits."""

import csv
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

URL = reverse("api-import")


@pytest.fixture
def send(django_capture_on_commit_callbacks):
    """POST the files (the task runs on commit) and return (the POST's answer, the run's status afterwards)."""

    def post(client, data, **options):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(URL, data, format="multipart", **options)
        if response.status_code != 202:
            return response, None
        return response, client.get(response["Location"], **options)

    return post


def _files(customers=None):
    return {
        "customers": SimpleUploadedFile(
            "customers.csv", csv_bytes(CUSTOMER_HEADER, customers or [customer_row(1)], chinese=True)
        ),
        "vehicles": SimpleUploadedFile("vehicles.csv", csv_bytes(VEHICLE_HEADER, [vehicle_row(1)])),
        "visits": SimpleUploadedFile(
            "visits.csv", csv_bytes(VISIT_HEADER, [visit_row(1, advisor="王顾问")], encoding="gbk")
        ),
    }


def test_manager_imports_and_gets_the_counts(api_client_for, as_manager, send):
    response, status = send(api_client_for(as_manager), _files())

    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert response["Location"] == f"{reverse('api-import-status', args=[response.json()['id']])}?dealership=SZ01"
    assert status.status_code == 200
    assert status.json()["status"] == "succeeded"
    assert status.json()["progress"] == {"rows_read": 3, "rows_checked": 3, "rows_written": 3}
    body = status.json()["report"]
    assert body["status"] == "committed"
    assert {kind: (f["created"], f["updated"], f["unchanged"]) for kind, f in body["files"].items()} == {
        "customers": (1, 0, 0),
        "vehicles": (1, 0, 0),
        "visits": (1, 0, 0),
    }
    assert body["files"]["visits"]["encoding"] == "GBK"
    assert ServiceVisit.objects.get().advisor_name == "王顾问"
    assert body["errors"] == []
    assert ServiceVisit.objects.count() == 1
    run = ImportRun.objects.get(pk=body["run_id"])
    assert (run.source, run.started_by) == ("api", as_manager)


def test_dry_run_reports_without_writing(api_client_for, as_manager, send):
    _response, status = send(api_client_for(as_manager), {**_files(), "dry_run": "true"})

    report = status.json()["report"]
    assert report["status"] == "previewed"
    assert report["files"]["customers"]["created"] == 1
    assert not Customer.objects.exists()


def test_a_bad_row_refuses_the_import_with_every_problem(api_client_for, as_manager, send):
    customers = [customer_row(1), customer_row(2, phone="12345", birthday="tomorrow")]

    response, status = send(api_client_for(as_manager), _files(customers))

    assert response.status_code == 202
    assert status.json()["status"] == "refused"
    body = status.json()["report"]
    assert body["status"] == "rejected"
    assert [(e["file"], e["row"], e["column"], e["value"]) for e in body["errors"]] == [
        ("customers", 3, "手机号", "12345"),
        ("customers", 3, "生日", "tomorrow"),
    ]
    assert all(e["reason"] for e in body["errors"])
    assert not Customer.objects.exists()
    # every row is counted once: the valid customer was left out with the refused import
    customers_report = body["files"]["customers"]
    assert (customers_report["rows"], customers_report["rejected"], customers_report["not_imported"]) == (2, 1, 1)
    assert body["files"]["visits"]["not_imported"] == 1


def test_skip_invalid_returns_the_rejected_rows_as_csv_text(api_client_for, as_manager, send):
    customers = [customer_row(1), customer_row(2, phone="12345")]

    _response, status = send(api_client_for(as_manager), {**_files(customers), "skip_invalid": "true"})

    body = status.json()["report"]
    assert body["files"]["customers"]["rejected"] == 1
    (row,) = list(csv.DictReader(io.StringIO(body["rejects"]["customers"])))
    assert (row["客户编号"], row["手机号"]) == ("C00002", "12345")
    assert "phone number" in row["reason"]
    assert Customer.objects.count() == 1


def test_no_file_or_a_wrong_file_is_a_400_in_the_error_contract(api_client_for, as_manager):
    client = api_client_for(as_manager)

    response = client.post(URL, {"skip_invalid": "true"}, format="multipart")

    assert response.status_code == 400
    assert response.json()["code"] == "import_no_file"
    assert set(response.json()) == {"code", "message", "fields"}
    photo = SimpleUploadedFile("photo.jpg", b"\xff\xd8")
    response = client.post(URL, {"customers": photo}, format="multipart")
    assert (response.status_code, response.json()["code"]) == (400, "import_file_type")
    assert "customers" in response.json()["fields"]
    assert not ImportRun.objects.exists()


@pytest.mark.parametrize("role", ["advisor", "agent", "cc_manager"])
def test_other_roles_are_refused(api_client_for, users, role):
    from dealercrm.core.roles import Role

    response = api_client_for(users[Role(role)]).post(URL, _files(), format="multipart")

    assert response.status_code == 403
    assert not Customer.objects.exists()


def test_a_user_of_another_dealership_gets_404(api_client_for, outsider):
    response = api_client_for(outsider).post(f"{URL}?dealership=SZ01", _files(), format="multipart")

    assert response.status_code == 404
    assert not Customer.objects.exists()


def test_the_status_of_a_run_is_for_its_dealerships_importers_only(
    api_client_for, as_manager, admin_user, advisor, outsider, send
):
    response, _status = send(api_client_for(as_manager), _files())
    status_url = response["Location"]

    # a colleague who may import (the administrator) reads it; a colleague who may not (advisor) is refused
    assert api_client_for(admin_user).get(status_url).status_code == 200
    assert api_client_for(advisor).get(status_url).status_code == 403
    # a user of another dealership: not found, in theirs or by naming ours
    assert api_client_for(outsider).get(status_url).status_code == 404
    assert api_client_for(outsider).get(status_url.split("?")[0]).status_code == 404


def test_the_schema_documents_the_endpoint(api_client_for, as_manager):
    response = api_client_for(as_manager).get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    paths = response.json()["paths"]
    operation = paths["/api/v1/import/"]["post"]
    assert operation["operationId"] == "dms_import"
    assert "multipart/form-data" in operation["requestBody"]["content"]
    properties = next(iter(operation["requestBody"]["content"].values()))["schema"]
    assert {"202", "400", "403", "404"} <= set(operation["responses"])
    assert "import_no_file" in operation["responses"]["400"]["description"]
    assert properties
    status = paths["/api/v1/imports/{id}/"]["get"]
    assert status["operationId"] == "dms_import_status"
    assert {"200", "403", "404"} <= set(status["responses"])
