"""The access log of personal data (PIPL): every reveal of a full phone number, every export or download that
holds customers' personal data, every data-subject action, every failed sign-in and token change.

One function writes it, ``record``; the administrators read it on the staff pages (``staff:access-log``).
Events are never edited (``AccessEvent``); the nightly job removes those older than
``ACCESS_LOG_RETENTION_DAYS`` (default three years).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import AccessEvent

Kind = AccessEvent.Kind


def _ip(request) -> str | None:
    if request is None:
        return None
    from .lockout import client_ip

    return client_ip(request) or None


def record(
    kind: str,
    *,
    user=None,
    dealership=None,
    what: str,
    customers: int = 0,
    customer=None,
    request=None,
    details: dict | None = None,
    username: str = "",
) -> AccessEvent:
    """Write one access event. ``what`` says in a line what was seen or exported (a page, a report and its
    format, a file); ``customers`` how many customers' data it held; ``customer`` the one customer concerned
    (a record or an id), if one. ``request`` gives the user (when ``user`` is not given) and the address."""
    if user is None and request is not None:
        user = getattr(request, "user", None)
    real_user = user if getattr(user, "pk", None) and getattr(user, "is_authenticated", True) else None
    if dealership is None and request is not None:
        dealership = getattr(request, "dealership", None)
    customer_id = getattr(customer, "pk", customer)
    return AccessEvent.objects.create(
        kind=kind,
        user=real_user,
        username=(username or getattr(real_user, "username", "") or "")[:150],
        dealership=dealership if getattr(dealership, "pk", None) else None,
        customer_id=customer_id,
        customers=customers if customers else (1 if customer_id else 0),
        what=what[:200],
        ip=_ip(request),
        details=details or {},
    )


def retention_cutoff(now=None):
    return (now or timezone.now()) - timedelta(days=settings.ACCESS_LOG_RETENTION_DAYS)


def purge_expired(now=None) -> int:
    """Remove the events older than the retention period; returns how many went."""
    return AccessEvent.objects.purge_expired(before=retention_cutoff(now))
