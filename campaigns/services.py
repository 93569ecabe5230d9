"""Every write of campaigns: campaigns and their groups, the invitation list, calls, coupons, compliance terms."""

from __future__ import annotations

import secrets
from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import contact
from customers import services as customer_services
from customers.contact import MARKETING
from customers.models import Appointment, Customer, ServiceVisit, Vehicle
from customers.signals import WRONG_NUMBER, send_rule_change
from dealercrm.core.audit import audited
from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.models import Dealership, User
from dealercrm.core.roles import PERMISSIONS

from . import compliance, selectors
from .models import (
    CallAttempt,
    Campaign,
    ComplianceTerm,
    Coupon,
    CouponTemplate,
    Invitation,
    TargetGroup,
)
from .targeting import matching

#: invitations of a target group whose message replaces the call (``campaigns.invites``): given to no agent
MESSAGE_ONLY = {"target_group__invite_channel__gt": "", "target_group__call_after_message_days__isnull": True}
#: a call not answered (or busy) comes back to the agent after this long
RETRY_AFTER = timedelta(hours=2)
#: coupon codes: unguessable, and read out over the phone without look-alikes (no 0/O, 1/I/L, 2/Z, 5/S, 8/B)
CODE_ALPHABET = "34679ACDEFGHJKMNPQRTUVWXY"
CODE_LENGTH = 12


def _user(acting_user):
    return acting_user if getattr(acting_user, "pk", None) else None


def _full_clean(instance, exclude=None):
    try:
        instance.full_clean(exclude=exclude)
    except ValidationError as exc:
        raise ApplicationError(
            _messages(exc), code=_first_code(exc), extra={"fields": getattr(exc, "message_dict", {})}
        ) from exc


def _first_code(exc: ValidationError) -> str:
    """The code of the first of a model's errors (e.g. ``invalid_filters``), or ``invalid``."""
    errors = [e for errors in exc.error_dict.values() for e in errors] if hasattr(exc, "error_dict") else []
    return next((e.code for e in errors or exc.error_list if e.code and e.code != "invalid"), "invalid")


def _messages(exc: ValidationError) -> str:
    if hasattr(exc, "message_dict"):
        return " ".join(f"{m}" for messages in exc.message_dict.values() for m in messages)
    return " ".join(exc.messages)


def _refuse_unknown(names, known) -> None:
    unknown = set(names) - set(known)
    if unknown:
        raise ApplicationError(
            _("Unknown field: %(names)s.") % {"names": ", ".join(sorted(unknown))}, code="unknown_field"
        )


def _locked(campaign: Campaign) -> Campaign:
    return Campaign.objects.select_for_update().get(pk=campaign.pk)


# --- campaigns --------------------------------------------------------------------------------------------

CAMPAIGN_FIELDS = (
    "code",
    "name",
    "kind",
    "description",
    "starts_on",
    "ends_on",
    "budget",
    "cost",
    "max_attempts",
    "reinvite_after_days",
)


@audited
@transaction.atomic
def campaign_create(*, dealership: Dealership, acting_user=None, **fields) -> Campaign:
    _refuse_unknown(fields, CAMPAIGN_FIELDS)
    fields["code"] = (fields.get("code") or "").strip().upper()
    campaign = Campaign(dealership=dealership, created_by=_user(acting_user), **fields)
    _full_clean(campaign, exclude=["dealership", "created_by"])
    return _save_campaign(campaign)


def _save_campaign(campaign: Campaign) -> Campaign:
    try:
        with transaction.atomic():
            campaign.save()
    except IntegrityError as exc:
        raise ApplicationError(
            _("Campaign code %(code)s is already used in this dealership.") % {"code": campaign.code},
            code="campaign_code_taken",
        ) from exc
    return campaign


@audited
@transaction.atomic
def campaign_update(*, campaign: Campaign, changes: dict, acting_user=None) -> Campaign:
    """Change a campaign. A draft or scheduled campaign may change in full; a running one only its name,
    copy, last day, budget, cost and attempt cap; a finished one only its cost."""
    campaign = _locked(campaign)
    _refuse_unknown(changes, CAMPAIGN_FIELDS)
    changed = {name for name, value in changes.items() if getattr(campaign, name) != value}
    allowed = {
        Campaign.Status.RUNNING: Campaign.RUNNING_FIELDS,
        Campaign.Status.FINISHED: Campaign.FINISHED_FIELDS,
    }.get(campaign.status)
    if allowed is not None and changed - allowed:
        raise StateConflict(
            _("A %(status)s campaign cannot change its %(fields)s.")
            % {
                "status": campaign.get_status_display().lower(),
                "fields": ", ".join(str(Campaign._meta.get_field(n).verbose_name) for n in sorted(changed - allowed)),
            },
            code="campaign_not_editable",
        )
    if "code" in changes:
        changes = {**changes, "code": (changes["code"] or "").strip().upper()}
    for name, value in changes.items():
        setattr(campaign, name, value)
    if (
        campaign.status == Campaign.Status.RUNNING
        and "ends_on" in changed
        and campaign.ends_on < campaign.dealership.local_date()
    ):
        raise ApplicationError(
            _("A running campaign's last day cannot be in the past."), code="campaign_last_day_in_past"
        )
    _full_clean(campaign, exclude=["dealership", "created_by"])
    if campaign.status == Campaign.Status.SCHEDULED and changed & {"name", "description"}:
        _require_compliant(campaign)
    campaign._change_reason = "update"
    campaign = _save_campaign(campaign)
    if "max_attempts" in changed:  # a lower cap closes the invitations that have used it up
        Invitation.objects.filter(
            campaign=campaign, status__in=Invitation.OPEN, attempts__gte=campaign.max_attempts
        ).update(status=Invitation.Status.UNREACHED, next_call_at=None)
    return campaign


def _require_compliant(campaign: Campaign) -> None:
    findings = compliance.campaign_findings(campaign)
    if findings:
        raise ApplicationError(
            _("The campaign uses banned absolute expressions: %(list)s")
            % {"list": " ".join(f.message() for f in findings)},
            code="banned_expressions",
            extra={"findings": [{"phrase": f.phrase, "where": f.where, "excerpt": f.excerpt} for f in findings]},
        )


@audited
@transaction.atomic
def campaign_schedule(*, campaign: Campaign, acting_user=None) -> Campaign:
    """Draft → scheduled: it needs a target group and texts free of banned expressions (the preview shows
    beforehand whether each group matches anyone)."""
    campaign = _locked(campaign)
    if campaign.status != Campaign.Status.DRAFT:
        raise StateConflict(
            _("Only a draft can be scheduled; this campaign is %(s)s.") % _status(campaign),
            code="campaign_not_draft",
        )
    if campaign.ends_on < campaign.dealership.local_date():
        raise ApplicationError(_("The campaign's last day has passed."), code="campaign_last_day_passed")
    groups = list(campaign.target_groups.all())
    if not groups:
        raise ApplicationError(_("Add a target group first."), code="campaign_without_groups")
    _require_compliant(campaign)
    campaign.status = Campaign.Status.SCHEDULED
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


def _status(campaign):
    return {"s": campaign.get_status_display().lower()}


@audited
@transaction.atomic
def campaign_start(*, campaign: Campaign, acting_user=None, today: date | None = None) -> Campaign:
    """Scheduled → running, once its first day has come (the daily job does it on that day)."""
    campaign = _locked(campaign)
    today = today or campaign.dealership.local_date()
    if campaign.status != Campaign.Status.SCHEDULED:
        raise StateConflict(
            _("Only a scheduled campaign can start; this one is %(s)s.") % _status(campaign),
            code="campaign_not_scheduled",
        )
    if not campaign.in_period(today):
        raise ApplicationError(
            _("The campaign runs from %(start)s to %(end)s: it cannot start on %(today)s.")
            % {"start": campaign.starts_on, "end": campaign.ends_on, "today": today},
            code="campaign_outside_period",
        )
    _require_compliant(campaign)
    campaign.status = Campaign.Status.RUNNING
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


@audited
@transaction.atomic
def campaign_finish(*, campaign: Campaign, acting_user=None) -> Campaign:
    campaign = _locked(campaign)
    if campaign.status not in (Campaign.Status.RUNNING, Campaign.Status.SCHEDULED):
        raise StateConflict(
            _("Only a scheduled or running campaign can finish; this one is %(s)s.") % _status(campaign),
            code="campaign_not_running",
        )
    campaign.status = Campaign.Status.FINISHED
    campaign.save(update_fields=["status", "updated_at"])
    return campaign


def campaigns_advance(*, today: date | None = None) -> dict[str, int]:
    """The daily job: start scheduled campaigns whose first day has come, finish those whose last day has
    passed. A campaign that fails its compliance check stays scheduled (its page says why)."""
    started = finished = 0
    for campaign in Campaign.objects.filter(status=Campaign.Status.SCHEDULED).select_related("dealership"):
        day = today or campaign.dealership.local_date()
        try:
            if campaign.in_period(day):
                campaign_start(campaign=campaign, today=day)
                started += 1
            elif campaign.ends_on < day:
                campaign_finish(campaign=campaign)
                finished += 1
        except ApplicationError:  # not compliant, or moved on meanwhile (a run of the job beside this one)
            continue
    for campaign in Campaign.objects.filter(status=Campaign.Status.RUNNING).select_related("dealership"):
        if campaign.ends_on < (today or campaign.dealership.local_date()):
            try:
                campaign_finish(campaign=campaign)
                finished += 1
            except ApplicationError:
                continue
    return {"started": started, "finished": finished}


# --- target groups ----------------------------------------------------------------------------------------

GROUP_FIELDS = (
    "name",
    "position",
    "filters",
    "goal_rate",
    "script",
    "ab_test",
    "script_b",
    "holdout_share",
    "invite_channel",
    "call_after_message_days",
)


def _editable_groups(campaign: Campaign) -> None:
    if campaign.status != Campaign.Status.DRAFT:
        raise StateConflict(
            _("Target groups change only while the campaign is a draft; this one is %(s)s.") % _status(campaign),
            code="campaign_not_draft",
        )


def _set_offers(group: TargetGroup, offers, offers_b) -> None:
    for field, templates in (("offers", offers), ("offers_b", offers_b)):
        if templates is None:
            continue
        templates = list(templates)
        foreign = [t for t in templates if t.dealership_id != group.campaign.dealership_id]
        if foreign:
            raise ApplicationError(
                _("A coupon template of another dealership cannot be offered."), code="other_dealership"
            )
        getattr(group, field).set(templates)


@audited
@transaction.atomic
def target_group_create(*, campaign: Campaign, offers=None, offers_b=None, acting_user=None, **fields) -> TargetGroup:
    campaign = _locked(campaign)
    _editable_groups(campaign)
    _refuse_unknown(fields, GROUP_FIELDS)
    if "position" not in fields:
        fields["position"] = campaign.target_groups.count() + 1
    group = TargetGroup(campaign=campaign, **fields)
    _full_clean(group, exclude=["campaign"])
    _check_variants(group)
    _check_invite(group)
    group.save()
    _set_offers(group, offers, offers_b)
    return group


def _check_invite(group: TargetGroup) -> None:
    """A call after the message needs the message: without ``invite_channel`` the group is called as usual."""
    if group.call_after_message_days is not None and not group.invite_channel:
        message = _("Choose the channel of the message that the call follows, or leave the days empty.")
        raise ApplicationError(message, code="invite_channel_missing", fields={"call_after_message_days": [message]})


def _check_variants(group: TargetGroup) -> None:
    if group.ab_test and not group.script_b.strip():
        raise ApplicationError(
            _("An A/B test needs the variant B script (it may differ only in its offer)."), code="variant_b_missing"
        )


@audited
@transaction.atomic
def target_group_update(
    *, group: TargetGroup, changes: dict, offers=None, offers_b=None, acting_user=None
) -> TargetGroup:
    _editable_groups(_locked(group.campaign))
    _refuse_unknown(changes, GROUP_FIELDS)
    for name, value in changes.items():
        setattr(group, name, value)
    _full_clean(group, exclude=["campaign"])
    _check_variants(group)
    _check_invite(group)
    group.save()
    _set_offers(group, offers, offers_b)
    return group


@audited
@transaction.atomic
def target_group_delete(*, group: TargetGroup, acting_user=None) -> None:
    _editable_groups(_locked(group.campaign))
    group.delete()


# --- the invitation list ----------------------------------------------------------------------------------


def agents_of(dealership: Dealership):
    """Staff of the dealership who may work calls."""
    return User.objects.filter(
        memberships__dealership=dealership, is_active=True, role__in=PERMISSIONS["calls.work"]
    ).order_by("username")


def _weights(dealership: Dealership, weights) -> list[tuple[int, int]]:
    """``weights`` ({agent or id: weight} or a list of agents, weight 1 each) as checked (agent id, weight)."""
    if weights is None:
        weights = list(agents_of(dealership))
    if not isinstance(weights, dict):
        weights = dict.fromkeys(weights, 1)
    pairs = [(getattr(agent, "pk", agent), int(weight)) for agent, weight in weights.items()]
    if not pairs:
        raise ApplicationError(_("Choose at least one agent."), code="no_agent")
    if any(weight < 1 for _pk, weight in pairs):
        raise ApplicationError(_("A weight is a whole number of at least 1."), code="invalid_weight")
    allowed = set(agents_of(dealership).values_list("pk", flat=True))
    wrong = [pk for pk, _weight in pairs if pk not in allowed]
    if wrong:
        raise ApplicationError(
            _("Not an agent of this dealership: %(ids)s.") % {"ids": ", ".join(map(str, sorted(wrong)))},
            code="not_an_agent",
        )
    return sorted(pairs)


def _shares(n: int, weights: list[tuple[int, int]], load: dict[int, int]) -> list[tuple[int, int]]:
    """``n`` split by weight (largest remainder; among equal remainders the leftovers go to the least loaded,
    then the lowest id), as (agent id, count). In whole numbers: floats would tell equal remainders apart."""
    total = sum(w for _pk, w in weights)
    quotients = {pk: divmod(n * w, total) for pk, w in weights}  # n × w / total = q + r / total
    counts = {pk: q for pk, (q, _r) in quotients.items()}
    left = n - sum(counts.values())
    order = sorted(quotients, key=lambda pk: (-quotients[pk][1], load.get(pk, 0), pk))
    for pk in order[:left]:
        counts[pk] += 1
    return [(pk, counts[pk]) for pk, _weight in weights]


def _assign_unassigned(campaign: Campaign, weights: list[tuple[int, int]]) -> int:
    """Give the campaign's unassigned open invitations to ``weights``' agents, group by group, in contiguous
    ranges of ids: one UPDATE per group and agent, whatever the number of invitations."""
    open_unassigned = Invitation.objects.filter(
        campaign=campaign, agent__isnull=True, holdout=False, status__in=Invitation.OPEN
    ).exclude(**MESSAGE_ONLY)  # a message replaces their call (campaigns.invites): no agent calls them
    load = dict(
        Invitation.objects.filter(campaign=campaign, agent_id__in=[pk for pk, _weight in weights])
        .values_list("agent_id")
        .annotate(n=Count("id"))
        .values_list("agent_id", "n")
    )
    assigned = 0
    for group_id in campaign.target_groups.order_by("position", "id").values_list("pk", flat=True):
        ids = list(open_unassigned.filter(target_group_id=group_id).order_by("id").values_list("id", flat=True))
        start = 0
        for agent_id, count in _shares(len(ids), weights, load):
            if count == 0:
                continue
            chunk = ids[start : start + count]
            start += count
            assigned += open_unassigned.filter(target_group_id=group_id, id__gte=chunk[0], id__lte=chunk[-1]).update(
                agent_id=agent_id
            )
            load[agent_id] = load.get(agent_id, 0) + count
    return assigned


INSERT_INVITATIONS = """
INSERT INTO campaigns_invitation (campaign_id, target_group_id, customer_id, vehicle_id, variant, holdout,
                                  round, status, attempts, created_at)
SELECT %s, %s, m.customer_id, m.vehicle_id,
       CASE WHEN %s AND m.position > m.holdouts AND m.position %% 2 = 0 THEN 'B' ELSE 'A' END,
       m.position <= m.holdouts, 1, 'pending', 0, %s
FROM (SELECT r.customer_id, r.vehicle_id, ROW_NUMBER() OVER (ORDER BY random()) AS position,
             (COUNT(*) OVER () * %s + {half}) / {unit} AS holdouts
      FROM ({rows}) AS r) AS m
"""
#: the holdout share in ten-thousandths (``TargetGroup.holdout_share`` has four decimals), so that the number of
#: holdouts, round-half-up(n × share), is integer arithmetic on every database (a float 50 × 0.29 is 14.499…)
SHARE_UNIT = 10_000


@audited
@transaction.atomic
def invitation_list_generate(*, campaign: Campaign, agents=None, acting_user=None) -> dict:
    """Freeze who is invited: every eligible customer a target group matches and who is not on the list yet,
    in the first group that matches, with the vehicle they matched through; a random holdout share of each
    group is kept aside and, in an A/B group, the rest split at random between the variants. The new
    invitations are then given to ``agents`` ({agent: weight}, or a list for even shares; default: every
    agent of the dealership). Running it again adds only customers who match now and did not before.

    Returns {"added": n, "per_group": {group id: n}, "holdout": {group id: n}, "assigned": n}: ``added`` and
    ``per_group`` count the holdout too, ``holdout`` how many of them were kept back (never called).
    One INSERT … SELECT per group.
    """
    campaign = _locked(campaign)
    if campaign.status not in (Campaign.Status.SCHEDULED, Campaign.Status.RUNNING):
        raise StateConflict(
            _("The list is generated for a scheduled or running campaign; this one is %(s)s.") % _status(campaign),
            code="campaign_not_scheduled_or_running",
        )
    weights = _weights(campaign.dealership, agents)
    created_at = connection.ops.adapt_datetimefield_value(timezone.now())  # a raw query: as the ORM stores it
    per_group, held_out = {}, {}
    with connection.cursor() as cursor:
        for group in campaign.target_groups.order_by("position", "id"):
            rows, params = matching(group).query.sql_with_params()
            holdout = int((group.holdout_share or 0) * SHARE_UNIT)
            cursor.execute(
                INSERT_INVITATIONS.format(rows=rows, half=SHARE_UNIT // 2, unit=SHARE_UNIT),
                [campaign.pk, group.pk, bool(group.ab_test), created_at, holdout, *params],
            )
            per_group[group.pk] = cursor.rowcount
            held_out[group.pk] = (cursor.rowcount * holdout + SHARE_UNIT // 2) // SHARE_UNIT  # as the SQL counts
    added = sum(per_group.values())
    from .invites import invitation_touches_plan  # it books through this module

    messages = invitation_touches_plan(campaign=campaign)
    assigned = _assign_unassigned(campaign, weights) if added else 0
    # Set-based, so no history row per invitation: the campaign's history records who generated the list.
    campaign._change_reason = f"invitation list: +{added}"[:100]
    campaign.save(update_fields=["updated_at"])
    return {"added": added, "per_group": per_group, "holdout": held_out, "assigned": assigned, "messages": messages}


@audited
@transaction.atomic
def invitations_reassign(*, campaign: Campaign, from_agent, agents=None, acting_user=None) -> int:
    """Move ``from_agent``'s open invitations (away, say) to ``agents`` ({agent: weight} or a list), evenly
    by weight. Returns how many moved."""
    campaign = _locked(campaign)
    if campaign.status == Campaign.Status.FINISHED:
        raise StateConflict(_("The campaign is finished."), code="campaign_finished")
    from_id = getattr(from_agent, "pk", from_agent)
    weights = [(pk, w) for pk, w in _weights(campaign.dealership, agents) if pk != from_id]
    if not weights:
        raise ApplicationError(_("Choose at least one other agent."), code="no_agent")
    Invitation.objects.filter(campaign=campaign, agent_id=from_id, status__in=Invitation.OPEN).update(agent=None)
    return _assign_unassigned(campaign, weights)


@audited
@transaction.atomic
def invitations_assign(*, campaign: Campaign, agents=None, acting_user=None) -> int:
    """Give the campaign's unassigned open invitations to ``agents``."""
    campaign = _locked(campaign)
    if campaign.status == Campaign.Status.FINISHED:
        raise StateConflict(_("The campaign is finished."), code="campaign_finished")
    return _assign_unassigned(campaign, _weights(campaign.dealership, agents))


# --- calls ------------------------------------------------------------------------------------------------


@audited(actor="agent")
@transaction.atomic
def call_record(
    *,
    invitation: Invitation,
    agent,
    outcome: str,
    call_back_at: datetime | None = None,
    appointment_date: date | None = None,
    time_slot: str = "",
    note: str = "",
    reason: str = "",
    now: datetime | None = None,
    locked: bool = False,
) -> CallAttempt:
    """Record one call of ``agent`` to the customer of ``invitation`` and move the invitation on.

    The invitation is read again under its row lock, so that two calls recorded at the same moment (two tabs,
    a retry) are recorded one after the other, the second seeing the first; ``locked``: the caller has just
    read it so (``selectors.invitation_for_agent(for_update=True)`` in the transaction this call joins).

    No answer or busy: tried again later, until the campaign's attempt cap; wrong number: the customer's
    data-quality flag is set (``customer_wrong_number_flag``); declined: with its ``reason`` (one of
    ``CallAttempt.DeclineReason``); call back: due at ``call_back_at``; accepted: an appointment on
    ``appointment_date`` (in the campaign's period) and the group's offer as coupons.
    """
    now = now or timezone.now()
    if not locked:
        invitation = (
            Invitation.objects.select_for_update(of=("self",))
            .select_related("campaign__dealership", "customer")
            .get(pk=invitation.pk)
        )
    campaign = invitation.campaign
    if outcome not in CallAttempt.Outcome.values:
        raise ApplicationError(_("Unknown outcome: %(o)s.") % {"o": outcome}, code="unknown_outcome")
    reason = decline_reason_check(outcome=outcome, reason=reason, declined=CallAttempt.Outcome.DECLINED)
    if campaign.status != Campaign.Status.RUNNING:
        raise StateConflict(
            _("The campaign is %(s)s: calls are recorded only while it runs.") % _status(campaign),
            code="campaign_not_running",
        )
    if invitation.agent_id != getattr(agent, "pk", None):
        raise ApplicationError(_("This customer is on another agent's list."), code="another_agents_invitation")
    if invitation.holdout:
        raise ApplicationError(_("This customer is in the holdout: they are not called."), code="holdout")
    if invitation.status == Invitation.Status.UNREACHED or (
        invitation.status in Invitation.OPEN and invitation.attempts >= campaign.max_attempts
    ):
        raise StateConflict(
            _("The %(n)d attempts of this campaign are used up.") % {"n": campaign.max_attempts},
            code="attempts_used_up",
        )
    if invitation.status not in Invitation.OPEN:
        raise StateConflict(
            _("This invitation is already closed (%(s)s).") % {"s": invitation.get_status_display().lower()},
            code="call_already_recorded",
        )
    _require_reachable(invitation.customer)
    if call_back_at is not None and timezone.is_naive(call_back_at):
        call_back_at = timezone.make_aware(call_back_at, campaign.dealership.zone)  # a time at the dealership
    Outcome = CallAttempt.Outcome
    attempt = CallAttempt(
        invitation=invitation, agent=agent, outcome=outcome, called_at=now, note=note[:200], reason=reason
    )
    invitation.attempts += 1
    invitation.last_called_at = now
    invitation.next_call_at = None
    if outcome in (Outcome.NO_ANSWER, Outcome.BUSY):
        if invitation.attempts >= campaign.max_attempts:
            invitation.status = Invitation.Status.UNREACHED
        else:
            invitation.next_call_at = now + RETRY_AFTER
    elif outcome == Outcome.WRONG_NUMBER:
        invitation.status = Invitation.Status.WRONG_NUMBER
        customer_wrong_number_flag(customer_id=invitation.customer_id)
    elif outcome == Outcome.DECLINED:
        invitation.status = Invitation.Status.DECLINED
    elif outcome == Outcome.CALL_BACK:
        if call_back_at is None or call_back_at <= now:
            raise ApplicationError(_("Give a call-back time later than now."), code="call_back_not_later")
        if campaign.dealership.local_date(call_back_at) > campaign.ends_on:
            raise ApplicationError(
                _("The call-back time is after the campaign's last day (%(d)s).") % {"d": campaign.ends_on},
                code="call_back_after_campaign",
            )
        invitation.status = Invitation.Status.CALL_BACK
        invitation.next_call_at = attempt.call_back_at = call_back_at
        invitation.attempts -= 1  # a call back agreed with the customer does not use up an attempt
    elif outcome == Outcome.ACCEPTED:
        attempt.appointment_date = appointment_date
        invitation_book(
            invitation=invitation, appointment_date=appointment_date, time_slot=time_slot, acting_user=agent, now=now
        )
    attempt.save()
    invitation.save(update_fields=["status", "attempts", "next_call_at", "last_called_at", "appointment", "round"])
    return attempt


def customer_wrong_number_flag(*, customer_id: int) -> Customer:
    """A call found the customer's number wrong: set their data-quality flag (it stops every call and text to
    the number, ``customers.contact``). Through the row, so that the customer's history names the caller's
    actor (a bare UPDATE would leave none); the caller's transaction holds the row lock. Campaign calls and
    follow-up calls (``followups.calls``) both end here."""
    customer = Customer.objects.select_for_update().get(pk=customer_id)
    if not customer.flag_wrong_number:
        customer.flag_wrong_number = True
        customer.save(update_fields=["flag_wrong_number", "updated_at"])
        send_rule_change(customer, WRONG_NUMBER)  # pending calls and texts stop at once
    return customer


def decline_reason_check(*, outcome: str, reason: str, declined: str = "declined") -> str:
    """The reason of a call's outcome: required for ``declined`` (one of ``CallAttempt.DeclineReason``), and
    given only then. Campaign calls and follow-up calls ask it alike."""
    reason = (reason or "").strip()
    if outcome != declined:
        if reason:
            message = _("A reason is given only when the customer declined.")
            raise ApplicationError(message, code="reason_not_asked", fields={"reason": [message]})
        return ""
    if not reason:
        raise ApplicationError(
            _("Choose why the customer declined."),
            code="reason_required",
            fields={"reason": [_("Choose why the customer declined.")]},
        )
    if reason not in CallAttempt.DeclineReason.values:
        raise ApplicationError(
            _("Unknown reason: %(r)s.") % {"r": reason},
            code="unknown_reason",
            fields={"reason": [_("Choose one of the reasons offered.")]},
        )
    return reason


def _require_reachable(customer: Customer, touch_class: str = MARKETING) -> None:
    """A campaign call is marketing by phone (a follow-up call is service): it stops at once when the customer
    may no longer be called for that class (``customers.contact``: its code and message say why)."""
    condition = contact.refusal(customer, touch_class, "call")
    if condition is not None:
        raise ApplicationError(str(condition.message), code=condition.code)


def second_invitations_release(*, today: date | None = None) -> int:
    """The daily job: an invitee who accepted but did not come back by ``reinvite_after_days`` after the
    booked date (and has no visit in the period) is invited a second time, and the appointment they missed,
    if nobody marked it at the counter, becomes a no-show. Returns how many are invited again."""
    released = 0
    for campaign in Campaign.objects.filter(status=Campaign.Status.RUNNING).select_related("dealership"):
        day = today or campaign.dealership.local_date()
        visited = ServiceVisit.objects.filter(
            dealership=campaign.dealership,
            customer_id=OuterRef("customer_id"),
            opened_on__gte=campaign.starts_on,
            opened_on__lte=min(day, campaign.ends_on),
        )
        due = Invitation.objects.filter(
            campaign=campaign,
            round=1,
            status=Invitation.Status.ACCEPTED,
            appointment__status__in=[Appointment.Status.BOOKED, Appointment.Status.NO_SHOW],
            appointment__date__lte=day - timedelta(days=campaign.reinvite_after_days),
        ).exclude(Exists(visited))
        with transaction.atomic():
            rows = list(due.select_for_update(of=("self",)).values_list("pk", "appointment_id"))
            released += Invitation.objects.filter(pk__in=[pk for pk, _ in rows]).update(
                round=2, status=Invitation.Status.PENDING, attempts=0, next_call_at=None
            )
            Appointment.objects.filter(pk__in=[a for _, a in rows], status=Appointment.Status.BOOKED).update(
                status=Appointment.Status.NO_SHOW, updated_at=timezone.now()
            )
    return released


# --- booking an invitee (an accepted call, or the invitation link) ------------------------------------------


def invitation_book(
    *,
    invitation: Invitation,
    appointment_date: date | None,
    time_slot: str = "",
    vehicle: Vehicle | None = None,
    acting_user=None,
    now: datetime | None = None,
) -> tuple[Appointment, list[Coupon]]:
    """Book the invitee: an appointment on ``appointment_date`` with the invitation's vehicle, the group's
    offer (for the invitee's variant) as coupons, and the invitation accepted. The one way a booking is made,
    whether an agent's call was accepted (``call_record``) or the customer booked through their invitation
    link (``campaigns.invites``): both give the same appointment and the same coupons. ``vehicle``: another
    of the customer's current vehicles than the one the invitation names (the link's page offers them).

    ``invitation`` was read under its row lock by the caller, in the transaction this joins; the caller saves
    it (``status``, ``next_call_at`` and ``appointment`` are set here). The date lies from today (or the
    campaign's first day, if later) to its last day. A coupon the customer already holds from this campaign
    is not issued twice; an offer past its validity or inactive is skipped. The invitation's pending message
    (an invitation by SMS, WeChat or email not sent yet) stops: the customer has booked."""
    now = now or timezone.now()
    campaign = invitation.campaign
    today = campaign.dealership.local_date(now)
    first = max(today, campaign.starts_on)
    if appointment_date is None or not (first <= appointment_date <= campaign.ends_on):
        bounds = {"first": first, "d": campaign.ends_on}
        if first == today:
            message = _("The appointment date must be between today and the campaign's last day (%(d)s).") % bounds
        else:
            message = (
                _("The appointment date must be between the campaign's first day (%(first)s) and its last day (%(d)s).")
                % bounds
            )
        raise ApplicationError(message, code="appointment_outside_campaign", fields={"appointment_date": [message]})
    if vehicle is not None and vehicle.owner_id != invitation.customer_id:
        message = _("Choose one of the customer's own vehicles.")
        raise ApplicationError(message, code="vehicle_of_another_customer", fields={"vehicle": [message]})
    invitation.status = Invitation.Status.ACCEPTED
    invitation.next_call_at = None
    invitation.appointment = customer_services.appointment_create(
        dealership=campaign.dealership,
        customer=invitation.customer,
        vehicle=vehicle or invitation.vehicle,
        date=appointment_date,
        time_slot=time_slot,
        source=Appointment.Source.CAMPAIGN,
        note=f"{campaign.code} {campaign.name}"[:200],
        acting_user=acting_user,
    )
    held = Coupon.objects.filter(campaign=campaign, customer_id=invitation.customer_id).values("template_id")
    current = Q(valid_until__isnull=True) | Q(valid_until__gte=today)
    usable = invitation.offer_templates().filter(current, active=True)
    coupons = [  # an offer past its validity is skipped; no second coupon of a template
        coupon_issue(template=template, customer=invitation.customer, campaign=campaign, invitation=invitation, now=now)
        for template in usable.exclude(pk__in=held).order_by("pk")
    ]
    from followups.models import Touch  # the ledger sits above campaigns: imported when used
    from followups.stops import cancel_pending

    cancel_pending(Touch.objects.filter(invitation=invitation, kind=Touch.Kind.INVITATION), reason="booked", now=now)
    return invitation.appointment, coupons


# --- coupons ----------------------------------------------------------------------------------------------


def coupon_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _expiry(template: CouponTemplate, day: date) -> date:
    last = day + timedelta(days=template.valid_days - 1)
    return min(last, template.valid_until) if template.valid_until else last


def _check_issuable(template: CouponTemplate, day: date) -> None:
    if not template.active:
        raise ApplicationError(
            _("The coupon template “%(name)s” is not active.") % {"name": template.name}, code="template_inactive"
        )
    if template.valid_until and template.valid_until < day:
        raise ApplicationError(
            _("The coupon template “%(name)s” was valid until %(d)s.")
            % {"name": template.name, "d": template.valid_until},
            code="template_expired",
        )


@audited
@transaction.atomic
def coupon_issue(
    *,
    template: CouponTemplate,
    customer: Customer,
    campaign: Campaign | None = None,
    invitation: Invitation | None = None,
    issued_visit: ServiceVisit | None = None,
    acting_user=None,
    now: datetime | None = None,
) -> Coupon:
    now = now or timezone.now()
    day = template.dealership.local_date(now)
    _check_issuable(template, day)
    if customer.dealership_id != template.dealership_id:
        raise ApplicationError(
            _("The customer and the coupon template belong to different dealerships."), code="other_dealership"
        )
    for _attempt in range(3):  # a clash of two random codes is astronomically rare, but possible
        try:
            with transaction.atomic():
                return Coupon.objects.create(
                    dealership_id=template.dealership_id,
                    template=template,
                    customer=customer,
                    campaign=campaign,
                    invitation=invitation,
                    code=coupon_code(),
                    issued_at=now,
                    issued_visit=issued_visit,
                    expires_on=_expiry(template, day),
                )
        except IntegrityError:
            continue
    raise ApplicationError(_("Could not find a free coupon code; try again."), code="coupon_code_exhausted")


@audited
@transaction.atomic
def coupons_issue_to_group(*, group: TargetGroup, template: CouponTemplate, acting_user=None) -> int:
    """Issue a coupon of ``template`` to every invitee of ``group`` (not the holdout) who has none of it
    from this campaign yet. Returns how many were issued."""
    campaign = group.campaign
    if template.dealership_id != campaign.dealership_id:
        raise ApplicationError(_("A coupon template of another dealership cannot be issued."), code="other_dealership")
    if campaign.status == Campaign.Status.FINISHED:
        raise StateConflict(_("The campaign is finished."), code="campaign_finished")
    now = timezone.now()
    day = campaign.dealership.local_date(now)
    _check_issuable(template, day)
    invitations = list(
        selectors.coupon_issue_invitations(group=group, template=template).values_list("pk", "customer_id")
    )
    expires = _expiry(template, day)
    coupons = [
        Coupon(
            dealership_id=campaign.dealership_id,
            template=template,
            customer_id=customer_id,
            campaign=campaign,
            invitation_id=invitation_id,
            code=coupon_code(),
            issued_at=now,
            expires_on=expires,
        )
        for invitation_id, customer_id in invitations
    ]
    Coupon.objects.bulk_create(coupons, batch_size=2000)
    if coupons:  # set-based: the group's history records who issued them
        group._change_reason = f"coupons issued: {len(coupons)} × {template.name}"[:100]
        group.save()
    return len(coupons)


def _lock_coupon(pk: int) -> Coupon:
    """The coupon, locked until the transaction ends: two advisors redeeming it at once take turns."""
    return Coupon.objects.select_for_update(of=("self",)).select_related("template").get(pk=pk)


class Refusal(str):
    """Why a coupon cannot be redeemed (the text), with its stable ``code``; ``conflict``: the coupon's state
    (redeemed, voided, expired) refuses it, a 409."""

    def __new__(cls, text: str, code: str, *, conflict: bool = False):
        refusal = super().__new__(cls, text)
        refusal.code, refusal.conflict = code, conflict
        return refusal

    def error(self) -> ApplicationError:
        return (StateConflict if self.conflict else ApplicationError)(str(self), code=self.code)


def redemption_refusal(coupon: Coupon, visit: ServiceVisit, today: date) -> Refusal | None:
    """Why ``coupon`` cannot be redeemed on ``visit`` (None when it can)."""
    template = coupon.template
    if coupon.dealership_id != visit.dealership_id:
        return Refusal(_("This coupon belongs to another dealership."), "other_dealership")
    zone = visit.dealership.zone
    if coupon.status == Coupon.Status.REDEEMED:
        text = _("Coupon %(code)s was already redeemed on %(when)s.") % {
            "code": coupon.code,
            "when": timezone.localtime(coupon.redeemed_at, zone).strftime("%Y-%m-%d %H:%M")
            if coupon.redeemed_at
            else "",
        }
        return Refusal(text, "coupon_already_redeemed", conflict=True)
    if coupon.status == Coupon.Status.VOID:
        return Refusal(_("Coupon %(code)s was voided.") % {"code": coupon.code}, "coupon_voided", conflict=True)
    if coupon.status == Coupon.Status.EXPIRED or coupon.expires_on < today:
        text = _("Coupon %(code)s expired on %(day)s.") % {"code": coupon.code, "day": coupon.expires_on}
        return Refusal(text, "coupon_expired", conflict=True)
    if coupon.customer_id != visit.customer_id:
        text = _("Coupon %(code)s belongs to another customer.") % {"code": coupon.code}
        return Refusal(text, "coupon_of_another_customer")
    if visit.total_amount < template.min_spend:
        text = _("This visit's total ¥%(total)s is below the coupon's minimum spend of ¥%(min)s.") % {
            "total": visit.total_amount,
            "min": template.min_spend,
        }
        return Refusal(text, "coupon_min_spend_not_met")
    if template.visit_types and visit.visit_type not in template.visit_types:
        text = _("Coupon %(code)s is not valid on a %(type)s visit.") % {
            "code": coupon.code,
            "type": visit.get_visit_type_display().lower(),
        }
        return Refusal(text, "coupon_not_for_visit_type")
    if template.next_visit_only and (
        coupon.issued_visit_id == visit.pk or visit.opened_on < timezone.localdate(coupon.issued_at, zone)
    ):
        text = _("Coupon %(code)s can be used from the customer's next visit on.") % {"code": coupon.code}
        return Refusal(text, "coupon_next_visit_only")
    return None


def coupon_visit_choices(
    *, coupon: Coupon, visits, today: date, dealership: Dealership | None = None
) -> list[ServiceVisit]:
    """The visits of ``visits`` that ``coupon`` may be redeemed on, in their order: exactly those
    ``redemption_refusal`` (the rule ``coupon_redeem`` applies) lets through, so a redemption form offers no
    visit it would refuse (a "next visit only" coupon: not the visit that issued it, nor an earlier one). No
    query: ``coupon.template`` is read with the coupon, and ``dealership`` (the coupon's) stands for the visits'."""
    dealership = dealership or coupon.dealership
    choices = []
    for visit in visits:
        if visit.dealership_id == dealership.pk and "dealership" not in visit._state.fields_cache:
            visit.dealership = dealership  # the same row: spares a query per visit
        if redemption_refusal(coupon, visit, today) is None:
            choices.append(visit)
    return choices


@audited
@transaction.atomic
def coupon_redeem(*, coupon: Coupon, visit: ServiceVisit, acting_user=None, now: datetime | None = None) -> Coupon:
    """Redeem ``coupon`` on ``visit``, at most once however many advisors try at the same moment."""
    now = now or timezone.now()
    coupon = _lock_coupon(coupon.pk)
    refusal = redemption_refusal(coupon, visit, visit.dealership.local_date(now))
    if refusal:
        raise refusal.error() if isinstance(refusal, Refusal) else ApplicationError(refusal)
    coupon.status = Coupon.Status.REDEEMED
    coupon.redeemed_at = now
    coupon.redeemed_visit = visit
    coupon.redeemed_by = _user(acting_user)
    coupon._change_reason = "redeem"
    coupon.save(update_fields=["status", "redeemed_at", "redeemed_visit", "redeemed_by"])
    return coupon


@audited
@transaction.atomic
def coupon_void(*, coupon: Coupon, reason: str, acting_user=None) -> Coupon:
    coupon = _lock_coupon(coupon.pk)
    if coupon.status != Coupon.Status.ISSUED:
        raise StateConflict(
            _("Only an open coupon can be voided; %(code)s is %(s)s.")
            % {"code": coupon.code, "s": coupon.get_status_display().lower()},
            code="coupon_not_open",
        )
    if not reason.strip():
        raise ApplicationError(_("Say why the coupon is voided."), code="void_reason_missing")
    coupon.status = Coupon.Status.VOID
    coupon.voided_at = timezone.now()
    coupon.void_reason = reason.strip()[:200]
    coupon.save(update_fields=["status", "voided_at", "void_reason"])
    return coupon


def coupons_expire(*, today: date | None = None) -> int:
    """The daily job: open coupons past their last day become expired. "Today" is each dealership's own
    (a coupon is good until midnight where it is used): one UPDATE per time zone in use."""
    open_coupons = Coupon.objects.filter(status=Coupon.Status.ISSUED)
    if today is not None:
        return open_coupons.filter(expires_on__lt=today).update(status=Coupon.Status.EXPIRED)
    expired = 0
    for zone in Dealership.objects.values_list("time_zone", flat=True).distinct().order_by():
        local_today = Dealership(time_zone=zone).local_date()
        expired += open_coupons.filter(dealership__time_zone=zone, expires_on__lt=local_today).update(
            status=Coupon.Status.EXPIRED
        )
    return expired


TEMPLATE_FIELDS = (
    "name",
    "kind",
    "value",
    "gift",
    "min_spend",
    "visit_types",
    "next_visit_only",
    "valid_days",
    "valid_until",
    "active",
)


@audited
@transaction.atomic
def coupon_template_create(*, dealership: Dealership, acting_user=None, **fields) -> CouponTemplate:
    _refuse_unknown(fields, TEMPLATE_FIELDS)
    template = CouponTemplate(dealership=dealership, **fields)
    _full_clean(template, exclude=["dealership"])
    template.save()
    return template


@audited
@transaction.atomic
def coupon_template_update(*, template: CouponTemplate, changes: dict, acting_user=None) -> CouponTemplate:
    _refuse_unknown(changes, TEMPLATE_FIELDS)
    for name, value in changes.items():
        setattr(template, name, value)
    _full_clean(template, exclude=["dealership"])
    template.save()
    return template


# --- compliance terms -------------------------------------------------------------------------------------


@transaction.atomic
def compliance_term_add(*, dealership: Dealership, kind: str, phrase: str, acting_user=None) -> ComplianceTerm:
    phrase = (phrase or "").strip()
    if not phrase:
        raise ApplicationError(_("Type the phrase."), code="phrase_missing")
    term = ComplianceTerm(dealership=dealership, kind=kind, phrase=phrase)
    _full_clean(term, exclude=["dealership"])
    try:
        with transaction.atomic():
            term.save()
    except IntegrityError as exc:
        raise ApplicationError(_("“%(p)s” is already on the list.") % {"p": phrase}, code="phrase_taken") from exc
    return term


@transaction.atomic
def compliance_term_remove(*, term: ComplianceTerm, acting_user=None) -> None:
    term.delete()
