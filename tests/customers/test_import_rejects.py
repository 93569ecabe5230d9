"""Bad rows: all-or-nothing by default, a report naming every one, or skip them and get them back as a file."""

import csv
import io

import pytest

from customers.importing import run_import
from customers.models import ConsentEvent, Customer, ImportRun, ServiceVisit, Vehicle, VehicleOwnership
from tests.customers.dms_files import (
    CUSTOMER_HEADER,
    VEHICLE_HEADER,
    VISIT_HEADER,
    customer_row,
    small_import,
    vehicle_row,
    visit_row,
    write_csv,
)
from tests.factories import make_vin

pytestmark = pytest.mark.django_db


def _everything():
    return (
        sorted(Customer.objects.values_list()),
        sorted(Vehicle.objects.values_list()),
        sorted(ServiceVisit.objects.values_list()),
        sorted(VehicleOwnership.objects.values_list()),
        sorted(ConsentEvent.objects.values_list()),
    )


def _files(tmp_path, customers, vehicles, visits, **options):
    files = {}
    if customers is not None:
        files["customers"] = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, customers, **options)
    if vehicles is not None:
        files["vehicles"] = write_csv(tmp_path / "v.csv", VEHICLE_HEADER, vehicles, **options)
    if visits is not None:
        files["visits"] = write_csv(tmp_path / "r.csv", VISIT_HEADER, visits, **options)
    return files


def _read_rejects(content: bytes) -> list[dict]:
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens it in the right encoding
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


def test_one_bad_row_and_nothing_is_written_with_every_bad_row_reported(dealership, tmp_path):
    # Given stored records, and a new export with good rows and several bad cells
    run_import(dealership=dealership, files=small_import(tmp_path, 2))
    before = _everything()
    customers = [
        customer_row(1, city="广州"),  # a good change, which must not be written either
        customer_row(5, phone="12345"),  # row 3
        customer_row(6, birthday="1985-02-30", gender="X"),  # row 4: two bad cells
    ]
    vehicles = [vehicle_row(7, owner=1, vin="LSGJA52U47S12345X")]  # row 2: wrong check digit
    visits = [visit_row(8, vehicle=1, total_amount="-5", opened_at="2024-05-10", closed_at="2024-05-09")]
    (tmp_path / "new").mkdir()

    # When imported without skipping
    result = run_import(dealership=dealership, files=_files(tmp_path / "new", customers, vehicles, visits))

    # Then nothing changed, and the report names file, row (header = 1), column, value and reason
    assert result.status == "rejected"
    assert _everything() == before
    found = [(e.file, e.row, e.column, e.value) for e in result.errors]
    assert found == [
        ("customers", 3, "phone", "12345"),
        ("customers", 4, "gender", "X"),
        ("customers", 4, "birthday", "1985-02-30"),
        ("vehicles", 2, "vin", "LSGJA52U47S12345X"),
        ("visits", 2, "closed_at", "2024-05-09"),
        ("visits", 2, "total_amount", "-5"),
    ]
    reasons = {(e.file, e.column): e.reason for e in result.errors}
    assert "phone number" in reasons[("customers", "phone")]
    assert "No such date" in reasons[("customers", "birthday")]
    assert "check digit" in reasons[("vehicles", "vin")]
    assert "negative" in reasons[("visits", "total_amount")]
    run = ImportRun.objects.get(pk=result.run_id)
    assert run.status == ImportRun.Status.REFUSED
    assert len(run.errors) == 6


def test_required_cells_amounts_and_unknown_codes_are_reported(dealership, tmp_path):
    customers = [customer_row(1, name=""), customer_row(2)]
    vehicles = [vehicle_row(2, model="", fuel_type="diesel")]
    visits = [
        visit_row(1, vehicle=2, total_amount="12.345"),
        visit_row(2, vehicle=2, visit_type="洗车", labor_amount="abc", payer="老板"),
    ]

    result = run_import(dealership=dealership, files=_files(tmp_path, customers, vehicles, visits))

    assert not result.ok
    by_cell = {(e.file, e.row, e.column): e.reason for e in result.errors}
    assert "Required" in by_cell[("customers", 2, "name")]
    assert "Required" in by_cell[("vehicles", 2, "model")]
    assert "ICE" in by_cell[("vehicles", 2, "fuel_type")]  # the reason lists what is accepted
    assert "two decimals" in by_cell[("visits", 2, "total_amount")]
    assert "保养" in by_cell[("visits", 3, "visit_type")]
    assert "Not an amount" in by_cell[("visits", 3, "labor_amount")]
    assert ("visits", 3, "payer") in by_cell
    assert not Customer.objects.exists()


def test_a_key_repeated_in_a_file_is_an_error_on_every_occurrence(dealership, tmp_path):
    customers = [customer_row(1), customer_row(2), customer_row(1, name="另一个")]

    result = run_import(dealership=dealership, files=_files(tmp_path, customers, None, None))

    assert [(e.row, e.column, e.value) for e in result.errors] == [
        (2, "customer_no", "C00001"),
        (4, "customer_no", "C00001"),
    ]
    assert "also row 4" in result.errors[0].reason
    assert not Customer.objects.exists()


def test_references_must_be_on_record_or_in_the_same_import(dealership, tmp_path):
    vehicles = [vehicle_row(1, owner=42), vehicle_row(2, owner=1)]  # no customer C00042 anywhere
    visits = [
        visit_row(1, vin=make_vin(999)),
        visit_row(2, vehicle=2, customer_no="C00077"),
        visit_row(3, vehicle=1),  # the vehicle whose row is rejected
    ]

    result = run_import(dealership=dealership, files=_files(tmp_path, [customer_row(1)], vehicles, visits))

    by_cell = {(e.file, e.row, e.column): e.reason for e in result.errors}
    assert "No customer" in by_cell[("vehicles", 2, "owner_customer_no")]
    assert "No vehicle" in by_cell[("visits", 2, "vin")]
    assert "No customer" in by_cell[("visits", 3, "customer_no")]
    assert "Depends on row 2 of the vehicles file" in by_cell[("visits", 4, "vin")]


def test_skip_invalid_imports_the_valid_rows_and_rejects_dependent_rows(dealership, tmp_path):
    # Given customer 2 with a bad phone, so that its vehicle and that vehicle's visit cannot be imported,
    # and a visit with a bad amount
    customers = [customer_row(1), customer_row(2, phone="000"), customer_row(3)]
    vehicles = [vehicle_row(1), vehicle_row(2), vehicle_row(3)]
    visits = [visit_row(1), visit_row(2), visit_row(3, total_amount="1.234")]

    # When imported skipping invalid rows
    result = run_import(
        dealership=dealership, files=_files(tmp_path, customers, vehicles, visits, chinese=True), skip_invalid=True
    )

    # Then the valid rows are in
    assert result.status == "committed"
    assert sorted(Customer.objects.values_list("customer_no", flat=True)) == ["C00001", "C00003"]
    assert Vehicle.objects.count() == 2
    assert list(ServiceVisit.objects.values_list("ro_number", flat=True)) == ["RO000001"]
    assert [(r.created, r.rejected) for r in result.files.values()] == [(2, 1), (2, 1), (1, 2)]

    # And the rejected rows come back per file, as written (Chinese headers) plus a reason column
    customers_back = _read_rejects(result.rejects["customers"])
    assert [(r["客户编号"], r["手机号"]) for r in customers_back] == [("C00002", "000")]
    assert "phone number" in customers_back[0]["reason"]
    (vehicle_back,) = _read_rejects(result.rejects["vehicles"])
    assert vehicle_back["车主编号"] == "C00002"
    assert "row 3 of the customers file" in vehicle_back["reason"]
    visits_back = _read_rejects(result.rejects["visits"])
    assert [r["工单号"] for r in visits_back] == ["RO000002", "RO000003"]
    assert "row 3 of the vehicles file" in visits_back[0]["reason"]
    assert "two decimals" in visits_back[1]["reason"]
    assert list(visits_back[0]) == [*(r for r in visits_back[0] if r != "reason"), "reason"]

    # And the corrected rejects import cleanly on their own
    fixed = tmp_path / "fixed.csv"
    rows = [customer_row(2)]
    write_csv(fixed, CUSTOMER_HEADER, rows)
    assert run_import(dealership=dealership, files={"customers": fixed}).ok


def test_a_dry_run_counts_but_writes_nothing(dealership, tmp_path):
    run_import(dealership=dealership, files=small_import(tmp_path, 1))
    before = _everything()
    (tmp_path / "more").mkdir()

    result = run_import(dealership=dealership, files=small_import(tmp_path / "more", 3), dry_run=True)

    assert result.status == "previewed"
    assert [(r.created, r.updated, r.unchanged) for r in result.files.values()] == [(2, 0, 1)] * 3
    assert _everything() == before
    assert ImportRun.objects.filter(status="succeeded", dry_run=True).count() == 1


def test_an_import_without_files_is_refused(dealership):
    from dealercrm.core.exceptions import ApplicationError

    with pytest.raises(ApplicationError):
        run_import(dealership=dealership, files={})
