//! What the benchmarks (`bench/`) share: a scratch Postgres database, a signed-in client, and
//! latency measurement.

use std::time::{Duration, Instant};

use super::{Backend, Browser, PASSWORD, ScratchDatabase, hidden_value};

/// Runs `bench` on a fresh Postgres database of its own (the tests' server, or
/// `PAYHOOK_TEST_POSTGRES`), dropped afterwards whatever the outcome.
pub async fn on_scratch_postgres<F, Fut>(bench: F) -> anyhow::Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let database = ScratchDatabase::new(Backend::Postgres).await;
    bench(database.url.clone()).await
}

/// A client of the server at `base` signed in as `email` (password [`PASSWORD`]), cookies kept,
/// redirects reported.
pub async fn sign_in(base: &str, email: &str) -> anyhow::Result<reqwest::Client> {
    let browser = Browser::new(base.to_owned());
    let response = browser.login(email, PASSWORD).await;
    anyhow::ensure!(
        response.status() == 303,
        "sign-in failed: {}",
        response.status()
    );
    Ok(browser.client.clone())
}

/// `requests` GETs of `url` shared among `clients` running at once; each one's latency.
pub async fn measure(
    clients: &[reqwest::Client],
    url: &str,
    requests: usize,
) -> anyhow::Result<Vec<Duration>> {
    let mut tasks = Vec::new();
    for client in clients {
        let (client, url) = (client.clone(), url.to_owned());
        let each = requests / clients.len();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for _ in 0..each {
                let start = Instant::now();
                let response = client.get(&url).send().await?;
                anyhow::ensure!(response.status() == 200, "{url}: {}", response.status());
                response.bytes().await?;
                latencies.push(start.elapsed());
            }
            anyhow::Ok(latencies)
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await??);
    }
    Ok(all)
}

/// Prints p50, p95 and p99 of `latencies`.
pub fn report(backend: &str, what: &str, mut latencies: Vec<Duration>) {
    latencies.sort_unstable();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "{backend:8} {what:42} n={} p50={:>8.2?} p95={:>8.2?} p99={:>8.2?}",
        latencies.len(),
        pct(0.50),
        pct(0.95),
        pct(0.99)
    );
}

/// Loads a CONFIGURE form (for its version and token) and saves a new sandbox URL, as a
/// browser does; a 409 (a concurrent save of the same channel won) is a correct answer.
pub async fn save(
    client: &reqwest::Client,
    base: &str,
    section: &str,
    channel: &str,
    n: usize,
) -> anyhow::Result<()> {
    let path = format!("{base}/settings/payment/{section}/{channel}");
    let form = client.get(&path).send().await?.text().await?;
    let sandbox = format!("https://sandbox{n}.bench.co.id/notify/{channel}");
    let response = client
        .post(&path)
        .form(&[
            ("sandbox_url", sandbox.as_str()),
            ("production_url", "https://bench.co.id/notify"),
            ("version", &hidden_value(&form, "version")),
            ("csrf_token", &hidden_value(&form, "csrf_token")),
        ])
        .send()
        .await?;
    anyhow::ensure!(
        matches!(response.status().as_u16(), 303 | 409),
        "save: {}",
        response.status()
    );
    Ok(())
}
