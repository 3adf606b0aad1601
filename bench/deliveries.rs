//! Deliveries per second from one instance to a receiver on 127.0.0.1, on SQLite and Postgres.
//!
//! Run with `bench/run.sh deliveries` (a release build). The receiver is a bare actix server
//! in this process answering 200 at once, so the figure is payhook's: claim, sign, send over a
//! kept-alive connection, record the attempt.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpResponse, HttpServer, web};
use payhook::config::Settings;
use payhook::domain::Environment;
use payhook::domain::MerchantCode;
use payhook::startup::Application;
use payhook_testing::bench;

/// Notifications per payment and payments per run.
const PER_PAYMENT: usize = 500;
const PAYMENTS: usize = 40;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let received = Arc::new(AtomicUsize::new(0));
    let counter = received.clone();
    let receiver = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().default_service(web::to(move || {
            counter.fetch_add(1, Ordering::Relaxed);
            async { HttpResponse::Ok().body("OK") }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")?;
    let port = receiver.addrs()[0].port();
    tokio::spawn(receiver.run());

    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("bench.db").display());
    run("sqlite", &sqlite, port, &received).await?;
    let received = &received;
    bench::on_scratch_postgres(|url| async move { run("postgres", &url, port, received).await })
        .await
}

async fn run(
    backend: &str,
    database_url: &str,
    port: u16,
    received: &AtomicUsize,
) -> anyhow::Result<()> {
    let mut settings = Settings::for_database(database_url);
    settings.url_policy.allow_private_targets = true;
    settings.delivery_poll = Duration::from_millis(20);
    let secrets = settings.secret_box.clone();
    let concurrency = settings.delivery_concurrency;
    let app = Application::build(settings).await?;
    let db = app.db().clone();
    tokio::spawn(app.run_until_stopped());
    let merchant = db
        .create_merchant(&MerchantCode::parse("bench")?, "Bench Merchant", None)
        .await?;
    let actor = payhook::store::Actor::default();
    payhook::api_keys::ensure(&db, &secrets, merchant, Environment::Sandbox, &actor).await?;

    let total = PER_PAYMENT * PAYMENTS;
    let start_count = received.load(Ordering::Relaxed);
    let started = Instant::now();
    for p in 0..PAYMENTS {
        let urls: Vec<String> = (0..PER_PAYMENT)
            .map(|n| format!("http://127.0.0.1:{port}/notify/{p}/{n}"))
            .collect();
        payhook_testing::queue::queue_on(&db, None, "bench", &urls).await;
    }
    let queued = started.elapsed();
    while received.load(Ordering::Relaxed) - start_count < total {
        anyhow::ensure!(started.elapsed() < Duration::from_secs(600), "too slow");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let sent = started.elapsed();
    // The last attempts are recorded just after their answers arrive.
    let mut undone = total;
    while undone > 0 {
        let waiting = db.queue_depth(i64::MAX).await?.due;
        undone = usize::try_from(waiting).unwrap_or(0);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let done = started.elapsed();
    println!(
        "{backend:<8} {total} deliveries (queued in {:.2} s) sent in {:.2} s, recorded in {:.2} s: \
         {:.0} deliveries/s, concurrency {concurrency}",
        queued.as_secs_f64(),
        sent.as_secs_f64(),
        done.as_secs_f64(),
        total as f64 / done.as_secs_f64(),
    );
    Ok(())
}
