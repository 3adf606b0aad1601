//! The hourly roll-up against a recount from the raw rows: every payment notification with an
//! attempt, counted here by its own rules from `deliveries` and `delivery_attempts`.

use std::collections::BTreeMap;

use payhook::store::Db;

/// A roll-up row's key: merchant, hour since the epoch, section, channel, environment.
pub type HourKey = (i64, i64, String, String, String);
/// First try, retried, retrying, failed, attempts, delivered attempts, then the 10 latency
/// buckets (up to 50, 100, 200, 300, 500, 1000, 2000, 5000, 10000 ms, and above).
pub type HourCounts = [i64; 16];

/// The latency buckets' upper bounds, written out again (the store's are `LATENCY_BOUNDS_MS`).
const BOUNDS: [i64; 9] = [50, 100, 200, 300, 500, 1000, 2000, 5000, 10000];

type DeliveryRow = (i64, i64, i64, String, String, String, String, i64);
type AttemptRow = (i64, String, Option<i64>);

/// The roll-up as the store holds it.
pub async fn rolled_up(db: &Db) -> BTreeMap<HourKey, HourCounts> {
    let mut out = BTreeMap::new();
    for (merchant, row) in db.all_delivery_hours().await.unwrap() {
        let mut counts = [0; 16];
        counts[..6].copy_from_slice(&[
            row.first_try,
            row.retried,
            row.retrying,
            row.failed,
            row.attempts,
            row.delivered_attempts,
        ]);
        counts[6..].copy_from_slice(&row.latencies.0);
        let key = (
            merchant,
            row.hour,
            row.section,
            row.channel,
            row.environment.as_str().to_owned(),
        );
        out.insert(key, counts);
    }
    out
}

/// The same counts, recounted from every payment notification and attempt.
pub async fn recount(db: &Db) -> BTreeMap<HourKey, HourCounts> {
    const DELIVERIES: &str = "SELECT id, merchant_id, created_at, section, channel, environment, \
         status, attempts FROM deliveries WHERE kind = 'payment'";
    const ATTEMPTS: &str = "SELECT delivery_id, outcome, latency_ms FROM delivery_attempts";
    let (deliveries, attempts): (Vec<DeliveryRow>, Vec<AttemptRow>) = match db {
        Db::Sqlite(pools) => (
            sqlx::query_as(DELIVERIES)
                .fetch_all(&pools.write)
                .await
                .unwrap(),
            sqlx::query_as(ATTEMPTS)
                .fetch_all(&pools.write)
                .await
                .unwrap(),
        ),
        Db::Postgres(pool) => (
            sqlx::query_as(DELIVERIES).fetch_all(pool).await.unwrap(),
            sqlx::query_as(ATTEMPTS).fetch_all(pool).await.unwrap(),
        ),
    };
    let mut by_delivery: BTreeMap<i64, Vec<AttemptRow>> = BTreeMap::new();
    for attempt in attempts {
        by_delivery.entry(attempt.0).or_default().push(attempt);
    }
    let mut out: BTreeMap<HourKey, HourCounts> = BTreeMap::new();
    for (id, merchant, created, section, channel, environment, status, tries) in deliveries {
        let Some(made) = by_delivery.get(&id) else {
            continue;
        };
        let key = (merchant, created / 3_600_000, section, channel, environment);
        let counts = out.entry(key).or_insert([0; 16]);
        match (status.as_str(), tries) {
            ("delivered", 1) => counts[0] += 1,
            ("delivered", _) => counts[1] += 1,
            ("retrying", _) => counts[2] += 1,
            ("failed", _) => counts[3] += 1,
            _ => {}
        }
        counts[4] += made.len() as i64;
        counts[5] += made.iter().filter(|a| a.1 == "delivered").count() as i64;
        for latency in made.iter().filter_map(|a| a.2) {
            let bucket = BOUNDS.iter().take_while(|&&b| latency > b).count();
            counts[6 + bucket] += 1;
        }
    }
    out
}

/// Asserts the roll-up equals the recount, row for row.
pub async fn assert_roll_up_matches_recount(db: &Db) {
    let (stored, counted) = (rolled_up(db).await, recount(db).await);
    assert!(!counted.is_empty(), "something to count");
    assert_eq!(stored, counted, "the roll-up is the recount");
}
