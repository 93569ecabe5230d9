"""export_segments and the segment filters."""

import csv

import pytest
from django.core.management import CommandError, call_command

from customers.models import VisitType
from segmentation.exports import COLUMNS, xlsx_bytes
from segmentation.filters import SegmentFilter
from segmentation.selectors import customer_segments_at
from segmentation.services import segmentation_run
from tests.factories import VehicleFactory
from tests.segmentation.test_engine import REF, before, build, fixed_value

M, R = VisitType.MAINTENANCE, VisitType.REPAIR


def read(path):
    with path.open(encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_the_export_has_the_stable_columns_codes_and_number_formats(dealership, tmp_path):
    fixed_value(dealership)
    loyal = build(dealership, [(30, M, "900"), (180, M, "900"), (330, M, "900"), (480, M, "900"), (60, R, "8400")])
    idle = build(dealership, [])
    segmentation_run(dealership=dealership, reference_date=REF)
    out = tmp_path / "segments.csv"

    call_command("export_segments", "--dealership", "sz01", "--out", str(out))

    rows = read(out)
    assert list(rows[0]) == COLUMNS
    by_no = {row["customer_no"]: row for row in rows}
    assert by_no[loyal.customer_no] == {
        "customer_no": loyal.customer_no,
        "c3_group": "profitable_loyal",
        "tier": "A",
        "value_layer": "mid",
        "lapsed": "false",
        "maintenance_per_year": "2.0000",
        "spend_per_year": "6000.00",
        "repair_ratio": "0.7000",
        "visits_12m": "4",
        "lifetime_value": "12000.00",
    }
    assert by_no[idle.customer_no]["c3_group"] == "" and by_no[idle.customer_no]["tier"] == "D"


def test_an_older_run_exports_what_it_found(dealership, tmp_path):
    customer = build(dealership, [(30, M, "500")])
    first = segmentation_run(dealership=dealership, reference_date=REF)
    build(dealership, [(10, M, "500")])
    VehicleFactory(owner=customer)
    segmentation_run(dealership=dealership, reference_date=REF)
    out = tmp_path / "old.csv"

    call_command("export_segments", "--dealership", "SZ01", "--run", str(first.pk), "--out", str(out))

    assert [row["customer_no"] for row in read(out)] == [customer.customer_no]


def test_export_refusals_name_the_problem(dealership, other_dealership, tmp_path):
    out = str(tmp_path / "x.csv")
    with pytest.raises(CommandError, match="no segmentation run yet"):
        call_command("export_segments", "--dealership", "SZ01", "--out", out)
    theirs = segmentation_run(dealership=other_dealership, reference_date=REF)
    with pytest.raises(CommandError, match=f"#{theirs.pk} is not a run of SZ01"):
        call_command("export_segments", "--dealership", "SZ01", "--run", str(theirs.pk), "--out", out)


def test_the_excel_export_holds_the_same_rows(dealership):
    import io

    from openpyxl import load_workbook

    build(dealership, [(30, M, "1234.50")])
    run = segmentation_run(dealership=dealership, reference_date=REF)

    sheet = load_workbook(io.BytesIO(xlsx_bytes(run))).active
    header, row = list(sheet.iter_rows(values_only=True))
    assert list(header) == COLUMNS
    assert row[2:5] == ("C", "potential", "false") and row[9] == pytest.approx(1234.5)


def test_segments_filter_by_codes_and_by_the_customers_vehicles(dealership):
    fixed_value(dealership)
    gl8 = build(dealership, [(30, M, "500")])
    gl8_vehicle = gl8.vehicles.get()
    gl8_vehicle.model, gl8_vehicle.plate = "GL8", "粤A12345"  # the others are 粤B
    gl8_vehicle.save()
    other = build(dealership, [(30, R, "500"), (400, R, "500")], bought_days_ago=200)
    nobody = build(dealership, [])
    run = segmentation_run(dealership=dealership, reference_date=REF)

    def customers(**params):
        rows = SegmentFilter(params, queryset=customer_segments_at(run=run)).qs
        return sorted(rows.values_list("customer_id", flat=True))

    assert customers(model="GL8") == [gl8.pk]
    assert customers(plate_prefix="粤a") == [gl8.pk]
    assert customers(age_band=["<1"]) == [other.pk]
    assert customers(c3_group=["none"]) == [nobody.pk]
    assert customers(tier=["C"], value_layer=["potential"]) == sorted([gl8.pk, other.pk])
    assert customers(model="GL8", age_band=["<1"]) == []  # one vehicle must match every condition
    assert customers(last_visit_after=str(before(40))) == sorted([gl8.pk, other.pk])
    assert customers(last_visit_before=str(before(40))) == []
