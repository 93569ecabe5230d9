"""A report's tables as CSV and XLSX, read back: values, types, Chinese headers, totals; the export pages.

The tests register their own small report (``visits_report``: workshop visits per visit type) so that they do
not depend on the reports the other sections register; the last test exports every registered report.
"""

import csv
import datetime as dt
import io
from decimal import Decimal

import openpyxl
import pytest
from django.db.models import Count, Min, Sum
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from customers.models import ServiceVisit, VisitType
from reports import exports, registry
from reports.periods import Period
from reports.scope import Scope
from tests.factories import ServiceVisitFactory, VehicleFactory

pytestmark = pytest.mark.django_db

SLUG = "test-visits"
PERIOD = {"start": "2024-05-01", "end": "2024-05-31"}


def build_visits(scope, period, params):
    """Visits closed in the period per visit type: entries, revenue, share of the revenue, first day."""
    visits = ServiceVisit.objects.filter(
        dealership_id__in=scope.dealership_ids, closed_on__range=(period.start, period.end)
    )
    per_type = list(
        visits.values("visit_type")
        .annotate(entries=Count("pk"), revenue=Sum("total_amount"), first=Min("closed_on"))
        .order_by("visit_type")
    )
    total = sum((row["revenue"] for row in per_type), Decimal(0))
    rows = [
        {
            "type": str(VisitType(row["visit_type"]).label),
            "entries": row["entries"],
            "revenue": row["revenue"],
            "share": registry.ratio(row["revenue"], total).value,
            "first": row["first"],
            "note": None,
        }
        for row in per_type
    ]
    columns = [
        registry.Column("type", _("Visit type"), "text"),
        registry.Column("entries", _("Visits"), "int"),
        registry.Column("revenue", _("Revenue"), "money"),
        registry.Column("share", _("Share"), "rate"),
        registry.Column("first", _("First day"), "date"),
        registry.Column("note", _("Note"), "text"),
    ]
    totals = {"entries": sum(r["entries"] for r in rows), "revenue": total, "share": Decimal(1) if rows else None}
    return [
        registry.Table("per_type", _("Revenue"), columns, rows, totals, notes=["=HYPERLINK(1)"]),
        registry.Table("empty", "Second [table]: with/odd*chars?", columns[:2], [], None, empty_text="Nothing"),
    ]


@pytest.fixture
def visits_report():
    report = registry.register_report(
        registry.Report(
            slug=SLUG,
            title=_("Revenue"),
            description="Visits per visit type (a test's own report).",
            build=build_visits,
            section="test",
        )
    )
    yield report
    registry._REPORTS.pop(SLUG, None)


@pytest.fixture
def visits(dealership, other_dealership):
    """In May 2024: two maintenance visits (¥550 and ¥250), one repair (¥1,200); one in June (outside);
    another store's visit (never counted). Revenue in May: ¥2,000; maintenance 800/2000 = 40 %, repair 60 %."""
    car = VehicleFactory(owner__dealership=dealership, dealership=dealership)
    ServiceVisitFactory(vehicle=car, opened_on=dt.date(2024, 5, 3), closed_on=dt.date(2024, 5, 3))
    ServiceVisitFactory(
        vehicle=car, opened_on=dt.date(2024, 5, 9), closed_on=dt.date(2024, 5, 9), total_amount=Decimal("250.00")
    )
    ServiceVisitFactory(
        vehicle=car,
        opened_on=dt.date(2024, 5, 20),
        closed_on=dt.date(2024, 5, 20),
        visit_type=VisitType.REPAIR,
        total_amount=Decimal("1200.00"),
    )
    ServiceVisitFactory(vehicle=car, opened_on=dt.date(2024, 6, 2), closed_on=dt.date(2024, 6, 2))
    foreign = VehicleFactory(owner__dealership=other_dealership, dealership=other_dealership)
    ServiceVisitFactory(vehicle=foreign, opened_on=dt.date(2024, 5, 3), closed_on=dt.date(2024, 5, 3))


def tables_of(dealership):
    return build_visits(Scope.of(dealership), Period(dt.date(2024, 5, 1), dt.date(2024, 5, 31)), {})


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith("\ufeff".encode()), "UTF-8 with a BOM, for Excel"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


# --- the files ---------------------------------------------------------------------------------------------------


def test_csv_has_a_block_per_table_with_numbers_as_numbers_and_a_totals_row(dealership, visits, visits_report):
    period = Period(dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    with translation.override("en"):
        content = exports.tables_csv(tables_of(dealership), title="Revenue", period=period, scope=Scope.of(dealership))
    rows = csv_rows(content)
    assert rows[0] == ["Revenue"]
    assert rows[1] == ["Period", "2024-05-01 – 2024-05-31"]
    assert rows[2][1].startswith("SZ01")
    assert rows[3] == [] and rows[4] == ["Revenue"]
    assert rows[5] == ["Visit type", "Visits", "Revenue", "Share", "First day", "Note"]
    # maintenance 550 + 250 = 800 (40 %), repair 1,200 (60 %): no ¥, no grouping, "" for none
    assert rows[6] == ["Maintenance", "2", "800.00", "40.0%", "2024-05-03", ""]
    assert rows[7] == ["Mechanical repair", "1", "1200.00", "60.0%", "2024-05-20", ""]
    assert rows[8] == ["Total", "3", "2000.00", "100.0%", "", ""]
    # a note that a spreadsheet would run as a formula is neutralised by the one CSV writer
    assert rows[9] == ["'=HYPERLINK(1)"]
    assert rows[10] == [] and rows[11] == ["Second [table]: with/odd*chars?"] and rows[13] == ["Nothing"]


def test_csv_headers_follow_the_language(dealership, visits):
    period = Period(dt.date(2024, 5, 1), dt.date(2024, 5, 31))
    with translation.override("zh-hans"):
        content = exports.tables_csv(tables_of(dealership), title="x", period=period, scope=Scope.of(dealership))
    header = csv_rows(content)[5]
    assert header[0] == "维修类型" and header[2] == "产值" and header[3] == "占比"


def test_xlsx_writes_numbers_dates_and_blanks_with_formats_and_chinese_headers(dealership, visits):
    with translation.override("zh-hans"):
        content = exports.tables_xlsx(exports.report_sheets(tables_of(dealership), heading="2024-05"))
    book = openpyxl.load_workbook(io.BytesIO(content))
    # a sheet per table; names at most 31 characters, without []:*?/\
    assert len(book.sheetnames) == 2
    assert book.sheetnames[0] == "产值"
    assert all(len(name) <= 31 and not set(name) & set("[]:*?/\\") for name in book.sheetnames)
    sheet = book["产值"]
    assert sheet["A1"].value == "产值 · 2024-05"
    assert [cell.value for cell in sheet[2]][:4] == ["维修类型", "Visits", "产值", "占比"] or sheet[
        "A2"
    ].value == "维修类型"
    assert sheet.freeze_panes == "A3"
    # row 3: maintenance (2 visits, ¥800, 40 %, first on 3 May); money a number in a ¥ format, a rate a fraction
    maintenance = list(sheet[3])
    assert maintenance[1].value == 2 and isinstance(maintenance[1].value, int)
    assert maintenance[2].value == 800 and "¥" in maintenance[2].number_format
    assert maintenance[3].value == pytest.approx(0.4) and "%" in maintenance[3].number_format
    assert maintenance[4].value == dt.datetime(2024, 5, 3) and maintenance[4].is_date
    assert maintenance[5].value is None  # None: an empty cell, not "—"
    # the totals row is bold
    totals = list(sheet[5])
    with translation.override("zh-hans"):
        total = str(exports.TOTAL)  # 合计
    assert [c.value for c in totals[:4]] == [total, 3, 2000, 1]
    assert all(c.font.b for c in totals[:4])
    # a note stays text, never a formula
    assert sheet["A6"].value == "=HYPERLINK(1)" and sheet["A6"].data_type == "s"
    # widths are set to the content
    assert sheet.column_dimensions["A"].width >= 8


def test_sheet_names_are_cut_cleaned_and_unique():
    taken = set()
    names = [exports.sheet_name("A very long table title that goes on and on", taken) for _ in range(3)]
    assert names[0] == "A very long table title that go"
    assert names[1] == "A very long table title tha (2)" and names[2] == "A very long table title tha (3)"
    assert exports.sheet_name("Q1: a/b [c]?", taken) == "Q1  a b  c"
    assert all(len(name) <= 31 for name in names)


# --- the export page ---------------------------------------------------------------------------------------------


def export_url(fmt="xlsx", slug=SLUG):
    return reverse("reports:export", kwargs={"slug": slug, "fmt": fmt})


def test_the_export_page_answers_the_file_for_the_requests_period(client_for, as_manager, visits, visits_report):
    client = client_for(as_manager)
    response = client.get(export_url("csv"), PERIOD, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="test-visits-20240501-20240531.csv"' in response["Content-Disposition"]
    rows = csv_rows(response.content)
    assert rows[8][:3] == ["Total", "3", "2000.00"]  # May only, this store only

    response = client.get(export_url("xlsx"), PERIOD)
    assert response.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    assert book.worksheets[0]["C5"].value == 2000


def test_the_export_refuses_a_bad_period_and_an_unknown_report(client_for, as_manager, visits_report):
    client = client_for(as_manager)
    response = client.get(export_url(), {"start": "2024-05-31", "end": "2024-05-01"})
    assert response.status_code == 400
    assert b"export-refused" in response.content
    assert client.get(export_url(), {"start": "2020-01-01", "end": "2024-05-01"}).status_code == 400
    assert client.get(export_url(slug="no-such-report")).status_code == 404
    assert client.get(f"/reports/exports/{SLUG}.pdf").status_code == 404


def test_the_export_needs_the_reports_action(client_for, advisor, agent, as_manager, outsider, visits_report):
    # the test report needs reports.all: an agent (reports.view only) and an advisor may not export it
    assert client_for(advisor).get(export_url(), PERIOD).status_code == 403
    assert client_for(agent).get(export_url(), PERIOD).status_code == 403
    # another store's manager asking for this store: 404
    assert client_for(outsider).get(export_url(), {**PERIOD, "dealership": "SZ01"}).status_code == 404


# --- every registered report exports --------------------------------------------------------------------------


@pytest.mark.parametrize("report", registry.reports(), ids=lambda report: report.slug)
def test_every_registered_report_exports(report, dealership, as_manager, client_for):
    from campaigns.models import Campaign

    params = {"start": "2024-05-01", "end": "2024-05-31"}
    if any(param.name == "campaign" and param.required for param in report.params):
        campaign = Campaign.objects.create(
            dealership=dealership, code="EXP1", name="导出", starts_on=dt.date(2024, 5, 1), ends_on=dt.date(2024, 5, 31)
        )
        params["campaign"] = campaign.pk
    client = client_for(as_manager)
    for fmt in exports.FORMATS:
        response = client.get(export_url(fmt, report.slug), params)
        assert response.status_code == 200, (report.slug, fmt, response.content[:300])
    openpyxl.load_workbook(io.BytesIO(response.content))
