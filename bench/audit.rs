//! Seeds 1,000,000 audit events and 10,000 merchants, then measures the admin audit page
//! (unfiltered, each filter, a deep page) and the full CSV export over real HTTP, on SQLite and
//! on Postgres.
//!
//! Run with `bench/run.sh audit` (a release build). `PAYHOOK_BENCH_EVENTS` scales the volume;
//! `PAYHOOK_BENCH_ONLY=sqlite` or `postgres` runs one backend.

use std::time::Instant;

use futures_util::StreamExt;
use payhook::catalog::SECTIONS;
use payhook::cli::{RoleArg, add_user};
use payhook::config::Settings;
use payhook::domain::MerchantCode;
use payhook::domain::Role;
use payhook::startup::Application;
use payhook::store::{Actor, AuditAction, AuditRecord, Db};
use payhook_testing::PASSWORD;
use payhook_testing::bench::{self, measure, report, sign_in};

const MERCHANTS: i64 = 10_000;
const CLIENTS: usize = 4;
const REQUESTS_PER_CASE: usize = 200;
const YEAR_MS: i64 = 365 * 24 * 60 * 60 * 1000;
const BATCH: usize = 20_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let events: i64 = std::env::var("PAYHOOK_BENCH_EVENTS").map_or(Ok(1_000_000), |v| v.parse())?;
    // `PAYHOOK_BENCH_ONLY=sqlite|postgres` runs one backend.
    let only = std::env::var("PAYHOOK_BENCH_ONLY").unwrap_or_default();
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("audit-bench.db").display());
    if only != "postgres" {
        run("sqlite", &sqlite, events).await?;
    }
    if only == "sqlite" {
        return Ok(());
    }
    bench::on_scratch_postgres(|url| async move { run("postgres", &url, events).await }).await
}

async fn run(backend: &str, database_url: &str, events: i64) -> anyhow::Result<()> {
    let app = Application::build(Settings::for_database(database_url)).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());

    let started = Instant::now();
    seed(&db, events).await?;
    db.refresh_statistics().await?;
    println!(
        "{backend:8} seeded {MERCHANTS} merchants and {events} events in {:.1?}",
        started.elapsed()
    );

    add_user(
        &db,
        "admin@bench.example.com",
        RoleArg::Admin,
        None,
        PASSWORD.into(),
    )
    .await?;
    let mut clients = Vec::new();
    for _ in 0..CLIENTS {
        clients.push(sign_in(&base, "admin@bench.example.com").await?);
    }
    let middle = format_day(now_ms_at_seed() - YEAR_MS / 2);
    let week_later = format_day(now_ms_at_seed() - YEAR_MS / 2 + 7 * 24 * 60 * 60 * 1000);
    let cases = [
        ("unfiltered, newest page".to_owned(), String::new()),
        (
            "unfiltered, deep page (before=middle)".to_owned(),
            format!("before={}", events / 2),
        ),
        ("merchant".to_owned(), "merchant=m04242".to_owned()),
        ("section".to_owned(), "section=ewallet".to_owned()),
        ("channel".to_owned(), "channel=ovo".to_owned()),
        (
            "actor".to_owned(),
            "actor=user1@m04242.example.com".to_owned(),
        ),
        (
            "action (5% of events)".to_owned(),
            "action=sign_in_failed".to_owned(),
        ),
        (
            "action (none stored)".to_owned(),
            "action=password_reset".to_owned(),
        ),
        (
            "from/to one week".to_owned(),
            format!("from={middle}&to={week_later}"),
        ),
        (
            "section + action".to_owned(),
            "section=paylater&action=settings_change".to_owned(),
        ),
    ];
    for (what, query) in cases {
        let url = format!("{base}/admin/audit?{query}");
        let latencies = measure(&clients, &url, REQUESTS_PER_CASE).await?;
        report(backend, &format!("audit page: {what}"), latencies);
    }
    csv_export(backend, &clients[0], &base, events).await
}

/// One fixed "now" for the whole run, so date filters hit seeded days.
fn now_ms_at_seed() -> i64 {
    static NOW: std::sync::OnceLock<i64> = std::sync::OnceLock::new();
    *NOW.get_or_init(payhook::store::now_ms)
}

fn format_day(ms: i64) -> String {
    let time = time::OffsetDateTime::from_unix_timestamp(ms / 1000).expect("valid time");
    let f = time::macros::format_description!("[year]-[month]-[day]");
    time.date().format(&f).expect("formattable")
}

/// 10,000 merchants with two users' worth of actors each, and `events` events spread evenly
/// over the last year: 70% settings changes, 20% sign-ins, 5% failed sign-ins, 5% sign-outs.
async fn seed(db: &Db, events: i64) -> anyhow::Result<()> {
    for n in 0..MERCHANTS {
        db.create_merchant(
            &MerchantCode::parse(&format!("m{n:05}"))?,
            &format!("Merchant {n}"),
            None,
        )
        .await?;
    }
    let channels: Vec<(&str, &str)> = SECTIONS
        .iter()
        .flat_map(|s| s.channels.iter().map(move |c| (s.code, c.code)))
        .collect();
    let start = now_ms_at_seed() - YEAR_MS;
    let step = YEAR_MS / events.max(1);
    let urls: Vec<String> = (0..16)
        .map(|n| format!("https://hooks{n}.merchant.co.id/payments/notify"))
        .collect();
    let mut batch = Vec::with_capacity(BATCH);
    for i in 0..events {
        // A cheap deterministic scramble so merchants, channels and actions interleave.
        let r = (i as u64)
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407)
            >> 20;
        let merchant = (r % MERCHANTS as u64) as i64;
        let (section, channel) = channels[(r / 7) as usize % channels.len()];
        let action = match r % 20 {
            0..14 => AuditAction::SettingsChange,
            14..18 => AuditAction::SignIn,
            18 => AuditAction::SignInFailed,
            _ => AuditAction::SignOut,
        };
        let actor = Actor {
            user_id: Some(merchant * 2 + (r % 2) as i64 + 1),
            email: format!("user{}@m{merchant:05}.example.com", r % 2),
            role: Some(Role::Owner),
            client_ip: Some(format!("203.0.113.{}", r % 250)),
        };
        let change = action == AuditAction::SettingsChange;
        let record = AuditRecord {
            action,
            merchant_id: Some(merchant + 1),
            section: change.then_some(section),
            channel: change.then_some(channel),
            field: change.then_some(if r.is_multiple_of(3) {
                "production_url"
            } else {
                "sandbox_url"
            }),
            old_value: change.then(|| urls[(r % 16) as usize].as_str()),
            new_value: change.then(|| urls[((r + 1) % 16) as usize].as_str()),
        };
        batch.push((start + i * step, actor, record));
        if batch.len() == BATCH {
            db.append_audit_batch(&batch).await?;
            batch.clear();
        }
    }
    db.append_audit_batch(&batch).await?;
    Ok(())
}

/// Streams the whole log as CSV, sampling this process's resident memory as it goes.
async fn csv_export(
    backend: &str,
    client: &reqwest::Client,
    base: &str,
    events: i64,
) -> anyhow::Result<()> {
    let before = resident_kib();
    let mut peak = before;
    let started = Instant::now();
    let response = client.get(format!("{base}/admin/audit.csv")).send().await?;
    anyhow::ensure!(response.status() == 200);
    let mut body = response.bytes_stream();
    let (mut bytes, mut rows, mut chunks) = (0usize, 0usize, 0usize);
    while let Some(chunk) = body.next().await {
        let chunk = chunk?;
        bytes += chunk.len();
        rows += chunk.iter().filter(|&&b| b == b'\n').count();
        chunks += 1;
        if chunks % 64 == 0 {
            peak = peak.max(resident_kib());
        }
    }
    // A header, the seeded events, one sign-in per benchmark client and this export's own event.
    let expected = events as usize + 1 + CLIENTS + 1;
    anyhow::ensure!(
        rows == expected,
        "CSV has {rows} lines, expected {expected}"
    );
    println!(
        "{backend:8} CSV export: {} rows, {:.1} MB in {:.2?}; resident memory {} MiB before, peak {} MiB while streaming",
        rows - 1,
        bytes as f64 / 1e6,
        started.elapsed(),
        before / 1024,
        peak / 1024
    );
    Ok(())
}

fn resident_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .map(str::to_owned)
        })
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}
