"""Validators for VINs (with the check digit China mandates) and mainland plates."""

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# ISO 3779 / GB 16735: letters I, O and Q never appear in a VIN.
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
VIN_RE = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")


def vin_check_digit(vin: str) -> str:
    """The check digit (position 9) a 17-character VIN must carry."""
    total = sum(_VIN_VALUES[ch] * weight for ch, weight in zip(vin, _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def normalize_vin(value: str) -> str:
    return (value or "").strip().upper()


def vin_error(vin: str) -> str | None:
    """Why ``vin`` is not a valid VIN, or None. Shared by forms, the API and the import."""
    if len(vin) != 17:
        return str(_("A VIN has 17 characters; this one has %(n)d.") % {"n": len(vin)})
    if not VIN_RE.match(vin):
        return str(_("A VIN uses digits and capital letters except I, O and Q."))
    expected = vin_check_digit(vin)
    if vin[8] != expected:
        return str(
            _("The VIN's check digit (9th character) should be %(expected)s, not %(actual)s.")
            % {"expected": expected, "actual": vin[8]}
        )
    return None


def validate_vin(value: str) -> None:
    error = vin_error(normalize_vin(value))
    if error:
        raise ValidationError(error, code="invalid_vin")


PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
_LETTER = "A-HJ-NP-Z"  # no I or O on plates
PLATE_RE = re.compile(
    rf"^[{PROVINCES}][{_LETTER}]"
    rf"(?:[{_LETTER}0-9]{{4}}[{_LETTER}0-9挂学警港澳]"  # ordinary 7-character plate
    rf"|[DF][{_LETTER}0-9][0-9]{{4}}"  # new-energy small car: D/F then 5
    rf"|[0-9]{{5}}[DF])$"  # new-energy large vehicle: 5 digits then D/F
)


def normalize_plate(value: str) -> str:
    return re.sub(r"[\s·•\-]", "", (value or "").strip().upper())


def plate_error(plate: str) -> str | None:
    if not PLATE_RE.match(plate):
        return str(
            _("“%(plate)s” is not a mainland plate: a province, a letter and 5 characters (6 for new-energy).")
            % {"plate": plate}
        )
    return None


def validate_plate(value: str) -> None:
    error = plate_error(normalize_plate(value))
    if error:
        raise ValidationError(error, code="invalid_plate")
