//! API keys: generated on first need, revealed only with the password, rotated with an audit
//! event, sealed at rest, and never shown, logged or audited anywhere else.

use payhook_testing::StaticResolver;
use reqwest::StatusCode;

use payhook_testing::Probe;
use payhook_testing::on_both_backends;
use payhook_testing::{Backend, PASSWORD, TestApp, spawn_app};
use payhook_testing::{
    Options, Receiver, Reply, capture_logs, element_text, expected_non_snap_signature,
    expected_snap_signature, logs, reveal_secret, send_test, spawn_with_dns,
};

on_both_backends!(
    each_environment_has_a_client_id_and_a_secret_shown_only_after_the_password,
    rotation_shows_the_new_secret_once_is_audited_and_changes_the_signature,
    the_secret_never_appears_in_other_pages_the_audit_log_or_the_logs,
    another_merchant_cannot_see_your_keys_and_admins_have_none,
    key_forms_without_a_csrf_token_are_forbidden,
    secrets_are_sealed_at_rest_and_survive_a_restart,
    the_first_view_creates_the_client_ids_with_their_audit_events_in_one_transaction,
    failed_rotations_and_failed_password_changes_are_audited_like_failed_reveals,
    one_password_prompt_shows_both_secrets_each_with_a_copy_button,
);

const PAGE: &str = "/integration/api-keys";

fn client_ids(page: &str) -> Vec<String> {
    page.match_indices("class=\"client-id\">")
        .map(|(i, m)| page[i + m.len()..].split('<').next().unwrap().to_owned())
        .collect()
}

async fn reveal(app: &TestApp, environment: &str, password: &str) -> reqwest::Response {
    app.submit(
        PAGE,
        PAGE,
        &[("environment", environment), ("password", password)],
    )
    .await
}

async fn each_environment_has_a_client_id_and_a_secret_shown_only_after_the_password(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    app.sign_in_new_merchant("acme").await;
    let page = app.get_text(PAGE).await;
    let ids = client_ids(&page);
    assert_eq!(ids.len(), 2, "sandbox and production");
    assert!(ids.iter().all(|id| id.starts_with("MCH-")));
    assert_ne!(ids[0], ids[1]);
    assert!(!page.contains("class=\"secret-key\""));
    assert!(page.contains("name=\"password\""));
    assert_eq!(client_ids(&app.get_text(PAGE).await), ids, "generated once");

    let wrong = reveal(&app, "sandbox", "not my password").await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains("The password is incorrect"));
    assert!(!wrong.contains("class=\"secret-key\""));
    assert!(!wrong.contains("SK-0") && element_text(&wrong, "secret-sandbox").is_none());

    let sandbox = reveal_secret(&app, "sandbox").await;
    let production = reveal_secret(&app, "production").await;
    assert!(
        sandbox.starts_with("SK-") && sandbox.len() == 67,
        "{sandbox}"
    );
    assert_ne!(sandbox, production);
    assert_eq!(
        reveal_secret(&app, "sandbox").await,
        sandbox,
        "the same secret until rotated"
    );
    assert!(!app.get_text(PAGE).await.contains(&sandbox));
    let bad = reveal(&app, "staging", PASSWORD).await;
    assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        app.db
            .audit_events_by_action("api_key_reveal")
            .await
            .unwrap()
            .len(),
        3
    );
    let failed = app
        .db
        .audit_events_by_action("api_key_reveal_failed")
        .await
        .unwrap();
    assert_eq!(failed[0].field.as_deref(), Some("sandbox_secret_key"));
}

async fn one_password_prompt_shows_both_secrets_each_with_a_copy_button(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in_new_merchant("acme").await;
    let page = app.get_text(PAGE).await;
    assert_eq!(
        page.matches("name=\"password\"").count(),
        3,
        "one prompt to show both, one per rotation"
    );
    assert!(page.contains("also the password of the sandbox payment API"));

    let shown = app.submit(PAGE, PAGE, &[("password", PASSWORD)]).await;
    assert_eq!(shown.status(), StatusCode::OK);
    let shown = shown.text().await.unwrap();
    let sandbox = element_text(&shown, "secret-sandbox").expect("the sandbox secret");
    let production = element_text(&shown, "secret-production").expect("the production secret");
    assert!(sandbox.starts_with("SK-") && production.starts_with("SK-"));
    assert_ne!(sandbox, production);
    assert_eq!(reveal_secret(&app, "sandbox").await, sandbox);
    assert_eq!(reveal_secret(&app, "production").await, production);
    for id in ["secret-sandbox", "secret-production", "client-id-sandbox"] {
        assert!(
            shown.contains(&format!("data-copy=\"{id}\"")),
            "a copy button for {id}"
        );
    }
    let revealed: Vec<Option<String>> = app
        .db
        .audit_events_by_action("api_key_reveal")
        .await
        .unwrap()
        .into_iter()
        .map(|event| event.field)
        .collect();
    assert_eq!(
        revealed[..2],
        [
            Some("sandbox_secret_key".to_owned()),
            Some("production_secret_key".to_owned())
        ],
        "one audit event per secret shown"
    );

    let wrong = app.submit(PAGE, PAGE, &[("password", "not mine")]).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = wrong.text().await.unwrap();
    assert!(!wrong.contains(&sandbox) && !wrong.contains(&production));
}

async fn rotation_shows_the_new_secret_once_is_audited_and_changes_the_signature(backend: Backend) {
    let receiver = Receiver::start(Reply::ok("ok")).await;
    let app = spawn_with_dns(backend, &StaticResolver::default(), Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    let url = format!("http://127.0.0.1:{}/snap", receiver.port());
    app.save("va_snap", "bri", &url, "").await;
    let before = reveal_secret(&app, "sandbox").await;
    let client_id_before = client_ids(&app.get_text(PAGE).await)[0].clone();
    send_test(&app, "va_snap", "bri", "sandbox").await;

    let refused = app
        .submit(
            PAGE,
            "/integration/api-keys/rotate",
            &[("environment", "sandbox"), ("password", "not my password")],
        )
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "rotating asks for the password too"
    );
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("The password is incorrect")
    );
    assert_eq!(
        reveal_secret(&app, "sandbox").await,
        before,
        "nothing rotated"
    );

    let rotated = app
        .submit(
            PAGE,
            "/integration/api-keys/rotate",
            &[("environment", "sandbox"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(rotated.status(), StatusCode::OK);
    let rotated = rotated.text().await.unwrap();
    assert!(rotated.contains("The secret key was rotated."));
    let after = element_text(&rotated, "secret-sandbox").expect("the new secret is shown once");
    assert_ne!(after, before);
    assert!(
        !app.get_text(PAGE).await.contains(&after),
        "not shown again without the password"
    );
    assert_eq!(reveal_secret(&app, "sandbox").await, after);
    assert_eq!(
        client_ids(&app.get_text(PAGE).await)[0],
        client_id_before,
        "the Client-Id stays"
    );

    let events = app
        .db
        .audit_events_by_action("api_key_rotate")
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].field.as_deref(), Some("sandbox_secret_key"));
    assert_eq!(
        (
            events[0].old_value.as_deref(),
            events[0].new_value.as_deref()
        ),
        (None, None)
    );

    send_test(&app, "va_snap", "bri", "sandbox").await;
    let requests = receiver.requests();
    assert_eq!(requests.len(), 2);
    let (first, second) = (&requests[0], &requests[1]);
    assert_eq!(
        first.header("X-SIGNATURE"),
        expected_snap_signature(&before, first)
    );
    assert_eq!(
        second.header("X-SIGNATURE"),
        expected_snap_signature(&after, second)
    );
    assert_ne!(
        second.header("X-SIGNATURE"),
        expected_snap_signature(&before, second),
        "old key no longer signs"
    );
}

async fn the_secret_never_appears_in_other_pages_the_audit_log_or_the_logs(backend: Backend) {
    capture_logs();
    let receiver = Receiver::start(Reply::ok("ok")).await;
    let app = spawn_with_dns(backend, &StaticResolver::default(), Options::private()).await;
    app.sign_in_new_merchant("acme").await;
    app.save(
        "va",
        "cimb",
        &format!("http://127.0.0.1:{}/n", receiver.port()),
        "",
    )
    .await;
    let rotated = app
        .submit(
            PAGE,
            "/integration/api-keys/rotate",
            &[("environment", "sandbox"), ("password", PASSWORD)],
        )
        .await;
    let secret = element_text(&rotated.text().await.unwrap(), "secret-sandbox").unwrap();
    let wrong = reveal(&app, "sandbox", "wrong password")
        .await
        .text()
        .await
        .unwrap();
    assert!(!wrong.contains(&secret));
    assert_eq!(reveal_secret(&app, "sandbox").await, secret);
    let result = send_test(&app, "va", "cimb", "sandbox")
        .await
        .text()
        .await
        .unwrap();
    let got = receiver.single();
    assert_eq!(
        got.header("Signature"),
        expected_non_snap_signature(&secret, &got)
    );

    let mut pages = vec![result];
    for path in [
        PAGE,
        "/settings/payment/va/cimb",
        "/settings/payment/va/cimb/history",
        "/settings/payment/va",
    ] {
        pages.push(app.get_text(path).await);
    }
    let admin = app.create_admin().await;
    app.login(&admin, PASSWORD).await;
    for path in [
        "/admin/audit",
        "/admin/audit.csv",
        "/settings/payment/va/cimb/history?merchant=acme",
    ] {
        pages.push(app.get_text(path).await);
    }
    for page in &pages {
        assert!(!page.contains(&secret), "secret leaked into a page");
    }
    assert!(
        pages[5].contains("api_key_rotate"),
        "the audit page lists the rotation"
    );

    let all_events = app
        .db
        .audit_events_by_action("api_key_rotate")
        .await
        .unwrap()
        .into_iter()
        .chain(
            app.db
                .audit_events_by_action("api_key_reveal")
                .await
                .unwrap(),
        )
        .chain(
            app.db
                .audit_events_by_action("api_key_reveal_failed")
                .await
                .unwrap(),
        )
        .chain(
            app.db
                .audit_events_by_action("test_notification")
                .await
                .unwrap(),
        );
    let mut count = 0;
    for event in all_events {
        count += 1;
        assert!(
            !format!("{event:?}").contains(&secret),
            "secret in an audit event"
        );
    }
    assert_eq!(count, 4);
    let deliveries = app.db.deliveries(1, 10).await.unwrap();
    assert!(!format!("{deliveries:?}").contains(&secret));
    let stored = app
        .db
        .api_key(1, payhook::domain::Environment::Sandbox)
        .await
        .unwrap()
        .unwrap();
    assert!(
        !stored.secret_sealed.contains(&secret) && !stored.secret_sealed.contains(&secret[3..])
    );
    let logged = logs();
    assert!(
        logged.contains("API secret key rotated"),
        "logs were captured"
    );
    assert!(
        logged.contains("PAYHOOK_ALLOW_PRIVATE_TARGETS is on"),
        "the escape hatch is announced at start-up"
    );
    assert!(!logged.contains(&secret), "secret in the logs");
    assert!(!logged.contains(&secret[3..]));
}

async fn another_merchant_cannot_see_your_keys_and_admins_have_none(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in_new_merchant("acme").await;
    let acme_ids = client_ids(&app.get_text(PAGE).await);
    assert_eq!(acme_ids.len(), 2, "acme: sandbox and production");
    let acme_secret = reveal_secret(&app, "production").await;

    let other = app.create_merchant_user("globex").await;
    assert_eq!(
        app.login(&other, PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "sign-in of {other}"
    );
    let page = app.get_text(PAGE).await;
    let globex_ids = client_ids(&page);
    assert_eq!(globex_ids.len(), 2, "globex: sandbox and production");
    assert!(acme_ids.iter().all(|id| !page.contains(id.as_str())));
    assert!(globex_ids.iter().all(|id| !acme_ids.contains(id)));
    let globex_secret = reveal_secret(&app, "production").await;
    assert_ne!(globex_secret, acme_secret);
    let revealed = reveal(&app, "production", PASSWORD).await;
    assert_eq!(revealed.status(), StatusCode::OK);
    let page = revealed.text().await.unwrap();
    assert_eq!(
        element_text(&page, "secret-production").as_deref(),
        Some(globex_secret.as_str()),
        "globex sees its own secret"
    );
    assert!(!page.contains(&acme_secret));
    assert!(
        app.get_text("/settings/payment")
            .await
            .contains("href=\"/integration/api-keys\""),
        "merchants have the link"
    );

    let admin = app.create_admin().await;
    assert_eq!(
        app.login(&admin, PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "sign-in of {admin}"
    );
    assert_eq!(app.get(PAGE).await.status(), StatusCode::FORBIDDEN);
    assert!(
        !app.get_text("/settings/payment")
            .await
            .contains("href=\"/integration/api-keys\"")
    );
}

async fn key_forms_without_a_csrf_token_are_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in_new_merchant("acme").await;
    let page = app.get_text(PAGE).await;
    let reveal = app
        .post(PAGE, &[("environment", "sandbox"), ("password", PASSWORD)])
        .await;
    assert_eq!(reveal.status(), StatusCode::FORBIDDEN);
    assert!(!reveal.text().await.unwrap().contains("secret-sandbox"));
    let rotate = app
        .post(
            "/integration/api-keys/rotate",
            &[("environment", "sandbox")],
        )
        .await;
    assert_eq!(rotate.status(), StatusCode::FORBIDDEN);
    let forged = app
        .post(
            "/integration/api-keys/rotate",
            &[("environment", "sandbox"), ("csrf_token", "forged")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert!(
        app.db
            .audit_events_by_action("api_key_rotate")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(client_ids(&app.get_text(PAGE).await), client_ids(&page));
}

async fn secrets_are_sealed_at_rest_and_survive_a_restart(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let secret = reveal_secret(&app, "sandbox").await;
    let stored = app
        .db
        .api_key(1, payhook::domain::Environment::Sandbox)
        .await
        .unwrap()
        .unwrap();
    assert!(!stored.secret_sealed.contains(&secret[3..]));
    assert!(stored.secret_sealed.chars().all(|c| c.is_ascii_hexdigit()));
    assert!(
        !format!("{stored:?}").contains(&stored.secret_sealed),
        "Debug hides the sealed value"
    );
    app.restart().await;
    app.login(&email, PASSWORD).await;
    assert_eq!(reveal_secret(&app, "sandbox").await, secret);
}

async fn the_first_view_creates_the_client_ids_with_their_audit_events_in_one_transaction(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let ids = client_ids(&app.get_text(PAGE).await);
    let created = app
        .db
        .audit_events_by_action("api_key_create")
        .await
        .unwrap();
    let recorded: Vec<_> = created
        .iter()
        .map(|e| (e.field.as_deref(), e.new_value.clone()))
        .collect();
    assert_eq!(
        recorded,
        [
            (Some("sandbox_secret_key"), Some(ids[0].clone())),
            (Some("production_secret_key"), Some(ids[1].clone())),
        ],
        "one event per key, naming its Client-Id"
    );
    assert!(
        created
            .iter()
            .all(|e| e.actor_email.as_deref() == Some(email.as_str()))
    );
    app.get_text(PAGE).await;
    assert_eq!(
        app.db
            .audit_events_by_action("api_key_create")
            .await
            .unwrap()
            .len(),
        2,
        "created once"
    );

    app.refuse_audit_events_where("NEW.action = 'api_key_create'")
        .await;
    app.sign_in_new_merchant("globex").await;
    assert_eq!(
        app.get(PAGE).await.status(),
        StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(
        app.count_rows("api_keys").await,
        2,
        "no key without its audit event"
    );
}

async fn failed_rotations_and_failed_password_changes_are_audited_like_failed_reveals(
    backend: Backend,
) {
    let app = spawn_app(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let refused = app
        .submit(
            PAGE,
            "/integration/api-keys/rotate",
            &[
                ("environment", "production"),
                ("password", "not my password"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let failed = app
        .db
        .audit_events_by_action("api_key_rotate_failed")
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].field.as_deref(), Some("production_secret_key"));
    assert_eq!(failed[0].actor_email.as_deref(), Some(email.as_str()));
    assert_eq!(failed[0].merchant_id, Some(1));

    let wrong = app
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", "a brand new passphrase"),
                ("confirm_password", "a brand new passphrase"),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let failed = app
        .db
        .audit_events_by_action("password_change_failed")
        .await
        .unwrap();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].actor_email.as_deref(), Some(email.as_str()));
    assert_eq!(failed[0].merchant_id, Some(1));
    let audit_page_action = "Secret key rotation refused";
    let admin = app.create_admin().await;
    app.login(&admin, PASSWORD).await;
    assert!(
        app.get_text("/admin/audit")
            .await
            .contains(audit_page_action),
        "the audit page names the action in words"
    );
}
