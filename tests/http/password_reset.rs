//! Forgot password, end to end through a real SMTP server on 127.0.0.1: the same answer for
//! every address, a link that works once, for 30 minutes, voided by a newer one or a sign-in,
//! kept only as a hash; a reset that ends every session and tells the owner; limits per address
//! and per client; admins who send a link instead of typing a password.

use std::time::{Duration, Instant};

use payhook::domain::Role;
use payhook_testing::{
    Backend, Browser, PASSWORD, PUBLIC_URL, Probe, ReceivedMail, TestApp, csrf_token, location,
    on_both_backends, path_of, spawn_with_smtp,
};
use reqwest::StatusCode;
use sha2::{Digest, Sha256};

on_both_backends!(
    the_reset_journey_sets_the_password_ends_every_session_and_tells_the_owner,
    every_address_gets_the_same_answer_and_only_an_active_account_gets_mail,
    a_link_works_once_and_is_voided_by_a_newer_one_by_a_sign_in_or_by_time,
    requests_are_limited_per_address_and_per_client_without_changing_the_answer,
    emails_are_written_in_the_language_the_user_last_chose,
    admins_send_a_reset_link_instead_of_typing_a_password,
);

const NEW_PASSWORD: &str = "a brand new passphrase 2026";

/// Asks for a link for `email` through the form, as a browser would.
async fn forgot(browser: &Browser, email: &str) -> reqwest::Response {
    browser
        .submit("/password/forgot", "/password/forgot", &[("email", email)])
        .await
}

/// How many reset requests ended with `outcome`, as `/metrics` counts them.
async fn reset_requests(app: &TestApp, outcome: &str) -> u64 {
    let series = format!("payhook_password_reset_requests_total{{outcome=\"{outcome}\"}} ");
    let text = app.get_text("/metrics").await;
    text.lines()
        .find_map(|line| line.strip_prefix(&series)?.trim().parse().ok())
        .unwrap_or(0)
}

/// Waits until `count` requests ended with `outcome`: the server has answered them all, by
/// email or not.
async fn until_answered(app: &TestApp, outcome: &str, count: u64) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while reset_requests(app, outcome).await < count {
        assert!(
            Instant::now() < deadline,
            "{count} requests never ended {outcome}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The reset link of `mail`.
fn reset_link(mail: &ReceivedMail) -> String {
    mail.link_starting(&format!("{PUBLIC_URL}/password/reset/"))
        .unwrap_or_else(|| panic!("no reset link in:\n{}", mail.text))
}

/// The token at the end of a reset link.
fn token_of(link: &str) -> &str {
    link.rsplit('/').next().unwrap()
}

/// Sets `password` through the reset link's form (its token as the forgot page hands it out,
/// so a link that no longer shows its form can still be posted to).
async fn choose(browser: &Browser, link: &str, password: &str, again: &str) -> reqwest::Response {
    let token = csrf_token(&browser.get_text("/password/forgot").await);
    browser
        .post(
            path_of(link),
            &[
                ("new_password", password),
                ("confirm_password", again),
                ("csrf_token", &token),
            ],
        )
        .await
}

async fn the_reset_journey_sets_the_password_ends_every_session_and_tells_the_owner(
    backend: Backend,
) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.create_merchant_user("acme").await;
    let elsewhere = app.signed_in_browser(&email).await;
    assert_eq!(
        elsewhere.get("/settings/payment").await.status(),
        StatusCode::OK
    );

    let visitor = app.new_browser();
    let sign_in = visitor.get_text("/login").await;
    assert!(sign_in.contains("href=\"/password/forgot\""), "{sign_in}");
    let answer = forgot(&visitor, &email).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().await.unwrap().contains("id=\"forgot-sent\""));

    let mail = smtp.mail_to(&email).await;
    assert_eq!(mail.subject, "Reset your payhook password");
    assert!(mail.text.contains("30 minutes"), "{}", mail.text);
    let link = reset_link(&mail);
    assert!(
        mail.html.contains(&format!("href=\"{link}\"")),
        "{}",
        mail.html
    );
    assert!(mail.message_id().starts_with('<'), "{:?}", mail.headers);
    assert_eq!(mail.envelope_from, "no-reply@localhost");

    // Only the token's hash is stored, and the sent email keeps no content.
    let token = token_of(&link);
    let hash = hex::encode(Sha256::digest(token.as_bytes()));
    let stored = format!("SELECT COUNT(*) FROM password_resets WHERE token_hash = '{hash}'");
    assert_eq!(app.scalar::<i64>(&stored).await, 1);
    let clear = format!("SELECT COUNT(*) FROM password_resets WHERE token_hash = '{token}'");
    assert_eq!(app.scalar::<i64>(&clear).await, 0);

    let form = visitor.get(path_of(&link)).await;
    let policy = form.headers()["referrer-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        policy, "strict-origin",
        "its requests do not carry the link"
    );
    assert!(
        form.text().await.unwrap().contains(&email),
        "the form names the account"
    );
    let mismatch = choose(&visitor, &link, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(mismatch.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(mismatch.text().await.unwrap().contains("differ"));
    let weak = choose(&visitor, &link, "short", "short").await;
    assert_eq!(weak.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let done = choose(&visitor, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&done), "/login?reset=1");
    let notice = visitor.get_text("/login?reset=1").await;
    assert!(notice.contains("Your password was changed"), "{notice}");

    // The session elsewhere is over; the old password no longer opens the account.
    let signed_out = elsewhere.get("/settings/payment").await;
    assert_eq!(location(&signed_out), "/login");
    let old = app.new_browser().login(&email, PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let new = app.new_browser().login(&email, NEW_PASSWORD).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);

    // The owner hears of it: when, from where, and what to do if it was not them.
    let notices = smtp.wait_for(2, Duration::from_secs(20)).await;
    let changed = notices
        .iter()
        .find(|m| m.subject == "Your payhook password was changed")
        .expect("the notice");
    assert_eq!(changed.envelope_to, std::slice::from_ref(&email));
    assert!(changed.text.contains("127.0.0.1"), "{}", changed.text);
    assert!(changed.text.contains(" UTC"), "{}", changed.text);
    assert!(
        changed
            .text
            .contains(&format!("{PUBLIC_URL}/password/forgot"))
    );

    // Recorded: who asked, and the reset itself.
    let asked = app
        .db
        .audit_events_by_action("password_reset_requested")
        .await
        .unwrap();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].new_value.as_deref(), Some(email.as_str()));
    let reset = app
        .db
        .audit_events_by_action("password_reset")
        .await
        .unwrap();
    assert_eq!(reset.len(), 1);
    assert_eq!(reset[0].actor_email.as_deref(), Some(email.as_str()));
    assert_eq!(reset[0].client_ip.as_deref(), Some("127.0.0.1"));

    // The link is spent: its page is gone and a second use changes nothing.
    let again = visitor.get(path_of(&link)).await;
    assert_eq!(again.status(), StatusCode::GONE);
    assert!(
        again
            .text()
            .await
            .unwrap()
            .contains("href=\"/password/forgot\"")
    );
    let other = "yet another long passphrase";
    let replay = choose(&visitor, &link, other, other).await;
    assert_eq!(replay.status(), StatusCode::GONE);
    let still = app.new_browser().login(&email, NEW_PASSWORD).await;
    assert_eq!(still.status(), StatusCode::SEE_OTHER);
}

async fn every_address_gets_the_same_answer_and_only_an_active_account_gets_mail(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let active = app.create_merchant_user("acme").await;
    let disabled = app.create_merchant_user("acme").await;
    let disabled_id = app
        .db
        .find_login_user(&payhook_testing::email(&disabled))
        .await
        .unwrap()
        .unwrap()
        .id;
    app.db
        .set_user_disabled(disabled_id, true, None)
        .await
        .unwrap();
    let unknown = "nobody@nowhere.example.com".to_owned();

    let mut answers = Vec::new();
    for address in [&active, &unknown, &disabled] {
        let browser = app.new_browser();
        let started = Instant::now();
        let answer = forgot(&browser, address).await;
        let took = started.elapsed();
        let status = answer.status();
        let page = answer.text().await.unwrap();
        // The page repeats what was typed; everything else is the same for every address.
        answers.push((status, page.replace(address.as_str(), "ADDRESS")));
        assert!(
            took >= Duration::from_millis(250),
            "{address}: answered after {took:?}, before the floor every answer waits for"
        );
    }
    assert_eq!(answers[0].0, StatusCode::OK);
    let csrf = |page: &str| csrf_token(page);
    for (status, page) in &answers[1..] {
        assert_eq!(*status, answers[0].0);
        let same = page.replace(&csrf(page), "TOKEN");
        assert_eq!(same, answers[0].1.replace(&csrf(&answers[0].1), "TOKEN"));
    }

    let mail = smtp.mail_to(&active).await;
    assert_eq!(mail.envelope_to, std::slice::from_ref(&active));
    // Every request was dealt with, and one email was queued in all.
    until_answered(&app, "no_account", 2).await;
    assert_eq!(reset_requests(&app, "emailed").await, 1);
    assert_eq!(app.count_rows("email_outbox").await, 1);
    assert_eq!(app.count_rows("password_resets").await, 1);
    assert_eq!(smtp.received().len(), 1);
}

async fn a_link_works_once_and_is_voided_by_a_newer_one_by_a_sign_in_or_by_time(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.create_merchant_user("acme").await;
    let visitor = app.new_browser();

    forgot(&visitor, &email).await;
    let first = reset_link(&smtp.wait_for(1, Duration::from_secs(20)).await[0]);
    forgot(&visitor, &email).await;
    let second = reset_link(&smtp.wait_for(2, Duration::from_secs(20)).await[1]);
    assert_ne!(first, second);
    let voided = visitor.get(path_of(&first)).await;
    assert_eq!(
        voided.status(),
        StatusCode::GONE,
        "a newer link voids the older"
    );
    assert_eq!(visitor.get(path_of(&second)).await.status(), StatusCode::OK);

    // Signing in with the password remembered after all voids the link.
    app.signed_in_browser(&email).await;
    assert_eq!(
        visitor.get(path_of(&second)).await.status(),
        StatusCode::GONE
    );

    // A link older than 30 minutes: its expiry moved into the past, as time would.
    forgot(&visitor, &email).await;
    let third = reset_link(&smtp.wait_for(3, Duration::from_secs(20)).await[2]);
    assert_eq!(visitor.get(path_of(&third)).await.status(), StatusCode::OK);
    app.execute_sql("UPDATE password_resets SET expires_at = expires_at - 1800001")
        .await
        .unwrap();
    assert_eq!(
        visitor.get(path_of(&third)).await.status(),
        StatusCode::GONE
    );
    let expired = choose(&visitor, &third, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(expired.status(), StatusCode::GONE);

    // Made-up tokens, of the right shape or not, are gone too.
    for made_up in [
        "/password/reset/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "/password/reset/not-a-token",
    ] {
        assert_eq!(visitor.get(made_up).await.status(), StatusCode::GONE);
    }
    let unchanged = app.new_browser().login(&email, PASSWORD).await;
    assert_eq!(unchanged.status(), StatusCode::SEE_OTHER, "nothing changed");
}

async fn requests_are_limited_per_address_and_per_client_without_changing_the_answer(
    backend: Backend,
) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.create_merchant_user("acme").await;
    let visitor = app.new_browser();
    for _ in 0..6 {
        let answer = forgot(&visitor, &email).await;
        assert_eq!(answer.status(), StatusCode::OK);
        assert!(answer.text().await.unwrap().contains("id=\"forgot-sent\""));
    }
    // Five emails for five requests; the sixth was answered alike and sent nothing.
    until_answered(&app, "emailed", 5).await;
    assert_eq!(reset_requests(&app, "limited").await, 1);
    assert_eq!(app.count_rows("email_outbox").await, 5);
    smtp.wait_for(5, Duration::from_secs(30)).await;

    // From one client, 20 requests over any addresses (the refused sixth counts too); then
    // even a real account gets none.
    let other = app.create_merchant_user("acme").await;
    for n in 0..14 {
        forgot(&visitor, &format!("nobody{n}@nowhere.example.com")).await;
    }
    let answer = forgot(&visitor, &other).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(answer.text().await.unwrap().contains("id=\"forgot-sent\""));
    // Every request is answered (the fourteen found no account), the last one refused.
    until_answered(&app, "no_account", 14).await;
    assert_eq!(reset_requests(&app, "limited").await, 2);
    assert_eq!(
        app.count_rows("email_outbox").await,
        5,
        "no email for {other}"
    );
    assert!(smtp.mails_to(&other).is_empty());
}

async fn emails_are_written_in_the_language_the_user_last_chose(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.create_merchant_user("acme").await;
    let browser = app.signed_in_browser(&email).await;
    let header = browser.get_text("/settings/payment").await;
    assert!(
        header.contains("action=\"/language/id\""),
        "the switch is a form: {header}"
    );
    let switched = browser
        .submit("/settings/payment", "/language/id", &[])
        .await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
    // A link (GET) switches the page's language only: it writes nothing.
    let visitor = app.signed_in_browser(&email).await;
    let link = visitor.get("/language/en").await;
    assert_eq!(link.status(), StatusCode::SEE_OTHER);
    let cookie = link.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.starts_with("lang=en"),
        "the browser's language switched: {cookie}"
    );

    // Asked from a browser that reads English: the account's language decides.
    forgot(&app.new_browser(), &email).await;
    let mail = smtp.mail_to(&email).await;
    assert_eq!(mail.subject, "Atur ulang kata sandi payhook Anda");
    assert!(
        mail.text.contains("Tautan hanya berlaku sekali"),
        "{}",
        mail.text
    );
    assert!(mail.html.contains("lang=\"id\""), "{}", mail.html);
    let link = reset_link(&mail);

    let visitor = app.new_browser();
    let done = choose(&visitor, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let notices = smtp.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(notices[1].subject, "Kata sandi payhook Anda telah diubah");
}

async fn admins_send_a_reset_link_instead_of_typing_a_password(backend: Backend) {
    let (app, smtp) = spawn_with_smtp(backend).await;
    let email = app.create_merchant_user("acme").await;
    let users_session = app.signed_in_browser(&email).await;
    let admin_email = app.create_admin().await;
    let admin = app.signed_in_browser(&admin_email).await;
    let user_id = |address: String| {
        let db = app.db.clone();
        async move {
            let address = payhook_testing::email(&address);
            db.find_login_user(&address).await.unwrap().unwrap().id
        }
    };
    let action = format!(
        "/admin/users/{}/reset-password",
        user_id(email.clone()).await
    );
    let answer = admin.submit("/admin/users", &action, &[]).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let page = admin.get_text(location(&answer)).await;
    assert!(
        page.contains(&format!("The password of {email} was replaced")),
        "{page}"
    );
    assert!(
        !page.contains("One-time password"),
        "no password shown: {page}"
    );

    let events = app
        .db
        .audit_events_by_action("password_reset_requested")
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.actor_email.as_deref(), Some(admin_email.as_str()));
    assert_eq!(event.actor_role.as_deref(), Some(Role::Admin.as_str()));

    // Someone who knew the old password is out: it no longer works, their session has ended.
    let signed_out = users_session.get("/settings/payment").await;
    assert_eq!(location(&signed_out), "/login");
    let old = app.new_browser().login(&email, PASSWORD).await;
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    // The owner chooses a new one through the link.
    let link = reset_link(&smtp.mail_to(&email).await);
    let visitor = app.new_browser();
    let done = choose(&visitor, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    let new = app.new_browser().login(&email, NEW_PASSWORD).await;
    assert_eq!(new.status(), StatusCode::SEE_OTHER);

    // A disabled user gets no link: enabling comes first.
    let disabled = app.create_merchant_user("acme").await;
    let disabled_id = user_id(disabled.clone()).await;
    app.db
        .set_user_disabled(disabled_id, true, None)
        .await
        .unwrap();
    let action = format!("/admin/users/{disabled_id}/reset-password");
    let refused = admin.submit("/admin/users", &action, &[]).await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("enable the user first")
    );
    // Nothing was queued for them, nor recorded: the refusal changed nothing.
    let links = format!("SELECT COUNT(*) FROM password_resets WHERE user_id = {disabled_id}");
    assert_eq!(app.scalar::<i64>(&links).await, 0);
    let queued = format!("SELECT COUNT(*) FROM email_outbox WHERE recipient = '{disabled}'");
    assert_eq!(app.scalar::<i64>(&queued).await, 0);
    assert_eq!(
        app.db
            .audit_events_by_action("password_reset_requested")
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(smtp.mails_to(&disabled).is_empty());
}

#[tokio::test]
async fn with_no_relay_the_email_is_written_to_the_log_with_its_link() {
    payhook_testing::capture_logs();
    let app = payhook_testing::spawn_app(Backend::Sqlite).await;
    let email = app.create_merchant_user("acme").await;
    forgot(&app.new_browser(), &email).await;
    let link_start = format!("{}/password/reset/", app.address);
    let deadline = Instant::now() + Duration::from_secs(20);
    let marker = "email not sent (no PAYHOOK_SMTP_URL); it reads:";
    loop {
        let logs = payhook_testing::logs();
        // Each logged email: where its line starts, and what follows up to the next one.
        let logged = logs.match_indices(marker).find_map(|(at, _)| {
            let rest = &logs[at + marker.len()..];
            let entry = rest.split(marker).next().unwrap_or(rest);
            let line_start = logs[..at].rfind('\n').map_or(0, |i| i + 1);
            entry
                .contains(&email)
                .then(|| (&logs[line_start..at], entry))
        });
        if let Some((line, entry)) = logged {
            assert!(
                entry.contains(&link_start),
                "the link, under this server's address: {entry}"
            );
            assert!(line.contains("INFO"), "{line}");
            break;
        }
        assert!(Instant::now() < deadline, "the email was never logged");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_reset_link_is_logged_without_its_token() {
    payhook_testing::capture_logs();
    let app = payhook_testing::spawn_app(Backend::Sqlite).await;
    let token = "Zm9yZ290LXBhc3N3b3JkLXRva2VuLW5vdC1sb2dnZWQ";
    let gone = app.get(&format!("/password/reset/{token}")).await;
    assert_eq!(gone.status(), StatusCode::GONE);
    let id = gone.headers()["x-request-id"].to_str().unwrap().to_owned();
    let logs = payhook_testing::logs();
    assert!(
        logs.lines()
            .any(|line| line.contains(&id) && line.contains("http.target=/password/reset/{token}")),
        "the request is logged, by its route"
    );
    assert!(!logs.contains(token), "the token is not in the log");
}
