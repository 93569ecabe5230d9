"""Invitations by message (seed 000's electronic invitation): a target group with ``invite_channel`` sends each
invitee a personal link to the campaign's page, with its highlights, the offer of the invitee's group and a
booking form.

- ``invitation_touches_plan``: generating the list plans one touch per invitation (kind ``invitation``,
  marketing, on the group's channel, due on the campaign's first day, or now when it runs), set-based and once
  (the ledger's unique key); the dispatcher (``followups``) sends it, asking ``invite_link_for_touch`` for the
  link. Without ``call_after_message_days`` the message replaces the call: the invitation is given to no agent
  (``services._assign_unassigned`` leaves message-only groups out), so no queue ever shows it. With a number N,
  the call follows N days after the message: the invitation's ``next_call_at`` is the message's due time plus N
  days, and a customer who booked meanwhile has left the queue (accepted).
- The link carries a signed token naming the invitation (``django.core.signing``, its own salt): a changed
  token does not verify. It is valid until the campaign's last day (the dealership's day) and books once: a
  booked invitation refuses a second booking (``BOOKABLE``: who may still book).
- ``invitation_book_by_link`` books exactly as an accepted call does (``services.invitation_book``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from dealercrm.core.audit import acting_as
from dealercrm.core.exceptions import ApplicationError

from . import services
from .models import Campaign, Coupon, Invitation, TargetGroup

SALT = "campaigns.invites"
#: who may still book through the link: an open invitation, and a customer who said no on the phone or was not
#: reached and changes their mind; a booked one has used it, and a wrong number's link may be a stranger's
BOOKABLE = (*Invitation.OPEN, Invitation.Status.DECLINED, Invitation.Status.UNREACHED)
#: the time slots the invitation page offers (the counter's list of expected arrivals shows them as typed)
TIME_SLOTS = ("09:00-10:00", "10:00-11:00", "11:00-12:00", "13:30-14:30", "14:30-15:30", "15:30-16:30")


# --- planning the messages ----------------------------------------------------------------------------------


def message_due_at(campaign: Campaign, now: datetime) -> datetime:
    """When a campaign's invitation messages are due: its first day (at the dealership) or now, once it runs."""
    start = datetime.combine(campaign.starts_on, time.min, tzinfo=campaign.dealership.zone)
    return max(start, now)


def _end_of(campaign: Campaign) -> datetime:
    """The end of the campaign's last day at the dealership."""
    return datetime.combine(campaign.ends_on + timedelta(days=1), time.min, tzinfo=campaign.dealership.zone)


def invitation_touches_plan(*, campaign: Campaign, now: datetime | None = None) -> dict[int, int]:
    """For every target group of ``campaign`` that invites by message, one invitation touch per open invitation
    not in the holdout that has none yet; a group whose call follows the message has its new invitations' first
    call due ``call_after_message_days`` after the message. Returns {group id: touches planned}.

    Set-based: one UPDATE and one read per group and the inserts in batches (``bulk_create`` with
    ``ignore_conflicts``: the ledger's unique key on (kind, invitation) keeps one touch however often the list
    is generated, even two generations at once). Runs in the list generation's transaction."""
    from followups.models import Priority, Touch, TouchClass  # the ledger sits above campaigns

    now = now or timezone.now()
    due = message_due_at(campaign, now)
    expires = _end_of(campaign)
    planned: dict[int, int] = {}
    groups = TargetGroup.objects.filter(campaign=campaign).exclude(invite_channel="").order_by("position", "id")
    for group in groups:
        has_touch = Touch.objects.filter(invitation=OuterRef("pk"), kind=Touch.Kind.INVITATION)
        todo = Invitation.objects.filter(
            target_group=group, holdout=False, status__in=Invitation.OPEN, attempts=0
        ).exclude(Exists(has_touch))
        if group.call_after_message_days is not None:  # the call follows the message for those who have not booked
            todo.filter(next_call_at__isnull=True).update(
                next_call_at=due + timedelta(days=group.call_after_message_days)
            )
        touches = [
            Touch(
                dealership_id=campaign.dealership_id,
                kind=Touch.Kind.INVITATION,
                customer_id=customer_id,
                invitation_id=invitation_id,
                vehicle_id=vehicle_id,
                due_at=due,
                expires_at=expires,
                touch_class=TouchClass.MARKETING,
                channel=group.invite_channel,
                priority=Priority.MARKETING,
                created_at=now,
                updated_at=now,
            )
            for invitation_id, customer_id, vehicle_id in todo.values_list("pk", "customer_id", "vehicle_id")
        ]
        Touch.objects.bulk_create(touches, batch_size=2000, ignore_conflicts=True)
        planned[group.pk] = len(touches)
    return planned


# --- the link -----------------------------------------------------------------------------------------------


def invite_token(invitation: Invitation | int) -> str:
    """The signed token naming ``invitation`` (URL-safe, no slash)."""
    return signing.dumps({"i": getattr(invitation, "pk", invitation)}, salt=SALT)


def invite_link_for_touch(touch, *, now: datetime | None = None) -> str:
    """The absolute link an invitation touch sends (``SITE_URL`` + the invitation page of its token). The
    link's validity comes from the campaign (its last day) and the invitation (still open), checked when it is
    opened, so the same link stays good however late within the campaign the message goes out; ``now`` is
    accepted for the dispatcher's symmetry with the other links it builds."""
    if touch.invitation_id is None:
        raise ValueError("An invitation link needs the touch's invitation.")
    site = getattr(settings, "SITE_URL", "http://localhost:8000").rstrip("/")
    return site + reverse("invites:page", args=[invite_token(touch.invitation_id)])


class LinkRefused(Exception):
    """Why an invitation link cannot be used: ``status`` 400 (tampered, unknown) or 410 (expired, used);
    ``kind`` names the page's case; ``invitation`` when known (the page may say what was booked)."""

    def __init__(self, kind: str, status: int, invitation: Invitation | None = None):
        super().__init__(kind)
        self.kind, self.status, self.invitation = kind, status, invitation


def invitation_from_token(token: str, *, now: datetime | None = None, for_update: bool = False) -> Invitation:
    """The invitation a link names, still open for booking; else ``LinkRefused``."""
    try:
        payload = signing.loads(token, salt=SALT)
        pk = int(payload["i"])
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        raise LinkRefused("invalid", 400) from exc
    invitations = Invitation.objects.select_related("campaign__dealership", "customer", "vehicle", "target_group")
    if for_update:
        invitations = invitations.select_for_update(of=("self",))
    invitation = invitations.filter(pk=pk).first()
    if invitation is None or invitation.holdout:
        raise LinkRefused("invalid", 400)
    campaign = invitation.campaign
    today = campaign.dealership.local_date(now or timezone.now())
    if invitation.status == Invitation.Status.ACCEPTED:
        raise LinkRefused("used", 410, invitation)
    if campaign.status == Campaign.Status.FINISHED or today > campaign.ends_on:
        raise LinkRefused("expired", 410, invitation)
    if campaign.status not in (Campaign.Status.SCHEDULED, Campaign.Status.RUNNING):
        raise LinkRefused("invalid", 400)
    if invitation.status not in BOOKABLE:
        raise LinkRefused("closed", 410, invitation)
    return invitation


def booking_days(invitation: Invitation, *, now: datetime | None = None) -> tuple[date, date]:
    """The first and last day the invitee may book: from today (or the campaign's first day) to its last."""
    campaign = invitation.campaign
    return max(campaign.dealership.local_date(now or timezone.now()), campaign.starts_on), campaign.ends_on


@dataclass
class Booking:
    invitation: Invitation
    appointment: object
    coupons: list[Coupon]


@transaction.atomic
def invitation_book_by_link(
    *,
    token: str,
    appointment_date: date | None,
    time_slot: str = "",
    vehicle=None,
    now: datetime | None = None,
) -> Booking:
    """The customer books through their link: the same appointment and coupons as an accepted call
    (``services.invitation_book``), the invitation accepted, its pending message stopped. Under the
    invitation's row lock, so two submissions at once book once (the second finds it used: 410)."""
    now = now or timezone.now()
    invitation = invitation_from_token(token, now=now, for_update=True)
    if time_slot and time_slot not in TIME_SLOTS:
        message = _("Choose one of the times offered.")
        raise ApplicationError(message, code="unknown_time_slot", fields={"time_slot": [message]})
    with acting_as(None, reason="customer: invitation link"):  # the history names the link, not staff
        appointment, coupons = services.invitation_book(
            invitation=invitation, appointment_date=appointment_date, time_slot=time_slot, vehicle=vehicle, now=now
        )
        invitation.save(update_fields=["status", "next_call_at", "appointment"])
    return Booking(invitation=invitation, appointment=appointment, coupons=coupons)
