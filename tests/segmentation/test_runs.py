"""Runs over time: idempotence, history that grows with changes, movement matrices, quarterly reviews,
rule versions, the command and the number of queries."""

from datetime import date
from decimal import Decimal
from io import StringIO
from itertools import pairwise

import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import VisitType
from dealercrm.core.exceptions import ApplicationError
from segmentation.models import CustomerSegment, RuleSet, SegmentationRun, VehicleForecast
from segmentation.selectors import customer_segments_at, movement_matrix, quarterly_review
from segmentation.services import ruleset_current, ruleset_update, segmentation_run
from tests.factories import CustomerFactory, ServiceVisitFactory, VehicleFactory
from tests.segmentation.test_engine import REF, before, build

M, R = VisitType.MAINTENANCE, VisitType.REPAIR


def a_few_customers(dealership):
    return [
        build(dealership, [(10, M, "800"), (100, M, "800"), (200, R, "5000"), (300, M, "800")]),
        build(dealership, [(40, M, "300")]),
        build(dealership, [(400, R, "12000")]),
        build(dealership, []),
    ]


def add_visits(customer, days_before, kind, amount):
    for days in days_before:
        ServiceVisitFactory(
            vehicle=customer.vehicles.get(),
            opened_on=before(days),
            closed_on=None,
            visit_type=kind,
            total_amount=Decimal(amount),
        )


def results(run) -> dict[int, tuple]:
    fields = ("customer_id", *CustomerSegment.RESULT_FIELDS)
    return {row[0]: row[1:] for row in customer_segments_at(run=run).values_list(*fields)}


def test_a_second_run_for_the_same_date_and_rules_gives_the_same_result_and_writes_nothing(dealership):
    a_few_customers(dealership)
    first = segmentation_run(dealership=dealership, reference_date=REF)
    rows = (CustomerSegment.objects.count(), VehicleForecast.objects.count())

    again = segmentation_run(dealership=dealership, reference_date=REF)
    forced = segmentation_run(dealership=dealership, reference_date=REF, force=True)

    assert again.reused_from == first and again.changed_customers == 0
    assert forced.reused_from is None and (forced.changed_customers, forced.changed_vehicles) == (0, 0)
    assert (CustomerSegment.objects.count(), VehicleForecast.objects.count()) == rows
    assert results(first) == results(again) == results(forced)
    assert forced.counts == first.counts and forced.value_threshold == first.value_threshold


def test_history_grows_with_changes_and_each_run_keeps_its_result(dealership):
    regular, occasional, *_ = a_few_customers(dealership)
    first = segmentation_run(dealership=dealership, reference_date=REF)
    before_visit = results(first)[occasional.pk]

    # When the occasional customer comes twice more and the run is repeated
    add_visits(occasional, (5, 3), M, "300")
    second = segmentation_run(dealership=dealership, reference_date=REF)

    # Then one row is written for that customer only, and the first run still answers as it did
    assert second.reused_from is None and second.changed_customers == 1
    assert CustomerSegment.objects.filter(customer=occasional).count() == 2
    assert CustomerSegment.objects.filter(customer=regular).count() == 1
    assert results(first)[occasional.pk] == before_visit
    assert results(second)[occasional.pk][1] == "A"  # tier: 3 visits in the last 12 months
    assert results(first)[regular.pk] == results(second)[regular.pk]


def test_a_run_for_a_later_day_writes_only_what_the_day_changed(dealership):
    customers = a_few_customers(dealership)
    segmentation_run(dealership=dealership, reference_date=REF)
    next_day = segmentation_run(dealership=dealership, reference_date=date(2025, 7, 1))

    assert next_day.changed_customers < len(customers)


def test_a_failed_run_is_recorded_with_its_error_and_leaves_no_rows(dealership, monkeypatch):
    a_few_customers(dealership)

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("segmentation.services.load_inputs", broken)
    with pytest.raises(RuntimeError):
        segmentation_run(dealership=dealership, reference_date=REF)

    run = SegmentationRun.objects.get()
    assert run.status == SegmentationRun.Status.FAILED and "disk full" in run.error
    assert not CustomerSegment.objects.exists()
    with pytest.raises(ApplicationError):
        customer_segments_at(run=run)


def test_a_run_left_running_by_a_dead_worker_is_marked_interrupted_by_the_next(dealership):
    a_few_customers(dealership)
    dead = SegmentationRun.objects.create(
        dealership=dealership, rule_set=ruleset_current(dealership=dealership), reference_date=REF, trigger="schedule"
    )

    done = segmentation_run(dealership=dealership, reference_date=REF)

    dead.refresh_from_db()
    assert (dead.status, dead.error) == ("failed", "Interrupted before it finished.")
    assert done.status == "succeeded" and done.pk > dead.pk


def test_runs_of_one_dealership_leave_another_alone(dealership, other_dealership):
    a_few_customers(dealership)
    theirs = build(other_dealership, [(10, M, "500")])

    segmentation_run(dealership=dealership, reference_date=REF)

    assert not CustomerSegment.objects.filter(customer=theirs).exists()
    assert CustomerSegment.objects.filter(dealership=dealership).count() == 4


def test_the_number_of_queries_does_not_grow_with_the_number_of_customers(dealership):
    def queries_for(extra: int) -> int:
        for i in range(extra):
            build(dealership, [(10 + i, M, "500"), (200, R, "900")])
        with CaptureQueriesContext(connection) as captured:
            segmentation_run(dealership=dealership, reference_date=REF, force=True)
        return len(captured)

    queries_for(0)  # the first run also creates the default rules
    small = queries_for(3)
    large = queries_for(40)

    assert CustomerSegment.objects.filter(valid_to__isnull=True).count() == 43
    assert large == small


# --- movement matrix and quarterly review -------------------------------------------------------------


def test_the_movement_matrix_counts_customers_from_each_value_to_each_value(dealership):
    _regular, occasional, _lost, _never = a_few_customers(dealership)
    first = segmentation_run(dealership=dealership, reference_date=REF)
    add_visits(occasional, (5, 3), M, "300")
    build(dealership, [(2, M, "300")])  # a newcomer: from "" to C
    second = segmentation_run(dealership=dealership, reference_date=REF)

    tiers = movement_matrix(before=first, after=second, dimension="tier")

    assert tiers["rows"] == {"A": {"A": 1}, "C": {"A": 1}, "D": {"D": 2}, "": {"C": 1}}
    assert tiers["total"] == 5
    assert tiers["values"] == ["A", "B", "C", "D", ""]  # every tier, then "" for "not there before"
    layers = movement_matrix(before=first, after=second, dimension="layer")
    assert sum(n for row in layers["rows"].values() for n in row.values()) == 5


def test_the_quarterly_review_lists_upgrades_and_downgrades_between_quarter_ends(dealership):
    rising = build(dealership, [(200, R, "6000"), (250, R, "6000")])  # ¥12,000, 2 visits a year: mid
    falling = build(dealership, [(340, R, "20000"), (370, R, "20000")])  # ¥40,000, 2 visits a year: mid
    steady = build(dealership, [(20, M, "300")])
    segmentation_run(dealership=dealership, reference_date=date(2025, 3, 31))
    # by the end of June the rising customer came twice more, and one of the falling one's visits is past a year
    add_visits(rising, (10, 20), R, "10000")
    segmentation_run(dealership=dealership, reference_date=REF)

    review = quarterly_review(
        dealership=dealership, first_quarter_end=date(2025, 3, 31), second_quarter_end=date(2025, 6, 30)
    )

    changes = {c["customer_id"]: (c["from"], c["to"], c["direction"]) for c in review["changes"]}
    assert changes == {rising.pk: ("mid", "high", "upgrade"), falling.pk: ("mid", "potential", "downgrade")}
    assert steady.pk not in changes
    assert [c["direction"] for c in review["changes"]] == ["upgrade", "downgrade"]


def test_the_quarterly_review_asks_for_a_run_when_a_quarter_has_none(dealership):
    with pytest.raises(ApplicationError, match="2025-03-31"):
        quarterly_review(dealership=dealership, first_quarter_end=date(2025, 3, 31), second_quarter_end=REF)


# --- rule versions ------------------------------------------------------------------------------------


def test_a_change_of_rules_makes_a_new_version_and_old_runs_keep_theirs(dealership, as_manager):
    build(dealership, [(10, M, "500")])
    first = segmentation_run(dealership=dealership, reference_date=REF)

    new = ruleset_update(
        dealership=dealership, changes={"maintenance_threshold": Decimal("1.5")}, acting_user=as_manager, note="x"
    )
    second = segmentation_run(dealership=dealership, reference_date=REF)

    assert (first.rule_set.version, new.version, second.rule_set) == (1, 2, new)
    first.refresh_from_db()
    assert first.rule_set.maintenance_threshold == Decimal("2.00")
    assert new.created_by == as_manager
    assert second.reused_from is None  # other rules: computed again


def test_unchanged_rules_are_refused(dealership):
    with pytest.raises(ApplicationError, match="version 1"):
        ruleset_update(dealership=dealership, changes={"window_days": 730})


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"maintenance_threshold": Decimal("0")}, "maintenance_threshold"),
        ({"repair_ratio_threshold": Decimal("1.5")}, "repair_ratio_threshold"),
        ({"value_threshold_mode": "fixed"}, "value_threshold_fixed"),
        ({"tier_b_min": 3}, "tier_a_min"),
        ({"mid_value_from": Decimal("40000")}, "high_value_above"),
        ({"c3_mapping": {"HHH": "profitable_loyal"}}, "c3_mapping"),
        ({"c3_mapping": {**RuleSet().c3_mapping, "LLL": "profitable_loyal"}}, "c3_mapping"),
        ({"c3_mapping": {**RuleSet().c3_mapping, "LLL": "gold"}}, "c3_mapping"),
        ({"brand_schedules": {"别克": {"interval_days": -5}}}, "brand_schedules"),
        ({"window_days": 30}, "window_days"),
    ],
)
def test_bad_rules_are_refused_with_the_field_named_and_nothing_saved(dealership, changes, field):
    ruleset_current(dealership=dealership)

    with pytest.raises(ValidationError) as refused:
        ruleset_update(dealership=dealership, changes=changes)

    assert field in refused.value.message_dict
    assert RuleSet.objects.filter(dealership=dealership).count() == 1


def test_unknown_rule_names_are_refused(dealership):
    with pytest.raises(ApplicationError, match="colour"):
        ruleset_update(dealership=dealership, changes={"colour": "red"})


# --- the command ----------------------------------------------------------------------------------------


def test_the_segment_command_runs_one_dealership_or_every_one(dealership, other_dealership):
    build(dealership, [(10, M, "500")])
    build(other_dealership, [(10, M, "500")])
    out = StringIO()

    call_command("segment", "--dealership", "SZ01", "--date", "2025-06-30", stdout=out)
    assert "SZ01: run #" in out.getvalue() and "2025-06-30" in out.getvalue()
    assert SegmentationRun.objects.filter(dealership=dealership, trigger="command").count() == 1

    call_command("segment", "--date", "2025-06-30", stdout=out)
    assert SegmentationRun.objects.filter(dealership=other_dealership).count() == 1
    assert "unchanged since run" in out.getvalue()  # SZ01 again: nothing changed


def test_the_segment_command_refuses_unknown_stores_and_bad_dates(dealership):
    with pytest.raises(CommandError, match="NOPE"):
        call_command("segment", "--dealership", "NOPE")
    with pytest.raises(CommandError, match="2025-13-01"):
        call_command("segment", "--date", "2025-13-01")


def test_the_nightly_task_runs_every_active_dealership(dealership, other_dealership):
    from segmentation.tasks import segment_all_task

    VehicleFactory(owner=CustomerFactory(dealership=dealership))
    other_dealership.is_active = False
    other_dealership.save()

    segment_all_task.delay()  # eager in tests: each dealership's task runs at once

    assert list(SegmentationRun.objects.values_list("dealership__code", "trigger", "status")) == [
        ("SZ01", "schedule", "succeeded")
    ]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_runs_of_one_store_at_the_same_moment_take_turns_and_keep_the_history_whole():
    import threading

    from django.db import connections

    from tests.factories import DealershipFactory

    store = DealershipFactory(code="TWICE")
    customers = [build(store, [(10 + i, M, "500"), (200, R, "900")]) for i in range(5)]
    barrier, errors = threading.Barrier(2), []

    def run(day):
        try:
            barrier.wait(timeout=10)
            segmentation_run(dealership=store, reference_date=day, force=True)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(day,)) for day in (REF, date(2026, 6, 30))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert SegmentationRun.objects.filter(dealership=store, status="succeeded").count() == 2
    for customer in customers:
        rows = list(CustomerSegment.objects.filter(customer=customer).order_by("valid_from_id"))
        assert [r.valid_to_id is None for r in rows].count(True) == 1
        assert all(r.valid_to_id is None or r.valid_to_id > r.valid_from_id for r in rows)
        assert all(a.valid_to_id == b.valid_from_id for a, b in pairwise(rows))
