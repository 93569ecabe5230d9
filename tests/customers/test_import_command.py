"""``manage.py import_dms``: counts on success, the report on stderr and a non-zero exit on rejection."""

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line

from customers.models import Customer, ImportRun, ServiceVisit
from tests.customers.dms_files import CUSTOMER_HEADER, customer_row, small_import, write_csv

pytestmark = pytest.mark.django_db


def _run(*args):
    from io import StringIO

    out, err = StringIO(), StringIO()
    call_command("import_dms", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_command_imports_and_prints_counts_per_file(dealership, tmp_path):
    files = small_import(tmp_path, 2)

    out, err = _run(
        "--dealership",
        "SZ01",
        "--customers",
        str(files["customers"]),
        "--vehicles",
        str(files["vehicles"]),
        "--visits",
        str(files["visits"]),
    )

    assert "customers (customers.csv): 2 created, 0 updated, 0 unchanged, 0 rejected" in out
    assert "visits (visits.csv): 2 created" in out
    assert err == ""
    assert ServiceVisit.objects.count() == 2
    assert ImportRun.objects.get().source == "command"

    out, _err = _run("--dealership", "sz01", "--visits", str(files["visits"]))
    assert "visits (visits.csv): 0 created, 0 updated, 2 unchanged" in out


def test_command_rejects_with_the_report_on_stderr_and_a_nonzero_exit(dealership, tmp_path):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1), customer_row(2, phone="12")])

    with pytest.raises(CommandError, match="Nothing was imported"):
        _run("--dealership", "SZ01", "--customers", str(path))

    assert not Customer.objects.exists()


def test_command_prints_every_bad_row(dealership, tmp_path, capsys):
    from io import StringIO

    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1, phone="12"), customer_row(2, city="x" * 60)])
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("import_dms", "--dealership", "SZ01", "--customers", str(path), stderr=err, stdout=StringIO())

    lines = err.getvalue().splitlines()
    assert lines[0].startswith("customers row 2, phone “12”:")
    assert lines[1].startswith("customers row 3, city “" + "x" * 60 + "”: Longer than 50 characters")


def test_command_skip_invalid_writes_the_rejects_file(dealership, tmp_path):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1), customer_row(2, phone="12")])

    out, _err = _run(
        "--dealership", "SZ01", "--customers", str(path), "--skip-invalid", "--rejects-out", str(tmp_path / "bad.csv")
    )

    assert "1 created, 0 updated, 0 unchanged, 1 rejected" in out
    rejects = (tmp_path / "bad-customers.csv").read_bytes().decode("utf-8-sig")
    assert rejects.splitlines()[0] == ",".join([*CUSTOMER_HEADER, "reason"])
    assert rejects.splitlines()[1].startswith("C00002,")
    assert Customer.objects.count() == 1


def test_unknown_dealership_is_a_clear_error(db, tmp_path):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1)])

    with pytest.raises(CommandError, match="No dealership with code “NOPE”"):
        _run("--dealership", "NOPE", "--customers", str(path))


def test_a_missing_file_or_no_file_is_a_clear_error(dealership, tmp_path):
    with pytest.raises(CommandError, match="file not found"):
        _run("--dealership", "SZ01", "--customers", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="at least one file"):
        _run("--dealership", "SZ01")


def test_command_line_exit_status_is_1_with_the_message_on_stderr(dealership, tmp_path, capsys):
    # Given a file with a bad row, run as from the shell (in this process, so on the test database)
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1, phone="12")])

    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "import_dms", "--dealership", "SZ01", "--customers", str(path)])

    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "customers row 2, phone “12”" in err
    assert "Nothing was imported" in err
