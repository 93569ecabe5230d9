"""The one CSV writer of every export: a cell a spreadsheet would run as a formula is written as text."""

import csv
import io

import pytest

from customers.models import Customer, VisitType
from dealercrm.core.exports import csv_dict_writer, csv_writer, safe_cell
from segmentation.exports import write_csv, xlsx_bytes
from segmentation.services import segmentation_run
from tests.segmentation.test_engine import REF, build


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ('=HYPERLINK("http://x.example","y")', '\'=HYPERLINK("http://x.example","y")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.50", "-12.50"),  # a plain number stays a number
        ("+8613800138000", "+8613800138000"),
        ("张三", "张三"),
        ("a=b", "a=b"),  # only the first character counts
        ("", ""),
        (12, 12),
    ],
)
def test_safe_cell(value, written):
    assert safe_cell(value) == written


def test_the_writers_neutralise_every_cell_and_the_header():
    out = io.StringIO()
    csv_writer(out, lineterminator="\n").writerow(["=A1", "ok", "@x"])
    writer = csv_dict_writer(out, fieldnames=["=name"], lineterminator="\n")
    writer.writeheader()
    writer.writerow({"=name": "+1+1"})

    assert list(csv.reader(io.StringIO(out.getvalue()))) == [["'=A1", "ok", "'@x"], ["'=name"], ["'+1+1"]]


@pytest.mark.django_db
def test_the_segment_exports_never_carry_a_formula(dealership):
    # Given a customer whose number (as the DMS gave it) is a formula
    customer = build(dealership, [(30, VisitType.MAINTENANCE, "500")])
    Customer.objects.filter(pk=customer.pk).update(customer_no='=HYPERLINK("http://e.vil")')
    run = segmentation_run(dealership=dealership, reference_date=REF)

    # When the segments are exported as CSV and as Excel
    out = io.StringIO()
    write_csv(run, out)
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(xlsx_bytes(run))).active

    # Then the CSV cell is text (a quote in front) and the Excel cell is a string, not a formula
    (row,) = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert row["customer_no"] == '\'=HYPERLINK("http://e.vil")'
    cell = sheet.cell(row=2, column=1)
    assert cell.data_type == "s"
    assert cell.value == '=HYPERLINK("http://e.vil")'
