"""Two records of one person merged into one (issue 13, point 6): ``customers_merge``.

Everything that points at the merged customer moves to the survivor in one transaction, then the merged row is
deleted. Every relation to ``Customer`` (``Customer._meta.related_objects``) has an entry in ``RULES``
saying what happens to it; a relation added later without an entry is still moved (a plain re-point), and
``tests/privacy/test_merge.py`` fails until someone writes down its rule here.

Rules where a unique constraint would clash (documented per relation, ``RULES``):

* ``campaigns.Invitation`` (one per campaign and customer): when both were invited to the same campaign, the
  invitation nothing happened to yet (still "to call", no attempt, no call, no appointment, coupon or touch)
  is dropped and the other one kept on the survivor; when both have a history, the merge is refused (409,
  ``merge_invitation_clash``) naming the campaigns: close one of the two first.
* ``followups.Touch`` (one birthday care or wake-up per customer and occasion): the same, between the two
  touches of the same kind and occasion: the one never carried out (planned, skipped, cancelled or expired,
  no attempt, nothing sent) is dropped; both carried out: refused (409, ``merge_touch_clash``).
* ``segmentation.CustomerTag`` (one per customer and tag): the survivor's tag is kept, the merged one's same
  tag dropped (the same fact twice).
* ``segmentation.CustomerSegment`` (derived results, one current per customer): the survivor's results are
  kept; the merged customer's results of runs the survivor also has a result for are dropped (the next run
  computes the survivor from all the visits, the merged ones included); their other results (runs before
  the survivor was on file) move, so a past run still counts them.

The survivor keeps its own name, number and phone number (a different number of the merged customer is not
copied anywhere: it would leave the encrypted column). The survivor's empty personal fields are filled from the
merged customer (``FILLED_FIELDS``); their loyalty
points are added up; a do-not-contact wish or an SMS opt-out of either holds for the survivor; marketing
consent follows the newer of the two customers' latest consent events (each customer's flag already follows
their own newest event: ``customers.services.consent_record``), and the consent history of both is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer
from customers.services import customers_flag_duplicate_phones
from customers.signals import CONSENT_WITHDRAWN, DO_NOT_CONTACT, SMS_OPT_OUT, send_rule_change
from dealercrm.core import access_log
from dealercrm.core.audit import audited
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.models import AccessEvent

#: Lock both customers' rows at the start of a merge (in id order). Only the concurrency test's negative
#: control turns it off, to show the race the locks prevent.
LOCK_ROWS = True

#: the survivor's personal fields that are filled from the merged customer when the survivor's is empty
FILLED_FIELDS = ["gender", "birthday", "city", "email", "wechat_openid", "member_tier", "notes"]


@dataclass(frozen=True)
class Rule:
    """What a merge does with one relation to Customer: ``move`` re-points the rows (after ``resolve`` drops
    or refuses what would clash)."""

    label: str  # "app.Model.field"
    what: object  # what the rows are, for people (the confirmation page)
    resolve: object = None  # (survivor, merged) -> {label: dropped}; may raise StateConflict


def _pause(survivor: Customer, merged: Customer) -> None:
    """Called once both customers are read (and locked): the concurrency test replaces it to hold the merge
    there while another thread edits a customer."""


# --- Clashes --------------------------------------------------------------------------------------------------


def _invitation_untouched():
    from campaigns.models import CallAttempt, Coupon, Invitation
    from followups.models import Touch

    return (
        Q(status=Invitation.Status.PENDING, attempts=0, last_called_at__isnull=True, appointment__isnull=True)
        & ~Exists(CallAttempt.objects.filter(invitation=OuterRef("pk")))
        & ~Exists(Coupon.objects.filter(invitation=OuterRef("pk")))
        & ~Exists(Touch.objects.filter(invitation=OuterRef("pk")))
    )


def _touch_untouched():
    from followups.models import Message, Touch, TouchAttempt

    return (
        Q(
            status__in=[Touch.Status.PLANNED, Touch.Status.SKIPPED, Touch.Status.CANCELLED, Touch.Status.EXPIRED],
            attempts=0,
            sent_at__isnull=True,
            completed_at__isnull=True,
        )
        & ~Exists(Message.objects.filter(touch=OuterRef("pk")))
        & ~Exists(TouchAttempt.objects.filter(touch=OuterRef("pk")))
    )


def _resolve_pairs(*, model, survivor, merged, key_fields, scope: Q, untouched: Q, refusal) -> int:
    """Between each row of ``merged`` and the survivor's row with the same ``key_fields`` (within ``scope``):
    drop the one nothing happened to, the merged one first; both with a history: refuse (``refusal``)."""
    rows = model._base_manager.filter(scope)
    theirs = rows.filter(customer=merged)
    keys = {tuple(row[f] for f in key_fields): row["pk"] for row in theirs.values("pk", *key_fields)}
    if not keys:
        return 0
    ours = {
        tuple(row[f] for f in key_fields): row["pk"]
        for row in rows.filter(customer=survivor).values("pk", *key_fields)
        if tuple(row[f] for f in key_fields) in keys
    }
    if not ours:
        return 0
    pairs = [(keys[key], pk) for key, pk in ours.items()]
    quiet = set(
        model._base_manager.filter(pk__in=[pk for pair in pairs for pk in pair])
        .filter(untouched)
        .values_list("pk", flat=True)
    )
    drop, stuck = [], []
    for their_pk, our_pk in pairs:
        if their_pk in quiet:
            drop.append(their_pk)
        elif our_pk in quiet:
            drop.append(our_pk)
        else:
            stuck.append(their_pk)
    if stuck:
        raise refusal(model._base_manager.filter(pk__in=stuck))
    model._base_manager.filter(pk__in=drop).delete()
    return len(drop)


def _resolve_invitations(survivor, merged) -> int:
    from campaigns.models import Invitation

    def refusal(rows):
        names = ", ".join(sorted({str(row.campaign) for row in rows.select_related("campaign")}))
        return StateConflict(
            _(
                "Both customers are on the invitation list of %(campaigns)s and both invitations have been worked. "
                "Close one of them before merging."
            )
            % {"campaigns": names},
            code="merge_invitation_clash",
        )

    return _resolve_pairs(
        model=Invitation,
        survivor=survivor,
        merged=merged,
        key_fields=["campaign_id"],
        scope=Q(),
        untouched=_invitation_untouched(),
        refusal=refusal,
    )


def _resolve_touches(survivor, merged) -> int:
    from followups.models import Touch

    def refusal(rows):
        names = ", ".join(sorted({f"{row.get_kind_display()} {row.occasion}" for row in rows}))
        return StateConflict(
            _("Both customers already had %(touches)s carried out; one customer cannot keep both.")
            % {"touches": names},
            code="merge_touch_clash",
        )

    return _resolve_pairs(
        model=Touch,
        survivor=survivor,
        merged=merged,
        key_fields=["kind", "occasion"],
        scope=Q(kind__in=[Touch.Kind.BIRTHDAY, Touch.Kind.WAKE_UP]),
        untouched=_touch_untouched(),
        refusal=refusal,
    )


def _resolve_tags(survivor, merged) -> int:
    from segmentation.models import CustomerTag

    same = CustomerTag.objects.filter(customer=survivor, tag=OuterRef("tag"))
    dropped, _rows = CustomerTag.objects.filter(customer=merged).filter(Exists(same)).delete()
    return dropped


def _resolve_segments(survivor, merged) -> int:
    """Drop the merged customer's results that overlap (in runs) one of the survivor's: run intervals are
    ``[valid_from, valid_to)``, open while ``valid_to`` is empty."""
    from segmentation.models import CustomerSegment

    ours = CustomerSegment.objects.filter(customer=survivor)
    reaches_past_start = Q(valid_to__isnull=True) | Q(valid_to_id__gt=OuterRef("valid_from_id"))
    open_overlap = Exists(ours.filter(reaches_past_start))
    closed_overlap = Exists(ours.filter(reaches_past_start, valid_from_id__lt=OuterRef("valid_to_id")))
    theirs = CustomerSegment.objects.filter(customer=merged)
    dropped = theirs.filter(valid_to__isnull=True).filter(open_overlap).delete()[0]
    dropped += theirs.filter(valid_to__isnull=False).filter(closed_overlap).delete()[0]
    return dropped


RULES: dict[str, Rule] = {
    rule.label: rule
    for rule in [
        Rule("customers.ConsentEvent.customer", gettext_lazy("consent events")),
        Rule("customers.Vehicle.owner", gettext_lazy("vehicles")),
        Rule("customers.VehicleOwnership.customer", gettext_lazy("ownership history")),
        Rule("customers.ServiceVisit.customer", gettext_lazy("visits")),
        Rule("customers.Appointment.customer", gettext_lazy("appointments")),
        Rule("segmentation.CustomerSegment.customer", gettext_lazy("segment results"), _resolve_segments),
        Rule("segmentation.CustomerTag.customer", gettext_lazy("tags"), _resolve_tags),
        Rule("campaigns.Invitation.customer", gettext_lazy("invitations"), _resolve_invitations),
        Rule("campaigns.Coupon.customer", gettext_lazy("coupons")),
        Rule("followups.Touch.customer", gettext_lazy("follow-ups"), _resolve_touches),
        Rule("followups.Message.customer", gettext_lazy("messages")),
        Rule("followups.Survey.customer", gettext_lazy("surveys")),
        Rule("followups.Complaint.customer", gettext_lazy("complaints")),
        Rule("followups.WeChatSubscription.customer", gettext_lazy("WeChat subscriptions")),
    ]
}


def relations():
    """Every relation to Customer, as (label, model, field name)."""
    for rel in Customer._meta.related_objects:
        model = rel.related_model
        yield f"{model._meta.label}.{rel.field.name}", model, rel.field.name


# --- Checks and preview ---------------------------------------------------------------------------------------


def merge_check(*, survivor: Customer, merged: Customer) -> None:
    """Refuse what cannot be merged: a customer with itself, across dealerships, an erased customer."""
    if survivor.pk == merged.pk:
        raise ApplicationError(_("A customer cannot be merged with themselves."), code="merge_same_customer")
    if survivor.dealership_id != merged.dealership_id:
        raise ApplicationError(
            _("These customers belong to different dealerships and cannot be merged."),
            code="merge_across_dealerships",
        )
    for customer in (survivor, merged):
        if customer.erased_at is not None:
            raise StateConflict(
                _("Customer %(no)s has been erased and cannot be merged.") % {"no": customer.customer_no},
                code="merge_erased_customer",
            )


def merge_preview(*, merged: Customer) -> list[tuple[str, str, int]]:
    """What a merge would move away from ``merged``: (label, what, how many), in one query."""
    from django.db.models import Count, IntegerField, Subquery
    from django.db.models.functions import Coalesce

    annotations = {}
    for index, (_label, model, field) in enumerate(relations()):
        counted = (
            model._base_manager.filter(**{field: OuterRef("pk")})
            .order_by()
            .values(field)
            .annotate(n=Count("pk"))
            .values("n")
        )
        annotations[f"n{index}"] = Coalesce(Subquery(counted, output_field=IntegerField()), 0)
    counts = Customer._base_manager.filter(pk=merged.pk).annotate(**annotations).values(*annotations).get()
    return [
        (label, str(RULES[label].what) if label in RULES else model._meta.verbose_name_plural, counts[f"n{index}"])
        for index, (label, model, _field) in enumerate(relations())
    ]


# --- The merge ------------------------------------------------------------------------------------------------


def _read(pks: list[int]) -> dict[int, Customer]:
    qs = Customer.objects.filter(pk__in=pks).order_by("pk")
    if LOCK_ROWS:
        qs = qs.select_for_update()
    return {customer.pk: customer for customer in qs}


@audited
@transaction.atomic
def customers_merge(*, survivor: Customer, merged: Customer, acting_user=None, request=None) -> Customer:
    """Merge ``merged`` into ``survivor`` (same dealership): everything pointing at ``merged`` moves to the
    survivor (``RULES``), the survivor's empty personal fields are filled (``FILLED_FIELDS``), ``merged`` is
    deleted; one access event (kind merge) records what moved. Returns the survivor, read again.

    Both rows are locked (in id order, so that two merges never deadlock) before anything is read: an edit
    of either customer (``customers.services.customer_update`` locks the row) waits for the merge; an edit
    of the merged customer then finds it gone."""
    if survivor.pk == merged.pk:
        merge_check(survivor=survivor, merged=merged)
    rows = _read([survivor.pk, merged.pk])
    if survivor.pk not in rows or merged.pk not in rows:
        raise StateConflict(
            _("One of the customers no longer exists (merged or deleted meanwhile)."), code="merge_customer_gone"
        )
    survivor, merged = rows[survivor.pk], rows[merged.pk]
    merge_check(survivor=survivor, merged=merged)
    _pause(survivor, merged)

    moved: dict[str, int] = {}
    dropped: dict[str, int] = {}
    for label, model, field in relations():
        rule = RULES.get(label)
        if rule is not None and rule.resolve is not None:
            gone = rule.resolve(survivor, merged)
            if gone:
                dropped[label] = gone
        try:
            with transaction.atomic():
                count = model._base_manager.filter(**{field: merged}).update(**{field: survivor})
        except IntegrityError as exc:  # a relation added later whose constraint clashes: no rule yet
            raise StateConflict(
                _("These customers cannot be merged yet: their %(what)s clash.")
                % {"what": model._meta.verbose_name_plural},
                code="merge_clash",
            ) from exc
        if count:
            moved[label] = count

    filled, rules = _absorb(survivor, merged)
    survivor.save()
    for rule in rules:  # pending touches stop at once, as a consent or flag change at the counter stops them
        send_rule_change(survivor, rule)
    merged_id, merged_no = merged.pk, merged.customer_no
    merged.delete()
    customers_flag_duplicate_phones(dealership=survivor.dealership)
    access_log.record(
        AccessEvent.Kind.MERGE,
        user=acting_user,
        dealership=survivor.dealership,
        what=_("Customer %(merged)s merged into %(survivor)s")
        % {"merged": merged_no, "survivor": survivor.customer_no},
        customers=2,
        customer=survivor,
        request=request,
        details={
            "survivor": {"id": survivor.pk, "customer_no": survivor.customer_no},
            "merged": {"id": merged_id, "customer_no": merged_no},
            "moved": moved,
            "dropped": dropped,
            "filled": filled,
        },
    )
    survivor.refresh_from_db()
    return survivor


def _absorb(survivor: Customer, merged: Customer) -> tuple[list[str], list[str]]:
    """Fill the survivor from the merged customer (module docstring). Returns the fields filled and the
    contact rules that newly hold for the survivor (``customers.signals``)."""
    filled = []
    for field in FILLED_FIELDS:
        if getattr(survivor, field) in ("", None) and getattr(merged, field) not in ("", None):
            setattr(survivor, field, getattr(merged, field))
            filled.append(field)
    survivor.points += merged.points
    rules = []
    if merged.do_not_contact and not survivor.do_not_contact:
        survivor.do_not_contact = True
        filled.append("do_not_contact")
        rules.append(DO_NOT_CONTACT)
    if merged.sms_opt_out and not survivor.sms_opt_out:
        survivor.sms_opt_out = True
        filled.append("sms_opt_out")
        rules.append(SMS_OPT_OUT)
    if merged.consent_changed_at is not None and (
        survivor.consent_changed_at is None or merged.consent_changed_at > survivor.consent_changed_at
    ):
        if survivor.marketing_consent and not merged.marketing_consent:
            rules.append(CONSENT_WITHDRAWN)
        survivor.marketing_consent = merged.marketing_consent
        survivor.consent_changed_at = merged.consent_changed_at
        survivor.consent_channel = merged.consent_channel
        filled.append("marketing_consent")
    return filled, rules
