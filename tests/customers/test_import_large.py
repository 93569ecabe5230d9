"""Large files: read in chunks, repair orders written chunk by chunk, bulk-load mode on PostgreSQL."""

import logging

import pytest
from django.db import connection

from customers.importing import reader, run_import
from customers.models import ServiceVisit, Vehicle
from tests.customers.dms_files import VISIT_HEADER, small_import, visit_row, write_csv

pytestmark = pytest.mark.django_db


INDEXES = (
    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN "
    "('customers_servicevisit', 'customers_historicalservicevisit', 'customers_vehicle')"
)


@pytest.fixture
def tiny_chunks(monkeypatch):
    """Chunks of 3 rows, so that a dozen rows cross several chunk boundaries."""
    monkeypatch.setattr(reader, "CHUNK_ROWS", 3)


def _visits_by_ro():
    return {
        v.ro_number: (v.vehicle.vin, v.customer.customer_no, v.opened_on, v.total_amount, v.mileage_km)
        for v in ServiceVisit.objects.select_related("vehicle", "customer")
    }


def test_rows_are_numbered_across_chunks_and_duplicates_across_chunks_are_found(dealership, tmp_path, tiny_chunks):
    run_import(dealership=dealership, files=small_import(tmp_path, 4, visits_per_vehicle=0))
    visits = [visit_row(i, vehicle=1 + i % 4) for i in range(1, 11)]
    visits[8]["ro_number"] = visits[1]["ro_number"]  # row 10 repeats row 3, two chunks later
    visits[6]["total_amount"] = "abc"  # row 8, in the third chunk

    result = run_import(
        dealership=dealership,
        files={"visits": write_csv(tmp_path / "r.csv", VISIT_HEADER, visits)},
        skip_invalid=True,
    )

    assert [(e.row, e.column) for e in result.errors] == [(3, "ro_number"), (8, "total_amount"), (10, "ro_number")]
    report = result.files["visits"]
    assert (report.rows, report.created, report.rejected) == (10, 7, 3)
    assert sorted(_visits_by_ro()) == sorted(v["ro_number"] for i, v in enumerate(visits) if i not in (1, 6, 8))


def test_a_bad_row_in_a_late_chunk_still_leaves_the_database_unchanged(dealership, tmp_path, tiny_chunks):
    run_import(dealership=dealership, files=small_import(tmp_path, 2, visits_per_vehicle=0))
    visits = [visit_row(i, vehicle=1 + i % 2) for i in range(1, 11)]
    visits[9]["opened_at"] = "2024-13-01"

    result = run_import(dealership=dealership, files={"visits": write_csv(tmp_path / "r.csv", VISIT_HEADER, visits)})

    assert result.status == "rejected"
    assert [(e.row, e.column) for e in result.errors] == [(11, "opened_at")]
    assert not ServiceVisit.objects.exists()


@pytest.mark.postgres
def test_bulk_load_gives_the_same_records_and_restores_the_indexes(dealership, tmp_path, settings, tiny_chunks, caplog):
    # Given a store with vehicles, and the bulk-load mode switched on from one row
    run_import(dealership=dealership, files=small_import(tmp_path, 4, visits_per_vehicle=0))
    settings.DMS_IMPORT_BULK_MIN_ROWS = 1
    with connection.cursor() as cursor:
        # The table's statistics as they are here: an ANALYZE of an earlier test (a demo seed) leaves its row
        # estimate behind even when that test's rows are rolled back, and would make ten visits look small.
        cursor.execute("ANALYZE customers_servicevisit")
        cursor.execute(INDEXES)
        indexes_before = sorted(cursor.fetchall())
    visits = [visit_row(i, vehicle=1 + i % 4, mileage_km=str(40000 + i)) for i in range(1, 11)]
    visits[4]["customer_no"] = "C00003"
    path = write_csv(tmp_path / "r.csv", VISIT_HEADER, visits)

    # When the visits are imported (in bulk: indexes dropped, triggers off), and imported again
    caplog.set_level(logging.DEBUG, logger="customers.importing.bulkload")
    first = run_import(dealership=dealership, files={"visits": path}, bulk=True)
    assert "indexes dropped, triggers off: True" in caplog.text
    again = run_import(dealership=dealership, files={"visits": path}, bulk=True)

    # Then every visit is there as in an ordinary import, and the table has all its indexes again
    assert (first.files["visits"].created, again.files["visits"].unchanged) == (10, 10)
    assert "customers_historicalservicevisit" in caplog.text  # its indexes rebuilt too
    assert ServiceVisit.history.filter(history_type="+").count() == 10  # one history row per new visit
    stored = _visits_by_ro()
    assert stored["RO000005"][1] == "C00003"
    assert stored["RO000002"][1] == Vehicle.objects.get(vin=stored["RO000002"][0]).owner.customer_no
    assert stored["RO000008"][4] == 40008
    with connection.cursor() as cursor:
        cursor.execute(INDEXES)
        assert sorted(cursor.fetchall()) == indexes_before
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"


@pytest.mark.postgres
def test_bulk_load_rejects_duplicates_across_chunks(dealership, tmp_path, settings, tiny_chunks):
    run_import(dealership=dealership, files=small_import(tmp_path, 2, visits_per_vehicle=0))
    settings.DMS_IMPORT_BULK_MIN_ROWS = 1
    visits = [visit_row(i, vehicle=1 + i % 2) for i in range(1, 9)]
    visits[7]["ro_number"] = visits[0]["ro_number"]

    result = run_import(
        dealership=dealership,
        files={"visits": write_csv(tmp_path / "r.csv", VISIT_HEADER, visits)},
        skip_invalid=True,
        bulk=True,
    )

    assert [(e.row, e.column) for e in result.errors] == [(2, "ro_number"), (9, "ro_number")]
    assert result.files["visits"].created == 6
    assert ServiceVisit.objects.count() == 6
    assert not ServiceVisit.objects.filter(ro_number=visits[0]["ro_number"]).exists()


@pytest.mark.postgres
def test_without_the_bulk_flag_a_large_load_never_drops_indexes(dealership, tmp_path, settings, caplog):
    # Given a load that the bulk-load mode would take (from one row), started as the web starts imports
    run_import(dealership=dealership, files=small_import(tmp_path, 2, visits_per_vehicle=0))
    settings.DMS_IMPORT_BULK_MIN_ROWS = 1
    visits = [visit_row(i, vehicle=1 + i % 2) for i in range(1, 6)]
    caplog.set_level(logging.DEBUG, logger="customers.importing.bulkload")

    # When it is imported without bulk=True (a page or API upload, a task)
    result = run_import(
        dealership=dealership, files={"visits": write_csv(tmp_path / "r.csv", VISIT_HEADER, visits)}, source="page"
    )

    # Then the rows are written the ordinary way: no index dropped, no trigger switched off
    assert result.files["visits"].created == 5
    assert "indexes dropped" not in caplog.text
