"""DMS files as dealerships export them: encodings, Chinese headers and values, Excel."""

import datetime
import io
from decimal import Decimal

import pytest

from customers.importing import run_import
from customers.models import Customer, ServiceVisit, Vehicle
from tests.customers.dms_files import (
    CUSTOMER_HEADER,
    VEHICLE_HEADER,
    VISIT_HEADER,
    csv_bytes,
    customer_row,
    small_import,
    vehicle_row,
    visit_row,
    write_csv,
    write_xlsx,
)
from tests.factories import make_vin

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_in_each_encoding_imports_the_chinese_text_intact(dealership, tmp_path, encoding):
    # Given three files written in UTF-8, UTF-8 with a BOM, or GBK, with Chinese names and headers
    files = small_import(tmp_path, 2, encoding=encoding, chinese=True)

    # When they are imported
    result = run_import(dealership=dealership, files=files)

    # Then every row is in, names unmangled, and the report says which encoding it read
    assert result.ok, result.errors
    assert sorted(Customer.objects.values_list("name", flat=True)) == ["客户1", "客户2"]
    assert Vehicle.objects.filter(brand="别克").count() == 2
    assert ServiceVisit.objects.count() == 2
    assert result.files["customers"].encoding == ("GBK" if encoding == "gbk" else "UTF-8")


def test_chinese_values_are_understood(dealership, tmp_path):
    # Given files using the Chinese spellings DMS exports use for every coded column
    customers = [customer_row(1, gender="男", marketing_consent="是", consent_date="2024/01/05")]
    vehicles = [vehicle_row(1, fuel_type="插混", purchase_date="2021/6/1")]
    visits = [visit_row(1, visit_type="钣喷", payer="保险", opened_at="2024/05/10", closed_at="2024/05/12")]
    files = {
        "customers": write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, customers, chinese=True),
        "vehicles": write_csv(tmp_path / "v.csv", VEHICLE_HEADER, vehicles, chinese=True),
        "visits": write_csv(tmp_path / "r.csv", VISIT_HEADER, visits, chinese=True),
    }

    # When imported
    result = run_import(dealership=dealership, files=files)

    # Then they are stored as the codes
    assert result.ok, result.errors
    customer = Customer.objects.get()
    assert (customer.gender, customer.marketing_consent, customer.consent_channel) == ("M", True, "dms")
    vehicle = Vehicle.objects.get()
    assert (vehicle.fuel_type, vehicle.purchase_date) == ("PHEV", datetime.date(2021, 6, 1))
    visit = ServiceVisit.objects.get()
    assert (visit.visit_type, visit.payer) == ("bodywork", "insurance")
    assert (visit.opened_on, visit.closed_on) == (datetime.date(2024, 5, 10), datetime.date(2024, 5, 12))


def test_english_codes_consent_spellings_and_phone_formats(dealership, tmp_path):
    rows = [
        customer_row(1, marketing_consent="yes", consent_date="2024-01-01", phone="139 0000 0001"),
        customer_row(2, marketing_consent="0", consent_date="2024-01-01", phone="+86 139-0000-0002"),
        customer_row(3, marketing_consent="TRUE", consent_date="2024-01-01", phone="0755-83201234"),
        customer_row(4, marketing_consent="否", consent_date="2024-01-01", gender="女"),
    ]
    result = run_import(
        dealership=dealership, files={"customers": write_csv(tmp_path / "c.csv", CUSTOMER_HEADER, rows)}
    )

    assert result.ok, result.errors
    stored = {c.customer_no: c for c in Customer.objects.all()}
    assert [stored[f"C0000{i}"].marketing_consent for i in range(1, 5)] == [True, False, True, False]
    assert str(stored["C00001"].phone) == "+8613900000001"
    assert str(stored["C00002"].phone) == "+8613900000002"
    assert str(stored["C00003"].phone) == "+8675583201234"  # a Shenzhen landline, E.164
    assert stored["C00004"].gender == "F"


def test_excel_workbook_with_chinese_headers(dealership, tmp_path):
    # Given an .xlsx workbook as Excel holds it: numbers as numbers, dates as dates, amounts as floats
    write_xlsx(
        tmp_path / "c.xlsx",
        CUSTOMER_HEADER,
        [["C1", "张三", 13900000001, "男", datetime.date(1980, 1, 2), "深圳", "是", datetime.date(2024, 1, 1)]],
        chinese=True,
    )
    vin = make_vin(7)
    write_xlsx(
        tmp_path / "v.xlsx",
        VEHICLE_HEADER,
        [[vin, "粤B12345", "别克", "GL8", 2020, datetime.date(2020, 5, 1), "燃油", "C1", 35000]],
        chinese=True,
    )
    write_xlsx(
        tmp_path / "r.xlsx",
        VISIT_HEADER,
        [["RO1", vin, None, datetime.date(2024, 5, 1), datetime.date(2024, 5, 2), 36000, "保养", 200, 350.5, 550.5]],
        chinese=True,
    )

    # When imported
    result = run_import(
        dealership=dealership,
        files={"customers": tmp_path / "c.xlsx", "vehicles": tmp_path / "v.xlsx", "visits": tmp_path / "r.xlsx"},
    )

    # Then the values are exact: no float on the way
    assert result.ok, result.errors
    assert result.files["visits"].format == "xlsx"
    customer = Customer.objects.get()
    assert (str(customer.phone), customer.birthday) == ("+8613900000001", datetime.date(1980, 1, 2))
    visit = ServiceVisit.objects.get()
    assert (visit.labor_amount, visit.parts_amount, visit.total_amount) == (
        Decimal("200.00"),
        Decimal("350.50"),
        Decimal("550.50"),
    )
    assert visit.customer == customer  # blank customer: the vehicle's owner
    assert (visit.mileage_km, visit.vehicle.mileage_km) == (36000, 35000)  # the odometer is the vehicles file's


def test_uploaded_file_objects_are_read_like_paths(dealership):
    # Given an in-memory upload with a BOM
    upload = io.BytesIO(csv_bytes(CUSTOMER_HEADER, [customer_row(1)], encoding="utf-8-sig"))
    upload.name = "kunden.csv"

    result = run_import(dealership=dealership, files={"customers": upload}, source="api")

    assert result.ok, result.errors
    assert result.files["customers"].name == "kunden.csv"
    assert Customer.objects.filter(customer_no="C00001").exists()


def test_extra_columns_are_ignored_and_blank_lines_keep_row_numbers(dealership, tmp_path):
    # Given a file with a column the CRM does not know and a blank line before a bad row
    content = (
        "客户编号,姓名,手机号,会员卡号\r\n"  # 会员卡号: not ours
        "C1,张三,13900000001,VIP-9\r\n"
        "\r\n"
        "C2,李四,12345,VIP-10\r\n"
    )
    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")

    result = run_import(dealership=dealership, files={"customers": path})

    # Then the bad phone is reported on row 4, as a spreadsheet numbers it
    assert [(e.row, e.column, e.value) for e in result.errors] == [(4, "手机号", "12345")]
    assert result.files["customers"].rows == 2


def test_a_short_row_is_read_with_blank_cells_and_keeps_its_row_number(dealership, tmp_path):
    # Given a UTF-8 file (read by pyarrow) whose row 3 stops before its phone cell
    content = "客户编号,姓名,手机号\r\nC1,张三,13900000001\r\nC2,李四\r\nC3,王五,12345\r\n"
    path = tmp_path / "c.csv"
    path.write_text(content, encoding="utf-8")

    result = run_import(dealership=dealership, files={"customers": path})

    # Then, as for a GBK file, the missing cell is a blank required cell on row 3, and row 4 keeps its number
    assert [(e.row, e.column) for e in result.errors] == [(3, "手机号"), (4, "手机号")]
    assert not Customer.objects.filter(dealership=dealership).exists()


@pytest.mark.parametrize("rows_per_chunk", [1, 2, 3, 50])
def test_chunks_number_rows_the_same_whichever_reader_and_chunk_size(tmp_path, rows_per_chunk):
    from customers.importing.reader import DmsFile
    from customers.importing.schema import SCHEMAS

    lines = ["客户编号,姓名,手机号"] + [f"C{i},客户{i},1390000{i:04d}" for i in range(7)]
    utf8 = tmp_path / "utf8.csv"
    utf8.write_text("\n".join(lines) + "\n", encoding="utf-8")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(("\n".join(lines) + "\n").encode("gbk"))

    def read(path):
        dms_file = DmsFile.open(SCHEMAS["customers"], path)
        return dms_file, [
            (first + i, row.customer_no, row.name)
            for first, frame in dms_file.chunks(rows=rows_per_chunk)
            for i, row in enumerate(frame.itertuples())
        ]

    arrow_file, by_arrow = read(utf8)
    pandas_file, by_pandas = read(gbk)
    assert arrow_file._arrow_reads() and not pandas_file._arrow_reads()
    assert by_arrow == by_pandas == [(i + 2, f"C{i}", f"客户{i}") for i in range(7)]


def test_a_missing_required_column_rejects_the_whole_import(dealership, tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("vin,plate,model\r\n" + make_vin(1) + ",粤B12345,GL8\r\n", encoding="utf-8")

    result = run_import(dealership=dealership, files={"vehicles": path}, skip_invalid=True)

    assert result.status == "rejected"
    (error,) = result.errors
    assert (error.file, error.row, error.column) == ("vehicles", 1, "owner_customer_no")
    assert "Required column missing" in error.reason
    assert not Vehicle.objects.exists()


def test_a_file_in_neither_utf8_nor_gbk_is_refused(dealership, tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b"customer_no,name,phone\r\nC1,\xff\xfe\xff,13900000001\r\n")

    result = run_import(dealership=dealership, files={"customers": path})

    assert result.status == "rejected"
    assert "neither UTF-8 nor GBK" in result.errors[0].reason


def test_the_vectorised_vin_check_agrees_with_the_validator():
    # Given valid VINs, the same with a wrong check digit, and malformed ones
    import random

    from customers.importing.validate import vins_valid
    from customers.validators import vin_error

    rnd = random.Random(3)
    vins = [make_vin(seed) for seed in range(300)]
    vins += [vin[:8] + ("0" if vin[8] != "0" else "1") + vin[9:] for vin in vins[:100]]
    vins += ["", "SHORT", "LSGJA52U47S12345O", "1M8GDM9AXKP042788", "11111111111111111", "中" * 17]
    vins += ["".join(rnd.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(17)) for _ in range(300)]

    # Then the numpy pass says exactly what vin_error says, VIN by VIN
    assert list(vins_valid(vins)) == [vin_error(vin) is None for vin in vins]
