"""Report periods: presets seen from a day, the comparisons (previous period, same period last year), and the
refusals of a bad period in the error contract."""

import datetime as dt

import pytest

from dealercrm.core.exceptions import ApplicationError
from reports import periods
from reports.periods import Period

MONDAY = dt.date(2026, 12, 7)


@pytest.mark.parametrize(
    ("name", "start", "end"),
    [
        # seen from Monday 7 December 2026
        ("last_week", dt.date(2026, 11, 30), dt.date(2026, 12, 6)),
        ("this_week", MONDAY, MONDAY),
        ("last_7", dt.date(2026, 12, 1), MONDAY),
        ("last_30", dt.date(2026, 11, 8), MONDAY),
        ("this_month", dt.date(2026, 12, 1), MONDAY),
        ("last_month", dt.date(2026, 11, 1), dt.date(2026, 11, 30)),
        ("this_quarter", dt.date(2026, 10, 1), MONDAY),
        ("last_quarter", dt.date(2026, 7, 1), dt.date(2026, 9, 30)),
        ("this_year", dt.date(2026, 1, 1), MONDAY),
        ("last_year", dt.date(2025, 1, 1), dt.date(2025, 12, 31)),
        ("last_12_months", dt.date(2025, 12, 8), MONDAY),
    ],
)
def test_presets(name, start, end):
    assert periods.preset(name, MONDAY) == Period(start, end)
    assert name in periods.PRESETS


def test_last_quarter_in_january_is_the_year_befores_fourth():
    assert periods.preset("last_quarter", dt.date(2027, 1, 15)) == Period(dt.date(2026, 10, 1), dt.date(2026, 12, 31))


def test_the_previous_period_has_the_same_length_just_before():
    week = Period(dt.date(2026, 11, 30), dt.date(2026, 12, 6))
    assert week.days == 7
    assert week.previous() == Period(dt.date(2026, 11, 23), dt.date(2026, 11, 29))
    march = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))  # 31 days back from 1 March
    assert march.previous() == Period(dt.date(2026, 1, 29), dt.date(2026, 2, 28))


def test_last_year_keeps_the_dates_and_turns_29_february_into_28():
    assert Period(dt.date(2026, 5, 1), dt.date(2026, 7, 31)).last_year() == Period(
        dt.date(2025, 5, 1), dt.date(2025, 7, 31)
    )
    assert Period(dt.date(2024, 2, 29), dt.date(2024, 3, 1)).last_year() == Period(
        dt.date(2023, 2, 28), dt.date(2023, 3, 1)
    )


def test_bounds_are_the_local_days_both_ends_included():
    from zoneinfo import ZoneInfo

    shanghai = ZoneInfo("Asia/Shanghai")
    since, until = Period(dt.date(2026, 12, 1), dt.date(2026, 12, 1)).bounds(shanghai)
    assert since == dt.datetime(2026, 12, 1, tzinfo=shanghai) and until == dt.datetime(2026, 12, 2, tzinfo=shanghai)
    assert since.astimezone(dt.UTC) == dt.datetime(2026, 11, 30, 16, 0, tzinfo=dt.UTC)


def test_months_lists_every_month_touched():
    period = Period(dt.date(2026, 11, 20), dt.date(2027, 1, 3))
    assert period.months() == [dt.date(2026, 11, 1), dt.date(2026, 12, 1), dt.date(2027, 1, 1)]


def test_from_params_reads_dates_presets_and_the_default():
    assert periods.from_params({"start": "2026-01-01", "end": "2026-01-31"}, today=MONDAY) == Period(
        dt.date(2026, 1, 1), dt.date(2026, 1, 31)
    )
    assert periods.from_params({"period": "last_week"}, today=MONDAY) == periods.preset("last_week", MONDAY)
    assert periods.from_params({}, today=MONDAY, default="this_month") == periods.preset("this_month", MONDAY)
    # one end given: the other comes from the default
    assert periods.from_params({"start": "2026-11-20"}, today=MONDAY) == Period(dt.date(2026, 11, 20), MONDAY)


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"start": "2026-02-01", "end": "2026-01-01"}, "period_reversed", "end"),
        ({"start": "2026-02-30"}, "period_invalid", "start"),
        ({"end": "yesterday"}, "period_invalid", "end"),
        ({"start": "2020-01-01", "end": "2026-01-01"}, "period_too_long", "end"),
        ({"period": "fortnight"}, "period_unknown", "period"),
    ],
)
def test_a_bad_period_is_refused_naming_the_field(params, code, field):
    with pytest.raises(ApplicationError) as refused:
        periods.from_params(params, today=MONDAY)
    assert refused.value.code == code and refused.value.status == 400
    assert field in refused.value.fields and str(refused.value.message)


def test_a_report_may_allow_a_shorter_period():
    with pytest.raises(ApplicationError) as refused:
        periods.from_params({"start": "2026-01-01", "end": "2026-03-01"}, today=MONDAY, max_days=31)
    assert refused.value.code == "period_too_long" and "60" in str(refused.value.message)
