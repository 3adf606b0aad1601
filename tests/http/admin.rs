//! The admin area: who may enter, what it shows, and account management through its forms.

use reqwest::StatusCode;

use payhook::domain::Role;
use payhook_testing::Probe;
use payhook_testing::on_both_backends;
use payhook_testing::{PASSWORD, TestApp, csrf_token, location};

on_both_backends!(
    app:
    a_merchant_gets_404_on_every_admin_path,
    an_admin_sees_every_merchant_and_its_settings_read_only,
    an_admin_creates_merchants_and_users_and_every_action_is_audited,
    disabling_a_user_ends_its_sessions_at_once_and_a_reset_issues_a_new_password,
    disabling_a_user_asks_first_and_only_the_confirmed_form_disables,
    changing_ones_own_password_ends_the_other_sessions,
    an_account_change_whose_audit_event_fails_changes_nothing,
);

const ADMIN_PATHS: [&str; 6] = [
    "/admin",
    "/admin/merchants",
    "/admin/merchants/acme",
    "/admin/audit",
    "/admin/audit.csv",
    "/admin/users",
];

async fn a_merchant_gets_404_on_every_admin_path(app: TestApp) {
    for path in ADMIN_PATHS {
        let anonymous = app.get(path).await;
        assert_eq!(
            anonymous.status(),
            StatusCode::SEE_OTHER,
            "{path} signed out"
        );
        let back: String = url::form_urlencoded::byte_serialize(path.as_bytes()).collect();
        assert_eq!(location(&anonymous), format!("/login?next={back}"));
    }
    app.sign_in_new_merchant("acme").await;
    for path in ADMIN_PATHS {
        assert_eq!(
            app.get(path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    let token = csrf_token(&app.get_text("/settings/payment").await);
    for path in [
        "/admin/merchants",
        "/admin/users",
        "/admin/users/1/disable",
        "/admin/users/1/reset-password",
    ] {
        let response = app
            .post(
                path,
                &[
                    ("csrf_token", &token),
                    ("code", "evil"),
                    ("email", "x@evil.test"),
                ],
            )
            .await;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "POST {path}");
    }
    assert!(
        app.db
            .find_merchant(&payhook_testing::code("evil"))
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        !app.db
            .find_login_user(&payhook_testing::email(&app_user_email(&app).await))
            .await
            .unwrap()
            .unwrap()
            .disabled
    );
}

async fn app_user_email(app: &TestApp) -> String {
    app.db.user_summaries("", 10).await.unwrap()[0]
        .email
        .to_string()
}

async fn an_admin_sees_every_merchant_and_its_settings_read_only(app: TestApp) {
    let alpha = app
        .signed_in_browser(&app.create_merchant_user("alpha").await)
        .await;
    alpha
        .save("va", "bca", "https://alpha-sandbox.co.id/n", "")
        .await;
    alpha
        .save(
            "ewallet",
            "ovo",
            "https://alpha-sandbox.co.id/ovo",
            "https://alpha.co.id/ovo",
        )
        .await;
    let bravo = app
        .signed_in_browser(&app.create_merchant_user("bravo").await)
        .await;
    bravo
        .save(
            "cards",
            "card",
            "https://bravo-sandbox.co.id/cards",
            "https://bravo.co.id/cards",
        )
        .await;

    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let overview = admin.get_text("/admin").await;
    assert!(overview.contains("id=\"merchant-count\">2<"), "{overview}");
    assert!(overview.contains("data-section=\"va\">1<"));
    assert!(overview.contains("data-section=\"cards\">1<"));
    assert!(overview.contains("data-section=\"va_snap\">0<"));
    assert!(
        overview.contains("id=\"changes-24h\">5<"),
        "one change per URL field saved"
    );
    assert!(overview.contains("id=\"sandbox-only-count\">1<"));
    assert!(
        overview.contains("/settings/payment/va/bca/history?merchant=alpha"),
        "sandbox-only channel listed"
    );
    assert!(
        !overview.contains("ewallet/ovo/history?merchant=alpha"),
        "a channel with both URLs is not"
    );

    let list = admin.get_text("/admin/merchants").await;
    assert!(
        list.contains("href=\"/admin/merchants/alpha\"")
            && list.contains("href=\"/admin/merchants/bravo\"")
    );
    let searched = admin.get_text("/admin/merchants?q=brav").await;
    assert!(
        searched.contains("/admin/merchants/bravo") && !searched.contains("/admin/merchants/alpha")
    );

    let page = admin.get_text("/admin/merchants/alpha").await;
    for expected in [
        "https://alpha-sandbox.co.id/n",
        "https://alpha.co.id/ovo",
        "/settings/payment/va/bca/history?merchant=alpha",
        "Virtual Account SNAP",
        "PayLater",
    ] {
        assert!(page.contains(expected), "merchant page shows {expected}");
    }
    assert!(!page.contains("bravo.co.id"), "only alpha's settings");
    assert!(
        !page.contains("method=\"post\" action=\"/settings"),
        "no forms that change settings"
    );
    assert_eq!(
        admin.get("/admin/merchants/nobody").await.status(),
        StatusCode::NOT_FOUND
    );
    let history = admin
        .get_text("/settings/payment/va/bca/history?merchant=alpha")
        .await;
    assert!(history.contains("https://alpha-sandbox.co.id/n"));

    let refused = admin
        .submit(
            "/settings/payment/va/bca?merchant=alpha",
            "/settings/payment/va/bca?merchant=alpha",
            &[
                ("sandbox_url", "https://admin.co.id/n"),
                ("production_url", ""),
                ("version", "1"),
            ],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let alpha_id = app
        .db
        .find_merchant(&payhook_testing::code("alpha"))
        .await
        .unwrap()
        .unwrap()
        .id;
    let setting = app.db.channel_setting(alpha_id, "va", "bca").await.unwrap();
    assert_eq!(
        setting.sandbox_url.as_deref(),
        Some("https://alpha-sandbox.co.id/n")
    );
}

async fn an_admin_creates_merchants_and_users_and_every_action_is_audited(app: TestApp) {
    let admin_email = app.create_admin().await;
    let admin = app.signed_in_browser(&admin_email).await;
    let created = admin
        .submit(
            "/admin/merchants",
            "/admin/merchants",
            &[("code", "tokobaru"), ("name", "Toko Baru")],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&created), "/admin/merchants/tokobaru");
    assert!(
        admin
            .get_text("/admin/merchants/tokobaru")
            .await
            .contains("Toko Baru")
    );

    let duplicate = admin
        .submit(
            "/admin/merchants",
            "/admin/merchants",
            &[("code", "tokobaru"), ("name", "Again")],
        )
        .await;
    assert_eq!(duplicate.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = duplicate.text().await.unwrap();
    assert!(
        page.contains("already exists") && page.contains("value=\"Again\""),
        "error named, input kept"
    );
    assert!(
        page.contains(r#"value="tokobaru" aria-invalid="true" aria-describedby="merchant-error""#),
        "the error is tied to the code field"
    );

    let bad_email = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("email", "not an email"),
                ("role", "merchant"),
                ("merchant", "tokobaru"),
            ],
        )
        .await;
    assert_eq!(bad_email.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = bad_email.text().await.unwrap();
    assert!(
        page.contains("Enter a valid email address.") && page.contains("value=\"not an email\""),
        "{page}"
    );

    let issued = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("email", "Kasir@TokoBaru.co.id"),
                ("role", "merchant"),
                ("merchant", "TokoBaru"),
            ],
        )
        .await;
    assert_eq!(issued.status(), StatusCode::OK);
    let one_time = one_time_password(&issued.text().await.unwrap());
    assert!(one_time.len() >= 16);
    let kasir = app.new_browser();
    assert_eq!(
        kasir
            .login("kasir@tokobaru.co.id", &one_time)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // A one-time password opens nothing but choosing one's own.
    for path in [
        "/settings/payment",
        "/settings/payment/va",
        "/integration/api-keys",
    ] {
        let first = kasir.get(path).await;
        assert_eq!(first.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&first), "/account/password");
    }
    assert!(
        kasir
            .get_text("/account/password")
            .await
            .contains("id=\"must-change\"")
    );
    let chosen = "kasir's own long passphrase";
    let changed = kasir
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", &one_time),
                ("new_password", chosen),
                ("confirm_password", chosen),
            ],
        )
        .await;
    assert_eq!(location(&changed), "/settings/payment");
    let welcome = kasir.get_text("/settings/payment").await;
    assert!(
        welcome.contains("Your password is set.") && !welcome.contains("other sessions"),
        "a first sign-in had no other sessions to end: {welcome}"
    );
    assert!(
        kasir
            .get_text("/settings/payment")
            .await
            .contains("Toko Baru")
    );
    assert!(
        !admin.get_text("/admin/users").await.contains(&one_time),
        "shown once only"
    );

    let merchant_id = app
        .db
        .find_merchant(&payhook_testing::code("tokobaru"))
        .await
        .unwrap()
        .unwrap()
        .id;
    let merchant_events = app
        .db
        .audit_events_by_action("merchant_create")
        .await
        .unwrap();
    assert_eq!(
        merchant_events.len(),
        1,
        "the refused duplicate is not audited"
    );
    assert_eq!(
        merchant_events[0].actor_email.as_deref(),
        Some(admin_email.as_str())
    );
    assert_eq!(merchant_events[0].merchant_id, Some(merchant_id));
    let user_events = app.db.audit_events_by_action("user_create").await.unwrap();
    assert_eq!(user_events.len(), 1);
    assert_eq!(
        user_events[0].new_value.as_deref(),
        Some("kasir@tokobaru.co.id")
    );
    assert!(
        user_events
            .iter()
            .all(|e| !e.canonical().contains(&one_time)),
        "no password in the log"
    );
}

fn one_time_password(html: &str) -> String {
    let start = html
        .find("id=\"one-time-password\">")
        .expect("one-time password shown")
        + 23;
    html[start..].split('<').next().unwrap().to_owned()
}

fn user_row_id(html: &str, email: &str) -> i64 {
    let at = html
        .find(&format!("<td>{email}</td>"))
        .expect("user listed");
    let start = html[..at].rfind("id=\"user-").unwrap() + 9;
    html[start..].split('"').next().unwrap().parse().unwrap()
}

async fn disabling_a_user_ends_its_sessions_at_once_and_a_reset_issues_a_new_password(
    app: TestApp,
) {
    let email = app.create_merchant_user("acme").await;
    let phone = app.signed_in_browser(&email).await;
    let laptop = app.signed_in_browser(&email).await;
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let id = user_row_id(&admin.get_text("/admin/users").await, &email);

    let path = format!("/admin/users/{id}/disable");
    assert_eq!(
        admin.post(&path, &[]).await.status(),
        StatusCode::FORBIDDEN,
        "CSRF token required"
    );
    assert_eq!(
        phone.get("/settings/payment").await.status(),
        StatusCode::OK
    );
    let disabled = admin
        .submit("/admin/users", &path, &[("confirmed", "yes")])
        .await;
    assert_eq!(disabled.status(), StatusCode::SEE_OTHER);
    for browser in [&phone, &laptop] {
        let response = browser.get("/settings/payment").await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "session ended at once"
        );
        assert_eq!(location(&response), "/login");
    }
    assert_eq!(
        phone.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert!(admin.get_text("/admin/users").await.contains("Disabled"));

    let enabled = admin
        .submit("/admin/users", &format!("/admin/users/{id}/enable"), &[])
        .await;
    assert_eq!(enabled.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        phone.login(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let reset = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/reset-password"),
            &[],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::OK);
    let one_time = one_time_password(&reset.text().await.unwrap());
    assert_eq!(
        phone.get("/settings/payment").await.status(),
        StatusCode::SEE_OTHER,
        "reset ends sessions"
    );
    assert_eq!(
        laptop.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED,
        "old password gone"
    );
    assert_eq!(
        laptop.login(&email, &one_time).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        location(&laptop.get("/settings/payment").await),
        "/account/password"
    );

    let own = user_row_id(
        &admin.get_text("/admin/users").await,
        &admin_email_of(&app).await,
    );
    let refused = admin
        .submit("/admin/users", &format!("/admin/users/{own}/disable"), &[])
        .await;
    assert_eq!(
        refused.status(),
        StatusCode::BAD_REQUEST,
        "an admin cannot lock itself out"
    );

    for action in ["user_disable", "user_enable", "password_reset"] {
        let events = app.db.audit_events_by_action(action).await.unwrap();
        assert_eq!(events.len(), 1, "{action} audited once");
        assert_eq!(events[0].new_value.as_deref(), Some(email.as_str()));
    }
}

async fn disabling_a_user_asks_first_and_only_the_confirmed_form_disables(app: TestApp) {
    let email = app.create_merchant_user("acme").await;
    let user = app.signed_in_browser(&email).await;
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let id = user_row_id(&admin.get_text("/admin/users").await, &email);
    let path = format!("/admin/users/{id}/disable");
    let is_disabled = || async {
        let address = payhook_testing::email(&email);
        let found = app.db.find_login_user(&address).await.unwrap();
        found.unwrap().disabled
    };

    // The row's Disable button posts no `confirmed`: the answer asks first.
    let asked = admin.submit("/admin/users", &path, &[]).await;
    assert_eq!(asked.status(), StatusCode::OK);
    let page = asked.text().await.unwrap();
    assert!(page.contains("Disable this user?"), "{page}");
    assert!(page.contains(&format!("You are about to disable {email} (Owner · acme).")));
    assert!(page.contains("signed out everywhere at once") && page.contains("cannot sign in"));
    assert!(page.contains(&format!("<form method=\"post\" action=\"{path}\"")));
    assert!(page.contains("name=\"confirmed\" value=\"yes\""));
    assert!(page.contains("<a class=\"button\" href=\"/admin/users\">Cancel</a>"));
    assert!(!is_disabled().await, "asking changes nothing");
    assert_eq!(
        user.get("/settings/payment").await.status(),
        StatusCode::OK,
        "still signed in"
    );
    assert!(
        app.db
            .audit_events_by_action("user_disable")
            .await
            .unwrap()
            .is_empty()
    );

    let unguarded = admin.post(&path, &[("confirmed", "yes")]).await;
    assert_eq!(
        unguarded.status(),
        StatusCode::FORBIDDEN,
        "CSRF token required"
    );
    assert!(!is_disabled().await);

    let token = csrf_token(&page);
    let confirmed = admin
        .post(&path, &[("csrf_token", &token), ("confirmed", "yes")])
        .await;
    assert_eq!(confirmed.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&confirmed), "/admin/users");
    assert!(is_disabled().await);
    let signed_out = user.get("/settings/payment").await;
    assert_eq!(signed_out.status(), StatusCode::SEE_OTHER, "session ended");
    assert_eq!(location(&signed_out), "/login");
    assert_eq!(
        app.new_browser().login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let audit = admin.get_text("/admin/audit?action=user_disable").await;
    assert!(audit.contains(&format!("Disabled user <code>{email}</code>")));

    // Enabling needs no confirmation.
    let enable = format!("/admin/users/{id}/enable");
    let enabled = admin.submit("/admin/users", &enable, &[]).await;
    assert_eq!(enabled.status(), StatusCode::SEE_OTHER);
    assert!(!is_disabled().await);
}

async fn admin_email_of(app: &TestApp) -> String {
    let users = app.db.user_summaries("admin-", 10).await.unwrap();
    let admin = users.into_iter().find(|u| u.role == Role::Admin).unwrap();
    admin.email.to_string()
}

async fn changing_ones_own_password_ends_the_other_sessions(app: TestApp) {
    let email = app.create_merchant_user("acme").await;
    let here = app.signed_in_browser(&email).await;
    let elsewhere = app.signed_in_browser(&email).await;

    let new_password = "a much longer new passphrase";
    let wrong = here
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", "not my password"),
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let wrong = wrong.text().await.unwrap();
    assert!(wrong.contains("The current password is incorrect."));
    assert!(
        wrong.contains(r#"id="current_password" name="current_password" type="password" autocomplete="current-password" required aria-invalid="true" aria-describedby="current_password-errors""#),
        "the error is tied to the current password field"
    );
    let page = here.get_text("/account/password").await;
    assert!(!page.contains("aria-invalid"), "a fresh form has no errors");
    let short = here
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", PASSWORD),
                ("new_password", "short"),
                ("confirm_password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        short
            .text()
            .await
            .unwrap()
            .contains("at least 12 and at most 1024 characters")
    );
    assert_eq!(
        elsewhere.get("/settings/payment").await.status(),
        StatusCode::OK,
        "failed changes end nothing"
    );

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
    assert_eq!(
        elsewhere.get("/settings/payment").await.status(),
        StatusCode::SEE_OTHER,
        "others end"
    );
    assert_eq!(
        elsewhere.login(&email, PASSWORD).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        elsewhere.login(&email, new_password).await.status(),
        StatusCode::SEE_OTHER
    );
    let events = app
        .db
        .audit_events_by_action("password_change")
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].actor_email.as_deref(), Some(email.as_str()));
}

async fn an_account_change_whose_audit_event_fails_changes_nothing(app: TestApp) {
    let email = app.create_merchant_user("acme").await;
    let user = app.signed_in_browser(&email).await;
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let id = user_row_id(&admin.get_text("/admin/users").await, &email);
    app.refuse_audit_events_containing("acme").await;

    let disable = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/disable"),
            &[("confirmed", "yes")],
        )
        .await;
    assert_eq!(disable.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let reset = admin
        .submit(
            "/admin/users",
            &format!("/admin/users/{id}/reset-password"),
            &[],
        )
        .await;
    assert_eq!(reset.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let create = admin
        .submit(
            "/admin/users",
            "/admin/users",
            &[
                ("email", "kasir@acme.example.com"),
                ("role", "merchant"),
                ("merchant", "acme"),
            ],
        )
        .await;
    assert_eq!(create.status(), StatusCode::INTERNAL_SERVER_ERROR);

    assert_eq!(
        user.get("/settings/payment").await.status(),
        StatusCode::OK,
        "still enabled, still signed in"
    );
    assert_eq!(
        app.new_browser().login(&email, PASSWORD).await.status(),
        StatusCode::SEE_OTHER,
        "password kept"
    );
    assert!(
        app.db
            .find_login_user(&payhook_testing::email("kasir@acme.example.com"))
            .await
            .unwrap()
            .is_none()
    );
    for action in ["user_disable", "password_reset", "user_create"] {
        assert!(
            app.db
                .audit_events_by_action(action)
                .await
                .unwrap()
                .is_empty(),
            "{action}"
        );
    }
    // Only the three sign-ins were recorded.
    assert_eq!(
        app.db.verify_audit_chain().await.unwrap(),
        payhook::store::ChainReport::Intact { checked: 3 }
    );
}
