//! Two-factor sign-in end to end, with codes computed by the tests' own RFC 6238 code: setting
//! it up, signing in with a code (each once), recovery codes (each once), turning it off and on,
//! the admins' policy, a merchant team's rule, an admin's reset, and the notices by email.

use payhook::config::TwoFactorPolicy;
use payhook_testing::{
    Backend, Browser, PASSWORD, TestApp, enrol, location, on_both_backends, sign_in_with_code,
    spawn_app_with, spawn_with_smtp, totp_ahead,
};
use reqwest::StatusCode;

on_both_backends!(
    enrol_sign_out_and_sign_in_with_a_code_that_works_once,
    until_the_code_is_passed_the_browser_is_not_signed_in,
    five_wrong_codes_end_the_pending_sign_in,
    a_pending_sign_in_expires,
    codes_guessed_from_many_addresses_are_refused_and_the_owner_is_told,
    only_the_session_that_typed_the_password_sees_the_new_secret,
    a_recovery_code_works_once_and_is_mailed,
    notices_are_written_in_the_users_language_with_links_to_the_site,
    turning_it_off_and_on_again_takes_the_password_and_a_code,
    turning_it_on_ends_every_other_session,
    a_password_reset_keeps_two_factor,
    required_for_admins_sends_them_to_enrol_from_every_page,
    the_team_rule_sends_an_unenrolled_member_to_enrol,
    an_admin_resets_a_lost_authenticator_but_never_reads_it,
);
on_both_backends!(app: optional_for_admins_lets_them_through);

/// How many audit events of `action` there are.
async fn events(app: &TestApp, action: &str) -> i64 {
    let sql = format!("SELECT COUNT(*) FROM audit_events WHERE action = '{action}'");
    app.scalar::<i64>(&sql).await
}

/// Posts `form` to a two-factor form of the account page.
async fn account_form(browser: &Browser, action: &str, form: &[(&str, &str)]) -> reqwest::Response {
    browser.submit("/account/two-factor", action, form).await
}

async fn enrol_sign_out_and_sign_in_with_a_code_that_works_once(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let page = app.get_text("/account/two-factor").await;
    assert!(page.contains(r#"id="two-factor-state">Off<"#), "{page}");

    // The setup asks for the password first.
    let wrong = account_form(&app, "/account/two-factor/setup", &[("password", "nope")]).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong
            .text()
            .await
            .unwrap()
            .contains("The current password is incorrect.")
    );
    let setup = account_form(&app, "/account/two-factor/setup", &[("password", PASSWORD)]).await;
    assert_eq!(setup.status(), StatusCode::OK);
    let html = setup.text().await.unwrap();
    assert!(html.contains("<svg"), "an inline QR code");
    let uri = payhook_testing::otpauth_uri_of(&html);
    let secret = payhook_testing::secret_of_uri(&uri);
    assert_eq!(
        uri,
        format!("otpauth://totp/payhook:{email}?secret={secret}&issuer=payhook")
    );
    // A wrong first code leaves it off and shows the same key again.
    let token = payhook_testing::csrf_token(&html);
    let refused = app
        .post(
            "/account/two-factor/confirm",
            &[("code", "000000"), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let again = refused.text().await.unwrap();
    let shown = payhook_testing::otpauth_uri_of(&again);
    assert_eq!(payhook_testing::secret_of_uri(&shown), secret);
    assert_eq!(events(&app, "two_factor_enabled").await, 0);

    let enrolled = enrol(&app).await;
    assert_eq!(enrolled.recovery_codes.len(), 10);
    for code in &enrolled.recovery_codes {
        assert_eq!(code.len(), 9, "{code}");
        assert_eq!(&code[4..5], "-", "{code}");
    }
    assert_eq!(events(&app, "two_factor_enabled").await, 1);
    let status = app.get_text("/account/two-factor").await;
    assert!(status.contains(r#"id="two-factor-state">On<"#), "{status}");
    assert!(status.contains("Recovery codes left: 10."), "{status}");

    // Neither the secret nor a recovery code is stored in clear.
    let stored: String = app.scalar("SELECT secret FROM two_factor").await;
    let lower = enrolled.secret.to_lowercase();
    assert!(
        !stored.contains(&enrolled.secret) && !stored.contains(&lower),
        "{stored}"
    );
    for code in &enrolled.recovery_codes {
        for form in [code.clone(), code.replace('-', "")] {
            let sql = format!(
                "SELECT COUNT(*) FROM recovery_codes WHERE LOWER(code_hash) LIKE '%{form}%'"
            );
            assert_eq!(app.scalar::<i64>(&sql).await, 0, "{form} in clear");
        }
    }
    // Keyed hashes: 64 hex digits each.
    let hashed = "SELECT COUNT(*) FROM recovery_codes WHERE LENGTH(code_hash) = 64";
    assert_eq!(app.scalar::<i64>(hashed).await, 10);
    assert_eq!(
        app.scalar::<i64>("SELECT COUNT(*) FROM recovery_codes")
            .await,
        10
    );

    let mail = smtp
        .mail_with_subject(&email, "Two-factor sign-in is on for your payhook account")
        .await;
    assert!(mail.text.contains("If it was not you"), "{}", mail.text);

    // Signed out, the password leads to the code; the next step's code signs in.
    let browser = app.new_browser();
    let code = totp_ahead(&enrolled.secret, 1);
    let signed_in = sign_in_with_code(&browser, &email, &code).await;
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&signed_in), "/settings/payment");
    assert_eq!(
        browser.get("/settings/payment").await.status(),
        StatusCode::OK
    );

    // The same code again, or an older one, is refused: each works once.
    let again = app.new_browser();
    let replayed = sign_in_with_code(&again, &email, &code).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert!(
        replayed
            .text()
            .await
            .unwrap()
            .contains("That code did not work. 4 tries left.")
    );
    let older = totp_ahead(&enrolled.secret, 0);
    let refused = again
        .submit(
            "/login/two-factor",
            "/login/two-factor",
            &[("code", &older)],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(location(&again.get("/settings/payment").await), "/login");
    let failed =
        "SELECT COUNT(*) FROM audit_events WHERE action = 'sign_in_failed' AND field = 'code'";
    assert_eq!(app.scalar::<i64>(failed).await, 2);
}

async fn until_the_code_is_passed_the_browser_is_not_signed_in(backend: Backend) {
    let app = payhook_testing::spawn_app(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let enrolled = enrol(&app).await;
    // Signed out, the browser asked for the API keys: the sign-in goes back there.
    let browser = app.new_browser();
    let login = browser
        .get_text("/login?next=%2Fintegration%2Fapi-keys")
        .await;
    let first = browser
        .post(
            "/login",
            &[
                ("email", email.as_str()),
                ("password", PASSWORD),
                ("csrf_token", &payhook_testing::csrf_token(&login)),
                ("next", "/integration/api-keys"),
            ],
        )
        .await;
    assert_eq!(location(&first), "/login/two-factor");
    for (page, to) in [
        ("/settings/payment", "/login"),
        ("/account/two-factor", "/login?next=%2Faccount%2Ftwo-factor"),
        (
            "/integration/api-keys",
            "/login?next=%2Fintegration%2Fapi-keys",
        ),
    ] {
        assert_eq!(location(&browser.get(page).await), to, "{page}");
    }
    let form = browser.get_text("/login/two-factor").await;
    assert!(form.contains(r#"autocomplete="one-time-code""#), "{form}");
    // Only one sign-in counts, when the code is passed.
    assert_eq!(events(&app, "sign_in").await, 1);
    let code = totp_ahead(&enrolled.secret, 1);
    let passed = browser
        .submit("/login/two-factor", "/login/two-factor", &[("code", &code)])
        .await;
    assert_eq!(location(&passed), "/integration/api-keys");
    assert_eq!(events(&app, "sign_in").await, 2);

    // A fresh browser has no pending step: its form sends it to the password.
    let stranger = app.new_browser();
    assert_eq!(location(&stranger.get("/login/two-factor").await), "/login");
}

async fn five_wrong_codes_end_the_pending_sign_in(backend: Backend) {
    let app = payhook_testing::spawn_app(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let enrolled = enrol(&app).await;
    let browser = app.new_browser();
    let first = sign_in_with_code(&browser, &email, "111111").await;
    assert_eq!(first.status(), StatusCode::UNAUTHORIZED);
    let mut last_form = String::new();
    for left in [3, 2, 1] {
        let wrong = browser
            .submit(
                "/login/two-factor",
                "/login/two-factor",
                &[("code", "111111")],
            )
            .await;
        let text = wrong.text().await.unwrap();
        assert!(text.contains(&format!("{left} tries left")), "{text}");
        // The answer never says whether the password was right.
        assert!(!text.to_lowercase().contains("password is"), "{text}");
        last_form = text;
    }
    let fifth = browser
        .submit(
            "/login/two-factor",
            "/login/two-factor",
            &[("code", "111111")],
        )
        .await;
    assert_eq!(location(&fifth), "/login?ended=1");
    let notice = browser.get_text("/login?ended=1").await;
    assert!(notice.contains("too many wrong codes"), "{notice}");
    // The sign-in is over: even the right code no longer passes it.
    assert_eq!(location(&browser.get("/login/two-factor").await), "/login");
    let late = browser
        .post(
            "/login/two-factor",
            &[
                ("code", &totp_ahead(&enrolled.secret, 1)),
                ("csrf_token", &payhook_testing::csrf_token(&last_form)),
            ],
        )
        .await;
    assert_eq!(late.status(), StatusCode::FORBIDDEN, "no session, no token");
    assert_eq!(location(&browser.get("/settings/payment").await), "/login");
}

async fn a_pending_sign_in_expires(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.sign_in_code_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let email = app.sign_in_new_merchant("acme").await;
    let enrolled = enrol(&app).await;
    let browser = app.new_browser();
    let first = browser.login(&email, PASSWORD).await;
    assert_eq!(location(&first), "/login/two-factor");
    let form = browser.get_text("/login/two-factor").await;
    // The step's time runs out while its form is open.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let token = payhook_testing::csrf_token(&form);
    let code = totp_ahead(&enrolled.secret, 1);
    let late = browser
        .post(
            "/login/two-factor",
            &[("code", &code), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(location(&late), "/login?ended=1");
    assert_eq!(location(&browser.get("/settings/payment").await), "/login");
    assert_eq!(
        events(&app, "sign_in").await,
        1,
        "only the enrolling sign-in"
    );
}

/// Signs in from `ip` (through the trusted proxy) and types `code` at the second step, also
/// from `ip`: the second step's answer, or the password step's when that one refused.
async fn attempt_from(browser: &Browser, ip: &str, email: &str, code: &str) -> reqwest::Response {
    let first = browser.login_via_proxy(ip, email, PASSWORD).await;
    if location(&first) != "/login/two-factor" {
        return first;
    }
    let token = payhook_testing::csrf_token(&browser.get_text("/login/two-factor").await);
    browser
        .client
        .post(browser.url("/login/two-factor"))
        .header("x-forwarded-for", ip)
        .form(&[("code", code), ("csrf_token", &token)])
        .send()
        .await
        .unwrap()
}

async fn codes_guessed_from_many_addresses_are_refused_and_the_owner_is_told(backend: Backend) {
    let (app, smtp) = payhook_testing::spawn_with_smtp_and(backend, |settings| {
        settings.trust_proxy = true;
    })
    .await;
    let email = app.sign_in_new_merchant("acme").await;
    let enrolled = enrol(&app).await;
    // Ten wrong codes, each from another address: no address reaches its own limit.
    for n in 1..=10 {
        let ip = format!("203.0.113.{n}");
        let wrong = attempt_from(&app.new_browser(), &ip, &email, "999999").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "code {n}");
    }
    // The account's codes are refused now, even the right one from a fresh address; the
    // password still leads to the code, so it tells a guesser nothing new.
    let right = totp_ahead(&enrolled.secret, 1);
    let refused = attempt_from(&app.new_browser(), "198.51.100.7", &email, &right).await;
    assert_eq!(location(&refused), "/login?ended=1");
    assert_eq!(events(&app, "two_factor_locked").await, 1);
    let mail = smtp
        .mail_with_subject(
            &email,
            "Too many wrong sign-in codes for your payhook account",
        )
        .await;
    assert!(mail.text.contains("198.51.100.7"), "{}", mail.text);
    // Told once a window, however many more are refused.
    let again = attempt_from(&app.new_browser(), "198.51.100.8", &email, &right).await;
    assert_eq!(location(&again), "/login?ended=1");
    assert_eq!(events(&app, "two_factor_locked").await, 1);

    // Wrong codes count like wrong passwords too: ten from one address refuse its password.
    let (app, _smtp) = payhook_testing::spawn_with_smtp_and(backend, |settings| {
        settings.trust_proxy = true;
    })
    .await;
    let email = app.sign_in_new_merchant("acme").await;
    enrol(&app).await;
    let browser = app.new_browser();
    for n in 1..=10 {
        let wrong = attempt_from(&browser, "203.0.113.9", &email, "999999").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "code {n}");
    }
    let locked = browser
        .login_via_proxy("203.0.113.9", &email, PASSWORD)
        .await;
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
}

async fn only_the_session_that_typed_the_password_sees_the_new_secret(backend: Backend) {
    let app = payhook_testing::spawn_app(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let setup = account_form(&app, "/account/two-factor/setup", &[("password", PASSWORD)]).await;
    assert_eq!(setup.status(), StatusCode::OK);
    let html = setup.text().await.unwrap();
    let uri = payhook_testing::otpauth_uri_of(&html);
    let secret = payhook_testing::secret_of_uri(&uri);
    // Another session of the same user (a stolen cookie) gets neither the secret nor a way to
    // turn it on without the password, not even with the right code.
    let other = app.signed_in_browser(&email).await;
    let page = other.get_text("/account/two-factor").await;
    assert!(
        !page.contains(&secret) && !page.contains("otpauth://"),
        "{page}"
    );
    let right = totp_ahead(&secret, 0);
    let token = payhook_testing::csrf_token(&page);
    let peek = other
        .post(
            "/account/two-factor/confirm",
            &[("code", &right), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(location(&peek), "/account/two-factor");
    assert_eq!(events(&app, "two_factor_enabled").await, 0);
    // The session that typed the password still finishes it, with the same key.
    let token = payhook_testing::csrf_token(&html);
    let done = app
        .post(
            "/account/two-factor/confirm",
            &[("code", &right), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(done.status(), StatusCode::OK);
    let codes = payhook_testing::recovery_codes_of(&done.text().await.unwrap());
    assert_eq!(codes.len(), 10);
    assert_eq!(events(&app, "two_factor_enabled").await, 1);
}

async fn a_recovery_code_works_once_and_is_mailed(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let enrolled = enrol(&app).await;
    let recovery = enrolled.recovery_codes[3].to_uppercase();

    let browser = app.new_browser();
    let signed_in = sign_in_with_code(&browser, &email, &recovery).await;
    assert_eq!(location(&signed_in), "/settings/payment");
    assert_eq!(events(&app, "recovery_code_used").await, 1);
    let status = browser.get_text("/account/two-factor").await;
    assert!(status.contains("Recovery codes left: 9."), "{status}");
    smtp.mail_with_subject(&email, "A recovery code of your payhook account was used")
        .await;

    let again = sign_in_with_code(&app.new_browser(), &email, &recovery).await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(events(&app, "recovery_code_used").await, 1);
}

async fn notices_are_written_in_the_users_language_with_links_to_the_site(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let switched = app.submit("/settings/payment", "/language/id", &[]).await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    enrol(&app).await;
    let subject = "Verifikasi dua langkah aktif untuk akun payhook Anda";
    let mail = smtp.mail_with_subject(&email, subject).await;
    assert!(mail.text.contains("Jika bukan Anda"), "{}", mail.text);
    assert!(mail.html.contains("lang=\"id\""), "{}", mail.html);
    let forgot = format!("{}/password/forgot", payhook_testing::PUBLIC_URL);
    let link = mail.link_starting(&forgot);
    assert_eq!(link.as_deref(), Some(forgot.as_str()), "{}", mail.text);
    assert!(
        mail.html.contains(&format!("href=\"{forgot}\"")),
        "{}",
        mail.html
    );
}

async fn turning_it_off_and_on_again_takes_the_password_and_a_code(backend: Backend) {
    let app = payhook_testing::spawn_app(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let enrolled = enrol(&app).await;
    let off = "/account/two-factor/disable";

    let wrong_password = account_form(
        &app,
        off,
        &[("password", "nope"), ("code", &enrolled.recovery_codes[0])],
    )
    .await;
    assert_eq!(wrong_password.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        wrong_password
            .text()
            .await
            .unwrap()
            .contains("Nothing was changed.")
    );
    let wrong_code = account_form(&app, off, &[("password", PASSWORD), ("code", "123456")]).await;
    assert_eq!(wrong_code.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = wrong_code.text().await.unwrap();
    assert!(
        text.contains("The code is wrong or was used already."),
        "{text}"
    );
    assert_eq!(events(&app, "two_factor_disabled").await, 0);

    // New codes replace the old ones, with the password and a code.
    let replaced = account_form(
        &app,
        "/account/two-factor/recovery-codes",
        &[
            ("password", PASSWORD),
            ("code", &totp_ahead(&enrolled.secret, 1)),
        ],
    )
    .await;
    assert_eq!(replaced.status(), StatusCode::OK);
    let new_codes = payhook_testing::recovery_codes_of(&replaced.text().await.unwrap());
    assert_eq!(new_codes.len(), 10);
    assert_eq!(events(&app, "recovery_codes_regenerated").await, 1);
    let old_code = account_form(
        &app,
        off,
        &[
            ("password", PASSWORD),
            ("code", &enrolled.recovery_codes[1]),
        ],
    )
    .await;
    assert_eq!(
        old_code.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "old codes are void"
    );

    let done = account_form(
        &app,
        off,
        &[("password", PASSWORD), ("code", &new_codes[0])],
    )
    .await;
    assert_eq!(location(&done), "/account/two-factor");
    assert_eq!(events(&app, "two_factor_disabled").await, 1);
    assert_eq!(
        app.scalar::<i64>("SELECT COUNT(*) FROM two_factor").await,
        0
    );
    assert_eq!(
        app.scalar::<i64>("SELECT COUNT(*) FROM recovery_codes")
            .await,
        0
    );
    // A password alone signs in again.
    let plain = app.new_browser().login(&email, PASSWORD).await;
    assert_eq!(location(&plain), "/settings/payment");

    // On again, with a new key: the old key's codes mean nothing.
    let again = enrol(&app).await;
    assert_ne!(again.secret, enrolled.secret);
    let old_key =
        sign_in_with_code(&app.new_browser(), &email, &totp_ahead(&enrolled.secret, 1)).await;
    assert_eq!(old_key.status(), StatusCode::UNAUTHORIZED);
    let new_key =
        sign_in_with_code(&app.new_browser(), &email, &totp_ahead(&again.secret, 1)).await;
    assert_eq!(location(&new_key), "/settings/payment");
    assert_eq!(events(&app, "two_factor_enabled").await, 2);
}

async fn turning_it_on_ends_every_other_session(backend: Backend) {
    let app = payhook_testing::spawn_app(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let elsewhere = app.signed_in_browser(&email).await;
    assert_eq!(
        elsewhere.get("/settings/payment").await.status(),
        StatusCode::OK
    );
    enrol(&app).await;
    assert_eq!(
        location(&elsewhere.get("/settings/payment").await),
        "/login"
    );
    assert_eq!(app.get("/settings/payment").await.status(), StatusCode::OK);
}

async fn a_password_reset_keeps_two_factor(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let enrolled = enrol(&app).await;
    let visitor = app.new_browser();
    let asked = visitor
        .submit("/password/forgot", "/password/forgot", &[("email", &email)])
        .await;
    assert_eq!(asked.status(), StatusCode::OK);
    let mail = smtp
        .mail_with_subject(&email, "Reset your payhook password")
        .await;
    let prefix = format!("{}/password/reset/", payhook_testing::PUBLIC_URL);
    let link = mail
        .link_starting(&prefix)
        .expect("the email carries the link");
    let path = payhook_testing::path_of(&link);
    let new_password = "another long passphrase 2026";
    let chosen = visitor
        .submit(
            path,
            path,
            &[
                ("new_password", new_password),
                ("confirm_password", new_password),
            ],
        )
        .await;
    assert_eq!(location(&chosen), "/login?reset=1");
    let first = visitor
        .submit(
            "/login",
            "/login",
            &[("email", &email), ("password", new_password)],
        )
        .await;
    assert_eq!(
        location(&first),
        "/login/two-factor",
        "the code is still asked"
    );
    let code = totp_ahead(&enrolled.secret, 1);
    let passed = visitor
        .submit("/login/two-factor", "/login/two-factor", &[("code", &code)])
        .await;
    assert_eq!(location(&passed), "/settings/payment");
}

async fn required_for_admins_sends_them_to_enrol_from_every_page(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.admin_two_factor = TwoFactorPolicy::Required;
    })
    .await;
    let admin = app.create_admin().await;
    let browser = app.signed_in_browser(&admin).await;
    let pages = [
        "/admin",
        "/admin/merchants",
        "/admin/audit",
        "/admin/users",
        "/account/password",
        "/settings/payment",
    ];
    for page in pages {
        let response = browser.get(page).await;
        assert_eq!(location(&response), "/account/two-factor", "{page}");
    }
    let enrol_page = browser.get_text("/account/two-factor").await;
    assert!(
        enrol_page.contains("Administrators must sign in with two-factor"),
        "{enrol_page}"
    );
    let enrolled = enrol(&browser).await;
    for page in &pages[..4] {
        assert_eq!(browser.get(page).await.status(), StatusCode::OK, "{page}");
    }
    // Signing out stays open to an unenrolled admin too.
    let other = app.create_admin().await;
    let unenrolled = app.signed_in_browser(&other).await;
    let out = unenrolled
        .submit("/account/two-factor", "/logout", &[])
        .await;
    assert_eq!(location(&out), "/login?signed_out=1");
    // The enrolled admin signs in with a code from now on.
    let again =
        sign_in_with_code(&app.new_browser(), &admin, &totp_ahead(&enrolled.secret, 1)).await;
    assert_eq!(location(&again), "/admin", "an admin lands on the Overview");
}

async fn optional_for_admins_lets_them_through(app: TestApp) {
    let admin = app.create_admin().await;
    let browser = app.signed_in_browser(&admin).await;
    for page in ["/admin", "/admin/merchants", "/admin/audit", "/admin/users"] {
        assert_eq!(browser.get(page).await.status(), StatusCode::OK, "{page}");
    }
    let status = browser.get_text("/account/two-factor").await;
    assert!(!status.contains("id=\"enrol-required\""), "{status}");
}

async fn the_team_rule_sends_an_unenrolled_member_to_enrol(backend: Backend) {
    let app = payhook_testing::spawn_app(backend).await;
    app.sign_in_new_merchant("acme").await;
    let member = app.create_merchant_user("acme").await;
    let outsider = app.create_merchant_user("other").await;
    let rule = "/settings/team/two-factor";

    // Nobody requires what they do not use themselves.
    let refused = account_form(&app, rule, &[("required", "on")]).await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("before you require it of your team")
    );
    assert_eq!(events(&app, "team_two_factor_rule").await, 0);

    enrol(&app).await;
    let set = account_form(&app, rule, &[("required", "on")]).await;
    assert_eq!(location(&set), "/settings/team");
    assert_eq!(events(&app, "team_two_factor_rule").await, 1);
    let page = app.get_text("/settings/team").await;
    assert!(
        page.contains(r#"id="team-required" name="required" value="on" checked"#),
        "{page}"
    );

    let browser = app.signed_in_browser(&member).await;
    for path in [
        "/settings/payment",
        "/integration/api-keys",
        "/account/password",
    ] {
        assert_eq!(
            location(&browser.get(path).await),
            "/account/two-factor",
            "{path}"
        );
    }
    let enrol_page = browser.get_text("/account/two-factor").await;
    assert!(
        enrol_page.contains("Your team requires two-factor sign-in"),
        "{enrol_page}"
    );
    enrol(&browser).await;
    assert_eq!(
        browser.get("/settings/payment").await.status(),
        StatusCode::OK
    );

    // Another merchant's users are not bound by it.
    let other = app.signed_in_browser(&outsider).await;
    assert_eq!(
        other.get("/settings/payment").await.status(),
        StatusCode::OK
    );

    // Lifted again, recorded again.
    let lifted = account_form(&app, rule, &[]).await;
    assert_eq!(location(&lifted), "/settings/team");
    assert_eq!(events(&app, "team_two_factor_rule").await, 2);
    let page = app.get_text("/settings/team").await;
    assert!(
        page.contains(r#"id="team-required" name="required" value="on">"#),
        "{page}"
    );
    // A new member without two-factor now goes straight in.
    let newcomer = app.create_merchant_user("acme").await;
    let newcomer = app.signed_in_browser(&newcomer).await;
    assert_eq!(
        newcomer.get("/settings/payment").await.status(),
        StatusCode::OK
    );
}

async fn an_admin_resets_a_lost_authenticator_but_never_reads_it(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.sign_in_new_merchant("acme").await;
    let enrolled = enrol(&app).await;
    let user_id: i64 = app.scalar("SELECT user_id FROM two_factor").await;
    let admin = app.create_admin().await;
    let admin_browser = app.signed_in_browser(&admin).await;
    let users = admin_browser.get_text("/admin/users").await;
    assert!(!users.contains(&enrolled.secret));
    assert!(!users.contains("otpauth://"));
    let reset = format!("/admin/users/{user_id}/reset-two-factor");
    assert!(users.contains(&format!("action=\"{reset}\"")), "{users}");

    let done = admin_browser.submit("/admin/users", &reset, &[]).await;
    assert_eq!(location(&done), "/admin/users");
    assert_eq!(events(&app, "two_factor_reset").await, 1);
    assert_eq!(
        app.scalar::<i64>("SELECT COUNT(*) FROM two_factor").await,
        0
    );
    // The user's session ended; the password alone signs in now.
    assert_eq!(location(&app.get("/settings/payment").await), "/login");
    let plain = app.new_browser().login(&email, PASSWORD).await;
    assert_eq!(location(&plain), "/settings/payment");
    let wanted = "Two-factor sign-in was reset for your payhook account";
    smtp.mail_with_subject(&email, wanted).await;

    // An admin's own two-factor is not reset from here, even when it is on.
    enrol(&admin_browser).await;
    let admin_id: i64 = app
        .scalar(&format!("SELECT id FROM users WHERE email = '{admin}'"))
        .await;
    let own = admin_browser
        .submit(
            "/admin/users",
            &format!("/admin/users/{admin_id}/reset-two-factor"),
            &[],
        )
        .await;
    assert_eq!(own.status(), StatusCode::BAD_REQUEST);
    let kept = format!("SELECT COUNT(*) FROM two_factor WHERE user_id = {admin_id}");
    assert_eq!(app.scalar::<i64>(&kept).await, 1);
    assert_eq!(events(&app, "two_factor_reset").await, 1);
}
