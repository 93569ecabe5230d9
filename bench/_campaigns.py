"""Shared by the campaign benchmarks: their agents, a campaign of about 50,000 invitations on the DEMO store
of ``seed_demo --customers 100000`` (segmented), and the clean-up that leaves the database as it was.

Everything a benchmark creates is named so that the clean-up finds it, also after a run that was cut short:
campaigns whose code starts with ``BENCH-``, coupon templates whose name starts with ``BENCH``, users
``bench.agent01`` … ``bench.agent10``, follow-up call tasks whose occasion is ``BENCH`` (with their calls).
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")

CODE_PREFIX = "BENCH-"
TEMPLATE_PREFIX = "BENCH"
AGENT_PREFIX = "bench.agent"
AGENTS = 10

#: three target groups over C3 groups and tiers, all on the store's plates, matching 51,224 eligible customers
#: of the 100,000 (20,898 + 22,396 + 7,930 on the 2026-12-02 segmentation; checked with selectors.preview)
GROUPS = (
    {
        "name": "BENCH 盈利/分裂忠诚群",
        "filters": {"c3_group": ["profitable_loyal", "split_loyal"], "plate_prefix": "粤B"},
        "holdout_share": Decimal("0.10"),
        "goal_rate": Decimal("0.18"),
    },
    {
        "name": "BENCH 高风险/挖掘/高成本群 A·B",
        "filters": {"c3_group": ["high_risk", "mining", "high_cost"], "tier": ["A", "B"], "plate_prefix": "粤B"},
        "ab_test": True,
        "goal_rate": Decimal("0.15"),
    },
    {
        "name": "BENCH 低成本/神秘机遇群 0–3 年",
        "filters": {
            "c3_group": ["low_cost", "mysterious_opportunity"],
            "age_band": ["<1", "1-2", "2-3"],
            "plate_prefix": "粤B",
        },
        "goal_rate": Decimal("0.10"),
    },
)
SCRIPT = "您好，这里是别克4S店客服。夏季空调养护活动期间进店可免费检测空调系统，到店后我会第一时间为您安排维修。"
SCRIPT_B = "您好，这里是别克4S店客服。活动期间保养赠送100元工时礼券，到店后我会第一时间为您安排维修。"


def is_postgres() -> bool:
    return os.environ.get("DATABASE_URL", "").startswith(("postgres", "psql", "pgsql"))


def migrate() -> None:
    """Bring the benchmark database up to the campaigns' migrations (it may have been seeded before them)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "campaigns", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )


def setup() -> None:
    import django

    django.setup()


def demo_store():
    from dealercrm.core.models import Dealership

    return Dealership.objects.get(code="DEMO")


def agents_create(dealership, *, n: int = AGENTS, password: str | None = None) -> list:
    """``n`` call-centre agents of ``dealership`` (``bench.agent01`` …), with ``password`` or none usable."""
    from dealercrm.core.models import Membership, User
    from dealercrm.core.roles import Role

    agents = []
    for i in range(1, n + 1):
        user = User(username=f"{AGENT_PREFIX}{i:02d}", role=Role.AGENT, display_name=f"压测坐席{i:02d}")
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
        Membership.objects.create(user=user, dealership=dealership)
        agents.append(user)
    return agents


def campaign_create(dealership, code: str, *, groups=GROUPS, days: int = 30, extra_filters=None, offers=False):
    """A draft campaign ``BENCH-<code>`` from today for ``days`` days with ``groups`` (``extra_filters`` added
    to each group's filters; ``offers``: a ¥100 labour coupon in every group, an 85折 parts coupon as B)."""
    from campaigns import services

    today = dealership.local_date()
    campaign = services.campaign_create(
        dealership=dealership,
        code=f"{CODE_PREFIX}{code}",
        name=f"压测活动 {code}",
        kind="seasonal",
        starts_on=today,
        ends_on=today + timedelta(days=days),
    )
    labour = parts = None
    if offers:
        labour = services.coupon_template_create(
            dealership=dealership, name=f"{TEMPLATE_PREFIX} ¥100 工时券", kind="labor_amount", value=Decimal("100")
        )
        parts = services.coupon_template_create(
            dealership=dealership, name=f"{TEMPLATE_PREFIX} 轮胎85折", kind="parts_percent", value=Decimal("15")
        )
    for group in groups:
        fields = {"script": SCRIPT, **group, "filters": {**group["filters"], **(extra_filters or {})}}
        if fields.get("ab_test"):
            fields.setdefault("script_b", SCRIPT_B)
        services.target_group_create(
            campaign=campaign,
            offers=[labour] if labour else None,
            offers_b=[parts] if parts and fields.get("ab_test") else None,
            **fields,
        )
    return campaign


#: the mark of the benchmarks' follow-up call tasks (``Touch.occasion``: no key of a visit's touch uses it)
FOLLOWUP_MARK = "BENCH"

FOLLOWUP_CALLS = """
INSERT INTO followups_touch (dealership_id, kind, customer_id, visit_id, occasion, due_at, touch_class, channel,
                             assignee_id, priority, status, reason, reason_detail, attempts, max_attempts,
                             claimed_by, outcome, notes, provider_ref, error_code, error_text, created_at, updated_at)
SELECT %(d)s, CASE WHEN v.n %% 2 = 0 THEN 'day7' ELSE 'csi_call' END, v.customer_id, v.id, %(mark)s,
       CASE WHEN v.n <= %(due)s THEN now() - (v.n %% 240) * interval '1 minute'
            ELSE now() + (1 + v.n %% 10) * interval '1 day' END,
       'service', 'call', (%(agents)s::bigint[])[1 + v.n %% %(k)s], %(priority)s, 'planned', '', '', 0, 3,
       '', '', '', '', '', '', now(), now()
FROM (SELECT latest.id, latest.customer_id, row_number() OVER (ORDER BY latest.id DESC) AS n
      FROM (SELECT DISTINCT ON (sv.customer_id) sv.id, sv.customer_id
            FROM customers_servicevisit sv JOIN customers_customer c ON c.id = sv.customer_id
            WHERE sv.dealership_id = %(d)s AND {contactable}
              AND NOT EXISTS (SELECT 1 FROM campaigns_invitation i
                              WHERE i.customer_id = c.id AND i.campaign_id = %(campaign)s)
            ORDER BY sv.customer_id, sv.id DESC) AS latest
      ORDER BY latest.id DESC LIMIT %(total)s) AS v
ON CONFLICT DO NOTHING
"""


def followup_calls_create(dealership, agents, *, campaign=None, due: int = 100, later: int = 1000) -> dict[str, int]:
    """Follow-up call tasks for the agents' queue, as the planner makes them (day-7 follow-ups and satisfaction
    calls on the latest visit of customers a service call may reach, one task per customer, none for the
    invitees of ``campaign``, so that a wrong number found on one call leaves no other call of the benchmark
    stale), in one ``INSERT … SELECT``: ``due`` per agent due within the last four hours, ``later`` per agent
    due in the next ten days. The table is analysed afterwards."""
    from django.db import connection
    from django.utils import timezone

    from customers.contact import SERVICE, contactable_sql
    from followups.models import Priority, Touch

    written = {
        "dealership_id", "kind", "customer_id", "visit_id", "occasion", "due_at", "touch_class", "channel",
        "assignee_id", "priority", "status", "reason", "reason_detail", "attempts", "max_attempts", "claimed_by",
        "outcome", "notes", "provider_ref", "error_code", "error_text", "created_at", "updated_at",
    }  # fmt: skip
    required = {f.column for f in Touch._meta.concrete_fields if not f.null and not f.primary_key}
    if required - written:
        raise RuntimeError(f"bench/_campaigns.py: the touches' INSERT misses the columns {sorted(required - written)}")
    k = len(agents)
    params = {
        "d": dealership.pk,
        "mark": FOLLOWUP_MARK,
        "due": due * k,
        "total": (due + later) * k,
        "agents": [agent.pk for agent in agents],
        "k": k,
        "priority": Priority.SATISFACTION.value,
        "campaign": campaign.pk if campaign is not None else 0,
    }
    with connection.cursor() as cursor:
        cursor.execute(FOLLOWUP_CALLS.format(contactable=contactable_sql(SERVICE, "call", alias="c")), params)
        cursor.execute("ANALYZE followups_touch")
    made = Touch.objects.filter(dealership=dealership, occasion=FOLLOWUP_MARK)
    return {"follow-up calls": made.count(), "due now": made.filter(due_at__lte=timezone.now()).count()}


def campaign_run(campaign):
    """Schedule the draft ``campaign`` and start it today."""
    from campaigns import services

    services.campaign_schedule(campaign=campaign)
    return services.campaign_start(campaign=campaign)


def cleanup(dealership, *, session_keys=(), updated_at=None) -> dict[str, int]:
    """Delete every campaign, coupon template and agent of the benchmarks, with what hangs off them: their
    invitations, call attempts, coupons (and their history), appointments, and the sessions ``session_keys``
    (the agents' logins); a wrong-number flag a benchmark call set is cleared again (invited customers had
    none), and the customer's ``updated_at`` put back from ``updated_at`` ({customer id: value}) when given
    (a segmentation run reads it to tell whether anything changed). Then vacuum the tables (autovacuum may be
    off)."""
    from django.contrib.sessions.models import Session
    from django.db import connection, transaction

    from campaigns.models import CallAttempt, Campaign, Coupon, CouponTemplate, Invitation, TargetGroup
    from customers.models import Appointment, Customer
    from dealercrm.core.models import Membership, User
    from followups.models import Touch, TouchAttempt

    removed = {}
    with transaction.atomic():
        touches = Touch.objects.filter(dealership=dealership, occasion=FOLLOWUP_MARK)
        flagged_by_followups = list(
            touches.filter(reason="wrong_number").values_list("customer_id", flat=True).distinct()
        )
        campaigns = Campaign.objects.filter(dealership=dealership, code__startswith=CODE_PREFIX)
        invitations = Invitation.objects.filter(campaign__in=campaigns)
        flagged = Customer.objects.filter(
            pk__in=invitations.filter(status=Invitation.Status.WRONG_NUMBER).values("customer_id")
        )
        removed["wrong numbers cleared"] = 0
        for pk in {*flagged.values_list("pk", flat=True), *flagged_by_followups}:
            restored = {"updated_at": updated_at[pk]} if updated_at and pk in updated_at else {}
            removed["wrong numbers cleared"] += Customer.objects.filter(pk=pk).update(
                flag_wrong_number=False, **restored
            )
        coupons = Coupon.objects.filter(campaign__in=campaigns)
        Coupon.history.model.objects.filter(campaign_id__in=campaigns.values("pk"))._raw_delete("default")
        removed["coupons"] = coupons._raw_delete("default")
        appointment_ids = list(invitations.filter(appointment__isnull=False).values_list("appointment_id", flat=True))
        removed["call attempts"] = CallAttempt.objects.filter(invitation__campaign__in=campaigns)._raw_delete("default")
        removed["follow-up calls made"] = TouchAttempt.objects.filter(touch__in=touches)._raw_delete("default")
        removed["follow-up call tasks"] = touches._raw_delete("default")
        removed["invitations"] = invitations._raw_delete("default")
        removed["appointments"] = Appointment.objects.filter(pk__in=appointment_ids)._raw_delete("default")
        groups = TargetGroup.objects.filter(campaign__in=campaigns)
        for field in ("offers", "offers_b"):
            getattr(TargetGroup, field).through.objects.filter(targetgroup__in=groups)._raw_delete("default")
        groups._raw_delete("default")
        Campaign.history.model.objects.filter(dealership=dealership, code__startswith=CODE_PREFIX).delete()
        removed["campaigns"] = campaigns._raw_delete("default")
        templates = CouponTemplate.objects.filter(dealership=dealership, name__startswith=TEMPLATE_PREFIX)
        CouponTemplate.history.model.objects.filter(dealership=dealership, name__startswith=TEMPLATE_PREFIX).delete()
        removed["coupon templates"] = templates._raw_delete("default")
        agents = User.objects.filter(username__startswith=AGENT_PREFIX)
        removed["sessions"] = Session.objects.filter(pk__in=list(session_keys)).delete()[0]
        Membership.objects.filter(user__in=agents).delete()
        removed["agents"] = agents.delete()[1].get("core.User", 0)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            for model in (
                Invitation,
                CallAttempt,
                Coupon,
                Coupon.history.model,
                Appointment,
                Customer,
                TargetGroup,
                Touch,
                TouchAttempt,
            ):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return removed
