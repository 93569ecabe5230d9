"""Builders of DMS export files for the import tests (not a test module)."""

import csv
import io
from pathlib import Path

from tests.factories import make_plate, make_vin

CUSTOMER_HEADER = [
    "customer_no",
    "name",
    "phone",
    "gender",
    "birthday",
    "city",
    "marketing_consent",
    "consent_date",
]
VEHICLE_HEADER = [
    "vin",
    "plate",
    "brand",
    "model",
    "model_year",
    "purchase_date",
    "fuel_type",
    "owner_customer_no",
    "mileage_km",
]
VISIT_HEADER = [
    "ro_number",
    "vin",
    "customer_no",
    "opened_at",
    "closed_at",
    "mileage_km",
    "visit_type",
    "labor_amount",
    "parts_amount",
    "total_amount",
    "payer",
    "advisor",
    "campaign_code",
]
CHINESE = {
    "customer_no": "客户编号",
    "name": "姓名",
    "phone": "手机号",
    "gender": "性别",
    "birthday": "生日",
    "city": "城市",
    "marketing_consent": "营销授权",
    "consent_date": "授权日期",
    "vin": "VIN",
    "plate": "车牌号",
    "brand": "品牌",
    "model": "车型",
    "model_year": "年款",
    "purchase_date": "购车日期",
    "fuel_type": "燃油类型",
    "owner_customer_no": "车主编号",
    "mileage_km": "里程",
    "ro_number": "工单号",
    "opened_at": "进厂日期",
    "closed_at": "出厂日期",
    "visit_type": "维修类型",
    "labor_amount": "工时费",
    "parts_amount": "材料费",
    "total_amount": "总金额",
    "payer": "付款方",
    "advisor": "服务顾问",
    "campaign_code": "活动代码",
}


def customer_row(n: int, **overrides) -> dict:
    row = {
        "customer_no": f"C{n:05d}",
        "name": f"客户{n}",
        "phone": f"1390000{n:04d}",
        "gender": "M" if n % 2 else "F",
        "birthday": "1985-03-02",
        "city": "深圳",
        "marketing_consent": "",
        "consent_date": "",
    }
    return {**row, **overrides}


def vehicle_row(n: int, owner: int | None = None, **overrides) -> dict:
    row = {
        "vin": make_vin(50_000 + n),
        "plate": make_plate(n),
        "brand": "别克",
        "model": "GL8",
        "model_year": "2021",
        "purchase_date": "2021-06-01",
        "fuel_type": "ICE",
        "owner_customer_no": f"C{(owner if owner is not None else n):05d}",
        "mileage_km": "",
    }
    return {**row, **overrides}


def visit_row(n: int, vehicle: int | None = None, **overrides) -> dict:
    row = {
        "ro_number": f"RO{n:06d}",
        "vin": make_vin(50_000 + (vehicle if vehicle is not None else n)),
        "customer_no": "",
        "opened_at": "2024-05-10",
        "closed_at": "2024-05-10",
        "mileage_km": "",
        "visit_type": "maintenance",
        "labor_amount": "200.00",
        "parts_amount": "350.50",
        "total_amount": "550.50",
        "payer": "customer",
        "advisor": "",
        "campaign_code": "",
    }
    return {**row, **overrides}


def csv_bytes(header: list[str], rows: list[dict], *, encoding: str = "utf-8", chinese: bool = False) -> bytes:
    """``encoding`` is utf-8, utf-8-sig (with BOM) or gbk."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([CHINESE[c] for c in header] if chinese else header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header])
    return buffer.getvalue().encode(encoding)


def write_csv(path: Path, header: list[str], rows: list[dict], **options) -> Path:
    path.write_bytes(csv_bytes(header, rows, **options))
    return path


def write_xlsx(path: Path, header: list[str], rows: list[list], *, chinese: bool = False) -> Path:
    """Rows as lists of cell values (numbers, dates, text), the way Excel holds them."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append([CHINESE[c] for c in header] if chinese else header)
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


def small_import(tmp_path: Path, n: int = 3, *, visits_per_vehicle: int = 1, **options) -> dict[str, Path]:
    """Three consistent files: n customers, one vehicle each, ``visits_per_vehicle`` visits per vehicle."""
    customers = [customer_row(i) for i in range(1, n + 1)]
    vehicles = [vehicle_row(i) for i in range(1, n + 1)]
    visits = [
        visit_row(i * 100 + j, vehicle=i, opened_at=f"2024-05-{j + 1:02d}", closed_at=f"2024-05-{j + 1:02d}")
        for i in range(1, n + 1)
        for j in range(visits_per_vehicle)
    ]
    return {
        "customers": write_csv(tmp_path / "customers.csv", CUSTOMER_HEADER, customers, **options),
        "vehicles": write_csv(tmp_path / "vehicles.csv", VEHICLE_HEADER, vehicles, **options),
        "visits": write_csv(tmp_path / "visits.csv", VISIT_HEADER, visits, **options),
    }
