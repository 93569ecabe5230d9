"""The three DMS files: their columns, the Chinese headers and the spellings DMS exports use.

SPEC "Importing from the DMS". Each column has a kind that says how its text is
checked and converted (see ``validate.py``); headers are matched without regard
to case or surrounding spaces, in English or in Chinese.
"""

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from customers.models import FuelType, Gender, Payer, VisitType

CUSTOMERS, VEHICLES, VISITS = "customers", "vehicles", "visits"
KINDS = (CUSTOMERS, VEHICLES, VISITS)  # also the order in which they are imported

KIND_LABELS = {CUSTOMERS: _("customers"), VEHICLES: _("vehicles"), VISITS: _("visits")}


@dataclass(frozen=True)
class Column:
    name: str  # English header, also the key used everywhere in the import
    headers: tuple[str, ...]  # other accepted headers (Chinese first)
    kind: str  # text, phone, choice, bool, date, int, money, vin, plate
    required: bool = False
    max_length: int | None = None
    choices: dict[str, str] = field(default_factory=dict)  # accepted spelling (lower case) -> stored code
    min_value: int | None = None
    max_value: int | None = None


@dataclass(frozen=True)
class FileSchema:
    kind: str
    key: str  # the column rows are matched on (upsert key)
    columns: tuple[Column, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def header_map(self) -> dict[str, str]:
        """Accepted header (lower case) -> column name."""
        mapping = {}
        for column in self.columns:
            for header in (column.name, *column.headers):
                mapping[header.strip().lower()] = column.name
        return mapping


def _spellings(codes: dict[str, str], extra: dict[str, str]) -> dict[str, str]:
    """Codes are accepted in any case, plus the Chinese (and other) spellings in ``extra``."""
    # Plain str values (not the TextChoices members): they are written to the database as they are.
    return {**{str(code).lower(): str(code) for code in codes}, **{k.lower(): str(v) for k, v in extra.items()}}


GENDERS = _spellings(
    {Gender.MALE: "", Gender.FEMALE: ""},
    {"男": Gender.MALE, "女": Gender.FEMALE, "male": Gender.MALE, "female": Gender.FEMALE},
)
CONSENT = {
    **dict.fromkeys(["yes", "y", "是", "1", "true", "同意"], "1"),
    **dict.fromkeys(["no", "n", "否", "0", "false", "不同意"], "0"),
}
VISIT_TYPES = _spellings(
    dict.fromkeys(VisitType.values, ""),
    {
        "保养": VisitType.MAINTENANCE,
        "机电维修": VisitType.REPAIR,
        "维修": VisitType.REPAIR,
        "钣喷": VisitType.BODYWORK,
        "事故": VisitType.BODYWORK,
        "钣喷/事故": VisitType.BODYWORK,
        "索赔": VisitType.WARRANTY,
        "其他": VisitType.OTHER,
    },
)
PAYERS = _spellings(
    dict.fromkeys(Payer.values, ""),
    {"客户": Payer.CUSTOMER, "保险": Payer.INSURANCE, "索赔": Payer.WARRANTY, "内部": Payer.INTERNAL},
)
FUEL_TYPES = _spellings(
    dict.fromkeys(FuelType.values, ""),
    {"燃油": FuelType.ICE, "混动": FuelType.HEV, "插混": FuelType.PHEV, "增程": FuelType.EREV, "纯电": FuelType.EV},
)

SCHEMAS = {
    CUSTOMERS: FileSchema(
        kind=CUSTOMERS,
        key="customer_no",
        columns=(
            Column("customer_no", ("客户编号",), "text", required=True, max_length=32),
            Column("name", ("姓名",), "text", required=True, max_length=100),
            Column("phone", ("手机号", "电话"), "phone", required=True),
            Column("gender", ("性别",), "choice", choices=GENDERS),
            Column("birthday", ("生日",), "date"),
            Column("city", ("城市",), "text", max_length=50),
            Column("marketing_consent", ("营销授权",), "bool", choices=CONSENT),
            Column("consent_date", ("授权日期",), "date"),
        ),
    ),
    VEHICLES: FileSchema(
        kind=VEHICLES,
        key="vin",
        columns=(
            Column("vin", ("VIN", "车架号"), "vin", required=True),
            Column("plate", ("车牌号", "车牌"), "plate"),
            Column("brand", ("品牌",), "text", max_length=40),
            Column("model", ("车型",), "text", required=True, max_length=60),
            Column("model_year", ("年款",), "int", min_value=1950, max_value=2100),
            Column("purchase_date", ("购车日期",), "date"),
            Column("fuel_type", ("燃油类型",), "choice", choices=FUEL_TYPES),
            Column("owner_customer_no", ("车主编号",), "text", required=True, max_length=32),
            Column("mileage_km", ("里程",), "int", min_value=0, max_value=2_000_000),
        ),
    ),
    VISITS: FileSchema(
        kind=VISITS,
        key="ro_number",
        columns=(
            Column("ro_number", ("工单号",), "text", required=True, max_length=32),
            Column("vin", ("VIN", "车架号"), "vin", required=True),
            Column("customer_no", ("客户编号",), "text", max_length=32),
            Column("opened_at", ("进厂日期",), "date", required=True),
            Column("closed_at", ("出厂日期",), "date"),
            Column("mileage_km", ("里程",), "int", min_value=0, max_value=2_000_000),
            Column("visit_type", ("维修类型",), "choice", required=True, choices=VISIT_TYPES),
            Column("labor_amount", ("工时费",), "money"),
            Column("parts_amount", ("材料费",), "money"),
            Column("total_amount", ("总金额",), "money", required=True),
            Column("payer", ("付款方",), "choice", choices=PAYERS),
            Column("advisor", ("服务顾问",), "text", max_length=60),
            Column("campaign_code", ("活动代码",), "text", max_length=32),
        ),
    ),
}
