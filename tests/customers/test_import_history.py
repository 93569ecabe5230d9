"""The import's writes leave history rows, written set-based: who (the run's user, or the system), which run,
"+" for new and "~" for changed rows, none for unchanged ones; and an import's query count does not grow with
its rows."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.importing import run_import
from customers.models import Customer, ImportRun, ServiceVisit, Vehicle
from tests.customers.dms_files import CUSTOMER_HEADER, customer_row, small_import, write_csv

pytestmark = pytest.mark.django_db


def _history(model):
    return sorted(
        (getattr(row, model.history.model._meta.get_field("id").attname), row.history_type)
        for row in model.history.all()
    )


def test_a_first_import_writes_one_creation_row_per_record_by_its_user(dealership, tmp_path, as_manager):
    result = run_import(dealership=dealership, files=small_import(tmp_path, 3), acting_user=as_manager, source="page")

    for model in (Customer, Vehicle, ServiceVisit):
        rows = list(model.history.all())
        assert len(rows) == 3, model
        assert {row.history_type for row in rows} == {"+"}
        assert {row.history_user_id for row in rows} == {as_manager.pk}
        assert {row.history_change_reason for row in rows} == {f"import #{result.run_id}"}
    # the history row holds the record as written
    customer = Customer.objects.get(customer_no="C00001")
    row = customer.history.get()
    assert (row.name, row.phone, row.city) == (customer.name, customer.phone, customer.city)


def test_a_reimport_writes_history_only_for_what_changed(dealership, tmp_path, as_manager):
    run_import(dealership=dealership, files=small_import(tmp_path, 3), acting_user=as_manager)
    before = {model: _history(model) for model in (Customer, Vehicle, ServiceVisit)}
    rows = [customer_row(1), customer_row(2, city="广州"), customer_row(3)]
    (tmp_path / "again").mkdir()

    result = run_import(
        dealership=dealership,
        files={"customers": write_csv(tmp_path / "again" / "c.csv", CUSTOMER_HEADER, rows)},
        acting_user=as_manager,
    )

    assert (result.files["customers"].updated, result.files["customers"].unchanged) == (1, 2)
    changed = Customer.objects.get(customer_no="C00002")
    new_rows = Customer.history.exclude(history_change_reason__endswith=f"#{result.run_id - 1}")
    assert [(row.id, row.history_type, row.city) for row in new_rows] == [(changed.pk, "~", "广州")]
    assert _history(Vehicle) == before[Vehicle] and _history(ServiceVisit) == before[ServiceVisit]


def test_a_refused_or_dry_run_import_writes_no_history(dealership, tmp_path):
    files = small_import(tmp_path, 2)

    run_import(dealership=dealership, files=files, dry_run=True)
    bad = write_csv(tmp_path / "bad.csv", CUSTOMER_HEADER, [customer_row(1), customer_row(2, phone="1")])
    run_import(dealership=dealership, files={"customers": bad})

    assert not Customer.history.exists()
    assert not ServiceVisit.history.exists()


def test_the_command_names_its_user_or_the_system(dealership, tmp_path, as_manager):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1)])
    call_command("import_dms", "--dealership", "SZ01", "--customers", str(path), stdout=StringIO())
    system_run = ImportRun.objects.get()
    path = write_csv(tmp_path / "c2.csv", CUSTOMER_HEADER, [customer_row(1, city="广州")])
    call_command(
        "import_dms", "--dealership", "SZ01", "--customers", str(path), "--user", as_manager.username, stdout=StringIO()
    )
    user_run = ImportRun.objects.exclude(pk=system_run.pk).get()

    rows = list(Customer.history.order_by("history_id"))
    assert [(r.history_type, r.history_user_id, r.history_change_reason) for r in rows] == [
        ("+", None, f"import #{system_run.pk} (system)"),
        ("~", as_manager.pk, f"import #{user_run.pk}"),
    ]


def _queries_for(dealership, tmp_path, n: int, name: str) -> int:
    folder = tmp_path / name
    folder.mkdir()
    files = small_import(folder, n, visits_per_vehicle=2)
    with CaptureQueriesContext(connection) as first:
        run_import(dealership=dealership, files=files)
    changed = [customer_row(i, city="广州") for i in range(1, n + 1)]
    with CaptureQueriesContext(connection) as again:
        run_import(dealership=dealership, files={"customers": write_csv(folder / "c.csv", CUSTOMER_HEADER, changed)})
    return len(first.captured_queries), len(again.captured_queries)


def test_the_query_count_of_an_import_does_not_grow_with_its_rows(dealership, other_dealership, tmp_path):
    small = _queries_for(dealership, tmp_path, 3, "small")
    large = _queries_for(other_dealership, tmp_path, 60, "large")

    assert Customer.history.filter(history_type="~").count() == 63
    assert small == large


@pytest.mark.parametrize("customers", [5, 120])
def test_an_import_stays_within_a_fixed_number_of_queries_whatever_its_size(
    dealership, tmp_path, django_assert_max_num_queries, customers
):
    files = small_import(tmp_path, customers, visits_per_vehicle=2)

    with django_assert_max_num_queries(60):
        result = run_import(dealership=dealership, files=files)

    assert result.files["visits"].created == 2 * customers
    assert ServiceVisit.history.filter(history_type="+").count() == 2 * customers
