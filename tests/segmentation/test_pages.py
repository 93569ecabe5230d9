"""Server-rendered segmentation pages: the explorer, the customer list and its downloads, the run history and
its movement matrix, and the rules.

Every page is read by all five roles (200); acting (run now, a new rules version) is for managers (403 for the
others); a run of our store is 404 to a user of another dealership; anonymous visitors go to the login page.
"""

import csv
import io
import json
import re
from decimal import Decimal

import openpyxl
import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from customers.models import VisitType
from dealercrm.core.roles import Role
from segmentation.exports import COLUMNS
from segmentation.forms import SCALAR_FIELDS
from segmentation.models import C3_CELLS, RuleSet, SegmentationRun
from segmentation.selectors import customer_segments_at
from segmentation.services import ruleset_current, segmentation_run
from tests.factories import CustomerFactory, ServiceVisitFactory
from tests.segmentation.test_engine import REF, before, build, fixed_value

M, R = VisitType.MAINTENANCE, VisitType.REPAIR
EXPLORER = reverse("segmentation:explorer")
CUSTOMERS = reverse("segmentation:customers")
CSV = reverse("segmentation:customers-csv")
XLSX = reverse("segmentation:customers-xlsx")
RUNS = reverse("segmentation:runs")
RUN_NOW = reverse("segmentation:run-now")
RULES = reverse("segmentation:rules")
MANAGERS = (Role.AS_MANAGER, Role.ADMIN)
OTHERS = (Role.ADVISOR, Role.AGENT, Role.CC_MANAGER)


def text(response) -> str:
    return response.content.decode()


def movement(run, **params) -> str:
    url = reverse("segmentation:movement", args=[run.pk])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def loyal(dealership):
    """Four maintenance visits and a large repair in two years: profitable-loyal, tier A, mid value."""
    return build(dealership, [(30, M, "900"), (120, M, "900"), (240, M, "900"), (480, M, "900"), (60, R, "8400")])


@pytest.fixture
def people(dealership):
    fixed_value(dealership)
    return {
        "loyal": loyal(dealership),
        "once": build(dealership, [(40, M, "300")]),  # mysterious-opportunity, tier C
        "lapsed": build(dealership, [(400, R, "12000")]),  # high-risk, tier D, lapsed
        "idle": build(dealership, []),  # no group, tier D
    }


@pytest.fixture
def segmented(dealership, people):
    return segmentation_run(dealership=dealership, reference_date=REF)


# --- Who may see and do what (each URL × role × method: tests/core/test_access.py) ---------------------------


@pytest.mark.parametrize("role", Role.values)
def test_every_role_reads_an_earlier_run_named_in_the_query(client_for, users, segmented, role):
    client = client_for(users[role])

    for url in [f"{EXPLORER}?run={segmented.pk}", f"{CUSTOMERS}?run={segmented.pk}&tier=A"]:
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", [Role.ADVISOR, Role.AGENT])
def test_the_whole_stores_download_is_refused_to_advisors_and_agents(client_for, users, segmented, role):
    # Given an advisor or an agent, who may read the segments but not export the store's personal data (SPEC)
    client = client_for(users[role])

    # Then the customer list offers no download, and the files themselves are refused
    html = text(client.get(CUSTOMERS))
    assert rows_of(html) and 'id="downloads"' not in html and "/segments/customers/csv/" not in html
    assert client.get(CSV, {"run": segmented.pk}).status_code == 403
    assert client.get(XLSX, {"run": segmented.pk}).status_code == 403


@pytest.mark.parametrize("role", [Role.CC_MANAGER, Role.AS_MANAGER, Role.ADMIN])
def test_managers_download_the_customer_list(client_for, users, segmented, role):
    client = client_for(users[role])

    assert 'data-testid="download-csv"' in text(client.get(CUSTOMERS))
    assert client.get(CSV, {"run": segmented.pk}).status_code == 200
    assert client.get(XLSX, {"run": segmented.pk}).status_code == 200


def test_a_run_of_our_store_is_404_to_a_user_of_another_dealership(client_for, outsider, segmented):
    client = client_for(outsider)
    ours = segmented.pk

    for url in [
        f"{EXPLORER}?run={ours}",
        f"{CUSTOMERS}?run={ours}",
        f"{CSV}?run={ours}",
        f"{XLSX}?run={ours}",
        movement(segmented),
    ]:
        assert client.get(url).status_code == 404, url


def test_another_stores_user_sees_their_own_store_not_ours(client_for, outsider, other_dealership, segmented):
    theirs = segmentation_run(dealership=other_dealership, reference_date=REF)
    client = client_for(outsider)

    assert client.get(movement(theirs, **{"from": segmented.pk})).status_code == 404
    html = text(client.get(EXPLORER))
    assert 'data-testid="no-run"' not in html  # their own (empty) run
    assert f"Run #{theirs.pk}" in html and f"Run #{segmented.pk}" not in html
    assert text(client.get(RUNS)).count("data-run=") == 1


def test_an_unfinished_or_unknown_run_is_404(client_for, as_manager, dealership, segmented):
    failed = SegmentationRun.objects.create(
        dealership=dealership, rule_set=segmented.rule_set, reference_date=REF, trigger="command", status="failed"
    )
    client = client_for(as_manager)

    assert client.get(f"{EXPLORER}?run={failed.pk}").status_code == 404
    assert client.get(f"{CUSTOMERS}?run=abc").status_code == 404
    assert client.get(movement(failed)).status_code == 404
    assert client.get(movement(segmented, **{"from": failed.pk})).status_code == 404


@pytest.mark.parametrize("role", Role.values)
def test_the_segments_link_is_in_every_roles_navigation(client_for, users, role):
    html = text(client_for(users[role]).get(reverse("customers:counter")))

    assert 'data-testid="nav-segments"' in html and f'href="{EXPLORER}"' in html


# --- The explorer ----------------------------------------------------------------------------------------


def test_before_the_first_run_managers_get_the_button_and_others_are_told_to_wait(client_for, as_manager, advisor):
    html = text(client_for(as_manager).get(EXPLORER))
    assert 'data-testid="no-run"' in html and "Run the first segmentation" in html
    assert f'action="{RUN_NOW}"' in html and f'name="next" value="{EXPLORER}"' in html

    html = text(client_for(advisor).get(EXPLORER))
    assert 'data-testid="no-run"' in html and f'action="{RUN_NOW}"' not in html
    assert "echarts.min.js" not in html


def test_the_explorers_counts_are_the_runs_counts(client_for, advisor, segmented):
    html = text(client_for(advisor).get(EXPLORER))

    shown = {
        (dimension, code): int(n) for dimension, code, n in re.findall(r'data-testid="count-(\w+)-(\w+)">(\d+)<', html)
    }
    expected = {("c3", code or "none"): n for code, n in segmented.counts["c3"].items()}
    expected |= {("tier", code): n for code, n in segmented.counts["tier"].items()}
    expected |= {("layer", code): n for code, n in segmented.counts["layer"].items()}
    assert {key: n for key, n in shown.items() if n} == expected
    stored = customer_segments_at(run=segmented)
    assert {code or "none": stored.filter(c3_group=code).count() for code in segmented.counts["c3"]} == {
        code: n for (dimension, code), n in expected.items() if dimension == "c3"
    }
    assert expected == {
        ("c3", "profitable_loyal"): 1,
        ("c3", "mysterious_opportunity"): 1,
        ("c3", "high_risk"): 1,
        ("c3", "none"): 1,
        ("tier", "A"): 1,
        ("tier", "C"): 1,
        ("tier", "D"): 2,
        ("layer", "mid"): 1,
        ("layer", "potential"): 3,
    }
    assert len(shown) == 9 + 4 + 3  # every group, tier and layer is listed, zeros too
    assert re.search(r'data-testid="total-c3">4<', html)
    assert "25.0 %" in html and "50.0 %" in html
    # the charts: vendored ECharts and the same figures as data
    assert "/static/vendor/echarts/echarts.min.js" in html and "cdn" not in html.lower()
    data = json.loads(re.search(r'id="segment-chart-data"[^>]*>(.*?)</script>', html, re.S).group(1))
    assert dict(zip(data["tier"]["codes"], data["tier"]["counts"], strict=True)) == {"A": 1, "B": 0, "C": 1, "D": 2}


def test_the_explorer_shows_the_runs_facts(client_for, as_manager, dealership, people):
    run = segmentation_run(dealership=dealership, reference_date=REF, trigger="button", acting_user=as_manager)

    html = text(client_for(as_manager).get(EXPLORER))

    assert f"Run #{run.pk}" in html
    assert re.search(r'data-testid="fact-date">\s*2025-06-30', html)
    assert "version 2" in html  # fixed_value made version 2
    assert re.search(r'data-testid="fact-threshold">\s*¥5,000.00 a year', html)
    assert str(as_manager) in html and "Run now" in html
    assert re.search(r'data-testid="fact-lapsed">1<', html)


def test_each_count_opens_the_customer_list_filtered_by_it(client_for, advisor, segmented, people):
    client = client_for(advisor)
    html = text(client.get(EXPLORER))

    href = re.search(r'<a href="([^"]+)" data-testid="count-c3-none">', html).group(1).replace("&amp;", "&")
    listing = text(client.get(href))

    assert f"run={segmented.pk}" in href and "c3_group=none" in href
    assert 'data-count="1"' in listing and f'data-customer="{people["idle"].customer_no}"' in listing


def test_an_older_run_can_be_explored_and_says_so(client_for, advisor, dealership, segmented, people):
    build(dealership, [(5, M, "500")])
    latest = segmentation_run(dealership=dealership, reference_date=REF)

    html = text(client_for(advisor).get(f"{EXPLORER}?run={segmented.pk}"))

    assert 'data-testid="older-run"' in html and f"#{latest.pk}" in html
    assert re.search(r'data-testid="total-c3">4<', html)


# --- The customer list -----------------------------------------------------------------------------------


def rows_of(html) -> list[str]:
    return re.findall(r'data-customer="([^"]+)"', html)


def test_the_customer_list_shows_each_customer_with_a_link_to_the_360_page(client_for, advisor, segmented, people):
    html = text(client_for(advisor).get(CUSTOMERS))

    assert sorted(rows_of(html)) == sorted(c.customer_no for c in people.values())
    customer = people["loyal"]
    assert reverse("customers:detail", args=[customer.pk]) in html and customer.name in html
    assert "Profitable-loyal" in html and "¥12,000.00" in html


@pytest.mark.parametrize(
    ("query", "who"),
    [
        ("tier=D", ["lapsed", "idle"]),
        ("tier=A&tier=C", ["loyal", "once"]),
        ("c3_group=none", ["idle"]),
        ("c3_group=high_risk&c3_group=profitable_loyal", ["loyal", "lapsed"]),
        ("value_layer=mid", ["loyal"]),
        ("value_layer=potential&tier=D", ["lapsed", "idle"]),
        ("lapsed=true", ["lapsed"]),
        ("lapsed=false&tier=D", ["idle"]),
        ("last_visit_after=2025-05-01", ["loyal", "once"]),
        ("last_visit_before=2025-05-01", ["lapsed"]),
    ],
)
def test_the_customer_list_filters(client_for, advisor, segmented, people, query, who):
    html = text(client_for(advisor).get(f"{CUSTOMERS}?{query}"))

    assert sorted(rows_of(html)) == sorted(people[name].customer_no for name in who)


def test_the_vehicle_filters_pick_customers_by_their_cars(client_for, advisor, dealership, people):
    car = people["once"].vehicles.get()
    car.plate, car.model = "粤Z00001", "GL8"  # the factories make 粤B plates only
    car.save()
    segmentation_run(dealership=dealership, reference_date=REF)
    client = client_for(advisor)

    assert rows_of(text(client.get(CUSTOMERS, {"plate_prefix": "粤Z"}))) == [people["once"].customer_no]
    assert rows_of(text(client.get(CUSTOMERS, {"model": "GL8"}))) == [people["once"].customer_no]


def test_no_match_names_the_filter_and_offers_to_clear_it(client_for, advisor, segmented):
    html = text(client_for(advisor).get(CUSTOMERS, {"tier": "B", "lapsed": "true"}))

    assert 'data-testid="no-customers"' in html and 'data-count="0"' in html
    assert "Tier: B · 2 visits a year" in html and "Lapsed: Lapsed only" in html
    assert "Clear the filter" in html and 'data-testid="download-csv"' not in html


def test_the_customer_list_paginates_by_fifty_and_keeps_the_filter(client_for, cc_manager, dealership):
    for _ in range(51):
        CustomerFactory(dealership=dealership)
    segmentation_run(dealership=dealership, reference_date=REF)
    client = client_for(cc_manager)

    first = text(client.get(CUSTOMERS, {"tier": "D"}))
    second = text(client.get(CUSTOMERS, {"tier": "D", "page": "2"}))

    assert len(rows_of(first)) == 50 and len(rows_of(second)) == 1
    assert 'href="?tier=D&amp;page=2"' in first
    assert re.search(r'href="/segments/customers/csv/\?tier=D"', first)  # the download: the filter, no page


def test_the_customer_lists_query_count_does_not_grow_with_its_rows(client_for, advisor, dealership):
    client = client_for(advisor)
    for _ in range(3):
        build(dealership, [(40, M, "300")])
    segmentation_run(dealership=dealership, reference_date=REF)
    client.get(CUSTOMERS)  # session, language: warm
    with CaptureQueriesContext(connection) as few:
        assert len(rows_of(text(client.get(CUSTOMERS, {"model": "英朗"})))) == 0
    with CaptureQueriesContext(connection) as three:
        assert len(rows_of(text(client.get(CUSTOMERS)))) == 3

    for _ in range(30):
        build(dealership, [(40, M, "300")])
    segmentation_run(dealership=dealership, reference_date=REF)
    with CaptureQueriesContext(connection) as thirty_three:
        assert len(rows_of(text(client.get(CUSTOMERS)))) == 33

    assert len(three) == len(thirty_three), [q["sql"] for q in thirty_three.captured_queries]
    assert len(few) <= len(three)


def test_the_csv_download_has_exactly_the_filtered_rows(client_for, cc_manager, dealership, segmented, people):
    response = client_for(cc_manager).get(CSV, {"run": segmented.pk, "tier": "D"})

    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"] == 'attachment; filename="segments-SZ01-2025-06-30.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8"))))
    assert list(rows[0]) == COLUMNS
    assert sorted(row["customer_no"] for row in rows) == sorted(people[name].customer_no for name in ("lapsed", "idle"))
    by_no = {row["customer_no"]: row for row in rows}
    assert by_no[people["lapsed"].customer_no]["c3_group"] == "high_risk"
    assert by_no[people["idle"].customer_no]["c3_group"] == ""


def test_the_excel_download_has_exactly_the_filtered_rows(client_for, as_manager, segmented, people):
    response = client_for(as_manager).get(XLSX, {"c3_group": "profitable_loyal"})

    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="segments-SZ01-2025-06-30.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS
    assert [row[:3] for row in rows[1:]] == [(people["loyal"].customer_no, "profitable_loyal", "A")]


# --- Runs ------------------------------------------------------------------------------------------------


def test_the_run_history_lists_the_runs_with_their_facts(client_for, advisor, dealership, segmented):
    again = segmentation_run(dealership=dealership, reference_date=REF)

    html = text(client_for(advisor).get(RUNS))

    assert html.index(f'data-run="{again.pk}"') < html.index(f'data-run="{segmented.pk}"')
    row = html[html.index(f'data-run="{again.pk}"') : html.index(f'data-run="{segmented.pk}"')]
    assert "2025-06-30" in row and "Done" in row and "Command" in row and "v2" in row
    assert f"#{segmented.pk}" in row  # unchanged since
    assert "Run now" not in html  # an advisor does not get the button


@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_may_not_run_now(client_for, users, segmented, role):
    client = client_for(users[role])

    assert 'data-testid="run-now"' not in text(client.get(RUNS))
    assert client.post(RUN_NOW).status_code == 403
    assert SegmentationRun.objects.count() == 1


@pytest.mark.parametrize("role", MANAGERS)
def test_a_manager_runs_now_and_is_told_the_result(client_for, users, dealership, people, role):
    client = client_for(users[role])
    assert 'data-testid="run-now"' in text(client.get(RUNS))

    response = client.post(RUN_NOW)

    run = SegmentationRun.objects.get()
    assert response.status_code == 302 and response.url == RUNS
    assert (run.trigger, run.started_by, run.status) == ("button", users[role], "succeeded")
    html = text(client.get(RUNS))
    assert f"Run #{run.pk} done: 4 customers segmented, 4 results changed." in html

    client.post(RUN_NOW)
    assert f"nothing changed since run #{run.pk}" in text(client.get(RUNS))


def test_run_now_from_the_empty_explorer_comes_back_to_it(client_for, as_manager, people):
    response = client_for(as_manager).post(RUN_NOW, {"next": EXPLORER}, follow=True)

    assert response.redirect_chain == [(EXPLORER, 302)]
    assert 'data-testid="no-run"' not in text(response) and "done" in text(response)


def test_run_now_does_not_redirect_to_another_site(client_for, as_manager, people):
    response = client_for(as_manager).post(RUN_NOW, {"next": "https://example.com/"})

    assert response.url == RUNS


def test_a_failed_run_says_so_and_is_listed_with_its_error(client_for, as_manager, dealership, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr("segmentation.services.load_inputs", broken)
    client = client_for(as_manager)

    response = client.post(RUN_NOW, follow=True)

    html = text(response)
    assert "The segmentation run failed" in html
    assert 'data-status="failed"' in html and "disk full" in html


def test_a_run_under_way_refreshes_the_history(client_for, advisor, dealership, segmented):
    SegmentationRun.objects.create(
        dealership=dealership, rule_set=segmented.rule_set, reference_date=REF, trigger="api"
    )

    html = text(client_for(advisor).get(RUNS))

    assert 'data-testid="run-in-progress"' in html and 'hx-trigger="every 3s"' in html


def test_no_run_yet_is_an_empty_state(client_for, advisor):
    html = text(client_for(advisor).get(RUNS))

    assert 'data-testid="no-runs"' in html


# --- Movement --------------------------------------------------------------------------------------------


def cell(matrix, source: int, target: int) -> int:
    return matrix["rows"][source]["cells"][target]["n"]


@pytest.fixture
def two_runs(dealership, people):
    first = segmentation_run(dealership=dealership, reference_date=REF)
    # once: one visit a year → three (tier C → A); idle: gets two (D → B); a new customer arrives (new → C)
    for days in (10, 20):
        ServiceVisitFactory(vehicle=people["once"].vehicles.get(), opened_on=before(days), closed_on=None, visit_type=M)
        ServiceVisitFactory(vehicle=people["idle"].vehicles.get(), opened_on=before(days), closed_on=None, visit_type=M)
    build(dealership, [(15, M, "200")])
    failed = SegmentationRun.objects.create(
        dealership=dealership, rule_set=first.rule_set, reference_date=REF, trigger="api", status="failed"
    )
    second = segmentation_run(dealership=dealership, reference_date=REF)
    return first, failed, second


def test_the_tier_movement_matrix_counts_each_move(client_for, advisor, two_runs):
    first, _failed, second = two_runs

    response = client_for(advisor).get(movement(second, dimension="tier"))

    matrix = response.context["matrix"]
    assert response.context["before"] == first  # the previous finished run, not the failed one
    assert [c["label"] for c in matrix["columns"]] == [
        "A · 3 or more visits a year",
        "B · 2 visits a year",
        "C · 1 visit a year",
        "D · lost, no visit in a year",
    ]
    assert [row["label"] for row in matrix["rows"]][-1] == f"New since run #{first.pk}"
    a, b, c, d, new = 0, 1, 2, 3, 4
    assert cell(matrix, a, a) == 1  # loyal stayed
    assert cell(matrix, c, a) == 1  # once moved up
    assert cell(matrix, d, b) == 1  # idle came back
    assert cell(matrix, d, d) == 1  # lapsed stayed lost
    assert cell(matrix, new, c) == 1  # the newcomer
    assert [row["total"] for row in matrix["rows"]] == [1, 0, 1, 2, 1]
    assert matrix["column_totals"] == [2, 1, 1, 1]
    assert (matrix["total"], matrix["stayed"], matrix["moved"], matrix["new"]) == (5, 2, 2, 1)
    html = text(response)
    assert html.count("diagonal table-primary") == 4
    assert re.search(r'id="matrix-total">5<', html)
    assert "of 4 customers in both runs, 2 stayed and 2 moved (50.0 %)" in html
    assert f"1 customer is new since run #{first.pk}." in html


def test_the_movement_matrix_compares_any_two_runs_by_c3_group(client_for, advisor, two_runs):
    first, _failed, second = two_runs

    response = client_for(advisor).get(movement(second, **{"from": first.pk, "dimension": "c3"}))

    matrix = response.context["matrix"]
    assert len(matrix["columns"]) == 9 and matrix["total"] == 5
    assert [row["label"] for row in matrix["rows"]][-2:] == ["No group", f"New since run #{first.pk}"]
    assert cell(matrix, 0, 0) == 1  # loyal stayed profitable-loyal
    assert re.search(r'id="matrix-total">5<', text(response))


def test_no_group_and_new_customers_moving_to_the_same_group_are_both_counted(client_for, advisor, two_runs):
    _first, _failed, second = two_runs  # idle (no group before) and the newcomer land in the same group

    matrix = client_for(advisor).get(movement(second, dimension="c3")).context["matrix"]

    no_group, new = matrix["rows"][-2:]
    assert no_group["total"] == new["total"] == 1
    assert [c["n"] for c in no_group["cells"]] == [c["n"] for c in new["cells"]]  # the same group
    assert sum(matrix["column_totals"]) == matrix["total"] == 5


def test_the_first_run_has_nothing_to_compare_with(client_for, advisor, segmented):
    response = client_for(advisor).get(movement(segmented, dimension="nonsense"))

    assert response.status_code == 200 and response.context["dimension"] == "c3"
    assert 'data-testid="no-previous-run"' in text(response)


# --- Rules -----------------------------------------------------------------------------------------------


def rules_data(dealership, **overrides):
    current = ruleset_current(dealership=dealership)
    data = {name: "" if getattr(current, name) is None else str(getattr(current, name)) for name in SCALAR_FIELDS}
    data.update({f"c3_{cell}": current.c3_mapping[cell] for cell in C3_CELLS})
    data["brand_schedules"] = json.dumps(current.brand_schedules, ensure_ascii=False)
    data["note"] = ""
    return {**data, **overrides}


@pytest.mark.parametrize("role", MANAGERS)
def test_a_manager_saves_a_new_version_of_the_rules(client_for, users, dealership, role):
    client = client_for(users[role])
    html = text(client.get(RULES))
    assert 'id="rules-form"' in html and "maintenance high · value high · repair ratio high" in html
    assert html.count('<select name="c3_') == 8
    form = client.get(RULES).context["form"]  # it starts from the rules in force
    assert form["c3_LHH"].value() == "high_risk" and form["maintenance_threshold"].value() == Decimal("2.00")
    assert re.search(r'<option value="high_risk" selected>', html)

    response = client.post(
        RULES,
        rules_data(
            dealership,
            maintenance_threshold="2.5",
            brand_schedules='{"别克": {"interval_days": 150, "distance_km": 7500}}',
            note="别克 保养 150 天",
        ),
    )

    assert response.status_code == 302 and response.url == RULES
    new = ruleset_current(dealership=dealership)
    assert (new.version, str(new.maintenance_threshold), new.created_by) == (2, "2.50", users[role])
    assert new.brand_schedules == {"别克": {"interval_days": 150, "distance_km": 7500}}
    assert new.note == "别克 保养 150 天"
    html = text(client.get(RULES))
    assert "Rules version 2 saved." in html and "In force: version 2" in html
    assert 'data-version="2"' in html and 'data-version="1"' in html and "别克 保养 150 天" in html


def test_a_group_given_to_two_cells_is_an_error_on_those_cells(client_for, as_manager, dealership):
    response = client_for(as_manager).post(RULES, rules_data(dealership, c3_HHL="profitable_loyal"))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert set(errors) == {"c3_HHH", "c3_HHL"}
    assert "given twice: profitable_loyal" in errors["c3_HHH"][0]
    assert 'id="form-errors"' in text(response)
    assert RuleSet.objects.filter(dealership=dealership).count() == 1


def test_the_models_checks_land_on_their_fields(client_for, as_manager, dealership):
    response = client_for(as_manager).post(
        RULES, rules_data(dealership, tier_a_min="2", value_threshold_mode="fixed", value_threshold_fixed="")
    )

    errors = response.context["form"].errors
    assert set(errors) == {"tier_a_min", "value_threshold_fixed"}
    assert RuleSet.objects.filter(dealership=dealership).count() == 1


def test_saving_the_same_rules_says_nothing_changed(client_for, as_manager, dealership):
    response = client_for(as_manager).post(RULES, rules_data(dealership, note="again"))

    assert response.status_code == 409  # a state conflict, on the page as in the API
    assert response.context["form"].non_field_errors() == ["Nothing changed: these are the rules of version 1."]
    assert "Nothing changed" in text(response)


def test_bad_json_for_the_brand_schedules_is_a_field_error(client_for, as_manager, dealership):
    response = client_for(as_manager).post(RULES, rules_data(dealership, brand_schedules="{别克: 150"))

    assert set(response.context["form"].errors) == {"brand_schedules"}


@pytest.mark.parametrize("role", OTHERS)
def test_other_roles_see_the_rules_read_only(client_for, users, dealership, role):
    client = client_for(users[role])

    html = text(client.get(RULES))

    assert 'id="rules-read-only"' in html and 'id="rules-form"' not in html
    assert "Profitable-loyal" in html and "maintenance low · value low · repair ratio low" in html
    assert client.post(RULES, rules_data(dealership, maintenance_threshold="3")).status_code == 403
    assert RuleSet.objects.filter(dealership=dealership).count() == 1


# --- In Chinese ------------------------------------------------------------------------------------------


def test_the_pages_render_in_chinese(client_for, as_manager, segmented):
    client = client_for(as_manager)
    client.cookies["django_language"] = "zh-hans"

    # override(): the locale middleware leaves Chinese active in this thread; the tests after this one read English
    with translation.override(settings.LANGUAGE_CODE):
        for url in [EXPLORER, CUSTOMERS, f"{CUSTOMERS}?tier=B", RUNS, movement(segmented), RULES]:
            response = client.get(url)
            html = text(response)
            assert response.status_code == 200, url
            assert '<html lang="zh-hans">' in html, url
            assert 'id="segments-nav"' in html, url
        assert 'data-testid="table-c3"' in text(client.get(EXPLORER))
        assert 'id="rules-form"' in text(client.get(RULES))
