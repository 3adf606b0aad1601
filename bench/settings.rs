//! Measures the section page and a save over real HTTP, on SQLite and on Postgres.
//!
//! Run with `bench/run.sh` (a release build). Client and server share the machine, so the
//! numbers are an upper bound on server latency.

use std::time::{Duration, Instant};

use payhook::cli::{RoleArg, add_user};
use payhook::config::Settings;
use payhook::domain::MerchantCode;
use payhook::startup::Application;
use payhook_testing::PASSWORD;
use payhook_testing::bench::{self, sign_in};

const CONCURRENCY: usize = 8;
const PAGE_REQUESTS: usize = 4000;
const SAVES: usize = 800;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run("sqlite", &sqlite).await?;
    bench::on_scratch_postgres(|url| async move { run("postgres", &url).await }).await
}

async fn run(backend: &str, database_url: &str) -> anyhow::Result<()> {
    let app = Application::build(Settings::for_database(database_url)).await?;
    let base = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    db.create_merchant(&MerchantCode::parse("bench")?, "Bench Merchant", None)
        .await?;
    // Every VA SNAP channel configured, so the page shows a full table.
    let mut clients = Vec::new();
    for i in 0..CONCURRENCY {
        let email = format!("user{i}@bench.example.com");
        add_user(&db, &email, RoleArg::Owner, Some("bench"), PASSWORD.into()).await?;
        clients.push(sign_in(&base, &email).await?);
    }
    for channel in payhook::catalog::Section::find("va_snap").unwrap().channels {
        save(&clients[0], &base, channel.code, 0).await?;
    }

    let page = format!("{base}/settings/payment/va_snap");
    let page_size = clients[0].get(&page).send().await?.bytes().await?.len();
    let target = page.clone();
    let latencies = measure(&clients, PAGE_REQUESTS, move |client, _| {
        let request = client.get(&target);
        async move {
            let response = request.send().await?;
            anyhow::ensure!(response.status() == 200);
            response.bytes().await?;
            Ok(())
        }
    })
    .await?;
    report(
        backend,
        &format!("GET section page ({page_size} bytes)"),
        latencies,
    );

    let root = base.clone();
    let latencies = measure(&clients, SAVES, move |client, n| {
        let (client, base) = (client.clone(), root.clone());
        async move { save(&client, &base, "bca", n + 1).await }
    })
    .await?;
    report(
        backend,
        "POST save (one channel, read form + save)",
        latencies,
    );
    Ok(())
}

async fn save(client: &reqwest::Client, base: &str, channel: &str, n: usize) -> anyhow::Result<()> {
    bench::save(client, base, "va_snap", channel, n).await
}

async fn measure<F, Fut>(
    clients: &[reqwest::Client],
    total: usize,
    call: F,
) -> anyhow::Result<Vec<Duration>>
where
    F: Fn(&reqwest::Client, usize) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let per_client = total / clients.len();
    let mut tasks = Vec::new();
    for (i, client) in clients.iter().cloned().enumerate() {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(per_client);
            for n in 0..per_client {
                let start = Instant::now();
                call(&client, i * per_client + n).await?;
                latencies.push(start.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::with_capacity(total);
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

fn report(backend: &str, what: &str, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let total: Duration = latencies.iter().sum();
    let throughput = latencies.len() as f64 * CONCURRENCY as f64 / total.as_secs_f64();
    println!(
        "{backend:8} {what:45} n={:5} p50={:>8.2?} p95={:>8.2?} p99={:>8.2?} ~{throughput:.0} req/s with {CONCURRENCY} clients",
        latencies.len(),
        pct(0.50),
        pct(0.95),
        pct(0.99),
    );
}
