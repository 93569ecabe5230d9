"""Who changed what: the acting user of every audited write, and the old → new values read back.

The audited models keep their history with django-simple-history (``AuditedHistory``). Its history row
names the acting user (``history_user``) and, for work nobody started by hand, the reason
(``history_change_reason``, e.g. ``"system: campaigns.tasks.campaigns_daily_task"``):

* in a request, the request's user (simple-history's ``HistoryRequestMiddleware``);
* in a service, the ``acting_user`` it was given: services wrap their work in ``acting_as(acting_user)``
  (``@audited`` does it), so a test, a task or a command calling a service directly is recorded too;
* in a task or a command, the user who started it (its id travels with the task) or the system:
  ``with acting_as(None, reason="system: <task name>")`` (``as_task_actor`` chooses).

Set-based paths (the DMS import's bulk writes, invitation list generation, segmentation runs) write no
per-row history; their run or list record names who ran them.
"""

from __future__ import annotations

import contextvars
import functools
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import models
from simple_history.models import HistoricalRecords

from .fields import EncryptedPhoneField
from .privacy import mask_phone

#: the longest reason a history row keeps (simple-history's ``history_change_reason`` is 100 characters)
REASON_LENGTH = 100


@dataclass(frozen=True)
class Actor:
    user: object | None  # a User, or None for the system
    reason: str | None = None


_actor: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("dealercrm_acting_user", default=None)


def _real_user(user):
    return user if getattr(user, "pk", None) and getattr(user, "is_authenticated", True) else None


@contextmanager
def acting_as(user, reason: str | None = None):
    """Every audited write inside is recorded as done by ``user`` (None: the system), with ``reason``."""
    token = _actor.set(Actor(_real_user(user), (reason or None) and reason[:REASON_LENGTH]))
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Actor | None:
    """Who ``acting_as`` names just now, or None outside of it (then a request's user counts)."""
    return _actor.get()


def audited(service=None, *, actor: str = "acting_user"):
    """A service's writes are recorded as the user it is given as ``acting_user`` (or the keyword ``actor``
    names, e.g. the ``agent`` of a call); without one, as the caller's. ``@audited`` or ``@audited(actor=...)``."""

    def decorate(service):
        @functools.wraps(service)
        def wrapper(*args, **kwargs):
            user = _real_user(kwargs.get(actor))
            if user is None:
                return service(*args, **kwargs)
            with acting_as(user, reason=getattr(current_actor(), "reason", None)):
                return service(*args, **kwargs)

        return wrapper

    return decorate(service) if service is not None else decorate


def as_task_actor(task_name: str, user_id: int | None = None):
    """The actor of a task or command: the user who started it (by id), or the system named by the task."""
    user = None
    if user_id:
        from .models import User

        user = User.objects.filter(pk=user_id).first()
    return acting_as(user, reason=None if user else f"system: {task_name}")


def history_user(instance=None, request=None, **kwargs):
    """simple-history's ``get_user``: the actor named by ``acting_as``, else the request's signed-in user."""
    actor = current_actor()
    if actor is not None:
        return actor.user
    user = getattr(request, "user", None)
    return user if getattr(user, "is_authenticated", False) else None


class AuditedHistory(HistoricalRecords):
    """``HistoricalRecords`` that records the acting user and reason of ``acting_as`` even with no request."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("get_user", history_user)
        super().__init__(*args, **kwargs)

    def get_change_reason_for_object(self, instance, history_type, using):
        reason = super().get_change_reason_for_object(instance, history_type, using)
        if not reason:
            actor = current_actor()
            reason = actor.reason if actor is not None else None
        return reason


# --- reading the history back: old → new --------------------------------------------------------------


@dataclass(frozen=True)
class FieldChange:
    field: str
    label: str
    old: str
    new: str


@dataclass(frozen=True)
class HistoryEntry:
    """One audited write: who, when, what kind of record, created/changed/deleted, and the fields' old → new."""

    when: datetime
    user: object | None
    reason: str
    record: str  # the model's verbose name
    record_label: str  # the record, e.g. "粤B12345 GL8"
    kind: str  # "+", "~" or "-"
    changes: tuple[FieldChange, ...]


def _shown(field, value, related: dict) -> str:
    if value is None or value == "":
        return "—"
    if isinstance(field, EncryptedPhoneField):  # a history shows a number as every page does: masked
        return mask_phone(value)
    if getattr(field, "choices", None):
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(field, models.ForeignKey):
        return related.get((field.related_model, value), str(value))
    if isinstance(value, datetime):
        from django.utils import timezone

        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")
    if isinstance(field, models.BooleanField):
        from django.utils.translation import gettext

        return gettext("Yes") if value else gettext("No")
    return str(value)


def _as_record(model, row):
    """The record as ``row`` saw it, built from the row's own columns (simple-history's ``row.instance`` reads
    the excluded fields back from the table, one query per row)."""
    return model(**{f.attname: getattr(row, f.attname) for f in model._meta.concrete_fields if hasattr(row, f.attname)})


def history_entries(history_qs, *, limit: int = 50, hidden: tuple[str, ...] = (), label=None) -> list[HistoryEntry]:
    """The newest ``limit`` writes of the records in ``history_qs`` (a historical model's queryset, already
    scoped to one dealership's records), each with its fields' old → new against the record's previous row.

    Reads the newest rows, then each one's previous row in one more query; names of related records in one
    query per related model. ``label(row)`` names the record (default: the record's ``str`` as it was).
    """
    label = label or (lambda row: str(_as_record(instance_model, row)))
    history_model = history_qs.model
    instance_model = history_model.instance_type
    pk_name = instance_model._meta.pk.attname
    rows = list(history_qs.select_related("history_user").order_by("-history_date", "-history_id")[:limit])
    if not rows:
        return []
    # The previous row of each: the newest row of the same record older than it.
    older = (
        history_model.objects.filter(**{f"{pk_name}__in": {getattr(r, pk_name) for r in rows}})
        .filter(history_date__lte=max(r.history_date for r in rows))
        .order_by(pk_name, "-history_date", "-history_id")
    )
    by_record: dict = {}
    for row in older:
        by_record.setdefault(getattr(row, pk_name), []).append(row)
    fields = [
        f
        for f in instance_model._meta.concrete_fields
        if f.name not in hidden and not f.primary_key and f.name not in {"created_at", "updated_at"}
    ]
    pairs = []
    for row in rows:
        chain = by_record.get(getattr(row, pk_name), [])
        previous = next(
            (r for r in chain if (r.history_date, r.history_id) < (row.history_date, row.history_id)),
            None,
        )
        pairs.append((row, previous))
    # Names of the related records the changed foreign keys point to, one query per related model.
    wanted: dict = {}
    for row, previous in pairs:
        for field in fields:
            if isinstance(field, models.ForeignKey):
                for source in (row, previous):
                    value = getattr(source, field.attname, None) if source is not None else None
                    if value is not None:
                        wanted.setdefault(field.related_model, set()).add(value)
    related = {
        (model, obj.pk): str(obj) for model, ids in wanted.items() for obj in model._base_manager.filter(pk__in=ids)
    }
    entries = []
    for row, previous in pairs:
        changes = []
        for field in fields:
            new = getattr(row, field.attname)
            if row.history_type == "+":
                if new in (None, "", False):
                    continue
                old = None
            elif previous is None:
                continue
            else:
                old = getattr(previous, field.attname)
                if old == new:
                    continue
            changes.append(
                FieldChange(
                    field=field.name,
                    label=str(field.verbose_name),
                    old=_shown(field, old, related) if old is not None else "—",
                    new=_shown(field, new, related),
                )
            )
        if row.history_type == "~" and not changes and not row.history_change_reason:
            continue  # saved with nothing changed and nothing said
        entries.append(
            HistoryEntry(
                when=row.history_date,
                user=row.history_user,
                reason=row.history_change_reason or "",
                record=str(instance_model._meta.verbose_name),
                record_label=label(row),
                kind=row.history_type,
                changes=tuple(changes),
            )
        )
    return entries


def merged_entries(*lists: list[HistoryEntry], limit: int = 50) -> list[HistoryEntry]:
    """Several records' histories as one, newest first."""
    return sorted((e for entries in lists for e in entries), key=lambda e: e.when, reverse=True)[:limit]
