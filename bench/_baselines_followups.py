"""Hand-written PostgreSQL for the figures of the ``followups``, ``data-quality`` and ``incentives`` reports, the
yardstick that the reports' benchmark times each report against (target: the report within 2× its statement).

Parameters: ``%(dealership)s`` (the store's id), ``%(start)s`` and ``%(end)s`` (the period's dates, both
included). Timestamps are compared with the store's local days (its ``time_zone``), as
``Period.bounds(zone)`` does; "now" is ``now()``. Each statement computes the same figures as the report's
tables (``reports/definitions/followups.py``, ``quality.py``, ``incentives.py`` and ``reports/incentives.py``)
as one statement of several parts; the incentive tiers (the store's, else the SPEC's defaults) are read with
it.
"""

_BOUNDS = """
b AS (
    SELECT (%(start)s::date)::timestamp AT TIME ZONE d.time_zone AS since,
           ((%(end)s::date) + 1)::timestamp AT TIME ZONE d.time_zone AS until,
           d.time_zone AS zone
    FROM core_dealership d WHERE d.id = %(dealership)s
)"""

FOLLOWUPS = f"""
WITH {_BOUNDS},
touches AS (
    SELECT date_trunc('month', t.due_at AT TIME ZONE b.zone)::date AS month,
           CASE WHEN t.kind IN ('csi_call', 'campaign_csi') THEN 'csi' ELSE t.kind END AS kind,
           COUNT(*) FILTER (WHERE t.status NOT IN ('cancelled', 'skipped')) AS due,
           COUNT(*) FILTER (WHERE t.status IN ('done', 'sent', 'delivered')) AS done,
           COUNT(*) FILTER (WHERE t.status IN ('cancelled', 'skipped')) AS not_needed
    FROM followups_touch t, b
    WHERE t.dealership_id = %(dealership)s
      AND t.kind IN ('day7', 'day15', 'day30', 'csi_call', 'campaign_csi')
      AND t.due_at >= b.since AND t.due_at < b.until
    GROUP BY 1, 2
),
sent AS (
    SELECT date_trunc('month', s.sent_at AT TIME ZONE b.zone)::date AS month,
           COUNT(*) AS sent, COUNT(*) FILTER (WHERE s.answered_at IS NOT NULL) AS answered
    FROM followups_survey s, b
    WHERE s.dealership_id = %(dealership)s AND s.sent_at >= b.since AND s.sent_at < b.until
    GROUP BY 1
),
answers AS (
    SELECT date_trunc('month', s.answered_at AT TIME ZONE b.zone)::date AS month,
           COUNT(*) FILTER (WHERE s.satisfaction IS NOT NULL) AS scored,
           AVG(s.satisfaction) AS satisfaction,
           COUNT(*) FILTER (WHERE s.nps IS NOT NULL) AS rated,
           100.0 * (COUNT(*) FILTER (WHERE s.nps >= 9) - COUNT(*) FILTER (WHERE s.nps <= 6))
               / NULLIF(COUNT(*) FILTER (WHERE s.nps IS NOT NULL), 0) AS nps
    FROM followups_survey s, b
    WHERE s.dealership_id = %(dealership)s AND s.answered_at >= b.since AND s.answered_at < b.until
    GROUP BY 1
),
complaints AS (
    SELECT date_trunc('month', c.opened_at AT TIME ZONE b.zone)::date AS month,
           COUNT(*) AS opened,
           COUNT(*) FILTER (WHERE COALESCE(c.acknowledged_at, c.resolved_at, c.closed_at) IS NOT NULL
                                OR c.response_due_at <= now()) AS decided,
           COUNT(*) FILTER (WHERE COALESCE(c.acknowledged_at, c.resolved_at, c.closed_at) <= c.response_due_at)
               AS on_time
    FROM followups_complaint c, b
    WHERE c.dealership_id = %(dealership)s AND c.opened_at >= b.since AND c.opened_at < b.until
    GROUP BY 1
)
SELECT 'touches' AS part, month, kind, due, done, not_needed, NULL::numeric AS x, NULL::numeric AS y
FROM touches
UNION ALL SELECT 'sent', month, NULL, sent, answered, NULL, NULL, NULL FROM sent
UNION ALL SELECT 'answers', month, NULL, scored, rated, NULL, satisfaction, nps FROM answers
UNION ALL SELECT 'complaints', month, NULL, opened, decided, on_time, NULL, NULL FROM complaints
"""

DATA_QUALITY = f"""
WITH {_BOUNDS},
flags AS (
    SELECT COUNT(*) AS customers,
           COUNT(*) FILTER (WHERE c.flag_wrong_number) AS wrong_number,
           COUNT(*) FILTER (WHERE c.flag_possible_duplicate) AS possible_duplicate,
           COUNT(*) FILTER (WHERE c.flag_bounced) AS bounced
    FROM customers_customer c
    WHERE c.dealership_id = %(dealership)s
),
messages AS (
    SELECT date_trunc('month', m.created_at AT TIME ZONE b.zone)::date AS month, m.channel,
           COUNT(*) AS sent, COUNT(*) FILTER (WHERE m.status = 'bounced') AS bounced
    FROM followups_message m, b
    WHERE m.dealership_id = %(dealership)s AND m.status <> 'failed'
      AND m.created_at >= b.since AND m.created_at < b.until
    GROUP BY 1, 2
)
SELECT 'flags' AS part, NULL::date AS month, NULL AS channel, customers AS a, wrong_number AS b,
       possible_duplicate AS c, bounced AS d
FROM flags
UNION ALL SELECT 'messages', month, channel, sent, bounced, NULL, NULL FROM messages
"""

INCENTIVES = """
WITH defaults (c3_group, min_rate, amount, per_customer) AS (
    VALUES ('profitable_loyal', 0.0, -200.00, false), ('profitable_loyal', 0.11, 6.00, true),
           ('profitable_loyal', 0.18, 10.00, true),
           ('low_cost', 0.0, -200.00, false), ('low_cost', 0.07, 10.00, true), ('low_cost', 0.12, 15.00, true)
),
tiers AS (
    SELECT t.c3_group, t.min_rate, t.amount, t.per_customer FROM reports_incentivetier t
    WHERE t.dealership_id = %(dealership)s
    UNION ALL
    SELECT d.c3_group, d.min_rate, d.amount, d.per_customer FROM defaults d
    WHERE NOT EXISTS (SELECT 1 FROM reports_incentivetier t
                      WHERE t.dealership_id = %(dealership)s AND t.c3_group = d.c3_group)
),
counts AS (
    SELECT c.dealership_id, i.agent_id, i.target_group_id,
           COUNT(*) AS invited,
           COUNT(*) FILTER (WHERE EXISTS (
               SELECT 1 FROM customers_servicevisit s
               WHERE s.dealership_id = c.dealership_id AND s.customer_id = i.customer_id
                 AND s.opened_on BETWEEN c.starts_on AND c.ends_on)) AS arrived
    FROM campaigns_campaign c JOIN campaigns_invitation i ON i.campaign_id = c.id
    WHERE c.dealership_id = %(dealership)s AND c.status <> 'draft'
      AND c.ends_on BETWEEN %(start)s AND %(end)s
      AND NOT i.holdout AND i.agent_id IS NOT NULL
    GROUP BY 1, 2, 3
),
per_group AS (
    SELECT k.dealership_id, k.agent_id,
           CASE WHEN jsonb_typeof(tg.filters -> 'c3_group') = 'array' THEN
               CASE WHEN jsonb_array_length(tg.filters -> 'c3_group') = 1 THEN tg.filters -> 'c3_group' ->> 0 END
           END AS c3_group,
           SUM(k.invited) AS invited, SUM(k.arrived) AS arrived
    FROM counts k JOIN campaigns_targetgroup tg ON tg.id = k.target_group_id
    GROUP BY 1, 2, 3
)
SELECT g.agent_id, u.username, g.c3_group, g.invited, g.arrived,
       g.arrived::numeric / NULLIF(g.invited, 0) AS rate,
       (SELECT t.amount * CASE WHEN t.per_customer THEN g.arrived ELSE 1 END
        FROM tiers t
        WHERE t.c3_group = g.c3_group AND g.arrived >= t.min_rate * g.invited
        ORDER BY t.min_rate DESC LIMIT 1) AS total
FROM per_group g JOIN core_user u ON u.id = g.agent_id
ORDER BY u.username, g.c3_group
"""

BASELINES = {"followups": FOLLOWUPS, "data-quality": DATA_QUALITY, "incentives": INCENTIVES}
