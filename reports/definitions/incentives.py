"""Staff incentives: the agents' target-customer arrival rate (目标客户邀约进店率) and what the tier tables pay.

The rules (which invitations, which campaigns, the tiers and the defaults) are ``reports.incentives``'s; this
module registers the figure and the report. An agent reads only their own row (``scope.agent_id``).
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, Q
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from reports.incentives import agent_incentives, incentive_invitations
from reports.registry import (
    KPI,
    Chart,
    Column,
    Param,
    Report,
    Table,
    display,
    drill_url,
    ratio,
    register_kpi,
    register_report,
)
from segmentation.models import C3Group

from .followups import date_window, per_period

SECTION = "incentives"


def arrival_rate_many(scope, periods):
    from campaigns.models import Campaign, Invitation
    from campaigns.selectors import attended_exists

    qs = Invitation.objects.filter(
        campaign__dealership_id__in=scope.dealership_ids, holdout=False, agent__isnull=False
    ).exclude(campaign__status=Campaign.Status.DRAFT)
    if scope.agent_id is not None:
        qs = qs.filter(agent_id=scope.agent_id)
    rows = per_period(
        qs.alias(came=attended_exists()),
        periods,
        lambda period: date_window("campaign__ends_on", period),
        lambda inside: {"invited": Count("id", filter=inside), "arrived": Count("id", filter=inside & Q(came=True))},
    )
    return [ratio(row["arrived"], row["invited"]) for row in rows]


def arrival_rows(scope, period, filters=None):
    """The invitations whose customer came (the figure's numerator); ``agent`` and ``group`` narrow them."""
    filters = filters or {}
    qs = incentive_invitations(scope, period).filter(came=True)
    agent = str(filters.get("agent") or "").strip()
    if agent:
        if not agent.isdigit():
            raise Http404
        qs = qs.filter(agent_id=int(agent))
    group = str(filters.get("group") or "").strip()
    if group:
        if group not in C3Group.values:
            raise Http404
        # a target group counts for a C3 group when its filters name exactly that group
        qs = qs.filter(target_group__filters__c3_group=[group])
    return qs.select_related("campaign", "customer", "target_group", "agent").order_by("campaign_id", "id")


register_kpi(
    KPI(
        code="incentives.arrival_rate",
        label=_("Target-customer arrival rate"),
        definition=_(
            "Of the invitations on the agents' lists (not the holdout) of the campaigns whose last day falls in "
            "the period, the share whose customer came: a visit at the dealership within the campaign's period, "
            "before or after the call. An agent sees their own."
        ),
        unit="rate",
        compute_many=arrival_rate_many,
        rows=arrival_rows,
        drill="invitations",
        filters=("agent", "group"),
        section=SECTION,
    )
)


def _campaign(scope, params):
    """The optional ``campaign`` parameter: one of the scope's campaigns (another store's answers 404)."""
    from campaigns.models import Campaign

    given = (params or {}).get("campaign")
    if isinstance(given, Campaign):  # the page has looked it up within the scope already
        if given.dealership_id not in scope.dealership_ids:
            raise Http404(_("No such campaign."))
        return given
    value = str(given or "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise Http404(_("No such campaign."))
    campaign = Campaign.objects.filter(dealership_id__in=scope.dealership_ids, pk=int(value)).first()
    if campaign is None:
        raise Http404(_("No such campaign."))
    return campaign


def _sum_money(values):
    """The sum of the amounts that are there (None when none is)."""
    present = [value for value in values if value is not None]
    return sum(present, Decimal("0")) if present else None


def tier_label(tier) -> str:
    if tier is None:
        return ""
    return str(_("from %(rate)s") % {"rate": display(tier.min_rate, "rate")})


def build(scope, period, params) -> list[Table]:
    campaign = _campaign(scope, params)
    names = dict(C3Group.choices)
    stores = {store.pk: store for store in scope.dealerships}
    rows = []
    for entry in agent_incentives(scope, period, campaign=campaign):
        tier = entry["tier"]
        row = {
            "agent": entry["agent"],
            "group": str(names.get(entry["c3_group"], _("No table (several groups or none)"))),
            "invited": entry["invited"],
            "arrived": entry["arrived"],
            "rate": entry["rate"],
            "tier": tier_label(tier),
            "amount": tier.amount if tier is not None else None,
            "basis": "" if tier is None else str(_("per arrived customer") if tier.per_customer else _("once")),
            "total": entry["total"],
        }
        if scope.is_group:
            row["store"] = stores[entry["dealership_id"]].name
        if campaign is None:
            link = drill_url("incentives.arrival_rate", scope, period, agent=entry["agent_id"], group=entry["c3_group"])
            row["_links"] = {"arrived": link}
        rows.append(row)
    totals = {
        "agent": str(pgettext("totals row", "Total")),
        "invited": sum(r["invited"] for r in rows),
        "arrived": sum(r["arrived"] for r in rows),
        "total": _sum_money([r["total"] for r in rows]),
    }
    totals["rate"] = ratio(totals["arrived"], totals["invited"]).value
    columns = [
        Column("agent", str(_("Agent")), "text"),
        Column("group", str(_("Target group")), "text"),
        Column("invited", str(_("Invited")), "int"),
        Column("arrived", str(_("Arrived")), "int"),
        Column("rate", str(_("Arrival rate")), "rate"),
        Column("tier", str(_("Tier reached")), "text"),
        Column("amount", str(_("Amount")), "money"),
        Column("basis", str(_("Paid")), "text"),
        Column("total", str(_("Incentive")), "money"),
    ]
    if scope.is_group:
        columns.insert(0, Column("store", str(_("Dealership")), "text"))
    notes = [
        str(
            _(
                "Campaigns whose last day falls in the period (each is paid once). Arrived: a visit within the "
                "campaign's period. The tier reached is the highest bar at or below the arrival rate."
            )
        )
    ]
    if campaign is not None:
        notes[0] = str(_("Campaign %(name)s only.") % {"name": campaign.name})
    return [
        Table(
            key="incentives",
            title=str(_("Incentives per agent and target group")),
            columns=columns,
            rows=rows,
            totals=totals,
            chart=Chart("bar", "agent", ("rate",), str(_("Arrival rate per agent"))),
            notes=notes,
            empty_text=str(_("No campaign with agents' invitations ended in this period.")),
        )
    ]


register_report(
    Report(
        slug="incentives",
        title=_("Staff incentives"),
        description=_(
            "Per agent and target group: invited, arrived, arrival rate, the tier reached by the store's incentive "
            "tables, the amount and the total. An agent sees their own."
        ),
        build=build,
        section=SECTION,
        params=(Param("campaign", _("Campaign")),),
        action="reports.view",
        default_period="last_month",
        order=70,
    )
)
