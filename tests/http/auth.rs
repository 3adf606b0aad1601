//! Sign-in, refusal after failures, sign-out and session revocation.

use reqwest::StatusCode;

use payhook_testing::Probe;
use payhook_testing::on_both_backends;
use payhook_testing::{Backend, PASSWORD, TestApp, location, new_client, spawn_app_with};

on_both_backends!(
    app:
    no_sign_in_without_its_audit_event,
    signing_in_renews_the_session_and_leads_to_payment_settings,
    an_unknown_email_and_a_wrong_password_get_the_same_answer,
    ten_failed_sign_ins_from_one_address_refuse_it_for_that_account_only,
    signing_out_ends_the_session_so_a_replayed_cookie_is_signed_out,
    disabling_a_user_or_changing_its_password_ends_its_sessions,
    pages_require_a_signed_in_user,
    a_sign_in_returns_to_the_page_asked_for_and_never_to_another_site,
    a_hash_made_with_earlier_settings_is_upgraded_at_the_next_sign_in,
);

on_both_backends!(
    with_sessions_in_redis_disabling_a_user_ends_its_sessions_for_good,
    with_sessions_in_redis_a_password_change_ends_the_other_sessions,
);

async fn stored_user(app: &TestApp, email: &str) -> payhook::store::LoginUser {
    app.db
        .find_login_user(&payhook_testing::email(email))
        .await
        .unwrap()
        .expect("the user exists")
}

fn session_cookie(response: &reqwest::Response) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("payhook_session=") && !v.contains("Max-Age=0"))
        .map(str::to_owned)
}

async fn signing_in_renews_the_session_and_leads_to_payment_settings(app: TestApp) {
    let email = app.create_merchant_user("acme").await;
    assert_eq!(
        session_cookie(&app.get("/login").await),
        None,
        "showing the form starts no session"
    );
    let response = app.login(&email, PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings/payment");
    let first = session_cookie(&response).expect("sign-in sets a session cookie");
    assert!(first.contains("HttpOnly"));
    assert!(first.contains("SameSite=Lax"));
    assert!(first.contains("Path=/") && !first.contains("Domain"));
    let first_cookie = app.cookie_header();

    let page = app.get_text("/settings/payment").await;
    assert!(page.contains("Virtual Account SNAP"));
    assert!(page.contains("Merchant acme"));
    let events = app.db.audit_events_by_action("sign_in").await.unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_email.as_deref(), Some(email.as_str()));
    assert_eq!(events[0].client_ip.as_deref(), Some("127.0.0.1"));

    // Signing in again, in the same browser, gets a new key and ends the old one.
    let again = app.login(&email, PASSWORD).await;
    let second = session_cookie(&again).expect("a new session cookie");
    assert_ne!(first, second, "session id renewed on sign-in");
    let replay = new_client()
        .get(app.url("/settings/payment"))
        .header("cookie", first_cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(
        replay.status(),
        StatusCode::SEE_OTHER,
        "the old key is gone"
    );
    assert_eq!(app.get("/settings/payment").await.status(), StatusCode::OK);
}

async fn an_unknown_email_and_a_wrong_password_get_the_same_answer(app: TestApp) {
    let email = app.create_merchant_user("acme").await;
    let wrong = app.login(&email, "not the password").await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let wrong = wrong.text().await.unwrap();
    let unknown = app.login("nobody@nowhere.example.com", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let unknown = unknown.text().await.unwrap();
    assert!(wrong.contains("The email or password is incorrect."));
    assert!(unknown.contains("The email or password is incorrect."));
    assert!(
        wrong.contains(&format!("value=\"{email}\"")),
        "typed email kept"
    );
    let failures = app
        .db
        .audit_events_by_action("sign_in_failed")
        .await
        .unwrap();
    assert_eq!(failures.len(), 2);
    assert_eq!(
        app.get("/settings/payment").await.status(),
        StatusCode::SEE_OTHER
    );
}

async fn ten_failed_sign_ins_from_one_address_refuse_it_for_that_account_only(app: TestApp) {
    let email = app.create_merchant_user("acme").await;
    for attempt in 1..=10 {
        let response = app.login(&email, "wrong password").await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}"
        );
    }
    let refused = app.login(&email, PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        refused.headers().get("retry-after").unwrap(),
        "900",
        "15 minutes"
    );
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-ins from your network. Try again in 15 minutes.")
    );
    assert_eq!(
        app.get("/settings/payment").await.status(),
        StatusCode::SEE_OTHER
    );

    let other = app.create_merchant_user("acme").await;
    assert_eq!(
        app.login(&other, PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "only that account is refused from this address"
    );
}

async fn signing_out_ends_the_session_so_a_replayed_cookie_is_signed_out(app: TestApp) {
    let email = app.sign_in_new_merchant("acme").await;
    let page = app.get_text("/settings/payment").await;
    assert!(page.contains(&email));
    let stolen = app.cookie_header();

    let response = app.submit("/settings/payment", "/logout", &[]).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/login?signed_out=1");
    assert_eq!(
        app.get("/settings/payment").await.status(),
        StatusCode::SEE_OTHER
    );

    let replay = new_client()
        .get(app.url("/settings/payment"))
        .header("cookie", stolen)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replay), "/login");
    assert_eq!(
        app.db
            .audit_events_by_action("sign_out")
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn disabling_a_user_or_changing_its_password_ends_its_sessions(app: TestApp) {
    let email = app.sign_in_new_merchant("acme").await;
    let user_id = stored_user(&app, &email).await.id;
    assert_eq!(app.get("/settings/payment").await.status(), StatusCode::OK);
    app.db.set_user_disabled(user_id, true, None).await.unwrap();
    assert_eq!(
        app.get("/settings/payment").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "disabled users cannot sign in"
    );

    app.db
        .set_user_disabled(user_id, false, None)
        .await
        .unwrap();
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let hash = payhook::password::hash("a brand new password".into())
        .await
        .unwrap();
    app.db
        .set_password_hash(user_id, &hash, false, None)
        .await
        .unwrap();
    assert_eq!(
        app.get("/settings/payment").await.status(),
        StatusCode::SEE_OTHER
    );
}

/// Hashes made before the 12 MiB settings (OWASP's 19 MiB / 2 passes) keep working and are
/// replaced by a current one once the right password is given, without ending any session or
/// lifting a one-time password's "change it first".
async fn a_hash_made_with_earlier_settings_is_upgraded_at_the_next_sign_in(app: TestApp) {
    use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
    let email = app.create_merchant_user("acme").await;
    let stored_hash = || async { stored_user(&app, &email).await.password_hash };
    let earlier = Argon2::new(
        Algorithm::Argon2id,
        Version::V0x13,
        Params::new(19 * 1024, 2, 1, None).unwrap(),
    )
    .hash_password(PASSWORD.as_bytes())
    .unwrap()
    .to_string();
    assert!(payhook::password::is_outdated(&earlier));
    let user_id = stored_user(&app, &email).await.id;
    app.db
        .set_password_hash(user_id, &earlier, true, None)
        .await
        .unwrap();

    // Refusals take the same least time whatever the stored hash, so the old settings' slower
    // check cannot tell this account from one that does not exist.
    for (account, password) in [
        (email.as_str(), "not the password"),
        ("nobody@nowhere.example.com", PASSWORD),
    ] {
        let began = std::time::Instant::now();
        let refused = app.login(account, password).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED, "{account}");
        assert!(
            began.elapsed() >= std::time::Duration::from_millis(200),
            "{account} refused after {:?}, before the refusal floor",
            began.elapsed()
        );
    }
    assert_eq!(
        stored_hash().await,
        earlier,
        "a wrong password changes nothing"
    );

    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let upgraded = stored_hash().await;
    assert!(
        upgraded.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"),
        "{upgraded}"
    );
    assert!(!payhook::password::is_outdated(&upgraded));
    assert!(
        payhook::password::verify(PASSWORD.into(), Some(upgraded.clone()))
            .await
            .unwrap(),
        "the new hash is of the same password"
    );
    let still_signed_in = app.get("/settings/payment").await;
    assert_eq!(still_signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&still_signed_in),
        "/account/password",
        "still signed in, and the one-time password must still be changed first"
    );

    // A password changed between a sign-in's check and its upgrade is never overwritten.
    assert!(
        !app.db
            .upgrade_password_hash(user_id, &earlier, "$argon2id$v=19$stale")
            .await
            .unwrap()
    );
    assert_eq!(stored_hash().await, upgraded);
}

async fn pages_require_a_signed_in_user(app: TestApp) {
    let response = app.get("/settings/payment").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        location(&response),
        "/login",
        "where a sign-in lands anyway"
    );
    for (path, back) in [
        ("/settings/payment/va", "%2Fsettings%2Fpayment%2Fva"),
        (
            "/settings/payment/va/bca",
            "%2Fsettings%2Fpayment%2Fva%2Fbca",
        ),
        (
            "/integration/notifications/5?merchant=acme",
            "%2Fintegration%2Fnotifications%2F5%3Fmerchant%3Dacme",
        ),
    ] {
        let response = app.get(path).await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&response), format!("/login?next={back}"));
    }
    // A form sent while signed out is not where a sign-in returns.
    let response = app
        .post(
            "/settings/payment/va/bca",
            &[("sandbox_url", "https://a.example/")],
        )
        .await;
    assert!(location(&response).starts_with("/login") && !location(&response).contains("next"));
}

/// Signs in on a fresh browser with `next` as the sign-in form sends it; where it lands.
async fn landing_after_sign_in(app: &TestApp, email: &str, next: &str) -> String {
    let browser = app.new_browser();
    let asked = format!(
        "/login?next={}",
        url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
    );
    let page = browser.get_text(&asked).await;
    let response = browser
        .client
        .post(browser.url("/login"))
        .form(&[
            ("email", email),
            ("password", PASSWORD),
            ("csrf_token", &payhook_testing::csrf_token(&page)),
            ("next", next),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{next}");
    location(&response).to_owned()
}

async fn a_sign_in_returns_to_the_page_asked_for_and_never_to_another_site(app: TestApp) {
    let email = app.create_merchant_user("acme").await;
    let asked = "/integration/notifications?status=failed";
    let signed_out = app.new_browser().get(asked).await;
    let to_login = location(&signed_out).to_owned();
    assert_eq!(
        to_login,
        "/login?next=%2Fintegration%2Fnotifications%3Fstatus%3Dfailed"
    );
    let form = app.new_browser().get_text(&to_login).await;
    assert!(
        form.contains("name=\"next\" value=\"/integration/notifications?status=failed\""),
        "the form carries it: {form}"
    );
    assert_eq!(landing_after_sign_in(&app, &email, asked).await, asked);
    for outside in [
        "https://evil.example/settings",
        "//evil.example/settings",
        "/\\evil.example/settings",
        "javascript:alert(1)",
        "/login?next=/settings/payment/va",
    ] {
        assert_eq!(
            landing_after_sign_in(&app, &email, outside).await,
            "/settings/payment",
            "{outside} is ignored"
        );
    }
    // A refused password keeps where it was going.
    let browser = app.new_browser();
    let page = browser
        .get_text("/login?next=%2Fsettings%2Fpayment%2Fva")
        .await;
    let refused = browser
        .client
        .post(browser.url("/login"))
        .form(&[
            ("email", email.as_str()),
            ("password", "not the password"),
            ("csrf_token", &payhook_testing::csrf_token(&page)),
            ("next", "/settings/payment/va"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let again = refused.text().await.unwrap();
    assert!(again.contains("name=\"next\" value=\"/settings/payment/va\""));
}

async fn no_sign_in_without_its_audit_event(app: TestApp) {
    let email = app.create_merchant_user("acme").await;
    let merchant_id = app
        .db
        .find_merchant(&payhook_testing::code("acme"))
        .await
        .unwrap()
        .unwrap()
        .id;
    assert_eq!(
        app.login(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let signed_in = app.db.audit_events_by_action("sign_in").await.unwrap();
    assert_eq!(
        signed_in[0].merchant_id,
        Some(merchant_id),
        "the event names the merchant"
    );
    assert_eq!(signed_in[0].actor_role.as_deref(), Some("owner"));

    app.refuse_audit_events_where("NEW.action = 'sign_in'")
        .await;
    let other = app.new_browser();
    let refused = other.login(&email, PASSWORD).await;
    assert_eq!(refused.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        other.get("/settings/payment").await.status(),
        StatusCode::SEE_OTHER,
        "not signed in"
    );
}

/// An app keeping its sessions in Redis (`PAYHOOK_TEST_REDIS`, else the local one). Every app
/// has random session keys, so tests sharing the Redis server never see each other's sessions.
async fn spawn_app_with_redis_sessions(backend: Backend) -> TestApp {
    let redis =
        std::env::var("PAYHOOK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    spawn_app_with(backend, |settings| settings.redis_url = Some(redis)).await
}

/// How many sessions the application database holds (none when they live in Redis).
async fn sessions_in_the_database(app: &TestApp) -> i64 {
    let sql = "SELECT COUNT(*) FROM sessions";
    match &app.db {
        payhook::store::Db::Sqlite(pools) => sqlx::query_scalar(sql).fetch_one(&pools.write).await,
        payhook::store::Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .expect("count sessions")
}

async fn assert_signed_out(browser: &payhook_testing::Browser, why: &str) {
    let response = browser.get("/settings/payment").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{why}");
    assert_eq!(location(&response), "/login", "{why}");
}

async fn with_sessions_in_redis_disabling_a_user_ends_its_sessions_for_good(backend: Backend) {
    let app = spawn_app_with_redis_sessions(backend).await;
    let email = app.create_merchant_user("acme").await;
    let id = stored_user(&app, &email).await.id;
    let phone = app.signed_in_browser(&email).await;
    let laptop = app.signed_in_browser(&email).await;
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    for browser in [&phone, &laptop] {
        assert_eq!(
            browser.get("/settings/payment").await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        sessions_in_the_database(&app).await,
        0,
        "the sessions live in Redis"
    );

    let disabled = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/disable"),
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    assert_signed_out(&phone, "session ended at once").await;
    assert_eq!(
        phone.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "disabled users cannot sign in"
    );

    // The laptop made no request while the user was disabled: its session is still in Redis,
    // and enabling the user again must not bring it back.
    let enabled = admin
        .submit("/admin/users", &format!("/admin/users/{id}/enable"), &[])
        .await;
    assert_eq!(enabled.status(), StatusCode::SEE_OTHER);
    assert_signed_out(&laptop, "a session from before the disable stays ended").await;
    assert_eq!(
        phone.login(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "signing in again works"
    );
    assert_eq!(
        phone.get("/settings/payment").await.status(),
        StatusCode::OK
    );
    assert_eq!(
        admin.get("/admin/users").await.status(),
        StatusCode::OK,
        "the admin's own session carries on"
    );
    assert_eq!(sessions_in_the_database(&app).await, 0);
}

async fn with_sessions_in_redis_a_password_change_ends_the_other_sessions(backend: Backend) {
    let app = spawn_app_with_redis_sessions(backend).await;
    let email = app.create_merchant_user("acme").await;
    let here = app.signed_in_browser(&email).await;
    let elsewhere = app.signed_in_browser(&email).await;
    for browser in [&here, &elsewhere] {
        assert_eq!(
            browser.get("/settings/payment").await.status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        sessions_in_the_database(&app).await,
        0,
        "the sessions live in Redis"
    );

    let new_password = "a much longer new passphrase";
    let changed = here
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(changed.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        here.get("/settings/payment").await.status(),
        StatusCode::OK,
        "this session continues"
    );
    assert_signed_out(&elsewhere, "the other session ends").await;
    assert_eq!(
        elsewhere.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "the old password is gone"
    );
    assert_eq!(
        elsewhere.login(&email, new_password).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        elsewhere.get("/settings/payment").await.status(),
        StatusCode::OK
    );
    assert_eq!(sessions_in_the_database(&app).await, 0);
}
