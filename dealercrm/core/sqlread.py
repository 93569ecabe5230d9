"""Hand-written reads that give the ORM's own model instances: for the few hot paths where a benchmark showed
that the ORM's cost of building and compiling each query, not the database, was the page's time (the
workbench's call card, the customer 360 page).

A read names its *parts*, the models of its columns in order, each as ``(model, alias)`` (every concrete
field) or ``(model, alias, field_names)`` (those fields, the primary key among them; the instance has the others
deferred, as with ``QuerySet.only``). ``columns(parts)`` writes the ``SELECT`` list; ``instances(parts, row)``
builds one instance per part from a row as the ORM does (``Model.from_db``, after the backend's and the
fields' converters: dates on SQLite, decimals, JSON, phone numbers…), None for a ``LEFT JOIN`` that found
nothing. Extra columns after the parts' are given back as they are, or converted like a field's
(``convert``).

Every such read is written beside the ORM queryset it stands for and held to that queryset's answers by
tests, case by case: the queryset stays the definition.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import Field, Model

Part = tuple  # (model, alias) or (model, alias, field_names)


def _fields(part: Part) -> list[Field]:
    model = part[0]
    if len(part) < 3:
        return list(model._meta.concrete_fields)
    # In the model's order, whatever the order named: ``Model.from_db`` takes the values of a partial row so.
    wanted = {model._meta.get_field(name) for name in part[2]}
    return [field for field in model._meta.concrete_fields if field in wanted]


def columns(parts: Iterable[Part]) -> str:
    """The ``SELECT`` list of ``parts``: ``alias."column", …`` in the parts' order."""
    quote = connection.ops.quote_name
    return ", ".join(f"{part[1]}.{quote(field.column)}" for part in parts for field in _fields(part))


@functools.cache
def _readers(vendor: str, parts: tuple[Part, ...]) -> list[tuple[type[Model], list[str], list[tuple]]]:
    """Per part: the model, its fields' attribute names and, per field, the converters the ORM would apply to
    the database's value (the backend's, then the field's)."""
    readers = []
    for part in parts:
        model, fields = part[0], _fields(part)
        readers.append((model, [field.attname for field in fields], [_converters(field) for field in fields]))
    return readers


def _converters(field: Field) -> tuple[list, object]:
    column = field.get_col(field.model._meta.db_table)
    return connection.ops.get_db_converters(column) + column.get_db_converters(connection), column


def instances(parts: Sequence[Part], row: Sequence) -> list[Model | None]:
    """One instance per part from ``row`` (None for a part whose primary key is NULL)."""
    found, position = [], 0
    for model, names, converters in _readers(connection.vendor, tuple(parts)):
        values = list(row[position : position + len(names)])
        position += len(names)
        if values[0] is None:
            found.append(None)
            continue
        for index, (functions, column) in enumerate(converters):
            for convert in functions:
                values[index] = convert(values[index], column, connection)
        found.append(model.from_db(connection.alias, names, values))
    return found


def width(parts: Sequence[Part]) -> int:
    """How many columns ``parts`` take in a row."""
    return sum(len(names) for _model, names, _converters in _readers(connection.vendor, tuple(parts)))


def convert(value, field: Field):
    """``value`` read from the database as the ORM reads ``field`` (e.g. a ``SUM`` of a decimal column on
    SQLite, which gives a float)."""
    if value is None:
        return None
    functions, column = _converters(field)
    for function in functions:
        value = function(value, column, connection)
    return value


def fetch(cursor, statement: str, params, parts: Sequence[Part]) -> list[tuple[list[Model | None], tuple]]:
    """Run ``statement`` and give, per row, the parts' instances and the row's extra columns."""
    cursor.execute(statement, params)
    size = width(parts)
    return [(instances(parts, row), tuple(row[size:])) for row in cursor.fetchall()]
