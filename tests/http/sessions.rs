//! Sessions: sign-out ends one for good (also for a request still in flight, also in Redis),
//! an absolute lifetime beside the idle timeout, an idle timeout refreshed without a write per
//! page view, a `__Host-` cookie when Secure, and no session at all for anonymous visitors.

use std::time::{Duration, Instant};

use payhook::config::Settings;
use payhook::dns::Resolver;
use payhook_testing::StaticResolver;
use reqwest::StatusCode;

use payhook_testing::on_both_backends;
use payhook_testing::{Backend, Browser, PASSWORD, TestApp, csrf_token, location, spawn_app_with};

on_both_backends!(
    a_session_signed_out_while_a_slow_request_is_in_flight_stays_signed_out,
    with_redis_a_session_signed_out_while_a_slow_request_is_in_flight_stays_signed_out,
    a_session_ends_at_its_absolute_lifetime_however_busy,
    page_views_write_nothing_and_the_idle_timeout_is_pushed_back_once_a_quarter_passed,
    with_secure_cookies_the_session_cookie_is_host_prefixed,
    showing_the_sign_in_form_stores_nothing_and_its_token_is_a_signed_cookie,
);

fn redis_url() -> String {
    std::env::var("PAYHOOK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

async fn assert_signed_out(browser: &Browser, why: &str) {
    let response = browser.get("/settings/payment").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER, "{why}");
    assert_eq!(location(&response), "/login", "{why}");
}

/// The stored session rows: (state, expires_at).
async fn session_rows(app: &TestApp) -> Vec<(String, i64)> {
    let sql = "SELECT state, expires_at FROM sessions ORDER BY id";
    match &app.db {
        payhook::store::Db::Sqlite(pools) => sqlx::query_as(sql).fetch_all(&pools.write).await,
        payhook::store::Db::Postgres(pool) => sqlx::query_as(sql).fetch_all(pool).await,
    }
    .expect("read sessions")
}

fn now_ms() -> i64 {
    payhook::store::now_ms()
}

async fn a_session_signed_out_while_a_slow_request_is_in_flight_stays_signed_out(backend: Backend) {
    signed_out_in_flight(backend, None).await;
}

async fn with_redis_a_session_signed_out_while_a_slow_request_is_in_flight_stays_signed_out(
    backend: Backend,
) {
    signed_out_in_flight(backend, Some(redis_url())).await;
}

/// A save whose DNS check takes a while is in flight when the same session signs out; when
/// the save finishes it writes its message into the session, which must not bring it back.
async fn signed_out_in_flight(backend: Backend, redis: Option<String>) {
    let dns = StaticResolver::new([("slow.acme.co.id", "34.101.2.3")]);
    dns.make_silent("slow.acme.co.id");
    let resolver = Resolver::new(dns.clone()).with_timeout(Duration::from_millis(1500));
    let app = spawn_app_with(backend, |settings| {
        settings.resolver = resolver;
        settings.redis_url = redis;
    })
    .await;
    app.sign_in_new_merchant("acme").await;
    let stolen = app.cookie_header();

    let slow_save = app.save("va", "bca", "https://slow.acme.co.id/n", "");
    let sign_out = async {
        // The save has loaded its session once its DNS lookup started.
        while dns.lookups() == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        app.submit("/settings/payment", "/logout", &[]).await
    };
    let (saved, signed_out) = tokio::join!(slow_save, sign_out);
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        saved.status(),
        StatusCode::SEE_OTHER,
        "the save itself went through"
    );

    assert_signed_out(&app, "the slow request's answer did not revive the session").await;
    let replay = Browser::new(app.address.clone());
    let replayed = replay
        .client
        .get(app.url("/settings/payment"))
        .header("cookie", stolen)
        .send()
        .await
        .unwrap();
    assert_eq!(replayed.status(), StatusCode::SEE_OTHER, "the old cookie");
    assert_eq!(app.count_rows("sessions").await, 0, "no session stored");
}

async fn a_session_ends_at_its_absolute_lifetime_however_busy(backend: Backend) {
    let app = spawn_app_with(backend, |settings: &mut Settings| {
        settings.session_lifetime = Duration::from_secs(3);
        settings.session_idle_timeout = Duration::from_secs(2);
    })
    .await;
    let started = Instant::now();
    app.sign_in_new_merchant("acme").await;
    let signed_in_by = now_ms();
    assert_eq!(app.get("/settings/payment").await.status(), StatusCode::OK);
    // Busy: a page every few hundred milliseconds keeps pushing the idle timeout back.
    while started.elapsed() < Duration::from_millis(2600) {
        app.get("/settings/payment/va").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let stored = session_rows(&app).await;
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].1 <= signed_in_by + 3000,
        "the stored session ends with its lifetime, however often its idle timeout moved"
    );
    let left = (signed_in_by + 3000 - now_ms()).max(0);
    tokio::time::sleep(Duration::from_millis(u64::try_from(left).unwrap())).await;
    assert_signed_out(&app, "three seconds after sign-in, however busy").await;
}

async fn page_views_write_nothing_and_the_idle_timeout_is_pushed_back_once_a_quarter_passed(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |_| {}).await;
    app.sign_in_new_merchant("acme").await;
    let stored = session_rows(&app).await;
    assert_eq!(stored.len(), 1);
    for path in [
        "/settings/payment",
        "/settings/payment/va",
        "/settings/payment/va/bca",
        "/integration/api-keys",
        "/account/password",
    ] {
        assert_eq!(app.get(path).await.status(), StatusCode::OK, "{path}");
    }
    assert_eq!(
        session_rows(&app).await,
        stored,
        "page views in the first quarter of the 30 minutes write nothing"
    );

    let app = spawn_app_with(backend, |settings| {
        settings.session_idle_timeout = Duration::from_secs(4);
    })
    .await;
    app.sign_in_new_merchant("acme").await;
    let (_, first_expiry) = session_rows(&app).await[0].clone();
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let viewed_at = now_ms();
    assert_eq!(app.get("/settings/payment").await.status(), StatusCode::OK);
    let (_, pushed_back) = session_rows(&app).await[0].clone();
    assert!(
        pushed_back >= viewed_at + 4000 && pushed_back > first_expiry,
        "a view after a quarter of the idle timeout pushes it back"
    );
    tokio::time::sleep(Duration::from_millis(4200)).await;
    assert_signed_out(&app, "idle for longer than the idle timeout").await;
    let expired = session_rows(&app).await;
    assert_eq!(expired.len(), 1);
    assert!(expired[0].1 < now_ms(), "the stored session has expired");
}

/// The value of cookie `name` in a response's `Set-Cookie` headers, with its attributes.
fn set_cookie(response: &reqwest::Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(str::to_owned)
}

fn cookie_pair(set_cookie: &str) -> &str {
    set_cookie.split(';').next().unwrap()
}

async fn with_secure_cookies_the_session_cookie_is_host_prefixed(backend: Backend) {
    let app = spawn_app_with(backend, |settings| settings.cookie_secure = true).await;
    let email = app.create_merchant_user("acme").await;
    // Secure cookies are not sent back over plain http by a cookie jar: carried by hand.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let form = client.get(app.url("/login")).send().await.unwrap();
    let login_cookie = set_cookie(&form, "__Host-payhook-login").expect("the form's cookie");
    for attribute in ["Secure", "Path=/", "HttpOnly"] {
        assert!(login_cookie.contains(attribute), "{login_cookie}");
    }
    assert!(!login_cookie.contains("Domain"));
    let token = csrf_token(&form.text().await.unwrap());
    let signed_in = client
        .post(app.url("/login"))
        .header("cookie", cookie_pair(&login_cookie))
        .form(&[
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = set_cookie(&signed_in, "__Host-payhook").expect("__Host-payhook is set");
    for attribute in ["Secure", "Path=/", "HttpOnly", "SameSite=Lax"] {
        assert!(session.contains(attribute), "{session}");
    }
    assert!(!session.contains("Domain"), "{session}");
    assert!(set_cookie(&signed_in, "payhook_session").is_none());
    let page = client
        .get(app.url("/settings/payment"))
        .header("cookie", cookie_pair(&session))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
}

async fn showing_the_sign_in_form_stores_nothing_and_its_token_is_a_signed_cookie(
    backend: Backend,
) {
    let app = spawn_app_with(backend, |_| {}).await;
    let email = app.create_merchant_user("acme").await;
    for _ in 0..20 {
        let visitor = app.new_browser();
        let form = visitor.get("/login").await;
        assert_eq!(form.status(), StatusCode::OK);
        assert!(set_cookie(&form, "payhook_session").is_none());
        assert!(set_cookie(&form, "payhook_login").is_some());
        app.get("/login").await;
    }
    assert_eq!(
        app.count_rows("sessions").await,
        0,
        "GET /login stores nothing"
    );
    assert_eq!(
        app.count_rows("audit_events").await,
        0,
        "and audits nothing"
    );

    let (token, cookie) = {
        let form = app.new_browser().get("/login").await;
        let cookie = set_cookie(&form, "payhook_login").unwrap();
        (csrf_token(&form.text().await.unwrap()), cookie)
    };
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let post = |cookie: Option<String>, token: String, origin: Option<&'static str>| {
        let mut request = client.post(app.url("/login")).form(&[
            ("email", email.clone()),
            ("password", PASSWORD.to_owned()),
            ("csrf_token", token),
        ]);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        if let Some(origin) = origin {
            request = request.header("origin", origin);
        }
        request.send()
    };
    let pair = cookie_pair(&cookie).to_owned();
    // One hex digit of the signature changed (to another digit, whatever it was).
    let last = if token.ends_with('0') { '1' } else { '0' };
    let forged_token = format!("{}{last}", &token[..token.len() - 1]);
    let other_site = spawn_app_with(backend, |_| {}).await;
    let foreign = csrf_token(&other_site.get_text("/login").await);
    let foreign_pair = format!("payhook_login={foreign}");
    for (why, cookie, token, origin) in [
        ("no cookie", None, token.clone(), None),
        (
            "token and cookie differ",
            Some(pair.clone()),
            foreign.clone(),
            None,
        ),
        (
            "both forged",
            Some(format!("payhook_login={forged_token}")),
            forged_token.clone(),
            None,
        ),
        ("signed by another site", Some(foreign_pair), foreign, None),
        (
            "another origin",
            Some(pair.clone()),
            token.clone(),
            Some("https://evil.example"),
        ),
    ] {
        let refused = post(cookie, token, origin).await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{why}");
    }
    let same_origin = app.address.clone();
    let fresh = app.new_browser();
    let form = fresh.get_text("/login").await;
    let signed_in = fresh
        .client
        .post(fresh.url("/login"))
        .header("origin", same_origin)
        .form(&[
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("csrf_token", &csrf_token(&form)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count_rows("sessions").await, 1, "signing in stores one");
}
