"""Staff incentives (SPEC "staff incentives", seed 002's 提成方案): tier tables per target group, and what each
agent earns by them.

**The arrival rate** (目标客户邀约进店率) of an agent for a C3 group: of the invitations on the agent's list (not
the holdout) in target groups of that C3 group, of the campaigns whose **last day falls in the period**, the
share whose customer came — ``campaigns.selectors.attended_exists``: a visit at the dealership within the
campaign's period, before or after the call (the campaigns' own rule, not repeated here). A campaign counts in
the period of its last day only, so it is paid once, not in every month it ran. A target group counts for a C3
group when its filters name exactly that one C3 group; a target group of several groups or none has no table.

**The tiers** are lower bounds on the rate: the tier reached is the one with the highest ``min_rate`` at or
below the agent's rate (compared exactly: ``arrived ≥ min_rate × invited``, no rounding), and the agent gets
its ``amount`` per arrived customer, or once when ``per_customer`` is off. Every table has a tier at 0 %, so
every agent with an invitation reaches one.

**The defaults** (a store that never edited a group's table): profitable-loyal below 11 % → −¥200, from 11 % →
¥6, from 18 % → ¥10; low-cost below 7 % → −¥200, from 7 % → ¥10, from 12 % → ¥15. Seed 002 words the lowest
tier "无提成,处罚200元" (no commission, a fine of ¥200) against "提成6元/客户" (¥6 per customer) for the others:
the −¥200 is a **fine once**, not per arrived customer (``per_customer=False``); the others are per arrived
customer. The seed's "≤10 %" / "11 %-18 %" / "≥18 %" leave gaps (10.5 %?); the SPEC reads them as lower bounds,
as here.

**Editing** replaces a group's whole table at once (all or nothing), audited: each tier's history records who
changed it, when, old → new (``IncentiveTier.history``; the service runs as its ``acting_user``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.utils.translation import gettext as _

from dealercrm.core.audit import audited
from dealercrm.core.exceptions import ApplicationError
from segmentation.models import C3Group

from .models import IncentiveTier

ONE = Decimal("1")
ZERO = Decimal("0")
CENT = Decimal("0.01")
#: a rate is kept to 4 places of the fraction (0.1234 = 12.34 %)
RATE_PLACES = Decimal("0.0001")
MAX_AMOUNT = Decimal("99999999.99")


@dataclass(frozen=True)
class Tier:
    min_rate: Decimal  # a fraction: 0.11 is 11 %
    amount: Decimal  # yuan
    per_customer: bool = True

    def pays(self, arrived: int) -> Decimal:
        """What an agent who reached this tier with ``arrived`` customers gets."""
        return self.amount * arrived if self.per_customer else self.amount


#: SPEC "staff incentives": per C3 group, the tiers from the lowest bar
DEFAULT_TIERS: dict[str, tuple[Tier, ...]] = {
    C3Group.PROFITABLE_LOYAL: (
        Tier(Decimal("0"), Decimal("-200"), per_customer=False),
        Tier(Decimal("0.11"), Decimal("6")),
        Tier(Decimal("0.18"), Decimal("10")),
    ),
    C3Group.LOW_COST: (
        Tier(Decimal("0"), Decimal("-200"), per_customer=False),
        Tier(Decimal("0.07"), Decimal("10")),
        Tier(Decimal("0.12"), Decimal("15")),
    ),
}


def c3_group_or_404(value: str) -> str:
    """``value`` as a C3 group's code, or 404 (the pages' and the API's URLs name the group)."""
    if value not in C3Group.values:
        raise Http404(_("No such customer group."))
    return value


def tier_tables(*, dealership) -> dict[str, dict]:
    """Every C3 group's table for ``dealership``: ``{"tiers": [Tier, …] (lowest bar first), "custom": bool}``
    — the store's own tiers, else the defaults (none for a group without defaults). One query."""
    stored: dict[str, list[Tier]] = {}
    for row in IncentiveTier.objects.filter(dealership=dealership).order_by("c3_group", "min_rate"):
        stored.setdefault(row.c3_group, []).append(Tier(row.min_rate, row.amount, row.per_customer))
    return {
        group: {"tiers": stored[group], "custom": True}
        if group in stored
        else {"tiers": list(DEFAULT_TIERS.get(group, ())), "custom": False}
        for group in C3Group.values
    }


def tier_tables_of(dealership_ids) -> dict[tuple[int, str], list[Tier]]:
    """The tables of several stores at once (a group's report): ``(dealership_id, group) → tiers``; a store's
    group it never edited reads the defaults. One query."""
    stored: dict[tuple[int, str], list[Tier]] = {}
    for row in IncentiveTier.objects.filter(dealership_id__in=list(dealership_ids)).order_by(
        "dealership_id", "c3_group", "min_rate"
    ):
        stored.setdefault((row.dealership_id, row.c3_group), []).append(
            Tier(row.min_rate, row.amount, row.per_customer)
        )
    return {
        (store, group): stored.get((store, group), list(DEFAULT_TIERS.get(group, ())))
        for store in dealership_ids
        for group in C3Group.values
    }


def tier_reached(tiers, arrived: int, invited: int) -> Tier | None:
    """The tier of the highest bar at or below ``arrived ÷ invited`` (exactly), or None without invitations or
    tiers."""
    if not invited or not tiers:
        return None
    reached = None
    for tier in sorted(tiers, key=lambda t: t.min_rate):
        if Decimal(arrived) >= tier.min_rate * invited:
            reached = tier
    return reached


# --- validating and saving a table ------------------------------------------------------------------------


def _decimal(value) -> Decimal | None:
    if isinstance(value, float):
        value = repr(value)
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def clean_tiers(rows) -> list[Tier]:
    """``rows`` (dicts of ``min_rate`` — a fraction, 0.11 for 11 % — ``amount`` and ``per_customer``) as tiers,
    lowest bar first, or ``ApplicationError`` naming each problem by its row (``tiers.<i>.<field>``): a rate
    that is not a number or not within 0–100 %, more than 4 decimal places of the fraction, an amount that is
    not a number of yuan with at most 2 decimals, two tiers at the same rate, no tier at 0 %, no tier at all."""
    fields: dict[str, list[str]] = {}
    if not isinstance(rows, list | tuple) or not rows:
        raise ApplicationError(
            _("A table needs at least one tier, and one of them at 0 %."),
            code="tiers_empty",
            fields={"tiers": [_("Give at least one tier.")]},
        )
    tiers, seen = [], {}
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            fields[f"tiers.{i}"] = [_("A tier has a rate and an amount.")]
            continue
        rate = _decimal(row.get("min_rate"))
        amount = _decimal(row.get("amount"))
        if rate is None:
            fields.setdefault(f"tiers.{i}.min_rate", []).append(_("The rate is not a number."))
        elif not ZERO <= rate <= ONE:
            fields.setdefault(f"tiers.{i}.min_rate", []).append(_("The rate must be between 0 % and 100 %."))
        elif rate != rate.quantize(RATE_PLACES):
            fields.setdefault(f"tiers.{i}.min_rate", []).append(_("The rate has at most two decimals of a percent."))
        elif rate in seen:
            fields.setdefault(f"tiers.{i}.min_rate", []).append(
                _("Tier %(other)s has the same rate.") % {"other": seen[rate] + 1}
            )
        else:
            seen[rate] = i
        if amount is None:
            fields.setdefault(f"tiers.{i}.amount", []).append(_("The amount is not a number."))
        elif amount != amount.quantize(CENT) or abs(amount) > MAX_AMOUNT:
            fields.setdefault(f"tiers.{i}.amount", []).append(
                _("The amount is yuan with at most two decimals (up to 99,999,999.99).")
            )
        per_customer = row.get("per_customer", True)
        if not isinstance(per_customer, bool):
            fields.setdefault(f"tiers.{i}.per_customer", []).append(_("Per arrived customer is true or false."))
        if rate is not None and amount is not None:
            tiers.append(Tier(rate.quantize(RATE_PLACES), amount.quantize(CENT), bool(per_customer)))
    if not fields and ZERO not in seen:
        fields["tiers"] = [_("One tier must start at 0 %, so that every agent reaches a tier.")]
    if fields:
        first = next(iter(fields.values()))[0]
        raise ApplicationError(
            _("The tiers are not valid: %(problem)s") % {"problem": first}, code="tiers_invalid", fields=fields
        )
    return sorted(tiers, key=lambda t: t.min_rate)


@audited
@transaction.atomic
def incentive_tiers_replace(*, dealership, c3_group: str, tiers, acting_user=None) -> list[Tier]:
    """Replace ``c3_group``'s table of ``dealership`` with ``tiers`` (see ``clean_tiers``), all or nothing.
    A tier at a rate that stays is updated (its history shows old → new); others are deleted or created, each
    through its row so that its history names ``acting_user``."""
    c3_group_or_404(c3_group)
    wanted = {tier.min_rate: tier for tier in clean_tiers(tiers)}
    current = {
        row.min_rate: row
        for row in IncentiveTier.objects.select_for_update().filter(dealership=dealership, c3_group=c3_group)
    }
    for rate, row in current.items():
        if rate not in wanted:
            row.delete()
    for rate, tier in wanted.items():
        row = current.get(rate)
        if row is None:
            IncentiveTier.objects.create(
                dealership=dealership,
                c3_group=c3_group,
                min_rate=rate,
                amount=tier.amount,
                per_customer=tier.per_customer,
            )
        elif row.amount != tier.amount or row.per_customer != tier.per_customer:
            row.amount, row.per_customer = tier.amount, tier.per_customer
            row.save(update_fields=["amount", "per_customer", "updated_at"])
    return list(wanted.values())


@audited
@transaction.atomic
def incentive_tiers_reset(*, dealership, c3_group: str, acting_user=None) -> None:
    """Back to the defaults: the store's own tiers of ``c3_group`` are deleted (each recorded)."""
    c3_group_or_404(c3_group)
    for row in IncentiveTier.objects.select_for_update().filter(dealership=dealership, c3_group=c3_group):
        row.delete()


# --- the computation --------------------------------------------------------------------------------------


def target_group_c3(filters) -> str | None:
    """The C3 group a target group's ``filters`` name, when they name exactly one; else None (no table)."""
    groups = (filters or {}).get("c3_group") if isinstance(filters, dict) else None
    if isinstance(groups, list) and len(groups) == 1 and groups[0] in C3Group.values:
        return groups[0]
    return None


def incentive_invitations(scope, period, *, campaign=None):
    """The invitations the incentives count: on an agent's list (not the holdout), of the scope's campaigns
    (not drafts) whose last day falls in ``period`` (or of ``campaign``); an agent's scope: their own; each
    with ``came`` (``campaigns.selectors.attended_exists``)."""
    from campaigns.models import Campaign, Invitation
    from campaigns.selectors import attended_exists

    qs = Invitation.objects.filter(
        campaign__dealership_id__in=scope.dealership_ids, holdout=False, agent__isnull=False
    ).exclude(campaign__status=Campaign.Status.DRAFT)
    if campaign is not None:
        qs = qs.filter(campaign=campaign)
    else:
        qs = qs.filter(campaign__ends_on__gte=period.start, campaign__ends_on__lte=period.end)
    if scope.agent_id is not None:
        qs = qs.filter(agent_id=scope.agent_id)
    return qs.alias(came=attended_exists())


def agent_incentives(scope, period, *, campaign=None) -> list[dict]:
    """Per store, agent and C3 group: invited, arrived, the rate, the tier reached, its amount and whether per
    customer, and the total. Four queries whatever the rows: the counts per store, agent and target group (grouped
    by the ids alone: no wide key such as the groups' JSON filters or the agents' names to sort the invitations
    by); then the few target groups' filters and agents' names those rows name; then the stores' tables."""
    from campaigns.models import TargetGroup

    counts = list(
        incentive_invitations(scope, period, campaign=campaign)
        .values("campaign__dealership_id", "agent_id", "target_group_id")
        .annotate(invited=Count("id"), arrived=Count("id", filter=Q(came=True)))
        .order_by()
    )
    if not counts:
        return []
    filters = dict(
        TargetGroup.objects.filter(pk__in={row["target_group_id"] for row in counts}).values_list("pk", "filters")
    )
    names = {
        pk: display_name or username
        for pk, username, display_name in get_user_model()
        .objects.filter(pk__in={row["agent_id"] for row in counts})
        .values_list("pk", "username", "display_name")
    }
    merged: dict[tuple, dict] = {}
    for row in counts:
        group = target_group_c3(filters.get(row["target_group_id"]))
        key = (row["campaign__dealership_id"], row["agent_id"], group or "")
        entry = merged.setdefault(
            key,
            {
                "dealership_id": row["campaign__dealership_id"],
                "agent_id": row["agent_id"],
                "agent": names[row["agent_id"]],
                "c3_group": group or "",
                "invited": 0,
                "arrived": 0,
            },
        )
        entry["invited"] += row["invited"]
        entry["arrived"] += row["arrived"]
    tables = tier_tables_of(scope.dealership_ids)
    rows = []
    for entry in sorted(merged.values(), key=lambda e: (e["dealership_id"], e["agent"], e["c3_group"])):
        tiers = tables.get((entry["dealership_id"], entry["c3_group"]), [])
        tier = tier_reached(tiers, entry["arrived"], entry["invited"])
        entry["rate"] = Decimal(entry["arrived"]) / entry["invited"] if entry["invited"] else None
        entry["tier"] = tier
        entry["total"] = tier.pays(entry["arrived"]) if tier is not None else None
        rows.append(entry)
    return rows
