"""The customer list's read path: the same JSON as ``CustomerSerializer``, without its per-row machinery.

A page of 50 customers through the serializer cost about 20 ms of Python: a model instance per row (the
phone parsed by ``phonenumbers``), 24 fields each looked up through DRF's ``get_attribute`` (which inspects
the signature of every ``get_FOO_display``) and a translated label looked up per row and field.

Here the page is read with ``values()`` of the columns the serializer shows (the phone as its stored text)
and the rows are written, column by column, by a plan derived once from the serializer's own fields:

- a field on a column whose ``to_representation`` gives a database value back unchanged (text, choice,
  boolean, integer) is copied;
- a ``get_FOO_display`` field takes its label from a map of FOO's choices, translated once per language;
- a date or datetime is written as DRF writes it (ISO 8601; a datetime in the current time zone, ``Z`` for UTC);
- a customer's phone (stored encrypted) is decrypted and masked as ``MaskedPhoneField`` writes it;
- a phone stored as a mainland mobile number in E.164 (``+861…``, 14 characters) is written as stored, which
  is what ``str(PhoneNumber)`` gives for it, valid or not; any other phone goes the serializer's way;
- any other field on a column calls the serializer field's own ``to_representation``; ``None`` stays ``None``.

A field the plan cannot read from a column (a method field, a related field, a serializer that overrides its
``to_representation``) makes the whole list go through the serializer as before: slower, never different.
``tests/customers/test_api_list_fast.py`` holds the two to the same JSON and checks that the plan is used.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import partial, partialmethod
from operator import itemgetter

from django.conf import settings
from django.db import models
from django.db.models import F
from django.utils import translation
from django_filters.rest_framework import DjangoFilterBackend
from phonenumber_field.modelfields import PhoneNumberField as PhoneNumberModelField
from phonenumber_field.phonenumber import to_python as phone_to_python
from phonenumber_field.serializerfields import PhoneNumberField
from rest_framework import fields, serializers
from rest_framework.settings import api_settings

from dealercrm.core import crypto
from dealercrm.core.fields import EncryptedPhoneField
from dealercrm.core.privacy import mask_phone

#: ``to_representation`` of these DRF fields gives back a value of the matching column type unchanged
#: (``str(text)``, a choice's value, ``bool``, ``int``); the model field types each applies to
UNCHANGED = {
    fields.CharField.to_representation: (models.CharField, models.TextField),
    fields.ChoiceField.to_representation: (models.CharField, models.TextField),
    fields.BooleanField.to_representation: (models.BooleanField,),
    fields.IntegerField.to_representation: (models.IntegerField,),  # includes the positive/small/big ones
}
DISPLAY_SOURCE = re.compile(r"get_(\w+)_display")
#: a mainland mobile number as stored (E.164): ``str(PhoneNumber)`` of it is the same text, valid or not
#: (valid: formatted back to E.164; invalid: its raw input). Checked over every 13x … 19x prefix by the tests.
MOBILE_E164 = re.compile(r"\+861[3-9]\d{9}")
PHONE_TEXT = "phone_as_stored"


@dataclass(frozen=True)
class Plan:
    """How to write one row of ``values()`` as the serializer would."""

    names: tuple[str, ...]  # output keys, in the serializer's order
    columns: tuple[str, ...]  # the values() key each output key starts from
    values: tuple[str, ...]  # what to select (model columns)
    annotations: dict  # and what to select as expressions
    #: (output key, kind, argument): kind is "labels" (model field), "datetime" (serializer field),
    #: "phone" (None), "masked_phone" (None), "decrypted_field" (serializer field) or "field" (serializer field)
    conversions: tuple[tuple[str, str, object], ...]


def plan_for(serializer_class) -> Plan | None:
    """The plan for ``serializer_class``'s readable fields, or None when a field needs the serializer."""
    from .serializers import MaskedPhoneField

    serializer = serializer_class(context={})
    model = serializer.Meta.model
    if type(serializer).to_representation is not serializers.Serializer.to_representation:
        return None
    if getattr(serializer.Meta, "list_serializer_class", serializers.ListSerializer) is not serializers.ListSerializer:
        return None
    columns = {f.name: f for f in model._meta.concrete_fields if not f.is_relation}
    names, sources, selected, conversions = [], [], [], []
    annotations = {}
    for field in serializer._readable_fields:
        source = field.source
        display = DISPLAY_SOURCE.fullmatch(source)
        if display and display.group(1) in columns and columns[display.group(1)].choices:
            column = display.group(1)
            if type(field).to_representation is not fields.CharField.to_representation or not isinstance(
                model.__dict__.get(source), partialmethod
            ):  # a serializer field that changes the label, or a model's own get_FOO_display
                return None
            conversions.append((field.field_name, "labels", columns[column]))
        elif source in columns:
            column = source
            model_field = columns[column]
            if isinstance(model_field, EncryptedPhoneField) and type(field) is MaskedPhoneField:
                # The ciphertext as stored, decrypted and masked here (a list never shows a number in full).
                annotations[PHONE_TEXT] = models.ExpressionWrapper(F(column), output_field=models.TextField())
                column = PHONE_TEXT
                conversions.append((field.field_name, "masked_phone", None))
            elif isinstance(model_field, EncryptedPhoneField):  # any other field: given the decrypted number
                annotations[PHONE_TEXT] = models.ExpressionWrapper(F(column), output_field=models.TextField())
                column = PHONE_TEXT
                conversions.append((field.field_name, "decrypted_field", field))
            elif isinstance(model_field, PhoneNumberModelField) and type(field) is PhoneNumberField:
                annotations[PHONE_TEXT] = models.ExpressionWrapper(F(column), output_field=models.TextField())
                column = PHONE_TEXT
                conversions.append((field.field_name, "phone", None))
            elif _is_iso_datetime(field) and isinstance(model_field, models.DateTimeField):
                conversions.append((field.field_name, "datetime", field))
            elif _is_iso_date(field) and type(model_field) is models.DateField:
                conversions.append((field.field_name, "date", None))
            elif not _unchanged(field, model_field):
                conversions.append((field.field_name, "field", field))
        else:
            return None
        names.append(field.field_name)
        sources.append(column)
        if column not in annotations and column not in selected:
            selected.append(column)
    return Plan(tuple(names), tuple(sources), tuple(selected), annotations, tuple(conversions))


def _unchanged(field, model_field) -> bool:
    """Whether ``field`` writes the column's value, as ``values()`` reads it, unchanged."""
    if hasattr(model_field, "from_db_value"):  # read as an object (a PhoneNumber): the field converts it
        return False
    if not isinstance(model_field, UNCHANGED.get(type(field).to_representation, ())):
        return False
    if isinstance(field, fields.ChoiceField):  # gives the choice's key back: the same text only if keys are text
        return all(isinstance(key, str) for key in field.choice_strings_to_values.values())
    return True


def _is_iso_date(field) -> bool:
    output_format = getattr(field, "format", api_settings.DATE_FORMAT)
    return (
        type(field).to_representation is fields.DateField.to_representation
        and isinstance(output_format, str)
        and output_format.lower() == "iso-8601"
    )


def _is_iso_datetime(field) -> bool:
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    return (
        type(field).to_representation is fields.DateTimeField.to_representation
        and type(field).enforce_timezone is fields.DateTimeField.enforce_timezone
        and isinstance(output_format, str)
        and output_format.lower() == "iso-8601"
    )


class Labels(dict):
    """``{value: label}`` of a field's choices; a value that is not a choice (a blank, None) stands for itself,
    as in ``get_FOO_display``."""

    def __missing__(self, value):
        return value


_labels: dict[tuple, Labels] = {}


def labels(model_field) -> Labels:
    """The labels of a field's choices in the active language, translated once per language."""
    key = (model_field.model, model_field.name, translation.get_language())
    found = _labels.get(key)
    if found is None:
        found = _labels[key] = Labels((value, str(label)) for value, label in model_field.flatchoices)
    return found


def phone(text: str):
    """What the serializer writes for a phone stored as ``text`` (``PHONENUMBER_DEFAULT_FORMAT`` E164)."""
    if MOBILE_E164.fullmatch(text):
        return text
    return phone_as_serializer(text)


def masked_phone(token: str) -> str:
    """What ``MaskedPhoneField`` writes for a phone stored as the ciphertext ``token``."""
    return mask_phone(crypto.decrypt(token)) if token else ""


def _decrypted(write, token: str):
    return write(phone_to_python(crypto.decrypt(token)))


def phone_as_serializer(text: str):
    return PhoneNumberField().to_representation(phone_to_python(text))


def datetime_writer(field):
    """DRF's ``DateTimeField.to_representation`` with the time zone looked up once (per request)."""
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()
    if zone is None:
        return field.to_representation

    def write(value):
        if value.tzinfo is None:  # never from PostgreSQL; as DRF would
            return field.to_representation(value)
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


def _skip_none(convert):
    return lambda column: [None if value is None else convert(value) for value in column]


class Rows:
    """Writes ``values()`` rows per a plan, with the request's language and time zone: column by column."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.get = itemgetter(*plan.columns)
        self.conversions = []  # (position, function of a column's values)
        e164 = getattr(settings, "PHONENUMBER_DEFAULT_FORMAT", "E164") == "E164"
        for name, kind, argument in plan.conversions:
            if kind == "labels":
                convert = partial(map, labels(argument).__getitem__)  # None and unknown values stand for themselves
            elif kind == "datetime":
                convert = _skip_none(datetime_writer(argument))
            elif kind == "date":
                convert = _skip_none(date.isoformat)
            elif kind == "phone":
                convert = _skip_none(phone if e164 else phone_as_serializer)
            elif kind == "masked_phone":
                convert = _skip_none(masked_phone)
            elif kind == "decrypted_field":
                convert = _skip_none(partial(_decrypted, argument.to_representation))
            else:
                convert = _skip_none(argument.to_representation)
            self.conversions.append((plan.names.index(name), convert))

    def write(self, rows) -> list[dict]:
        if not rows:
            return []
        columns = list(zip(*map(self.get, rows), strict=True))
        for position, convert in self.conversions:
            columns[position] = convert(columns[position])
        names = self.plan.names
        return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


class FastListMixin:
    """``list`` of a ``ScopedViewSet`` (filters, search, ordering, cursor pages as before) whose rows are read
    with ``values()`` and written per the serializer's plan; through the serializer when there is no plan."""

    #: serializer class → its plan (or None), derived once per process
    _plans: dict = {}

    def list_plan(self) -> Plan | None:
        serializer_class = self.get_serializer_class()
        if serializer_class not in FastListMixin._plans:
            FastListMixin._plans[serializer_class] = plan_for(serializer_class)
        return FastListMixin._plans[serializer_class]

    def filter_queryset(self, queryset):
        """As before; the filterset is skipped when the request names none of its filters (it would build its
        form to leave the queryset as it is: a third of the page's time once the rows are cheap)."""
        if self.action == "list" and not self._asks_filterset():
            for backend in self.filter_backends:
                if not issubclass(backend, DjangoFilterBackend):
                    queryset = backend().filter_queryset(self.request, queryset, self)
            return queryset
        return super().filter_queryset(queryset)

    def _asks_filterset(self) -> bool:
        filterset = getattr(self, "filterset_class", None)
        if filterset is None:
            return False
        if any(f.extra.get("required") for f in filterset.base_filters.values()):
            return True
        # a filter's form field may read several parameters (``price_min``/``price_max``): match by prefix
        return any(key.startswith(name) for key in self.request.query_params for name in filterset.base_filters)

    def list(self, request, *args, **kwargs):
        plan = self.list_plan()
        if plan is None or self.paginator is None:
            return super().list(request, *args, **kwargs)
        queryset = self.filter_queryset(self.get_queryset())
        ordering = [name.lstrip("-") for name in self.paginator.get_ordering(request, queryset, self)]
        selected = list(plan.values) + [name for name in ordering if name not in plan.values]
        page = self.paginator.paginate_queryset(queryset.values(*selected, **plan.annotations), request, view=self)
        return self.get_paginated_response(Rows(plan).write(page))
