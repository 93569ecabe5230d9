"""POST /api/v1/import/: the same import as the page and the command, answering with the report."""

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


def test_manager_imports_and_gets_the_counts(api_client_for, as_manager):
    response = api_client_for(as_manager).post(URL, _files(), format="multipart")

    assert response.status_code == 200
    body = response.json()
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


def test_dry_run_reports_without_writing(api_client_for, as_manager):
    response = api_client_for(as_manager).post(URL, {**_files(), "dry_run": "true"}, format="multipart")

    assert response.status_code == 200
    assert response.json()["status"] == "previewed"
    assert response.json()["files"]["customers"]["created"] == 1
    assert not Customer.objects.exists()


def test_a_bad_row_answers_400_with_every_problem(api_client_for, as_manager):
    customers = [customer_row(1), customer_row(2, phone="12345", birthday="tomorrow")]

    response = api_client_for(as_manager).post(URL, _files(customers), format="multipart")

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == "rejected"
    assert [(e["file"], e["row"], e["column"], e["value"]) for e in body["errors"]] == [
        ("customers", 3, "手机号", "12345"),
        ("customers", 3, "生日", "tomorrow"),
    ]
    assert all(e["reason"] for e in body["errors"])
    assert not Customer.objects.exists()


def test_skip_invalid_returns_the_rejected_rows_as_csv_text(api_client_for, as_manager):
    customers = [customer_row(1), customer_row(2, phone="12345")]

    response = api_client_for(as_manager).post(URL, {**_files(customers), "skip_invalid": "true"}, format="multipart")

    assert response.status_code == 200
    body = response.json()
    assert body["files"]["customers"]["rejected"] == 1
    (row,) = list(csv.DictReader(io.StringIO(body["rejects"]["customers"])))
    assert (row["客户编号"], row["手机号"]) == ("C00002", "12345")
    assert "phone number" in row["reason"]
    assert Customer.objects.count() == 1


def test_no_file_is_a_400(api_client_for, as_manager):
    response = api_client_for(as_manager).post(URL, {"skip_invalid": "true"}, format="multipart")

    assert response.status_code == 400
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


def test_the_schema_documents_the_endpoint(api_client_for, as_manager):
    response = api_client_for(as_manager).get(reverse("api-schema"), {"format": "json"})

    assert response.status_code == 200
    operation = response.json()["paths"]["/api/v1/import/"]["post"]
    assert operation["operationId"] == "dms_import"
    assert "multipart/form-data" in operation["requestBody"]["content"]
    properties = next(iter(operation["requestBody"]["content"].values()))["schema"]
    assert {"200", "400", "403", "404"} <= set(operation["responses"])
    assert properties
