"""Hostile and mistaken files: NUL bytes, huge cells, the wrong encoding, formulas, and what the report says."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from customers.importing import run_import
from customers.importing.report import QUOTE_LIMIT
from customers.models import Customer, ImportRun
from tests.customers.dms_files import CUSTOMER_HEADER, csv_bytes, customer_row, write_csv

pytestmark = pytest.mark.django_db

# What a Chinese DMS export holds: names (some with characters outside GB2312), cities, brands, advisors.
CHINESE_ROWS = [
    ("C1", "张伟", "13900000001", "男", "深圳市南山区"),
    ("C2", "王芳", "13900000002", "女", "广州"),
    ("C3", "李喆", "13900000003", "男", "北京"),  # 喆: not in GB2312, a real name
    ("C4", "赵堃", "13900000004", "男", "上海浦东新区"),  # 堃 likewise
    ("C5", "陈静", "13900000005", "女", "佛山"),
]
JAPANESE_ROWS = [
    ("C1", "山田太郎", "13900000001", "男", "東京"),
    ("C2", "佐藤花子", "13900000002", "女", "大阪府"),
    ("C3", "鈴木一郎", "13900000003", "男", "名古屋"),
]
TAIWANESE_ROWS = [
    ("C1", "陳大文", "13900000001", "男", "台北"),
    ("C2", "林美玲", "13900000002", "女", "高雄市"),
    ("C3", "黃志明", "13900000003", "男", "台中"),
]
EUROPEAN_ROWS = [
    ("C1", "Müller", "13900000001", "M", "Zürich"),
    ("C2", "Gonçalves", "13900000002", "F", "Besançon"),
    ("C3", "Citroën", "13900000003", "M", "Köln"),
]


def _text_file(tmp_path, rows, encoding: str, name: str = "customers.csv"):
    header = "customer_no,name,phone,gender,city\r\n"
    body = "".join(",".join(row) + "\r\n" for row in rows)
    path = tmp_path / name
    path.write_bytes((header + body).encode(encoding))
    return path


@pytest.mark.parametrize(
    ("rows", "encoding"),
    [(CHINESE_ROWS, "gbk"), (CHINESE_ROWS, "utf-8"), (CHINESE_ROWS, "utf-8-sig"), (TAIWANESE_ROWS, "utf-8")],
)
def test_real_chinese_text_in_gbk_or_utf8_is_imported_intact(dealership, tmp_path, rows, encoding):
    path = _text_file(tmp_path, rows, encoding)

    result = run_import(dealership=dealership, files={"customers": path})

    assert result.ok, result.errors
    assert sorted(Customer.objects.values_list("name", flat=True)) == sorted(row[1] for row in rows)


@pytest.mark.parametrize(
    ("rows", "encoding"),
    [(JAPANESE_ROWS, "shift_jis"), (TAIWANESE_ROWS, "big5"), (EUROPEAN_ROWS, "latin-1"), (CHINESE_ROWS, "utf-16")],
)
def test_text_in_another_encoding_is_refused_before_anything_is_written(dealership, tmp_path, rows, encoding):
    # Given a file saved in Shift-JIS, Big5, Latin-1 or UTF-16: most of it decodes as GB18030, into nonsense
    path = _text_file(tmp_path, rows, encoding, name="客户导出.csv")

    # When it is imported
    result = run_import(dealership=dealership, files={"customers": path}, skip_invalid=True)

    # Then nothing is written, and the message names the file and the first line that shows it
    assert result.status == "rejected"
    assert not Customer.objects.exists()
    (error,) = result.errors
    assert "客户导出.csv" in error.reason
    assert "UTF-8" in error.reason
    if encoding != "utf-16":
        assert error.row >= 1
        assert f"line {error.row} " in error.reason


def test_latin1_names_after_the_header_are_refused_on_their_line(dealership, tmp_path):
    rows = [("C1", "Wang", "13900000001", "M", "Shenzhen"), *EUROPEAN_ROWS[1:]]
    path = _text_file(tmp_path, rows, "latin-1")

    result = run_import(dealership=dealership, files={"customers": path})

    (error,) = result.errors
    assert error.row == 3  # the first row with an accent (Gonçalves); the header is line 1
    assert not Customer.objects.exists()


@pytest.mark.parametrize("column", ["name", "phone", "customer_no", "city", "gender"])
def test_a_nul_byte_in_a_cell_is_a_row_error_not_a_crash(dealership, tmp_path, column):
    rows = [customer_row(1), customer_row(2, **{column: "ab\x00cd"})]
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)

    result = run_import(dealership=dealership, files={"customers": path})

    assert result.status == "rejected"
    assert [(e.file, e.row, e.column) for e in result.errors if "control character" in e.reason] == [
        ("customers", 3, column)
    ]
    assert "ab␀cd" in [e.value for e in result.errors]
    assert not Customer.objects.exists()
    assert ImportRun.objects.get(pk=result.run_id).status == ImportRun.Status.REFUSED
    report = result.files["customers"]
    assert (report.rows, report.rejected, report.not_imported) == (2, 1, 1)


def test_a_nul_byte_with_skip_invalid_imports_the_other_rows_and_gives_back_the_row(dealership, tmp_path):
    rows = [customer_row(1), customer_row(2, name="ab\x00cd")]
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)

    result = run_import(dealership=dealership, files={"customers": path}, skip_invalid=True)

    assert list(Customer.objects.values_list("customer_no", flat=True)) == ["C00001"]
    (row,) = list(csv.DictReader(io.StringIO(result.rejects["customers"].decode("utf-8-sig"))))
    assert row["name"] == "ab␀cd"


def test_a_huge_cell_is_quoted_short_everywhere(dealership, tmp_path):
    # Given a city of a million characters
    huge = "深" * 1_000_000
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1), customer_row(2, city=huge)])

    # When imported, skipping invalid rows
    result = run_import(dealership=dealership, files={"customers": path}, skip_invalid=True)

    # Then the error quotes at most QUOTE_LIMIT characters, and the rejects file is not a megabyte
    (error,) = result.errors
    assert error.row == 3
    assert len(error.value) <= QUOTE_LIMIT and error.value.endswith("…")
    assert len(result.rejects["customers"]) < 10_000
    stored = ImportRun.objects.get(pk=result.run_id)
    assert len(str(stored.errors)) < 2_000


def test_the_api_answers_a_nul_byte_and_a_huge_cell_without_a_500_or_a_megabyte(
    api_client_for, as_manager, django_capture_on_commit_callbacks, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path / "media"
    rows = [customer_row(1, name="ab\x00cd"), customer_row(2, city="x" * 1_000_000)]
    upload = SimpleUploadedFile("customers.csv", csv_bytes(CUSTOMER_HEADER, rows))
    client = api_client_for(as_manager)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("api-import"), {"customers": upload}, format="multipart")
    status = client.get(response["Location"])

    assert (response.status_code, status.status_code) == (202, 200)
    assert len(status.content) < 20_000
    report = status.json()["report"]
    assert report["status"] == "rejected"
    assert [e["row"] for e in report["errors"]] == [2, 3]
    assert not Customer.objects.exists()


def test_the_rejects_file_neutralises_formulas(dealership, tmp_path):
    # Given a row whose cells a spreadsheet would run as formulas, rejected for its phone
    rows = [customer_row(1), customer_row(2, name='=HYPERLINK("http://evil.example","x")', city="@SUM(1)", phone="-1")]
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)

    result = run_import(dealership=dealership, files={"customers": path}, skip_invalid=True)

    (row,) = list(csv.DictReader(io.StringIO(result.rejects["customers"].decode("utf-8-sig"))))
    assert row["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert row["city"] == "'@SUM(1)"
    assert row["phone"] == "-1"  # a plain number is a number, not a formula


def test_the_consent_error_lists_every_accepted_value_in_the_users_language(dealership, tmp_path):
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, [customer_row(1, marketing_consent="maybe")])

    with translation.override("en"):
        english = run_import(dealership=dealership, files={"customers": path}).errors[0].reason
    with translation.override("zh-hans"):
        chinese = run_import(dealership=dealership, files={"customers": path}).errors[0].reason

    for reason in (english, chinese):
        for spelling in ("yes", "no", "true", "false", "1", "0", "是", "否", "同意", "不同意", "y", "n"):
            assert spelling in reason, (spelling, reason)
    # English words first in English, Chinese words first in Chinese; yes-words before no-words
    assert english.index("yes") < english.index("是") < english.index("no,")
    assert chinese.index("是") < chinese.index("yes") < chinese.index("否")


def test_a_refused_import_counts_every_row(dealership, tmp_path):
    rows = [customer_row(1), customer_row(2), customer_row(3, phone="12345")]
    path = write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)

    result = run_import(dealership=dealership, files={"customers": path})

    report = result.files["customers"]
    counted = report.created + report.updated + report.unchanged + report.rejected + report.not_imported
    assert (report.rows, report.rejected, report.not_imported) == (3, 1, 2)
    assert counted == report.rows
    assert ImportRun.objects.get(pk=result.run_id).counts["customers"]["not_imported"] == 2


def test_a_name_with_a_private_use_character_in_gbk_is_not_taken_for_another_encoding(dealership, tmp_path):
    # Given a GBK export where one name holds a character the store's system put in GBK's user-defined area
    # (造字, for a name's character missing from GBK): one such character, the rest ordinary Chinese
    rows = [*CHINESE_ROWS[:4], ("C5", "王\ue000", "13900000005", "女", "佛山")]
    path = _text_file(tmp_path, rows, "gb18030")

    result = run_import(dealership=dealership, files={"customers": path})

    assert result.ok, result.errors
    assert Customer.objects.get(customer_no="C5").name == "王\ue000"
