"""Stopping touches that should no longer happen: the one way a pending touch is cancelled.

Every stop condition (a booking, a visit, an open complaint, consent withdrawn, do-not-contact, a wrong
number, a customer erased or merged, a member of staff) ends here, so that each cancelled touch carries its
reason and nothing else writes ``status = cancelled``. The dispatcher only finishes a touch it still holds
(its final write is conditional on ``status = claimed`` and its lease), so a touch cancelled while being sent
is not marked sent afterwards unless the provider already took it."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from .models import Touch
from .reasons import REASONS, reason_text


def cancel_pending(touches: QuerySet[Touch], *, reason: str, detail: str = "", now=None) -> int:
    """Cancel the pending touches of ``touches`` with ``reason`` (a code of ``followups.reasons``); returns
    how many were cancelled. One ``UPDATE``."""
    if reason not in REASONS:
        raise ValueError(f"Unknown reason {reason!r}: add it to followups.reasons.REASONS")
    return touches.filter(status__in=Touch.PENDING).update(
        status=Touch.Status.CANCELLED,
        reason=reason,
        reason_detail=(detail or reason_text(reason))[:300],
        lease_until=None,
        updated_at=now or timezone.now(),
    )
