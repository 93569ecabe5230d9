"""Validators for VINs (with the check digit China mandates) and mainland plates, and the rules on dates.

Each rule is written once here; the models' ``clean()``, the services and the DMS import call it.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import numpy as np
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


# --- dates: one definition per rule, for the models, the services and the DMS import -------------------------

#: the earliest day a consent can be recorded for (the records of a store do not go further back)
EARLIEST_CONSENT = date(1990, 1, 1)


@dataclass(frozen=True)
class DateRule:
    """A date that must not lie after (or before) the store's today, or before a fixed day.

    ``error(value, today=…)`` checks one date for a model or a service; ``broken(values, today=…)`` checks
    a column of the DMS import at once. Both refuse with ``code``, so the page, the API and the import give
    the same answer for the same bad value. ``today`` is ``Dealership.local_date()``.
    """

    code: str
    message: str
    earliest: date | None = None
    not_after_today: bool = False
    not_before_today: bool = False

    def is_broken(self, value: date | None, *, today: date) -> bool:
        if value is None:
            return False
        if isinstance(value, datetime):
            value = value.date()
        return bool(
            (self.earliest is not None and value < self.earliest)
            or (self.not_after_today and value > today)
            or (self.not_before_today and value < today)
        )

    def error(self, value: date | None, *, today: date) -> ValidationError | None:
        """The refusal of ``value`` (a date, or a datetime already in the store's zone), or None."""
        return ValidationError(self.message, code=self.code) if self.is_broken(value, today=today) else None

    def broken(self, values, *, today: date):
        """Which of ``values`` (ISO dates, ``datetime64``, None for blank) break the rule: a numpy bool array."""
        days = np.asarray(values).astype("datetime64[D]")  # None → NaT, and NaT compares False
        wrong = np.zeros(days.shape, dtype=bool)
        if self.earliest is not None:
            wrong |= days < np.datetime64(self.earliest, "D")
        if self.not_after_today:
            wrong |= days > np.datetime64(today, "D")
        if self.not_before_today:
            wrong |= days < np.datetime64(today, "D")
        return wrong


BIRTHDAY_NOT_FUTURE = DateRule("birthday_in_future", _("A birthday cannot be in the future."), not_after_today=True)
PURCHASE_NOT_FUTURE = DateRule(
    "purchase_date_in_future", _("A purchase date cannot be in the future."), not_after_today=True
)
VISIT_NOT_FUTURE = DateRule("visit_in_future", _("A visit cannot open in the future."), not_after_today=True)
APPOINTMENT_NOT_PAST = DateRule(
    "appointment_in_past", _("An appointment cannot be booked for a past day."), not_before_today=True
)
CONSENT_IN_RANGE = DateRule(
    "consent_date_out_of_range",
    _("A consent is recorded for a day from 1990-01-01 to today."),
    earliest=EARLIEST_CONSENT,
    not_after_today=True,
)
#: a consent may be timed a few minutes ahead of the server's clock (a client's clock runs fast)
CONSENT_CLOCK_SKEW = timedelta(minutes=5)
#: a visit that closes before it opened
VISIT_CLOSED_BEFORE_OPENED = "visit_closed_before_opened"

#: The DMS import's date columns and the rule each one follows: (file kind, column) → rule.
IMPORT_DATE_RULES: dict[tuple[str, str], DateRule] = {
    ("customers", "birthday"): BIRTHDAY_NOT_FUTURE,
    ("customers", "consent_date"): CONSENT_IN_RANGE,
    ("vehicles", "purchase_date"): PURCHASE_NOT_FUTURE,
    ("visits", "opened_at"): VISIT_NOT_FUTURE,
}


def import_date_errors(kind: str, values: dict, *, today: date) -> dict[str, tuple[DateRule, object]]:
    """For one checked chunk of a DMS file of ``kind``: column → (rule, bool array of the rows breaking it)."""
    found = {}
    for (file_kind, column), rule in IMPORT_DATE_RULES.items():
        if file_kind == kind and column in values:
            wrong = rule.broken(values[column], today=today)
            if wrong.any():
                found[column] = (rule, wrong)
    return found
