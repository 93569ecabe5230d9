"""Attack test of the DMS import (hypothesis): random bytes, encodings, headers and values, through the service and
through the API. Never an unhandled exception or a 500, never a failed run, and never a partial import: after a
refused all-or-nothing import the tables are exactly as they were.

Bounded for CI (``max_examples``, ``derandomize=True``: the same examples every run, no example database).
"""

import csv
import io
from itertools import count

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.importing import run_import
from customers.models import ConsentEvent, Customer, MileageReading, ServiceVisit, Vehicle, VehicleOwnership
from tests.customers.dms_files import (
    CHINESE,
    CUSTOMER_HEADER,
    VEHICLE_HEADER,
    VISIT_HEADER,
    customer_row,
    vehicle_row,
    visit_row,
)

pytestmark = pytest.mark.django_db

FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
API_FUZZ = settings(FUZZ, max_examples=20)

ENCODINGS = ["utf-8", "utf-8-sig", "gbk", "gb18030", "shift_jis", "big5", "latin-1", "utf-16"]
# Most files are read (UTF-8 and GBK, as DMS exports are): their cells reach the checks and the database.
LIKELY_ENCODINGS = ENCODINGS + ["utf-8"] * 5 + ["gbk"] * 3
HOSTILE = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "\x01\x02\x1b[31m",
    "\x7f",
    "=1+1",
    '=HYPERLINK("http://e.vil","x")',
    "+1",
    "-1",
    "@SUM(1)",
    "\t=1",
    "\r=1",
    "0410-01-01",
    "2024-02-30",
    "9999-12-31",
    "1899-12-31",
    "-5",
    "-0.01",
    "12.345",
    "1,234.5",
    "1e9",
    "NaN",
    "null",
    "是",
    "否",
    "不同意",
    "男",
    "保养",
    "𠀀𠀁",
    "\u202eevil",
    "\ufeffx",
    '"',
    ",",
    "\n",
    "\r\n",
    "x" * 3000,
    "深" * 2000,
]
ROWS = {"customers": customer_row, "vehicles": vehicle_row, "visits": visit_row}
HEADERS = {"customers": CUSTOMER_HEADER, "vehicles": VEHICLE_HEADER, "visits": VISIT_HEADER}

cells = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20), st.integers(-(10**12), 10**12).map(str))


@st.composite
def dms_file(draw, kind: str) -> bytes:
    """One file of ``kind``: mostly a plausible export, mutated: headers shuffled, misspelled, dropped or repeated;
    cells replaced by hostile values; written in a random encoding, or random bytes altogether."""
    if draw(st.integers(0, 11)) == 0:
        return draw(st.binary(max_size=600))
    names = list(HEADERS[kind])
    size = draw(st.integers(0, 6))
    rows = [ROWS[kind](n, **({"owner": n} if kind == "vehicles" else {})) for n in range(1, size + 1)]
    chinese = draw(st.booleans())
    header = [CHINESE[name] if chinese else name for name in names]
    if draw(st.booleans()):
        order = draw(st.permutations(range(len(names))))
        names, header = [names[i] for i in order], [header[i] for i in order]
    for _ in range(draw(st.integers(0, 2)) if draw(st.integers(0, 3)) == 0 else 0):
        i = draw(st.integers(0, len(header) - 1))
        header[i] = draw(st.sampled_from([header[i] + "x", header[i].upper(), " " + header[i], "", header[0]]))
    table = [[row.get(name, "") for name in names] for row in rows]
    for _ in range(draw(st.integers(0, 4))):
        if table:
            r, c = draw(st.integers(0, len(table) - 1)), draw(st.integers(0, len(names) - 1))
            table[r][c] = draw(cells)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=draw(st.sampled_from(["\r\n", "\n"])))
    writer.writerow(header)
    writer.writerows(table)
    return buffer.getvalue().encode(draw(st.sampled_from(LIKELY_ENCODINGS)), errors="replace")


@st.composite
def dms_import(draw) -> dict[str, bytes]:
    kinds = draw(st.sets(st.sampled_from(list(ROWS)), min_size=1))
    return {kind: draw(dms_file(kind)) for kind in sorted(kinds)}


def _tables() -> tuple:
    """Everything an import may write, as it is."""
    return tuple(
        sorted(model.objects.values_list(*[f.attname for f in model._meta.concrete_fields]))
        for model in (Customer, Vehicle, ServiceVisit, VehicleOwnership, MileageReading, ConsentEvent)
    )


def test_the_service_never_crashes_and_never_imports_half(dealership, tmp_path):
    names = count()

    @FUZZ
    @given(files=dms_import(), skip_invalid=st.booleans())
    def check(files, skip_invalid):
        paths = {}
        for kind, content in files.items():
            path = tmp_path / f"{next(names)}-{kind}.csv"
            path.write_bytes(content)
            paths[kind] = path
        before = _tables()

        result = run_import(dealership=dealership, files=paths, skip_invalid=skip_invalid)

        assert result.status in ("committed", "rejected")
        if result.status == "rejected":
            assert _tables() == before
            assert result.errors
        for error in result.errors:
            assert len(error.value) <= 80 and "\x00" not in error.value
        for report in result.files.values():
            if result.status == "rejected":
                assert report.created == report.updated == report.unchanged == 0
            counted = report.created + report.updated + report.unchanged + report.rejected + report.not_imported
            assert counted == report.rows, report

    check()


def test_the_api_never_answers_500_and_never_imports_half(
    api_client_for, as_manager, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    client = api_client_for(as_manager)

    @API_FUZZ
    @given(files=dms_import(), skip_invalid=st.booleans(), dry_run=st.booleans())
    def check(files, skip_invalid, dry_run):
        uploads = {kind: SimpleUploadedFile(f"{kind}.csv", content) for kind, content in files.items()}
        before = _tables()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                reverse("api-import"),
                {**uploads, "skip_invalid": skip_invalid, "dry_run": dry_run},
                format="multipart",
            )
        assert response.status_code in (202, 400), response.content[:500]
        if response.status_code == 400:
            assert set(response.json()) == {"code", "message", "fields"}
            return
        status = client.get(response["Location"])
        assert status.status_code == 200
        body = status.json()
        assert body["status"] in ("succeeded", "refused"), body
        if body["status"] == "refused" or dry_run:
            assert _tables() == before

    check()
