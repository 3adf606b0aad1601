-- Fills the hourly roll-up from the notifications already stored. It rebuilds the table
-- from scratch, so the benchmark runs this same file after seeding rows in bulk. The rules are
-- `store::delivery_hours`'s (`hour_outcome`, `LATENCY_BOUNDS_MS`).
DELETE FROM delivery_hours;
INSERT INTO delivery_hours (merchant_id, hour, section, channel, environment,
    first_try, retried, retrying, failed, attempts, delivered_attempts,
    latency_0, latency_1, latency_2, latency_3, latency_4, latency_5, latency_6, latency_7, latency_8, latency_9)
SELECT d.merchant_id, d.created_at / 3600000, d.section, d.channel, d.environment,
    SUM(CASE WHEN d.status = 'delivered' AND d.attempts <= 1 THEN 1 ELSE 0 END),
    SUM(CASE WHEN d.status = 'delivered' AND d.attempts > 1 THEN 1 ELSE 0 END),
    SUM(CASE WHEN d.status = 'retrying' THEN 1 ELSE 0 END),
    SUM(CASE WHEN d.status = 'failed' THEN 1 ELSE 0 END),
    SUM(a.attempts), SUM(a.delivered),
    SUM(a.l0), SUM(a.l1), SUM(a.l2), SUM(a.l3), SUM(a.l4), SUM(a.l5), SUM(a.l6), SUM(a.l7), SUM(a.l8), SUM(a.l9)
FROM deliveries d JOIN (
    SELECT delivery_id, COUNT(*) AS attempts,
        SUM(CASE WHEN outcome = 'delivered' THEN 1 ELSE 0 END) AS delivered,
        SUM(CASE WHEN latency_ms <= 50 THEN 1 ELSE 0 END) AS l0,
        SUM(CASE WHEN latency_ms > 50 AND latency_ms <= 100 THEN 1 ELSE 0 END) AS l1,
        SUM(CASE WHEN latency_ms > 100 AND latency_ms <= 200 THEN 1 ELSE 0 END) AS l2,
        SUM(CASE WHEN latency_ms > 200 AND latency_ms <= 300 THEN 1 ELSE 0 END) AS l3,
        SUM(CASE WHEN latency_ms > 300 AND latency_ms <= 500 THEN 1 ELSE 0 END) AS l4,
        SUM(CASE WHEN latency_ms > 500 AND latency_ms <= 1000 THEN 1 ELSE 0 END) AS l5,
        SUM(CASE WHEN latency_ms > 1000 AND latency_ms <= 2000 THEN 1 ELSE 0 END) AS l6,
        SUM(CASE WHEN latency_ms > 2000 AND latency_ms <= 5000 THEN 1 ELSE 0 END) AS l7,
        SUM(CASE WHEN latency_ms > 5000 AND latency_ms <= 10000 THEN 1 ELSE 0 END) AS l8,
        SUM(CASE WHEN latency_ms > 10000 THEN 1 ELSE 0 END) AS l9
    FROM delivery_attempts GROUP BY delivery_id
) a ON a.delivery_id = d.id
WHERE d.kind = 'payment'
GROUP BY d.merchant_id, d.created_at / 3600000, d.section, d.channel, d.environment;
