"""The registry's figures and the one way values are shown: "—" for nothing, rates in percent, money in yuan,
changes in points or percent."""

from decimal import Decimal

import pytest
from django.utils import translation

from reports import registry
from reports.registry import Figure


def test_a_ratio_over_nothing_is_empty_not_zero():
    assert registry.ratio(0, 0) == Figure(None, 0, 0)
    assert registry.ratio(None, None).empty
    assert registry.ratio(3, 4).value == Decimal("0.75")
    assert registry.ratio(0, 5).value == 0 and not registry.ratio(0, 5).empty


def test_changes_are_points_for_rates_and_percent_otherwise():
    assert registry.change(Figure(Decimal("0.20")), Figure(Decimal("0.18")), "rate") == Decimal("0.02")
    assert registry.change(Figure(110), Figure(100), "count") == Decimal("0.1")
    assert registry.change(Figure(5), Figure(0), "count") is None  # nothing to compare with
    assert registry.change(Figure(None), Figure(3), "count") is None


@pytest.mark.parametrize(
    ("value", "kind", "shown"),
    [
        (None, "rate", "—"),
        (Decimal("0.199"), "rate", "19.9%"),
        (Decimal("0.0950"), "rate", "9.5%"),
        (Decimal("452554"), "money", "¥452,554.00"),
        (Decimal("-200"), "money", "-¥200.00"),
        (1336, "int", "1,336"),
        (Decimal("4.256"), "decimal", "4.26"),
        ("新君越", "text", "新君越"),
    ],
)
def test_display(value, kind, shown):
    with translation.override("en"):
        assert registry.display(value, kind) == shown


def test_display_change():
    with translation.override("en"):
        assert registry.display_change(Decimal("0.021"), "rate") == "+2.1 pts"
        assert registry.display_change(Decimal("-0.1"), "money") == "-10.0%"
        assert registry.display_change(None, "count") == "—"


def test_a_kpi_must_name_a_known_unit_and_drill_down():
    def compute(scope, period):
        return Figure(1)

    with pytest.raises(ValueError, match="unit"):
        registry.register_kpi(registry.KPI("x.bad", "x", "x", "furlongs", compute))
    with pytest.raises(ValueError, match="drill"):
        registry.register_kpi(registry.KPI("x.bad", "x", "x", "count", compute, rows=lambda *a: None, drill="cars"))
    with pytest.raises(ValueError, match="both"):
        registry.register_kpi(registry.KPI("x.bad", "x", "x", "count", compute, rows=lambda *a: None))
    assert "x.bad" not in {k.code for k in registry.kpis()}


def test_compare_reads_the_three_periods_in_one_call_when_it_can():
    import datetime as dt

    from reports.periods import Period

    asked = []

    def many(scope, periods):
        asked.append(periods)
        return [Figure(p.start.year) for p in periods]

    kpi = registry.KPI("x.years", "x", "x", "count", lambda s, p: Figure(0), compute_many=many)
    compared = registry.compare(kpi, None, Period(dt.date(2026, 1, 1), dt.date(2026, 1, 31)))
    assert len(asked) == 1 and [p.start for p in asked[0]] == [
        dt.date(2026, 1, 1),
        dt.date(2025, 12, 1),
        dt.date(2025, 1, 1),
    ]
    assert (compared.current.value, compared.previous.value, compared.last_year.value) == (2026, 2025, 2025)
    assert compared.change_previous == Decimal(1) / Decimal(2025)  # (2026 − 2025) ÷ 2025


def test_a_kpi_of_several_periods_computes_one_through_them_and_needs_one_of_the_two():
    import datetime as dt

    from reports.periods import Period

    kpi = registry.KPI("x.many", "x", "x", "count", compute_many=lambda scope, periods: [Figure(len(periods))] * 1)
    assert kpi.compute(None, Period(dt.date(2026, 1, 1), dt.date(2026, 1, 2))) == Figure(1)
    with pytest.raises(ValueError, match="compute"):
        registry.KPI("x.none", "x", "x", "count")
