//! A site under load: simulated merchants sign in, read section pages, save CONFIGURE forms,
//! send test notifications, and create and pay sandbox payments for a fixed time, against
//! real `payhook serve` processes (one on SQLite, two on Postgres with Redis) and a receiver on
//! 127.0.0.1. Then it checks that nothing was lost and prints latency and throughput.
//!
//!   bench/load.sh [merchants] [seconds]      (defaults 50 and 60; a release build)
//!
//! Client, servers and receiver share the machine: the figures are a floor, not a ceiling.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use anyhow::{Context, ensure};
use payhook::cli::{RoleArg, add_user};
use payhook::domain::Environment;
use payhook::domain::MerchantCode;
use payhook::secrets::SecretBox;
use payhook::store::{Actor, Db};
use payhook_testing::bench;
use payhook_testing::ledger::{AckedSave, check_saves};
use payhook_testing::serve_process::ServeProcess;
use payhook_testing::{PASSWORD, hidden_value};
use reqwest::{StatusCode, redirect};

/// At most this many merchants and seconds, whatever is asked.
const MAX_MERCHANTS: usize = 500;
const MAX_SECONDS: u64 = 600;
/// A merchant sends a test notification at most this often (the limit is 10 a minute).
const TEST_EVERY: Duration = Duration::from_secs(7);
/// How long queued notifications may take to arrive once the load stops.
const DRAIN_LIMIT: Duration = Duration::from_secs(120);
/// The channels each merchant saves in turn; payments go through the first.
const CHANNELS: [&str; 3] = ["bca", "bri", "bni"];

struct Config {
    merchants: usize,
    duration: Duration,
    bin: PathBuf,
    redis: String,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let merchants: usize = args.next().map_or(Ok(50), |a| a.parse())?;
    let seconds: u64 = args.next().map_or(Ok(60), |a| a.parse())?;
    ensure!(
        (1..=MAX_MERCHANTS).contains(&merchants) && (1..=MAX_SECONDS).contains(&seconds),
        "1 to {MAX_MERCHANTS} merchants, 1 to {MAX_SECONDS} seconds"
    );
    let bin = match std::env::var_os("PAYHOOK_BIN") {
        Some(path) => PathBuf::from(path),
        None => std::env::current_exe()?
            .parent()
            .and_then(Path::parent)
            .context("the examples directory")?
            .join("payhook"),
    };
    let config = Config {
        merchants,
        duration: Duration::from_secs(seconds),
        // The servers run in a directory of their own.
        bin: std::path::absolute(bin)?,
        redis: std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into()),
    };
    let dir = tempfile::tempdir()?;
    let sqlite = format!("sqlite://{}", dir.path().join("load.db").display());
    let sqlite_passed = run(&config, "SQLite, 1 instance", &sqlite, 1, None, dir.path()).await?;
    bench::on_scratch_postgres(|url| async move {
        let label = "Postgres + Redis, 2 instances";
        let redis = Some(config.redis.as_str());
        let passed = run(&config, label, &url, 2, redis, dir.path()).await?;
        ensure!(passed, "a check failed on Postgres");
        Ok(())
    })
    .await?;
    ensure!(sqlite_passed, "a check failed on SQLite");
    Ok(())
}

/// One load on one database; prints the figures and checks, and says whether the checks held.
async fn run(
    config: &Config,
    label: &str,
    database_url: &str,
    instances: usize,
    redis: Option<&str>,
    dir: &Path,
) -> anyhow::Result<bool> {
    let secret_key = payhook::random::random_bytes::<32>();
    let session_key = hex::encode(payhook::random::random_bytes::<64>());
    let db = Db::connect(database_url).await?;
    db.migrate().await?;
    let receiver = Receiver::start()?;
    let mut env = vec![
        ("DATABASE_URL", database_url.to_owned()),
        ("PAYHOOK_SECRET_KEY", hex::encode(secret_key)),
        ("PAYHOOK_SESSION_KEY", session_key),
        ("PAYHOOK_ALLOW_PRIVATE_TARGETS", "1".into()),
        ("PAYHOOK_DNS_CHECK", "off".into()),
        ("RUST_LOG", "error".into()),
    ];
    if let Some(redis) = redis {
        env.push(("REDIS_URL", redis.to_owned()));
    }
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut servers = Vec::new();
    for n in 0..instances {
        let log = dir.join(format!("{}-{n}.log", label.replace([' ', ',', '+'], "")));
        let stderr = std::fs::File::create(&log)?.into();
        let server = ServeProcess::start(&config.bin, dir, &env, stderr).await;
        servers.push(server.map_err(|e| anyhow::anyhow!("{e}; see {}", log.display()))?);
    }
    let bases: Vec<String> = servers.iter().map(|s| s.address.clone()).collect();
    let secrets = SecretBox::new(secret_key);
    let mut shops = Vec::new();
    for n in 0..config.merchants {
        shops.push(Shop::create(&db, &secrets, n).await?);
    }

    let started = Instant::now();
    let deadline = started + config.duration;
    let tasks: Vec<_> = shops
        .into_iter()
        .map(|shop| {
            let (bases, port) = (bases.clone(), receiver.port);
            tokio::spawn(async move { shop.load(&bases, port, deadline).await })
        })
        .collect();
    let mut load = Load::default();
    for task in tasks {
        load.merge(task.await?);
    }
    let elapsed = started.elapsed();

    println!(
        "\n== {label}: {} merchants for {} s ==",
        config.merchants,
        config.duration.as_secs()
    );
    load.print(elapsed);
    let mut passed = load.errors() == 0;
    passed &= check(&db, &load, &receiver, &config.bin, database_url).await;
    servers.into_iter().for_each(ServeProcess::kill);
    db.close().await;
    Ok(passed)
}

/// What the load must have left: acknowledged saves whole, the chain intact, every
/// notification at the receiver. Prints each verdict.
async fn check(db: &Db, load: &Load, receiver: &Receiver, bin: &Path, url: &str) -> bool {
    let mut passed = true;
    match check_saves(db, &load.acked).await {
        Ok(report) => println!(
            "saves: all {} acknowledged saves stored with exactly their audit events \
             ({} channels, {} versions, {} settings_change events)",
            report.acknowledged, report.channels, report.versions, report.events
        ),
        Err(problem) => {
            println!("saves: FAILED: {problem}");
            passed = false;
        }
    }
    let verify = Command::new(bin)
        .args(["audit", "verify"])
        .env("DATABASE_URL", url)
        .output();
    match verify {
        Ok(out) if out.status.success() => {
            print!("audit verify: {}", String::from_utf8_lossy(&out.stdout));
        }
        Ok(out) => {
            println!(
                "audit verify: FAILED: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            passed = false;
        }
        Err(error) => {
            println!("audit verify: could not run {}: {error}", bin.display());
            passed = false;
        }
    }
    match drained(db, receiver, load.simulated).await {
        Ok(summary) => println!("notifications: {summary}"),
        Err(problem) => {
            println!("notifications: FAILED: {problem:#}");
            passed = false;
        }
    }
    passed
}

/// Waits until every queued notification is delivered, then checks the receiver got each.
async fn drained(db: &Db, receiver: &Receiver, simulated: usize) -> anyhow::Result<String> {
    let started = Instant::now();
    let rows = loop {
        let rows = deliveries(db).await?;
        let waiting = rows.iter().filter(|(_, _, status)| status != "delivered");
        let waiting = waiting.count();
        if waiting == 0 {
            break rows;
        }
        ensure!(
            started.elapsed() < DRAIN_LIMIT,
            "{waiting} of {} notifications still not delivered after {DRAIN_LIMIT:?}",
            rows.len()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let payments = rows.iter().filter(|(kind, _, _)| kind == "payment").count();
    ensure!(
        payments == simulated,
        "{simulated} payments simulated, {payments} payment notifications queued"
    );
    let arrived = receiver.ids.lock().unwrap().clone();
    let missing = rows.iter().filter(|(_, id, _)| !arrived.contains(id));
    let missing = missing.count();
    ensure!(
        missing == 0,
        "{missing} delivered notifications never reached the receiver"
    );
    Ok(format!(
        "all {} queued ({payments} payment, {} test) reached the receiver, the last {:.1} s \
         after the load",
        rows.len(),
        rows.len() - payments,
        started.elapsed().as_secs_f64()
    ))
}

/// (kind, request id, status) of every delivery.
async fn deliveries(db: &Db) -> sqlx::Result<Vec<(String, String, String)>> {
    const SQL: &str = "SELECT kind, request_id, status FROM deliveries";
    match db {
        Db::Sqlite(pools) => sqlx::query_as(SQL).fetch_all(&pools.write).await,
        Db::Postgres(pool) => sqlx::query_as(SQL).fetch_all(pool).await,
    }
}

/// A notification receiver on 127.0.0.1 answering 200 and keeping every request id.
struct Receiver {
    port: u16,
    ids: Arc<Mutex<HashSet<String>>>,
}

impl Receiver {
    fn start() -> anyhow::Result<Self> {
        let ids = Arc::new(Mutex::new(HashSet::new()));
        let kept = web::Data::from(ids.clone());
        let server = HttpServer::new(move || {
            App::new()
                .app_data(kept.clone())
                .default_service(web::to(receive))
        })
        .workers(2)
        .bind(("127.0.0.1", 0))?;
        let port = server.addrs()[0].port();
        tokio::spawn(server.run());
        Ok(Self { port, ids })
    }
}

async fn receive(request: HttpRequest, ids: web::Data<Mutex<HashSet<String>>>) -> HttpResponse {
    let headers = request.headers();
    let id = headers
        .get("Request-Id")
        .or_else(|| headers.get("X-EXTERNAL-ID"));
    if let Some(id) = id.and_then(|v| v.to_str().ok()) {
        ids.lock().unwrap().insert(id.to_owned());
    }
    HttpResponse::Ok().body("OK")
}

/// One simulated merchant: its user and its sandbox API key.
struct Shop {
    n: usize,
    merchant_id: i64,
    email: String,
    client_id: String,
    secret: String,
}

impl Shop {
    async fn create(db: &Db, secrets: &SecretBox, n: usize) -> anyhow::Result<Self> {
        let code = format!("load{n}");
        let merchant_id = db
            .create_merchant(&MerchantCode::parse(&code)?, &format!("Shop {n}"), None)
            .await?;
        let email = format!("user{n}@load.example.com");
        add_user(db, &email, RoleArg::Owner, Some(&code), PASSWORD.into()).await?;
        let key = payhook::api_keys::ensure(
            db,
            secrets,
            merchant_id,
            Environment::Sandbox,
            &Actor::default(),
        )
        .await?;
        Ok(Self {
            n,
            merchant_id,
            email,
            client_id: key.client_id,
            secret: key.secret.expose().to_owned(),
        })
    }

    /// Works through rounds until `deadline`, each request on the next server in turn.
    async fn load(self, bases: &[String], receiver_port: u16, deadline: Instant) -> Load {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("a client");
        let mut session = Session {
            client,
            bases,
            turn: self.n,
            load: Load::default(),
        };
        if !session.sign_in(&self.email).await {
            return session.load;
        }
        let mut last_test: Option<Instant> = None;
        for round in 0.. {
            if Instant::now() >= deadline {
                break;
            }
            session.get("section_page", "/settings/payment/va").await;
            let channel = CHANNELS[round % CHANNELS.len()];
            let path = format!("/settings/payment/va/{channel}");
            let Some(form) = session.get("configure_form", &path).await else {
                continue;
            };
            let token = hidden_value(&form, "csrf_token");
            let sandbox = format!(
                "http://127.0.0.1:{receiver_port}/shop{}/{channel}/{round}",
                self.n
            );
            let production = format!("https://shop{}-{round}.co.id/notify", self.n);
            let fields = [
                ("sandbox_url", sandbox.as_str()),
                ("production_url", &production),
                ("version", &hidden_value(&form, "version")),
                ("csrf_token", &token),
            ];
            if session.post_form("save", &path, &fields).await == Some(StatusCode::SEE_OTHER) {
                session.load.acked.push(AckedSave {
                    merchant_id: self.merchant_id,
                    section: "va".into(),
                    channel: channel.into(),
                    sandbox_url: sandbox,
                    production_url: production,
                });
            }
            if round >= CHANNELS.len() {
                self.pay(&mut session, round).await;
            }
            if last_test.is_none_or(|at| at.elapsed() >= TEST_EVERY) {
                last_test = Some(Instant::now());
                let test = [("environment", "sandbox"), ("csrf_token", token.as_str())];
                let path = format!("/settings/payment/va/{}/test", CHANNELS[0]);
                session.post_form("test_notification", &path, &test).await;
            }
        }
        session.load
    }

    /// Creates a sandbox payment on the first channel and pays it, queueing one notification.
    async fn pay(&self, session: &mut Session<'_>, round: usize) {
        let body = serde_json::json!({
            "channel": format!("va/{}", CHANNELS[0]),
            "order": {"invoice_number": format!("INV-{}-{round}", self.n), "amount": 10_000 + round},
        });
        let created = session
            .api("create_payment", "/api/v1/payments", &body, self)
            .await;
        let Some(id) = created.and_then(|p| p["id"].as_str().map(str::to_owned)) else {
            return;
        };
        let path = format!("/api/v1/payments/{id}/simulate");
        let status = serde_json::json!({"status": "SUCCESS"});
        if session
            .api("simulate", &path, &status, self)
            .await
            .is_some()
        {
            session.load.simulated += 1;
        }
    }
}

/// A merchant's browser and API client, and what its requests measured.
struct Session<'a> {
    client: reqwest::Client,
    bases: &'a [String],
    turn: usize,
    load: Load,
}

impl Session<'_> {
    fn url(&mut self, path: &str) -> String {
        self.turn += 1;
        format!("{}{path}", self.bases[self.turn % self.bases.len()])
    }

    /// Signs in, waiting out the 429s a crowd of sign-ins earns (password hashing is bounded).
    async fn sign_in(&mut self, email: &str) -> bool {
        for _ in 0..60 {
            let Some(page) = self.get("login_page", "/login").await else {
                return false;
            };
            let form = [
                ("email", email),
                ("password", PASSWORD),
                ("csrf_token", &hidden_value(&page, "csrf_token")),
            ];
            match self.post_form("sign_in", "/login", &form).await {
                Some(StatusCode::SEE_OTHER) => return true,
                Some(StatusCode::TOO_MANY_REQUESTS) => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                _ => return false,
            }
        }
        false
    }

    async fn get(&mut self, kind: &'static str, path: &str) -> Option<String> {
        let url = self.url(path);
        let started = Instant::now();
        let response = self.client.get(url).send().await;
        let body = match response {
            Ok(r) if r.status() == StatusCode::OK => r.text().await.ok(),
            _ => None,
        };
        self.load.record(kind, started.elapsed(), body.is_some());
        body
    }

    /// POSTs a form; 2xx and 3xx count as answered, 429 as limited, anything else an error.
    async fn post_form(
        &mut self,
        kind: &'static str,
        path: &str,
        form: &[(&str, &str)],
    ) -> Option<StatusCode> {
        let url = self.url(path);
        let started = Instant::now();
        let response = self.client.post(url).form(form).send().await;
        let status = match response {
            Ok(r) => {
                let status = r.status();
                r.bytes().await.ok().map(|_| status)
            }
            Err(_) => None,
        };
        let limited = status == Some(StatusCode::TOO_MANY_REQUESTS);
        let answered = status.is_some_and(|s| s.is_success() || s.is_redirection());
        if limited {
            self.load.limited(kind);
        } else {
            self.load.record(kind, started.elapsed(), answered);
        }
        status
    }

    /// A payment API call with the shop's sandbox key; the JSON answer when it succeeded.
    async fn api(
        &mut self,
        kind: &'static str,
        path: &str,
        body: &serde_json::Value,
        shop: &Shop,
    ) -> Option<serde_json::Value> {
        let url = self.url(path);
        let started = Instant::now();
        let request = self
            .client
            .post(url)
            .basic_auth(&shop.client_id, Some(&shop.secret))
            .json(body);
        let answer = match request.send().await {
            Ok(r) if r.status().is_success() => r.json().await.ok(),
            _ => None,
        };
        self.load.record(kind, started.elapsed(), answer.is_some());
        answer
    }
}

/// Latencies per request kind, errors, and what the checks need.
#[derive(Default)]
struct Load {
    latencies: BTreeMap<&'static str, Vec<Duration>>,
    errors: BTreeMap<&'static str, usize>,
    limited: BTreeMap<&'static str, usize>,
    acked: Vec<AckedSave>,
    simulated: usize,
}

impl Load {
    fn record(&mut self, kind: &'static str, took: Duration, ok: bool) {
        if ok {
            self.latencies.entry(kind).or_default().push(took);
        } else {
            *self.errors.entry(kind).or_default() += 1;
        }
    }

    fn limited(&mut self, kind: &'static str) {
        *self.limited.entry(kind).or_default() += 1;
    }

    fn merge(&mut self, other: Load) {
        for (kind, mut latencies) in other.latencies {
            self.latencies
                .entry(kind)
                .or_default()
                .append(&mut latencies);
        }
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_default() += n;
        }
        for (kind, n) in other.limited {
            *self.limited.entry(kind).or_default() += n;
        }
        self.acked.extend(other.acked);
        self.simulated += other.simulated;
    }

    fn errors(&self) -> usize {
        self.errors.values().sum()
    }

    fn print(&mut self, elapsed: Duration) {
        println!(
            "{:<18} {:>8} {:>7} {:>8} {:>9} {:>9}",
            "request", "count", "errors", "limited", "p50 ms", "p99 ms"
        );
        let mut total = 0;
        for (kind, latencies) in &mut self.latencies {
            latencies.sort_unstable();
            total += latencies.len();
            println!(
                "{kind:<18} {:>8} {:>7} {:>8} {:>9.1} {:>9.1}",
                latencies.len(),
                self.errors.get(kind).copied().unwrap_or(0),
                self.limited.get(kind).copied().unwrap_or(0),
                percentile(latencies, 50.0),
                percentile(latencies, 99.0),
            );
        }
        for (kind, errors) in &self.errors {
            if !self.latencies.contains_key(kind) {
                println!("{kind:<18} {:>8} {errors:>7}", 0);
            }
        }
        println!(
            "throughput: {:.0} requests/s ({total} answered in {:.1} s), {} saves acknowledged, \
             {} payments simulated",
            total as f64 / elapsed.as_secs_f64(),
            elapsed.as_secs_f64(),
            self.acked.len(),
            self.simulated
        );
    }
}

/// The `p`th percentile of sorted latencies, in milliseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank].as_secs_f64() * 1000.0
}
