//! CSRF, tenant isolation, admin read-only access, headers, limits and escaping.

use reqwest::StatusCode;

use payhook_testing::Probe;
use payhook_testing::on_both_backends;
use payhook_testing::{Backend, PASSWORD, TestApp, location, spawn_app_with};

on_both_backends!(
    app:
    a_post_without_or_with_a_foreign_csrf_token_is_forbidden_and_changes_nothing,
    merchant_b_never_sees_merchant_a_settings,
    an_admin_reads_any_merchant_settings_but_cannot_change_them,
    every_page_carries_security_headers_and_large_bodies_get_413,
    what_a_user_typed_is_escaped_on_output,
    health_reports_the_database,
    a_server_with_another_secret_key_refuses_to_start,
);

async fn a_post_without_or_with_a_foreign_csrf_token_is_forbidden_and_changes_nothing(
    app: TestApp,
) {
    app.sign_in_new_merchant("acme").await;
    let fields = [
        ("sandbox_url", "https://acme.co.id/n"),
        ("production_url", ""),
        ("version", "0"),
    ];
    let missing = app.post("/settings/payment/va/bca", &fields).await;
    assert_eq!(missing.status(), StatusCode::FORBIDDEN);

    let other = payhook_testing::new_client();
    let foreign_page = other
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let foreign = payhook_testing::csrf_token(&foreign_page);
    let mut with_foreign = fields.to_vec();
    with_foreign.push(("csrf_token", &foreign));
    let response = app.post("/settings/payment/va/bca", &with_foreign).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let logout = app.post("/logout", &[]).await;
    assert_eq!(
        logout.status(),
        StatusCode::FORBIDDEN,
        "sign-out needs the token too"
    );
    let login = payhook_testing::new_client()
        .post(app.url("/login"))
        .form(&[("email", "x@y.example.com"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        login.status(),
        StatusCode::FORBIDDEN,
        "sign-in needs the token too"
    );

    assert_eq!(
        app.db
            .channel_setting(1, "va", "bca")
            .await
            .unwrap()
            .version,
        0
    );
    assert!(
        app.db
            .audit_events_by_action("settings_change")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        app.get("/settings/payment").await.status(),
        StatusCode::OK,
        "still signed in"
    );
}

async fn merchant_b_never_sees_merchant_a_settings(app: TestApp) {
    app.sign_in_new_merchant("alpha").await;
    app.save(
        "va",
        "bca",
        "https://alpha-sandbox.co.id/n",
        "https://alpha.co.id/n",
    )
    .await;

    let other = payhook_testing::new_client();
    let email = app.create_merchant_user("bravo").await;
    let page = other
        .get(app.url("/login"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let token = payhook_testing::csrf_token(&page);
    let response = other
        .post(app.url("/login"))
        .form(&[
            ("email", email.as_str()),
            ("password", PASSWORD),
            ("csrf_token", &token),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);

    for path in [
        "/settings/payment/va",
        "/settings/payment/va/bca",
        "/settings/payment/va/bca/history",
    ] {
        let response = other.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let body = response.text().await.unwrap();
        assert!(
            !body.contains("alpha"),
            "{path} shows nothing of merchant alpha"
        );
    }
    for path in [
        "/settings/payment?merchant=alpha",
        "/settings/payment/va?merchant=alpha",
        "/settings/payment/va/bca/history?merchant=alpha",
    ] {
        let response = other.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

async fn an_admin_reads_any_merchant_settings_but_cannot_change_them(app: TestApp) {
    app.sign_in_new_merchant("alpha").await;
    app.save("va", "bca", "https://alpha-sandbox.co.id/n", "")
        .await;
    app.submit("/settings/payment", "/logout", &[]).await;

    let admin = app.create_admin().await;
    assert_eq!(
        app.login(&admin, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let picker = app.get_text("/settings/payment").await;
    assert!(picker.contains("/settings/payment?merchant=alpha"));
    let page = app.get_text("/settings/payment/va?merchant=alpha").await;
    assert!(page.contains("https://alpha-sandbox.co.id/n"));
    assert!(page.contains("read-only"));
    assert_eq!(
        app.get("/settings/payment/va?merchant=nobody")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );

    let response = app
        .submit(
            "/settings/payment/va/bca?merchant=alpha",
            "/settings/payment/va/bca",
            &[
                ("sandbox_url", "https://admin.co.id/n"),
                ("production_url", ""),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let setting = app.db.channel_setting(1, "va", "bca").await.unwrap();
    assert_eq!(
        setting.sandbox_url.as_deref(),
        Some("https://alpha-sandbox.co.id/n")
    );
}

async fn every_page_carries_security_headers_and_large_bodies_get_413(app: TestApp) {
    for path in ["/login", "/settings/payment", "/nowhere"] {
        let response = app.get(path).await;
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{path}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert_eq!(headers["x-frame-options"], "DENY");
        assert!(headers.contains_key("referrer-policy"));
    }
    let big = "x".repeat(70 * 1024);
    let response = app
        .post("/login", &[("email", big.as_str()), ("password", "p")])
        .await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let chunked = app
        .client
        .post(app.url("/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(futures_util::stream::iter(
            (0..80).map(|_| Ok::<_, std::io::Error>(vec![b'a'; 1024])),
        )))
        .send()
        .await
        .unwrap();
    assert_eq!(
        chunked.status(),
        StatusCode::PAYLOAD_TOO_LARGE,
        "a body without a length is capped too"
    );
}

async fn what_a_user_typed_is_escaped_on_output(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    let evil = "\"><script>alert(1)</script>";
    let response = app.save("va", "bca", evil, "").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(!page.contains("<script>alert(1)"));
    let login = app
        .login("<b>x</b>@evil.example.com", "p")
        .await
        .text()
        .await
        .unwrap();
    assert!(!login.contains("<b>x</b>"));
}

async fn health_reports_the_database(app: TestApp) {
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    app.db.close().await;
    assert_eq!(
        app.get("/healthz").await.status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
}

#[tokio::test]
async fn sessions_can_live_in_redis_and_sign_out_still_ends_them() {
    let redis =
        std::env::var("PAYHOOK_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let app = spawn_app_with(Backend::Sqlite, |s| s.redis_url = Some(redis)).await;
    app.sign_in_new_merchant("acme").await;
    assert_eq!(app.get("/settings/payment").await.status(), StatusCode::OK);
    let stolen = app.cookie_header();
    app.submit("/settings/payment", "/logout", &[]).await;
    let replay = payhook_testing::new_client()
        .get(app.url("/settings/payment"))
        .header("cookie", stolen)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&replay), "/login");
}

#[tokio::test]
async fn static_files_carry_a_content_hash_and_are_cached_for_a_year() {
    let app = payhook_testing::spawn_app(Backend::Sqlite).await;
    let page = app.get_text("/login").await;
    for (attribute, file, kind) in [
        ("href", "app.css", "text/css"),
        ("src", "app.js", "text/javascript"),
    ] {
        let (stem, extension) = file.split_once('.').unwrap();
        let marker = format!("{attribute}=\"/static/{stem}.");
        let start = page
            .find(&marker)
            .unwrap_or_else(|| panic!("{file} linked"))
            + attribute.len()
            + 2;
        let href = page[start..].split('"').next().unwrap();
        let hash = &href[marker.len() - attribute.len() - 2..href.len() - extension.len() - 1];
        assert!(
            hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
            "{href}"
        );

        let response = app.get(href).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with(kind)
        );
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let body = response.text().await.unwrap();
        assert_eq!(
            body,
            std::fs::read_to_string(format!("static/{file}")).unwrap()
        );

        let plain = app.get(&format!("/static/{file}")).await;
        assert_eq!(
            plain.headers()["cache-control"],
            "no-cache",
            "an unhashed name is revalidated"
        );
        let stale = app
            .get(&format!("/static/{stem}.0000000000000000.{extension}"))
            .await;
        assert_eq!(stale.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(
        app.get("/static/..%2FCargo.toml").await.status(),
        StatusCode::NOT_FOUND
    );
}

async fn a_server_with_another_secret_key_refuses_to_start(app: TestApp) {
    let mut other = app.settings.clone();
    other.secret_box = payhook::secrets::SecretBox::random();
    match payhook::startup::Application::build(other).await {
        Ok(_) => panic!("a server with another secret key started"),
        Err(error) => assert!(
            error
                .to_string()
                .contains("PAYHOOK_SECRET_KEY is not the key"),
            "{error}"
        ),
    }
    assert!(
        payhook::startup::Application::build(app.settings.clone())
            .await
            .is_ok(),
        "the original key still starts"
    );
}
