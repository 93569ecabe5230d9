"""Every read of segmentation, scoped to a dealership."""

from __future__ import annotations

from datetime import date

from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from dealercrm.core.exceptions import ApplicationError, StateConflict
from dealercrm.core.models import Dealership

from .models import C3Group, CustomerSegment, RuleSet, SegmentationRun, Tier, ValueLayer, VehicleForecast

DIMENSIONS = {
    "c3": ("c3_group", [*C3Group.values, ""]),
    "tier": ("tier", Tier.values),
    "layer": ("value_layer", ValueLayer.values),
}


def runs(*, dealership: Dealership) -> QuerySet[SegmentationRun]:
    return SegmentationRun.objects.filter(dealership=dealership).select_related("rule_set", "started_by")


def run_get(*, dealership: Dealership, pk: int) -> SegmentationRun:
    return get_object_or_404(runs(dealership=dealership), pk=pk)


def run_latest(*, dealership: Dealership) -> SegmentationRun | None:
    return runs(dealership=dealership).filter(status=SegmentationRun.Status.SUCCEEDED).order_by("-id").first()


def rule_sets(*, dealership: Dealership) -> QuerySet[RuleSet]:
    return RuleSet.objects.filter(dealership=dealership).select_related("created_by").order_by("-version")


def _valid_at(run: SegmentationRun) -> Q:
    return Q(valid_from_id__lte=run.pk) & (Q(valid_to__isnull=True) | Q(valid_to_id__gt=run.pk))


def customer_segments_at(*, run: SegmentationRun) -> QuerySet[CustomerSegment]:
    """Each customer's result as ``run`` left it (rows written by earlier runs still hold when unchanged)."""
    if run.status != SegmentationRun.Status.SUCCEEDED:
        raise StateConflict(
            _("Run #%(id)s did not finish: it has no results.") % {"id": run.pk}, code="run_not_finished"
        )
    return CustomerSegment.objects.filter(_valid_at(run), dealership_id=run.dealership_id)


def vehicle_forecasts_at(*, run: SegmentationRun) -> QuerySet[VehicleForecast]:
    return VehicleForecast.objects.filter(_valid_at(run), dealership_id=run.dealership_id)


def customer_segment_current(*, dealership: Dealership, customer_id: int) -> CustomerSegment | None:
    """The customer's result as the latest run left it, with that run (the one that wrote it)."""
    return (
        CustomerSegment.objects.filter(dealership=dealership, customer_id=customer_id, valid_to__isnull=True)
        .select_related("valid_from")
        .first()
    )


def vehicle_forecasts_current(*, dealership: Dealership, customer) -> list[VehicleForecast]:
    """The current forecasts of the vehicles the customer owns now."""
    return list(
        VehicleForecast.objects.filter(dealership=dealership, vehicle__owner=customer, valid_to__isnull=True)
        .select_related("vehicle")
        .order_by("next_due_on", "vehicle__plate")
    )


def movement_matrix(*, before: SegmentationRun, after: SegmentationRun, dimension: str) -> dict:
    """How many customers moved from each value of ``dimension`` ("c3", "tier" or "layer") in ``before``
    to each value in ``after``: ``{"values": [...], "rows": {from: {to: n}}, "total": n, "new": {to: n}}``.

    In ``rows`` a customer new since ``before`` counts as coming from "" (a deleted customer's history goes
    with them); ``new`` counts them on their own (for C3, "" in ``rows`` is also "no group"), and
    ``rows_before`` holds the customers ``before`` had, without them.
    One query, whatever the number of customers.
    """
    if before.dealership_id != after.dealership_id:
        raise ApplicationError(_("Both runs must be of the same dealership."), code="other_dealership")
    field, values = DIMENSIONS[dimension]
    old = customer_segments_at(run=before).values("customer_id", field)
    new = customer_segments_at(run=after)
    pairs = (
        new.annotate(
            old=_subquery_value(old, field),
        )
        .values("old", field)
        .annotate(n=Count("id"))
        .order_by()
    )
    rows: dict[str, dict[str, int]] = {}
    rows_before: dict[str, dict[str, int]] = {}
    new_since: dict[str, int] = {}
    total = 0
    for pair in pairs:
        target, n = pair[field], pair["n"]
        if pair["old"] is None:  # no result in ``before``: new since (a field of a result is never NULL)
            new_since[target] = new_since.get(target, 0) + n
        else:
            rows_before.setdefault(pair["old"], {})[target] = n
        row = rows.setdefault(pair["old"] if pair["old"] is not None else "", {})
        row[target] = row.get(target, 0) + n  # "" holds both "new since" and "no group" (for C3): add them up
        total += n
    present = set(values) | set(rows) | {k for r in rows.values() for k in r}
    ordered = [v for v in values if v in present] + sorted(present - set(values))
    return {
        "dimension": dimension,
        "values": ordered,
        "rows": rows,
        "total": total,
        "rows_before": rows_before,
        "new": new_since,
    }


def _subquery_value(old_rows, field: str):
    return Subquery(old_rows.filter(customer_id=OuterRef("customer_id")).values(field)[:1])


def run_on_or_before(*, dealership: Dealership, day: date) -> SegmentationRun | None:
    """The last finished run whose reference date is on or before ``day``."""
    return (
        runs(dealership=dealership)
        .filter(status=SegmentationRun.Status.SUCCEEDED, reference_date__lte=day)
        .order_by("-reference_date", "-id")
        .first()
    )


LAYER_RANK = {ValueLayer.POTENTIAL.value: 0, ValueLayer.MID.value: 1, ValueLayer.HIGH.value: 2}


def quarterly_review(*, dealership: Dealership, first_quarter_end: date, second_quarter_end: date) -> dict:
    """Each customer whose value layer changed between the runs in force at two quarter ends.

    ``{"before": run, "after": run, "changes": [{"customer_id", "customer_no", "name", "from", "to",
    "direction"}]}``, upgrades first.
    """
    before = run_on_or_before(dealership=dealership, day=first_quarter_end)
    after = run_on_or_before(dealership=dealership, day=second_quarter_end)
    if before is None or after is None:
        raise ApplicationError(
            _("No segmentation run on or before %(day)s: run one for that date first.")
            % {"day": (first_quarter_end if before is None else second_quarter_end).isoformat()},
            code="no_run_for_day",
        )
    old = customer_segments_at(run=before).values("customer_id", "value_layer")
    rows = (
        customer_segments_at(run=after)
        .annotate(old=_subquery_value(old, "value_layer"))
        .exclude(old__isnull=True)
        .exclude(old=F("value_layer"))
        .values("customer_id", "customer__customer_no", "customer__name", "old", "value_layer")
        .order_by("customer__customer_no")
    )
    changes = []
    for row in rows:
        up = LAYER_RANK[row["value_layer"]] > LAYER_RANK[row["old"]]
        changes.append(
            {
                "customer_id": row["customer_id"],
                "customer_no": row["customer__customer_no"],
                "name": row["customer__name"],
                "from": row["old"],
                "to": row["value_layer"],
                "direction": "upgrade" if up else "downgrade",
            }
        )
    changes.sort(key=lambda c: c["direction"] != "upgrade")
    return {"before": before, "after": after, "changes": changes}
