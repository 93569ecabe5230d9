"""Vectorised checks of one chunk of a DMS file: text in, converted columns and bad cells out.

Each column is factorised (``pandas.factorize``) and its *distinct* values are
checked and converted once, then mapped back onto the rows, so that a VIN or a
date repeated on thousands of repair orders costs one check. Checks that depend
on the database or on other files (duplicates, references) run in SQL over the
staging tables (``writer.py``).
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd
import phonenumbers
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from customers.validators import (
    _VIN_VALUES,
    _VIN_WEIGHTS,
    VISIT_CLOSED_BEFORE_OPENED,
    import_date_errors,
    normalize_plate,
    normalize_vin,
    plate_error,
    vin_error,
)
from dealercrm.core.privacy import mask_phone

from .report import RowError
from .schema import Column, FileSchema

# YYYY-MM-DD or YYYY/MM/DD; a time of day after it (Excel writes 00:00:00) is ignored.
_DATE_RE = re.compile(
    r"([0-9]{4})[-/]([0-9]{1,2})[-/]([0-9]{1,2})"
    r"(?:[ T][0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?"
)
_INT_RE = re.compile(r"[0-9]+(?:\.0+)?")
_NUMBER_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")
_GROUPED_RE = re.compile(r"-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?")
_MAX_MONEY_DIGITS = 10  # DecimalField(max_digits=12, decimal_places=2)
_CACHE_LIMIT = 500_000
# Fast paths: a cell already in canonical form is accepted as written, in one vectorised pass over the
# column (``Series.str.fullmatch``, run by pyarrow's compute kernels on pandas' Arrow-backed strings).
_MONEY_OK = r"[0-9]{1,10}(?:\.[0-9]{1,2})?"
_INT_OK = r"[0-9]{1,9}"
# Control characters (NUL and the like; tab and line breaks are text): never in a DMS value, and a NUL cannot
# be stored at all. A cell holding one is refused with its row and column.
_CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"

# The VIN check digit, vectorised (same tables as customers.validators.vin_check_digit).
_VIN_CODES = np.full(256, -1, dtype=np.int64)
for _char, _value in _VIN_VALUES.items():
    _VIN_CODES[ord(_char)] = _value
_VIN_WEIGHT_ROW = np.array(_VIN_WEIGHTS, dtype=np.int64)


class _Bad(str):
    """A reason, marking a converted value as invalid."""


class _Coded(str):
    """A reason with the stable code of the rule it breaks (``customers.validators``: the page and the API
    refuse the same value with the same code)."""

    def __new__(cls, text: str, code: str):
        reason = super().__new__(cls, text)
        reason.code = code
        return reason


def _plain(value: str) -> str:
    """Full-width digits and letters (common in Chinese exports) as ASCII, surrounding spaces removed."""
    return unicodedata.normalize("NFKC", value).strip()


def _ungroup(value: str) -> str:
    """``12,345.50`` (Excel's thousands separators) -> ``12345.50``."""
    return value.replace(",", "") if "," in value and _GROUPED_RE.fullmatch(value) else value


def _text(column: Column):
    limit = column.max_length

    def convert(value: str):
        value = value.strip()
        if limit and len(value) > limit:
            return _Bad(_("Longer than %(n)d characters.") % {"n": limit})
        return value

    return convert


def accepted_spellings(choices: dict[str, str], language: str | None = None) -> str:
    """Every spelling ``choices`` accepts ({spelling (lower case): stored code}, as ``schema`` defines them),
    grouped by the value they give, each group in the reader's language order: English words first in the
    English UI, Chinese ones first in the Chinese UI; e.g. "yes, y, true, 1, 是, 同意; no, n, false, 0, 否, 不同意"."""
    chinese_first = (language or get_language() or "").lower().startswith("zh")
    groups: dict[str, list[str]] = {}
    for spelling, code in choices.items():
        shown = code if spelling == code.lower() else spelling  # a stored code as it is written (M, ICE)
        groups.setdefault(code, [])
        if shown not in groups[code]:
            groups[code].append(shown)

    def order(spelling: str) -> int:
        return int(spelling.isascii() == chinese_first)  # stable sort: the file's own order within a language

    return "; ".join(", ".join(sorted(spellings, key=order)) for spellings in groups.values())


def _choice(column: Column):
    choices = column.choices
    accepted = accepted_spellings(choices)

    def convert(value: str):
        code = choices.get(value.strip().lower())
        if code is None:
            return _Bad(_("Not one of: %(choices)s.") % {"choices": accepted})
        return code

    return convert


def _date(column: Column):
    def convert(value: str):
        match = _DATE_RE.fullmatch(_plain(value))
        if not match:
            return _Bad(_("Not a date: write it as YYYY-MM-DD or YYYY/MM/DD."))
        try:
            parsed = date(*(int(part) for part in match.groups()))
        except ValueError:
            return _Bad(_("No such date."))
        if not 1900 <= parsed.year <= 2100:
            return _Bad(_("The year is out of range."))
        return parsed.isoformat()

    return convert


def _int(column: Column):
    low, high = column.min_value, column.max_value

    def convert(value: str):
        value = _ungroup(_plain(value))
        if not _INT_RE.fullmatch(value):
            if value.startswith("-") and _INT_RE.fullmatch(value[1:]):
                return _Bad(_("Must not be negative."))
            return _Bad(_("Not a whole number."))
        number = int(value.split(".")[0])
        if (low is not None and number < low) or (high is not None and number > high):
            return _Bad(_("Must be between %(low)s and %(high)s.") % {"low": low, "high": high})
        return str(number)

    return convert


def _money(column: Column):
    def convert(value: str):
        value = _ungroup(_plain(value))
        if not _NUMBER_RE.fullmatch(value):
            return _Bad(_("Not an amount: write digits with at most two decimals, e.g. 1280.50."))
        if value.startswith("-"):
            return _Bad(_("An amount must not be negative."))
        whole, _dot, decimals = value.partition(".")
        decimals = decimals.rstrip("0")
        if len(decimals) > 2:
            return _Bad(_("An amount has at most two decimals."))
        whole = whole.lstrip("0") or "0"
        if len(whole) > _MAX_MONEY_DIGITS:
            return _Bad(_("The amount is too large."))
        return f"{whole}.{decimals}" if decimals else whole

    return convert


def _echoed(column: Column, value: str) -> str:
    """A bad cell as the report echoes it: a phone column's value masked once it has the digits of a number
    (the report is kept with the run: no plain number in the database), anything shorter as written."""
    if column.kind == "phone" and sum(c.isdigit() for c in value) >= 7:
        return mask_phone("".join(c for c in value if c.isdigit()))
    return value


#: a mainland mobile number as a DMS writes it: 11 digits from 1 (its E.164 is +86 and the digits)
MOBILE = re.compile(r"1\d{10}")
#: the leading digits that decide a mobile number's validity: libphonenumber's patterns for CN mobiles read the
#: first five digits and the length (tests/customers/test_import_phone.py checks every 4-digit prefix)
MOBILE_BLOCK = 7


def _not_a_phone():
    return _Bad(_("Not a valid phone number (mainland mobile or landline with area code)."))


def phone_e164(value: str):
    """A DMS phone cell as stored (E.164), or a ``_Bad``; libphonenumber decides. A mobile number's verdict is
    kept per number block (its first seven digits): parsing is most of a customers file's checking time."""
    plain = _plain(value)
    if MOBILE.fullmatch(plain):
        block = plain[:MOBILE_BLOCK]
        valid = _MOBILE_BLOCKS.get(block)
        if valid is None:
            try:
                valid = phonenumbers.is_valid_number(phonenumbers.parse(plain, "CN"))
            except phonenumbers.NumberParseException:
                valid = False
            _MOBILE_BLOCKS[block] = valid
        return (
            "+86" + plain
            if valid
            else _Bad(_("Not a valid phone number (mainland mobile or landline with area code)."))
        )
    try:
        number = phonenumbers.parse(plain, "CN")
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        return _Bad(_("Not a valid phone number (mainland mobile or landline with area code)."))
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


_MOBILE_BLOCKS: dict[str, bool] = {}  # at most 10⁶ blocks of 1xxxxxx, a few MB


def _phone(column: Column):
    return phone_e164


def _vin(column: Column):
    def convert(value: str):
        value = normalize_vin(_plain(value))
        error = vin_error(value)
        return _Bad(error) if error else value

    return convert


def _plate(column: Column):
    def convert(value: str):
        value = normalize_plate(value)
        error = plate_error(value)
        return _Bad(error) if error else value

    return convert


CONVERTERS = {
    "text": _text,
    "choice": _choice,
    "bool": _choice,
    "date": _date,
    "int": _int,
    "money": _money,
    "phone": _phone,
    "vin": _vin,
    "plate": _plate,
}
# Kinds whose checks are costly and whose values repeat: their verdicts are kept across chunks.
_CACHED_KINDS = {"phone", "plate", "date", "choice", "bool"}


def vins_valid(vins: list[str]) -> np.ndarray:
    """Which of ``vins`` (normalised) are 17 valid characters with the right check digit, in one numpy pass."""
    n = len(vins)
    if n == 0:
        return np.zeros(0, dtype=bool)
    shaped = "".join(v if len(v) == 17 and v.isascii() else "#" * 17 for v in vins)
    chars = np.frombuffer(shaped.encode("ascii"), dtype=np.uint8).reshape(n, 17)
    values = _VIN_CODES[chars]
    remainder = (values * _VIN_WEIGHT_ROW).sum(axis=1) % 11
    expected = np.where(remainder == 10, ord("X"), ord("0") + remainder)
    return (values >= 0).all(axis=1) & (chars[:, 8] == expected)


def normalize_key(kind: str, values: np.ndarray) -> np.ndarray:
    """Keys as the staging tables hold them, for rows whether valid or not (to find the rows that depend on them)."""
    normalize = normalize_vin if kind == "vin" else str.strip
    codes, uniques = pd.factorize(values)
    # A NUL cannot be stored even in a staging table: such a key (refused anyway) is kept with a visible one.
    keys = np.array([normalize(u).replace("\x00", "\u2400") or None for u in uniques] + [None], dtype=object)
    return keys[codes]


@dataclass
class CheckedChunk:
    first_row: int
    row_no: np.ndarray  # the file's row numbers (header = 1)
    values: dict[str, np.ndarray]  # column -> converted values (None = blank), every row
    raw: dict[str, np.ndarray]  # column -> text as read, every row
    valid: np.ndarray  # bool per row: no problem, not blank
    blank: np.ndarray  # bool per row: every known cell empty (skipped silently)
    errors: list[RowError]

    def __len__(self):
        return len(self.row_no)


class ChunkChecker:
    """Checks the chunks of one file; caches the verdict on values that repeat (VINs, dates, phones)."""

    def __init__(
        self, schema: FileSchema, columns: dict[str, str], *, control_chars: bool = True, today: date | None = None
    ):
        self.schema = schema
        self.today = today or date.today()  # the dealership's today (Dealership.local_date), for the date rules
        self.control_chars = control_chars  # whether the file may hold control characters (else not looked for)
        self.headers = columns  # column name -> header as written in the file
        self.columns = [c for c in schema.columns if c.name in columns]
        self._converters = {c.name: CONVERTERS[c.kind](c) for c in self.columns}
        self._caches: dict[str, dict] = {c.name: {} for c in self.columns if c.kind in _CACHED_KINDS}

    def _convert_column(self, column: Column, cells: pd.Series, raw: np.ndarray):
        """(values, reasons, blank) for every row; values are None where blank or bad, reasons None where fine.

        ``cells`` is the column as text ("" where empty), ``raw`` the same as a numpy array of ``str``.
        """
        values, reasons, blank = self._convert_cells(column, cells, raw)
        if not self.control_chars:
            return values, reasons, blank
        control = cells.str.contains(_CONTROL, regex=True).to_numpy(dtype=bool, na_value=False)
        if control.any():
            values, reasons = values.copy(), reasons.copy()
            values[control], blank[control] = None, False
            reasons[control] = _(
                "Holds a control character (such as NUL, shown as ␀) that is not text: remove it from the cell."
            )
        return values, reasons, blank

    def _convert_cells(self, column: Column, cells: pd.Series, raw: np.ndarray):
        n = len(raw)
        values = np.full(n, None, dtype=object)
        reasons = np.full(n, None, dtype=object)
        blank = np.zeros(n, dtype=bool)
        if column.kind == "text":
            stripped = cells.str.strip()
            lengths = stripped.str.len().to_numpy(dtype=np.int64, copy=True)
            blank = lengths == 0
            values = stripped.to_numpy(dtype=object, copy=True)
            values[blank] = None
            if column.max_length and (too_long := lengths > column.max_length).any():
                values[too_long] = None
                reasons[too_long] = _("Longer than %(n)d characters.") % {"n": column.max_length}
            return values, reasons, blank
        rest = np.ones(n, dtype=bool)
        fast = {"money": _MONEY_OK, "int": _INT_OK}.get(column.kind)
        if fast is not None:
            # Cells already in canonical form are taken as written; the others get the full treatment.
            ok = cells.str.fullmatch(fast).to_numpy(dtype=bool, copy=True)
            if column.kind == "int" and ok.any():
                numbers = raw[ok].astype(np.int64)
                low = column.min_value if column.min_value is not None else -(2**62)
                high = column.max_value if column.max_value is not None else 2**62
                ok[np.flatnonzero(ok)[(numbers < low) | (numbers > high)]] = False
            values[ok] = raw[ok]
            blank = raw == ""
            rest = ~(ok | blank)
            if not rest.any():
                return values, reasons, blank
        index = np.flatnonzero(rest)
        codes, uniques = pd.factorize(raw[index])
        results = self._convert_uniques(column, uniques)
        count = len(uniques)
        bad_u = np.fromiter((type(r) is _Bad for r in results), dtype=bool, count=count)
        blank_u = np.fromiter((r == "" for r in results), dtype=bool, count=count)
        values_u = np.array([None if (b or r == "") else r for r, b in zip(results, bad_u, strict=True)] + [None])
        reasons_u = np.array([r if b else None for r, b in zip(results, bad_u, strict=True)] + [None])
        values[index] = values_u[codes]
        reasons[index] = reasons_u[codes]
        blank[index] = np.append(blank_u, True)[codes]
        return values, reasons, blank

    def _convert_uniques(self, column: Column, uniques: np.ndarray) -> list:
        """The converted value, a ``_Bad`` reason, or "" (blank) for each distinct cell."""
        convert = self._converters[column.name]
        if column.kind == "vin":
            # Upper-casing in pyarrow may differ from Python's beyond ASCII, but such a VIN is invalid anyway
            # and then converted (with its reason) one by one below.
            normalised = pd.Series(uniques, dtype=str).str.strip().str.upper().tolist()
            good = vins_valid(normalised)
            return [
                v if ok else (convert(u) if u.strip() else "")
                for u, v, ok in zip(uniques, normalised, good, strict=True)
            ]
        cache = self._caches.get(column.name)
        if cache is None:
            return [convert(u) if u.strip() else "" for u in uniques]
        if len(cache) > _CACHE_LIMIT:
            cache.clear()
        results = []
        for value in uniques:
            result = cache.get(value)
            if result is None:
                result = cache[value] = convert(value) if value.strip() else ""
            results.append(result)
        return results

    def check(self, first_row: int, frame: pd.DataFrame) -> CheckedChunk:
        n = len(frame)
        row_no = np.arange(first_row, first_row + n, dtype=np.int64)
        values, reasons, blanks, raw = {}, {}, {}, {}
        for column in self.columns:
            cells = frame[column.name].fillna("").astype(str)
            raw[column.name] = cells.to_numpy(dtype=object)
            values[column.name], reasons[column.name], blanks[column.name] = self._convert_column(
                column, cells, raw[column.name]
            )
        blank_row = np.logical_and.reduce([blanks[c.name] for c in self.columns]) if self.columns else np.ones(n, bool)
        required_reason = _("Required: this cell must not be empty.")
        for column in self.columns:
            if column.required:
                missing = blanks[column.name] & ~blank_row
                if missing.any():
                    reasons[column.name] = reasons[column.name].copy()
                    reasons[column.name][missing] = required_reason
        self._row_checks(values, reasons)

        bad = np.zeros(n, dtype=bool)
        errors: list[RowError] = []
        for column in self.columns:
            column_reasons = reasons[column.name]
            column_bad = pd.notna(column_reasons) & ~blank_row
            if column_bad.any():
                bad |= column_bad
                header = self.headers[column.name]
                column_raw = raw[column.name]
                for i in np.flatnonzero(column_bad):
                    errors.append(
                        RowError(
                            self.schema.kind,
                            int(row_no[i]),
                            header,
                            _echoed(column, str(column_raw[i])),
                            column_reasons[i],
                            code=getattr(column_reasons[i], "code", ""),
                        )
                    )
        errors.sort(key=lambda e: e.row)
        return CheckedChunk(
            first_row=first_row,
            row_no=row_no,
            values=values,
            raw=raw,
            valid=~bad & ~blank_row,
            blank=blank_row,
            errors=errors,
        )

    def _row_checks(self, values: dict, reasons: dict) -> None:
        """Checks across columns of the same row."""
        if "opened_at" in values and "closed_at" in values:
            opened = values["opened_at"].astype("datetime64[D]")
            closed = values["closed_at"].astype("datetime64[D]")
            wrong = closed < opened  # NaT compares False
            if wrong.any():
                reasons["closed_at"] = reasons["closed_at"].copy()
                reasons["closed_at"][wrong & pd.isna(reasons["closed_at"])] = _Coded(
                    _("Closed before it was opened (opened_at)."), VISIT_CLOSED_BEFORE_OPENED
                )
        # The date rules of the models (customers.validators), on the dealership's today.
        for column, (rule, wrong) in import_date_errors(self.schema.kind, values, today=self.today).items():
            reasons[column] = reasons[column].copy()
            reasons[column][wrong & pd.isna(reasons[column])] = _Coded(str(rule.message), rule.code)
