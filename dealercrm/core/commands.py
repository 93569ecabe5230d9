"""Helpers shared by the management commands."""

from collections.abc import Callable
from datetime import date

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

from .models import Dealership


def dealership_by_code(code: str) -> Dealership:
    """The dealership with ``code`` (any case), or a CommandError that lists the known codes."""
    dealership = Dealership.objects.filter(code__iexact=code).first()
    if dealership is None:
        known = ", ".join(Dealership.objects.order_by("code").values_list("code", flat=True)) or "—"
        raise CommandError(
            _("No dealership with code “%(code)s”. Known codes: %(known)s.") % {"code": code, "known": known}
        )
    return dealership


def iso_date(option: str) -> Callable[[str], date]:
    """An argparse ``type`` for ``option`` that takes YYYY-MM-DD and refuses anything else by name."""

    def parse(value: str) -> date:
        try:
            return date.fromisoformat(value)
        except ValueError as exc:
            raise CommandError(
                _("%(option)s must be a date like 2025-06-30, not “%(value)s”.") % {"option": option, "value": value}
            ) from exc

    return parse
