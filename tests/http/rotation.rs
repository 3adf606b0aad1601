//! A secret rotated without a gap: scheduled, both secrets accepted until the new one takes
//! over, then only the new one; cancelled before. Retention: old notifications and sent
//! emails deleted in batches while saves go on, young ones and the audit log kept.

use std::time::{Duration, Instant};

use payhook::config::RetrySchedule;
use payhook_testing::{
    Backend, PASSWORD, Receiver, Reply, TestApp, element_text, expected_non_snap_signature,
    on_both_backends, reveal_secret, sandbox_credentials, spawn_app_with, spawn_with_smtp_and,
};
use reqwest::StatusCode;

use crate::metrics::sample;
use crate::payments::order;

on_both_backends!(
    a_scheduled_rotation_keeps_both_secrets_until_it_takes_over_and_can_be_cancelled,
    retention_deletes_only_old_notifications_in_batches_while_saves_go_on,
);

fn adjust(settings: &mut payhook::config::Settings) {
    settings.url_policy.allow_private_targets = true;
    settings.retry_schedule = RetrySchedule::parse("1h").unwrap();
    settings.delivery_poll = Duration::from_millis(50);
    settings.housekeeping_every = Duration::from_millis(200);
}

/// Runs `sql` on the app's database (moving a time into the past, making old rows).
pub async fn run(app: &TestApp, sql: &str) -> u64 {
    app.execute_sql(sql).await.unwrap()
}

/// Creates and pays a payment with these credentials, notifying `target`; the answer's status.
async fn pay(app: &TestApp, (id, secret): (&str, &str), invoice: &str, target: &str) -> StatusCode {
    let created = app
        .client
        .post(app.url("/api/v1/payments"))
        .basic_auth(id, Some(secret))
        .header("X-Override-Notification", target)
        .json(&order(invoice))
        .send()
        .await
        .unwrap();
    if created.status() != StatusCode::CREATED {
        return created.status();
    }
    let payment: serde_json::Value = created.json().await.unwrap();
    let path = format!(
        "/api/v1/payments/{}/simulate",
        payment["id"].as_str().unwrap()
    );
    let paid = app
        .client
        .post(app.url(&path))
        .basic_auth(id, Some(secret))
        .json(&serde_json::json!({ "status": "SUCCESS" }))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), StatusCode::OK);
    StatusCode::CREATED
}

/// The receiver's requests once it holds `count` (10 s at most).
async fn received(receiver: &Receiver, count: usize) -> Vec<payhook_testing::Recorded> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let requests = receiver.requests();
        if requests.len() >= count {
            return requests;
        }
        assert!(
            Instant::now() < deadline,
            "only {} requests",
            requests.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends a test notification to va/bca's sandbox URL signed with `secret`.
async fn test(app: &TestApp, secret: &str) -> reqwest::Response {
    let page = "/settings/payment/va/bca";
    let form = [("environment", "sandbox"), ("secret", secret)];
    app.submit(page, &format!("{page}/test"), &form).await
}

async fn rotate(app: &TestApp, when: &str) -> reqwest::Response {
    app.submit(
        "/integration/api-keys",
        "/integration/api-keys/rotate",
        &[
            ("environment", "sandbox"),
            ("password", PASSWORD),
            ("when", when),
        ],
    )
    .await
}

async fn a_scheduled_rotation_keeps_both_secrets_until_it_takes_over_and_can_be_cancelled(
    backend: Backend,
) {
    let (app, smtp) = spawn_with_smtp_and(backend, adjust).await;
    let owner = app.sign_in_new_merchant("acme").await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let (client_id, old) = sandbox_credentials(&app).await;

    let page = rotate(&app, "24").await.text().await.unwrap();
    assert!(page.contains("id=\"rotation-scheduled\""), "{page}");
    let new = element_text(&page, "secret-sandbox").unwrap();
    assert_ne!(new, old);
    smtp.mail_with_subject(
        &owner,
        "A new sandbox secret key is scheduled for Merchant acme",
    )
    .await;
    let page = app.get_text("/integration/api-keys").await;
    assert!(page.contains("id=\"scheduled-sandbox\""));
    let again = rotate(&app, "1").await;
    assert_eq!(
        again.status(),
        StatusCode::CONFLICT,
        "one scheduled rotation at a time"
    );

    // Until the time: the old secret signs, the API takes both.
    assert_eq!(
        pay(&app, (&client_id, &old), "INV-1", &target).await,
        StatusCode::CREATED
    );
    assert_eq!(
        pay(&app, (&client_id, &new), "INV-2", &target).await,
        StatusCode::CREATED
    );
    for got in received(&receiver, 2).await {
        assert_eq!(
            got.header("Signature"),
            expected_non_snap_signature(&old, &got)
        );
    }
    assert_eq!(
        pay(&app, (&client_id, "SK-guess"), "INV-0", &target).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        reveal_secret(&app, "sandbox").await,
        old,
        "the secret that signs now"
    );
    let refused = rotate(&app, "now").await;
    assert_eq!(
        refused.status(),
        StatusCode::CONFLICT,
        "not dropped without a word"
    );
    // A test notification can be signed with the new secret before it takes over.
    let saved = app.save("va", "bca", &target, "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    assert_eq!(test(&app, "scheduled").await.status(), StatusCode::OK);
    let got = received(&receiver, 3).await.pop().unwrap();
    assert_eq!(
        got.header("Signature"),
        expected_non_snap_signature(&new, &got)
    );
    assert_eq!(test(&app, "current").await.status(), StatusCode::OK);
    let got = received(&receiver, 4).await.pop().unwrap();
    assert_eq!(
        got.header("Signature"),
        expected_non_snap_signature(&old, &got)
    );

    // The time comes: nothing needs asking; the new secret signs, the old one is refused.
    run(
        &app,
        "UPDATE api_keys SET next_takes_over_at = 1000 WHERE environment = 'sandbox'",
    )
    .await;
    assert_eq!(
        pay(&app, (&client_id, &old), "INV-3", &target).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        pay(&app, (&client_id, &new), "INV-4", &target).await,
        StatusCode::CREATED
    );
    let got = received(&receiver, 5).await.pop().unwrap();
    assert_eq!(
        got.header("Signature"),
        expected_non_snap_signature(&new, &got)
    );
    smtp.mail_with_subject(
        &owner,
        "The new sandbox secret key for Merchant acme took over",
    )
    .await;
    let page = app.get_text("/integration/api-keys").await;
    assert!(!page.contains("id=\"scheduled-sandbox\""), "taken over");

    // Cancelled before its time: the scheduled secret stops working, the current one stays.
    let page = rotate(&app, "1").await.text().await.unwrap();
    let cancelled = element_text(&page, "secret-sandbox").unwrap();
    assert_eq!(
        pay(&app, (&client_id, &cancelled), "INV-5", &target).await,
        StatusCode::CREATED
    );
    let tested = test(&app, "scheduled").await;
    assert_eq!(
        tested.status(),
        StatusCode::OK,
        "signed with the scheduled one again"
    );
    let response = app
        .submit(
            "/integration/api-keys",
            "/integration/api-keys/rotation/cancel",
            &[("environment", "sandbox")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        pay(&app, (&client_id, &cancelled), "INV-6", &target).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        pay(&app, (&client_id, &new), "INV-7", &target).await,
        StatusCode::CREATED
    );
    smtp.mail_with_subject(
        &owner,
        "The scheduled sandbox secret key rotation for Merchant acme was cancelled",
    )
    .await;
    let tested = test(&app, "scheduled").await;
    assert_eq!(
        tested.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "none scheduled now"
    );
    assert!(
        tested
            .text()
            .await
            .unwrap()
            .contains("No rotation is scheduled")
    );
    let mut actions = Vec::new();
    for action in [
        payhook::store::AuditAction::ApiKeyRotationScheduled,
        payhook::store::AuditAction::ApiKeyRotationTookOver,
        payhook::store::AuditAction::ApiKeyRotationCancelled,
    ] {
        let filter = payhook::store::AuditFilter {
            action: Some(action),
            ..Default::default()
        };
        actions.push(app.db.audit_page(&filter, 10).await.unwrap().len());
    }
    assert_eq!(
        actions,
        [2, 1, 1],
        "scheduled twice, took over once, cancelled once"
    );
    for email in smtp.mails_to(&owner) {
        assert!(
            !email.raw.contains(&new) && !email.raw.contains(&old),
            "no secret by email"
        );
    }
}

async fn retention_deletes_only_old_notifications_in_batches_while_saves_go_on(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        adjust(settings);
        settings.housekeeping_every = Duration::from_secs(3600);
    })
    .await;
    app.sign_in_new_merchant("acme").await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let credentials = sandbox_credentials(&app).await;
    for n in 0..3 {
        let invoice = format!("INV-{n}");
        let answer = pay(&app, (&credentials.0, &credentials.1), &invoice, &target);
        assert_eq!(answer.await, StatusCode::CREATED);
    }
    received(&receiver, 3).await;
    // 2,500 notifications of 100 days ago, each with an attempt, and an email of 40 days ago.
    let old = payhook::store::now_ms() - 100 * payhook::domain::DAY_MS;
    let later = payhook::store::now_ms() + payhook::domain::DAY_MS;
    run(
        &app,
        &format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2500) \
             INSERT INTO deliveries (merchant_id, section, channel, environment, kind, url, \
             request_id, request_body, status, attempts, created_at) \
             SELECT 1, 'va', 'bca', 'sandbox', 'payment', 'http://old.example/', 'r', '{{}}', \
             'delivered', 1, {old} + i FROM n"
        ),
    )
    .await;
    let attempts = run(
        &app,
        &format!(
            "INSERT INTO delivery_attempts (delivery_id, at, request_headers, outcome) \
             SELECT id, created_at, '[]', 'delivered' FROM deliveries WHERE created_at < {}",
            old + 10_000
        ),
    )
    .await;
    assert_eq!(attempts, 2500);
    // The roll-up counts them as the migration's backfill would have.
    let backfill = match backend {
        Backend::Sqlite => {
            include_str!("../../migrations/sqlite/20261206000510_delivery_hours_backfill.sql")
        }
        Backend::Postgres => {
            include_str!("../../migrations/postgres/20261206000510_delivery_hours_backfill.sql")
        }
    };
    for statement in backfill.split(';').filter(|s| s.contains("delivery_hours")) {
        run(&app, statement).await;
    }
    run(
        &app,
        &format!(
            "INSERT INTO email_outbox (message_id, kind, recipient, status, created_at, sent_at, \
             next_attempt_at) VALUES ('old', 'password_reset', 'a@b.example', 'sent', {old}, \
             {old}, NULL), ('retrying', 'password_reset', 'a@b.example', 'pending', {old}, NULL, \
             {later})"
        ),
    )
    .await;
    let audit_rows = app.count_rows("audit_events").await;
    let newest_audit = app.scalar::<i64>("SELECT MAX(id) FROM audit_events").await;

    // One batch holds at most 1,000 rows: the attempts of the oldest first.
    let cutoff = payhook::store::now_ms() - 90 * payhook::domain::DAY_MS;
    let first = app.db.purge_notifications(cutoff, 1000).await.unwrap();
    assert_eq!((first.attempts, first.notifications), (1000, 0));

    // The job (on a new instance of the same database) deletes the rest while saves go on.
    let saver = app.new_browser();
    let email = app
        .create_member("acme", payhook::cli::RoleArg::Developer)
        .await;
    assert_eq!(
        saver.login(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let saves = tokio::spawn(async move {
        let mut statuses = Vec::new();
        for n in 0..20 {
            let url = format!("https://shop.example.com/notify/{n}");
            statuses.push(saver.save("va", "bca", &url, "").await.status());
        }
        statuses
    });
    let mut job = app.settings.clone();
    job.housekeeping_every = Duration::from_millis(100);
    let instance = payhook::startup::Application::build(job).await.unwrap();
    let metrics_at = format!("http://127.0.0.1:{}/metrics", instance.port());
    tokio::spawn(instance.run_until_stopped());
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.count_rows("deliveries").await > 3 {
        assert!(Instant::now() < deadline, "old notifications still there");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for status in saves.await.unwrap() {
        assert_eq!(status, StatusCode::SEE_OTHER, "every save went through");
    }
    assert_eq!(
        app.count_rows("delivery_attempts").await,
        3,
        "the young ones' attempts"
    );
    assert_eq!(
        app.count_rows("email_outbox").await,
        1,
        "an email still to be tried stays"
    );
    // Every audit row from before is still there (the saves added theirs).
    let kept = format!("SELECT COUNT(*) FROM audit_events WHERE id <= {newest_audit}");
    assert_eq!(app.scalar::<i64>(&kept).await, audit_rows);
    let metrics = app
        .client
        .get(&metrics_at)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let purged = |what| sample(&metrics, "payhook_purged_rows_total", &[("what", what)]);
    assert_eq!(purged("notifications"), Some(2500.0));
    assert_eq!(purged("attempts"), Some(1500.0));
    assert_eq!(purged("emails"), Some(1.0));
    assert_eq!(
        purged("delivery_hours"),
        Some(1.0),
        "the old notifications' hour"
    );
    payhook_testing::rollup::assert_roll_up_matches_recount(&app.db).await;
}
