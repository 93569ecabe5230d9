"""Seed 002's campaign (a Buick store in Shenzhen, 2014-05-01 … 07-31) built from records: customers with a car
each (models 新君威/新君越/GL8/陆尊, plates 粤B, purchase dates giving the age bands on 2014-05-01), the invitation
list given as a file of customer numbers and entered as a past campaign, and the visits of the period with their
amounts. Bulk-created: 2,184 customers, vehicles and 1,068 visits.

The counts per model × age band are the SPEC's table ("One worked example"); the participants per cell are the
whole numbers that give the printed rates (e.g. 47 · 13 %: 6 ÷ 47 = 12.8 % → 13 %) and sum to the document's
totals (178 profitable-loyal, 42 low-cost): worked out in ``CELLS`` below.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from campaigns import past
from customers.models import Customer, ServiceVisit, Vehicle
from reports.definitions.campaigns import build_groups
from reports.periods import Period
from reports.registry import display, report
from reports.scope import Scope
from tests.factories import make_plate, make_vin

START, END = date(2014, 5, 1), date(2014, 7, 31)
MODELS = ["新君威", "新君越", "GL8", "陆尊"]
#: a purchase date in each age band on 2014-05-01
BOUGHT = {"<1": date(2013, 9, 1), "1-2": date(2012, 9, 1), "2-3": date(2011, 9, 1), "3-5": date(2010, 1, 1)}
LOYAL, LOW = "盈利忠诚", "低成本"
GROUPS = [
    {
        "name": LOYAL,
        "filters": {
            "c3_group": ["profitable_loyal"],
            "plate_prefix": "粤B",
            "models": MODELS,
            "age_band": ["1-2", "2-3", "3-5"],
        },
    },
    {
        "name": LOW,
        "filters": {
            "c3_group": ["low_cost"],
            "plate_prefix": "粤B",
            "models": MODELS,
            "age_band": ["<1", "1-2", "2-3"],
        },
    },
]

#: (group, model, band): (invited, participants, the SPEC's printed rate in %)
#: profitable-loyal participants: 6+35+14+10 + 13+23+10+5 + 14+34+8+6 = 178 of 895
#: low-cost participants: 9+17+4+3 + 3+4+0+0 + 1+0+1+0 = 42 of 441
CELLS = {
    (LOYAL, "新君威", "1-2"): (47, 6, 13),
    (LOYAL, "新君越", "1-2"): (183, 35, 19),
    (LOYAL, "GL8", "1-2"): (45, 14, 31),
    (LOYAL, "陆尊", "1-2"): (36, 10, 28),
    (LOYAL, "新君威", "2-3"): (63, 13, 21),
    (LOYAL, "新君越", "2-3"): (151, 23, 15),
    (LOYAL, "GL8", "2-3"): (55, 10, 18),
    (LOYAL, "陆尊", "2-3"): (28, 5, 18),
    (LOYAL, "新君威", "3-5"): (67, 14, 21),
    (LOYAL, "新君越", "3-5"): (135, 34, 25),
    (LOYAL, "GL8", "3-5"): (41, 8, 20),
    (LOYAL, "陆尊", "3-5"): (44, 6, 14),
    (LOW, "新君威", "<1"): (70, 9, 13),
    (LOW, "新君越", "<1"): (169, 17, 10),
    (LOW, "GL8", "<1"): (28, 4, 14),
    (LOW, "陆尊", "<1"): (42, 3, 7),
    (LOW, "新君威", "1-2"): (30, 3, 10),
    (LOW, "新君越", "1-2"): (30, 4, 13),
    (LOW, "GL8", "1-2"): (2, 0, 0),
    (LOW, "陆尊", "1-2"): (6, 0, 0),
    (LOW, "新君威", "2-3"): (28, 1, 4),
    (LOW, "新君越", "2-3"): (31, 0, 0),
    (LOW, "GL8", "2-3"): (2, 1, 50),
    (LOW, "陆尊", "2-3"): (3, 0, 0),
}
#: the revenue of each group's participants and of the non-target participants (yuan)
REVENUE = {LOYAL: Decimal("452554"), LOW: Decimal("70788")}
NON_TARGET, NON_TARGET_REVENUE = 848, Decimal("1879809")


def _amounts(total: Decimal, n: int) -> list[Decimal]:
    """``n`` whole-yuan amounts summing to ``total``: n − 1 of total // n, the rest on the last."""
    each = total // n
    return [each] * (n - 1) + [total - each * (n - 1)]


def build(dealership, *, acting_user=None, today=date(2026, 12, 5)):
    """Build the customers, vehicles and visits, enter the campaign as a past one from a CSV file of customer
    numbers (with a target-group column), and return it."""
    customers, vehicles, plan = [], [], []  # plan: (customer_no, group or None, attended)
    n = 0

    def person(model, bought, prefix="P"):
        nonlocal n
        n += 1
        no = f"{prefix}{n:06d}"
        customers.append(
            Customer(
                dealership=dealership, customer_no=no, name=f"客户{n}", phone=f"+86139{n:08d}", marketing_consent=True
            )
        )
        vehicles.append((no, model, bought, n))
        return no

    for (group, model, band), (invited, came, _rate) in CELLS.items():
        for i in range(invited):
            plan.append((person(model, BOUGHT[band]), group, i < came))
    for _i in range(NON_TARGET):
        plan.append((person("英朗", date(2012, 3, 1), prefix="N"), None, True))
    # decoys: a customer not on the list and without the campaign's code, and one with the code after the period
    plan.append((person("新君越", date(2012, 9, 1), prefix="X"), None, "no-code"))
    plan.append((person("新君越", date(2012, 9, 1), prefix="X"), None, "late"))

    Customer.objects.bulk_create(customers, batch_size=1000)
    ids = dict(Customer.objects.filter(dealership=dealership).values_list("customer_no", "pk"))
    Vehicle.objects.bulk_create(
        [
            Vehicle(
                dealership=dealership,
                owner_id=ids[no],
                vin=make_vin(900_000 + seed),
                plate=make_plate(seed),
                brand="别克",
                model=model,
                model_year=bought.year,
                purchase_date=bought,
                fuel_type="ICE",
            )
            for no, model, bought, seed in vehicles
        ],
        batch_size=1000,
    )
    cars = dict(Vehicle.objects.filter(dealership=dealership).values_list("owner_id", "pk"))

    amounts = {
        LOYAL: iter(_amounts(REVENUE[LOYAL], 178)),
        LOW: iter(_amounts(REVENUE[LOW], 42)),
        None: iter(_amounts(NON_TARGET_REVENUE, NON_TARGET)),
    }
    visits = []

    def visit(no, day, amount, code=""):
        visits.append(
            ServiceVisit(
                dealership=dealership,
                ro_number=f"RO2014{len(visits):06d}",
                vehicle_id=cars[ids[no]],
                customer_id=ids[no],
                opened_on=day,
                closed_on=day,
                visit_type="maintenance",
                labor_amount=amount,
                parts_amount=Decimal("0"),
                total_amount=amount,
                campaign_code=code,
            )
        )

    for no, group, came in plan:
        if came is True:
            # invitees may come without the code (attendance is any visit in the period); non-targets carry it
            visit(no, date(2014, 6, 15), next(amounts[group]), code="" if group else "C3-2014")
        elif came == "no-code":
            visit(no, date(2014, 6, 16), Decimal("999"))
        elif came == "late":
            visit(no, date(2014, 8, 1), Decimal("888"), code="C3-2014")
    # an invitee who did not come in the period: a visit the day before it starts does not count
    absent = next(no for no, group, came in plan if group == LOYAL and came is False)
    visit(absent, date(2014, 4, 30), Decimal("777"))
    ServiceVisit.objects.bulk_create(visits, batch_size=1000)

    lines = ["客户编号,目标群组"] + [f"{no},{group}" for no, group, _came in plan if group]

    class Upload:
        name = "seed002.csv"

        def read(self):
            return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")

    result = past.past_campaign_enter(
        dealership=dealership,
        rows=past.read_list(Upload()),
        groups=GROUPS,
        acting_user=acting_user,
        today=today,
        code="C3-2014",
        name="C3 空调养护活动",
        kind="seasonal",
        starts_on=START,
        ends_on=END,
        budget=Decimal("60000.00"),
        cost=Decimal("52000.00"),
    )
    return result


# --- the test -----------------------------------------------------------------------------------------------

pytestmark = pytest.mark.django_db


def test_seed_002_campaign_entered_as_a_past_campaign_gives_the_documents_table(dealership, as_manager):
    result = build(dealership, acting_user=as_manager)
    campaign = result["campaign"]
    assert (result["invited"], result["skipped"], result["per_group"]) == (1336, 0, {LOYAL: 895, LOW: 441})
    assert (campaign.status, campaign.starts_on, campaign.ends_on) == ("finished", START, END)

    tables = {
        t.key: t
        for t in report("campaign-groups").build(
            Scope.of(dealership, user=as_manager), Period(START, END), {"campaign": str(campaign.pk)}
        )
    }

    # per target group: invited, participants, success (participants ÷ invited), revenue, average ticket
    groups = tables["groups"]
    shown = [
        (
            row["group"],
            display(row["invited"], "int"),
            display(row["attended"], "int"),
            display(row["success_rate"], "rate"),
            display(row["revenue"], "money"),
            display(row["average_ticket"].quantize(Decimal("1")), "int"),
        )
        for row in [*groups.rows, groups.totals]
    ]
    # 178 ÷ 895 = 19.89 %; 42 ÷ 441 = 9.52 % (the document prints 11 %); 220 ÷ 1,336 = 16.47 %
    # 452,554 ÷ 178 = 2,542.4; 70,788 ÷ 42 = 1,685.4; 523,342 ÷ 220 = 2,378.8
    assert shown == [
        (LOYAL, "895", "178", "19.9%", "¥452,554.00", "2,542"),
        (LOW, "441", "42", "9.5%", "¥70,788.00", "1,685"),
        ("All target groups", "1,336", "220", "16.5%", "¥523,342.00", "2,379"),
    ]

    # 848 non-target participants (the decoy without the code and the one after the period are not among them)
    non_target = tables["non_target"].rows[0]
    assert (non_target["customers"], non_target["revenue"]) == (848, Decimal("1879809.00"))

    # the SPEC's model × age table: invited and success per cell, rates rounded as printed
    model_age = tables["model_age"]
    assert [c.key for c in model_age.columns] == [
        "group", "model", "invited_<1", "rate_<1", "invited_1-2", "rate_1-2", "invited_2-3", "rate_2-3",
        "invited_3-5", "rate_3-5",
    ]  # fmt: skip
    cells = {}
    for row in model_age.rows:
        for band in ("<1", "1-2", "2-3", "3-5"):
            if row[f"invited_{band}"] is not None:
                rate = (row[f"rate_{band}"] * 100).quantize(Decimal("1"), rounding="ROUND_HALF_UP")
                cells[(row["group"], row["model"], band)] = (row[f"invited_{band}"], int(rate))
    assert cells == {key: (invited, printed) for key, (invited, _came, printed) in CELLS.items()}
    # rows in the groups' order, then by model
    assert [(row["group"], row["model"]) for row in model_age.rows][:4] == [
        (LOYAL, "GL8"), (LOYAL, "新君威"), (LOYAL, "新君越"), (LOYAL, "陆尊"),
    ]  # fmt: skip


def test_the_seed_campaign_in_the_campaign_analysis_and_its_queries(
    dealership, as_manager, django_assert_max_num_queries
):
    campaign = build(dealership, acting_user=as_manager)["campaign"]
    scope = Scope.of(dealership, user=as_manager)
    with django_assert_max_num_queries(2):
        (table,) = report("campaign-analysis").build(scope, Period(date(2014, 7, 1), date(2014, 9, 30)), {})
    (row,) = table.rows
    # nobody booked on a call of a campaign entered afterwards: 0 signings, no cost per signing (not ¥0)
    assert (row["code"], row["invited"], row["attended"], row["booked"]) == ("C3-2014", 1336, 220, 0)
    assert (display(row["attendance_rate"], "rate"), row["cost"], row["cost_per_signing"]) == (
        "16.5%",
        Decimal("52000.00"),
        None,
    )
    # the per-group report reads a fixed number of queries, whatever the size of the list
    with django_assert_max_num_queries(14):
        build_groups(scope, Period(START, END), {"campaign": str(campaign.pk)})


def test_the_benchmarks_hand_written_statements_give_the_reports_figures(dealership, as_manager, is_postgres):
    """bench/_baselines_campaigns.py's yardsticks answer what the reports answer (PostgreSQL only: they are its SQL)."""
    if not is_postgres:
        pytest.skip("the yardsticks are PostgreSQL statements: set DATABASE_URL to a PostgreSQL database")
    from django.db import connection

    from bench._baselines_campaigns import BASELINES

    campaign = build(dealership, acting_user=as_manager)["campaign"]
    params = {"dealership": dealership.pk, "start": START, "end": END, "campaign": campaign.pk}
    with connection.cursor() as cursor:
        cursor.execute(BASELINES["campaign-analysis"], params)
        ((_id, code, _name, _s, _e, cost, invited, attended, booked),) = cursor.fetchall()
        cursor.execute(BASELINES["campaign-groups"], params)
        parts = cursor.fetchall()
    assert (code, cost, invited, attended, booked) == ("C3-2014", Decimal("52000.00"), 1336, 220, 0)
    groups = {g.pk: g.name for g in campaign.target_groups.all()}
    revenue = {groups[int(k1)]: (n1, n5) for part, k1, k2, n1, _n2, _n3, _n4, n5 in parts if part == "revenue"}
    assert revenue == {LOYAL: (178, Decimal("452554.00")), LOW: (42, Decimal("70788.00"))}
    (non_target,) = [(n1, n5) for part, *_k, n1, _n2, _n3, _n4, n5 in parts if part == "non_target"]
    assert non_target == (848, Decimal("1879809.00"))
    cells = {}
    for part, k1, band, n1, n2, *_rest in parts:
        if part == "model_age":
            group_id, model = k1.split("/", 1)
            cells[(groups[int(group_id)], model, band)] = (n1, n2)
    assert cells == {key: (invited, came) for key, (invited, came, _printed) in CELLS.items()}
