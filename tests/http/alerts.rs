//! When notifications fail: one alert email per episode to the owners and developers who keep
//! them on, one "recovered" email after, a banner on every page meanwhile; two instances on one
//! Postgres still send one of each. Recover: every failed notification of a range resent in
//! one go, paced, audited once, never queued twice.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use payhook::cli::RoleArg;
use payhook::config::RetrySchedule;
use payhook_testing::{
    Backend, Receiver, Reply, SmtpServer, TestApp, csrf_token, on_both_backends, spawn_app_at,
    spawn_with_smtp_and, use_relay,
};
use reqwest::StatusCode;

use crate::payments::{Api, order};

on_both_backends!(
    a_failing_channel_alerts_its_team_once_and_tells_it_recovered,
    recover_resends_every_failed_notification_paced_and_audited_once,
);

const FAILING: &str =
    "Notifications failing: Virtual Account (non-SNAP) · BCA (Sandbox) · Merchant acme (acme)";
const RECOVERED: &str = "Notifications delivered again: Virtual Account (non-SNAP) · BCA (Sandbox) · Merchant acme (acme)";

fn adjust(settings: &mut payhook::config::Settings) {
    settings.url_policy.allow_private_targets = true;
    settings.notification_timeout = Duration::from_secs(5);
    settings.retry_schedule = RetrySchedule::parse("1h").unwrap();
    settings.delivery_poll = Duration::from_millis(50);
}

/// A payment paid at once, notifying `target`; its id.
async fn paid(api: &Api<'_>, invoice: &str, target: &str) -> String {
    let header = [("X-Override-Notification", target)];
    let (status, payment) = api.create(order(invoice), &header).await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let id = payment["id"].as_str().unwrap().to_owned();
    let (status, answer) = api.simulate(&id, "SUCCESS").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    id
}

/// How many attempts a delivery of the payment API's answer made.
fn attempts(delivery: &serde_json::Value) -> usize {
    delivery["attempts"].as_array().map_or(0, Vec::len)
}

/// Waits until `done` holds of the payment's first delivery (30 s at most).
async fn first_delivery(api: &Api<'_>, payment: &str, done: impl Fn(&serde_json::Value) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, body) = api.get(payment).await;
        if let Some(delivery) = body["deliveries"].get(0)
            && done(delivery)
        {
            return;
        }
        assert!(Instant::now() < deadline, "still not there: {body}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The team: the signed-in owner, a developer, a viewer and a developer who turned the emails
/// off (on their own account page).
struct Team {
    owner: String,
    developer: String,
    viewer: String,
    quiet: String,
}

async fn team(app: &TestApp) -> Team {
    let owner = app.sign_in_new_merchant("acme").await;
    let developer = app.create_member("acme", RoleArg::Developer).await;
    let viewer = app.create_member("acme", RoleArg::Viewer).await;
    let quiet = app.create_member("acme", RoleArg::Developer).await;
    let browser = app.signed_in_browser(&quiet).await;
    let page = browser.get_text("/account/password").await;
    assert!(
        page.contains("name=\"failure_alerts\" value=\"on\" checked"),
        "on by default"
    );
    let response = browser
        .post("/account/alerts", &[("csrf_token", &csrf_token(&page))])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = browser.get_text("/account/password").await;
    assert!(
        page.contains("name=\"failure_alerts\" value=\"on\">"),
        "turned off"
    );
    let viewer_page = app.signed_in_browser(&viewer).await;
    let page = viewer_page.get_text("/account/password").await;
    assert!(
        !page.contains("failure_alerts"),
        "viewers get no failure emails to turn off"
    );
    Team {
        owner,
        developer,
        viewer,
        quiet,
    }
}

/// Waits until the outbox has nothing left to send (20 s at most).
async fn outbox_empty(app: &TestApp) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let depth = app.db.queue_depth(payhook::store::now_ms()).await.unwrap();
        if depth.unsent_emails == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "emails still unsent: {depth:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn subjects(smtp: &SmtpServer, address: &str) -> Vec<String> {
    smtp.mails_to(address)
        .into_iter()
        .map(|m| m.subject)
        .collect()
}

async fn a_failing_channel_alerts_its_team_once_and_tells_it_recovered(backend: Backend) {
    let (app, smtp) = spawn_with_smtp_and(backend, adjust).await;
    let team = team(&app).await;
    // A developer who reads payhook in Bahasa Indonesia gets the alert in it.
    let kadek = app.create_member("acme", RoleArg::Developer).await;
    let switched = app
        .signed_in_browser(&kadek)
        .await
        .submit("/account/password", "/language/id", &[])
        .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    let (reply, status) = Reply::switch(500, "<b>down</b> for maintenance");
    let receiver = Receiver::start(reply).await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let api = Api::for_signed_in(&app).await;
    for n in 1..=2 {
        let payment = paid(&api, &format!("INV-{n}"), &target).await;
        first_delivery(&api, &payment, |d| attempts(d) == 1).await;
    }
    let settings_page = app.get_text("/settings/payment").await;
    assert!(
        !settings_page.contains("failing-banner"),
        "2 failures are not failing yet"
    );
    let third = paid(&api, "INV-3", &target).await;
    first_delivery(&api, &third, |d| attempts(d) == 1).await;

    let alert = smtp.mail_with_subject(&team.owner, FAILING).await;
    assert!(
        alert.text.contains(&target) && alert.text.contains("HTTP 500"),
        "{}",
        alert.text
    );
    assert!(
        alert.text.contains("<b>down</b> for maintenance"),
        "the answer's start"
    );
    assert!(
        alert
            .html
            .contains("&lt;b&gt;down&lt;/b&gt; for maintenance")
            || alert.html.contains("&#60;b&#62;down"),
        "escaped: {}",
        alert.html
    );
    assert!(!alert.html.contains("<b>down</b>"));
    assert!(
        alert.text.contains("Waiting for a retry: 3"),
        "{}",
        alert.text
    );
    let link = "https://backoffice.example.com/integration/notifications?section=va&channel=bca&environment=sandbox";
    assert!(alert.text.contains(link), "{}", alert.text);
    assert!(
        alert
            .text
            .contains("HTTP 500: the notification was not accepted (expected 2xx)."),
        "the last error in words: {}",
        alert.text
    );
    smtp.mail_with_subject(&team.developer, FAILING).await;
    outbox_empty(&app).await;
    let told = smtp.mails_to(&kadek);
    assert_eq!(told.len(), 1, "one alert in Bahasa Indonesia");
    assert!(
        told[0].subject.starts_with("Notifikasi gagal: ")
            && told[0]
                .text
                .contains("HTTP 500: notifikasi tidak diterima (diharapkan 2xx).")
            && told[0].text.contains(link),
        "{}: {}",
        told[0].subject,
        told[0].text
    );

    // Every page names the failing channel while it fails.
    for path in [
        "/settings/payment",
        "/integration/api-keys",
        "/account/password",
    ] {
        let page = app.get_text(path).await;
        let banner = &page[page.find("id=\"failing-banner\"").expect(path)..];
        assert!(
            banner.contains("environment=sandbox") && banner.contains("BCA (Sandbox)"),
            "{path}"
        );
    }
    // More failures in the same episode send nothing more.
    let fourth = paid(&api, "INV-4", &target).await;
    first_delivery(&api, &fourth, |d| attempts(d) == 1).await;

    status.store(200, Ordering::SeqCst);
    let fifth = paid(&api, "INV-5", &target).await;
    first_delivery(&api, &fifth, |d| d["status"] == "delivered").await;
    let recovered = smtp.mail_with_subject(&team.owner, RECOVERED).await;
    assert!(recovered.text.contains(link), "{}", recovered.text);
    smtp.mail_with_subject(&team.developer, RECOVERED).await;
    let page = app.get_text("/settings/payment").await;
    assert!(
        !page.contains("failing-banner"),
        "the banner goes when it recovers"
    );

    // Failing again within 6 hours: the badge shows it, no email does.
    status.store(503, Ordering::SeqCst);
    for n in 6..=8 {
        let payment = paid(&api, &format!("INV-{n}"), &target).await;
        first_delivery(&api, &payment, |d| attempts(d) == 1).await;
    }
    let page = app.get_text("/settings/payment").await;
    assert!(page.contains("failing-banner"), "failing again");
    outbox_empty(&app).await;
    assert_eq!(subjects(&smtp, &team.owner), [FAILING, RECOVERED]);
    // Still failing once the 6 hours have passed: this episode is alerted then.
    let earlier = format!(
        "UPDATE channel_health SET alerted_at = alerted_at - {}",
        7 * 3_600_000
    );
    crate::rotation::run(&app, &earlier).await;
    let payment = paid(&api, "INV-9", &target).await;
    first_delivery(&api, &payment, |d| attempts(d) == 1).await;
    // Its alert reaches the relay before the recovery's is queued: the outbox sends emails
    // side by side, so two queued a moment apart may arrive either way round.
    outbox_empty(&app).await;
    status.store(200, Ordering::SeqCst);
    let last = paid(&api, "INV-10", &target).await;
    first_delivery(&api, &last, |d| d["status"] == "delivered").await;
    // Every attempt is recorded, and an alert is queued with its attempt: once the outbox is
    // empty, every email the episodes caused has reached the relay.
    outbox_empty(&app).await;
    for address in [&team.owner, &team.developer] {
        let told = [FAILING, RECOVERED, FAILING, RECOVERED];
        assert_eq!(subjects(&smtp, address), told, "{address}");
    }
    for address in [&team.viewer, &team.quiet] {
        assert!(subjects(&smtp, address).is_empty(), "{address}");
    }
}

async fn recover_resends_every_failed_notification_paced_and_audited_once(backend: Backend) {
    let (app, _smtp) = spawn_with_smtp_and(backend, adjust).await;
    app.sign_in_new_merchant("acme").await;
    let (reply, status) = Reply::switch(500, "");
    let receiver = Receiver::start(reply).await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let api = Api::for_signed_in(&app).await;
    let mut payments = Vec::new();
    for n in 0..50 {
        payments.push(paid(&api, &format!("INV-{n}"), &target).await);
    }
    for payment in &payments {
        first_delivery(&api, payment, |d| d["status"] == "retrying").await;
    }
    status.store(200, Ordering::SeqCst);
    let before = receiver.requests().len();

    let page = app
        .get_text("/integration/notifications/recover?section=va&channel=bca&environment=sandbox")
        .await;
    assert!(page.contains("data-count=\"50\""), "{page}");
    let form = [
        ("section", "va"),
        ("channel", "bca"),
        ("environment", "sandbox"),
        ("from", ""),
        ("to", ""),
        ("csrf_token", &csrf_token(&page)),
    ];
    let started = Instant::now();
    let response = app.post("/integration/notifications/recover", &form).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    // A second click while they are queued adds nothing.
    let again = app.post("/integration/notifications/recover", &form).await;
    assert_eq!(again.status(), StatusCode::SEE_OTHER);
    let log = app
        .get_text("/integration/notifications?section=va&channel=bca")
        .await;
    assert!(
        log.contains("Nothing new to resend"),
        "the second click said so"
    );

    for payment in &payments {
        first_delivery(&api, payment, |d| d["status"] == "delivered").await;
    }
    let resent: Vec<Instant> = receiver.requests()[before..].iter().map(|r| r.at).collect();
    assert_eq!(resent.len(), 50, "each resent once");
    // Paced: no second holds more than 20 starts, so 50 take over 2 seconds.
    for (i, at) in resent.iter().enumerate() {
        let within = resent[i..]
            .iter()
            .take_while(|later| **later - *at < Duration::from_secs(1));
        assert!(
            within.count() <= 20,
            "more than 20 in the second after request {i}"
        );
    }
    assert!(started.elapsed() >= Duration::from_secs(2));

    let filter = payhook::store::AuditFilter {
        action: Some(payhook::store::AuditAction::NotificationsRecovered),
        ..Default::default()
    };
    let recovered = app.db.audit_page(&filter, 10).await.unwrap();
    assert_eq!(recovered.len(), 1, "audited once");
    assert_eq!(recovered[0].event.new_value.as_deref(), Some("50"));
    assert!(
        recovered[0]
            .event
            .old_value
            .as_deref()
            .unwrap()
            .contains("BCA"),
        "the filters: {:?}",
        recovered[0].event.old_value
    );
    let page = app.get_text("/integration/notifications/recover").await;
    assert!(
        page.contains("id=\"recover-none\""),
        "nothing left to recover"
    );

    // Only owners and developers recover; a range over 14 days is refused by name.
    let viewer = app.create_member("acme", RoleArg::Viewer).await;
    let viewer = app.signed_in_browser(&viewer).await;
    let refused = viewer.get("/integration/notifications/recover").await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let refused = viewer
        .post("/integration/notifications/recover", &form)
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let wide = app
        .get("/integration/notifications/recover?from=2026-11-01&to=2026-11-30")
        .await;
    assert_eq!(wide.status(), StatusCode::BAD_REQUEST);
    assert!(wide.text().await.unwrap().contains("at most 14 days"));
}

/// Two instances on one Postgres, both delivering: still one alert and one "recovered" email.
#[tokio::test]
async fn two_instances_on_one_postgres_send_each_alert_once() {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = payhook_testing::spawn_app_with(Backend::Postgres, |settings| {
        use_relay(settings, &url);
        adjust(settings);
    })
    .await;
    let second = spawn_app_at(&app.settings.database_url, |settings| {
        use_relay(settings, &url);
        adjust(settings);
        settings.secret_box = app.settings.secret_box.clone();
        settings.session_key = app.settings.session_key.clone();
    })
    .await;
    let owner = app.sign_in_new_merchant("acme").await;
    let (reply, status) = Reply::switch(500, "");
    let receiver = Receiver::start(reply).await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let api = Api::for_signed_in(&app).await;
    let mut payments = Vec::new();
    for n in 0..8 {
        payments.push(paid(&api, &format!("INV-{n}"), &target).await);
    }
    for payment in &payments {
        first_delivery(&api, payment, |d| attempts(d) == 1).await;
    }
    smtp.mail_with_subject(&owner, FAILING).await;
    status.store(200, Ordering::SeqCst);
    let mut delivered = Vec::new();
    for n in 8..14 {
        delivered.push(paid(&api, &format!("INV-{n}"), &target).await);
    }
    for payment in &delivered {
        first_delivery(&api, payment, |d| d["status"] == "delivered").await;
    }
    smtp.mail_with_subject(&owner, RECOVERED).await;
    outbox_empty(&app).await;
    assert_eq!(subjects(&smtp, &owner), [FAILING, RECOVERED]);
    drop(second);
}
