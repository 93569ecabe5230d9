"""Hand-written PostgreSQL for the figures of the ``customer-base`` and ``workshop`` reports, the yardstick that
``bench/bench_reports.py`` times each report against (target: the report within 2× its statement).

Parameters: ``%(dealership)s`` (the store's id), ``%(start)s`` and ``%(end)s`` (the period's dates, both
included). Each statement computes the same figures as the report's tables (``reports/definitions/base.py``,
``reports/definitions/workshop.py``), as one statement of several parts; "today" is ``CURRENT_DATE``.
"""

WORKSHOP = """
WITH v AS (
    SELECT sv.id, sv.vehicle_id, sv.customer_id, sv.opened_on, sv.visit_type, sv.payer, sv.total_amount,
           ROW_NUMBER() OVER (PARTITION BY sv.vehicle_id, sv.opened_on ORDER BY sv.id) = 1 AS first_of_day
    FROM customers_servicevisit sv
    WHERE sv.dealership_id = %(dealership)s AND sv.opened_on BETWEEN %(start)s AND %(end)s
),
monthly AS (
    SELECT date_trunc('month', opened_on)::date AS month, visit_type, payer,
           COUNT(*) FILTER (WHERE first_of_day) AS entries, SUM(total_amount) AS revenue
    FROM v GROUP BY 1, 2, 3
),
shows AS (
    SELECT date_trunc('month', a.date)::date AS month,
           COUNT(*) FILTER (WHERE a.status IN ('booked', 'arrived', 'no_show')) AS due,
           COUNT(*) FILTER (WHERE a.status = 'arrived') AS arrived,
           COUNT(*) FILTER (WHERE a.status = 'no_show') AS no_show,
           COUNT(*) FILTER (WHERE a.status = 'booked') AS unmarked,
           COUNT(*) FILTER (WHERE a.status = 'cancelled') AS cancelled
    FROM customers_appointment a
    WHERE a.dealership_id = %(dealership)s AND a.date BETWEEN %(start)s AND %(end)s AND a.date < CURRENT_DATE
    GROUP BY 1
),
returns AS (
    SELECT c.id AS campaign_id, i.customer_id,
           EXISTS (SELECT 1 FROM customers_servicevisit s
                   WHERE s.dealership_id = c.dealership_id AND s.customer_id = i.customer_id
                     AND s.opened_on BETWEEN c.starts_on AND c.ends_on) AS attended,
           EXISTS (SELECT 1 FROM customers_servicevisit s
                   WHERE s.dealership_id = c.dealership_id AND s.customer_id = i.customer_id
                     AND s.opened_on > c.ends_on AND s.opened_on <= c.ends_on + 30) AS back
    FROM campaigns_campaign c JOIN campaigns_invitation i ON i.campaign_id = c.id
    WHERE c.dealership_id = %(dealership)s AND c.ends_on BETWEEN %(start)s AND %(end)s
      AND c.ends_on < CURRENT_DATE - 30 AND c.status <> 'draft' AND NOT i.holdout
)
SELECT 'monthly' AS part, month::text AS k1, visit_type AS k2, payer AS k3, entries AS n1, revenue AS n2,
       NULL::bigint AS n3, NULL::bigint AS n4, NULL::bigint AS n5, NULL::bigint AS n6
FROM monthly
UNION ALL
SELECT 'shows', month::text, NULL, NULL, due, arrived, no_show, unmarked, cancelled, NULL FROM shows
UNION ALL
SELECT 'returns', campaign_id::text, NULL, NULL, COUNT(DISTINCT customer_id) FILTER (WHERE attended),
       COUNT(DISTINCT customer_id) FILTER (WHERE attended AND back), NULL, NULL, NULL, NULL
FROM returns GROUP BY campaign_id
UNION ALL
SELECT 'returns_total', NULL, NULL, NULL, COUNT(DISTINCT customer_id) FILTER (WHERE attended),
       COUNT(DISTINCT customer_id) FILTER (WHERE attended AND back), NULL, NULL, NULL, NULL
FROM returns
"""

CUSTOMER_BASE = """
WITH run_end AS (
    SELECT id FROM segmentation_segmentationrun
    WHERE dealership_id = %(dealership)s AND status = 'succeeded' AND reference_date <= %(end)s
    ORDER BY reference_date DESC, id DESC LIMIT 1
),
run_eve AS (
    SELECT id FROM segmentation_segmentationrun
    WHERE dealership_id = %(dealership)s AND status = 'succeeded' AND reference_date < %(start)s
    ORDER BY reference_date DESC, id DESC LIMIT 1
),
at_end AS (
    SELECT s.* FROM segmentation_customersegment s, run_end r
    WHERE s.dealership_id = %(dealership)s AND s.valid_from_id <= r.id
      AND (s.valid_to_id IS NULL OR s.valid_to_id > r.id)
),
at_eve AS (
    SELECT s.* FROM segmentation_customersegment s, run_eve r
    WHERE s.dealership_id = %(dealership)s AND s.valid_from_id <= r.id
      AND (s.valid_to_id IS NULL OR s.valid_to_id > r.id)
),
in_period AS (
    SELECT DISTINCT customer_id FROM customers_servicevisit
    WHERE dealership_id = %(dealership)s AND opened_on BETWEEN %(start)s AND %(end)s
),
year_before AS (
    SELECT sv.customer_id, CASE
        WHEN v.purchase_date IS NULL THEN ''
        WHEN v.purchase_date > (%(start)s::date - interval '1 year') THEN '<1'
        WHEN v.purchase_date > (%(start)s::date - interval '2 years') THEN '1-2'
        WHEN v.purchase_date > (%(start)s::date - interval '3 years') THEN '2-3'
        WHEN v.purchase_date > (%(start)s::date - interval '5 years') THEN '3-5'
        ELSE '5+' END AS band
    FROM customers_servicevisit sv JOIN customers_vehicle v ON v.id = sv.vehicle_id
    WHERE sv.dealership_id = %(dealership)s
      AND sv.opened_on BETWEEN %(start)s::date - 365 AND %(start)s::date - 1
)
SELECT 'distribution' AS part, c3_group AS k1, tier AS k2, COUNT(*) AS n1, NULL::bigint AS n2 FROM at_end GROUP BY 2, 3
UNION ALL
SELECT 'layers', e.value_layer, a.value_layer, COUNT(*), NULL
FROM at_end a JOIN at_eve e ON e.customer_id = a.customer_id WHERE e.value_layer <> a.value_layer GROUP BY 2, 3
UNION ALL
SELECT 'movement', COALESCE(e.c3_group, 'new'), a.c3_group, COUNT(*), NULL
FROM at_end a LEFT JOIN at_eve e ON e.customer_id = a.customer_id GROUP BY 2, 3
UNION ALL
SELECT 'ab_share', NULL, NULL, COUNT(*) FILTER (WHERE tier IN ('A', 'B')), COUNT(*) FROM at_end
UNION ALL
SELECT 'wakeup', NULL, NULL, COUNT(*) FILTER (WHERE p.customer_id IS NOT NULL), COUNT(*)
FROM at_eve e LEFT JOIN in_period p ON p.customer_id = e.customer_id WHERE e.lapsed
UNION ALL
SELECT 'retention', band, NULL, COUNT(DISTINCT y.customer_id) FILTER (WHERE p.customer_id IS NOT NULL),
       COUNT(DISTINCT y.customer_id)
FROM year_before y LEFT JOIN in_period p ON p.customer_id = y.customer_id GROUP BY 2
UNION ALL
SELECT 'retention_total', NULL, NULL, COUNT(DISTINCT y.customer_id) FILTER (WHERE p.customer_id IS NOT NULL),
       COUNT(DISTINCT y.customer_id)
FROM year_before y LEFT JOIN in_period p ON p.customer_id = y.customer_id
UNION ALL
SELECT 'trend', id::text, reference_date::text, customers, NULL FROM segmentation_segmentationrun
WHERE dealership_id = %(dealership)s AND status = 'succeeded' AND reference_date BETWEEN %(start)s AND %(end)s
"""

BASELINES = {"customer-base": CUSTOMER_BASE, "workshop": WORKSHOP}
