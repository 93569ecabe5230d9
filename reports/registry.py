"""What a report and a figure are, and the one way each value is shown.

* ``Figure``: one value with what it was computed from (a rate keeps its numerator and denominator), or
  ``None`` when there is nothing to compute it from (a division by zero, an empty period): shown "—".
* ``KPI``: a figure defined once: ``code``, ``label``, ``definition`` (the exact definition: the page's help
  text and the docstring's), ``unit``, ``compute(scope, period) -> Figure`` (set-based, in SQL) and
  ``rows(scope, period)``: the queryset of the rows it counts (its drill-down), of the kind ``drill``
  names. Registered with ``register_kpi``; the dashboard's tiles and the reports read them by code.
* ``Report``: a page of tables: ``build(scope, period, params) -> list[Table]``. Each ``Table`` has
  ``Column``s (a key, a label, a ``kind``), rows as dicts keyed by column, optional totals, an optional
  ``Chart`` (drawn with ECharts on the page) and notes ("in progress", "fewer than 30 answers"). The page, CSV,
  XLSX and the API's JSON all render the same tables, so a figure reads the same everywhere.
* ``display(value, kind)``: how a value is written for people ("—" for None; rates as "19.9%"; money as
  "¥452,554.00"); exports write numbers as numbers.

Units and kinds: ``count`` / ``int`` (whole numbers), ``money`` (Decimal yuan), ``rate`` (a Decimal fraction:
0.199 is 19.9 %), ``score`` / ``decimal`` (a Decimal, e.g. an average satisfaction), ``text``, ``date``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

UNITS = ("count", "money", "rate", "score")
KINDS = ("text", "int", "money", "rate", "decimal", "date")
#: the kind of column a KPI's unit is shown as
UNIT_KIND = {"count": "int", "money": "money", "rate": "rate", "score": "decimal"}
#: what a drill-down lists
DRILLS = (
    "customers",
    "vehicles",
    "visits",
    "appointments",
    "invitations",
    "touches",
    "surveys",
    "complaints",
    "messages",
    "coupons",
)
DASH = "—"


# --- figures ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    value: Decimal | int | None
    numerator: Decimal | int | None = None
    denominator: Decimal | int | None = None
    #: why the figure should be read with care (e.g. "fewer than 30 answers"); empty when it needn't
    flag: str = ""

    @property
    def empty(self) -> bool:
        return self.value is None


def ratio(numerator, denominator, *, flag: str = "") -> Figure:
    """``numerator ÷ denominator`` as a Decimal fraction, or an empty figure when the denominator is 0."""
    numerator, denominator = numerator or 0, denominator or 0
    if not denominator:
        return Figure(None, numerator, denominator, flag)
    return Figure(Decimal(numerator) / Decimal(denominator), numerator, denominator, flag)


def average(total, count, *, flag: str = "") -> Figure:
    """``total ÷ count`` (an average ticket, an average score), or an empty figure when ``count`` is 0."""
    return ratio(total, count, flag=flag)


def change(current: Figure, other: Figure, unit: str) -> Decimal | None:
    """How ``current`` moved against ``other``: for a rate, the difference in points of the fraction (0.02 is
    +2 percentage points); for anything else, the relative change (0.1 is +10 %). None when either is empty
    or, for a relative change, when ``other`` is 0."""
    if current.value is None or other.value is None:
        return None
    if unit == "rate":
        return Decimal(current.value) - Decimal(other.value)
    if not other.value:
        return None
    return (Decimal(current.value) - Decimal(other.value)) / abs(Decimal(other.value))


@dataclass(frozen=True)
class KPI:
    code: str
    label: str
    definition: str
    unit: str
    #: (scope, period) -> Figure; when left out, ``compute_many`` of that one period
    compute: Callable | None = None
    #: (scope, period, filters: dict[str, str]) -> QuerySet of the rows the figure counts; ``filters`` are the
    #: drill-down URL's other query parameters, of the names ``filters`` lists (e.g. a month, a visit type)
    rows: Callable | None = None
    drill: str = ""
    filters: tuple[str, ...] = ()
    #: False when a lower figure is the better one (bounce rate, complaints)
    higher_is_better: bool = True
    #: the goal the seeds or the trade set, as a value of the unit (e.g. Decimal("0.8") for a show rate ≥ 80 %)
    target: Decimal | None = None
    section: str = ""
    #: optional (scope, periods: list[Period]) -> list[Figure]: the figure of several periods in one query
    #: (the dashboard's current, previous and last year's; a chart's months); ``compute`` is used otherwise
    compute_many: Callable | None = None

    def __post_init__(self):
        if self.compute is None:
            if self.compute_many is None:
                raise ValueError(f"KPI {self.code!r}: give compute or compute_many")
            many = self.compute_many
            object.__setattr__(self, "compute", lambda scope, period: many(scope, [period])[0])

    def figures(self, scope, periods) -> list[Figure]:
        """The figure of each of ``periods``, in order."""
        if self.compute_many is not None:
            return list(self.compute_many(scope, list(periods)))
        return [self.compute(scope, period) for period in periods]


_KPIS: dict[str, KPI] = {}


def register_kpi(kpi: KPI) -> KPI:
    if kpi.unit not in UNITS:
        raise ValueError(f"Unknown unit {kpi.unit!r} of KPI {kpi.code!r}: one of {UNITS}")
    if kpi.drill and kpi.drill not in DRILLS:
        raise ValueError(f"Unknown drill-down {kpi.drill!r} of KPI {kpi.code!r}: one of {DRILLS}")
    if (kpi.rows is None) != (not kpi.drill):
        raise ValueError(f"KPI {kpi.code!r}: give both rows and drill, or neither")
    _KPIS[kpi.code] = kpi
    return kpi


def kpi(code: str) -> KPI:
    """The KPI of ``code`` (KeyError when there is none)."""
    return _KPIS[code]


def kpis() -> list[KPI]:
    return list(_KPIS.values())


def registered_kpis(codes) -> list[KPI]:
    """The KPIs of ``codes`` that are registered, in the order given (a page's tiles or a chart's series)."""
    return [_KPIS[code] for code in codes if code in _KPIS]


def drill_url(code: str, scope, period, **filters) -> str:
    """The page listing the rows behind KPI ``code`` for ``scope`` and ``period`` (``filters``: narrower, of
    the names the KPI accepts)."""
    from django.urls import reverse
    from django.utils.http import urlencode

    unknown = set(filters) - set(kpi(code).filters)
    if unknown:
        raise ValueError(f"KPI {code!r} takes no drill-down filter {sorted(unknown)}")
    query = {**scope.as_params(), **period.as_params(), **{k: v for k, v in filters.items() if v not in (None, "")}}
    return f"{reverse('reports:drill', args=[code])}?{urlencode(query)}"


@dataclass(frozen=True)
class Compared:
    """A KPI's figure for a period with the previous period's and the same period's last year."""

    kpi: KPI
    current: Figure
    previous: Figure
    last_year: Figure

    @property
    def change_previous(self) -> Decimal | None:
        return change(self.current, self.previous, self.kpi.unit)

    @property
    def change_last_year(self) -> Decimal | None:
        return change(self.current, self.last_year, self.kpi.unit)


def compare(kpi_: KPI, scope, period) -> Compared:
    """``kpi_`` for ``period``, its previous period and the same period last year."""
    current, previous, last_year = kpi_.figures(scope, [period, period.previous(), period.last_year()])
    return Compared(kpi_, current, previous, last_year)


# --- tables and reports -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "int"
    help: str = ""

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"Unknown column kind {self.kind!r}: one of {KINDS}")


@dataclass(frozen=True)
class Chart:
    """How the page draws a table: ``kind`` bar, stacked (stacked bars), line or pie; ``x`` the column of
    the categories; ``series`` the columns drawn (pie: one)."""

    kind: str
    x: str
    series: tuple[str, ...]
    title: str = ""


@dataclass
class Table:
    """A table of a report. A row is a dict keyed by column; it may carry ``"_links"``: per column key, the
    URL of the rows behind that value (a drill-down), which the page turns into a link."""

    key: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    totals: dict | None = None
    chart: Chart | None = None
    notes: list[str] = field(default_factory=list)
    #: what the page says instead of an empty table ("No campaign ran in this period.")
    empty_text: str = ""

    def values(self, row: dict) -> list:
        return [row.get(column.key) for column in self.columns]


@dataclass(frozen=True)
class Param:
    """A report's parameter besides the period and the scope: ``campaign`` (a campaign of the scope, chosen
    from a list; another dealership's answers 404)."""

    name: str
    label: str
    required: bool = False


@dataclass(frozen=True)
class Report:
    slug: str
    title: str
    description: str
    build: Callable  # (scope, period, params: dict) -> list[Table]
    section: str = ""
    params: tuple[Param, ...] = ()
    max_days: int = 457
    #: the role-table action the report needs: ``reports.all`` (whole-store figures) or ``reports.view``
    #: (an agent's own figures too)
    action: str = "reports.all"
    #: the report's period preset when the request names none
    default_period: str = "last_30"
    order: int = 100


_REPORTS: dict[str, Report] = {}


def register_report(report: Report) -> Report:
    _REPORTS[report.slug] = report
    return report


def report(slug: str) -> Report:
    return _REPORTS[slug]


def reports() -> list[Report]:
    return sorted(_REPORTS.values(), key=lambda r: (r.order, r.slug))


# --- showing values ---------------------------------------------------------------------------------------

_CENT = Decimal("0.01")
_TENTH = Decimal("0.1")


def display(value, kind: str) -> str:
    """``value`` as people read it: "—" for None; a rate (fraction) as "19.9%"; money as "¥452,554.00"; whole
    numbers grouped ("1,336"); a decimal with two places; a date as YYYY-MM-DD."""
    if value is None or value == "":
        return DASH
    if kind == "rate":
        percent = (Decimal(value) * 100).quantize(_TENTH, ROUND_HALF_UP)
        return f"{number_format(percent, 1, use_l10n=True, force_grouping=True)}%"
    if kind == "money":  # the sign before the yuan sign: −¥200.00
        amount = Decimal(value).quantize(_CENT, ROUND_HALF_UP)
        return ("-" if amount < 0 else "") + "¥" + number_format(abs(amount), 2, force_grouping=True)
    if kind == "int":
        return number_format(int(value), 0, force_grouping=True)
    if kind == "decimal":
        return number_format(Decimal(value).quantize(_CENT, ROUND_HALF_UP), 2, force_grouping=True)
    if kind == "date" and isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def display_change(value: Decimal | None, unit: str) -> str:
    """A change (``change``) as "+2.0 pts" for a rate, "+10.0%" otherwise; "—" when there is none."""
    if value is None:
        return DASH
    if unit == "rate":
        points = (Decimal(value) * 100).quantize(_TENTH, ROUND_HALF_UP)
        return _("%(sign)s%(points)s pts") % {"sign": "+" if points > 0 else "", "points": points}
    percent = (Decimal(value) * 100).quantize(_TENTH, ROUND_HALF_UP)
    return f"{'+' if percent > 0 else ''}{percent}%"
