"""The dispatcher: claims the due message touches with a lease, checks each again at the moment of sending, and
sends it through its channel's back end — exactly once, or, when that cannot be known, marked *ambiguous*.

One batch (``dispatch_due`` runs batches until nothing is due or its time is up):

1. **Expire** (one ``UPDATE``): planned touches of every channel, call tasks included, whose ``expires_at`` passed.
2. **Claim** (a short transaction): the due message touches (SMS, WeChat, email) that are planned, or claimed by
   a worker whose lease ran out, in order of priority then due time, ``SELECT … FOR UPDATE SKIP LOCKED`` and an
   ``UPDATE`` that stamps them with this batch's token and lease (conditional on being claimable still, so two
   workers on a database without row locks, SQLite, cannot both take one).
3. **Each touch, again at the moment of sending**: expiry; the contact rule (``customers.contact.refusal``:
   skipped with its code); the channel (WeChat needs an OpenID, a one-time subscription and a service touch,
   else SMS, else the touch becomes a call task for an agent); quiet hours (outside the store's window for the
   channel the touch goes back to *planned* with ``due_at`` at the window's next opening — never dropped); the
   marketing cap (``followups.cap``: the touch waits until the cap allows it, or is skipped, by the store's
   setting).
4. **Send** with the touch's idempotency key (``touch-<id>``, the same on every retry). For a back end that
   talks to a provider the message is first recorded *in flight* (``Message.status = unknown``, committed), so a
   worker killed mid-send leaves a trace: the next worker finds it and marks the touch *ambiguous* instead of
   sending again. Accepted → *sent*; no answer (timeout) → *ambiguous*, never resent by itself; a definite
   refusal → its code and text on the touch, retried after a capped exponential backoff while attempts remain,
   then *failed*.

Every write after the claim is conditional on the touch still being claimed with this batch's token: a touch
cancelled meanwhile (``followups.stops``) stays cancelled, and one whose lease ran out and was taken by another
worker is left to it. Queries: a handful per batch; the database back end's sends are written together (one
conditional ``UPDATE`` and one ``INSERT`` of the messages per 250); a remote back end's take four per message
(in flight, then the answer), each pair in its own short transaction.

WeChat fallback (decided here, ``_route``): a marketing touch never goes by WeChat; a service touch goes by
WeChat when the customer has an OpenID and an unused one-time subscription (``WeChatSubscription``, used up by
the send), else by SMS if the contact rule allows texts, else it becomes a call task for one of the store's
agents (a note on the touch says why), else it is skipped with the contact rule's reason.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import time
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.contact import refusal

from . import cap, messaging
from .channels import Outgoing, SendResult, channel_for
from .channels.base import ACCEPTED, UNKNOWN
from .models import (
    MESSAGE_CHANNELS,
    FollowupPolicy,
    Message,
    Touch,
    TouchChannel,
    TouchClass,
    WeChatSubscription,
)
from .policy import in_window, next_window_start
from .reasons import reason_text

log = logging.getLogger(__name__)

Status = Touch.Status

#: why a touch in flight when its worker died is ambiguous (the reason's code is "timeout": result unknown)
INTERRUPTED = _("The sending worker stopped while the message was with the provider: whether it was sent is unknown.")


def idempotency_key(touch: Touch) -> str:
    """The key sent to the provider with every send of ``touch``: the same on every retry."""
    return f"touch-{touch.pk}"


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:48]


def backoff(attempts: int) -> dt.timedelta:
    """The wait before the next try after ``attempts`` failed ones: base·2^(attempts-1), capped."""
    base, cap_seconds = settings.FOLLOWUPS_RETRY_BASE_SECONDS, settings.FOLLOWUPS_RETRY_MAX_SECONDS
    return dt.timedelta(seconds=min(cap_seconds, base * 2 ** max(0, attempts - 1)))


def _claimable(now: dt.datetime) -> Q:
    return Q(status=Status.PLANNED) | Q(status=Status.CLAIMED, lease_until__lt=now)


# --- set-based steps -----------------------------------------------------------------------------------------


def expire_due(*, now: dt.datetime) -> int:
    """Planned touches of any channel (call tasks too) whose time ran out: expired. One ``UPDATE``."""
    return Touch.objects.filter(status=Status.PLANNED, expires_at__lte=now).update(
        status=Status.EXPIRED,
        reason="expired",
        reason_detail=reason_text("expired")[:300],
        lease_until=None,
        claimed_by="",
        updated_at=now,
    )


def claim(*, now: dt.datetime, batch: int, token: str) -> int:
    """Stamp up to ``batch`` due message touches with ``token`` and a lease; returns how many."""
    lease_until = now + dt.timedelta(seconds=settings.FOLLOWUPS_LEASE_SECONDS)
    with transaction.atomic():
        ids = list(
            Touch.objects.filter(_claimable(now), channel__in=MESSAGE_CHANNELS, due_at__lte=now)
            .order_by("priority", "due_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:batch]
        )
        if not ids:
            return 0
        return Touch.objects.filter(_claimable(now), pk__in=ids).update(
            status=Status.CLAIMED, claimed_by=token, lease_until=lease_until, updated_at=now
        )


# --- one batch -----------------------------------------------------------------------------------------------


@dataclass
class Batch:
    token: str
    now: dt.datetime
    clock: object
    policies: dict = field(default_factory=dict)
    templates: dict = field(default_factory=dict)
    cap_times: dict = field(default_factory=dict)
    quota: dict = field(default_factory=dict)
    in_flight: set = field(default_factory=set)
    counts: dict = field(default_factory=dict)
    renewed: float = 0.0
    #: sends of a back end inside the database, written together (``_flush_local``)
    local: list = field(default_factory=list)
    agents: dict = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.counts[what] = self.counts.get(what, 0) + 1

    def finish(self, touch: Touch, **fields) -> bool:
        """The conditional write: only while ``touch`` is still claimed with this batch's token."""
        fields.setdefault("updated_at", self.clock())
        if fields.get("status") != Status.CLAIMED:
            fields.setdefault("lease_until", None)
            fields.setdefault("claimed_by", "")
        done = Touch.objects.filter(pk=touch.pk, status=Status.CLAIMED, claimed_by=self.token).update(**fields) == 1
        if not done:
            self.count("lost")
        return done

    def agents_of(self, dealership_id: int) -> list[int]:
        """The store's active agents by id (read once per batch, when a touch falls back to a call)."""
        if dealership_id not in self.agents:
            from dealercrm.core.models import User
            from dealercrm.core.roles import Role

            self.agents[dealership_id] = list(
                User.objects.filter(memberships__dealership_id=dealership_id, is_active=True, role=Role.AGENT)
                .order_by("id")
                .values_list("id", flat=True)
            )
        return self.agents[dealership_id]

    def renew(self) -> None:
        """Stretch the lease of what the batch still holds (a slow provider must not let it run out)."""
        lease = settings.FOLLOWUPS_LEASE_SECONDS
        if time.monotonic() - self.renewed < lease / 3:
            return
        self.renewed = time.monotonic()
        Touch.objects.filter(status=Status.CLAIMED, claimed_by=self.token).update(
            lease_until=self.clock() + dt.timedelta(seconds=lease)
        )


def _policies(touches) -> dict[int, FollowupPolicy]:
    dealerships = {t.dealership_id: t.dealership for t in touches}
    policies = {p.dealership_id: p for p in FollowupPolicy.objects.filter(dealership_id__in=dealerships)}
    for pk, dealership in dealerships.items():
        policy = policies.get(pk) or FollowupPolicy(dealership=dealership)
        policy.dealership = dealership  # the zone without another query
        policies[pk] = policy
    return policies


def _quota(customer_ids) -> dict[int, int]:
    from django.db.models import Count

    if not customer_ids:
        return {}
    rows = (
        WeChatSubscription.objects.filter(customer_id__in=set(customer_ids), used_at__isnull=True)
        .values("customer_id")
        .annotate(n=Count("id"))
    )
    return {row["customer_id"]: row["n"] for row in rows}


def _prepare(batch: Batch) -> list[Touch]:
    touches = list(
        Touch.objects.filter(status=Status.CLAIMED, claimed_by=batch.token)
        .select_related(
            "customer", "dealership", "vehicle", "visit__vehicle", "invitation__campaign", "invitation__vehicle"
        )
        .order_by("priority", "due_at", "id")
    )
    if not touches:
        return touches
    batch.policies = _policies(touches)
    batch.templates = messaging.templates_for(batch.policies, settings.FOLLOWUPS_MESSAGE_LANGUAGE)
    marketing = [t.customer_id for t in touches if t.touch_class == TouchClass.MARKETING]
    if marketing:
        longest = max(p.cap_days for p in batch.policies.values())
        batch.cap_times = cap.counted_times(marketing, since=batch.now - dt.timedelta(days=longest))
    batch.quota = _quota([t.customer_id for t in touches if t.channel == TouchChannel.WECHAT])
    retried = [t.pk for t in touches if t.attempts]
    if retried:
        batch.in_flight = set(
            Message.objects.filter(touch_id__in=retried, status=Message.Status.UNKNOWN).values_list(
                "touch_id", flat=True
            )
        )
    return touches


def _route(touch: Touch, batch: Batch) -> tuple[str, str]:
    """The channel the touch goes out on and why not its own: ``(channel, "")``, or ``("", code)`` when it
    cannot go out at all. WeChat falls back to SMS, then to a call task (channel "call")."""
    customer = touch.customer
    if touch.channel != TouchChannel.WECHAT:
        return touch.channel, ""
    why = ""
    if touch.touch_class == TouchClass.MARKETING:
        why = "marketing_on_wechat"
    elif not customer.wechat_openid:
        why = "no_address"
    elif batch.quota.get(customer.pk, 0) < 1:
        why = "quota_exhausted"
    if not why:
        return TouchChannel.WECHAT, ""
    for fallback in (TouchChannel.SMS, TouchChannel.CALL):
        if refusal(customer, touch.touch_class, fallback) is None:
            return fallback, why
    condition = refusal(customer, touch.touch_class, TouchChannel.SMS)
    return "", condition.code if condition else why


def _skip(touch: Touch, batch: Batch, code: str, detail: str = "", status: str = Status.SKIPPED) -> None:
    if batch.finish(touch, status=status, reason=code, reason_detail=(detail or reason_text(code))[:300]):
        batch.count(status)


def handle(touch: Touch, batch: Batch) -> None:
    """Check ``touch`` again and send it (or put it back, skip it, or hand it to an agent)."""
    now = batch.now
    customer = touch.customer
    if touch.pk in batch.in_flight:
        # its worker died with the message at the provider: never sent again by itself
        if batch.finish(touch, status=Status.AMBIGUOUS, reason="timeout", reason_detail=str(INTERRUPTED)[:300]):
            batch.count("ambiguous")
        return
    if touch.expires_at is not None and touch.expires_at <= now:
        return _skip(touch, batch, "expired", status=Status.EXPIRED)
    condition = refusal(customer, touch.touch_class, touch.channel)
    if condition is not None:
        return _skip(touch, batch, condition.code, str(condition.message))
    channel, why = _route(touch, batch)
    if not channel:
        return _skip(touch, batch, why)
    if channel == TouchChannel.CALL:
        # WeChat cannot be used and neither can SMS: an agent calls instead (the touch joins the call queue)
        detail = _("WeChat could not be used (%(why)s): an agent calls instead.") % {"why": reason_text(why)}
        agents = batch.agents_of(touch.dealership_id)
        assignee = agents[touch.pk % len(agents)] if agents else None  # in turn, as the planner assigns calls
        if batch.finish(
            touch, status=Status.PLANNED, channel=TouchChannel.CALL, assignee_id=assignee, notes=str(detail)[:500]
        ):
            batch.count("to_call")
        return
    policy = batch.policies[touch.dealership_id]
    if not in_window(policy, channel, now):
        if batch.finish(touch, status=Status.PLANNED, due_at=next_window_start(policy, channel, now)):
            batch.count("waiting")
        return
    if touch.touch_class == TouchClass.MARKETING:
        times = batch.cap_times.setdefault(customer.pk, [])
        until = cap.capped_until(times, policy, now)
        if until is not None:
            if policy.when_capped == FollowupPolicy.WhenCapped.SKIP:
                return _skip(touch, batch, "cap_reached")
            if batch.finish(touch, status=Status.PLANNED, due_at=until):
                batch.count("capped")
            return
    if touch.attempts >= touch.max_attempts:
        return _skip(touch, batch, "attempts_exhausted", status=Status.FAILED)
    backend = channel_for(channel)
    recipient = backend.address(customer)
    if not recipient:
        return _skip(touch, batch, "no_address")
    rendered = messaging.render(touch, channel=channel, now=now, templates=batch.templates)
    outgoing = Outgoing(
        channel=channel,
        recipient=recipient,
        body=rendered.body,
        subject=rendered.subject,
        idempotency_key=idempotency_key(touch),
        marketing=touch.touch_class == TouchClass.MARKETING,
        template_code=rendered.template_code,
        params=rendered.params,
        signature=rendered.signature,
        link=rendered.link,
    )
    if backend.remote:
        result = _send_remote(touch, batch, backend, outgoing)
    else:
        result = _send_local(touch, batch, backend, outgoing)
    if result is not None and result.status in (ACCEPTED, UNKNOWN) and outgoing.marketing:
        batch.cap_times[customer.pk].append(now)


def _message_fields(touch: Touch, backend, outgoing: Outgoing, now: dt.datetime) -> dict:
    return {
        "dealership_id": touch.dealership_id,
        "touch": touch,
        "customer_id": touch.customer_id,
        "channel": outgoing.channel,
        "backend": backend.name,
        "recipient": outgoing.recipient[:254],
        "subject": outgoing.subject[:200],
        "body": outgoing.body,
        "template_code": outgoing.template_code[:40],
        "created_at": now,
        "updated_at": now,
    }


#: how many sends of a back end inside the database are written in one transaction
LOCAL_FLUSH = 250


def _send_local(touch: Touch, batch: Batch, backend, outgoing: Outgoing) -> SendResult | None:
    """A back end inside the database: nothing leaves the machine, so the sends are written together
    (``_flush_local``: one conditional UPDATE, one INSERT of the messages), each touch only if still claimed."""
    now = batch.now
    result = backend.send(outgoing)
    if not touch.attempts:
        batch.local.append((touch, backend, outgoing, result))
        if len(batch.local) >= LOCAL_FLUSH:
            _flush_local(batch)
        return result
    with transaction.atomic():  # a touch tried before on another back end: its message row exists
        if not batch.finish(
            touch,
            status=Status.SENT,
            channel=outgoing.channel,
            attempts=F("attempts") + 1,
            sent_at=now,
            provider_ref=result.provider_ref,
            error_code="",
            error_text="",
        ):
            return None
        fields = _message_fields(touch, backend, outgoing, now)
        fields.update(status=Message.Status.ACCEPTED, provider_ref=result.provider_ref)
        Message.objects.update_or_create(idempotency_key=outgoing.idempotency_key, defaults=fields)
    batch.count("sent")
    return result


def _flush_local(batch: Batch) -> None:
    items, batch.local = batch.local, []
    if not items:
        return
    now = batch.now
    by_pk = {touch.pk: (touch, backend, outgoing, result) for touch, backend, outgoing, result in items}
    with transaction.atomic():
        channels: dict[str, list[int]] = {}
        for pk, (_touch, _backend, outgoing, _result) in by_pk.items():
            channels.setdefault(outgoing.channel, []).append(pk)
        for channel, pks in channels.items():  # (one channel, unless WeChat fell back to SMS)
            # conditional, like every final write: a touch cancelled meanwhile is not in it
            Touch.objects.filter(pk__in=pks, status=Status.CLAIMED, claimed_by=batch.token).update(
                status=Status.SENT,
                channel=channel,
                attempts=F("attempts") + 1,
                sent_at=now,
                lease_until=None,
                error_code="",
                error_text="",
                updated_at=batch.clock(),
            )
        # the batch's token stays on what it sent: these are exactly the rows the UPDATE changed
        done = set(
            Touch.objects.filter(pk__in=by_pk, status=Status.SENT, claimed_by=batch.token).values_list("pk", flat=True)
        )
        messages = []
        for pk in done:
            touch, backend, outgoing, result = by_pk[pk]
            fields = _message_fields(touch, backend, outgoing, now)
            messages.append(
                Message(
                    idempotency_key=outgoing.idempotency_key,
                    status=Message.Status.ACCEPTED,
                    provider_ref=result.provider_ref,
                    **fields,
                )
            )
        Message.objects.bulk_create(messages)
    if done:
        batch.counts["sent"] = batch.counts.get("sent", 0) + len(done)
    if len(done) < len(by_pk):
        batch.counts["lost"] = batch.counts.get("lost", 0) + len(by_pk) - len(done)


def _consume_quota(touch: Touch, now: dt.datetime) -> bool:
    subscription = (
        WeChatSubscription.objects.filter(customer_id=touch.customer_id, used_at__isnull=True)
        .order_by("granted_at", "id")
        .values_list("pk", flat=True)
        .first()
    )
    if subscription is None:
        return False
    return (
        WeChatSubscription.objects.filter(pk=subscription, used_at__isnull=True).update(used_at=now, touch=touch) == 1
    )


def _record_in_flight(touch: Touch, backend, outgoing: Outgoing, now: dt.datetime) -> None:
    fields = _message_fields(touch, backend, outgoing, now)
    fields.update(status=Message.Status.UNKNOWN, provider_ref="", error_code="", error_text="")
    if touch.attempts:
        Message.objects.update_or_create(idempotency_key=outgoing.idempotency_key, defaults=fields)
    else:
        Message.objects.create(idempotency_key=outgoing.idempotency_key, **fields)


def _send_remote(touch: Touch, batch: Batch, backend, outgoing: Outgoing) -> SendResult | None:
    """A provider outside: recorded in flight (committed) first, then sent, then the answer recorded."""
    now = batch.now
    with transaction.atomic():
        if not batch.finish(
            touch, status=Status.CLAIMED, channel=outgoing.channel, attempts=F("attempts") + 1, sent_at=now
        ):
            return None
        quota_gone = outgoing.channel == TouchChannel.WECHAT and not _consume_quota(touch, now)
        if outgoing.channel == TouchChannel.WECHAT:
            batch.quota[touch.customer_id] = batch.quota.get(touch.customer_id, 1) - 1
        if quota_gone:  # used meanwhile by another send: nothing written, the next run chooses again
            transaction.set_rollback(True)
        else:
            _record_in_flight(touch, backend, outgoing, now)
    if quota_gone:
        batch.finish(touch, status=Status.PLANNED)
        return None
    attempts = touch.attempts + 1
    try:
        result = backend.send(outgoing)
    except Exception as exc:  # a bug in a back end: the message may be out; treat as unknown
        log.exception("touch %s: the %s back end failed", touch.pk, backend.name)
        result = SendResult.unknown(repr(exc))
    message_status = {
        ACCEPTED: Message.Status.ACCEPTED,
        UNKNOWN: Message.Status.UNKNOWN,
    }.get(result.status, Message.Status.FAILED)
    with transaction.atomic():
        Message.objects.filter(idempotency_key=outgoing.idempotency_key).update(
            status=message_status,
            provider_ref=result.provider_ref,
            error_code=result.error_code,
            error_text=result.error_text,
            updated_at=batch.clock(),
        )
        errors = {"error_code": result.error_code, "error_text": result.error_text}
        if result.status == ACCEPTED:
            if batch.finish(touch, status=Status.SENT, provider_ref=result.provider_ref, error_code="", error_text=""):
                batch.count("sent")
        elif result.status == UNKNOWN:
            if batch.finish(
                touch, status=Status.AMBIGUOUS, reason="timeout", reason_detail=reason_text("timeout"), **errors
            ):
                batch.count("ambiguous")
        elif attempts < touch.max_attempts:
            if batch.finish(touch, status=Status.PLANNED, due_at=now + backoff(attempts), **errors):
                batch.count("retry")
        else:
            detail = _("The provider refused the message (%(code)s: %(text)s).") % {
                "code": result.error_code,
                "text": result.error_text,
            }
            if batch.finish(
                touch, status=Status.FAILED, reason="provider_error", reason_detail=str(detail)[:300], **errors
            ):
                batch.count("failed")
    return result


def run_batch(
    *, now: dt.datetime | None = None, batch: int | None = None, worker_id: str | None = None, expire: bool = True
) -> dict:
    """Expire (unless told not to), claim and handle one batch; returns its counts (``claimed`` and each
    outcome)."""
    clock = (lambda: now) if now is not None else timezone.now
    at = clock()
    token = f"{(worker_id or default_worker_id())[:48]}:{uuid.uuid4().hex[:12]}"
    state = Batch(token=token, now=at, clock=clock, renewed=time.monotonic())
    expired = expire_due(now=at) if expire else 0
    claimed = claim(now=at, batch=batch or settings.FOLLOWUPS_DISPATCH_BATCH, token=token)
    state.counts = {"claimed": claimed}
    if expired:
        state.counts["expired"] = expired
    if not claimed:
        return state.counts
    for touch in _prepare(state):
        state.renew()
        try:
            handle(touch, state)
        except Exception:
            log.exception("touch %s could not be dispatched", touch.pk)
            state.count("error")
            # back to planned, for the next run (one recorded in flight is found there and made ambiguous)
            state.finish(touch, status=Status.PLANNED)
    _flush_local(state)
    return state.counts


def dispatch_due(
    *,
    now: dt.datetime | None = None,
    batch: int | None = None,
    worker_id: str | None = None,
    max_seconds: float | None = None,
) -> dict:
    """Send what is due, batch after batch, until nothing is left or ``max_seconds`` (default: half the task's
    time limit) have passed. Returns the summed counts."""
    size = batch or settings.FOLLOWUPS_DISPATCH_BATCH
    limit = 240.0 if max_seconds is None else max_seconds
    started = time.monotonic()
    totals: dict[str, int] = {}
    while True:
        counts = run_batch(now=now, batch=size, worker_id=worker_id, expire=not totals)
        for key, value in counts.items():
            totals[key] = totals.get(key, 0) + value
        claimed = counts.get("claimed", 0)
        if claimed < size or time.monotonic() - started > limit:
            return totals
        if counts.get("error", 0) + counts.get("lost", 0) >= claimed:
            return totals  # no progress: leave the rest to the next run
