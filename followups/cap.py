"""The marketing cap: at most ``marketing_cap`` marketing touches reach a customer in ``cap_days`` days (default
4 in 30), counted across channels, campaigns and reminders — one count, here.

What counts (``counted_times``): the customer's marketing touches that reached them (``Touch.REACHED``: sent,
delivered, done, and ambiguous ones, which may have), at the time they were sent or completed; and the
campaign calls that reached them (``CallAttempt.REACHED``). Service touches never count and are never capped.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable

from django.db.models import Q
from django.db.models.functions import Coalesce

from .models import Touch, TouchClass


def window_start(policy, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=policy.cap_days)


def counted_times(customer_ids: Iterable[int], *, since: dt.datetime) -> dict[int, list[dt.datetime]]:
    """For each customer, the sorted times of the marketing contacts that count against the cap after
    ``since``. Two queries whatever the number of customers."""
    from campaigns.models import CallAttempt

    ids = list(set(customer_ids))
    times: dict[int, list[dt.datetime]] = defaultdict(list)
    if not ids:
        return times
    touches = (
        Touch.objects.filter(customer_id__in=ids, touch_class=TouchClass.MARKETING, status__in=Touch.REACHED)
        .annotate(at=Coalesce("sent_at", "completed_at"))
        .filter(Q(at__gt=since))
        .values_list("customer_id", "at")
    )
    for customer_id, at in touches:
        times[customer_id].append(at)
    calls = CallAttempt.objects.filter(
        invitation__customer_id__in=ids, outcome__in=CallAttempt.REACHED, called_at__gt=since
    ).values_list("invitation__customer_id", "called_at")
    for customer_id, at in calls:
        times[customer_id].append(at)
    for value in times.values():
        value.sort()
    return times


def capped_until(times: list[dt.datetime], policy, now: dt.datetime) -> dt.datetime | None:
    """None when one more marketing touch is allowed now; else the moment enough of ``times`` (sorted) have
    left the window for one more to fit."""
    since = window_start(policy, now)
    counted = [t for t in times if t > since]
    if len(counted) < policy.marketing_cap:
        return None
    if policy.marketing_cap == 0:
        return now + dt.timedelta(days=policy.cap_days)
    leaving = counted[len(counted) - policy.marketing_cap]
    return leaving + dt.timedelta(days=policy.cap_days, seconds=1)


def customer_capped_until(customer_id: int, policy, now: dt.datetime) -> dt.datetime | None:
    """``capped_until`` for one customer (the workbench or a page asking about one customer)."""
    times = counted_times([customer_id], since=window_start(policy, now))
    return capped_until(times.get(customer_id, []), policy, now)
