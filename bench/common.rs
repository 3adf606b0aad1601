//! What both benchmarks need: signing in over HTTP and reading a form field.

use std::time::{Duration, Instant};

use reqwest::redirect;

pub const PASSWORD: &str = "benchmark password";

/// Runs `bench` on a fresh Postgres database (`PAYHOOK_BENCH_POSTGRES`, default the local
/// server), dropping the database afterwards whatever the outcome.
pub async fn on_scratch_postgres<F, Fut>(prefix: &str, bench: F) -> anyhow::Result<()>
where
    F: FnOnce(String) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let server = std::env::var("PAYHOOK_BENCH_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let name = format!("{prefix}_{}", std::process::id());
    let mut admin =
        <sqlx::PgConnection as sqlx::Connection>::connect(&format!("{server}/postgres")).await?;
    let create = sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"));
    sqlx::Executor::execute(&mut admin, create).await?;
    let result = bench(format!("{server}/{name}")).await;
    let drop = sqlx::AssertSqlSafe(format!("DROP DATABASE {name} WITH (FORCE)"));
    sqlx::Executor::execute(&mut admin, drop).await?;
    result
}

/// A client signed in as `email` (cookies kept, redirects reported).
pub async fn sign_in(base: &str, email: &str) -> anyhow::Result<reqwest::Client> {
    let client = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(redirect::Policy::none())
        .build()?;
    let login = client
        .get(format!("{base}/login"))
        .send()
        .await?
        .text()
        .await?;
    let token = field(&login, "csrf_token");
    let form = [
        ("email", email),
        ("password", PASSWORD),
        ("csrf_token", &token),
    ];
    let response = client
        .post(format!("{base}/login"))
        .form(&form)
        .send()
        .await?;
    anyhow::ensure!(response.status() == 303, "sign-in failed");
    Ok(client)
}

/// The value of the hidden or text input `name` in `html`.
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).expect("field present") + marker.len();
    html[start..]
        .split('"')
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `requests` GETs of `url` shared among `clients` running at once; each one's latency.
#[allow(dead_code)]
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
#[allow(dead_code)]
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
