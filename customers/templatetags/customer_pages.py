"""Small display helpers for the counter and the customer 360 page."""

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django import template

register = template.Library()


@register.filter
def years_since(start: date | None, today: date | None) -> Decimal | None:
    """Whole and tenths of years from ``start`` to ``today`` (a vehicle's age): 3.2."""
    if not start or not today or today < start:
        return None
    years = today.year - start.year - ((today.month, today.day) < (start.month, start.day))
    anniversary = _add_years(start, years)
    next_anniversary = _add_years(start, years + 1)
    fraction = Decimal((today - anniversary).days) / Decimal((next_anniversary - anniversary).days)
    return (Decimal(years) + fraction).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@register.filter
def is_new_energy_plate(plate: str | None) -> bool:
    """New-energy plates have 8 characters (green plates)."""
    return bool(plate) and len(plate) == 8
