import pytest
from django.core.exceptions import ValidationError

from customers.validators import normalize_plate, validate_plate, validate_vin, vin_check_digit


@pytest.mark.parametrize(
    "vin",
    [
        "1M8GDM9AXKP042788",  # the textbook example: check digit X
        "LSGJA52U47S123456"[:8] + vin_check_digit("LSGJA52U47S123456") + "7S123456",
        "WVWZZZ1JZ3W386752"[:8] + vin_check_digit("WVWZZZ1JZ3W386752") + "3W386752",
        "11111111111111111",  # all ones: check digit 1
    ],
)
def test_valid_vins_pass(vin):
    validate_vin(vin)


def test_check_digit_of_textbook_vin_is_x():
    assert vin_check_digit("1M8GDM9AXKP042788") == "X"


@pytest.mark.parametrize(
    ("vin", "fragment"),
    [
        ("1M8GDM9A1KP042788", "check digit"),  # wrong check digit
        ("1M8GDM9AXKP04278", "17 characters"),  # too short
        ("1M8GDM9AXKP0427O8", "except I, O and Q"),  # letter O
    ],
)
def test_invalid_vins_are_refused_with_the_reason(vin, fragment):
    with pytest.raises(ValidationError) as excinfo:
        validate_vin(vin)
    assert fragment in excinfo.value.messages[0]


@pytest.mark.parametrize("plate", ["粤B12345", "粤BD12345", "粤B12345D", "京A8K2M9", "粤B1234学", "粤BFA1234"])
def test_valid_plates_pass(plate):
    validate_plate(plate)


@pytest.mark.parametrize("plate", ["粤B1234", "粤BI2345", "AB12345", "粤B123456", "粤BDI2345", "粤B1234DD"])
def test_invalid_plates_are_refused(plate):
    with pytest.raises(ValidationError):
        validate_plate(plate)


def test_plate_normalisation_removes_separators_and_uppercases():
    assert normalize_plate(" 粤b·12345 ") == "粤B12345"
