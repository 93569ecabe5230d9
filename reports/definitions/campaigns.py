"""Campaign figures and reports (SPEC "Reports and dashboards", the seeds' tables).

Every figure reads the campaigns app's own definitions (``campaigns.selectors``): who is invited (the list, not
the holdout), who attended (a visit at the dealership within the campaign's period, before or after the call:
``attended_exists``), who booked (签单: accepted with an appointment, ``BOOKED``), the groups' revenue and average
ticket (``group_summary``), the non-target participants, the agents', the A/B variants' and the holdouts' figures.

The KPIs count the campaigns of the scope that ran at some time in the period (first day on or before its end,
last day on or after its start; drafts never ran), each over its whole list and its own period: a campaign that
ends a week after the period counts its later arrivals too. Rates pool the campaigns (the sum of attended over
the sum of invited), so a large campaign weighs more than a small one.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Q, Sum
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from campaigns import selectors
from campaigns.models import Campaign, Invitation
from customers.models import ZERO
from dealercrm.core.exceptions import ApplicationError
from reports.registry import KPI, Chart, Column, Figure, Param, Report, Table, ratio, register_kpi, register_report
from segmentation.models import AgeBand

SECTION = "campaigns"
# The seeds' column names (邀请人数, 出席人数, 签单量 …) carry the context "campaign report": the words of the seeds'
# tables, not the app's. Written out at each call: makemessages reads only a literal context.
_CENT = Decimal("0.01")


# --- what the figures count ----------------------------------------------------------------------------------


def campaigns_in(scope, period):
    """The scope's campaigns that ran at some time in ``period`` (not drafts), oldest first."""
    return (
        Campaign.objects.filter(
            dealership_id__in=scope.dealership_ids, starts_on__lte=period.end, ends_on__gte=period.start
        )
        .exclude(status=Campaign.Status.DRAFT)
        .order_by("starts_on", "id")
    )


def invitations_in(scope, period, filters=None):
    """The invitations the campaign KPIs count (drill-down): the lists (not the holdout) of ``campaigns_in``,
    an agent's own only; each with ``attended``."""
    own = {} if scope.agent_id is None else {"agent_id": scope.agent_id}
    return (
        Invitation.objects.filter(campaign__in=campaigns_in(scope, period).values("id"), holdout=False, **own)
        .annotate(attended=selectors.attended_exists())
        .select_related("campaign", "customer", "target_group", "vehicle", "agent")
        .order_by("campaign_id", "id")
    )


def _totals(scope, period) -> dict:
    """Invited, attended and booked over ``campaigns_in`` (one query)."""
    own = {} if scope.agent_id is None else {"agent_id": scope.agent_id}
    return (
        Invitation.objects.filter(campaign__in=campaigns_in(scope, period).values("id"), holdout=False, **own)
        .alias(came=selectors.attended_exists())
        .aggregate(
            invited=Count("id"),
            attended=Count("id", filter=Q(came=True)),
            booked=Count("id", filter=selectors.BOOKED),
        )
    )


def attendance_rate(scope, period) -> Figure:
    figures = _totals(scope, period)
    return ratio(figures["attended"], figures["invited"])


def sign_rate(scope, period) -> Figure:
    figures = _totals(scope, period)
    return ratio(figures["booked"], figures["invited"])


def cost_per_signing(scope, period) -> Figure:
    """The campaigns' cost ÷ their bookings; an agent has no cost of their own (empty). Two queries."""
    if scope.agent_id is not None:
        return Figure(None)
    cost = campaigns_in(scope, period).aggregate(cost=Sum("cost"))["cost"] or ZERO
    booked = _totals(scope, period)["booked"]
    figure = ratio(cost, booked)
    if figure.value is None:
        return figure
    return Figure(Decimal(figure.value).quantize(_CENT, ROUND_HALF_UP), cost, booked)


register_kpi(
    KPI(
        code="campaigns.attendance_rate",
        label=gettext_lazy("Campaign attendance rate"),
        definition=gettext_lazy(
            "Invitees who came ÷ invitees, over the campaigns that ran at some time in the period (not drafts). "
            "Invitees: each campaign's list, without the holdout. Came: a visit at the dealership within the "
            "campaign's own period, before or after the call."
        ),
        unit="rate",
        compute=attendance_rate,
        rows=invitations_in,
        drill="invitations",
        section=SECTION,
    )
)
register_kpi(
    KPI(
        code="campaigns.sign_rate",
        label=gettext_lazy("Campaign sign rate"),
        definition=gettext_lazy(
            "Invitees who booked ÷ invitees, over the campaigns that ran at some time in the period (not drafts). "
            "Booked (签单): accepted on the call with an appointment date."
        ),
        unit="rate",
        compute=sign_rate,
        rows=invitations_in,
        drill="invitations",
        section=SECTION,
    )
)
register_kpi(
    KPI(
        code="campaigns.cost_per_signing",
        label=gettext_lazy("Cost per signing"),
        definition=gettext_lazy(
            "The cost entered on the campaigns that ran at some time in the period ÷ their invitees who booked "
            "(签单成本). Not shown for an agent's own figures."
        ),
        unit="money",
        compute=cost_per_signing,
        rows=invitations_in,
        drill="invitations",
        higher_is_better=False,
        section=SECTION,
    )
)


# --- the campaign a report is about --------------------------------------------------------------------------


def campaign_param(scope, params) -> Campaign:
    """The ``campaign`` parameter: a campaign of the scope's dealerships (another's, or none, answers 404);
    missing, 400."""
    value = str((params or {}).get("campaign") or "").strip()
    if not value:
        raise ApplicationError(
            _("Choose a campaign."), code="campaign_required", fields={"campaign": [_("Choose a campaign.")]}
        )
    if not value.isdigit():
        raise Http404(_("No such campaign."))
    campaign = (
        Campaign.objects.filter(dealership_id__in=scope.dealership_ids, pk=int(value))
        .select_related("dealership")
        .first()
    )
    if campaign is None:
        raise Http404(_("No such campaign."))
    return campaign


def _agent(scope):
    """The agent whose own figures the scope reads (an object with ``pk`` for the selectors), or None."""
    if scope.agent_id is None:
        return None
    return scope.user if getattr(scope.user, "pk", None) == scope.agent_id else scope.agent_id


def _rate(numerator, denominator):
    return Decimal(numerator) / Decimal(denominator) if denominator else None


def _money(value):
    return None if value is None else Decimal(value).quantize(_CENT, ROUND_HALF_UP)


CAMPAIGN_PARAM = Param("campaign", gettext_lazy("Campaign"), required=True)


# --- campaign analysis (seed 001's 市场活动量化分析表) -----------------------------------------------------------


def build_analysis(scope, period, params) -> list[Table]:
    """Per campaign that ran in the period: invited, attended, attendance rate, booked (签单量), sign rate, cost,
    cost per signing; and the totals (rates pooled). Two queries."""
    agent = _agent(scope)
    campaigns = list(campaigns_in(scope, period).select_related("dealership"))
    outcomes = selectors.campaign_outcomes(campaign_ids=[c.pk for c in campaigns], agent=agent)
    rows = []
    for campaign in campaigns:
        outcome = selectors.outcome_of(outcomes.get(campaign.pk))
        cost = None if agent is not None else campaign.cost
        booked = outcome["booked"]
        rows.append(
            {
                "code": campaign.code,
                "name": campaign.name,
                "dealership": campaign.dealership.name,
                "period": f"{campaign.starts_on:%Y-%m-%d} – {campaign.ends_on:%Y-%m-%d}",
                "status": str(campaign.get_status_display()),
                "invited": outcome["invited"],
                "attended": outcome["attended"],
                "attendance_rate": _rate(outcome["attended"], outcome["invited"]),
                "booked": outcome["booked"],
                "sign_rate": _rate(outcome["booked"], outcome["invited"]),
                "cost": cost,
                "cost_per_signing": _money(cost / outcome["booked"])
                if cost is not None and outcome["booked"]
                else None,
            }
        )
    totals = None
    if rows:
        invited, attended, booked = (sum(row[key] for row in rows) for key in ("invited", "attended", "booked"))
        cost = None if agent is not None else sum((row["cost"] for row in rows), start=ZERO)
        totals = {
            "code": pgettext("campaign report", "Total"),
            "invited": invited,
            "attended": attended,
            "attendance_rate": _rate(attended, invited),
            "booked": booked,
            "sign_rate": _rate(booked, invited),
            "cost": cost,
            "cost_per_signing": _money(cost / booked) if cost is not None and booked else None,
        }
    columns = [
        Column("code", _("Code"), "text"),
        Column("name", _("Campaign"), "text"),
        *([Column("dealership", _("Dealership"), "text")] if scope.is_group else []),
        Column("period", _("Period"), "text"),
        Column("status", _("Status"), "text"),
        Column("invited", pgettext("campaign report", "Invited"), "int", _("The list, without the holdout.")),
        Column(
            "attended",
            pgettext("campaign report", "Attended"),
            "int",
            _("Invitees with a visit within the campaign's period."),
        ),
        Column("attendance_rate", pgettext("campaign report", "Attendance rate"), "rate", _("Attended ÷ invited.")),
        Column(
            "booked",
            pgettext("campaign report", "Signed (booked)"),
            "int",
            _("Invitees who accepted with an appointment."),
        ),
        Column("sign_rate", pgettext("campaign report", "Sign rate"), "rate", _("Booked ÷ invited.")),
        Column("cost", pgettext("campaign report", "Cost"), "money", _("The cost entered on the campaign.")),
        Column("cost_per_signing", pgettext("campaign report", "Cost per signing"), "money", _("Cost ÷ booked.")),
    ]
    notes = [
        _(
            "Campaigns that ran at some time in the period, each over its own period: an invitee attended with "
            "a visit within it. Overlapping campaigns each count a visit."
        )
    ]
    if agent is not None:
        notes.append(_("Your own invitations only; the cost is the campaign's, not shown here."))
    return [
        Table(
            key="campaigns",
            title=_("Campaign analysis"),
            columns=columns,
            rows=rows,
            totals=totals,
            chart=Chart("bar", "code", ("invited", "attended", "booked"), _("Invited, attended and booked")),
            notes=notes,
            empty_text=_("No campaign ran in this period."),
        )
    ]


# --- per target group (seed 002) -----------------------------------------------------------------------------

BANDS = list(AgeBand)


def _group_table(campaign, summary, agent) -> Table:
    rows = []
    for row in summary:
        rows.append(
            {
                "group": row["group"].name,
                "invited": row["invited"],
                "attended": row["attended"],
                "success_rate": _rate(row["attended"], row["invited"]),
                "goal_rate": row["group"].goal_rate,
                "booked": row["booked"],
                "sign_rate": _rate(row["booked"], row["invited"]),
                "revenue": row["revenue"],
                "average_ticket": _money(row["revenue"] / row["attended"]) if row["attended"] else None,
            }
        )
    invited, attended, booked = (sum(row[key] for row in rows) for key in ("invited", "attended", "booked"))
    revenue = sum((row["revenue"] for row in rows), start=ZERO)
    totals = {
        "group": pgettext("campaign report", "All target groups"),
        "invited": invited,
        "attended": attended,
        "success_rate": _rate(attended, invited),
        "booked": booked,
        "sign_rate": _rate(booked, invited),
        "revenue": revenue,
        "average_ticket": _money(revenue / attended) if attended else None,
    }
    return Table(
        key="groups",
        title=_("Per target group"),
        columns=[
            Column("group", _("Target group"), "text"),
            Column(
                "invited",
                pgettext("campaign report", "Planned invitations"),
                "int",
                _("The list after exclusions, without the holdout."),
            ),
            Column(
                "attended",
                pgettext("campaign report", "Participants"),
                "int",
                _("Invitees with a visit within the campaign's period."),
            ),
            Column(
                "success_rate",
                pgettext("campaign report", "Success rate"),
                "rate",
                _("Participants ÷ planned invitations."),
            ),
            Column("goal_rate", _("Goal"), "rate"),
            Column("booked", pgettext("campaign report", "Signed (booked)"), "int"),
            Column("sign_rate", pgettext("campaign report", "Sign rate"), "rate", _("Booked ÷ planned invitations.")),
            Column("revenue", _("Revenue"), "money", _("The participants' visits within the campaign's period.")),
            Column("average_ticket", _("Average ticket"), "money", _("Revenue ÷ participants (per customer).")),
        ],
        rows=rows,
        totals=totals if rows else None,
        chart=Chart("bar", "group", ("invited", "attended"), _("Planned invitations and participants")),
        empty_text=_("The campaign has no target group yet."),
    )


def _model_age_table(campaign, summary, agent) -> Table:
    """Rows: target group × model; columns: each age band's invited and success rate (participants ÷ invited)."""
    names = {row["group"].pk: row["group"].name for row in summary}
    order = {row["group"].pk: i for i, row in enumerate(summary)}
    cells: dict = {}
    present = set()
    for cell in selectors.model_age_results(campaign=campaign, agent=agent):
        key = (cell["target_group_id"], cell["model"])
        cells.setdefault(key, {})[cell["band"]] = cell
        present.add(cell["band"])
    bands = [band for band in BANDS if band.value in present]
    if "" in present:
        bands.append(None)
    rows = []
    for (group_id, model), by_band in sorted(cells.items(), key=lambda item: (order.get(item[0][0], 0), item[0][1])):
        row = {"group": names.get(group_id, ""), "model": model or _("No vehicle")}
        for band in bands:
            code = "" if band is None else band.value
            cell = by_band.get(code)
            row[f"invited_{code or 'unknown'}"] = cell["invited"] if cell else None
            row[f"rate_{code or 'unknown'}"] = _rate(cell["attended"], cell["invited"]) if cell else None
        rows.append(row)
    columns = [Column("group", _("Target group"), "text"), Column("model", _("Model"), "text")]
    for band in bands:
        key = "unknown" if band is None else band.value
        label = _("age unknown") if band is None else str(band.label)
        columns.append(Column(f"invited_{key}", _("%(band)s: invited") % {"band": label}, "int"))
        columns.append(
            Column(f"rate_{key}", _("%(band)s: success") % {"band": label}, "rate", _("Participants ÷ invited."))
        )
    return Table(
        key="model_age",
        title=_("Success by model and vehicle age"),
        columns=columns,
        rows=rows,
        notes=[_("Vehicle age on the campaign's first day, of the vehicle the invitation names.")],
        empty_text=_("Nobody is invited yet."),
    )


def _agent_table(campaign, agent) -> Table:
    rows = []
    for row in selectors.agent_progress(campaign=campaign):
        if agent is not None and row["agent_id"] != getattr(agent, "pk", agent):
            continue
        rows.append(
            {
                "agent": row["agent"],
                "invitations": row["invitations"],
                "calls": row["calls"],
                "reached": row["reached"],
                "booked": row["accepted"],
                "sign_rate": _rate(row["accepted"], row["invitations"]),
                "attended": row["attended"],
                "success_rate": _rate(row["attended"], row["invitations"]),
            }
        )
    return Table(
        key="agents",
        title=_("By agent"),
        columns=[
            Column("agent", _("Agent"), "text"),
            Column("invitations", pgettext("campaign report", "Invited"), "int"),
            Column("calls", _("Calls"), "int"),
            Column("reached", _("Reached"), "int"),
            Column("booked", pgettext("campaign report", "Signed (booked)"), "int"),
            Column("sign_rate", pgettext("campaign report", "Sign rate"), "rate", _("Booked ÷ invited.")),
            Column("attended", pgettext("campaign report", "Participants"), "int"),
            Column("success_rate", pgettext("campaign report", "Success rate"), "rate", _("Participants ÷ invited.")),
        ],
        rows=rows,
        chart=Chart("bar", "agent", ("invitations", "attended"), _("Invited and participants by agent")),
        empty_text=_("No invitation is assigned to an agent."),
    )


def _coupon_table(campaign, agent) -> Table:
    rows = [
        {
            "template": row["template__name"],
            "issued": row["issued"],
            "redeemed": row["redeemed"],
            "redemption_rate": _rate(row["redeemed"], row["issued"]),
            "open": row["open"],
        }
        for row in selectors.coupon_results(campaign=campaign, agent=agent)
    ]
    return Table(
        key="coupons",
        title=_("Coupons"),
        columns=[
            Column("template", _("Coupon"), "text"),
            Column("issued", _("Issued"), "int"),
            Column("redeemed", _("Redeemed"), "int"),
            Column("redemption_rate", _("Redemption rate"), "rate", _("Redeemed ÷ issued.")),
            Column("open", _("Still open"), "int"),
        ],
        rows=rows,
        empty_text=_("The campaign issued no coupon."),
    )


def _variant_table(campaign, agent) -> Table:
    rows = []
    for row in selectors.variant_results(campaign=campaign, agent=agent):
        comparison = row["comparison"]
        rows.append(
            {
                "group": row["group"].name,
                "a_invited": row["a"]["invited"],
                "a_rate": _dec(comparison.rate_a),
                "b_invited": row["b"]["invited"],
                "b_rate": _dec(comparison.rate_b),
                "difference": _dec(comparison.difference),
                "p_value": _dec(comparison.p_value, "0.0001"),
                "significant": _("yes") if comparison.significant else (_("no") if comparison.test else ""),
            }
        )
    return Table(
        key="variants",
        title=_("A/B variants"),
        columns=[
            Column("group", _("Target group"), "text"),
            Column("a_invited", _("A: invited"), "int"),
            Column("a_rate", _("A: sign rate"), "rate"),
            Column("b_invited", _("B: invited"), "int"),
            Column("b_rate", _("B: sign rate"), "rate"),
            Column("difference", _("B − A"), "rate"),
            Column("p_value", _("p-value"), "decimal", _("Two-sided; Fisher's exact test for small counts.")),
            Column("significant", _("Significant (α = 0.05)"), "text"),
        ],
        rows=rows,
        empty_text=_("No target group is split between two variants."),
    )


def _holdout_table(summary) -> Table:
    rows = []
    for row in selectors.holdout_results(summary=summary):
        uplift = row["uplift"]
        rows.append(
            {
                "group": row["group"].name,
                "called_rate": _dec(uplift.called_rate),
                "holdout_rate": _dec(uplift.holdout_rate),
                "uplift": _dec(uplift.uplift),
                "low": _dec(uplift.low),
                "high": _dec(uplift.high),
            }
        )
    return Table(
        key="holdouts",
        title=_("Holdout comparison"),
        columns=[
            Column("group", _("Target group"), "text"),
            Column("called_rate", _("Attendance of the called"), "rate"),
            Column("holdout_rate", _("Attendance of the holdout"), "rate"),
            Column("uplift", _("Uplift"), "rate", _("Attendance of the called minus that of the holdout.")),
            Column("low", _("Interval low (95%)"), "rate"),
            Column("high", _("Interval high (95%)"), "rate"),
        ],
        rows=rows,
        empty_text=_("No target group keeps a holdout."),
    )


def _dec(value, places: str = "0.0001"):
    return None if value is None else Decimal(str(value)).quantize(Decimal(places), ROUND_HALF_UP)


def build_groups(scope, period, params) -> list[Table]:
    """Seed 002's tables for one campaign (its own period, whatever the report's period): per target group,
    non-target participants, model × vehicle age, agents, coupons, A/B variants and holdouts. An agent reads
    their own invitations (and no non-target participants: nobody's list)."""
    campaign = campaign_param(scope, params)
    agent = _agent(scope)
    summary = selectors.group_summary(campaign=campaign, agent=agent)
    tables = [_group_table(campaign, summary, agent)]
    if agent is None:
        non_target = selectors.non_target_participants(campaign=campaign)
        tables.append(
            Table(
                key="non_target",
                title=_("Non-target participants"),
                columns=[
                    Column("customers", _("Customers"), "int", _("Not on the list; a visit with the campaign's code.")),
                    Column("revenue", _("Revenue"), "money"),
                    Column("average_ticket", _("Average ticket"), "money"),
                ],
                rows=[
                    {
                        "customers": non_target["customers"],
                        "revenue": non_target["revenue"],
                        "average_ticket": _money(non_target["revenue"] / non_target["customers"])
                        if non_target["customers"]
                        else None,
                    }
                ],
            )
        )
    tables += [
        _model_age_table(campaign, summary, agent),
        _agent_table(campaign, agent),
        _coupon_table(campaign, agent),
        _variant_table(campaign, agent),
        _holdout_table(summary),
    ]
    for table in tables:
        table.notes.insert(0, _campaign_note(campaign))
    return tables


def _campaign_note(campaign) -> str:
    return _("%(code)s %(name)s, %(start)s – %(end)s.") % {
        "code": campaign.code,
        "name": campaign.name,
        "start": f"{campaign.starts_on:%Y-%m-%d}",
        "end": f"{campaign.ends_on:%Y-%m-%d}",
    }


# --- campaigns while they run -------------------------------------------------------------------------------


def in_progress(campaign, today) -> bool:
    """A campaign is in progress until its last day has passed and it is finished."""
    return campaign.status != Campaign.Status.FINISHED or today <= campaign.ends_on


def build_progress(scope, period, params) -> list[Table]:
    """One campaign while it runs: per target group, booked against all invited, against those called and
    against those reached; attendance split into before and after the first call. Marked in progress until it
    has ended."""
    campaign = campaign_param(scope, params)
    agent = _agent(scope)
    figures = selectors.progress_results(campaign=campaign, agent=agent)
    rows = []
    for group in campaign.target_groups.order_by("position", "id"):
        row = {"group": group.name, **_progress_row(figures.get(group.pk, {}))}
        rows.append(row)
    keys = ("invited", "called", "reached", "booked", "attended", "before_call", "after_call", "not_called")
    totals = {
        "group": pgettext("campaign report", "All target groups"),
        **_progress_row({k: sum(r[k] for r in rows) for k in keys}),
    }
    notes = [_campaign_note(campaign)]
    today = campaign.dealership.local_date()
    if in_progress(campaign, today):
        notes.append(
            _("In progress: the campaign runs until %(end)s; its figures still change.")
            % {"end": f"{campaign.ends_on:%Y-%m-%d}"}
        )
    if agent is not None:
        notes.append(_("Your own invitations only."))
    return [
        Table(
            key="progress",
            title=_("Campaign progress"),
            columns=[
                Column("group", _("Target group"), "text"),
                Column("invited", pgettext("campaign report", "Invited"), "int"),
                Column("called", _("Called"), "int", _("Invitees with at least one call.")),
                Column("reached", _("Reached"), "int", _("Calls that reached the customer.")),
                Column("booked", pgettext("campaign report", "Signed (booked)"), "int"),
                Column("rate_invited", _("Booked ÷ invited"), "rate"),
                Column("rate_called", _("Booked ÷ called"), "rate"),
                Column("rate_reached", _("Booked ÷ reached"), "rate"),
                Column("attended", pgettext("campaign report", "Attended"), "int"),
                Column("before_call", _("Came before the call"), "int", _("Every visit before the first call's day.")),
                Column("after_call", _("Came after the call"), "int", _("A visit on or after the first call's day.")),
                Column("not_called", _("Came, not called"), "int"),
            ],
            rows=rows,
            totals=totals if rows else None,
            chart=Chart("stacked", "group", ("before_call", "after_call", "not_called"), _("Attendance and the call")),
            notes=notes,
            empty_text=_("The campaign has no target group yet."),
        )
    ]


def _progress_row(figures: dict) -> dict:
    get = figures.get
    invited, called, reached, booked = get("invited", 0), get("called", 0), get("reached", 0), get("booked", 0)
    return {
        "invited": invited,
        "called": called,
        "reached": reached,
        "booked": booked,
        "rate_invited": _rate(booked, invited),
        "rate_called": _rate(booked, called),
        "rate_reached": _rate(booked, reached),
        "attended": get("attended", 0),
        "before_call": get("before_call", 0),
        "after_call": get("after_call", 0),
        "not_called": get("not_called", 0),
    }


register_report(
    Report(
        slug="campaign-analysis",
        title=gettext_lazy("Campaign analysis"),
        description=gettext_lazy(
            "Per campaign that ran in the period: invited, attended, attendance rate, signed (booked), sign rate, "
            "cost and cost per signing."
        ),
        build=build_analysis,
        section=SECTION,
        action="reports.all",
        default_period="last_quarter",
        order=10,
    )
)
register_report(
    Report(
        slug="campaign-groups",
        title=gettext_lazy("Campaign results per target group"),
        description=gettext_lazy(
            "One campaign: planned invitations, participants, success rate, revenue and average ticket per target "
            "group; non-target participants; success by model and vehicle age and by agent; coupons; A/B and "
            "holdout comparison."
        ),
        build=build_groups,
        section=SECTION,
        params=(CAMPAIGN_PARAM,),
        action="reports.view",
        default_period="last_quarter",
        order=11,
    )
)
register_report(
    Report(
        slug="campaign-progress",
        title=gettext_lazy("Campaign progress"),
        description=gettext_lazy(
            "One campaign while it runs: booked against the invited, the called and the reached; attendance "
            "before and after the call."
        ),
        build=build_progress,
        section=SECTION,
        params=(CAMPAIGN_PARAM,),
        action="reports.view",
        default_period="last_30",
        order=12,
    )
)
