"""Benchmark data: the follow-up records of the last 180 days of visits of the DEMO store of ``bench/bench_seed.py``'s
data set, for the reports' benchmark (``followups`` and ``data-quality`` against ``bench/_baselines_followups.py``).

    DATABASE_URL=postgres://root@127.0.0.1:5432/dealercrm_bench .venv/bin/python bench/bench_followups_seed.py

Idempotent: a store that already has visit follow-ups is left as it is (``--reset`` deletes every touch, call,
message, survey and complaint of the DEMO store and builds them again; the benchmark's data set has no others).
Everything is set-based: one ``INSERT … SELECT`` per kind of record, the mix of outcomes chosen by a hash of the
visit's id, so that a rebuild gives the same rows. Times are the store's local hours (``followups.kinds.RULES``:
due and expiry days, channel, priority, attempts allowed).

What it makes, for the visits opened in the last ``--days`` days (default 180):

* per maintenance visit a day-7 call, a day-15 and a day-30 text and a satisfaction call (day 2); those due in the
  future are planned, the others done (calls 68 %), failed, expired, cancelled (the customer booked or came) or
  skipped (do-not-contact); texts delivered (68 %), sent, failed (bounced or refused), cancelled or skipped; the
  calls given to the store's agents in turn;
* a survey for 85 % of all visits (sent by text the day after), 30 % of them answered with a satisfaction 1–5 and a
  likelihood to recommend 0–10 (mostly 4–5 and 9–10, some detractors);
* a complaint for one visit in 397 (a few hundred): a response deadline of 24 hours, acknowledged on time (65 %),
  late (15 %), resolved without an acknowledgement (10 %) or not answered yet (10 %);
* one message per text sent, failed or bounced (5 % of them bounced), through SMS, the survey links half by WeChat.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings.local")

#: the visit-anchored touches made per maintenance visit, and the survey touch of a surveyed visit
VISIT_KINDS = ("day7", "day15", "day30", "csi_call")
SURVEY_SHARE = 85  # % of visits sent a survey
ANSWER_SHARE = 29  # of 97: 30 % of the surveys delivered are answered
COMPLAINT_EVERY = 397  # one visit in … has a complaint

#: h: a stable 0–99 hash of the visit and kind; the status of a touch due in the past by its channel
INSERT_TOUCHES = """
WITH rules (kind, touch_class, channel, priority, due_days, expires_days, max_attempts, assigned, salt) AS (
    VALUES {rules}
), visits AS (
    SELECT v.id, v.customer_id, v.opened_on FROM customers_servicevisit v
    WHERE v.dealership_id = %(dealership)s AND v.opened_on >= %(since)s AND v.visit_type = 'maintenance'
), rows AS (
    SELECT v.id AS visit_id, v.customer_id, r.*,
           ((v.opened_on + r.due_days) + %(call_at)s::time) AT TIME ZONE %(zone)s AS due_at,
           (v.opened_on + r.expires_days)::timestamp AT TIME ZONE %(zone)s AS expires_at,
           (v.id * 7919 + r.salt) %% 100 AS h,
           (%(agents)s::bigint[])[1 + ((v.id + r.salt) %% %(k)s)] AS agent
    FROM visits v CROSS JOIN rules r
), decided AS (
    SELECT r.*,
           CASE WHEN r.due_at > now() THEN 'planned'
                WHEN r.channel = 'call' THEN
                    CASE WHEN h < 68 THEN 'done' WHEN h < 75 THEN 'failed' WHEN h < 85 THEN 'expired'
                         WHEN h < 94 THEN 'cancelled' ELSE 'skipped' END
                ELSE
                    CASE WHEN h < 68 THEN 'delivered' WHEN h < 80 THEN 'sent' WHEN h < 88 THEN 'failed'
                         WHEN h < 94 THEN 'cancelled' ELSE 'skipped' END
           END AS status
    FROM rows r
)
INSERT INTO followups_touch (dealership_id, kind, customer_id, visit_id, occasion, due_at, expires_at, touch_class,
                             channel, assignee_id, priority, status, reason, reason_detail, attempts, max_attempts,
                             claimed_by, outcome, notes, provider_ref, error_code, error_text, sent_at, delivered_at,
                             completed_at, created_at, updated_at)
SELECT %(dealership)s, d.kind, d.customer_id, d.visit_id, '', d.due_at, d.expires_at, d.touch_class, d.channel,
       CASE WHEN d.assigned THEN d.agent END, d.priority, d.status,
       CASE d.status WHEN 'failed' THEN CASE WHEN d.channel = 'call' THEN 'attempts_exhausted'
                                             ELSE 'provider_error' END
                     WHEN 'expired' THEN 'expired'
                     WHEN 'cancelled' THEN CASE WHEN d.h %% 2 = 0 THEN 'booked' ELSE 'visited' END
                     WHEN 'skipped' THEN 'do_not_contact' ELSE '' END,
       '',
       CASE WHEN d.status IN ('failed') THEN d.max_attempts
            WHEN d.status = 'done' THEN 1 + d.h %% d.max_attempts
            WHEN d.status IN ('sent', 'delivered') THEN 1
            WHEN d.status = 'expired' AND d.channel = 'call' THEN d.h %% d.max_attempts
            ELSE 0 END,
       d.max_attempts, '',
       CASE WHEN d.status = 'done' THEN 'done' WHEN d.status = 'failed' AND d.channel = 'call' THEN 'no_answer'
            ELSE '' END,
       '',
       CASE WHEN d.channel <> 'call' AND d.status IN ('sent', 'delivered', 'failed') THEN 'bench-' || d.kind || '-'
            || d.visit_id ELSE '' END,
       CASE WHEN d.channel <> 'call' AND d.status = 'failed' THEN CASE WHEN d.h < 85 THEN 'bounced' ELSE 'E403' END
            ELSE '' END,
       '',
       CASE WHEN d.channel <> 'call' AND d.status IN ('sent', 'delivered') THEN d.due_at + interval '2 minutes' END,
       CASE WHEN d.channel <> 'call' AND d.status = 'delivered' THEN d.due_at + interval '3 minutes' END,
       CASE WHEN d.status = 'done' THEN d.due_at + (d.h %% 30) * interval '1 hour' END,
       d.due_at - (d.due_days + 1) * interval '1 day', now()
FROM decided d
"""

#: the survey link (a text the day after the visit, the touch of kind "survey"); 2.5 % of the texts bounced
INSERT_SURVEY_TOUCHES = """
INSERT INTO followups_touch (dealership_id, kind, customer_id, visit_id, occasion, due_at, expires_at, touch_class,
                             channel, priority, status, reason, reason_detail, attempts, max_attempts, claimed_by,
                             outcome, notes, provider_ref, error_code, error_text, sent_at, delivered_at,
                             created_at, updated_at)
SELECT %(dealership)s, 'survey', v.customer_id, v.id, '', s.due_at, s.expires_at, 'service',
       CASE WHEN (v.id / 3) %% 2 = 0 THEN 'wechat' ELSE 'sms' END, %(priority)s,
       CASE WHEN (v.id * 37) %% 40 = 7 THEN 'failed' ELSE 'delivered' END,
       CASE WHEN (v.id * 37) %% 40 = 7 THEN 'provider_error' ELSE '' END, '',
       CASE WHEN (v.id * 37) %% 40 = 7 THEN %(max_attempts)s ELSE 1 END, %(max_attempts)s, '', '', '',
       'bench-survey-' || v.id, CASE WHEN (v.id * 37) %% 40 = 7 THEN 'bounced' ELSE '' END, '',
       CASE WHEN (v.id * 37) %% 40 <> 7 THEN s.due_at + interval '2 minutes' END,
       CASE WHEN (v.id * 37) %% 40 <> 7 THEN s.due_at + interval '3 minutes' END,
       s.due_at - interval '1 day', now()
FROM customers_servicevisit v
CROSS JOIN LATERAL (
    SELECT ((v.opened_on + %(due_days)s) + %(text_at)s::time) AT TIME ZONE %(zone)s AS due_at,
           (v.opened_on + %(expires_days)s)::timestamp AT TIME ZONE %(zone)s AS expires_at
) s
WHERE v.dealership_id = %(dealership)s AND v.opened_on >= %(since)s AND (v.id * 104729) %% 100 < %(share)s
  AND s.due_at <= now()
"""

#: one survey per delivered or bounced survey text; answered by 30 % of those delivered
INSERT_SURVEYS = """
INSERT INTO followups_survey (dealership_id, customer_id, visit_id, touch_id, nonce, sent_at, expires_at,
                              answered_at, satisfaction, nps, comment)
SELECT t.dealership_id, t.customer_id, t.visit_id, t.id, md5('bench-survey-' || t.visit_id), t.due_at,
       t.due_at + interval '14 days', a.answered_at,
       CASE WHEN a.answered_at IS NOT NULL THEN
           CASE WHEN g < 3 THEN 1 WHEN g < 8 THEN 2 WHEN g < 20 THEN 3 WHEN g < 52 THEN 4 ELSE 5 END END,
       CASE WHEN a.answered_at IS NOT NULL AND g %% 10 <> 3 THEN
           CASE WHEN g < 18 THEN g %% 7 WHEN g < 45 THEN 7 + g %% 2 ELSE 9 + g %% 2 END END,
       CASE WHEN a.answered_at IS NOT NULL AND g < 8 THEN '等待时间太长' ELSE '' END
FROM followups_touch t
CROSS JOIN LATERAL (SELECT (t.visit_id * 31 + 7) %% 101 AS g) AS hash
CROSS JOIN LATERAL (
    SELECT CASE WHEN t.status = 'delivered' AND (t.visit_id * 613) %% 97 < %(share)s
                     AND t.due_at + (1 + t.visit_id %% 96) * interval '1 hour' <= now()
                THEN t.due_at + (1 + t.visit_id %% 96) * interval '1 hour' END AS answered_at
) AS a
WHERE t.dealership_id = %(dealership)s AND t.kind = 'survey'
"""

#: one message per text handed to a provider (delivered, sent, or failed: bounced or refused)
INSERT_MESSAGES = """
INSERT INTO followups_message (dealership_id, touch_id, customer_id, channel, backend, recipient, subject, body,
                               template_code, idempotency_key, status, provider_ref, error_code, error_text,
                               created_at, updated_at)
SELECT t.dealership_id, t.id, t.customer_id, t.channel, 'bench', COALESCE(NULLIF(c.phone, ''), 'wx-' || c.id), '',
       'bench ' || t.kind, '', 'bench-' || t.id,
       CASE WHEN t.status = 'delivered' THEN 'delivered' WHEN t.status = 'sent' THEN 'accepted'
            WHEN t.error_code = 'bounced' THEN 'bounced' ELSE 'failed' END,
       t.provider_ref, t.error_code, '', t.due_at + interval '1 minute', now()
FROM followups_touch t JOIN customers_customer c ON c.id = t.customer_id
WHERE t.dealership_id = %(dealership)s AND t.channel IN ('sms', 'wechat', 'email')
  AND t.status IN ('sent', 'delivered', 'failed')
"""

#: a complaint for one visit in COMPLAINT_EVERY opened at least three days ago; g picks how it was answered
INSERT_COMPLAINTS = """
INSERT INTO followups_complaint (dealership_id, customer_id, visit_id, survey_id, source, status, summary, resolution,
                                 opened_by_id, owner_id, opened_at, response_due_at, resolution_due_at,
                                 acknowledged_at, escalated_at, resolved_at, closed_at)
SELECT %(dealership)s, x.customer_id, x.id, NULL,
       (ARRAY['survey', 'call', 'counter', 'api'])[1 + x.n %% 4],
       CASE WHEN x.g < 18 AND x.opened_at < now() - interval '10 days' THEN 'resolved'
            WHEN x.g < 16 THEN 'acknowledged' WHEN x.g < 18 THEN 'resolved' ELSE 'open' END,
       '保养后仍有异响', CASE WHEN x.g < 18 THEN '已重新检查并处理' ELSE '' END,
       x.agent, x.agent, x.opened_at, x.opened_at + interval '24 hours', x.opened_at + interval '7 days',
       CASE WHEN x.g < 13 THEN x.opened_at + (1 + x.g) * interval '1 hour'
            WHEN x.g < 16 THEN x.opened_at + (30 + x.g) * interval '1 hour' END,
       CASE WHEN x.g >= 13 AND x.g < 16 THEN x.opened_at + interval '24 hours' END,
       CASE WHEN x.g < 16 AND x.opened_at < now() - interval '10 days' THEN x.opened_at + interval '4 days'
            WHEN x.g >= 16 AND x.g < 18 THEN x.opened_at + interval '20 hours' END,
       NULL
FROM (
    SELECT v.id, v.customer_id, v.id / %(every)s AS n, (v.id / %(every)s * 7) %% 20 AS g,
           ((v.opened_on + 2) + interval '9 hours' + (v.id %% 9) * interval '1 hour') AT TIME ZONE %(zone)s
               AS opened_at,
           (%(agents)s::bigint[])[1 + (v.id %% %(k)s)] AS agent
    FROM customers_servicevisit v
    WHERE v.dealership_id = %(dealership)s AND v.opened_on >= %(since)s AND v.id %% %(every)s = 0
) AS x
WHERE x.opened_at < now() - interval '3 days'
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reset", action="store_true", help="delete the follow-ups and build them again")
    parser.add_argument("--days", type=int, default=180, help="the visits of the last N days (default 180)")
    args = parser.parse_args()

    import django

    django.setup()
    from datetime import timedelta

    from django.db import connection, transaction

    from campaigns.services import agents_of
    from dealercrm.core.models import Dealership
    from followups.kinds import RULES
    from followups.models import Complaint, Message, Survey, Touch

    if connection.vendor != "postgresql":
        sys.exit("bench/bench_followups_seed.py: run it on PostgreSQL (DATABASE_URL=postgres://…).")
    store = Dealership.objects.filter(code="DEMO").first()
    if store is None:
        sys.exit("bench/bench_followups_seed.py: no DEMO store: run bench/bench_seed.py on this database first.")
    touches = Touch.objects.filter(dealership=store, kind__in=Touch.BY_VISIT)
    if touches.exists() and not args.reset:
        print(f"DEMO: already has follow-ups ({touches.count():,} visit touches); --reset builds them again")
        _print_counts(store, Touch, Survey, Complaint, Message)
        return
    agents = list(agents_of(store).values_list("pk", flat=True))
    if not agents:
        sys.exit("bench/bench_followups_seed.py: the DEMO store has no agent to give the calls to.")

    since = store.local_date() - timedelta(days=args.days - 1)
    rules = ", ".join(
        f"('{r.kind}', '{r.touch_class}', '{r.channel}', {int(r.priority)}, {r.due_days}, {r.expires_days}, "
        f"{r.max_attempts}, {str(r.assigned).lower()}, {salt})"
        for salt, r in enumerate((RULES[kind] for kind in VISIT_KINDS), start=1)
    )
    survey = RULES[Touch.Kind.SURVEY]
    common = {
        "dealership": store.pk,
        "since": since,
        "zone": store.time_zone,
        "agents": agents,
        "k": len(agents),
        "call_at": "10:00",
        "text_at": "11:00",
    }
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        if args.reset:
            _delete(cursor, store.pk)
        cursor.execute(INSERT_TOUCHES.format(rules=rules), common)
        cursor.execute(
            INSERT_SURVEY_TOUCHES,
            {
                **common,
                "priority": int(survey.priority),
                "max_attempts": survey.max_attempts,
                "due_days": survey.due_days,
                "expires_days": survey.expires_days,
                "share": SURVEY_SHARE,
            },
        )
        cursor.execute(INSERT_SURVEYS, {**common, "share": ANSWER_SHARE})
        cursor.execute(INSERT_MESSAGES, common)
        cursor.execute(INSERT_COMPLAINTS, {**common, "every": COMPLAINT_EVERY})
    with connection.cursor() as cursor:
        for table in ("followups_touch", "followups_survey", "followups_message", "followups_complaint"):
            cursor.execute(f"ANALYZE {table}")
    print(f"DEMO: follow-ups of the visits since {since} written in {time.perf_counter() - began:.1f} s")
    _print_counts(store, Touch, Survey, Complaint, Message)


def _delete(cursor, dealership: int) -> None:
    params = {"dealership": dealership}
    cursor.execute("DELETE FROM followups_complaint WHERE dealership_id = %(dealership)s", params)
    cursor.execute("DELETE FROM followups_message WHERE dealership_id = %(dealership)s", params)
    cursor.execute("DELETE FROM followups_survey WHERE dealership_id = %(dealership)s", params)
    cursor.execute(
        "DELETE FROM followups_touchattempt WHERE touch_id IN "
        "(SELECT id FROM followups_touch WHERE dealership_id = %(dealership)s)",
        params,
    )
    cursor.execute(
        "UPDATE followups_wechatsubscription SET touch_id = NULL WHERE touch_id IN "
        "(SELECT id FROM followups_touch WHERE dealership_id = %(dealership)s)",
        params,
    )
    cursor.execute("DELETE FROM followups_touch WHERE dealership_id = %(dealership)s", params)


def _print_counts(store, Touch, Survey, Complaint, Message) -> None:
    from django.db.models import Count, Q

    print("touches (kind, status: n)")
    rows = Touch.objects.filter(dealership=store).values("kind", "status").annotate(n=Count("id")).order_by()
    by_kind: dict[str, list[str]] = {}
    for row in sorted(rows, key=lambda r: (r["kind"], r["status"])):
        by_kind.setdefault(row["kind"], []).append(f"{row['status']} {row['n']:,}")
    for kind, parts in by_kind.items():
        print(f"  {kind:<9} {', '.join(parts)}")
    assigned = Touch.objects.filter(dealership=store, assignee__isnull=False).values("assignee").distinct().count()
    print(f"  call tasks given to {assigned} agents")
    s = Survey.objects.filter(dealership=store).aggregate(
        sent=Count("id"),
        answered=Count("id", filter=Q(answered_at__isnull=False)),
        scored=Count("id", filter=Q(satisfaction__isnull=False)),
        rated=Count("id", filter=Q(nps__isnull=False)),
    )
    print(f"surveys: {s['sent']:,} sent, {s['answered']:,} answered ({s['scored']:,} scored, {s['rated']:,} NPS)")
    c = Complaint.objects.filter(dealership=store).values("status").annotate(n=Count("id")).order_by("status")
    print("complaints: " + ", ".join(f"{row['status']} {row['n']:,}" for row in c))
    m = Message.objects.filter(dealership=store).values("channel", "status").annotate(n=Count("id"))
    print("messages: " + ", ".join(f"{r['channel']}/{r['status']} {r['n']:,}" for r in m.order_by("channel", "status")))


if __name__ == "__main__":
    main()
