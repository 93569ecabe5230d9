"""An import's progress is visible to others while its transaction is still open."""

import threading
import time

import pytest
from django.db import connections

from customers.importing import progress, reader, run_import, validate
from customers.models import ImportRun
from tests.customers.dms_files import VISIT_HEADER, small_import, visit_row, write_csv
from tests.factories import DealershipFactory


def _seen_from_another_connection(dealership) -> list:
    """The dealership's runs as another session sees them (a thread has a connection of its own; the import's
    own connection is busy, lent to its COPY thread)."""
    seen = {}

    def read():
        try:
            runs = ImportRun.objects.filter(dealership=dealership, status="running")
            seen["row"] = list(runs.values_list("status", "rows_read", "rows_checked", "files"))
        finally:
            connections.close_all()

    thread = threading.Thread(target=read)
    thread.start()
    thread.join()
    return seen["row"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_counters_move_while_the_import_runs(tmp_path, monkeypatch):
    # Given a file of twelve visits read three rows at a time, the counters sent at every chunk
    dealership = DealershipFactory(code="PROG1")
    run_import(dealership=dealership, files=small_import(tmp_path, 4, visits_per_vehicle=0))
    monkeypatch.setattr(reader, "CHUNK_ROWS", 3)
    monkeypatch.setattr(progress, "INTERVAL_SECONDS", 0)
    path = write_csv(tmp_path / "r.csv", VISIT_HEADER, [visit_row(i, vehicle=1 + i % 4) for i in range(1, 13)])
    observed = []
    check = validate.ChunkChecker.check

    def check_and_look(self, first_row, frame):
        if first_row == 11:  # the fourth chunk: three have been read and checked, nothing committed yet
            deadline = time.monotonic() + 10  # the progress thread writes what it was given, soon
            while True:
                seen = _seen_from_another_connection(dealership)
                if (seen and seen[0][1:3] == (12, 9)) or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            observed.extend(seen)
        return check(self, first_row, frame)

    monkeypatch.setattr(validate.ChunkChecker, "check", check_and_look)

    # When the visits are imported
    result = run_import(dealership=dealership, files={"visits": path})

    # Then another session saw the run running, with rows read and the file's expected rows, before the end
    assert result.files["visits"].created == 12
    ((status, rows_read, rows_checked, files),) = observed
    assert status == "running"
    assert (rows_read, rows_checked) == (12, 9)  # the fourth chunk read, three checked
    assert files["visits"]["rows_expected"] == 12
    run = ImportRun.objects.get(pk=result.run_id)
    assert (run.status, run.rows_read, run.rows_checked, run.rows_written) == ("succeeded", 12, 12, 12)
