"""What an import does to stored records: upserts, idempotence, blanks, consent, owners, counter visits."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers.importing import run_import
from customers.models import (
    ConsentEvent,
    Customer,
    ImportRun,
    MileageReading,
    ServiceVisit,
    Vehicle,
    VehicleOwnership,
)
from customers.services import consent_record, visit_create
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
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _snapshot():
    """Every stored row of the records an import writes, as comparable tuples."""
    return {
        "customers": sorted(Customer.objects.values_list()),
        "vehicles": sorted(Vehicle.objects.values_list()),
        "visits": sorted(ServiceVisit.objects.values_list()),
        "ownerships": sorted(VehicleOwnership.objects.values_list()),
        "readings": sorted(MileageReading.objects.values_list()),
        "consent": sorted(ConsentEvent.objects.values_list()),
    }


def _counts(result, kind):
    report = result.files[kind]
    return report.created, report.updated, report.unchanged


def test_first_import_creates_and_reimport_changes_nothing(dealership, tmp_path, as_manager):
    # Given a consistent import with consent, mileage and an advisor who is a member of staff
    UserFactory(username="sa.wang", display_name="王顾问", dealerships=[dealership])
    customers = [customer_row(i, marketing_consent="是", consent_date="2024-01-02") for i in (1, 2, 3)]
    vehicles = [vehicle_row(i, mileage_km="35000") for i in (1, 2, 3)]
    visits = [visit_row(i, mileage_km="36000", advisor="王顾问", campaign_code="SPRING24") for i in (1, 2, 3)]
    files = {
        "customers": write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, customers),
        "vehicles": write_csv(tmp_path / "v.csv", VEHICLE_HEADER, vehicles),
        "visits": write_csv(tmp_path / "r.csv", VISIT_HEADER, visits),
    }

    # When imported once
    first = run_import(dealership=dealership, files=files, acting_user=as_manager, source="page")

    # Then everything is created, with the history records that go with it
    assert [_counts(first, k) for k in ("customers", "vehicles", "visits")] == [(3, 0, 0)] * 3
    assert ConsentEvent.objects.filter(channel="dms", granted=True, recorded_by=as_manager).count() == 3
    assert VehicleOwnership.objects.filter(ended_on__isnull=True).count() == 3
    assert MileageReading.objects.filter(source="import", mileage_km=35000).count() == 3
    assert set(Vehicle.objects.values_list("mileage_km", flat=True)) == {35000}
    assert set(ServiceVisit.objects.values_list("mileage_km", flat=True)) == {36000}
    visit = ServiceVisit.objects.get(ro_number="RO000001")
    assert (visit.advisor_name, visit.advisor.username) == ("王顾问", "sa.wang")
    before = _snapshot()

    # When the same files are imported again
    again = run_import(dealership=dealership, files=files, acting_user=as_manager, source="page")

    # Then every row is unchanged and the stored rows are identical, timestamps included
    assert [_counts(again, k) for k in ("customers", "vehicles", "visits")] == [(0, 0, 3)] * 3
    assert _snapshot() == before
    run = ImportRun.objects.get(pk=again.run_id)
    assert (run.status, run.dry_run, run.source, run.started_by) == ("succeeded", False, "page", as_manager)
    assert run.counts["visits"]["unchanged"] == 3


def test_a_changed_row_is_updated_and_counted(dealership, tmp_path):
    files = small_import(tmp_path, 2)
    run_import(dealership=dealership, files=files)
    customer = Customer.objects.get(customer_no="C00001")
    created_at = customer.created_at

    changed = [customer_row(1, city="广州"), customer_row(2)]
    result = run_import(
        dealership=dealership, files={"customers": write_csv(tmp_path / "c2.csv", CUSTOMER_HEADER, changed)}
    )

    assert _counts(result, "customers") == (0, 1, 1)
    customer.refresh_from_db()
    assert customer.city == "广州"
    assert customer.created_at == created_at
    assert customer.updated_at > created_at


def test_a_blank_cell_never_erases_a_stored_value(dealership, tmp_path):
    # Given stored records with every optional field filled
    run_import(
        dealership=dealership,
        files={
            "customers": write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1)]),
            "vehicles": write_csv(tmp_path / "v.csv", VEHICLE_HEADER, [vehicle_row(1, mileage_km="1000")]),
            "visits": write_csv(
                tmp_path / "r.csv", VISIT_HEADER, [visit_row(1, advisor="王顾问", campaign_code="SPRING24")]
            ),
        },
    )
    before = _snapshot()

    # When a later export has only the required columns filled (the rest blank)
    blank_customer = dict.fromkeys(CUSTOMER_HEADER, "") | {
        "customer_no": "C00001",
        "name": "客户1",
        "phone": "13900000001",
    }
    vin = Vehicle.objects.get().vin
    blank_vehicle = dict.fromkeys(VEHICLE_HEADER, "") | {"vin": vin, "model": "GL8", "owner_customer_no": "C00001"}
    blank_visit = dict.fromkeys(VISIT_HEADER, "") | {
        "ro_number": "RO000001",
        "vin": vin,
        "opened_at": "2024-05-10",
        "visit_type": "maintenance",
        "total_amount": "550.50",
    }
    result = run_import(
        dealership=dealership,
        files={
            "customers": write_csv(tmp_path / "c2.csv", CUSTOMER_HEADER, [blank_customer]),
            "vehicles": write_csv(tmp_path / "v2.csv", VEHICLE_HEADER, [blank_vehicle]),
            "visits": write_csv(tmp_path / "r2.csv", VISIT_HEADER, [blank_visit]),
        },
    )

    # Then nothing changed
    assert result.ok, result.errors
    assert [_counts(result, k) for k in ("customers", "vehicles", "visits")] == [(0, 0, 1)] * 3
    assert _snapshot() == before
    visit = ServiceVisit.objects.get()
    assert (visit.campaign_code, visit.advisor_name, visit.closed_on) == (
        "SPRING24",
        "王顾问",
        datetime.date(2024, 5, 10),
    )


def test_an_older_export_does_not_undo_a_withdrawal_made_in_the_crm(dealership, tmp_path):
    # Given a customer who withdrew consent at the counter on 2024-03-01
    run_import(
        dealership=dealership, files={"customers": write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1)])}
    )
    customer = Customer.objects.get()
    withdrawn_at = timezone.make_aware(datetime.datetime(2024, 3, 1, 15, 0))
    consent_record(customer=customer, granted=False, channel="counter", occurred_at=withdrawn_at)

    # When an export from before that day says "granted"
    older = [customer_row(1, marketing_consent="是", consent_date="2024-02-20")]
    result = run_import(
        dealership=dealership, files={"customers": write_csv(tmp_path / "c2.csv", CUSTOMER_HEADER, older)}
    )

    # Then the withdrawal stands and no event is recorded
    assert _counts(result, "customers") == (0, 0, 1)
    customer.refresh_from_db()
    assert (customer.marketing_consent, customer.consent_changed_at, customer.consent_channel) == (
        False,
        withdrawn_at,
        "counter",
    )
    assert not ConsentEvent.objects.filter(channel="dms").exists()


def test_a_newer_export_records_consent(dealership, tmp_path):
    run_import(
        dealership=dealership, files={"customers": write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1)])}
    )
    customer = Customer.objects.get()
    consent_record(
        customer=customer,
        granted=False,
        channel="counter",
        occurred_at=timezone.make_aware(datetime.datetime(2024, 3, 1, 15, 0)),
    )

    newer = [customer_row(1, marketing_consent="yes", consent_date="2024-03-02")]
    result = run_import(
        dealership=dealership, files={"customers": write_csv(tmp_path / "c2.csv", CUSTOMER_HEADER, newer)}
    )

    assert _counts(result, "customers") == (0, 1, 0)
    customer.refresh_from_db()
    granted_at = timezone.make_aware(datetime.datetime(2024, 3, 2))  # midnight in the dealership's zone
    assert (customer.marketing_consent, customer.consent_changed_at, customer.consent_channel) == (
        True,
        granted_at,
        "dms",
    )
    event = ConsentEvent.objects.get(channel="dms")
    assert (event.granted, event.occurred_at) == (True, granted_at)

    # And the same export again records nothing more
    again = run_import(
        dealership=dealership, files={"customers": write_csv(tmp_path / "c3.csv", CUSTOMER_HEADER, newer)}
    )
    assert _counts(again, "customers") == (0, 0, 1)
    assert ConsentEvent.objects.filter(channel="dms").count() == 1


def test_owner_change_closes_the_old_ownership_and_opens_a_new_one(dealership, tmp_path):
    files = small_import(tmp_path, 2)
    run_import(dealership=dealership, files=files)
    vin = Vehicle.objects.get(owner__customer_no="C00001").vin

    # When the vehicle of customer 1 now belongs to customer 2
    moved = [vehicle_row(1, owner=2)]
    result = run_import(
        dealership=dealership, files={"vehicles": write_csv(tmp_path / "v2.csv", VEHICLE_HEADER, moved)}
    )

    assert _counts(result, "vehicles") == (0, 1, 0)
    vehicle = Vehicle.objects.get(vin=vin)
    assert vehicle.owner.customer_no == "C00002"
    history = list(
        VehicleOwnership.objects.filter(vehicle=vehicle).order_by("id").values_list("customer__customer_no", "ended_on")
    )
    assert history == [("C00001", timezone.localdate()), ("C00002", None)]

    # And a visit without a customer number now goes to the new owner
    visit = [visit_row(999, vehicle=1)]
    run_import(dealership=dealership, files={"visits": write_csv(tmp_path / "r2.csv", VISIT_HEADER, visit)})
    assert ServiceVisit.objects.get(ro_number="RO000999").customer.customer_no == "C00002"


def test_a_counter_visit_is_updated_by_the_dms_and_keeps_its_campaign(dealership, tmp_path, advisor):
    # Given a visit recorded at the counter during a campaign, before the DMS export
    run_import(dealership=dealership, files=small_import(tmp_path, 1, visits_per_vehicle=0))
    vehicle = Vehicle.objects.get()
    counter = visit_create(
        dealership=dealership,
        vehicle=vehicle,
        acting_user=advisor,
        ro_number="RO777",
        opened_on=datetime.date(2024, 6, 1),
        visit_type="maintenance",
        total_amount=Decimal("100.00"),
        campaign_code="SUMMER24",
    )

    # When the DMS export brings the same RO with its own dates and amounts, and no campaign code
    dms = [
        visit_row(
            777,
            vehicle=1,
            ro_number="RO777",
            opened_at="2024-06-02",
            closed_at="2024-06-03",
            labor_amount="300.00",
            parts_amount="420.00",
            total_amount="720.00",
            campaign_code="",
        )
    ]
    result = run_import(dealership=dealership, files={"visits": write_csv(tmp_path / "r2.csv", VISIT_HEADER, dms)})

    # Then the DMS wins on dates and amounts, and the campaign link stays
    assert _counts(result, "visits") == (0, 1, 0)
    counter.refresh_from_db()
    assert (counter.opened_on, counter.closed_on) == (datetime.date(2024, 6, 2), datetime.date(2024, 6, 3))
    assert (counter.labor_amount, counter.parts_amount, counter.total_amount) == (
        Decimal("300.00"),
        Decimal("420.00"),
        Decimal("720.00"),
    )
    assert counter.campaign_code == "SUMMER24"
    assert counter.advisor == advisor  # the counter's advisor link stays too: the file names none


def test_possible_duplicate_phones_are_flagged_after_the_import(dealership, tmp_path):
    rows = [customer_row(1, phone="13900000009"), customer_row(2, phone="13900000009"), customer_row(3)]
    run_import(dealership=dealership, files={"customers": write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)})

    flagged = set(Customer.objects.filter(flag_possible_duplicate=True).values_list("customer_no", flat=True))
    assert flagged == {"C00001", "C00002"}


def test_a_name_with_tabs_quotes_and_backslashes_is_stored_exactly(dealership, tmp_path):
    rows = [customer_row(1, name='王\\小"明"\t二号')]
    result = run_import(
        dealership=dealership, files={"customers": write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)}
    )

    assert result.ok, result.errors
    assert Customer.objects.get().name == '王\\小"明"\t二号'


def test_other_dealerships_records_are_neither_matched_nor_touched(dealership, other_dealership, tmp_path):
    # Given the same customer number, VIN and RO number already on file at another store
    (tmp_path / "gz").mkdir()
    run_import(dealership=other_dealership, files=small_import(tmp_path / "gz", 1))
    theirs = sorted(Customer.objects.filter(dealership=other_dealership).values_list())

    # When this store imports them
    result = run_import(dealership=dealership, files=small_import(tmp_path, 1))

    # Then this store gets its own records and the other store's are untouched
    assert [_counts(result, k) for k in ("customers", "vehicles", "visits")] == [(1, 0, 0)] * 3
    assert Customer.objects.filter(customer_no="C00001").count() == 2
    assert sorted(Customer.objects.filter(dealership=other_dealership).values_list()) == theirs
    assert ServiceVisit.objects.filter(ro_number="RO000100", dealership=dealership).exists()


def test_the_number_of_queries_does_not_grow_with_the_rows(dealership, other_dealership, tmp_path):
    # Given a 10-row import for one store and a 200-row import for another
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small = small_import(tmp_path / "small", 10, visits_per_vehicle=2)
    large = small_import(tmp_path / "large", 200, visits_per_vehicle=2)

    # When each is imported, then imported again
    counts = []
    for store, files in ((dealership, small), (other_dealership, large)):
        for _ in range(2):
            with CaptureQueriesContext(connection) as queries:
                result = run_import(dealership=store, files=files)
            assert result.ok, result.errors
            counts.append(len(queries))

    # Then both take the same number of queries: statements per file, never per row
    assert counts[0] == counts[2]
    assert counts[1] == counts[3]
    assert max(counts) < 60


def test_amounts_are_stored_exactly(dealership, tmp_path):
    visits = [visit_row(1, vehicle=1, labor_amount="0.1", parts_amount="1,234.5", total_amount="1234.60")]
    run_import(dealership=dealership, files=small_import(tmp_path, 1, visits_per_vehicle=0))
    result = run_import(dealership=dealership, files={"visits": write_csv(tmp_path / "r.csv", VISIT_HEADER, visits)})

    assert result.ok, result.errors
    visit = ServiceVisit.objects.get()
    assert (visit.labor_amount, visit.parts_amount, visit.total_amount) == (
        Decimal("0.10"),
        Decimal("1234.50"),
        Decimal("1234.60"),
    )
