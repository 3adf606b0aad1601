//! The email outbox: a relay that is down when an email is asked for loses nothing; the email
//! waits sealed, is reported by `/healthz` and `/metrics`, and goes out once when the relay is
//! back.

use std::time::{Duration, Instant};

use payhook_testing::{
    Acceptance, Backend, SmtpServer, TestApp, free_port, on_both_backends, spawn_app_with,
    use_relay,
};
use reqwest::StatusCode;
use serde_json::Value;

on_both_backends!(a_relay_down_when_an_email_is_asked_for_gets_it_once_when_back);

/// Waits up to `within` until `sql` answers at least `count`.
async fn until_at_least(app: &TestApp, sql: &str, count: i64, within: Duration) {
    let deadline = Instant::now() + within;
    while app.scalar::<i64>(sql).await < count {
        assert!(Instant::now() < deadline, "{sql} never reached {count}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The value of the series `name` (with its labels, as printed) in `/metrics`.
async fn series(app: &TestApp, name: &str) -> f64 {
    let text = app.get_text("/metrics").await;
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} is not in /metrics:\n{text}"))
}

async fn a_relay_down_when_an_email_is_asked_for_gets_it_once_when_back(backend: Backend) {
    let port = free_port();
    let relay = format!("smtp://127.0.0.1:{port}");
    let app = spawn_app_with(backend, |settings| use_relay(settings, &relay)).await;
    let email = app.create_merchant_user("acme").await;
    let asked_at = Instant::now();
    let answer = app
        .new_browser()
        .submit("/password/forgot", "/password/forgot", &[("email", &email)])
        .await;
    assert_eq!(
        answer.status(),
        StatusCode::OK,
        "the request does not wait for the relay"
    );

    // The first try failed and was recorded; the email waits, sealed.
    until_at_least(
        &app,
        "SELECT COUNT(*) FROM email_attempts WHERE outcome = 'failed'",
        1,
        Duration::from_secs(20),
    )
    .await;
    let sealed: String = app
        .scalar("SELECT sealed FROM email_outbox WHERE status = 'pending'")
        .await;
    for clear in [
        "password/reset",
        "Reset your payhook password",
        email.as_str(),
    ] {
        assert!(!sealed.contains(clear), "{clear} is readable at rest");
    }
    assert!(series(&app, "payhook_email_sent_total{outcome=\"failed\"}").await >= 1.0);
    assert_eq!(series(&app, "payhook_email_outbox_unsent").await, 1.0);
    // The public health check shows a wait once it lasts a minute, not a single fresh email.
    let health: Value = app.get("/healthz").await.json().await.unwrap();
    assert_eq!(health["email"]["oldest_unsent_seconds"], 0, "{health}");
    app.execute_sql("UPDATE email_outbox SET created_at = created_at - 90000")
        .await
        .unwrap();
    let health: Value = app.get("/healthz").await.json().await.unwrap();
    let waited = health["email"]["oldest_unsent_seconds"].as_i64().unwrap();
    assert!(waited >= 90, "{health}");

    // The relay is back 20 s after the request.
    tokio::time::sleep_until((asked_at + Duration::from_secs(20)).into()).await;
    let smtp = SmtpServer::start_on(port, Acceptance::Accept).await;
    let mail = smtp.mail_to(&email).await;
    assert_eq!(mail.subject, "Reset your payhook password");

    // Sent once: the outbox says so and keeps no content; nothing waits any more.
    until_at_least(
        &app,
        "SELECT COUNT(*) FROM email_outbox WHERE status = 'sent' AND sealed IS NULL",
        1,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(series(&app, "payhook_email_outbox_unsent").await, 0.0);
    assert_eq!(smtp.received().len(), 1);
    assert_eq!(
        series(&app, "payhook_email_sent_total{outcome=\"sent\"}").await,
        1.0
    );
}
