"""The period a report or the dashboard covers: whole days of the dealership's calendar, both ends included.

Every report and figure takes a ``Period``; its comparisons are ``previous()`` (the same number of days just
before) and ``last_year()`` (the same dates a year earlier; 29 February → 28 February). A period comes from a
request's ``start``/``end`` (ISO dates) or ``period`` (a preset: ``PRESETS``); a period that ends before it
starts, a date that is not one, or a period longer than the report allows is refused in the error contract
(``ApplicationError``, 400) with the field it is about, never a 500 and never an empty report that reads as
zero.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from dealercrm.core.exceptions import ApplicationError

#: the longest period a report covers unless it says otherwise (about a year and a quarter: a year with the
#: same quarter of the year before)
DEFAULT_MAX_DAYS = 457

PRESETS = {
    "last_week": _("Last week"),
    "this_week": _("This week"),
    "last_7": _("Last 7 days"),
    "last_30": _("Last 30 days"),
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "this_quarter": _("This quarter"),
    "last_quarter": _("Last quarter"),
    "this_year": _("This year"),
    "last_year": _("Last year"),
    "last_12_months": _("Last 12 months"),
}


@dataclass(frozen=True, order=True)
class Period:
    """From ``start`` to ``end``, both included (local dates)."""

    start: dt.date
    end: dt.date

    def __post_init__(self):
        if self.end < self.start:
            raise ValueError("a period ends on or after its start")

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Period:
        """The same number of days just before this period."""
        return Period(self.start - dt.timedelta(days=self.days), self.start - dt.timedelta(days=1))

    def last_year(self) -> Period:
        """The same dates a year earlier (29 February becomes 28 February)."""
        return Period(_year_earlier(self.start), _year_earlier(self.end))

    def bounds(self, zone) -> tuple[dt.datetime, dt.datetime]:
        """Aware datetimes ``[from, until)`` of the period in ``zone`` (a dealership's ``zone``): for
        timestamps (a touch's completion, a complaint's opening), where dates compare with ``start``/``end``."""
        since = dt.datetime.combine(self.start, dt.time.min, tzinfo=zone)
        return since, dt.datetime.combine(self.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    def months(self) -> list[dt.date]:
        """The first day of every calendar month the period touches, in order."""
        first, months = self.start.replace(day=1), []
        while first <= self.end:
            months.append(first)
            first = (first + dt.timedelta(days=32)).replace(day=1)
        return months

    def as_params(self) -> dict[str, str]:
        """The query parameters that give this period back (links, drill-downs, exports)."""
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}

    def __str__(self) -> str:
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


def _year_earlier(day: dt.date) -> dt.date:
    try:
        return day.replace(year=day.year - 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year - 1, day=28)


def preset(name: str, today: dt.date) -> Period:
    """The period a preset names, seen from ``today`` (a Monday's "last week" is Monday to Sunday before)."""
    monday = today - dt.timedelta(days=today.weekday())
    quarter_start = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    if name == "last_week":
        return Period(monday - dt.timedelta(days=7), monday - dt.timedelta(days=1))
    if name == "this_week":
        return Period(monday, today)
    if name == "last_7":
        return Period(today - dt.timedelta(days=6), today)
    if name == "last_30":
        return Period(today - dt.timedelta(days=29), today)
    if name == "this_month":
        return Period(today.replace(day=1), today)
    if name == "last_month":
        end = today.replace(day=1) - dt.timedelta(days=1)
        return Period(end.replace(day=1), end)
    if name == "this_quarter":
        return Period(quarter_start, today)
    if name == "last_quarter":
        end = quarter_start - dt.timedelta(days=1)
        return Period(dt.date(end.year, 3 * ((end.month - 1) // 3) + 1, 1), end)
    if name == "this_year":
        return Period(dt.date(today.year, 1, 1), today)
    if name == "last_year":
        return Period(dt.date(today.year - 1, 1, 1), dt.date(today.year - 1, 12, 31))
    if name == "last_12_months":
        return Period(_year_earlier(today) + dt.timedelta(days=1), today)
    raise ApplicationError(
        _("Unknown period “%(name)s”: choose one of %(names)s.") % {"name": name, "names": ", ".join(PRESETS)},
        code="period_unknown",
        fields={"period": [_("Unknown period.")]},
    )


def _date(params, name: str) -> dt.date | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise ApplicationError(
            _("“%(value)s” is not a date: write it as YYYY-MM-DD.") % {"value": text[:40]},
            code="period_invalid",
            fields={name: [_("Not a date (YYYY-MM-DD).")]},
        ) from None


def from_params(params, *, today: dt.date, default: str = "last_30", max_days: int = DEFAULT_MAX_DAYS) -> Period:
    """The period of a request's query: ``start`` and ``end`` (both, or one with the other taken from the
    default), else the ``period`` preset, else ``default``. Refused (400): a date that is not one, an end before
    the start, more than ``max_days`` days."""
    start, end = _date(params, "start"), _date(params, "end")
    if start is None and end is None:
        return _checked(preset((params.get("period") or default).strip(), today), max_days)
    fallback = preset(default, today)
    start, end = start or fallback.start, end or fallback.end
    if end < start:
        raise ApplicationError(
            _("The period ends (%(end)s) before it starts (%(start)s).") % {"start": start, "end": end},
            code="period_reversed",
            fields={"end": [_("Before the start.")]},
        )
    return _checked(Period(start, end), max_days)


def _checked(period: Period, max_days: int) -> Period:
    if period.days > max_days:
        raise ApplicationError(
            _("The period is %(days)s days long; this report covers at most %(max)s days.")
            % {"days": period.days, "max": max_days},
            code="period_too_long",
            fields={"end": [_("The period is too long.")]},
        )
    return period
