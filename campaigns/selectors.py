"""Every read of campaigns, scoped to a dealership (or to the agent, who is scoped by it)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP

from django.db.models import Count, DecimalField, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from customers.contact import MARKETING, contactable
from customers.models import ZERO, ServiceVisit
from dealercrm.core.models import Dealership

from . import callcard, stats
from .models import CallAttempt, Campaign, ComplianceTerm, Coupon, CouponTemplate, Invitation, TargetGroup
from .targeting import eligible_customers, matching


def campaigns(*, dealership: Dealership) -> QuerySet[Campaign]:
    return Campaign.objects.filter(dealership=dealership).select_related("created_by")


def campaign_get(*, dealership: Dealership, pk: int) -> Campaign:
    return get_object_or_404(campaigns(dealership=dealership), pk=pk)


def target_groups(*, dealership: Dealership) -> QuerySet[TargetGroup]:
    return (
        TargetGroup.objects.filter(campaign__dealership=dealership)
        .select_related("campaign")
        .prefetch_related("offers", "offers_b")
    )


def coupon_templates(*, dealership: Dealership) -> QuerySet[CouponTemplate]:
    return CouponTemplate.objects.filter(dealership=dealership)


def coupons(*, dealership: Dealership) -> QuerySet[Coupon]:
    return Coupon.objects.filter(dealership=dealership).select_related(
        "template", "customer", "campaign", "redeemed_visit"
    )


def coupon_by_code(*, dealership: Dealership, code: str) -> Coupon:
    return get_object_or_404(coupons(dealership=dealership), code=(code or "").strip().upper())


def coupons_open(*, dealership: Dealership, customer, today: date | None = None) -> list[Coupon]:
    """The customer's coupons that can still be used (open and not past their last day), soonest first."""
    today = today or dealership.local_date()
    return list(
        Coupon.objects.filter(
            dealership=dealership, customer=customer, status=Coupon.Status.ISSUED, expires_on__gte=today
        )
        .select_related("template", "campaign")
        .order_by("expires_on", "id")
    )


def compliance_terms(*, dealership: Dealership) -> QuerySet[ComplianceTerm]:
    return ComplianceTerm.objects.filter(dealership=dealership)


def invitations(*, dealership: Dealership) -> QuerySet[Invitation]:
    return Invitation.objects.filter(campaign__dealership=dealership).select_related(
        "campaign", "target_group", "customer", "vehicle", "agent", "appointment"
    )


# --- preview ----------------------------------------------------------------------------------------------


def preview(*, campaign: Campaign) -> list[dict]:
    """Per target group, in order: how many eligible customers it matches, and how many of them generation
    would add (not on the list yet, and not matched by an earlier group). A few counts per group."""
    groups = list(campaign.target_groups.order_by("position", "id"))
    rows = []
    for i, group in enumerate(groups):
        rows.append(
            {
                "group": group,
                "matches": matching(group, exclude_invited=False).count(),
                "would_add": matching(group, before=groups[:i]).count(),
                "invited": group.invitations.count(),
            }
        )
    return rows


def ineligible_counts(*, dealership: Dealership) -> dict[str, int]:
    """How many of the dealership's customers no list may hold, by reason (for the preview page)."""
    from customers.models import Customer

    figures = Customer.objects.filter(dealership=dealership).aggregate(
        no_consent=Count("id", filter=Q(marketing_consent=False)),
        do_not_contact=Count("id", filter=Q(do_not_contact=True)),
        wrong_number=Count("id", filter=Q(flag_wrong_number=True)),
    )
    figures["eligible"] = eligible_customers(dealership).count()
    return figures


# --- attendance, progress and results ---------------------------------------------------------------------


def _period_visits(campaign: Campaign):
    return ServiceVisit.objects.filter(
        dealership_id=campaign.dealership_id, opened_on__gte=campaign.starts_on, opened_on__lte=campaign.ends_on
    )


#: booked (签单): the invitee accepted with an appointment, on the first invitation or the second (an invitee
#: back on the list for a second invitation keeps the appointment they did not keep, and counts once)
BOOKED = Q(appointment__isnull=False)


def invitations_with_attendance(*, campaign: Campaign) -> QuerySet[Invitation]:
    """The campaign's invitations with ``attended`` (a visit of the customer in the period, before or after
    the call; visits imported later count too) and ``revenue`` (the total of those visits)."""
    visits = _period_visits(campaign).filter(customer_id=OuterRef("customer_id"))
    revenue = visits.order_by().values("customer_id").annotate(total=Sum("total_amount")).values("total")
    money = DecimalField(max_digits=14, decimal_places=2)
    return Invitation.objects.filter(campaign=campaign).annotate(
        attended=Exists(visits),
        revenue=Coalesce(Subquery(revenue, output_field=money), Value(ZERO), output_field=money),
    )


def attended(prefix: str = "") -> Exists:
    """``attended`` of an invitation of any campaign, as ``invitations_with_attendance`` reads it for one: a
    visit of the customer at the campaign's dealership within the campaign's period (before or after the call).
    ``prefix`` is the path from the query's model to the invitation ("" on ``Invitation`` itself). For figures
    over the invitations of many campaigns at once (the staff incentives, the 30-day return rate); the one
    statement of the rule that ``attended_exists`` reads too."""
    return Exists(
        ServiceVisit.objects.filter(
            dealership_id=OuterRef(f"{prefix}campaign__dealership_id"),
            customer_id=OuterRef(f"{prefix}customer_id"),
            opened_on__gte=OuterRef(f"{prefix}campaign__starts_on"),
            opened_on__lte=OuterRef(f"{prefix}campaign__ends_on"),
        )
    )


def attended_exists() -> Exists:
    """For an invitation (the outer row): whether its customer has a visit at the campaign's dealership within
    the campaign's period, both days included, before or after the call (SPEC "Attendance") — the rule of
    ``invitations_with_attendance`` correlated to each row's own campaign, so that many campaigns are counted in
    one query (the campaign list, the campaign analysis, the KPIs)."""
    return attended()


def campaign_outcomes(*, campaign_ids, agent=None) -> dict[int, dict]:
    """Per campaign of ``campaign_ids`` (a list or a queryset of ids): ``invited`` (the list, not the holdout),
    ``attended`` (of them, ``attended_exists``), ``booked`` (``BOOKED``), with ``attendance_rate`` (attended ÷
    invited) and ``sign_rate`` (booked ÷ invited), None when nobody was invited. One query whatever the number
    of campaigns and invitations; a campaign without invitations is absent (``outcome_of`` gives its zeros).
    With ``agent``: the agent's own invitations."""
    rows = (
        Invitation.objects.filter(campaign_id__in=campaign_ids, holdout=False, **_own(agent))
        .alias(came=attended_exists())
        .values("campaign_id")
        .annotate(invited=Count("id"), attended=Count("id", filter=Q(came=True)), booked=Count("id", filter=BOOKED))
        .order_by()
    )
    return {row["campaign_id"]: outcome_of(row) for row in rows}


def outcome_of(row: dict | None) -> dict:
    """``invited``, ``attended``, ``booked`` of ``row`` (zeros when None) with their rates (None over 0)."""
    row = row or {}
    invited, attended, booked = row.get("invited", 0), row.get("attended", 0), row.get("booked", 0)
    return {
        "invited": invited,
        "attended": attended,
        "booked": booked,
        "attendance_rate": attended / invited if invited else None,
        "sign_rate": booked / invited if invited else None,
    }


def model_age_results(*, campaign: Campaign, agent=None) -> list[dict]:
    """Per target group, vehicle model and the vehicle's age band on the campaign's first day (of the vehicle the
    invitation names; ``targeting.age_band_case``): invited (not the holdout) and attended. Model and band are ""
    when the invitation names no vehicle or its purchase date is unknown. One query."""
    from .targeting import age_band_case

    return list(
        Invitation.objects.filter(campaign=campaign, holdout=False, **_own(agent))
        .alias(came=attended_exists())
        .values(
            "target_group_id",
            model=Coalesce(F("vehicle__model"), Value("")),
            band=age_band_case(campaign.starts_on, "vehicle__purchase_date"),
        )
        .annotate(invited=Count("id"), attended=Count("id", filter=Q(came=True)))
        .order_by("target_group_id", "model", "band")
    )


def coupon_results(*, campaign: Campaign, agent=None) -> list[dict]:
    """Per coupon template the campaign issued: issued, redeemed, void, expired, still open (by ``Coupon.status``).
    With ``agent``, the coupons of the agent's invitations. One query."""
    own = {} if agent is None else {"invitation__agent": agent}
    return list(
        Coupon.objects.filter(campaign=campaign, **own)
        .values("template_id", "template__name")
        .annotate(
            issued=Count("id"),
            redeemed=Count("id", filter=Q(status=Coupon.Status.REDEEMED)),
            open=Count("id", filter=Q(status=Coupon.Status.ISSUED)),
        )
        .order_by("template__name", "template_id")
    )


def progress_results(*, campaign: Campaign, agent=None) -> dict[int, dict]:
    """Per target group while the campaign runs (not the holdout): invited, called, reached, booked, attended,
    and the attended split by the first call: ``before_call`` (every visit of the period before the day of the
    first call: they came on their own), ``after_call`` (a visit on or after that day), ``not_called`` (came,
    never called). The day of a call is the dealership's local day.

    One query, three correlated subqueries per invitation (whether its calls reached the customer, the day of
    the first, the last visit in the period), grouped by target group, reach (never called, called, reached)
    and visit (none, all before the first call's day, one on or after it); the few rows are added up here.
    (Fourteen subqueries per invitation, one per count, took five times as long on a 50,000-invitee campaign.)"""
    from django.db.models import Case, IntegerField, Max, Min, Value, When
    from django.db.models.functions import TruncDate

    def calls_of(invitation):
        return CallAttempt.objects.filter(invitation_id=invitation).order_by().values("invitation_id")

    # per invitation: NULL never called, 0 called but never reached, 1 reached
    reach = (
        calls_of(OuterRef("pk"))
        .annotate(r=Max(Case(When(outcome__in=CallAttempt.REACHED, then=Value(1)), default=Value(0))))
        .values("r")
    )
    first_call_day = (
        calls_of(OuterRef("pk"))
        .annotate(day=Min(TruncDate("called_at", tzinfo=campaign.dealership.zone)))
        .values("day")
    )
    last_visit = (
        _period_visits(campaign)
        .filter(customer_id=OuterRef("customer_id"))
        .order_by()
        .values("customer_id")
        .annotate(last=Max("opened_on"))
        .values("last")
    )
    # per invitation: NULL no visit in the period, 2 a visit on or after the first call's day, 1 otherwise
    came = Case(
        When(last_visit__isnull=True, then=None),
        When(last_visit__gte=F("first_call_day"), then=Value(2)),
        default=Value(1),
        output_field=IntegerField(),
    )
    rows = (
        Invitation.objects.filter(campaign=campaign, holdout=False, **_own(agent))
        .alias(first_call_day=Subquery(first_call_day), last_visit=Subquery(last_visit))
        .annotate(reach=Subquery(reach), came=came)
        .values("target_group_id", "reach", "came")
        .annotate(n=Count("id"), booked=Count("id", filter=BOOKED))
        .order_by()
    )
    keys = ("invited", "called", "reached", "booked", "attended", "before_call", "after_call", "not_called")
    figures: dict[int, dict] = {}
    for row in rows:  # at most target groups × 3 × 3 rows
        counts = figures.setdefault(row["target_group_id"], dict.fromkeys(keys, 0))
        n, reached, came = row["n"], row["reach"], row["came"]
        counts["invited"] += n
        counts["booked"] += row["booked"]
        if reached is not None:
            counts["called"] += n
            counts["reached"] += n if reached == 1 else 0
        if came is not None:
            counts["attended"] += n
            counts["not_called" if reached is None else "after_call" if came == 2 else "before_call"] += n
    return figures


def _own(agent) -> dict:
    """An agent's own figures (SPEC: "reports … own figures"): only the invitations on their list."""
    return {} if agent is None else {"agent": agent}


def group_summary(*, campaign: Campaign, agent=None) -> list[dict]:
    """Per target group: invited (the list after exclusions, not the holdout), called, reached, booked
    (accepted with an appointment), success rate against the goal, attended, revenue, average ticket, and the
    holdout's size and attendance. Two queries: the list's counts, and the period's visits of its customers.

    With ``agent``, the agent's own figures: their invitations only (a holdout is nobody's list)."""
    calls = CallAttempt.objects.filter(invitation_id=OuterRef("pk"))
    reached = Exists(calls.filter(outcome__in=CallAttempt.REACHED))
    called = Q(holdout=False)
    counts = {
        row["target_group_id"]: row
        for row in Invitation.objects.filter(campaign=campaign, **_own(agent))
        .alias(was_called=Exists(calls), was_reached=reached)  # a call back uses no attempt, but was a call
        .values("target_group_id")
        .annotate(
            invited=Count("id", filter=called),
            called=Count("id", filter=called & Q(was_called=True)),
            reached=Count("id", filter=called & Q(was_reached=True)),
            booked=Count("id", filter=called & BOOKED),
            holdout=Count("id", filter=Q(holdout=True)),
        )
        .order_by()
    }
    attendance = {
        (row["group"], row["holdout"]): row
        for row in _period_visits(campaign)
        .filter(
            customer__invitations__campaign=campaign,
            **{f"customer__invitations__{key}": value for key, value in _own(agent).items()},
        )
        .values(group=F("customer__invitations__target_group_id"), holdout=F("customer__invitations__holdout"))
        .annotate(attended=Count("customer_id", distinct=True), revenue=Sum("total_amount"))
        .order_by()
    }
    rows = []
    for group in campaign.target_groups.order_by("position", "id"):
        row = counts.get(group.pk, {})
        came = attendance.get((group.pk, False), {})
        invited, booked = row.get("invited", 0), row.get("booked", 0)
        attended, revenue = came.get("attended", 0), came.get("revenue") or ZERO
        rows.append(
            {
                "group": group,
                "invited": invited,
                "called": row.get("called", 0),
                "reached": row.get("reached", 0),
                "booked": booked,
                "success_rate": booked / invited if invited else None,
                "goal_rate": float(group.goal_rate) if group.goal_rate is not None else None,
                "attended": attended,
                "attendance_rate": attended / invited if invited else None,
                "revenue": revenue,
                "average_ticket": (revenue / attended).quantize(ZERO, ROUND_HALF_UP) if attended else None,
                "holdout": row.get("holdout", 0),
                "holdout_attended": attendance.get((group.pk, True), {}).get("attended", 0),
            }
        )
    return rows


def non_target_participants(*, campaign: Campaign) -> dict:
    """Customers not on the list whose visit in the period carries the campaign's code: how many, revenue."""
    visits = (
        _period_visits(campaign)
        .filter(campaign_code__iexact=campaign.code)  # codes are upper case; a DMS export may not be
        .exclude(customer_id__in=Invitation.objects.filter(campaign=campaign).values("customer_id"))
    )
    figures = visits.aggregate(customers=Count("customer_id", distinct=True), revenue=Sum("total_amount"))
    return {"customers": figures["customers"], "revenue": figures["revenue"] or ZERO}


def agent_progress(*, campaign: Campaign) -> list[dict]:
    """Per agent: invitations, calls made, customers reached, accepted, success rate (accepted ÷ invitations),
    attended (``attended_exists``) and attendance rate. Two queries."""
    lists = {
        row["agent_id"]: row
        for row in Invitation.objects.filter(campaign=campaign, holdout=False, agent__isnull=False)
        .alias(came=attended_exists())
        .values("agent_id", "agent__username", "agent__display_name")
        .annotate(
            invitations=Count("id"),
            open=Count("id", filter=Q(status__in=Invitation.OPEN)),
            accepted=Count("id", filter=BOOKED),
            attended=Count("id", filter=Q(came=True)),
        )
        .order_by()
    }
    calls = {
        row["agent_id"]: row
        for row in CallAttempt.objects.filter(invitation__campaign=campaign)
        .values("agent_id")
        .annotate(
            calls=Count("id"),
            reached=Count("invitation_id", filter=Q(outcome__in=CallAttempt.REACHED), distinct=True),
        )
        .order_by()
    }
    rows = []
    for agent_id, row in sorted(lists.items(), key=lambda item: item[1]["agent__username"]):
        made = calls.get(agent_id, {})
        rows.append(
            {
                "agent_id": agent_id,
                "agent": row["agent__display_name"] or row["agent__username"],
                "invitations": row["invitations"],
                "open": row["open"],
                "calls": made.get("calls", 0),
                "reached": made.get("reached", 0),
                "accepted": row["accepted"],
                "success_rate": row["accepted"] / row["invitations"] if row["invitations"] else None,
                "attended": row["attended"],
                "attendance_rate": row["attended"] / row["invitations"] if row["invitations"] else None,
            }
        )
    return rows


def variant_results(*, campaign: Campaign, agent=None) -> list[dict]:
    """Per A/B target group: each variant's invited and accepted, and their comparison (``stats``); with
    ``agent``, of the agent's own invitations."""
    rows = []
    groups = campaign.target_groups.filter(ab_test=True).order_by("position", "id")
    figures = {
        (row["target_group_id"], row["variant"]): row
        for row in Invitation.objects.filter(campaign=campaign, holdout=False, target_group__in=groups, **_own(agent))
        .alias(was_called=Exists(CallAttempt.objects.filter(invitation_id=OuterRef("pk"))))
        .values("target_group_id", "variant")
        .annotate(
            invited=Count("id"), called=Count("id", filter=Q(was_called=True)), accepted=Count("id", filter=BOOKED)
        )
        .order_by()
    }
    for group in groups:
        a = figures.get((group.pk, "A"), {"invited": 0, "called": 0, "accepted": 0})
        b = figures.get((group.pk, "B"), {"invited": 0, "called": 0, "accepted": 0})
        rows.append(
            {
                "group": group,
                "a": a,
                "b": b,
                "comparison": stats.compare_rates(a["accepted"], a["invited"], b["accepted"], b["invited"]),
            }
        )
    return rows


def holdout_results(*, summary: list[dict]) -> list[dict]:
    """Per target group with a holdout: uplift of calling over the holdout (from ``group_summary``), and how
    many of the group were called."""
    return [
        {
            "group": row["group"],
            "called": row["called"],
            "uplift": stats.uplift(row["attended"], row["invited"], row["holdout_attended"], row["holdout"]),
        }
        for row in summary
        if row["holdout"]
    ]


# --- the agent's workbench --------------------------------------------------------------------------------


def agent_queue(*, agent, dealership: Dealership, now: datetime | None = None) -> QuerySet[Invitation]:
    """The agent's invitations to call now, in order: due call-backs and retries first (by time), then the
    ones not called yet. Only running campaigns on a day of their period (the dealership's day); never the
    holdout, nor a customer who has since withdrawn consent, is on do-not-contact or has a wrong number."""
    now = now or timezone.now()
    return (
        _agent_open(agent, dealership, dealership.local_date(now))
        .filter(Q(next_call_at__isnull=True) | Q(next_call_at__lte=now))
        .order_by(F("next_call_at").asc(nulls_last=True), "id")
    )


def _agent_open(agent, dealership: Dealership, today: date) -> QuerySet[Invitation]:
    """The agent's open invitations that may still be called: running campaigns on a day of their period,
    attempts left, no holdout, and a customer who may still be called (a campaign call is marketing: it stops
    at once with consent withdrawn, do-not-contact or a wrong number)."""
    return Invitation.objects.filter(
        agent=agent,
        campaign__dealership=dealership,
        campaign__status=Campaign.Status.RUNNING,
        campaign__starts_on__lte=today,
        campaign__ends_on__gte=today,
        holdout=False,
        status__in=Invitation.OPEN,
        attempts__lt=F("campaign__max_attempts"),
    ).filter(contactable(MARKETING, "call", prefix="customer__"))


def next_invitation(*, agent, dealership: Dealership, now: datetime | None = None) -> Invitation | None:
    """The head of ``agent_queue`` with its campaign, target group, customer and vehicle (read as the
    workbench's call card: ``campaigns.callcard``; follow-up calls are left out)."""
    card = callcard.next_call_card(agent=agent, dealership=dealership, now=now, followups=False)
    return card.invitation if card else None


#: the queue is counted up to here ("100+"): an exact count would read every waiting invitation on every call
WAITING_SHOWN = 100


def today_counts(*, agent, dealership: Dealership, now: datetime | None = None) -> dict:
    """The agent's calls today by outcome (campaign calls and follow-up calls: a follow-up call that reached the
    customer counts as ``reached``), and how many calls are still waiting in their one queue (counted up to
    ``WAITING_SHOWN`` + 1: ``waiting_more`` says there are more than ``WAITING_SHOWN``)."""
    from followups.calls import followup_queue
    from followups.models import Touch as TouchModel
    from followups.models import TouchAttempt

    now = now or timezone.now()
    start = datetime.combine(dealership.local_date(now), datetime.min.time(), tzinfo=dealership.zone)
    campaign_calls = (
        CallAttempt.objects.filter(agent=agent, called_at__gte=start, invitation__campaign__dealership=dealership)
        .values("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
        .order_by()
    )
    followup_calls = (
        TouchAttempt.objects.filter(agent=agent, called_at__gte=start, touch__dealership=dealership)
        .values("outcome")
        .annotate(n=Count("id"))
        .values_list("outcome", "n")
        .order_by()
    )
    counts: dict = {}
    for outcome, n in [*campaign_calls.union(followup_calls, all=True)]:
        outcome = "reached" if outcome == TouchAttempt.Outcome.DONE else outcome
        counts[outcome] = counts.get(outcome, 0) + n
    counts["calls"] = sum(counts.values())
    # each source counted up to the cap (a LIMIT in a subquery: a compound statement's parts may not have one)
    capped = WAITING_SHOWN + 1
    invitations = agent_queue(agent=agent, dealership=dealership, now=now).order_by().values("id")[:capped]
    followups = followup_queue(agent=agent, dealership=dealership, now=now).order_by().values("id")[:capped]
    waiting = (
        Invitation.objects.filter(pk__in=invitations)
        .values("id")
        .order_by()
        .union(TouchModel.objects.filter(pk__in=followups).values("id").order_by(), all=True)
        .count()
    )
    counts["waiting"] = min(waiting, WAITING_SHOWN)
    counts["waiting_more"] = waiting > WAITING_SHOWN
    return counts


def invitation_for_agent(*, agent, dealership: Dealership, pk: int, for_update: bool = False) -> Invitation:
    """One of the agent's own invitations (another agent's is not found), with its campaign and customer:
    what recording a call reads (``for_update``: under its row lock, for ``services.call_record(locked=True)``
    in the same transaction)."""
    mine = Invitation.objects.filter(agent=agent, campaign__dealership=dealership)
    if for_update:
        mine = mine.select_for_update(of=("self",))
    return get_object_or_404(mine.select_related("campaign__dealership", "customer"), pk=pk)


def arrivals_invitations(*, dealership: Dealership, appointment_ids) -> dict[int, Invitation]:
    """The campaign invitation behind each of these appointments (the counter's VIP mark)."""
    return {
        inv.appointment_id: inv
        for inv in Invitation.objects.filter(
            campaign__dealership=dealership, appointment_id__in=list(appointment_ids)
        ).select_related("campaign", "target_group")
    }


def coupons_open_by_customer(*, dealership: Dealership, customer_ids, today: date | None = None) -> dict[int, list]:
    """``coupons_open`` for several customers at once (the counter's list of arrivals): one query."""
    today = today or dealership.local_date()
    found: dict[int, list[Coupon]] = {}
    ids = list(customer_ids)
    if not ids:
        return found
    for coupon in (
        coupons(dealership=dealership)
        .filter(customer_id__in=ids, status=Coupon.Status.ISSUED, expires_on__gte=today)
        .order_by("expires_on", "id")
    ):
        found.setdefault(coupon.customer_id, []).append(coupon)
    return found


def agent_next_due_at(*, agent, dealership: Dealership, now: datetime | None = None) -> datetime | None:
    """When the agent's next call-back or retry comes due, of an invitation or a follow-up call (the empty
    workbench says so), or None."""
    from followups.calls import followup_next_due_at

    now = now or timezone.now()
    invitation = (
        _agent_open(agent, dealership, dealership.local_date(now))
        .filter(next_call_at__gt=now)
        .order_by("next_call_at")
        .values_list("next_call_at", flat=True)
        .first()
    )
    followup = followup_next_due_at(agent=agent, dealership=dealership, now=now)
    return min((moment for moment in (invitation, followup) if moment is not None), default=None)


# --- what a confirmation names ------------------------------------------------------------------------------


def coupon_issue_invitations(*, group: TargetGroup, template: CouponTemplate) -> QuerySet[Invitation]:
    """The invitees of ``group`` (not the holdout) who have no coupon of ``template`` from its campaign yet:
    whom ``services.coupons_issue_to_group`` gives one."""
    holders = Coupon.objects.filter(campaign_id=group.campaign_id, template=template).values("customer_id")
    return Invitation.objects.filter(target_group=group, holdout=False).exclude(customer_id__in=holders)


def invitations_open(*, campaign: Campaign) -> QuerySet[Invitation]:
    """The campaign's invitations still to be called (open, not the holdout)."""
    return Invitation.objects.filter(campaign=campaign, holdout=False, status__in=Invitation.OPEN)


def campaign_change_history(*, dealership: Dealership, campaign: Campaign, limit: int = 50):
    """The audit trail of one campaign of ``dealership``: who changed the campaign, its target groups and its
    coupons (redeemed, voided), when, old → new, newest first. Invitation lists and coupons issued to a whole
    group are set-based: the campaign's or the group's own row names who ran them."""
    from dealercrm.core.audit import history_entries, merged_entries

    hidden = ("dealership", "campaign")
    return merged_entries(
        history_entries(Campaign.history.filter(id=campaign.pk, dealership=dealership), limit=limit, hidden=hidden),
        history_entries(
            TargetGroup.history.filter(campaign_id=campaign.pk, campaign__dealership=dealership),
            limit=limit,
            hidden=hidden,
            label=lambda row: row.name,
        ),
        history_entries(
            Coupon.history.filter(campaign_id=campaign.pk, dealership=dealership).exclude(history_type="+"),
            limit=limit,
            hidden=(*hidden, "customer", "invitation", "issued_visit"),
            label=lambda row: row.code,
        ),
        limit=limit,
    )
