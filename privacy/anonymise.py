"""The one anonymisation rule: what erasing a customer removes, closes and keeps (PIPL).

Used by both ways a customer's identity goes: erasure on the customer's request (``privacy.subject``) and the
retention review's bulk anonymisation (``privacy.retention``). It works on a list of customer ids in a fixed
number of set-based statements, whatever their number (no query per customer).

**Removed** (the customer row and every row of its simple-history table, ``customers_historicalcustomer``):
the name (a neutral placeholder), the phone number with its hash and last four digits, the e-mail, the WeChat
OpenID, the birthday, the gender, the city and the notes. The customer number, the DMS's key and so a way
back to the person in the DMS, becomes ``ERASED-<id>``: a later DMS import of the same number makes a new
record instead of filling the anonymous one with the identity again.

**Scrubbed**, the free text tied to the customer: the messages' recipients, subjects and texts (and the
providers' error texts, which may quote the number), the notes of follow-up touches, follow-up calls and
campaign calls, survey comments, complaint texts (what the customer said, how it was handled: also in the
complaints' history), appointment notes (also in their history) and consent notes.

**Closed**, what was still open: open coupons voided, booked appointments cancelled, open complaints closed
with a note, pending touches cancelled (reason ``customer_erased``), open invitations closed as not reached.

**Set so the contact rule excludes them** (``customers.contact``): ``do_not_contact``; with no phone, no
address and no birthday, no channel or planner can reach them either.

**Kept**, so that no report changes: the customer row itself (its id, dealership, tier, points, consent
state and history's events, the data-quality flags, the dates), the vehicles with their technical data and
ownership history, the visits and every amount, coupons (codes, values, redemptions), invitations and their
outcomes, touches and surveys with their dates, statuses and scores, the segment history (pointing at the
anonymous row).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import CharField, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from campaigns.models import CallAttempt, Coupon, Invitation
from customers.models import Appointment, ConsentEvent, Customer
from followups.models import Complaint, Message, Survey, Touch, TouchAttempt
from followups.stops import cancel_pending

#: the prefix of an erased customer's number (the rest is its id: unique in the store, like the number was)
ERASED_NO_PREFIX = "ERASED-"
#: what each kind of open record becomes
OPEN_KINDS = ("coupons", "appointments", "complaints", "touches", "invitations")


def _stored(text: str) -> str:
    """Words stored in the database (the placeholder name, a complaint's closing note): in the site's language,
    whoever's request wrote them."""
    with translation.override(settings.LANGUAGE_CODE):
        return gettext(text)


#: the words stored in place of what was erased (translated when written: ``_stored``)
ERASED_NAME = gettext_noop("Erased customer")
ERASED_TEXT = gettext_noop("[erased]")
COMPLAINT_CLOSING_NOTE = gettext_noop("Closed without an answer: the customer's personal data was erased.")
COUPON_VOID_REASON = gettext_noop("The customer's personal data was erased.")


def erased_name() -> str:
    return _stored(ERASED_NAME)


def erased_text() -> str:
    return _stored(ERASED_TEXT)


def complaint_closing_note() -> str:
    return _stored(COMPLAINT_CLOSING_NOTE)


def coupon_void_reason() -> str:
    return _stored(COUPON_VOID_REASON)


def open_records(customer_ids) -> dict:
    """The querysets of what is still open for ``customer_ids``: open coupons, booked appointments, open
    complaints, pending touches, open invitations (the erasure's confirmation step shows them)."""
    return {
        "coupons": Coupon.objects.filter(customer_id__in=customer_ids, status=Coupon.Status.ISSUED),
        "appointments": Appointment.objects.filter(customer_id__in=customer_ids, status=Appointment.Status.BOOKED),
        "complaints": Complaint.objects.filter(customer_id__in=customer_ids, status__in=Complaint.OPEN_STATES),
        "touches": Touch.objects.filter(customer_id__in=customer_ids, status__in=Touch.PENDING),
        "invitations": Invitation.objects.filter(customer_id__in=customer_ids, status__in=Invitation.OPEN),
    }


def _identity(id_field: str) -> dict:
    """The customer columns as anonymised (on the customer table, or its history's with ``id_field``)."""
    return {
        "name": erased_name(),
        "customer_no": Concat(Value(ERASED_NO_PREFIX), Cast(id_field, CharField()), output_field=CharField()),
        "phone": None,
        "phone_hash": "",
        "phone_last4": "",
        "email": "",
        "wechat_openid": "",
        "birthday": None,
        "gender": "",
        "city": "",
        "notes": "",
    }


def anonymise(*, customer_ids, now=None) -> dict[str, list[int]]:
    """Anonymise the customers of ``customer_ids`` (a list of ids, of one dealership, not erased yet), close
    what was open for them, scrub their free text; returns the ids closed, by kind (``OPEN_KINDS``).

    Runs inside the caller's transaction (both callers are ``@transaction.atomic`` and lock the customers
    first). A fixed number of statements, whatever the number of customers."""
    now = now or timezone.now()
    ids = list(customer_ids)
    if not ids:
        return {kind: [] for kind in OPEN_KINDS}
    # What is open, read before it is closed (the access event names it).
    closed = {kind: list(qs.order_by("pk").values_list("pk", flat=True)) for kind, qs in open_records(ids).items()}

    # Close what was open.
    Coupon.objects.filter(pk__in=closed["coupons"]).update(
        status=Coupon.Status.VOID, voided_at=now, void_reason=coupon_void_reason()[:200]
    )
    Appointment.objects.filter(pk__in=closed["appointments"]).update(
        status=Appointment.Status.CANCELLED, updated_at=now
    )
    Complaint.objects.filter(pk__in=closed["complaints"]).update(
        status=Complaint.Status.CLOSED, closed_at=now, resolution=complaint_closing_note()
    )
    cancel_pending(Touch.objects.filter(pk__in=closed["touches"]), reason="customer_erased", now=now)
    Invitation.objects.filter(pk__in=closed["invitations"]).update(
        status=Invitation.Status.UNREACHED, next_call_at=None
    )

    # Scrub the free text tied to them.
    Message.objects.filter(customer_id__in=ids).update(recipient="", subject="", body="", error_text="", updated_at=now)
    Touch.objects.filter(customer_id__in=ids).update(notes="", error_text="")
    TouchAttempt.objects.filter(touch__customer_id__in=ids).exclude(note="").update(note="")
    CallAttempt.objects.filter(invitation__customer_id__in=ids).exclude(note="").update(note="")
    Survey.objects.filter(customer_id__in=ids).exclude(comment="").update(comment="")
    ConsentEvent.objects.filter(customer_id__in=ids).exclude(note="").update(note="")
    Appointment.objects.filter(customer_id__in=ids).exclude(note="").update(note="")
    Appointment.history.model.objects.filter(customer_id__in=ids).exclude(note="").update(note="")
    text = erased_text()
    for model in (Complaint, Complaint.history.model):
        complaints = model.objects.filter(customer_id__in=ids)
        complaints.update(summary=text)
        complaints.exclude(Q(resolution="") | Q(resolution=complaint_closing_note())).update(resolution=text)

    # The identity, on the record and in its history.
    Customer.history.model.objects.filter(id__in=ids).update(**_identity("id"))
    Customer.objects.filter(pk__in=ids).update(**_identity("id"), do_not_contact=True, erased_at=now, updated_at=now)
    return closed
