"""Shared by the campaign benchmarks: their agents, a campaign of about 50,000 invitations on the DEMO store
of ``seed_demo --customers 100000`` (segmented), and the clean-up that leaves the database as it was.

Everything a benchmark creates is named so that the clean-up finds it, also after a run that was cut short:
campaigns whose code starts with ``BENCH-``, coupon templates whose name starts with ``BENCH``, users
``bench.agent01`` … ``bench.agent10``.
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

    removed = {}
    with transaction.atomic():
        campaigns = Campaign.objects.filter(dealership=dealership, code__startswith=CODE_PREFIX)
        invitations = Invitation.objects.filter(campaign__in=campaigns)
        flagged = Customer.objects.filter(
            pk__in=invitations.filter(status=Invitation.Status.WRONG_NUMBER).values("customer_id")
        )
        removed["wrong numbers cleared"] = 0
        for pk in flagged.values_list("pk", flat=True):
            restored = {"updated_at": updated_at[pk]} if updated_at and pk in updated_at else {}
            removed["wrong numbers cleared"] += Customer.objects.filter(pk=pk).update(
                flag_wrong_number=False, **restored
            )
        coupons = Coupon.objects.filter(campaign__in=campaigns)
        Coupon.history.model.objects.filter(campaign_id__in=campaigns.values("pk"))._raw_delete("default")
        removed["coupons"] = coupons._raw_delete("default")
        appointment_ids = list(invitations.filter(appointment__isnull=False).values_list("appointment_id", flat=True))
        removed["call attempts"] = CallAttempt.objects.filter(invitation__campaign__in=campaigns)._raw_delete("default")
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
            for model in (Invitation, CallAttempt, Coupon, Coupon.history.model, Appointment, Customer, TargetGroup):
                cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    return removed
