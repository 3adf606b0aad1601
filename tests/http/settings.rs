//! Payment Settings: saving, validation, conflicts, history and atomicity.

use reqwest::StatusCode;

use payhook_testing::Probe;
use payhook_testing::on_both_backends;
use payhook_testing::{TestApp, hidden_value, location};

on_both_backends!(
    app:
    saved_urls_show_on_the_section_page_and_survive_a_restart,
    each_kind_of_invalid_url_is_refused_with_its_rule_and_stores_nothing,
    http_is_accepted_in_sandbox_with_a_warning_and_refused_in_production,
    two_saves_on_the_same_version_give_one_success_and_one_conflict,
    an_empty_field_clears_that_url_and_an_unchanged_save_writes_nothing,
    a_database_error_during_a_save_leaves_neither_change_nor_audit_event,
    saves_batched_together_each_get_their_own_outcome_and_a_bad_one_spoils_none,
    the_cards_section_shows_its_single_url_box_on_the_page,
    the_overview_counts_configured_channels_per_section,
    unknown_sections_and_channels_are_not_found,
);

async fn saved_urls_show_on_the_section_page_and_survive_a_restart(mut app: TestApp) {
    let email = app.sign_in_new_merchant("acme").await;
    let response = app
        .save(
            "va_snap",
            "bca",
            "https://sandbox.acme.co.id/notify",
            "https://acme.co.id/notify",
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings/payment/va_snap");

    let page = app.get_text("/settings/payment/va_snap").await;
    assert!(page.contains("Notification URLs for BCA (Virtual Account SNAP) saved."));
    assert!(page.contains("https://sandbox.acme.co.id/notify"));
    assert!(page.contains("https://acme.co.id/notify"));
    assert!(page.contains("Configured"));

    let history = app.get_text("/settings/payment/va_snap/bca/history").await;
    assert_eq!(history.matches("class=\"change\"").count(), 2);
    assert!(history.contains(&email));

    app.restart().await;
    let response = app.login(&email, payhook_testing::PASSWORD).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.get_text("/settings/payment/va_snap").await;
    assert!(page.contains("https://sandbox.acme.co.id/notify"));
    assert!(page.contains("https://acme.co.id/notify"));
    let form = app.get_text("/settings/payment/va_snap/bca").await;
    assert_eq!(hidden_value(&form, "version"), "1");
}

/// `text` as askama (0.16) escapes it into a page: numeric entities for `"&'<>`.
fn escaped(text: &str) -> String {
    text.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

/// The HTML inside the error list tied to `field` (`id="{field}-errors"`).
fn field_errors<'a>(page: &'a str, field: &str) -> &'a str {
    let marker = format!("id=\"{field}-errors\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no error list next to {field}"))
        + marker.len();
    let end = start + page[start..].find("</ul>").expect("the error list ends");
    &page[start..end]
}

/// Whether the error list tied to `field` holds `message` (plain text, as in `i18n/en.txt`).
fn field_error_says(page: &str, field: &str, message: &str) -> bool {
    field_errors(page, field).contains(&format!("<li>{}</li>", escaped(message)))
}

// The rules' messages, as in `src/i18n/en.txt`.
const TUNNEL_DOMAIN: &str =
    "ngrok tunnels are not accepted as notification URLs; use a public domain you control.";
const RESERVED_DOMAIN: &str = "This domain is reserved for local or test use (such as localhost, \
     .local, .internal or .test) and cannot be reached from the internet.";
const NON_PUBLIC_ADDRESS: &str = "This IP address is not reachable from the internet (private, \
     loopback, link-local, multicast, documentation or reserved range); use a public address or \
     domain name.";
const UNSUPPORTED_SCHEME: &str =
    "The URL must start with https:// (http:// is accepted in sandbox only).";
const CREDENTIALS_IN_URL: &str = "A URL protected with authentication (a user name or password \
     in the URL) cannot be reached; remove the credentials and verify the notification signature \
     instead.";
const PORT_NOT_ALLOWED: &str = "This port is not accepted; remove the port number so the \
     standard one is used (443 for https, 80 for http).";
const FRAGMENT_NOT_ALLOWED: &str =
    "Remove the part starting with #; it is never sent to the server.";
const SINGLE_LABEL_HOST: &str = "Use a full domain name such as shop.yourcompany.com; a host name \
     without a dot only works inside a private network.";
const NOT_ABSOLUTE_URL: &str = "This is not a complete URL; enter the full address starting with \
     https://, for example https://shop.yourcompany.com/payments/notify.";
const TOO_LONG: &str = "The URL is too long; use at most 2048 characters.";
const HTTPS_REQUIRED: &str = "Production notification URLs must use https://; plain http:// is \
     accepted in sandbox only.";
const INSECURE_HTTP_SANDBOX: &str = "This sandbox URL uses http://, so notifications travel \
     unencrypted; production URLs must use https://.";

async fn each_kind_of_invalid_url_is_refused_with_its_rule_and_stores_nothing(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    let cases = [
        ("https://abc.ngrok.io/hook", TUNNEL_DOMAIN),
        ("https://localhost/hook", RESERVED_DOMAIN),
        ("https://10.1.2.3/hook", NON_PUBLIC_ADDRESS),
        ("https://127.1/hook", NON_PUBLIC_ADDRESS),
        ("https://[::ffff:192.168.0.1]/hook", NON_PUBLIC_ADDRESS),
        ("ftp://acme.co.id/hook", UNSUPPORTED_SCHEME),
        ("https://user:pass@acme.co.id/hook", CREDENTIALS_IN_URL),
        ("https://acme.co.id:8443/hook", PORT_NOT_ALLOWED),
        ("https://acme.co.id/hook#top", FRAGMENT_NOT_ALLOWED),
        ("https://intranet/hook", SINGLE_LABEL_HOST),
        ("not a url", NOT_ABSOLUTE_URL),
    ];
    for (input, expected) in cases {
        let response = app.save("va", "bca", "", input).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{input}"
        );
        let page = response.text().await.unwrap();
        assert!(
            page.contains("id=\"production_url-errors\""),
            "{input}: error next to its field"
        );
        assert!(
            field_error_says(&page, "production_url", expected),
            "{input}: names its rule ({expected}) in {}",
            field_errors(&page, "production_url")
        );
        let kept = escaped(input);
        assert!(
            page.contains(&format!("value=\"{kept}\"")),
            "{input}: input kept"
        );
    }
    let too_long = format!("https://acme.co.id/{}", "a".repeat(2100));
    let response = app.save("va", "bca", &too_long, "").await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        field_error_says(&page, "sandbox_url", TOO_LONG),
        "too long: {}",
        field_errors(&page, "sandbox_url")
    );
    let setting = app.db.channel_setting(1, "va", "bca").await.unwrap();
    assert_eq!(setting.version, 0, "nothing stored");
    assert!(
        app.db
            .audit_events_by_action("settings_change")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn http_is_accepted_in_sandbox_with_a_warning_and_refused_in_production(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    let refused = app
        .save("ewallet", "ovo", "", "http://acme.co.id/notify")
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = refused.text().await.unwrap();
    assert!(
        field_error_says(&page, "production_url", HTTPS_REQUIRED),
        "names the https rule: {}",
        field_errors(&page, "production_url")
    );

    let accepted = app
        .save("ewallet", "ovo", "http://acme.co.id/notify", "")
        .await;
    assert_eq!(accepted.status(), StatusCode::SEE_OTHER);
    let page = app.get_text("/settings/payment/ewallet").await;
    assert!(
        page.contains(&format!("Warning: {}", escaped(INSECURE_HTTP_SANDBOX))),
        "the http warning is shown after saving"
    );
    assert!(page.contains("http://acme.co.id/notify"));
    assert!(page.contains("Sandbox only"));
}

async fn two_saves_on_the_same_version_give_one_success_and_one_conflict(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    let path = "/settings/payment/cstore/alfa";
    let form = app.get_text(path).await;
    let token = payhook_testing::csrf_token(&form);
    let version = hidden_value(&form, "version");
    let save = |url: &'static str| {
        let fields = [
            ("sandbox_url", url),
            ("production_url", ""),
            ("version", version.as_str()),
            ("csrf_token", token.as_str()),
        ];
        let request = app.client.post(app.url(path)).form(&fields);
        async move { request.send().await.unwrap() }
    };
    let first = save("https://first.acme.co.id/n").await;
    let second = save("https://second.acme.co.id/n").await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(second.status(), StatusCode::CONFLICT);
    let conflict = second.text().await.unwrap();
    assert!(conflict.contains("Someone else changed these URLs"));
    assert!(
        conflict.contains("https://first.acme.co.id/n"),
        "current value shown"
    );
    assert!(
        conflict.contains("https://second.acme.co.id/n"),
        "typed value kept"
    );

    let history = app.get_text("/settings/payment/cstore/alfa/history").await;
    assert_eq!(history.matches("class=\"change\"").count(), 1);
    assert!(!history.contains("second.acme"));
}

async fn an_empty_field_clears_that_url_and_an_unchanged_save_writes_nothing(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    app.save(
        "paylater",
        "kredivo",
        "https://s.acme.co.id/k",
        "https://acme.co.id/k",
    )
    .await;
    let unchanged = app
        .save(
            "paylater",
            "kredivo",
            " https://s.acme.co.id/k ",
            "https://acme.co.id/k",
        )
        .await;
    assert_eq!(unchanged.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.db
            .audit_events_by_action("settings_change")
            .await
            .unwrap()
            .len(),
        2
    );

    app.save("paylater", "kredivo", "", "https://acme.co.id/k")
        .await;
    let events = app
        .db
        .audit_events_by_action("settings_change")
        .await
        .unwrap();
    assert_eq!(events.len(), 3);
    assert_eq!(events[2].field.as_deref(), Some("sandbox_url"));
    assert_eq!(
        events[2].old_value.as_deref(),
        Some("https://s.acme.co.id/k")
    );
    assert_eq!(events[2].new_value, None);
    let setting = app
        .db
        .channel_setting(1, "paylater", "kredivo")
        .await
        .unwrap();
    assert_eq!(setting.sandbox_url, None);
    assert_eq!(setting.version, 2);
}

async fn a_database_error_during_a_save_leaves_neither_change_nor_audit_event(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    app.save("va", "bni", "https://old.acme.co.id/n", "").await;
    app.refuse_audit_events_containing("refused").await;
    let response = app
        .save("va", "bni", "https://refused.acme.co.id/n", "")
        .await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("nothing was changed")
    );
    let setting = app.db.channel_setting(1, "va", "bni").await.unwrap();
    assert_eq!(
        setting.sandbox_url.as_deref(),
        Some("https://old.acme.co.id/n")
    );
    assert_eq!(setting.version, 1);
    assert_eq!(
        app.db
            .audit_events_by_action("settings_change")
            .await
            .unwrap()
            .len(),
        1
    );
}

async fn the_cards_section_shows_its_single_url_box_on_the_page(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    let page = app.get_text("/settings/payment/cards").await;
    assert!(page.contains("Payment Configuration"));
    assert!(page.contains("action=\"/settings/payment/cards/card\""));
    let version = hidden_value(&page, "version");
    let response = app
        .submit(
            "/settings/payment/cards",
            "/settings/payment/cards/card",
            &[
                ("sandbox_url", "https://cards.acme.co.id/n"),
                ("production_url", ""),
                ("version", &version),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let page = app.get_text("/settings/payment/cards").await;
    assert!(page.contains("value=\"https://cards.acme.co.id/n\""));
}

async fn the_overview_counts_configured_channels_per_section(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    app.save("ewallet", "ovo", "https://a.acme.co.id/n", "")
        .await;
    app.save("ewallet", "dana", "", "https://acme.co.id/n")
        .await;
    let page = app.get_text("/settings/payment").await;
    assert!(page.contains("data-section=\"ewallet\">2 of 5 configured"));
    assert!(page.contains("data-section=\"va_snap\">0 of 15 configured"));
}

async fn unknown_sections_and_channels_are_not_found(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    for path in [
        "/settings/payment/crypto",
        "/settings/payment/va/bnc",
        "/settings/payment/va_snap/nope/history",
        "/nowhere",
    ] {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let response = app.save("va_snap", "bca", "", "").await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let response = app
        .submit(
            "/settings/payment",
            "/settings/payment/va/bnc",
            &[
                ("sandbox_url", ""),
                ("production_url", ""),
                ("version", "0"),
            ],
        )
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}

async fn saves_batched_together_each_get_their_own_outcome_and_a_bad_one_spoils_none(app: TestApp) {
    use payhook::save_queue::SaveQueue;
    use payhook::store::{Actor, ChannelUpdate, SaveOutcome};

    payhook_testing::capture_logs();
    app.sign_in_new_merchant("acme").await;
    app.refuse_audit_events_containing("refused").await;
    let queue = SaveQueue::start(app.db.clone());
    let actor = Actor {
        email: "batch@acme.co.id".into(),
        ..Actor::default()
    };
    let update = |channel: &'static str, version: i64, url: &str| ChannelUpdate {
        merchant_id: 1,
        section: "va",
        channel,
        expected_version: version,
        sandbox_url: Some(url.to_owned()),
        production_url: None,
    };
    // Queued before the writer runs (one thread), so they form one batch.
    let (first, refused, same_version, other) = tokio::join!(
        queue.save(update("bca", 0, "https://one.acme.co.id/n"), actor.clone()),
        queue.save(
            update("bni", 0, "https://refused.acme.co.id/n"),
            actor.clone()
        ),
        queue.save(update("bca", 0, "https://two.acme.co.id/n"), actor.clone()),
        queue.save(
            update("bri", 0, "https://three.acme.co.id/n"),
            actor.clone()
        ),
    );
    assert!(
        payhook_testing::logs().contains("saves=4"),
        "the four were one batch, which failed and was retried one by one"
    );
    assert_eq!(first.unwrap(), SaveOutcome::Saved { version: 1 });
    assert!(
        refused.is_err(),
        "the refused audit event fails its own save"
    );
    assert_eq!(
        same_version.unwrap(),
        SaveOutcome::Conflict,
        "after the first"
    );
    assert_eq!(other.unwrap(), SaveOutcome::Saved { version: 1 });
    let stored = |channel| app.db.channel_setting(1, "va", channel);
    assert_eq!(
        stored("bca").await.unwrap().sandbox_url.as_deref(),
        Some("https://one.acme.co.id/n")
    );
    assert_eq!(
        stored("bni").await.unwrap().version,
        0,
        "nothing of it stored"
    );
    assert_eq!(
        stored("bri").await.unwrap().sandbox_url.as_deref(),
        Some("https://three.acme.co.id/n")
    );
    let events = app
        .db
        .audit_events_by_action("settings_change")
        .await
        .unwrap();
    let urls: Vec<_> = events
        .iter()
        .map(|e| e.new_value.as_deref().unwrap())
        .collect();
    assert_eq!(
        urls,
        ["https://one.acme.co.id/n", "https://three.acme.co.id/n"],
        "exactly the saved changes, in order"
    );
    let (code, verified) = app.run_cli(&["audit", "verify"]);
    assert_eq!(code, 0, "{verified}");
}
