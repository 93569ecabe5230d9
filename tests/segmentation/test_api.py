"""REST API v1 of segmentation: rule versions, runs, per-customer results, movement and the quarterly review —
the role table, tenancy, validation, filters, paging and query counts, on hand-built customers."""

import json
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from customers.models import VisitType
from dealercrm.core.roles import Role
from segmentation.models import RuleSet, SegmentationRun
from segmentation.services import ruleset_current, segmentation_run
from segmentation.tagging import customer_tag_add, tag_create
from tests.factories import CustomerFactory, VehicleFactory
from tests.segmentation.test_engine import CELLS, REF, before, build, fixed_value, visits_for
from tests.segmentation.test_runs import a_few_customers, add_visits

pytestmark = pytest.mark.django_db

M, R = VisitType.MAINTENANCE, VisitType.REPAIR

RULES = "api-segmentation-rule-list"
RUNS = "api-segmentation-run-list"
CUSTOMERS = "api-segmentation-customer-list"
REVIEW = "api-segmentation-quarterly-review"


def rule_url(rule_set):
    return reverse("api-segmentation-rule-detail", args=[rule_set.pk])


def run_url(run):
    return reverse("api-segmentation-run-detail", args=[run.pk])


def movement_url(run):
    return reverse("api-segmentation-run-movement", args=[run.pk])


@pytest.fixture
def seg(dealership):
    """SZ01 with fixed value rules (version 2), a profitable-loyal customer, a customer with no visit, and a run."""
    rules = fixed_value(dealership)
    loyal = build(dealership, visits_for("HHH"))
    idle = build(dealership, [])
    run = segmentation_run(dealership=dealership, reference_date=REF)
    return {"rules": rules, "run": run, "loyal": loyal, "idle": idle}


# --- Who may call what (each URL × role × method: tests/core/test_access.py) ------------------------------------


@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AGENT])
def test_the_stores_customer_rows_are_an_export_refused_to_advisors_and_agents(role, users, seg, api_client_for):
    # Given an advisor or an agent, who read the segmentation but may not export the store's personal data
    api = api_client_for(users[role])

    # Then the customer rows of a run (every customer of the store, page after page) are refused
    assert api.get(reverse(CUSTOMERS), {"run": seg["run"].pk}).status_code == 403
    # while the run's figures stay readable
    assert api.get(run_url(seg["run"])).status_code == 200


@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AGENT])
def test_the_quarterly_review_naming_customers_is_refused_to_advisors_and_agents(role, users, seg, api_client_for):
    response = api_client_for(users[role]).get(reverse(REVIEW), {"first": "2025-03-31", "second": "2025-06-30"})

    assert response.status_code == 403


@pytest.mark.parametrize("role", [Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN])
def test_managers_read_the_stores_customer_rows(role, users, seg, api_client_for):
    response = api_client_for(users[role]).get(reverse(CUSTOMERS), {"run": seg["run"].pk})

    assert response.status_code == 200
    assert {row["customer_id"] for row in response.json()["results"]} == {seg["loyal"].pk, seg["idle"].pk}


def test_lists_show_only_the_current_dealership(outsider, other_dealership, seg, api_client_for):
    theirs = segmentation_run(dealership=other_dealership, reference_date=REF)
    api = api_client_for(outsider)

    rules = api.get(reverse(RULES)).json()["results"]
    runs = api.get(reverse(RUNS)).json()["results"]
    current = api.get(reverse("api-segmentation-rule-current")).json()

    assert [rule["id"] for rule in rules] == [theirs.rule_set_id] == [current["id"]]
    assert [run["id"] for run in runs] == [theirs.pk]
    assert api.get(reverse(CUSTOMERS)).json()["run"]["id"] == theirs.pk


def test_the_earlier_run_of_a_movement_must_be_of_the_same_dealership(
    as_manager, other_dealership, seg, api_client_for
):
    theirs = segmentation_run(dealership=other_dealership, reference_date=REF)
    response = api_client_for(as_manager).get(movement_url(seg["run"]), {"from": theirs.pk})
    assert response.status_code == 404


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
@pytest.mark.parametrize("record", ["rules", "run"])
def test_rule_versions_and_runs_are_history_not_changed_through_the_api(
    method, record, admin_user, seg, api_client_for
):
    url = rule_url(seg["rules"]) if record == "rules" else run_url(seg["run"])
    response = getattr(api_client_for(admin_user), method)(url, {"note": "x"}, format="json")
    assert response.status_code == 405
    assert (RuleSet.objects.count(), SegmentationRun.objects.count()) == (2, 1)


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_results_are_read_only(method, admin_user, seg, api_client_for):
    response = getattr(api_client_for(admin_user), method)(reverse(CUSTOMERS), {}, format="json")
    assert response.status_code == 405
    review = api_client_for(admin_user).post(reverse(REVIEW), {}, format="json")
    assert review.status_code == 405


# --- Rules ----------------------------------------------------------------------------------------------------


def test_a_manager_saves_a_change_of_rules_as_the_next_version(as_manager, advisor, seg, api_client_for):
    # when the after-sales manager lowers the maintenance threshold, with a note
    response = api_client_for(as_manager).post(
        reverse(RULES), {"maintenance_threshold": "1.5", "note": "每年保养 1.5 次算高"}, format="json"
    )
    # then version 3 keeps every other rule of version 2, and says who made it and why
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["version"], body["created_by"], body["note"]) == (3, "asmanager", "每年保养 1.5 次算高")
    assert body["maintenance_threshold"] == "1.50"
    assert (body["value_threshold_mode"], body["value_threshold_fixed"]) == ("fixed", "5000.00")
    assert body["c3_mapping"]["HHH"] == "profitable_loyal"
    assert set(RuleSet.RULE_FIELDS) <= set(body)
    # and everyone sees it as the rules in force, the newest first in the list
    api = api_client_for(advisor)
    assert api.get(reverse("api-segmentation-rule-current")).json()["id"] == body["id"]
    assert [rule["version"] for rule in api.get(reverse(RULES)).json()["results"]] == [3, 2, 1]
    # and the earlier run keeps the version it applied
    assert api.get(run_url(seg["run"])).json()["rule_version"] == 2


def test_the_rules_in_force_are_the_defaults_before_any_change(advisor, dealership, api_client_for):
    api = api_client_for(advisor)
    current = api.get(reverse("api-segmentation-rule-current")).json()
    assert (current["version"], current["window_days"], current["repair_ratio_threshold"]) == (1, 730, "0.5000")
    assert (current["value_threshold_mode"], current["value_threshold_fixed"]) == ("median", None)
    assert current["brand_schedules"] == {} and len(current["c3_mapping"]) == 8
    assert [rule["version"] for rule in api.get(reverse(RULES)).json()["results"]] == [1]


def test_a_whole_new_mapping_and_brand_schedule_are_saved(as_manager, dealership, api_client_for):
    mapping = {**RuleSet().c3_mapping, "LLH": "mysterious_opportunity", "LLL": "low_cost"}
    schedules = {"别克": {"interval_days": 150, "distance_km": 7500}}
    response = api_client_for(as_manager).post(
        reverse(RULES), {"c3_mapping": mapping, "brand_schedules": schedules}, format="json"
    )
    assert response.status_code == 201, response.content
    saved = RuleSet.objects.get(pk=response.json()["id"])
    assert (saved.c3_mapping, saved.brand_schedules) == (mapping, schedules)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"maintenance_threshold": "0"}, "maintenance_threshold"),
        ({"maintenance_threshold": "lots"}, "maintenance_threshold"),
        ({"repair_ratio_threshold": "1.5"}, "repair_ratio_threshold"),
        ({"value_threshold_mode": "fixed"}, "value_threshold_fixed"),
        ({"value_threshold_mode": "mean"}, "value_threshold_mode"),
        ({"tier_b_min": 3}, "tier_a_min"),
        ({"mid_value_from": "40000"}, "high_value_above"),
        ({"c3_mapping": {"HHH": "profitable_loyal"}}, "c3_mapping"),
        ({"c3_mapping": {**RuleSet().c3_mapping, "LLL": "profitable_loyal"}}, "c3_mapping"),
        ({"c3_mapping": {**RuleSet().c3_mapping, "LLL": "gold"}}, "c3_mapping"),
        ({"c3_mapping": ["HHH"]}, "c3_mapping"),
        ({"brand_schedules": {"别克": {"interval_days": -5}}}, "brand_schedules"),
        ({"brand_schedules": {"别克": {"interval_days": "often"}}}, "brand_schedules"),
        ({"brand_schedules": {"别克": {"weeks": 26}}}, "brand_schedules"),
        ({"window_days": 30}, "window_days"),
        ({"lapsed_days": 10}, "lapsed_days"),
        ({"maintenence_threshold": "1.5"}, "maintenence_threshold"),
    ],
)
def test_a_refused_change_names_the_field_and_saves_nothing(changes, field, as_manager, dealership, api_client_for):
    ruleset_current(dealership=dealership)
    response = api_client_for(as_manager).post(reverse(RULES), changes, format="json")
    assert response.status_code == 400
    # a nested rule is named by its path: "brand_schedules.别克.interval_days"
    assert any(name.split(".")[0] == field for name in response.json()["fields"]), response.json()
    assert RuleSet.objects.filter(dealership=dealership).count() == 1


@pytest.mark.parametrize("payload", [{}, {"window_days": 730}, {"note": "nothing really"}])
def test_unchanged_rules_are_refused(payload, as_manager, dealership, api_client_for):
    ruleset_current(dealership=dealership)
    response = api_client_for(as_manager).post(reverse(RULES), payload, format="json")
    assert response.status_code == 409  # the rules as they stand are the ones sent
    assert response.json()["code"] == "ruleset_unchanged"
    assert response.json()["message"] == "Nothing changed: these are the rules of version 1."
    assert RuleSet.objects.filter(dealership=dealership).count() == 1


# --- Runs -----------------------------------------------------------------------------------------------------


def test_a_run_shows_its_figures(advisor, seg, api_client_for):
    body = api_client_for(advisor).get(run_url(seg["run"])).json()
    assert (body["status"], body["status_display"], body["trigger"]) == ("succeeded", "Done", "command")
    assert (body["reference_date"], body["rule_set"], body["rule_version"]) == ("2025-06-30", seg["rules"].pk, 2)
    assert body["value_threshold"] == "5000.00"  # the fixed amount, as a decimal string
    assert (body["customers"], body["active_customers"], body["changed_customers"]) == (2, 1, 2)
    assert body["changed_vehicles"] == 2 and body["reused_from"] is None and body["started_by"] is None
    assert body["counts"]["c3"] == {"": 1, "profitable_loyal": 1}
    assert body["counts"]["tier"] == {"A": 1, "D": 1} and body["counts"]["lapsed"] == 0  # no visit: not lapsed
    assert isinstance(body["duration_ms"], int)


def test_a_manager_starts_a_run_for_today(as_manager, seg, api_client_for):
    # when the manager starts a run with no date
    response = api_client_for(as_manager).post(reverse(RUNS), {}, format="json")
    # then it is accepted, and (Celery eager here) done by the time of the answer, for the dealership's today
    assert response.status_code == 202, response.content
    body = response.json()
    run = SegmentationRun.objects.get(pk=body["run"]["id"])
    assert body["task_id"]
    assert response["Location"] == run_url(run)
    assert (run.dealership_id, run.trigger, run.started_by.username) == (seg["run"].dealership_id, "api", "asmanager")
    assert (body["run"]["status"], body["run"]["trigger"]) == ("succeeded", "api")
    assert run.reference_date > REF


def test_a_run_for_a_given_date_and_a_forced_one(admin_user, seg, api_client_for):
    api = api_client_for(admin_user)
    # a run for the date of the latest run: nothing changed, so it reuses it
    same = api.post(reverse(RUNS), {"reference_date": "2025-06-30"}, format="json")
    assert same.status_code == 202, same.content
    assert (same.json()["run"]["reference_date"], same.json()["run"]["reused_from"]) == ("2025-06-30", seg["run"].pk)
    # forced, it computes again (and finds nothing to write)
    forced = api.post(reverse(RUNS), {"reference_date": "2025-06-30", "force": True}, format="json")
    assert forced.status_code == 202, forced.content
    assert (forced.json()["run"]["reused_from"], forced.json()["run"]["changed_customers"]) == (None, 0)


@pytest.mark.parametrize("payload", [{"reference_date": "2999-01-01"}, {"reference_date": "30/06/2025"}])
def test_a_run_for_a_bad_date_is_refused(payload, as_manager, seg, api_client_for):
    response = api_client_for(as_manager).post(reverse(RUNS), payload, format="json")
    assert response.status_code == 400
    assert "reference_date" in response.json()["fields"]
    assert SegmentationRun.objects.count() == 1


def test_runs_are_listed_newest_first_a_page_at_a_time(advisor, seg, dealership, api_client_for):
    for day in (1, 2, 3):
        segmentation_run(dealership=dealership, reference_date=REF + timedelta(days=day))
    api = api_client_for(advisor)
    seen, url = [], reverse(RUNS) + "?page_size=3"
    while url:
        body = api.get(url).json()
        assert "count" not in body  # a cursor, not an offset
        seen += [(run["id"], run["reference_date"]) for run in body["results"]]
        url = body["next"]
    assert [day for _id, day in seen] == ["2025-07-03", "2025-07-02", "2025-07-01", "2025-06-30"]


# --- Movement matrix ------------------------------------------------------------------------------------------


@pytest.fixture
def two_runs(dealership):
    """A first run; then the occasional customer comes twice more and a newcomer arrives; a second run."""
    _regular, occasional, _lost, _never = a_few_customers(dealership)
    first = segmentation_run(dealership=dealership, reference_date=REF)
    add_visits(occasional, (5, 3), M, "300")
    build(dealership, [(2, M, "300")])
    second = segmentation_run(dealership=dealership, reference_date=REF)
    return first, second


def test_the_movement_matrix_counts_customers_from_each_tier_to_each_tier(advisor, two_runs, api_client_for):
    first, second = two_runs
    response = api_client_for(advisor).get(movement_url(second), {"from": first.pk, "dimension": "tier"})
    assert response.status_code == 200, response.content
    assert response.json() == {
        "dimension": "tier",
        "before": {"id": first.pk, "reference_date": "2025-06-30"},
        "after": {"id": second.pk, "reference_date": "2025-06-30"},
        "values": ["A", "B", "C", "D", ""],
        "rows": {"A": {"A": 1}, "C": {"A": 1}, "D": {"D": 2}, "": {"C": 1}},
        "total": 5,
    }


def test_the_movement_matrix_defaults_to_c3_groups_and_knows_layers(advisor, two_runs, api_client_for):
    first, second = two_runs
    api = api_client_for(advisor)
    c3 = api.get(movement_url(second), {"from": first.pk}).json()
    layers = api.get(movement_url(second), {"from": first.pk, "dimension": "layer"}).json()
    assert c3["dimension"] == "c3" and c3["values"][-1] == ""
    assert c3["total"] == layers["total"] == 5
    assert layers["values"][:3] == ["high", "mid", "potential"]
    assert sum(n for row in layers["rows"].values() for n in row.values()) == 5


@pytest.mark.parametrize(
    ("params", "field"),
    [({"dimension": "colour"}, "dimension"), ({}, "from"), ({"from": "last"}, "from")],
)
def test_a_bad_movement_query_names_the_parameter(params, field, advisor, two_runs, api_client_for):
    first, second = two_runs
    query = {"from": first.pk, **params} if field != "from" else params
    response = api_client_for(advisor).get(movement_url(second), query)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_a_movement_from_a_failed_run_is_refused(advisor, seg, dealership, api_client_for):
    failed = SegmentationRun.objects.create(
        dealership=dealership, rule_set=seg["rules"], reference_date=REF, trigger="api", status="failed"
    )
    response = api_client_for(advisor).get(movement_url(seg["run"]), {"from": failed.pk})
    assert response.status_code == 409
    assert response.json()["code"] == "run_not_finished"
    assert "did not finish" in response.json()["message"]


# --- Per-customer results -------------------------------------------------------------------------------------


def test_each_customer_row_has_its_codes_and_rates_as_decimal_strings(cc_manager, seg, api_client_for):
    # given the default: the latest finished run
    response = api_client_for(cc_manager).get(reverse(CUSTOMERS))
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["run"] == {"id": seg["run"].pk, "reference_date": "2025-06-30"}
    rows = {row["customer_id"]: row for row in body["results"]}
    loyal, idle = seg["loyal"], seg["idle"]
    # 4 maintenance visits and ¥12,000 over the full two-year window, 70 % of it repairs
    assert rows[loyal.pk] == {
        "customer_id": loyal.pk,
        "customer_no": loyal.customer_no,
        "name": loyal.name,
        "c3_group": "profitable_loyal",
        "c3_group_display": "Profitable-loyal",
        "tier": "A",
        "tier_display": "A · 3 or more visits a year",
        "value_layer": "mid",
        "value_layer_display": "Mid value",
        "lapsed": False,
        "visits_12m": 4,
        "lifetime_value": "12000.00",
        "last_visit_on": str(before(30)),
        "maintenance_per_year": "2.0000",
        "spend_per_year": "6000.00",
        "repair_ratio": "0.7000",
    }
    assert (rows[idle.pk]["c3_group"], rows[idle.pk]["c3_group_display"], rows[idle.pk]["tier"]) == ("", "", "D")
    assert (rows[idle.pk]["spend_per_year"], rows[idle.pk]["repair_ratio"]) == ("0.00", "0.0000")


def test_the_rows_of_an_earlier_run_are_as_that_run_left_them(cc_manager, seg, api_client_for):
    # given the idle customer comes back after the run, and a later run sees it
    add_visits(seg["idle"], (3,), M, "300")
    later = segmentation_run(dealership=seg["run"].dealership, reference_date=REF)
    api = api_client_for(cc_manager)

    def tier_of_idle(**params):
        body = api.get(reverse(CUSTOMERS), params).json()
        return body["run"]["id"], {row["customer_id"]: row["tier"] for row in body["results"]}[seg["idle"].pk]

    assert tier_of_idle(run=seg["run"].pk) == (seg["run"].pk, "D")
    assert tier_of_idle() == (later.pk, "C")


def test_every_page_comes_from_the_run_of_the_first(cc_manager, dealership, api_client_for):
    fixed_value(dealership)
    for _ in range(5):
        build(dealership, [(10, M, "500")])
    first = segmentation_run(dealership=dealership, reference_date=REF)
    api = api_client_for(cc_manager)
    page = api.get(reverse(CUSTOMERS), {"page_size": 2}).json()
    # a newer run finishes while the client pages through
    segmentation_run(dealership=dealership, reference_date=REF + timedelta(days=1))
    seen = [row["customer_id"] for row in page["results"]]
    while page["next"]:
        assert f"run={first.pk}" in page["next"]
        page = api.get(page["next"]).json()
        assert page["run"]["id"] == first.pk
        seen += [row["customer_id"] for row in page["results"]]
    assert len(seen) == len(set(seen)) == 5 and seen == sorted(seen)


def test_no_run_yet_is_a_clear_400(cc_manager, dealership, api_client_for):
    response = api_client_for(cc_manager).get(reverse(CUSTOMERS))
    assert response.status_code == 400
    assert response.json()["message"] == "No segmentation run yet: start one, then ask again."


@pytest.mark.parametrize(("run", "status"), [("abc", 400), ("999999", 404)])
def test_an_unknown_run_is_refused(run, status, cc_manager, seg, api_client_for):
    response = api_client_for(cc_manager).get(reverse(CUSTOMERS), {"run": run})
    assert response.status_code == status
    if status == 400:
        assert "run" in response.json()["fields"]


def test_customers_filter_by_every_code(cc_manager, dealership, api_client_for):
    fixed_value(dealership)
    groups = {cell: build(dealership, visits_for(cell)) for cell in CELLS}
    nobody = build(dealership, [])
    gl8 = build(dealership, [(30, M, "500")])
    car = gl8.vehicles.get()
    car.model, car.plate = "GL8", "粤A12345"
    car.save()
    young = build(dealership, [(250, R, "500")], bought_days_ago=200)
    vip = tag_create(dealership=dealership, code="vip", name="贵宾", kind="preference")
    customer_tag_add(customer=young, tag=vip)
    run = segmentation_run(dealership=dealership, reference_date=REF)
    api = api_client_for(cc_manager)

    def customers(**params) -> set[int]:
        response = api.get(reverse(CUSTOMERS), {"run": run.pk, "page_size": 100, **params})
        assert response.status_code == 200, response.content
        return {row["customer_id"] for row in response.json()["results"]}

    also = {"low_cost": {young.pk}, "mysterious_opportunity": {gl8.pk}}  # one repair; one maintenance visit
    for cell, group in CELLS.items():
        assert customers(c3_group=group) == {groups[cell].pk, *also.get(group, ())}, group
    assert customers(c3_group=["none"]) == {nobody.pk}
    assert customers(c3_group=["mining", "none"]) == {groups["HLL"].pk, nobody.pk}
    assert customers(tier="D") == {nobody.pk}
    assert customers(tier=["C"]) == {gl8.pk, young.pk}
    assert customers(value_layer="potential", tier="C") == {gl8.pk, young.pk}
    assert customers(value_layer="mid") == {groups[cell].pk for cell in CELLS if cell[1] == "H"}
    assert customers(lapsed="true") == {young.pk}  # last visit 250 days ago; a customer never seen is not lapsed
    assert customers(model="GL8") == {gl8.pk}
    assert customers(plate_prefix="粤a") == {gl8.pk}
    assert customers(age_band="<1") == {young.pk}
    assert customers(last_visit_after=str(before(30))) == {gl8.pk} | {groups[cell].pk for cell in CELLS}
    assert customers(last_visit_before=str(before(250))) == {young.pk}
    assert customers(tag="vip") == {young.pk}
    assert customers(tag="vip,nothing", tier="D") == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tier": "E"}, "tier"),
        ({"c3_group": "gold"}, "c3_group"),
        ({"value_layer": "top"}, "value_layer"),
        ({"age_band": "10+"}, "age_band"),
        ({"last_visit_after": "June"}, "last_visit_after"),
    ],
)
def test_an_invalid_filter_value_is_a_400_naming_it(params, field, cc_manager, seg, api_client_for):
    response = api_client_for(cc_manager).get(reverse(CUSTOMERS), params)
    assert response.status_code == 400
    assert field in response.json()["fields"]


def test_the_customer_rows_take_a_fixed_number_of_queries(cc_manager, dealership, api_client_for):
    # token + the user's stores + the store + the run + the page (a cursor needs no COUNT); customers are joined
    fixed_value(dealership)
    api = api_client_for(cc_manager)
    counts = []
    for rows, more in ((5, 5), (40, 35)):
        for i in range(more):
            build(dealership, [(10 + i, M, "500"), (200, R, "900")])
        run = segmentation_run(dealership=dealership, reference_date=REF, force=True)
        with CaptureQueriesContext(connection) as captured:
            response = api.get(reverse(CUSTOMERS), {"page_size": 100, "tier": ["A", "B", "C"]})
        assert response.json()["run"]["id"] == run.pk
        assert len(response.json()["results"]) == rows
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 6, counts


# --- Quarterly review -----------------------------------------------------------------------------------------


def test_the_quarterly_review_lists_upgrades_and_downgrades(cc_manager, dealership, api_client_for):
    rising = build(dealership, [(200, R, "6000"), (250, R, "6000")])  # ¥12,000, 2 visits a year: mid
    falling = build(dealership, [(340, R, "20000"), (370, R, "20000")])  # ¥40,000, 2 visits a year: mid
    build(dealership, [(20, M, "300")])
    march = segmentation_run(dealership=dealership, reference_date=date(2025, 3, 31))
    add_visits(rising, (10, 20), R, "10000")
    june = segmentation_run(dealership=dealership, reference_date=REF)

    response = api_client_for(cc_manager).get(reverse(REVIEW), {"first": "2025-03-31", "second": "2025-06-30"})

    assert response.status_code == 200, response.content
    assert response.json() == {
        "first": "2025-03-31",
        "second": "2025-06-30",
        "before": {"id": march.pk, "reference_date": "2025-03-31"},
        "after": {"id": june.pk, "reference_date": "2025-06-30"},
        "upgrades": 1,
        "downgrades": 1,
        "changes": [
            {
                "customer_id": rising.pk,
                "customer_no": rising.customer_no,
                "name": rising.name,
                "from": "mid",
                "to": "high",
                "direction": "upgrade",
            },
            {
                "customer_id": falling.pk,
                "customer_no": falling.customer_no,
                "name": falling.name,
                "from": "mid",
                "to": "potential",
                "direction": "downgrade",
            },
        ],
    }


def test_the_quarterly_review_of_another_dealership_is_its_own(outsider, seg, api_client_for):
    response = api_client_for(outsider).get(reverse(REVIEW), {"first": "2025-06-30", "second": "2025-09-30"})
    assert response.status_code == 400
    assert "2025-06-30" in response.json()["message"]  # SZ01's run is not theirs


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"first": "2025-03-31", "second": "2025-06-30"}, None, "No segmentation run on or before 2025-03-31"),
        ({"first": "2025-06-30"}, "second", "required"),
        ({"first": "Q1", "second": "2025-06-30"}, "first", "format"),
        ({"first": "2025-06-30", "second": "2025-03-31"}, "second", "must come after the first"),
    ],
)
def test_a_bad_quarterly_review_query_says_why(params, field, message, as_manager, seg, api_client_for):
    response = api_client_for(as_manager).get(reverse(REVIEW), params)
    assert response.status_code == 400
    body = response.json()
    assert message in (body["message"] if field is None else json.dumps(body["fields"][field]))


# --- The schema -----------------------------------------------------------------------------------------------


def test_the_schema_documents_the_segmentation_endpoints(client, as_manager):
    client.force_login(as_manager)
    schema = json.loads(client.get(reverse("api-schema"), {"format": "json"}).content)
    paths = schema["paths"]
    assert {
        "/api/v1/segmentation/rules/",
        "/api/v1/segmentation/rules/{id}/",
        "/api/v1/segmentation/rules/current/",
        "/api/v1/segmentation/runs/",
        "/api/v1/segmentation/runs/{id}/",
        "/api/v1/segmentation/runs/{id}/movement/",
        "/api/v1/segmentation/customers/",
        "/api/v1/segmentation/quarterly-review/",
    } <= set(paths)
    segmentation = {path: ops for path, ops in paths.items() if "/segmentation/" in path}
    assert not [path for path, ops in segmentation.items() if {"put", "patch", "delete"} & set(ops)]
    params = {p["name"] for p in paths["/api/v1/segmentation/customers/"]["get"]["parameters"]}
    assert {"run", "c3_group", "tier", "value_layer", "lapsed", "model", "age_band", "plate_prefix", "tag"} <= params
    assert {"last_visit_after", "last_visit_before", "cursor", "X-Dealership"} <= params
    movement = {p["name"]: p for p in paths["/api/v1/segmentation/runs/{id}/movement/"]["get"]["parameters"]}
    assert movement["from"]["required"] and movement["dimension"]["schema"]["enum"] == ["c3", "tier", "layer"]
    assert "202" in paths["/api/v1/segmentation/runs/"]["post"]["responses"]


def test_customers_of_another_dealership_never_show(outsider, seg, other_dealership, api_client_for):
    VehicleFactory(owner=CustomerFactory(dealership=other_dealership))
    theirs = segmentation_run(dealership=other_dealership, reference_date=REF)
    body = api_client_for(outsider).get(reverse(CUSTOMERS)).json()
    assert body["run"]["id"] == theirs.pk
    assert {seg["loyal"].pk, seg["idle"].pk}.isdisjoint(row["customer_id"] for row in body["results"])
    assert len(body["results"]) == 1


def test_amounts_are_exact_decimal_strings(as_manager, dealership, api_client_for):
    response = api_client_for(as_manager).post(
        reverse(RULES), {"value_threshold_mode": "fixed", "value_threshold_fixed": "4999.99"}, format="json"
    )
    assert response.json()["value_threshold_fixed"] == "4999.99"
    assert RuleSet.objects.get(pk=response.json()["id"]).value_threshold_fixed == Decimal("4999.99")
