"""Hand-written PostgreSQL for the figures of the campaign reports (``reports/definitions/campaigns.py``), the
yardstick the reports' benchmark times each report against (target: the report within 2× its statement).

Parameters: ``%(dealership)s`` (the store's id), ``%(start)s`` and ``%(end)s`` (the period's dates, both included),
``%(campaign)s`` (the campaign's id, for the reports about one campaign; ``bench/bench_campaign_seed.py`` makes a
finished one of 50,000 invitees, code ``RPT-50K``). Each statement computes the same figures as the report's
tables, as one statement of several parts (``part``, keys ``k1``/``k2``, numbers ``n1`` …):

* ``campaign-analysis``: per campaign that ran in the period (not drafts): invited (not the holdout), attended (a
  visit at the store within the campaign's own period), booked (an appointment), cost;
* ``campaign-groups``: per target group invited, called, reached, booked, holdout, and (from the visits) the
  attended customers and their revenue, invitees and holdout apart; the non-target participants (the campaign's
  code on a visit of the period, not on the list) and their revenue; per group × model × age band on the first
  day invited and attended; per agent invitations, open, booked, attended, calls and customers reached; per
  coupon template issued, redeemed, open; per A/B group and variant invited, called, booked;
* ``campaign-progress``: per target group (not the holdout) invited, called, reached, booked, attended, and the
  attended split by the day of the first call (the store's local day): before it only, on or after it, never
  called.
"""

ATTENDED = """EXISTS (SELECT 1 FROM customers_servicevisit s
                WHERE s.dealership_id = c.dealership_id AND s.customer_id = i.customer_id
                  AND s.opened_on BETWEEN c.starts_on AND c.ends_on)"""

CAMPAIGN_ANALYSIS = f"""
SELECT c.id, c.code, c.name, c.starts_on, c.ends_on, c.cost,
       COUNT(i.id) AS invited,
       COUNT(i.id) FILTER (WHERE {ATTENDED}) AS attended,
       COUNT(i.id) FILTER (WHERE i.appointment_id IS NOT NULL) AS booked
FROM campaigns_campaign c
LEFT JOIN campaigns_invitation i ON i.campaign_id = c.id AND NOT i.holdout
WHERE c.dealership_id = %(dealership)s AND c.starts_on <= %(end)s AND c.ends_on >= %(start)s AND c.status <> 'draft'
GROUP BY c.id
ORDER BY c.starts_on, c.id
"""

CAMPAIGN_GROUPS = f"""
WITH c AS (
    SELECT id, dealership_id, starts_on, ends_on, code FROM campaigns_campaign
    WHERE id = %(campaign)s AND dealership_id = %(dealership)s
),
inv AS (
    SELECT i.id, i.target_group_id, i.customer_id, i.agent_id, i.variant, i.holdout, i.status,
           i.appointment_id IS NOT NULL AS booked, COALESCE(v.model, '') AS model,
           CASE WHEN v.purchase_date IS NULL THEN ''
                WHEN v.purchase_date > (c.starts_on - interval '1 year')::date AND v.purchase_date <= c.starts_on
                    THEN '<1'
                WHEN v.purchase_date > (c.starts_on - interval '2 years')::date
                     AND v.purchase_date <= (c.starts_on - interval '1 year')::date THEN '1-2'
                WHEN v.purchase_date > (c.starts_on - interval '3 years')::date
                     AND v.purchase_date <= (c.starts_on - interval '2 years')::date THEN '2-3'
                WHEN v.purchase_date > (c.starts_on - interval '5 years')::date
                     AND v.purchase_date <= (c.starts_on - interval '3 years')::date THEN '3-5'
                WHEN v.purchase_date <= (c.starts_on - interval '5 years')::date THEN '5+'
                ELSE '' END AS band,
           {ATTENDED} AS came,
           ca.invitation_id IS NOT NULL AS called, COALESCE(ca.reached, false) AS reached
    FROM campaigns_invitation i JOIN c ON c.id = i.campaign_id
    LEFT JOIN customers_vehicle v ON v.id = i.vehicle_id
    LEFT JOIN (SELECT a.invitation_id, bool_or(a.outcome IN ('declined', 'call_back', 'accepted')) AS reached
               FROM campaigns_callattempt a JOIN campaigns_invitation ai ON ai.id = a.invitation_id
               WHERE ai.campaign_id = %(campaign)s GROUP BY a.invitation_id) AS ca ON ca.invitation_id = i.id
),
revenue AS (
    SELECT i.target_group_id, i.holdout, COUNT(DISTINCT s.customer_id) AS attended, SUM(s.total_amount) AS revenue
    FROM campaigns_invitation i JOIN c ON c.id = i.campaign_id
    JOIN customers_servicevisit s ON s.dealership_id = c.dealership_id AND s.customer_id = i.customer_id
                                  AND s.opened_on BETWEEN c.starts_on AND c.ends_on
    GROUP BY 1, 2
),
non_target AS (
    SELECT COUNT(DISTINCT s.customer_id) AS customers, COALESCE(SUM(s.total_amount), 0) AS revenue
    FROM customers_servicevisit s JOIN c ON s.dealership_id = c.dealership_id
    WHERE s.opened_on BETWEEN c.starts_on AND c.ends_on AND upper(s.campaign_code) = upper(c.code)
      AND NOT EXISTS (SELECT 1 FROM campaigns_invitation i WHERE i.campaign_id = c.id AND i.customer_id = s.customer_id)
),
agent_calls AS (
    SELECT a.agent_id, COUNT(*) AS calls,
           COUNT(DISTINCT a.invitation_id) FILTER (WHERE a.outcome IN ('declined', 'call_back', 'accepted'))
               AS reached
    FROM campaigns_callattempt a JOIN campaigns_invitation i ON i.id = a.invitation_id JOIN c ON c.id = i.campaign_id
    GROUP BY 1
)
SELECT 'group' AS part, target_group_id::text AS k1, NULL AS k2,
       COUNT(*) FILTER (WHERE NOT holdout) AS n1, COUNT(*) FILTER (WHERE NOT holdout AND called) AS n2,
       COUNT(*) FILTER (WHERE NOT holdout AND reached) AS n3, COUNT(*) FILTER (WHERE NOT holdout AND booked) AS n4,
       COUNT(*) FILTER (WHERE holdout)::numeric AS n5
FROM inv GROUP BY target_group_id
UNION ALL
SELECT 'revenue', target_group_id::text, holdout::text, attended, NULL, NULL, NULL, revenue FROM revenue
UNION ALL
SELECT 'non_target', NULL, NULL, customers, NULL, NULL, NULL, revenue FROM non_target
UNION ALL
SELECT 'model_age', target_group_id::text || '/' || model, band, COUNT(*), COUNT(*) FILTER (WHERE came),
       NULL, NULL, NULL
FROM inv WHERE NOT holdout GROUP BY target_group_id, model, band
UNION ALL
SELECT 'agent', inv.agent_id::text, NULL, COUNT(*), COUNT(*) FILTER (WHERE inv.status IN ('pending', 'call_back')),
       COUNT(*) FILTER (WHERE booked), COUNT(*) FILTER (WHERE came),
       (MAX(ac.calls) * 100000 + MAX(ac.reached))::numeric
FROM inv LEFT JOIN agent_calls ac ON ac.agent_id = inv.agent_id
WHERE NOT holdout AND inv.agent_id IS NOT NULL GROUP BY inv.agent_id
UNION ALL
SELECT 'coupons', cp.template_id::text, NULL, COUNT(*), COUNT(*) FILTER (WHERE cp.status = 'redeemed'),
       COUNT(*) FILTER (WHERE cp.status = 'issued'), NULL, NULL
FROM campaigns_coupon cp JOIN c ON c.id = cp.campaign_id GROUP BY cp.template_id
UNION ALL
SELECT 'variant', inv.target_group_id::text, inv.variant, COUNT(*), COUNT(*) FILTER (WHERE called),
       COUNT(*) FILTER (WHERE booked), NULL, NULL
FROM inv JOIN campaigns_targetgroup g ON g.id = inv.target_group_id AND g.ab_test
WHERE NOT inv.holdout GROUP BY inv.target_group_id, inv.variant
"""

CAMPAIGN_PROGRESS = """
WITH c AS (
    SELECT c.id, c.dealership_id, c.starts_on, c.ends_on, d.time_zone AS zone
    FROM campaigns_campaign c JOIN core_dealership d ON d.id = c.dealership_id
    WHERE c.id = %(campaign)s AND c.dealership_id = %(dealership)s
),
calls AS (
    SELECT a.invitation_id, MIN((a.called_at AT TIME ZONE c.zone)::date) AS first_day,
           bool_or(a.outcome IN ('declined', 'call_back', 'accepted')) AS reached
    FROM campaigns_callattempt a JOIN campaigns_invitation i ON i.id = a.invitation_id JOIN c ON c.id = i.campaign_id
    GROUP BY 1
),
visits AS (
    SELECT s.customer_id, MAX(s.opened_on) AS last_on
    FROM customers_servicevisit s JOIN c ON s.dealership_id = c.dealership_id
    WHERE s.opened_on BETWEEN c.starts_on AND c.ends_on
    GROUP BY 1
)
SELECT i.target_group_id, COUNT(*) AS invited,
       COUNT(*) FILTER (WHERE k.first_day IS NOT NULL) AS called,
       COUNT(*) FILTER (WHERE k.reached) AS reached,
       COUNT(*) FILTER (WHERE i.appointment_id IS NOT NULL) AS booked,
       COUNT(v.customer_id) AS attended,
       COUNT(*) FILTER (WHERE v.last_on >= k.first_day) AS after_call,
       COUNT(*) FILTER (WHERE v.last_on < k.first_day) AS before_call,
       COUNT(v.customer_id) FILTER (WHERE k.first_day IS NULL) AS not_called
FROM campaigns_invitation i JOIN c ON c.id = i.campaign_id
LEFT JOIN calls k ON k.invitation_id = i.id
LEFT JOIN visits v ON v.customer_id = i.customer_id
WHERE NOT i.holdout
GROUP BY i.target_group_id
ORDER BY i.target_group_id
"""

BASELINES = {
    "campaign-analysis": CAMPAIGN_ANALYSIS,
    "campaign-groups": CAMPAIGN_GROUPS,
    "campaign-progress": CAMPAIGN_PROGRESS,
}
