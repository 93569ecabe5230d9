"""Comparing what a hand-written read (``dealercrm.core.sqlread``) gives with what the ORM gives: the same rows,
in the same order, with the same values of the same types, and the same related objects attached."""

from __future__ import annotations


def fields_of(instance) -> dict:
    """The loaded concrete fields of ``instance`` as ``{attname: (value, type name)}`` (deferred ones left out)."""
    loaded = instance.__dict__
    return {
        field.attname: (loaded[field.attname], type(loaded[field.attname]).__name__)
        for field in instance._meta.concrete_fields
        if field.attname in loaded
    }


def row(instance, *related: str) -> tuple:
    """``instance`` with the fields of its ``related`` objects (dotted paths, None when there is none)."""
    if instance is None:
        return (None,)
    parts = [type(instance).__name__, fields_of(instance)]
    for path in related:
        target = instance
        for name in path.split("."):
            target = getattr(target, name)
            if target is None:
                break
        parts.append((path, None if target is None else fields_of(target)))
    return tuple(parts)


def rows(instances, *related: str) -> list[tuple]:
    return [row(instance, *related) for instance in instances]
