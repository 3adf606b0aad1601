//! Seeds 1,000,000 notifications (and their attempts) over the last 30 days for 1,000
//! merchants, one of which has a fifth of them, then measures that merchant's notification log
//! (each filter, a deep page), one notification's page, and the section page with its failing
//! badges, over real HTTP on SQLite and on Postgres.
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
use payhook_testing::bench::{self, measure, report, sign_in};

const MERCHANTS: i64 = 1_000;
const CLIENTS: usize = 4;
const REQUESTS_PER_CASE: usize = 200;
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

    let started = Instant::now();
    seed(&db, deliveries).await?;
    db.refresh_statistics().await?;
    println!(
        "{backend:8} seeded {MERCHANTS} merchants and {deliveries} notifications in {:.1?}",
        started.elapsed()
    );
    add_user(
        &db,
        "user@m00000.example.com",
        RoleArg::Owner,
        Some("m00000"),
        PASSWORD.into(),
    )
    .await?;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(sign_in(&base, "user@m00000.example.com").await?);
    }
    let deep = deliveries / 2;
    let cases = [
        ("log, newest page", String::new()),
        ("log, deep page (before=middle)", format!("before={deep}")),
        ("log, channel", "section=ewallet&channel=ovo".to_owned()),
        ("log, status failed (5%)", "status=failed".to_owned()),
        ("log, invoice (none such)", "invoice=INV-404".to_owned()),
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
/// once, 10% after a retry, 5% failed after two attempts. One channel of m00000 is failing.
async fn seed(db: &Db, total: i64) -> anyhow::Result<()> {
    for n in 0..MERCHANTS {
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
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {total}) \
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
    let failures = "UPDATE deliveries SET failures = attempts - 1 + \
         CASE WHEN status = 'failed' THEN 1 ELSE 0 END";
    let attempts = "INSERT INTO delivery_attempts (delivery_id, at, request_headers, outcome, \
         http_status, latency_ms, response_body, error) \
         SELECT id, first_attempt_at, '[]', CASE WHEN attempts = 2 THEN 'failed' ELSE 'delivered' END, \
         CASE WHEN attempts = 2 THEN 500 ELSE 200 END, 20 + id % 180, 'OK', NULL FROM deliveries \
         UNION ALL SELECT id, last_attempt_at, '[]', \
         CASE WHEN status = 'failed' THEN 'failed' ELSE 'delivered' END, last_http_status, \
         25 + id % 200, 'OK', last_error FROM deliveries WHERE attempts = 2";
    let health = "INSERT INTO channel_health (merchant_id, section, channel, environment, \
         failing_streak, last_error, last_failed_at) \
         VALUES (1, 'ewallet', 'ovo', 'sandbox', 4, 'HTTP 500: not accepted', 0)";
    match db {
        Db::Sqlite(pools) => {
            for sql in [deliveries.as_str(), failures, attempts, health] {
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(&pools.write)
                    .await?;
            }
        }
        Db::Postgres(pool) => {
            for sql in [deliveries.as_str(), failures, attempts, health] {
                sqlx::query(sqlx::AssertSqlSafe(sql.to_owned()))
                    .execute(pool)
                    .await?;
            }
        }
    }
    Ok(())
}
