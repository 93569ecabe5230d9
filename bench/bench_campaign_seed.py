"""Benchmark data: a finished campaign of 50,000 invitees on the DEMO store of ``bench/bench_seed.py``'s data set
(``seed_demo --customers 100000``), for the campaign reports' benchmark (``campaign-analysis``,
``campaign-groups``, ``campaign-progress`` against ``bench/_baselines_campaigns.py``).

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_campaign_seed.py

Idempotent: a store that already has the campaign (code ``RPT-50K``) with its 50,000 invitations is left as it
is (``--reset`` deletes it and builds it again). Everything is set-based: one ``INSERT … SELECT`` per target
group for the list (its vehicles chosen by ``campaigns.targeting.invitation_vehicles``, the rule of a generated
list, compiled by the ORM), and one statement each for the agents' shares, the calls, the appointments (booked),
the coupons, and the non-target participants' campaign code on visits of the period. The campaign ran from 120
to 31 days before today (the store's day), so the report of "last quarter" or of the last 180 days covers it.

What it makes (for 50,000 invitees): three target groups (盈利忠诚 / 高风险·挖掘 with an A/B split / 低成本 with a
5 % holdout); each invitation given to one of the store's agents in turn; a call for 70 % of them (reached for
half of those), an appointment (booked) for 12 %, a coupon for each booked invitee, redeemed for half; the visits
of the period of customers not invited carry the campaign's code one in seven.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")

CODE = "RPT-50K"
INVITEES = 50_000
#: a third of the invitees each, by customer id (no vehicle conditions, so that every customer is on the list)
GROUPS = (
    {"name": "盈利忠诚群", "filters": {}, "goal_rate": Decimal("0.18")},
    {"name": "高风险/挖掘群 A·B", "filters": {}, "ab_test": True, "goal_rate": Decimal("0.15")},
    {"name": "低成本群", "filters": {}, "goal_rate": Decimal("0.10")},
)

INSERT_INVITATIONS = """
INSERT INTO campaigns_invitation (campaign_id, target_group_id, customer_id, vehicle_id, variant, holdout, round,
                                  status, attempts, created_at)
SELECT %s, %s, r.customer_id, r.vehicle_id, CASE WHEN %s AND r.customer_id %% 2 = 0 THEN 'B' ELSE 'A' END,
       %s AND r.customer_id %% 20 = 0, 1, 'pending', 0, now()
FROM ({rows}) AS r
"""

ASSIGN = """
UPDATE campaigns_invitation i SET agent_id = (%(agents)s::bigint[])[1 + (i.id %% %(k)s)]
WHERE i.campaign_id = %(campaign)s AND NOT i.holdout
"""

CALLS = """
INSERT INTO campaigns_callattempt (invitation_id, agent_id, outcome, called_at, appointment_date, reason, note)
SELECT i.id, i.agent_id,
       CASE WHEN i.id %% 100 < 12 THEN 'accepted' WHEN i.id %% 100 < 35 THEN 'declined' ELSE 'no_answer' END,
       (%(start)s::date + (i.id %% %(days)s) * interval '1 day' + interval '10 hours') AT TIME ZONE 'Asia/Shanghai',
       CASE WHEN i.id %% 100 < 12 THEN %(start)s::date + (i.id %% %(days)s)::int + 3 END,
       CASE WHEN i.id %% 100 BETWEEN 12 AND 34 THEN 'not_needed' ELSE '' END, ''
FROM campaigns_invitation i
WHERE i.campaign_id = %(campaign)s AND NOT i.holdout AND i.agent_id IS NOT NULL AND i.id %% 100 < 70
"""

APPOINTMENTS = """
WITH booked AS (
    SELECT i.id AS invitation_id, i.customer_id, i.vehicle_id, a.appointment_date
    FROM campaigns_invitation i JOIN campaigns_callattempt a ON a.invitation_id = i.id AND a.outcome = 'accepted'
    WHERE i.campaign_id = %(campaign)s
), made AS (
    INSERT INTO customers_appointment (dealership_id, customer_id, vehicle_id, date, time_slot, source, status, note,
                                       created_at, updated_at)
    SELECT %(dealership)s, b.customer_id, b.vehicle_id, b.appointment_date, '', 'campaign', 'arrived',
           'RPT-50K ' || b.invitation_id, now(), now()
    FROM booked b
    RETURNING id, note
)
UPDATE campaigns_invitation i SET appointment_id = m.id, status = 'accepted', attempts = 1
FROM made m WHERE m.note = 'RPT-50K ' || i.id
"""

STATUSES = """
UPDATE campaigns_invitation i SET status = CASE WHEN a.outcome = 'declined' THEN 'declined' ELSE 'unreached' END,
                                  attempts = 1, last_called_at = a.called_at
FROM campaigns_callattempt a
WHERE a.invitation_id = i.id AND i.campaign_id = %(campaign)s AND a.outcome <> 'accepted'
"""

COUPONS = """
INSERT INTO campaigns_coupon (dealership_id, template_id, customer_id, campaign_id, invitation_id, code, status,
                              issued_at, expires_on, void_reason)
SELECT %(dealership)s, %(template)s, i.customer_id, i.campaign_id, i.id, 'RPT' || lpad(i.id::text, 12, '0'),
       'issued', now(), %(end)s::date + 60, ''
FROM campaigns_invitation i
WHERE i.campaign_id = %(campaign)s AND i.appointment_id IS NOT NULL
"""

REDEEM = """
UPDATE campaigns_coupon c SET status = 'redeemed', redeemed_at = now(), redeemed_visit_id = v.id
FROM (SELECT DISTINCT ON (sv.customer_id) sv.customer_id, sv.id FROM customers_servicevisit sv
      WHERE sv.dealership_id = %(dealership)s AND sv.opened_on BETWEEN %(start)s AND %(end)s
      ORDER BY sv.customer_id, sv.id) AS v
WHERE c.campaign_id = %(campaign)s AND c.customer_id = v.customer_id AND c.invitation_id %% 2 = 0
"""

NON_TARGET = """
UPDATE customers_servicevisit sv SET campaign_code = %(code)s
WHERE sv.dealership_id = %(dealership)s AND sv.opened_on BETWEEN %(start)s AND %(end)s AND sv.id %% 7 = 0
  AND sv.campaign_code = ''
  AND NOT EXISTS (SELECT 1 FROM campaigns_invitation i WHERE i.campaign_id = %(campaign)s
                  AND i.customer_id = sv.customer_id)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="delete the campaign and build it again")
    parser.add_argument("--invitees", type=int, default=INVITEES)
    args = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction

    from campaigns.models import Campaign, CouponTemplate, Invitation, TargetGroup
    from campaigns.services import agents_of
    from campaigns.targeting import invitation_vehicles
    from customers.models import Customer
    from dealercrm.core.models import Dealership

    if connection.vendor != "postgresql":
        sys.exit("bench/bench_campaign_seed.py: run it on PostgreSQL (DATABASE_URL=postgres://…).")
    store = Dealership.objects.get(code="DEMO")
    existing = Campaign.objects.filter(dealership=store, code=CODE).first()
    if existing is not None and not args.reset:
        n = Invitation.objects.filter(campaign=existing).count()
        print(f"{CODE}: already there (campaign {existing.pk}, {n:,} invitations); --reset builds it again")
        return

    today = store.local_date()
    start, end = today - timedelta(days=120), today - timedelta(days=31)
    began = time.perf_counter()
    with transaction.atomic():
        if existing is not None:
            _delete(connection, existing)
        campaign = Campaign.objects.create(
            dealership=store,
            code=CODE,
            name="报表压测活动（5万人）",
            kind="seasonal",
            starts_on=start,
            ends_on=end,
            budget=Decimal("200000.00"),
            cost=Decimal("186500.00"),
            status=Campaign.Status.FINISHED,
        )
        template, _created = CouponTemplate.objects.get_or_create(
            dealership=store, name="RPT ¥100 工时券", defaults={"kind": "labor_amount", "value": Decimal("100")}
        )
        ids = list(Customer.objects.filter(dealership=store).order_by("id").values_list("id", flat=True))
        chosen = ids[: args.invitees]
        if len(chosen) < args.invitees:
            print(f"the store has {len(ids):,} customers: {len(chosen):,} invited")
        third = max(1, len(chosen) // 3)
        bounds = [
            (chosen[0], chosen[third - 1]),
            (chosen[third], chosen[2 * third - 1]),
            (chosen[2 * third], chosen[-1]),
        ]
        with connection.cursor() as cursor:
            for position, (spec, (low, high)) in enumerate(zip(GROUPS, bounds, strict=True), start=1):
                group = TargetGroup.objects.create(campaign=campaign, position=position, **spec)
                members = Customer.objects.filter(dealership=store, id__gte=low, id__lte=high)
                # each invitee's vehicle as a generated list chooses it (no vehicle conditions: their first car)
                rows, params = invitation_vehicles(group, members).query.sql_with_params()
                cursor.execute(
                    INSERT_INVITATIONS.format(rows=rows),
                    [campaign.pk, group.pk, bool(spec.get("ab_test")), position == 3, *params],
                )
            agents = list(agents_of(store).values_list("pk", flat=True))
            common = {
                "campaign": campaign.pk,
                "dealership": store.pk,
                "start": start,
                "end": end,
                "days": (end - start).days + 1,
                "code": CODE,
                "template": template.pk,
            }
            if agents:
                cursor.execute(ASSIGN, {**common, "agents": agents, "k": len(agents)})
                cursor.execute(CALLS, common)
                cursor.execute(APPOINTMENTS, common)
                cursor.execute(STATUSES, common)
                cursor.execute(COUPONS, common)
                cursor.execute(REDEEM, common)
            else:
                print("the store has no agent: no calls, bookings or coupons")
            cursor.execute(NON_TARGET, common)
    with connection.cursor() as cursor:
        for table in ("campaigns_invitation", "campaigns_callattempt", "customers_appointment", "campaigns_coupon"):
            cursor.execute(f"ANALYZE {table}")
    counts = Invitation.objects.filter(campaign=campaign).count()
    took = time.perf_counter() - began
    print(f"{CODE}: campaign {campaign.pk}, {start} … {end}, {counts:,} invitations in {took:.1f} s")


def _delete(connection, campaign) -> None:
    with connection.cursor() as cursor:
        params = {"campaign": campaign.pk, "code": CODE, "dealership": campaign.dealership_id}
        cursor.execute("DELETE FROM campaigns_coupon WHERE campaign_id = %(campaign)s", params)
        cursor.execute(
            "DELETE FROM campaigns_callattempt WHERE invitation_id IN "
            "(SELECT id FROM campaigns_invitation WHERE campaign_id = %(campaign)s)",
            params,
        )
        cursor.execute(
            "CREATE TEMP TABLE rpt_appointments ON COMMIT DROP AS SELECT appointment_id AS id "
            "FROM campaigns_invitation WHERE campaign_id = %(campaign)s AND appointment_id IS NOT NULL",
            params,
        )
        cursor.execute("DELETE FROM campaigns_invitation WHERE campaign_id = %(campaign)s", params)
        cursor.execute("DELETE FROM customers_appointment WHERE id IN (SELECT id FROM rpt_appointments)")
        cursor.execute(
            "UPDATE customers_servicevisit SET campaign_code = '' "
            "WHERE dealership_id = %(dealership)s AND campaign_code = %(code)s",
            params,
        )
        cursor.execute("DELETE FROM campaigns_targetgroup WHERE campaign_id = %(campaign)s", params)
        cursor.execute("DELETE FROM campaigns_historicalcampaign WHERE id = %(campaign)s", params)
        cursor.execute("DELETE FROM campaigns_historicaltargetgroup WHERE campaign_id = %(campaign)s", params)
        cursor.execute("DELETE FROM campaigns_campaign WHERE id = %(campaign)s", params)


if __name__ == "__main__":
    main()
