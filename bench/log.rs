//! Seeds 1,000,000 notifications (and their attempts) over the last 30 days for 1,000
//! merchants, one of which has a fifth of them (about 47,000 a week), rebuilds the hourly
//! roll-up with the migration's own backfill, then measures that merchant's notification log
//! (the newest page, a deep page, each filter), delivery health, one notification's page and
//! the section page with its failing badges, over real HTTP with 4 clients, on SQLite and on
//! Postgres. Saves are measured on the empty database and again at 1,000,000 notifications.
//!
//! Run with `bench/run.sh log` (a release build). `PAYHOOK_BENCH_DELIVERIES` scales the volume;
//! `PAYHOOK_BENCH_ONLY=sqlite` or `postgres` runs one backend.

use std::time::Instant;

use payhook::cli::{RoleArg, add_user};
use payhook::config::Settings;
use payhook::domain::MerchantCode;
use payhook::startup::Application;
use payhook::store::Db;
use payhook_testing::PASSWORD;
use payhook_testing::bench::{self, measure, report, save, sign_in};

const MERCHANTS: i64 = 1_000;
const CLIENTS: usize = 4;
const REQUESTS_PER_CASE: usize = 400;
const SAVES: usize = 200;
const DAY_MS: i64 = 24 * 60 * 60 * 1000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let deliveries: i64 =
        std::env::var("PAYHOOK_BENCH_DELIVERIES").map_or(Ok(1_000_000), |v| v.parse())?;
    let only = std::env::var("PAYHOOK_BENCH_ONLY").unwrap_or_default();
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("log-bench.db").display());
    if only != "postgres" {
        run("sqlite", &sqlite, deliveries).await?;
    }
    if only == "sqlite" {
        return Ok(());
    }
    bench::on_scratch_postgres(|url| async move { run("postgres", &url, deliveries).await }).await
}

async fn run(backend: &str, database_url: &str, deliveries: i64) -> anyhow::Result<()> {
    let app = Application::build(Settings::for_database(database_url)).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());

    let code = MerchantCode::parse("m00000")?;
    db.create_merchant(&code, "Merchant 0", None).await?;
    add_user(
        &db,
        "user@m00000.example.com",
        RoleArg::Owner,
        Some("m00000"),
        PASSWORD.into(),
    )
    .await?;
    // One channel of m00000 is failing: every page carries the banner, before and after.
    execute(
        &db,
        "INSERT INTO channel_health (merchant_id, section, channel, environment, \
         failing_streak, last_error, last_failed_at) \
         VALUES (1, 'ewallet', 'ovo', 'sandbox', 4, 'HTTP 500: not accepted', 0)",
    )
    .await?;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(sign_in(&base, "user@m00000.example.com").await?);
    }
    report(
        backend,
        "POST save, empty log",
        saves(&clients, &base).await?,
    );

    let started = Instant::now();
    seed(&db, deliveries).await?;
    let seeded = started.elapsed();
    let started = Instant::now();
    let backfill = match db {
        Db::Sqlite(_) => {
            include_str!("../migrations/sqlite/20261206000510_delivery_hours_backfill.sql")
        }
        Db::Postgres(_) => {
            include_str!("../migrations/postgres/20261206000510_delivery_hours_backfill.sql")
        }
    };
    execute(&db, backfill).await?;
    db.refresh_statistics().await?;
    println!(
        "{backend:8} seeded {MERCHANTS} merchants and {deliveries} notifications in \
         {seeded:.1?}; the migration's backfill rebuilt the roll-up in {:.1?}",
        started.elapsed()
    );
    report(
        backend,
        "POST save, 1,000,000 notifications",
        saves(&clients, &base).await?,
    );
    // The middle of merchant m00000's log, as the page links name it (its log position).
    let deep = middle_position(&db).await?;
    let cases = [
        ("log, newest page", String::new()),
        ("log, deep page (before=middle)", format!("before={deep}")),
        ("log, channel", "section=ewallet&channel=ovo".to_owned()),
        ("log, status failed (5%)", "status=failed".to_owned()),
        (
            "log, invoice prefix (none such)",
            "invoice=INV-404".to_owned(),
        ),
        (
            "log, production (none)",
            "environment=production".to_owned(),
        ),
    ];
    for (what, query) in cases {
        let url = format!("{base}/integration/notifications?{query}");
        report(
            backend,
            what,
            measure(&clients, &url, REQUESTS_PER_CASE).await?,
        );
    }
    report(
        backend,
        "delivery health (7 days)",
        measure(
            &clients,
            &format!("{base}/integration/notifications/health"),
            REQUESTS_PER_CASE,
        )
        .await?,
    );
    let newest = deliveries - deliveries % 5;
    let url = format!("{base}/integration/notifications/{newest}");
    report(
        backend,
        "one notification",
        measure(&clients, &url, REQUESTS_PER_CASE).await?,
    );
    let url = format!("{base}/settings/payment/ewallet");
    report(
        backend,
        "section page (a failing badge)",
        measure(&clients, &url, REQUESTS_PER_CASE).await?,
    );
    Ok(())
}

/// `total` notifications spread evenly over the last 30 days; every fifth is merchant
/// m00000's. Channels alternate between VA BCA, OVO and Indomaret; 85% were delivered at
/// once, 10% after a retry, 5% failed after two attempts.
async fn seed(db: &Db, total: i64) -> anyhow::Result<()> {
    for n in 1..MERCHANTS {
        let code = MerchantCode::parse(&format!("m{n:05}"))?;
        db.create_merchant(&code, &format!("Merchant {n}"), None)
            .await?;
    }
    let start = payhook::store::now_ms() - 30 * DAY_MS;
    let step = 30 * DAY_MS / total.max(1);
    let deliveries = format!(
        "INSERT INTO deliveries (merchant_id, section, channel, environment, kind, url, \
         request_id, request_body, status, attempts, first_attempt_at, last_attempt_at, \
         last_http_status, last_error, created_at) \
         WITH RECURSIVE g(n) AS (SELECT CAST(1 AS BIGINT) UNION ALL SELECT n + 1 FROM g WHERE n < {total}) \
         SELECT CASE WHEN n % 5 = 0 THEN 1 ELSE 2 + n % {} END, \
         CASE n % 3 WHEN 0 THEN 'va' WHEN 1 THEN 'ewallet' ELSE 'cstore' END, \
         CASE n % 3 WHEN 0 THEN 'bca' WHEN 1 THEN 'ovo' ELSE 'indomaret' END, \
         'sandbox', 'payment', 'https://hooks.merchant.co.id/payments/notify', \
         'req-' || n, '{{\"order\":{{\"invoice_number\":\"INV-' || n || '\"}}}}', \
         CASE WHEN n % 20 = 0 THEN 'failed' ELSE 'delivered' END, \
         CASE WHEN n % 10 = 0 THEN 2 ELSE 1 END, {start} + n * {step}, \
         {start} + n * {step} + CASE WHEN n % 10 = 0 THEN 1800000 ELSE 0 END, \
         CASE WHEN n % 20 = 0 THEN 500 ELSE 200 END, \
         CASE WHEN n % 20 = 0 THEN 'HTTP 500: not accepted' END, {start} + n * {step} FROM g",
        MERCHANTS - 1
    );
    let attempts = "INSERT INTO delivery_attempts (delivery_id, at, request_headers, outcome, \
         http_status, latency_ms, response_body, error) \
         SELECT id, first_attempt_at, '[]', CASE WHEN attempts = 2 THEN 'failed' ELSE 'delivered' END, \
         CASE WHEN attempts = 2 THEN 500 ELSE 200 END, 20 + id % 180, 'OK', NULL FROM deliveries \
         UNION ALL SELECT id, last_attempt_at, '[]', \
         CASE WHEN status = 'failed' THEN 'failed' ELSE 'delivered' END, last_http_status, \
         25 + id % 200, 'OK', last_error FROM deliveries WHERE attempts = 2";
    for sql in [deliveries.as_str(), attempts] {
        execute(db, sql).await?;
    }
    Ok(())
}

/// Runs `sql` (one statement or several) on the writer.
async fn execute(db: &Db, sql: &str) -> anyhow::Result<()> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match db {
        Db::Sqlite(pools) => {
            sqlx::raw_sql(sql).execute(&pools.write).await?;
        }
        Db::Postgres(pool) => {
            sqlx::raw_sql(sql).execute(pool).await?;
        }
    }
    Ok(())
}

/// The log position halfway down merchant m00000's log.
async fn middle_position(db: &Db) -> anyhow::Result<i64> {
    const SQLITE: &str = "SELECT id FROM deliveries WHERE merchant_id = 1 ORDER BY id \
         LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM deliveries WHERE merchant_id = 1)";
    const POSTGRES: &str = "SELECT seq FROM deliveries WHERE merchant_id = 1 ORDER BY seq \
         LIMIT 1 OFFSET (SELECT COUNT(*) / 2 FROM deliveries WHERE merchant_id = 1)";
    Ok(match db {
        Db::Sqlite(pools) => sqlx::query_scalar(SQLITE).fetch_one(&pools.read).await?,
        Db::Postgres(pool) => sqlx::query_scalar(POSTGRES).fetch_one(pool).await?,
    })
}

/// `SAVES` saves of one channel's CONFIGURE form, the clients taking turns; their latencies.
async fn saves(
    clients: &[reqwest::Client],
    base: &str,
) -> anyhow::Result<Vec<std::time::Duration>> {
    let mut latencies = Vec::with_capacity(SAVES);
    for n in 0..SAVES {
        let started = Instant::now();
        save(&clients[n % clients.len()], base, "va", "bca", n).await?;
        latencies.push(started.elapsed());
    }
    Ok(latencies)
}
