//! `/metrics`: Prometheus text for allowed addresses only, requests by route pattern, sign-in
//! failures and lockouts, deliveries by outcome, the queue and the database pools.

use std::time::Duration;

use payhook::config::parse_allow_list;
use reqwest::StatusCode;

use payhook_testing::on_both_backends;
use payhook_testing::queue::{queue_notifications, settled};
use payhook_testing::{Backend, PASSWORD, TestApp, spawn_app, spawn_app_with};
use payhook_testing::{Receiver, Reply};

on_both_backends!(
    requests_are_counted_by_route_pattern_method_and_status_never_by_path,
    sign_in_failures_and_lockouts_are_counted,
    delivery_attempts_are_counted_by_kind_and_outcome,
    the_queue_and_the_database_pools_are_read_when_scraped,
    addresses_outside_the_allow_list_get_404,
);

/// The value of the sample `name{labels}` (labels in any order), if present.
pub fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let (series, value) = line.rsplit_once(' ')?;
        let (series_name, rest) = series.split_once('{').unwrap_or((series, "}"));
        let wanted = series_name == name
            && labels
                .iter()
                .all(|(k, v)| rest.contains(&format!("{k}=\"{v}\"")));
        let extra = rest
            .trim_end_matches('}')
            .split(',')
            .filter(|l| !l.is_empty());
        (wanted && extra.count() == labels.len()).then(|| value.parse().unwrap())
    })
}

async fn scrape(app: &TestApp) -> String {
    let response = app.get("/metrics").await;
    assert_eq!(response.status(), StatusCode::OK);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    response.text().await.unwrap()
}

async fn requests_are_counted_by_route_pattern_method_and_status_never_by_path(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in_new_merchant("acme").await;
    for section in ["va", "cards", "va"] {
        app.get_text(&format!("/settings/payment/{section}")).await;
    }
    assert_eq!(
        app.get("/no/such/page-1").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/no/such/page-2").await.status(),
        StatusCode::NOT_FOUND
    );
    let text = scrape(&app).await;
    let count = |route, status| {
        let labels = [("route", route), ("method", "GET"), ("status", status)];
        sample(
            &text,
            "payhook_http_request_duration_seconds_count",
            &labels,
        )
    };
    assert_eq!(
        count("/settings/payment/{section}", "200"),
        Some(3.0),
        "{text}"
    );
    assert_eq!(count("unmatched", "404"), Some(2.0), "{text}");
    assert_eq!(count("/login", "200"), Some(1.0), "{text}");
    let bucket = [
        ("route", "/settings/payment/{section}"),
        ("method", "GET"),
        ("status", "200"),
        ("le", "+Inf"),
    ];
    assert_eq!(
        sample(
            &text,
            "payhook_http_request_duration_seconds_bucket",
            &bucket
        ),
        Some(3.0)
    );
    for path in [
        "/settings/payment/va",
        "/settings/payment/cards",
        "/no/such",
    ] {
        assert!(
            !text.contains(&format!("\"{path}")),
            "raw path {path} in {text}"
        );
    }
}

async fn sign_in_failures_and_lockouts_are_counted(backend: Backend) {
    let app = spawn_app(backend).await;
    let email = app.create_merchant_user("acme").await;
    for _ in 0..payhook::throttle::ACCOUNT_IP_LIMIT {
        let refused = app.login(&email, "not the password").await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = app.login(&email, PASSWORD).await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let text = scrape(&app).await;
    let limit = payhook::throttle::ACCOUNT_IP_LIMIT as f64;
    assert_eq!(
        sample(&text, "payhook_sign_in_failures_total", &[]),
        Some(limit)
    );
    assert_eq!(
        sample(&text, "payhook_sign_in_lockouts_total", &[]),
        Some(1.0)
    );
}

async fn delivery_attempts_are_counted_by_kind_and_outcome(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.url_policy.allow_private_targets = true;
        settings.notification_timeout = Duration::from_secs(5);
        settings.delivery_poll = Duration::from_millis(50);
    })
    .await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = format!(
        "http://127.0.0.1:{}/notify",
        closed.local_addr().unwrap().port()
    );
    drop(closed);
    let delivered = format!("http://127.0.0.1:{}/notify", receiver.port());
    let payment = queue_notifications(&app, "acme", &[delivered.clone(), nobody], true).await;
    let mut statuses = settled(&app, &payment, Duration::from_secs(20)).await;
    statuses.sort();
    assert_eq!(statuses, ["delivered", "retrying"]);

    // A test notification counts apart from payments.
    app.sign_in_new_merchant("acme").await;
    let saved = app.save("va", "bca", &delivered, "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let sent = payhook_testing::send_test(&app, "va", "bca", "sandbox").await;
    assert_eq!(sent.status(), StatusCode::OK);

    let text = scrape(&app).await;
    let attempts = |kind, outcome| {
        sample(
            &text,
            "payhook_delivery_attempts_total",
            &[("kind", kind), ("outcome", outcome)],
        )
    };
    assert_eq!(attempts("payment", "delivered"), Some(1.0), "{text}");
    assert_eq!(attempts("payment", "failed"), Some(1.0), "{text}");
    assert_eq!(attempts("test", "delivered"), Some(1.0), "{text}");
}

async fn the_queue_and_the_database_pools_are_read_when_scraped(backend: Backend) {
    // Workers that look only once, at start: what is queued afterwards waits.
    let app = spawn_app_with(backend, |settings| {
        settings.delivery_poll = Duration::from_secs(3600);
    })
    .await;
    let text = scrape(&app).await;
    assert_eq!(sample(&text, "payhook_delivery_queue_due", &[]), Some(0.0));
    assert_eq!(
        sample(&text, "payhook_delivery_queue_oldest_due_seconds", &[]),
        Some(0.0)
    );
    assert_eq!(sample(&text, "payhook_database_up", &[]), Some(1.0));

    let urls = vec![
        "https://hooks.acme.co.id/a".to_owned(),
        "https://hooks.acme.co.id/b".to_owned(),
    ];
    queue_notifications(&app, "acme", &urls, true).await;
    app.execute_sql("UPDATE deliveries SET next_attempt_at = next_attempt_at - 90000")
        .await
        .unwrap();
    let text = scrape(&app).await;
    assert_eq!(
        sample(&text, "payhook_delivery_queue_due", &[]),
        Some(2.0),
        "{text}"
    );
    let oldest = sample(&text, "payhook_delivery_queue_oldest_due_seconds", &[]).unwrap();
    assert!((90.0..600.0).contains(&oldest), "{oldest}");

    let pools: &[&str] = match backend {
        Backend::Sqlite => &["sqlite_read", "sqlite_write"],
        Backend::Postgres => &["postgres"],
    };
    for pool in pools {
        let open = sample(&text, "payhook_db_pool_connections", &[("pool", pool)]).unwrap();
        let idle = sample(&text, "payhook_db_pool_idle", &[("pool", pool)]).unwrap();
        let max = sample(&text, "payhook_db_pool_max", &[("pool", pool)]).unwrap();
        assert!(open >= 1.0 && idle <= open && open <= max, "{pool}: {text}");
    }
}

async fn addresses_outside_the_allow_list_get_404(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.metrics_allow = parse_allow_list("10.0.0.0/8").unwrap();
    })
    .await;
    assert_eq!(app.get("/metrics").await.status(), StatusCode::NOT_FOUND);

    // Behind a proxy on this machine, the client the proxy names is the one judged.
    let proxied = spawn_app_with(backend, |settings| settings.trust_proxy = true).await;
    let from = |address: &'static str| {
        proxied
            .client
            .get(proxied.url("/metrics"))
            .header("x-forwarded-for", address)
            .send()
    };
    assert_eq!(
        from("203.0.113.9").await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(from("127.0.0.1").await.unwrap().status(), StatusCode::OK);
    assert_eq!(proxied.get("/metrics").await.status(), StatusCode::OK);
}
