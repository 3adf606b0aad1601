//! Sign-in throttling that cannot be turned against the victim: failures count per (account,
//! client IP) and per client IP, an account attacked from everywhere is only slowed, password
//! re-checks count apart, the client IP is what the trusted proxy saw, and every instance
//! shares the counters.

use std::time::{Duration, Instant};

use reqwest::StatusCode;

use payhook_testing::on_both_backends;
use payhook_testing::{Backend, PASSWORD, Probe, TestApp, spawn_app_with};

on_both_backends!(
    fifty_failures_for_the_admin_from_one_address_leave_the_right_password_from_another,
    fifty_failures_from_one_address_over_many_accounts_refuse_that_address,
    an_account_failing_from_many_addresses_is_slowed_not_locked,
    password_rechecks_have_their_own_counter_and_never_block_a_sign_in,
    the_client_ip_is_the_rightmost_forwarded_address_and_only_behind_a_trusted_proxy,
    a_refused_address_is_audited_once_per_window,
    every_instance_on_one_database_shares_the_counters,
    with_redis_every_instance_shares_the_counters_and_the_database_holds_none,
);

/// An app behind a trusted proxy, so each test can play clients at many addresses.
async fn behind_proxy(backend: Backend) -> TestApp {
    spawn_app_with(backend, |settings| settings.trust_proxy = true).await
}

fn retry_after(response: &reqwest::Response) -> Option<&str> {
    response.headers().get("retry-after")?.to_str().ok()
}

async fn fifty_failures_for_the_admin_from_one_address_leave_the_right_password_from_another(
    backend: Backend,
) {
    let app = behind_proxy(backend).await;
    let admin = app.create_admin().await;
    let attacker = app.new_browser();
    let mut statuses = Vec::new();
    for _ in 0..50 {
        let guess = attacker
            .login_via_proxy("198.51.100.7", &admin, "guess")
            .await;
        statuses.push(guess.status());
    }
    assert!(
        statuses[..10]
            .iter()
            .all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert!(
        statuses[10..]
            .iter()
            .all(|s| *s == StatusCode::TOO_MANY_REQUESTS),
        "the 11th and later guesses from that address are refused: {statuses:?}"
    );
    let refused = attacker
        .login_via_proxy("198.51.100.7", &admin, PASSWORD)
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(retry_after(&refused), Some("900"));
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Try again in 15 minutes")
    );

    let owner = app.new_browser();
    let signed_in = owner.login_via_proxy("203.0.113.9", &admin, PASSWORD).await;
    assert_eq!(
        signed_in.status(),
        StatusCode::SEE_OTHER,
        "the right password from another address is never refused for someone else's guesses"
    );
    assert_eq!(owner.get("/admin").await.status(), StatusCode::OK);
}

async fn fifty_failures_from_one_address_over_many_accounts_refuse_that_address(backend: Backend) {
    let app = behind_proxy(backend).await;
    let email = app.create_merchant_user("acme").await;
    let sprayer = app.new_browser();
    for n in 0..50 {
        let guess = sprayer
            .login_via_proxy(
                "198.51.100.8",
                &format!("user{n}@acme.example.com"),
                "guess",
            )
            .await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED, "guess {n}");
    }
    let refused = sprayer
        .login_via_proxy("198.51.100.8", &email, PASSWORD)
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "50 failures from one address refuse it, whatever the account"
    );
    let elsewhere = app.new_browser();
    assert_eq!(
        elsewhere
            .login_via_proxy("198.51.100.9", &email, PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
}

async fn an_account_failing_from_many_addresses_is_slowed_not_locked(backend: Backend) {
    let app = behind_proxy(backend).await;
    let email = app.create_merchant_user("acme").await;
    let botnet = app.new_browser();
    for n in 0..101 {
        let address = format!("198.51.{}.{}", 100 + n / 200, 1 + n % 200);
        let guess = botnet.login_via_proxy(&address, &email, "guess").await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED, "guess {n}");
    }

    let started = Instant::now();
    let wrong = botnet
        .login_via_proxy("203.0.113.50", &email, "guess")
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(started.elapsed() >= Duration::from_secs(1), "slowed");

    let owner = app.new_browser();
    let started = Instant::now();
    let signed_in = owner
        .login_via_proxy("203.0.113.51", &email, PASSWORD)
        .await;
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "every attempt is slowed"
    );
    assert_eq!(
        signed_in.status(),
        StatusCode::SEE_OTHER,
        "slowed, not locked"
    );
}

async fn change_password(app: &payhook_testing::Browser, current: &str) -> reqwest::Response {
    app.submit(
        "/account/password",
        "/account/password",
        &[
            ("current_password", current),
            ("new_password", "a brand new passphrase"),
            ("confirm_password", "a brand new passphrase"),
        ],
    )
    .await
}

async fn password_rechecks_have_their_own_counter_and_never_block_a_sign_in(backend: Backend) {
    let app = behind_proxy(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    for attempt in 0..10 {
        let wrong = change_password(&app, "a wrong guess here").await;
        assert_eq!(
            wrong.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "attempt {attempt}"
        );
        assert!(
            wrong
                .text()
                .await
                .unwrap()
                .contains("The current password is incorrect.")
        );
    }
    let right = change_password(&app, PASSWORD).await;
    assert_eq!(right.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("Try again in 15 minutes"),
        "this session is locked out of re-checks, even for the right password"
    );
    let reveal = app
        .submit(
            "/integration/api-keys",
            "/integration/api-keys",
            &[("environment", "sandbox"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(
        reveal.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "one counter for every re-check of the session"
    );

    let other = app.new_browser();
    assert_eq!(
        other.login(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "failed re-checks never block a sign-in, not even from the same address"
    );
    let revealed = other
        .submit(
            "/integration/api-keys",
            "/integration/api-keys",
            &[("environment", "sandbox"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(revealed.status(), StatusCode::OK, "another session is free");

    let failed = app
        .db
        .audit_events_by_action("password_change_failed")
        .await
        .unwrap();
    assert_eq!(
        failed.len(),
        11,
        "ten wrong passwords and the first refusal of the locked session"
    );
    assert_eq!(failed[0].actor_email.as_deref(), Some(email.as_str()));
    assert!(
        app.db
            .audit_events_by_action("api_key_reveal_failed")
            .await
            .unwrap()
            .is_empty(),
        "the lockout is on record once per window"
    );
}

async fn client_ip_of_last_sign_in(app: &TestApp) -> Option<String> {
    let events = app.db.audit_events_by_action("sign_in").await.unwrap();
    events.last().and_then(|e| e.client_ip.clone())
}

async fn the_client_ip_is_the_rightmost_forwarded_address_and_only_behind_a_trusted_proxy(
    backend: Backend,
) {
    let app = behind_proxy(backend).await;
    let email = app.create_merchant_user("acme").await;
    for (forwarded, recorded) in [
        ("6.6.6.6, 203.0.113.7", "203.0.113.7"),
        ("203.0.113.8", "203.0.113.8"),
        (" 2001:db8::1 ", "2001:db8::1"),
        ("203.0.113.7, not-an-address", "127.0.0.1"),
        ("203.0.113.7, 203.0.113.9:4433", "127.0.0.1"),
        ("203.0.113.7,", "127.0.0.1"),
    ] {
        let browser = app.new_browser();
        let response = browser.login_via_proxy(forwarded, &email, PASSWORD).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{forwarded}");
        assert_eq!(
            client_ip_of_last_sign_in(&app).await.as_deref(),
            Some(recorded),
            "X-Forwarded-For: {forwarded}"
        );
    }

    let direct = spawn_app_with(backend, |_| {}).await;
    let email = direct.create_merchant_user("acme").await;
    let response = direct
        .login_via_proxy("203.0.113.7", &email, PASSWORD)
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        client_ip_of_last_sign_in(&direct).await.as_deref(),
        Some("127.0.0.1"),
        "without a trusted proxy the header is the client's word only"
    );
}

async fn a_refused_address_is_audited_once_per_window(backend: Backend) {
    let app = behind_proxy(backend).await;
    let email = app.create_merchant_user("acme").await;
    let attacker = app.new_browser();
    for _ in 0..15 {
        attacker
            .login_via_proxy("198.51.100.20", &email, "guess")
            .await;
    }
    let locked = app
        .db
        .audit_events_by_action("sign_in_locked")
        .await
        .unwrap();
    assert_eq!(locked.len(), 1, "five refused attempts, one event");
    assert_eq!(locked[0].client_ip.as_deref(), Some("198.51.100.20"));
    assert_eq!(locked[0].actor_email.as_deref(), Some(email.as_str()));
    let failed = app.db.audit_events_by_action("sign_in_failed").await;
    assert_eq!(failed.unwrap().len(), 10);

    let other = app.create_merchant_user("acme").await;
    for _ in 0..11 {
        attacker
            .login_via_proxy("198.51.100.20", &other, "guess")
            .await;
    }
    let locked = app.db.audit_events_by_action("sign_in_locked").await;
    assert_eq!(locked.unwrap().len(), 2, "one per account and address");
}

async fn every_instance_on_one_database_shares_the_counters(backend: Backend) {
    let app = spawn_app_with(backend, |_| {}).await;
    shares_the_counters(&app).await;
    assert!(app.count_rows("auth_failures").await >= 10);
}

async fn with_redis_every_instance_shares_the_counters_and_the_database_holds_none(
    backend: Backend,
) {
    let redis =
        std::env::var("PAYHOOK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let app = spawn_app_with(backend, |settings| settings.redis_url = Some(redis)).await;
    shares_the_counters(&app).await;
    assert_eq!(
        app.count_rows("auth_failures").await,
        0,
        "the counters live in Redis"
    );
}

/// Ten failures on one instance refuse the eleventh attempt on another.
async fn shares_the_counters(app: &TestApp) {
    let email = app.create_merchant_user("acme").await;
    for _ in 0..10 {
        let guess = app.login(&email, "guess").await;
        assert_eq!(guess.status(), StatusCode::UNAUTHORIZED);
    }
    let second = app.second_instance().await;
    assert_eq!(
        second.login(&email, PASSWORD).await.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "the second instance counts the first one's failures"
    );
}
