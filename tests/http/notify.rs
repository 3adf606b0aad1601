//! Test notifications: signed as the README says, sent only to vetted addresses, bounded in time,
//! never following redirects; and the DNS rule on save.

use std::time::{Duration, Instant};

use payhook_testing::StaticResolver;
use reqwest::StatusCode;

use payhook_testing::Backend;
use payhook_testing::Probe;
use payhook_testing::on_both_backends;
use payhook_testing::{
    Options, Receiver, Reply, element_text, expected_non_snap_signature, expected_snap_signature,
    reveal_secret, send_test, spawn_with_dns,
};

on_both_backends!(
    a_non_snap_test_notification_reaches_the_receiver_signed_as_documented,
    a_snap_test_notification_is_signed_with_hmac_sha512_and_sent_to_the_pinned_address,
    names_resolving_to_private_addresses_are_refused_on_save_and_on_test,
    the_escape_hatch_opens_sandbox_only,
    names_that_do_not_exist_are_refused_and_a_silent_resolver_only_warns,
    a_redirect_is_a_failed_test_and_is_not_followed,
    a_receiver_that_never_answers_times_out_after_10_seconds,
    save_and_test_saves_then_sends_in_one_click,
    a_large_answer_is_read_only_up_to_64_kib,
    tests_without_a_url_token_or_valid_environment_are_refused,
    the_resolver_in_settings_decides_and_the_default_one_is_offline,
    a_merchant_sends_at_most_ten_tests_a_minute,
    a_test_sent_in_indonesian_reads_in_english_to_an_english_reader,
);

fn no_dns() -> StaticResolver {
    StaticResolver::default()
}

async fn a_non_snap_test_notification_reaches_the_receiver_signed_as_documented(backend: Backend) {
    let receiver = Receiver::start(Reply::ok("<b>thanks</b>")).await;
    let app = spawn_with_dns(backend, &no_dns(), Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    let url = format!("http://127.0.0.1:{}/payhook/notify?shop=1", receiver.port());
    assert_eq!(
        app.save("ewallet", "ovo", &url, "").await.status(),
        StatusCode::SEE_OTHER
    );
    let configure = app.get_text("/settings/payment/ewallet/ovo").await;
    assert!(configure.contains("Send test notification"));
    assert!(configure.contains(r#"name="and_test" value="sandbox">Save &#38; test sandbox<"#));

    let response = send_test(&app, "ewallet", "ovo", "sandbox").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();

    let got = receiver.single();
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/payhook/notify?shop=1");
    assert_eq!(got.header("Content-Type"), "application/json");
    assert!(got.header("Client-Id").starts_with("MCH-"));
    assert_eq!(got.header("Request-Id").len(), 36);
    let timestamp = got.header("Request-Timestamp");
    assert!(
        timestamp.ends_with('Z') && timestamp.len() == 20,
        "{timestamp}"
    );
    let body: serde_json::Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["channel"]["id"], "EMONEY_OVO");
    assert_eq!(body["order"]["amount"], 150000);
    assert!(
        body["order"]["invoice_number"]
            .as_str()
            .unwrap()
            .starts_with("INV-")
    );
    // The body is made once per delivery, the signature at each attempt: the same second or
    // the one after.
    let date = body["transaction"]["date"].as_str().unwrap();
    assert!(date.len() == 20 && date <= timestamp, "{date} {timestamp}");

    let secret = reveal_secret(&app, "sandbox").await;
    assert_eq!(
        got.header("Signature"),
        expected_non_snap_signature(&secret, &got)
    );
    assert_ne!(
        got.header("Signature"),
        expected_non_snap_signature("SK-wrong", &got)
    );

    assert_eq!(
        element_text(&page, "test-outcome").as_deref(),
        Some("Delivered")
    );
    assert_eq!(element_text(&page, "test-status").as_deref(), Some("200"));
    assert!(
        element_text(&page, "test-latency")
            .unwrap()
            .ends_with(" ms")
    );
    assert_eq!(
        element_text(&page, "test-response").as_deref(),
        Some("&#60;b&#62;thanks&#60;/b&#62;"),
        "escaped"
    );
    assert!(
        page.contains(got.header("Signature")),
        "the exact headers are shown"
    );
    assert!(page.contains(got.header("Request-Id")));
    let curl = element_text(&page, "test-curl").unwrap();
    assert!(
        curl.starts_with("curl -sS -i -X POST &#39;http://127.0.0.1:"),
        "{curl}"
    );
    assert!(curl.contains(&format!(
        "-H &#39;Signature: {}&#39;",
        got.header("Signature")
    )));
    assert!(
        !page.contains(&secret),
        "the secret is not on the result page"
    );

    let deliveries = app.db.deliveries(1, 10).await.unwrap();
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!(
        (delivery.outcome.as_str(), delivery.response_status),
        ("delivered", Some(200))
    );
    assert_eq!(
        (
            delivery.section.as_str(),
            delivery.channel.as_str(),
            delivery.environment.as_str()
        ),
        ("ewallet", "ovo", "sandbox")
    );
    assert_eq!(delivery.request_body, got.body);
    assert!(delivery.request_headers.contains(got.header("Signature")));
    assert!(delivery.latency_ms.is_some());
    assert_eq!(delivery.request_id, got.header("Request-Id"));
    assert_eq!(
        (
            delivery.kind.as_str(),
            delivery.status.as_str(),
            delivery.attempts
        ),
        ("test", "delivered", 1),
        "a test is a delivery of one attempt"
    );
    assert_eq!(delivery.url, url);
    let events = app
        .db
        .audit_events_by_action("test_notification")
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].channel.as_deref(), Some("ovo"));
    assert!(
        events[0]
            .new_value
            .as_deref()
            .unwrap()
            .starts_with("delivered: HTTP 200 in ")
    );
    let history = app.get_text("/settings/payment/ewallet/ovo/history").await;
    assert_eq!(
        history.matches("class=\"change\"").count(),
        1,
        "a test is not a settings change"
    );
}

async fn a_snap_test_notification_is_signed_with_hmac_sha512_and_sent_to_the_pinned_address(
    backend: Backend,
) {
    let receiver = Receiver::start(Reply::ok(r#"{"responseCode":"2002500"}"#)).await;
    // The name exists only in the test's resolver: reaching the receiver proves the client
    // connected to the vetted address instead of asking DNS again.
    let dns = StaticResolver::new([("hooks.acme.co.id", "127.0.0.1")]);
    let app = spawn_with_dns(backend, &dns, Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    let url = format!(
        "http://hooks.acme.co.id:{}/v1.1/transfer-va/payment",
        receiver.port()
    );
    assert_eq!(
        app.save("va_snap", "bca", &url, "").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(dns.lookups(), 1, "checked on save");

    let response = send_test(&app, "va_snap", "bca", "sandbox").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        dns.lookups(),
        2,
        "one lookup before sending, none by the client"
    );
    let got = receiver.single();
    assert_eq!(got.method, "POST");
    assert_eq!(got.path, "/v1.1/transfer-va/payment");
    assert_eq!(
        got.header("Host"),
        format!("hooks.acme.co.id:{}", receiver.port())
    );
    assert_eq!(got.header("Content-Type"), "application/json");
    let token = got
        .header("Authorization")
        .strip_prefix("Bearer ")
        .expect("a bearer token");
    assert!(
        token.len() >= 20 && token.bytes().all(|b| b.is_ascii_graphic()),
        "{token}"
    );
    let external_id = got.header("X-EXTERNAL-ID");
    assert!(
        external_id.len() == 20 && external_id.bytes().all(|b| b.is_ascii_digit()),
        "{external_id}"
    );
    assert_eq!(got.header("CHANNEL-ID"), "H2H");
    let timestamp = got.header("X-TIMESTAMP");
    assert!(timestamp.ends_with("+07:00"), "Jakarta time: {timestamp}");
    // RFC 3339 is the ISO 8601 profile with a mandatory offset (`time` parses it through the
    // `parsing` feature that actix-web's cookies turn on).
    let sent_at =
        time::OffsetDateTime::parse(timestamp, &time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|e| {
                panic!("X-TIMESTAMP {timestamp} is not ISO 8601 with an offset: {e}")
            });
    assert_eq!(sent_at.offset(), time::macros::offset!(+7));
    let age = time::OffsetDateTime::now_utc() - sent_at;
    assert!(
        age.abs() < time::Duration::minutes(1),
        "{timestamp} is {age} old"
    );
    let body: serde_json::Value = serde_json::from_str(&got.body).unwrap();
    assert_eq!(body["additionalInfo"]["channel"], "VIRTUAL_ACCOUNT_BCA");
    assert_eq!(body["paidAmount"]["currency"], "IDR");
    assert!(body["trxId"].as_str().unwrap().starts_with("INV-"));
    assert_eq!(body["trxDateTime"], got.header("X-TIMESTAMP"));

    let secret = reveal_secret(&app, "sandbox").await;
    let keys = app.get_text("/integration/api-keys").await;
    let sandbox_client_id = keys
        .split("id=\"key-sandbox\"")
        .nth(1)
        .and_then(|card| card.split("class=\"client-id\">").nth(1))
        .and_then(|rest| rest.split('<').next())
        .expect("the sandbox client id is shown")
        .to_owned();
    assert!(sandbox_client_id.starts_with("MCH-"), "{sandbox_client_id}");
    assert_eq!(got.header("X-PARTNER-ID"), sandbox_client_id);
    assert_eq!(
        got.header("X-SIGNATURE"),
        expected_snap_signature(&secret, &got)
    );
    let page = response.text().await.unwrap();
    assert!(page.contains(got.header("X-SIGNATURE")));
}

async fn names_resolving_to_private_addresses_are_refused_on_save_and_on_test(backend: Backend) {
    let dns = StaticResolver::new([
        ("intranet.acme.co.id", "10.0.0.1"),
        ("loop.acme.co.id", "127.0.0.1"),
        ("mixed.acme.co.id", "8.8.8.8"),
        ("mixed.acme.co.id", "192.168.1.9"),
        ("rebind.acme.co.id", "8.8.4.4"),
    ]);
    let app = spawn_with_dns(backend, &dns, Options::strict()).await;
    app.sign_in_new_merchant("acme").await;
    for host in ["intranet.acme.co.id", "loop.acme.co.id", "mixed.acme.co.id"] {
        for (sandbox, production) in [
            (format!("https://{host}/n"), String::new()),
            (String::new(), format!("https://{host}/n")),
        ] {
            let response = app.save("va", "bca", &sandbox, &production).await;
            assert_eq!(
                response.status(),
                StatusCode::UNPROCESSABLE_ENTITY,
                "{host}"
            );
            let page = response.text().await.unwrap();
            assert!(
                page.contains("points to an address that is not reachable from the internet"),
                "{host}"
            );
            assert!(
                page.contains(&format!("value=\"https://{host}/n\"")),
                "input kept"
            );
        }
    }
    assert_eq!(
        app.db
            .channel_setting(1, "va", "bca")
            .await
            .unwrap()
            .version,
        0
    );

    // Public when saved, private when tested: DNS rebinding is caught before connecting.
    assert_eq!(
        app.save("va", "bca", "https://rebind.acme.co.id/n", "")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    dns.set("rebind.acme.co.id", &["127.0.0.1"]);
    let response = send_test(&app, "va", "bca", "sandbox").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert_eq!(
        element_text(&page, "test-outcome").as_deref(),
        Some("Refused: not sent")
    );
    assert!(page.contains("not reachable from the internet"));
    let deliveries = app.db.deliveries(1, 10).await.unwrap();
    assert_eq!(deliveries[0].outcome, "refused");
    assert_eq!(deliveries[0].response_status, None);
    let events = app
        .db
        .audit_events_by_action("test_notification")
        .await
        .unwrap();
    assert_eq!(events[0].new_value.as_deref(), Some("refused: not sent"));
}

async fn the_escape_hatch_opens_sandbox_only(backend: Backend) {
    let dns = StaticResolver::new([("dev.acme.co.id", "10.0.0.1")]);
    let app = spawn_with_dns(backend, &dns, Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    let saved = app
        .save("cstore", "alfa", "http://dev.acme.co.id:8080/n", "")
        .await;
    assert_eq!(
        saved.status(),
        StatusCode::SEE_OTHER,
        "sandbox: private name and any port"
    );
    let literal = app
        .save("cstore", "alfa", "http://192.168.5.5:9000/n", "")
        .await;
    assert_eq!(
        literal.status(),
        StatusCode::SEE_OTHER,
        "sandbox: private literal"
    );
    for production in [
        "https://dev.acme.co.id/n",
        "https://10.0.0.1/n",
        "https://8.8.8.8:8443/n",
    ] {
        let response = app.save("cstore", "alfa", "", production).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "production keeps every rule: {production}"
        );
    }
}

async fn names_that_do_not_exist_are_refused_and_a_silent_resolver_only_warns(backend: Backend) {
    let dns = StaticResolver::new([("slow.acme.co.id", "8.8.8.8")]);
    dns.make_silent("slow.acme.co.id");
    let options = Options {
        dns_timeout: Some(Duration::from_millis(300)),
        ..Options::strict()
    };
    let app = spawn_with_dns(backend, &dns, options).await;
    app.sign_in_new_merchant("acme").await;
    let response = app
        .save("paylater", "akulaku", "", "https://nowhere.acme.co.id/n")
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("does not exist in DNS")
    );

    let response = app
        .save("paylater", "akulaku", "", "https://slow.acme.co.id/n")
        .await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "a silent resolver does not refuse"
    );
    let page = app.get_text("/settings/payment/paylater").await;
    assert!(
        page.contains("Warning: The domain name could not be checked because DNS did not answer")
    );
    // With no vetted address there is nothing safe to connect to.
    let response = send_test(&app, "paylater", "akulaku", "production").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("DNS did not answer within 2 seconds")
    );
}

async fn a_redirect_is_a_failed_test_and_is_not_followed(backend: Backend) {
    let landing = Receiver::start(Reply::ok("landed")).await;
    let target = format!("http://127.0.0.1:{}/landing", landing.port());
    let redirecting = Receiver::start(Reply::Status(
        302,
        vec![("Location".into(), target.clone())],
        String::new(),
    ))
    .await;
    let app = spawn_with_dns(backend, &no_dns(), Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    let url = format!("http://127.0.0.1:{}/notify", redirecting.port());
    app.save("va", "mandiri", &url, "").await;

    let response = send_test(&app, "va", "mandiri", "sandbox").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert_eq!(redirecting.requests().len(), 1);
    assert!(
        landing.requests().is_empty(),
        "the redirect was not followed"
    );
    assert_eq!(
        element_text(&page, "test-outcome").as_deref(),
        Some("Failed")
    );
    assert_eq!(element_text(&page, "test-status").as_deref(), Some("302"));
    assert_eq!(element_text(&page, "test-location"), Some(target.clone()));
    assert!(
        element_text(&page, "test-error")
            .unwrap()
            .contains("was not followed")
    );
    let delivery = &app.db.deliveries(1, 1).await.unwrap()[0];
    assert_eq!(
        (delivery.outcome.as_str(), delivery.response_status),
        ("failed", Some(302))
    );
    assert!(delivery.error.as_deref().unwrap().contains(&target));
}

async fn a_receiver_that_never_answers_times_out_after_10_seconds(backend: Backend) {
    let silent = Receiver::start(Reply::Silent).await;
    let options = Options {
        timeout: None,
        ..Options::private()
    };
    let app = spawn_with_dns(backend, &no_dns(), options).await;
    app.sign_in_new_merchant("acme").await;
    app.save(
        "ewallet",
        "dana",
        &format!("http://127.0.0.1:{}/n", silent.port()),
        "",
    )
    .await;

    let started = Instant::now();
    let response = send_test(&app, "ewallet", "dana", "sandbox").await;
    let waited = started.elapsed();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        waited >= Duration::from_secs(10),
        "gave up after {waited:?}"
    );
    assert!(waited < Duration::from_secs(15), "took {waited:?}");
    let page = response.text().await.unwrap();
    assert_eq!(silent.requests().len(), 1, "the request did arrive");
    assert_eq!(
        element_text(&page, "test-outcome").as_deref(),
        Some("Timed out")
    );
    assert!(
        element_text(&page, "test-error")
            .unwrap()
            .contains("No answer within 10 s")
    );
    let delivery = &app.db.deliveries(1, 1).await.unwrap()[0];
    assert_eq!(delivery.outcome, "timeout");
    assert!(delivery.latency_ms.unwrap() >= 10_000);
}

async fn save_and_test_saves_then_sends_in_one_click(backend: Backend) {
    let receiver = Receiver::start(Reply::ok("ok")).await;
    let app = spawn_with_dns(backend, &no_dns(), Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    let path = "/settings/payment/va/bni";
    let url = format!("http://127.0.0.1:{}/bni", receiver.port());
    let response = app
        .submit(
            path,
            path,
            &[
                ("sandbox_url", &url),
                ("production_url", ""),
                ("version", "0"),
                ("and_test", "sandbox"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("Notification URLs for BNI (Virtual Account (non-SNAP)) saved."));
    assert_eq!(
        element_text(&page, "test-outcome").as_deref(),
        Some("Delivered")
    );
    assert_eq!(receiver.single().path, "/bni");
    let setting = app.db.channel_setting(1, "va", "bni").await.unwrap();
    assert_eq!(setting.sandbox_url.as_deref(), Some(url.as_str()));

    // An invalid URL is not saved, so nothing is tested either.
    let response = app
        .submit(
            path,
            path,
            &[
                ("sandbox_url", "https://localhost/x"),
                ("production_url", ""),
                ("version", "1"),
                ("and_test", "sandbox"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(receiver.requests().len(), 1);
}

async fn a_large_answer_is_read_only_up_to_64_kib(backend: Backend) {
    // An answer without end: only a reader that stops at its cap ever finishes in time.
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let receiver = Receiver::start(Reply::Endless(written.clone())).await;
    let app = spawn_with_dns(backend, &no_dns(), Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    app.save(
        "cards",
        "card",
        &format!("http://127.0.0.1:{}/cards", receiver.port()),
        "",
    )
    .await;
    let cards = app.get_text("/settings/payment/cards").await;
    assert!(
        cards.contains("action=\"/settings/payment/cards/card/test\""),
        "the cards box has a test form"
    );
    let response = send_test(&app, "cards", "card", "sandbox").await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    assert!(page.contains("Response body (start)"));
    let shown = element_text(&page, "test-response").unwrap();
    assert_eq!(shown.len(), 2000);
    let delivery = &app.db.deliveries(1, 1).await.unwrap()[0];
    assert_eq!(
        delivery.outcome, "delivered",
        "read its 64 KiB and hung up, no timeout"
    );
    let sent = written.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        sent >= 64 * 1024,
        "the receiver really sent more than the cap ({sent} bytes)"
    );
    assert_eq!(delivery.response_body.as_deref().map(str::len), Some(4096));
}

async fn tests_without_a_url_token_or_valid_environment_are_refused(backend: Backend) {
    let receiver = Receiver::start(Reply::ok("ok")).await;
    let app = spawn_with_dns(backend, &no_dns(), Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    let response = send_test(&app, "va", "bri", "sandbox").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("No sandbox notification URL is saved for BRI")
    );

    app.save(
        "va",
        "bri",
        &format!("http://127.0.0.1:{}/bri", receiver.port()),
        "",
    )
    .await;
    let response = send_test(&app, "va", "bri", "staging").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let no_token = app
        .post(
            "/settings/payment/va/bri/test",
            &[("environment", "sandbox")],
        )
        .await;
    assert_eq!(no_token.status(), StatusCode::FORBIDDEN);
    let unknown = app
        .submit(
            "/settings/payment/va/bri",
            "/settings/payment/va/bnc/test",
            &[("environment", "sandbox")],
        )
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert!(receiver.requests().is_empty());

    let admin = app.create_admin().await;
    assert_eq!(
        app.login(&admin, payhook_testing::PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    let page = app.get_text("/settings/payment/va/bri?merchant=acme").await;
    assert!(!page.contains("Send test notification"), "admins read only");
    let response = app
        .submit(
            "/settings/payment/va/bri?merchant=acme",
            "/settings/payment/va/bri/test",
            &[("environment", "sandbox")],
        )
        .await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(receiver.requests().is_empty());
}

async fn the_resolver_in_settings_decides_and_the_default_one_is_offline(backend: Backend) {
    let fixed = payhook_testing::spawn_app_with(backend, |settings| {
        settings.resolver =
            payhook::dns::Resolver::new(StaticResolver::new([("hooks.merchant.com", "10.0.0.1")]));
    })
    .await;
    fixed.sign_in_new_merchant("acme").await;
    let refused = fixed
        .save("va", "bca", "", "https://hooks.merchant.com/n")
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = fixed
        .save("va", "bca", "", "https://other.merchant.com/n")
        .await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let offline = payhook_testing::spawn_app(backend).await;
    offline.sign_in_new_merchant("acme").await;
    let saved = offline
        .save("va", "bca", "", "https://shop.acme.co.id/n")
        .await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let page = offline.get_text("/settings/payment/va").await;
    assert!(page.contains("Warning: The domain name could not be checked"));
    let response = send_test(&offline, "va", "bca", "production").await;
    assert_eq!(
        response.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "nothing is sent"
    );
}

async fn a_merchant_sends_at_most_ten_tests_a_minute(backend: Backend) {
    let receiver = Receiver::start(Reply::ok("ok")).await;
    let app = spawn_with_dns(backend, &no_dns(), Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    let url = format!("http://127.0.0.1:{}/n", receiver.port());
    app.save("ewallet", "ovo", &url, "").await;
    for n in 0..10 {
        let response = send_test(&app, "ewallet", "ovo", "sandbox").await;
        assert_eq!(response.status(), StatusCode::OK, "test {n}");
    }
    let refused = send_test(&app, "ewallet", "ovo", "sandbox").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("At most 10 test notifications a minute")
    );
    assert_eq!(receiver.requests().len(), 10, "the eleventh was not sent");
    assert_eq!(app.db.deliveries(1, 50).await.unwrap().len(), 10);
}

async fn a_test_sent_in_indonesian_reads_in_english_to_an_english_reader(backend: Backend) {
    let receiver = Receiver::start(Reply::Status(503, Vec::new(), String::new())).await;
    let app = spawn_with_dns(backend, &no_dns(), Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    let url = format!("http://127.0.0.1:{}/n", receiver.port());
    app.save("va", "bca", &url, "").await;
    let english = "HTTP 503: the notification was not accepted (expected 2xx).";
    let indonesian = "HTTP 503: notifikasi tidak diterima (diharapkan 2xx).";

    assert_eq!(
        app.get("/language/id").await.status(),
        StatusCode::SEE_OTHER
    );
    let page = send_test(&app, "va", "bca", "sandbox").await;
    let page = page.text().await.unwrap();
    assert_eq!(
        element_text(&page, "test-error").as_deref(),
        Some(indonesian)
    );

    // Stored as a code, not in the words of whoever sent it.
    assert_eq!(
        app.get("/language/en").await.status(),
        StatusCode::SEE_OTHER
    );
    let log = app.get_text("/integration/notifications").await;
    assert!(log.contains(english) && !log.contains(indonesian), "{log}");
}
