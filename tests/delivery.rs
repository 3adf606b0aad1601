//! Deliveries and saves survive their server: real `payhook serve` processes, killed with
//! SIGKILL and restarted, or two of them on one database, against a receiver on 127.0.0.1;
//! and two of them on one Postgres and one Redis are one site.

use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use payhook::domain::DeliveryStatus;
use payhook::secrets::SecretBox;
use payhook::store::Db;
use payhook_testing::ledger::{AckedSave, check_saves};
use payhook_testing::serve_process::ServeProcess;
use payhook_testing::{
    Acceptance, Backend, Browser, PUBLIC_URL, ScratchDatabase, SmtpServer, create_merchant_user,
    free_port, hidden_value, run_cli,
};
use payhook_testing::{Receiver, Reply};
use reqwest::StatusCode;

/// Keys every server of one test shares, as instances of one site must.
struct Keys {
    secret: [u8; 32],
    session: String,
}

impl Keys {
    fn new() -> Self {
        Self {
            secret: payhook::random::random_bytes::<32>(),
            session: hex::encode(payhook::random::random_bytes::<64>()),
        }
    }
}

/// A `payhook serve` of the test's site on `database`.
async fn serve(database: &ScratchDatabase, keys: &Keys, dir: &Path) -> ServeProcess {
    serve_with(database, keys, dir, &[]).await
}

/// Like `serve`, with `env` on top.
async fn serve_with(
    database: &ScratchDatabase,
    keys: &Keys,
    dir: &Path,
    env: &[(&str, &str)],
) -> ServeProcess {
    let secret = hex::encode(keys.secret);
    let mut vars = vec![
        ("DATABASE_URL", database.url.as_str()),
        ("PAYHOOK_SECRET_KEY", secret.as_str()),
        ("PAYHOOK_SESSION_KEY", keys.session.as_str()),
        ("PAYHOOK_ALLOW_PRIVATE_TARGETS", "1"),
        ("PAYHOOK_DNS_CHECK", "off"),
        ("PAYHOOK_RETRY_SCHEDULE", "1s,2s"),
        ("PAYHOOK_DELIVERY_LEASE", "13s"),
        ("RUST_LOG", "error"),
    ];
    vars.extend_from_slice(env);
    let bin = Path::new(env!("CARGO_BIN_EXE_payhook"));
    ServeProcess::start(bin, dir, &vars, Stdio::inherit())
        .await
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A merchant on `database`, as the test process sees it, and the payment it queued.
struct Shop {
    db: Db,
    /// The sandbox key the servers sign with, sealed with the key they share.
    secrets: SecretBox,
    payment: String,
}

impl Shop {
    async fn open(database: &ScratchDatabase, keys: &Keys) -> Self {
        let db = Db::connect(&database.url).await.unwrap();
        db.migrate().await.unwrap();
        Self {
            db,
            secrets: SecretBox::new(keys.secret),
            payment: String::new(),
        }
    }

    /// Pays a payment and queues `count` notifications to `receiver`, one URL each.
    async fn queue(&mut self, receiver: &Receiver, count: usize) {
        let urls: Vec<String> = (0..count)
            .map(|n| format!("http://127.0.0.1:{}/notify?n={n}", receiver.port()))
            .collect();
        self.payment =
            payhook_testing::queue::queue_on(&self.db, Some(&self.secrets), "acme", &urls).await;
    }

    /// Waits (at most `limit`) until every delivery is delivered; returns their request ids.
    async fn all_delivered(&self, count: usize, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        loop {
            let (deliveries, _) = self.db.payment_deliveries(&self.payment).await.unwrap();
            assert_eq!(deliveries.len(), count);
            let delivered = deliveries
                .iter()
                .filter(|d| d.status == DeliveryStatus::Delivered)
                .count();
            if delivered == count {
                return self.request_ids().await;
            }
            assert!(
                Instant::now() < deadline,
                "{delivered} of {count} delivered in time"
            );
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn request_ids(&self) -> Vec<String> {
        const SQL: &str = "SELECT request_id FROM deliveries WHERE payment_id = $1";
        match &self.db {
            Db::Sqlite(pools) => sqlx::query_scalar(SQL)
                .bind(&self.payment)
                .fetch_all(&pools.write)
                .await
                .unwrap(),
            Db::Postgres(pool) => sqlx::query_scalar(SQL)
                .bind(&self.payment)
                .fetch_all(pool)
                .await
                .unwrap(),
        }
    }
}

/// How many times the receiver got each request id.
fn arrivals(receiver: &Receiver) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for request in receiver.requests() {
        *counts
            .entry(request.header("Request-Id").to_owned())
            .or_insert(0) += 1;
    }
    counts
}

async fn a_killed_server_loses_no_delivery(backend: Backend) {
    let database = ScratchDatabase::new(backend).await;
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let mut shop = Shop::open(&database, &keys).await;
    // Slow enough that the kill finds attempts in flight and others still due.
    let receiver = Receiver::start(Reply::Slow(Duration::from_millis(300))).await;
    let first = serve(&database, &keys, dir.path()).await;
    const COUNT: usize = 120;
    shop.queue(&receiver, COUNT).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.requests().len() < 10 {
        assert!(
            Instant::now() < deadline,
            "the first server started delivering"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    // Requests already on their way may still be read by the receiver: wait a moment, then
    // everything before `restart` came from the killed server.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let restart = Instant::now();
    let before_restart = receiver.requests().len();
    assert!(
        before_restart < COUNT,
        "killed mid-load: {before_restart} sent"
    );

    let _second = serve(&database, &keys, dir.path()).await;
    let ids = shop.all_delivered(COUNT, Duration::from_secs(60)).await;
    let arrived = arrivals(&receiver);
    for id in &ids {
        assert!(arrived.get(id).is_some_and(|n| *n >= 1), "{id} arrived");
    }
    let twice: Vec<_> = arrived.iter().filter(|(_, n)| **n > 1).collect();
    // Only an attempt in flight at the kill may arrive again (at most one per worker slot):
    // once from the killed server, once from its successor, the same notification with the
    // same request id.
    assert!(
        twice.len() <= 32,
        "duplicates beyond the attempts in flight: {twice:?}"
    );
    let requests = receiver.requests();
    for (id, count) in &twice {
        assert_eq!(**count, 2, "{id} arrived {count} times");
        let copies: Vec<_> = requests
            .iter()
            .filter(|r| r.header("Request-Id") == id.as_str())
            .collect();
        assert!(
            copies[0].at < restart && copies[1].at > restart,
            "{id}: a duplicate is an attempt in flight at the kill, sent again after it"
        );
        assert_eq!(copies[0].path, copies[1].path, "{id}: the same target");
        assert_eq!(
            copies[0].body, copies[1].body,
            "{id}: the same notification"
        );
    }
    assert_eq!(arrived.len(), COUNT, "no request id the queue did not hold");
}

async fn two_servers_on_one_database_send_each_notification_once(backend: Backend) {
    let database = ScratchDatabase::new(backend).await;
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let mut shop = Shop::open(&database, &keys).await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let _a = serve(&database, &keys, dir.path()).await;
    let _b = serve(&database, &keys, dir.path()).await;
    const COUNT: usize = 1000;
    shop.queue(&receiver, COUNT).await;
    let ids = shop.all_delivered(COUNT, Duration::from_secs(120)).await;
    let arrived = arrivals(&receiver);
    assert_eq!(arrived.len(), COUNT, "every notification arrived");
    for id in &ids {
        assert_eq!(arrived.get(id), Some(&1), "{id} arrived exactly once");
    }
}

async fn two_servers_delivering_at_once_keep_the_roll_up_a_recount(backend: Backend) {
    let database = ScratchDatabase::new(backend).await;
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let mut shop = Shop::open(&database, &keys).await;
    let ok = Receiver::start(Reply::ok("OK")).await;
    let flaky = Receiver::start(Reply::script(&[503; 60], 200)).await;
    let down = Receiver::start(Reply::script(&[], 500)).await;
    let _a = serve(&database, &keys, dir.path()).await;
    let _b = serve(&database, &keys, dir.path()).await;
    // One payment notifying 300 URLs: delivered at once, after a retry, or failed after the
    // last attempt, all in the same channel's hour, so both servers move the same rows.
    let urls: Vec<String> = (0..300)
        .map(|n| {
            let receiver = [&ok, &flaky, &down][n % 3];
            format!("http://127.0.0.1:{}/notify?n={n}", receiver.port())
        })
        .collect();
    shop.payment =
        payhook_testing::queue::queue_on(&shop.db, Some(&shop.secrets), "acme", &urls).await;
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (deliveries, _) = shop.db.payment_deliveries(&shop.payment).await.unwrap();
        let settled = deliveries
            .iter()
            .filter(|d| matches!(d.status, DeliveryStatus::Delivered | DeliveryStatus::Failed))
            .count();
        if settled == urls.len() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{settled} of 300 settled in time"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    payhook_testing::rollup::assert_roll_up_matches_recount(&shop.db).await;
    let counted = payhook_testing::rollup::recount(&shop.db).await;
    let total = |i: usize| counted.values().map(|c| c[i]).sum::<i64>();
    assert_eq!(total(3), 100, "every notification to the dead URL failed");
    assert!(
        total(1) > 0 && total(0) >= 100,
        "some were retried, the rest at once"
    );
    assert_eq!(total(0) + total(1) + total(3), 300);
}

/// One merchant's user, signed in on a server, saving CONFIGURE forms until told to stop.
struct Saver {
    merchant_id: i64,
    browser: Browser,
}

impl Saver {
    async fn sign_in(db: &Db, server: &ServeProcess, n: usize) -> Self {
        let code = format!("shop{n}");
        let email = create_merchant_user(db, &code).await;
        let merchant = db
            .find_merchant(&payhook_testing::code(&code))
            .await
            .unwrap();
        let browser = Browser::new(server.address.clone());
        let response = browser.login(&email, payhook_testing::PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {email}"
        );
        Self {
            merchant_id: merchant.unwrap().id,
            browser,
        }
    }

    /// One save through the form, as a browser makes it; `None` when the server went away
    /// before answering.
    async fn try_save(&self, channel: &str, sandbox: &str, production: &str) -> Option<StatusCode> {
        let path = format!("/settings/payment/va/{channel}");
        let page = self
            .browser
            .client
            .get(self.browser.url(&path))
            .send()
            .await;
        let page = page.ok()?.text().await.ok()?;
        let (version, token) = (
            hidden_value(&page, "version"),
            hidden_value(&page, "csrf_token"),
        );
        let form = [
            ("sandbox_url", sandbox),
            ("production_url", production),
            ("version", &version),
            ("csrf_token", &token),
        ];
        let post = self
            .browser
            .client
            .post(self.browser.url(&path))
            .form(&form);
        let response = post.send().await.ok()?;
        let status = response.status();
        response.bytes().await.ok()?;
        Some(status)
    }

    /// Saves new URLs to two channels in turn until the server stops answering; returns every
    /// save it acknowledged.
    async fn save_until_gone(self, n: usize) -> Vec<AckedSave> {
        let mut acked = Vec::new();
        for round in 0.. {
            let channel = ["bca", "bri"][round % 2];
            let sandbox = format!("http://shop{n}-{round}.co.id/sandbox");
            let production = format!("https://shop{n}-{round}.co.id/production");
            match self.try_save(channel, &sandbox, &production).await {
                Some(StatusCode::SEE_OTHER | StatusCode::OK) => acked.push(AckedSave {
                    merchant_id: self.merchant_id,
                    section: "va".into(),
                    channel: channel.into(),
                    sandbox_url: sandbox,
                    production_url: production,
                }),
                Some(status) => panic!("save {round} of shop{n} answered {status}"),
                None => break,
            }
        }
        acked
    }
}

async fn a_server_killed_mid_save_loses_no_acknowledged_save_and_no_half_of_one(backend: Backend) {
    let database = ScratchDatabase::new(backend).await;
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&database.url).await.unwrap();
    db.migrate().await.unwrap();
    let first = serve(&database, &keys, dir.path()).await;
    const MERCHANTS: usize = 16;
    let mut savers = Vec::new();
    for n in 0..MERCHANTS {
        savers.push(Saver::sign_in(&db, &first, n).await);
    }
    let tasks: Vec<_> = savers
        .into_iter()
        .enumerate()
        .map(|(n, saver)| tokio::spawn(saver.save_until_gone(n)))
        .collect();
    // Kill it once the load is well under way, saves in flight on every connection.
    let deadline = Instant::now() + Duration::from_secs(30);
    while check_saves(&db, &[]).await.map_or(0, |r| r.versions) < 100 {
        assert!(Instant::now() < deadline, "the saves got going");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();
    let mut acked = Vec::new();
    for task in tasks {
        acked.extend(task.await.unwrap());
    }
    // At most one save per merchant was stored but not yet answered at the kill.
    assert!(
        acked.len() + MERCHANTS >= 100,
        "{} saves acknowledged",
        acked.len()
    );

    let second = serve(&database, &keys, dir.path()).await;
    let report = check_saves(&db, &acked)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.versions >= acked.len() as i64, "{report:?}");
    assert_eq!(report.acknowledged, acked.len());
    assert_eq!(report.events as i64, 2 * report.versions, "{report:?}");
    let (code, out) = run_cli(&database.url, &["audit", "verify"]);
    assert_eq!(code, 0, "audit verify after the crash: {out}");
    // The restarted server carries on from the stored versions.
    let saver = Saver::sign_in(&db, &second, MERCHANTS).await;
    let more = saver.save_until_gone(MERCHANTS);
    let after = tokio::time::timeout(Duration::from_secs(2), more).await;
    assert!(after.is_err(), "the restarted server keeps saving");
    let report = check_saves(&db, &acked)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(report.versions > acked.len() as i64, "{report:?}");
    let (code, out) = run_cli(&database.url, &["audit", "verify"]);
    assert_eq!(code, 0, "audit verify after more saves: {out}");
}

/// The browser's session on `browser.address` is over: a page sends it to sign in.
async fn assert_signed_out(browser: &Browser, why: &str) {
    let response = browser.get("/settings/payment").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{why}");
    assert_eq!(payhook_testing::location(&response), "/login", "{why}");
}

async fn assert_signed_in(browser: &Browser, why: &str) {
    let response = browser.get("/settings/payment").await;
    assert_eq!(response.status(), StatusCode::OK, "{why}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_one_postgres_and_redis_are_one_site() {
    let redis =
        std::env::var("PAYHOOK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let database = ScratchDatabase::new(Backend::Postgres).await;
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let db = Db::connect(&database.url).await.unwrap();
    db.migrate().await.unwrap();
    let env = [("REDIS_URL", redis.as_str())];
    let a = serve_with(&database, &keys, dir.path(), &env).await;
    let b = serve_with(&database, &keys, dir.path(), &env).await;
    let (on_a, on_b) = (a.address.as_str(), b.address.as_str());
    let sign_in = |address: &str, email: &str| {
        let browser = Browser::new(address.to_owned());
        let email = email.to_owned();
        async move {
            let response = browser.login(&email, payhook_testing::PASSWORD).await;
            assert_eq!(
                response.status(),
                StatusCode::SEE_OTHER,
                "sign-in of {email}"
            );
            browser
        }
    };

    // Signed in through one is signed in on the other, with the same cookie; saves on both.
    let email = create_merchant_user(&db, "shop1").await;
    let phone = sign_in(on_a, &email).await;
    assert_signed_in(&phone.on(on_b), "the other server knows the session").await;
    let replayed = payhook_testing::new_client()
        .get(format!("{on_b}/settings/payment"))
        .header("cookie", phone.cookie_header())
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.status(),
        StatusCode::OK,
        "the same cookie works there"
    );
    let merchant_id = db
        .find_merchant(&payhook_testing::code("shop1"))
        .await
        .unwrap()
        .unwrap()
        .id;
    let mut acked = Vec::new();
    for round in 0..6 {
        let (browser, channel) = match round % 3 {
            0 => (phone.on(on_a), "bca"),
            1 => (phone.on(on_b), "bca"),
            _ => (phone.on(on_b), "bri"),
        };
        let sandbox = format!("http://shop1-{round}.co.id/sandbox");
        let production = format!("https://shop1-{round}.co.id/production");
        let saved = browser.save("va", channel, &sandbox, &production).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER, "save {round}");
        acked.push(AckedSave {
            merchant_id,
            section: "va".into(),
            channel: channel.into(),
            sandbox_url: sandbox,
            production_url: production,
        });
    }

    // Signing out on one ends the session on the other: the cookie from before, replayed
    // there, no longer signs anyone in (the phone's own jar forgot it on sign-out).
    let before_sign_out = phone.cookie_header();
    let out = phone
        .on(on_b)
        .submit("/settings/payment", "/logout", &[])
        .await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_signed_out(&phone, "signed out on the other server").await;
    let replayed = payhook_testing::new_client()
        .get(format!("{on_a}/settings/payment"))
        .header("cookie", before_sign_out)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replayed.status(),
        StatusCode::SEE_OTHER,
        "the session ended on the other server"
    );
    assert_eq!(payhook_testing::location(&replayed), "/login");

    // A password change on one ends the other sessions on the other, not its own.
    let here = sign_in(on_a, &email).await;
    let elsewhere = sign_in(on_b, &email).await;
    let new_password = "a much longer new passphrase";
    let changed = here
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", payhook_testing::PASSWORD),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_signed_out(&elsewhere, "password changed on the other server").await;
    assert_signed_in(&here.on(on_b), "the changing session carries on everywhere").await;

    // An admin disabling the user on one ends the session on the other.
    let admin_email = "admin@payhook.example.com";
    let admin_role = payhook::cli::RoleArg::Admin;
    payhook::cli::add_user(
        &db,
        admin_email,
        admin_role,
        None,
        payhook_testing::PASSWORD.into(),
    )
    .await
    .unwrap();
    // Admins must use two-factor (the server's default): set up on one server, the code's
    // step (kept in the shared session store) passed on the other.
    let unenrolled = sign_in(on_b, admin_email).await;
    let page = unenrolled.get("/admin/users").await;
    assert_eq!(payhook_testing::location(&page), "/account/two-factor");
    let enrolled = payhook_testing::enrol(&unenrolled).await;
    let admin = Browser::new(on_b.to_owned());
    let first = admin.login(admin_email, payhook_testing::PASSWORD).await;
    assert_eq!(payhook_testing::location(&first), "/login/two-factor");
    let code = payhook_testing::totp_ahead(&enrolled.secret, 1);
    let passed = admin
        .on(on_a)
        .submit("/login/two-factor", "/login/two-factor", &[("code", &code)])
        .await;
    assert_eq!(
        payhook_testing::location(&passed),
        "/admin",
        "an admin lands on the Overview"
    );
    let user = db.find_login_user(&payhook_testing::email(&email)).await;
    let id = user.unwrap().unwrap().id;
    let disabled = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/disable"),
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    assert_signed_out(&here, "disabled on the other server").await;

    // One chain, every save whole, no session in the database.
    let report = check_saves(&db, &acked)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.versions, 6, "{report:?}");
    let (code, out) = run_cli(&database.url, &["audit", "verify"]);
    assert_eq!(code, 0, "{out}");
    let sessions: i64 = match &db {
        Db::Postgres(pool) => sqlx::query_scalar("SELECT COUNT(*) FROM sessions")
            .fetch_one(pool)
            .await
            .unwrap(),
        Db::Sqlite(_) => unreachable!("a Postgres test"),
    };
    assert_eq!(sessions, 0, "the sessions live in Redis");
}

/// Asks `server` for a password-reset link for `email`, as a visitor would.
async fn ask_for_reset(server: &ServeProcess, email: &str) {
    let browser = Browser::new(server.address.clone());
    let answer = browser
        .submit("/password/forgot", "/password/forgot", &[("email", email)])
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
}

async fn a_killed_server_loses_no_email(backend: Backend) {
    let database = ScratchDatabase::new(backend).await;
    let keys = Keys::new();
    let dir = tempfile::tempdir().unwrap();
    let shop = Shop::open(&database, &keys).await;
    let waiting = create_merchant_user(&shop.db, "acme").await;
    let in_flight = create_merchant_user(&shop.db, "acme").await;
    let port = free_port();
    let relay = format!("smtp://127.0.0.1:{port}");
    let env = [
        ("PAYHOOK_SMTP_URL", relay.as_str()),
        ("PAYHOOK_PUBLIC_URL", PUBLIC_URL),
    ];
    let first = serve_with(&database, &keys, dir.path(), &env).await;

    // The relay is down: the first email waits in the outbox for its next try.
    ask_for_reset(&first, &waiting).await;
    let tried = "SELECT COUNT(*) FROM email_attempts";
    wait_for_count(&shop.db, tried, 1).await;
    // Then it takes the second email whole and never answers: the server dies mid-send.
    let hanging = SmtpServer::start_on(port, Acceptance::Hang).await;
    ask_for_reset(&first, &in_flight).await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while hanging.unanswered().is_empty() {
        assert!(Instant::now() < deadline, "no email reached the relay");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    first.kill();
    let unanswered = hanging.unanswered();
    hanging.stop().await;

    let smtp = SmtpServer::start_on(port, Acceptance::Accept).await;
    let _second = serve_with(&database, &keys, dir.path(), &env).await;
    // Each email arrives: the waiting one when due, the one in flight once its lease ran out.
    let deadline = Instant::now() + Duration::from_secs(60);
    while smtp.mails_to(&waiting).is_empty() || smtp.mails_to(&in_flight).is_empty() {
        assert!(
            Instant::now() < deadline,
            "not every email arrived: {:#?}",
            smtp.received()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both are recorded as sent, so nothing more goes to the relay; each arrived once.
    let sent = "SELECT COUNT(*) FROM email_outbox WHERE status = 'sent'";
    wait_for_count(&shop.db, sent, 2).await;
    // A copy reached the relay twice only if it was in flight at the crash, and then it is the
    // same message (one Message-ID), so the recipient's mail program shows it once.
    for email in [&waiting, &in_flight] {
        let copies = smtp.mails_to(email);
        assert_eq!(copies.len(), 1, "{email}: {copies:#?}");
        let id = copies[0].message_id();
        assert!(id.starts_with('<') && id.ends_with('>'), "{email}: {id:?}");
        for earlier in unanswered.iter().filter(|m| m.envelope_to.contains(email)) {
            assert_eq!(earlier.message_id(), id, "{email}");
        }
    }
    let in_flight_copies = unanswered
        .iter()
        .filter(|m| m.envelope_to.contains(&in_flight))
        .count();
    assert_eq!(
        in_flight_copies, 1,
        "the second email was the one in flight"
    );
}

/// Waits up to 30 s until `sql` counts at least `count` rows.
async fn wait_for_count(db: &Db, sql: &'static str, count: i64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let counted: i64 = match db {
            Db::Sqlite(pools) => sqlx::query_scalar(sql).fetch_one(&pools.write).await,
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap();
        if counted >= count {
            return;
        }
        assert!(Instant::now() < deadline, "{sql} never reached {count}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

payhook_testing::on_both_backends!(
    multi_thread:
    a_killed_server_loses_no_delivery,
    a_killed_server_loses_no_email,
    a_server_killed_mid_save_loses_no_acknowledged_save_and_no_half_of_one,
    two_servers_on_one_database_send_each_notification_once,
    two_servers_delivering_at_once_keep_the_roll_up_a_recount,
);
