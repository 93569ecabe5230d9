"""A dealership's follow-up settings with their defaults, and the sending window they define.

Read the settings through ``policy_for(dealership)``: a store that never changed them has no row and gets the
defaults (``FollowupPolicy``'s field defaults and the ones below)."""

from __future__ import annotations

import datetime as dt

from customers.models import VisitType
from dealercrm.core.models import Dealership

from .models import FollowupPolicy

#: the visits followed up on day 7/15/30 unless the store says otherwise (seed 003: 保养后7天、15天、30天)
DEFAULT_FOLLOWUP_VISIT_TYPES = (VisitType.MAINTENANCE,)
#: ISO weekdays: a 4S store's service department works Monday to Saturday
DEFAULT_BUSINESS_DAYS = (1, 2, 3, 4, 5, 6)


def policy_for(dealership: Dealership) -> FollowupPolicy:
    """The store's settings (an unsaved default row when it has none)."""
    try:
        return dealership.followup_policy
    except FollowupPolicy.DoesNotExist:
        return FollowupPolicy(dealership=dealership)


def followup_visit_types(policy: FollowupPolicy) -> tuple[str, ...]:
    return tuple(policy.followup_visit_types or DEFAULT_FOLLOWUP_VISIT_TYPES)


def business_days(policy: FollowupPolicy) -> tuple[int, ...]:
    return tuple(policy.business_days or DEFAULT_BUSINESS_DAYS)


def _parse(value: str) -> dt.time:
    return dt.time.fromisoformat(value)


def sending_window(policy: FollowupPolicy, channel: str) -> tuple[dt.time, dt.time]:
    """The local hours ``[from, until)`` in which ``channel`` may reach a customer of this store."""
    window = (policy.channel_windows or {}).get(channel)
    if window:
        return _parse(window[0]), _parse(window[1])
    return policy.send_from, policy.send_until


def in_window(policy: FollowupPolicy, channel: str, when: dt.datetime) -> bool:
    """Whether ``when`` (aware) falls inside the channel's sending hours in the store's time zone."""
    start, end = sending_window(policy, channel)
    local = when.astimezone(policy.dealership.zone).time()
    return start <= local < end


def next_window_start(policy: FollowupPolicy, channel: str, when: dt.datetime) -> dt.datetime:
    """``when`` itself if it is inside the window, else the next moment the window opens (aware)."""
    if in_window(policy, channel, when):
        return when
    zone = policy.dealership.zone
    start, _end = sending_window(policy, channel)
    local = when.astimezone(zone)
    day = local.date() if local.time() < start else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, start, tzinfo=zone)
