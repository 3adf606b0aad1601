//! What merchants and admins do in the browser, step by step, with a screenshot per step.

use std::time::{Duration, Instant};

use fantoccini::Locator;
use fantoccini::key::Key;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::Run;
use crate::chrome::Chrome;
pub use crate::native::a_merchant_reads_the_log_in_wib_at_a_desk_and_on_a_phone;
pub use crate::teams::an_owner_invites_a_developer_then_demotes_and_removes_them;
use payhook_testing::{PASSWORD, PUBLIC_URL, TestApp, path_of, secret_of_uri, totp_ahead};
use payhook_testing::{Receiver, Reply, sandbox_credentials};

/// Presses CONFIGURE on a channel row: a dialog with JavaScript, the CONFIGURE page without.
async fn open_configure(chrome: &Chrome, section: &str, channel: &str) {
    chrome
        .click(&format!("#channel-{channel} a[data-configure]"))
        .await;
    arrive_at_configure(chrome, section, channel).await;
}

async fn arrive_at_configure(chrome: &Chrome, section: &str, channel: &str) {
    if chrome.javascript {
        chrome
            .find("dialog#configure-dialog[open] form.configure")
            .await;
        assert_eq!(
            chrome.path().await,
            format!("/settings/payment/{section}"),
            "the dialog opens in place"
        );
    } else {
        chrome
            .wait_for_path(&format!("/settings/payment/{section}/{channel}"))
            .await;
    }
}

/// Where the CONFIGURE form is: inside the open dialog with JavaScript, on its page without.
fn form(chrome: &Chrome) -> &'static str {
    if chrome.javascript {
        "dialog[open] form.configure"
    } else {
        "form.configure"
    }
}

pub async fn a_merchant_configures_a_channel(run: Run) {
    let email = run.app.create_merchant_user("acme").await;
    let mut chrome = run.browser("configure").await;
    chrome.sign_in(&email, PASSWORD).await;
    chrome.assert_accessible("the payment settings").await;
    chrome.shot("payment-settings").await;
    chrome.click("main a[href='/settings/payment/va']").await;
    chrome.wait_for_path("/settings/payment/va").await;
    assert!(chrome.text("#channel-bca").await.contains("Not configured"));
    chrome.shot("section").await;

    open_configure(&chrome, "va", "bca").await;
    chrome.shot("configure").await;
    let scope = form(&chrome);
    chrome
        .fill(
            &format!("{scope} #sandbox_url"),
            "https://abc123.ngrok.io/hook",
        )
        .await;
    chrome.click(&format!("{scope} button[type=submit]")).await;
    chrome
        .wait_for_text(&format!("{scope} #sandbox_url-errors"), "ngrok")
        .await;
    let kept = chrome
        .find(&format!("{scope} #sandbox_url"))
        .await
        .prop("value")
        .await
        .unwrap();
    assert_eq!(
        kept.as_deref(),
        Some("https://abc123.ngrok.io/hook"),
        "the input is kept"
    );
    if chrome.javascript {
        assert_eq!(
            chrome.path().await,
            "/settings/payment/va",
            "the error shows inside the dialog"
        );
    }
    chrome.shot("configure-error").await;

    chrome
        .fill(
            &format!("{scope} #sandbox_url"),
            "https://acme.co.id/payhook/notify",
        )
        .await;
    chrome.click(&format!("{scope} button[type=submit]")).await;
    chrome.wait_for_path("/settings/payment/va").await;
    chrome.wait_for_text(".flash", "saved").await;
    let row = chrome.text("#channel-bca").await;
    assert!(
        row.contains("https://acme.co.id/payhook/notify") && row.contains("Sandbox only"),
        "{row}"
    );
    chrome.shot("saved").await;

    chrome.client.set_window_size(390, 844).await.unwrap();
    chrome.go("/settings/payment/va").await;
    chrome.find("#channel-bca").await;
    if chrome.javascript {
        let overflow = chrome
            .client
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await
            .unwrap();
        assert!(
            overflow.as_i64().unwrap_or(1) <= 0,
            "no sideways scrolling at phone width: {overflow}"
        );
    }
    chrome.shot("phone").await;
    chrome.close().await;
}

pub async fn a_keyboard_only_save(run: Run) {
    let email = run.app.create_merchant_user("acme").await;
    let mut chrome = run.browser("keyboard").await;
    chrome.sign_in(&email, PASSWORD).await;
    chrome.go("/settings/payment/va").await;
    tab_until(&chrome, "href", "/settings/payment/va/bni").await;
    chrome.keys(&Key::Enter.to_string()).await;
    arrive_at_configure(&chrome, "va", "bni").await;
    if chrome.javascript {
        assert_eq!(
            chrome.focused_attr("id").await,
            "sandbox_url",
            "the dialog focuses its first field"
        );
        chrome.keys(&Key::Escape.to_string()).await;
        assert!(
            !chrome.exists("dialog[open]").await,
            "Escape closes the dialog"
        );
        assert!(
            chrome.focused_attr("href").await.ends_with("/va/bni"),
            "focus returns to CONFIGURE"
        );
        chrome.keys(&Key::Enter.to_string()).await;
        arrive_at_configure(&chrome, "va", "bni").await;
    } else {
        tab_until(&chrome, "id", "sandbox_url").await;
    }
    chrome.keys("https://acme.co.id/bni-sandbox").await;
    chrome.keys(&Key::Tab.to_string()).await;
    assert_eq!(chrome.focused_attr("id").await, "production_url");
    chrome.keys("https://acme.co.id/bni").await;
    chrome.shot("typed").await;
    chrome.keys(&Key::Enter.to_string()).await;
    chrome
        .wait_for_text("#channel-bni", "https://acme.co.id/bni")
        .await;
    assert_eq!(chrome.path().await, "/settings/payment/va");
    let row = chrome.text("#channel-bni").await;
    assert!(
        row.contains("https://acme.co.id/bni") && row.contains("Configured"),
        "{row}"
    );
    chrome.shot("saved").await;
    chrome.close().await;
}

/// Presses Tab until the focused element's `attribute` ends with `wanted`.
async fn tab_until(chrome: &Chrome, attribute: &str, wanted: &str) {
    for _ in 0..80 {
        chrome.keys(&Key::Tab.to_string()).await;
        if chrome.focused_attr(attribute).await.ends_with(wanted) {
            return;
        }
    }
    panic!("Tab never reached an element whose {attribute} ends with {wanted}");
}

pub async fn two_sessions_conflict_and_the_second_sees_both_versions(run: Run) {
    let first_email = run.app.create_merchant_user("acme").await;
    let second_email = run.app.create_merchant_user("acme").await;
    let mut first = run.browser("conflict-first").await;
    let mut second = run.browser("conflict-second").await;
    first.sign_in(&first_email, PASSWORD).await;
    second.sign_in(&second_email, PASSWORD).await;
    for chrome in [&first, &second] {
        chrome.go("/settings/payment/ewallet").await;
        open_configure(chrome, "ewallet", "ovo").await;
    }
    let scope = form(&first);
    first
        .fill(
            &format!("{scope} #sandbox_url"),
            "https://first.acme.co.id/ovo",
        )
        .await;
    first.click(&format!("{scope} button[type=submit]")).await;
    first.wait_for_path("/settings/payment/ewallet").await;
    first
        .wait_for_text("#channel-ovo", "https://first.acme.co.id/ovo")
        .await;

    second
        .fill(
            &format!("{scope} #sandbox_url"),
            "https://second.acme.co.id/ovo",
        )
        .await;
    second.click(&format!("{scope} button[type=submit]")).await;
    second
        .wait_for_text(".conflict", "Someone else changed")
        .await;
    let conflict = second.text(".conflict").await;
    assert!(
        conflict.contains("https://first.acme.co.id/ovo"),
        "theirs: {conflict}"
    );
    assert!(
        conflict.contains("https://second.acme.co.id/ovo"),
        "mine: {conflict}"
    );
    assert!(conflict.contains(&first_email), "who: {conflict}");
    second.shot("conflict").await;
    first.close().await;
    second.close().await;
}

pub async fn an_admin_reads_the_audit_log_and_signs_out(run: Run) {
    run.app.sign_in_new_merchant("acme").await;
    run.app
        .save("va", "bca", "https://acme.co.id/audit-me", "")
        .await;
    let admin = run.app.create_admin().await;
    let mut chrome = run.browser("admin-audit").await;
    chrome.sign_in(&admin, PASSWORD).await;
    chrome.click("nav.sidenav a[href='/admin/audit']").await;
    chrome.wait_for_path("/admin/audit").await;
    chrome
        .wait_for_text("table.audit", "https://acme.co.id/audit-me")
        .await;
    chrome.shot("audit").await;
    chrome.fill("#f-merchant", "acme").await;
    chrome.click("form.filters button[type=submit]").await;
    chrome
        .wait_for_path_starting("/admin/audit?merchant=acme")
        .await;
    let table = chrome.text("table.audit").await;
    assert!(
        table.contains("Set the sandbox URL to") && !table.contains(&admin),
        "only acme's events"
    );
    chrome.shot("audit-filtered").await;

    chrome.click("form[action='/logout'] button").await;
    chrome.wait_for_path("/login?signed_out=1").await;
    chrome.go("/admin/audit").await;
    chrome.wait_for_path("/login?next=%2Fadmin%2Faudit").await;
    chrome.close().await;
}

pub async fn the_same_error_reads_in_indonesian_after_the_switch(run: Run) {
    let email = run.app.create_merchant_user("acme").await;
    let mut chrome = run.browser("indonesian").await;
    chrome.sign_in(&email, PASSWORD).await;
    chrome.click("nav.languages [data-lang=id]").await;
    chrome
        .wait_for_text("main h1", "Pengaturan Pembayaran")
        .await;
    assert_eq!(
        chrome.path().await,
        "/settings/payment",
        "the switch returns to the same page"
    );
    chrome.click("main a[href='/settings/payment/va']").await;
    chrome.wait_for_path("/settings/payment/va").await;
    assert!(chrome.text("#channel-bca").await.contains("Belum diatur"));
    open_configure(&chrome, "va", "bca").await;
    let scope = form(&chrome);
    chrome
        .fill(
            &format!("{scope} #sandbox_url"),
            "https://abc123.ngrok.io/hook",
        )
        .await;
    chrome.click(&format!("{scope} button[type=submit]")).await;
    chrome
        .wait_for_text(
            &format!("{scope} #sandbox_url-errors"),
            "Tunnel ngrok tidak diterima sebagai URL notifikasi",
        )
        .await;
    chrome.shot("configure-error-id").await;
    chrome.go("/settings/payment/va").await;
    assert_eq!(
        chrome
            .find("html")
            .await
            .attr("lang")
            .await
            .unwrap()
            .as_deref(),
        Some("id"),
        "remembered"
    );
    chrome.close().await;
}

/// A merchant's sandbox API client, with the credentials the API keys page shows.
pub(crate) struct SandboxApi<'a> {
    app: &'a TestApp,
    client_id: String,
    secret: String,
}

impl<'a> SandboxApi<'a> {
    /// Reads the sandbox credentials of the user signed in on the app's own HTTP client.
    pub(crate) async fn of(app: &'a TestApp) -> Self {
        let (client_id, secret) = sandbox_credentials(app).await;
        Self {
            app,
            client_id,
            secret,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .app
            .client
            .request(method, self.app.url(path))
            .basic_auth(&self.client_id, Some(&self.secret));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let answer: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {answer}");
        answer
    }

    /// Creates a sandbox payment on `channel` (`va/bca`), notifying only `target` when given
    /// (the channel's saved URL otherwise), marks it paid, and waits until its notification's
    /// first attempt is over.
    pub(crate) async fn pay(&self, channel: &str, invoice: &str, target: Option<&str>) {
        let body =
            json!({ "channel": channel, "order": { "invoice_number": invoice, "amount": 150000 } });
        let mut request = self
            .app
            .client
            .post(self.app.url("/api/v1/payments"))
            .basic_auth(&self.client_id, Some(&self.secret));
        if let Some(target) = target {
            request = request.header("X-Override-Notification", target);
        }
        let payment = request.json(&body).send().await.unwrap();
        assert_eq!(payment.status(), StatusCode::CREATED);
        let payment: Value = payment.json().await.unwrap();
        let path = format!("/api/v1/payments/{}", payment["id"].as_str().unwrap());
        self.call(
            reqwest::Method::POST,
            &format!("{path}/simulate"),
            Some(json!({ "status": "SUCCESS" })),
        )
        .await;
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let payment = self.call(reqwest::Method::GET, &path, None).await;
            let attempted = payment["deliveries"]
                .as_array()
                .and_then(|deliveries| deliveries.first())
                .and_then(|delivery| delivery["attempts"].as_array())
                .is_some_and(|attempts| !attempts.is_empty());
            if attempted {
                return;
            }
            assert!(Instant::now() < deadline, "never attempted: {payment}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Opens `path` again and again until `css` is on it (at most about 15 s), as someone
/// waiting for a change would press reload.
pub(crate) async fn reload_until(chrome: &Chrome, path: &str, css: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        chrome.go(path).await;
        if chrome.exists(css).await {
            return;
        }
        if Instant::now() > deadline {
            let source = chrome.client.source().await.unwrap_or_default();
            panic!("{path} never showed {css}:\n{source}");
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub(crate) async fn count(chrome: &Chrome, css: &str) -> usize {
    chrome
        .client
        .find_all(Locator::Css(css))
        .await
        .unwrap()
        .len()
}

pub(crate) async fn attribute(chrome: &Chrome, css: &str, name: &str) -> String {
    let element = chrome.find(css).await;
    element.attr(name).await.unwrap().unwrap_or_default()
}

pub async fn a_failed_notification_is_found_resent_and_delivered(run: Run) {
    let email = run.app.sign_in_new_merchant("acme").await;
    let api = SandboxApi::of(&run.app).await;
    // The URL saved for BCA answers nothing but 500 (the merchant's old server); the fixed
    // one answers 200. BNI's never answers anything but 500.
    let old_server = Receiver::start(Reply::script(&[], 500)).await;
    let new_server = Receiver::start(Reply::ok("OK")).await;
    let broken = Receiver::start(Reply::script(&[], 500)).await;
    let bca_url = format!("http://127.0.0.1:{}/payhook/bca", old_server.port());
    let fixed_url = format!("http://127.0.0.1:{}/payhook/bca", new_server.port());
    let bni_url = format!("http://127.0.0.1:{}/payhook/bni", broken.port());
    let saved = run.app.save("va", "bca", &bca_url, "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    api.pay("va/bca", "INV-2026-0001", None).await;

    let mut chrome = run.browser("notifications").await;
    chrome.sign_in(&email, PASSWORD).await;
    chrome.go("/settings/payment/va").await;
    chrome.find("#channel-bca").await;
    assert!(
        !chrome.exists("a[data-failing]").await,
        "one failed notification does not make a channel failing"
    );

    chrome
        .click("nav.sidenav a[href='/integration/notifications']")
        .await;
    chrome.wait_for_path("/integration/notifications").await;
    let row = "tr.delivery[data-status='retrying']";
    let text = chrome.text(row).await;
    assert!(
        text.contains("INV-2026-0001") && text.contains(&bca_url) && text.contains("Retrying"),
        "{text}"
    );
    assert!(
        chrome
            .text(&format!("{row} .error-text"))
            .await
            .contains("500"),
        "the error: {text}"
    );
    assert_eq!(chrome.text(&format!("{row} td[data-http]")).await, "500");
    assert_eq!(chrome.text(&format!("{row} td[data-attempts]")).await, "1");
    let id = attribute(&chrome, row, "data-id").await;
    let detail = format!("/integration/notifications/{id}");
    chrome.go("/integration/notifications#deliveries").await;
    chrome.find(row).await;
    chrome.shot("notification-log").await;

    chrome.click(&format!("{row} a[href='{detail}']")).await;
    chrome.wait_for_path(&detail).await;
    assert_eq!(
        attribute(&chrome, "#delivery-status", "data-status").await,
        "retrying"
    );
    assert_eq!(count(&chrome, "section.attempt").await, 1);
    assert_eq!(chrome.text("#attempt-1 .http-status").await, "500");
    assert!(chrome.text("#delivery-error").await.contains("500"));
    assert_eq!(chrome.text("#delivery-url").await, bca_url);
    chrome.shot("notification-detail").await;

    // The merchant fixes BCA's URL, then sends the notification again to the URL saved now.
    assert!(
        !chrome.exists("#resend-to-saved").await,
        "nothing saved elsewhere yet"
    );
    chrome.go("/settings/payment/va/bca").await;
    chrome.fill("form.configure #sandbox_url", &fixed_url).await;
    chrome.click("form.configure button[type=submit]").await;
    chrome.wait_for_path("/settings/payment/va").await;
    chrome.go(&detail).await;
    assert!(chrome.text("#saved-url").await.contains(&fixed_url));
    chrome.click("#resend-to-saved").await;
    chrome.wait_for_path(&detail).await;
    chrome.wait_for_text("p.flash", "Resend queued").await;
    reload_until(
        &chrome,
        &detail,
        "#delivery-status[data-status='delivered']",
    )
    .await;
    assert_eq!(count(&chrome, "section.attempt").await, 2);
    assert_eq!(
        attribute(&chrome, "#attempt-2", "data-outcome").await,
        "delivered"
    );
    assert_eq!(chrome.text("#attempt-2 .http-status").await, "200");
    assert_eq!(
        chrome.text("#attempt-2 .manual").await,
        format!("resent by {email}")
    );
    assert!(
        !chrome.exists("#attempt-1 .manual").await,
        "the first attempt was the scheduled one"
    );
    assert!(
        !chrome.exists("#delivery-error").await,
        "no error once delivered"
    );
    chrome.shot("notification-delivered").await;

    // Three notifications in a row failing at their first attempt make a configured channel
    // failing.
    let saved = run.app.save("va", "bni", &bni_url, "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    for n in 1..=3 {
        api.pay("va/bni", &format!("INV-2026-010{n}"), None).await;
    }
    chrome.go("/settings/payment/va").await;
    let badge = "#channel-bni a[data-failing]";
    assert_eq!(chrome.text(badge).await, "Failing");
    assert!(
        !chrome.exists("#channel-bca a[data-failing]").await,
        "BCA delivered its last notification"
    );
    assert!(
        attribute(&chrome, badge, "title").await.contains("500"),
        "the badge names the last error"
    );
    chrome.shot("failing-badge").await;
    chrome.click(badge).await;
    chrome
        .wait_for_path("/integration/notifications?section=va&channel=bni&environment=sandbox")
        .await;
    assert_eq!(count(&chrome, "tr.delivery").await, 3, "only BNI's");
    assert_eq!(
        count(&chrome, "tr.delivery[data-status='retrying']").await,
        3
    );
    assert!(!chrome.text("#deliveries").await.contains("INV-2026-0001"));

    // The log opens on the list: the last 24 hours in one line above the filters and the
    // table; the chart lives on the health page the line links to.
    chrome.go("/integration/notifications").await;
    assert_eq!(
        count(&chrome, "tr.delivery").await,
        4,
        "every notification of the merchant"
    );
    assert!(!chrome.exists("#health-chart").await, "the chart moved");
    let line = chrome.text("#last-day").await;
    assert!(
        line.contains("1 delivered") && line.contains("3 still retrying"),
        "{line}"
    );
    assert!(line.contains("BNI"), "the failing channel is named: {line}");
    let above = chrome
        .client
        .execute(
            "const l = document.getElementById('last-day').getBoundingClientRect().top; \
             const t = document.getElementById('deliveries').getBoundingClientRect().top; \
             return [l, t];",
            vec![],
        )
        .await;
    // WebDriver's own scripts run with the page's JavaScript off too.
    let positions = above.expect("the page's layout is readable");
    let top = |i: usize| positions[i].as_f64().unwrap();
    assert!(top(0) < top(1), "the line comes before the table");
    assert!(
        top(1) < 900.0,
        "the table starts in the first screen: {positions:?}"
    );
    chrome.shot("notification-log-list-first").await;
    chrome.click("#health-link").await;
    chrome
        .wait_for_path("/integration/notifications/health")
        .await;
    chrome.find("#health-chart g.bar").await;
    assert_eq!(
        attribute(&chrome, "#health-chart", "data-per").await,
        "day",
        "a handful of notifications is drawn per day"
    );
    assert_eq!(
        chrome.text("#total-retried").await,
        "1",
        "BCA after the resend"
    );
    assert_eq!(chrome.text("#total-retrying").await, "3");
    let channels = chrome.text("#channel-health").await;
    assert!(
        channels.contains("BCA") && channels.contains("BNI"),
        "{channels}"
    );
    assert!(
        chrome
            .find("#health-chart")
            .await
            .is_displayed()
            .await
            .unwrap()
    );
    chrome.assert_accessible("delivery health").await;
    chrome.shot("notification-health").await;
    chrome.go("/integration/notifications").await;
    chrome.assert_accessible("notification log").await;

    // The same log, detail and resend in Bahasa Indonesia.
    chrome.click("nav.languages [data-lang=id]").await;
    chrome
        .wait_for_text("#health-link", "Kesehatan pengiriman")
        .await;
    assert_eq!(chrome.path().await, "/integration/notifications");
    let bca_row = chrome.text(&format!("tr.delivery[data-id='{id}']")).await;
    assert!(bca_row.contains("Terkirim"), "{bca_row}");
    assert!(
        chrome
            .text("tr.delivery[data-status='retrying']")
            .await
            .contains("Dicoba ulang")
    );
    chrome
        .click(&format!("tr.delivery[data-id='{id}'] a[href='{detail}']"))
        .await;
    chrome.wait_for_path(&detail).await;
    assert_eq!(
        chrome.text("#attempt-2 .manual").await,
        format!("dikirim ulang oleh {email}")
    );
    assert_eq!(
        chrome.text("#resend-form button[value=sent]").await,
        "Kirim ulang sekarang"
    );
    assert_eq!(
        chrome.text("#resend-to-saved").await,
        "Kirim ulang ke URL tersimpan"
    );
    chrome.click("#resend-to-saved").await;
    chrome
        .wait_for_text("p.flash", "Pengiriman ulang diantrekan: segera dikirim.")
        .await;
    reload_until(&chrome, &detail, "#attempt-3[data-outcome='delivered']").await;
    assert_eq!(
        chrome.text("#attempt-3 .manual").await,
        format!("dikirim ulang oleh {email}")
    );
    chrome.shot("notification-detail-id").await;
    chrome.go("/settings/payment/va").await;
    // A failing channel is "Bermasalah", a failed notification "Gagal".
    assert_eq!(chrome.text(badge).await, "Bermasalah");
    assert!(
        attribute(&chrome, badge, "title")
            .await
            .contains("3 notifikasi berturut-turut atau lebih gagal.")
    );
    assert_eq!(old_server.requests().len(), 1, "one failure at the old URL");
    assert_eq!(
        new_server.requests().len(),
        2,
        "two resends to the fixed one"
    );
    chrome.close().await;
}

pub async fn a_merchant_who_forgot_the_password_chooses_a_new_one_by_email(run: Run) {
    const NEW_PASSWORD: &str = "remembered this time 2026";
    let email = run.app.create_merchant_user("acme").await;
    let mut chrome = run.browser("password-reset").await;
    chrome.go("/login").await;
    chrome.click("#forgot-password").await;
    chrome.wait_for_path("/password/forgot").await;
    chrome.fill("#email", &email).await;
    chrome.shot("forgot").await;
    chrome.click("main form button[type=submit]").await;
    chrome
        .wait_for_text("#forgot-sent", "If an account exists")
        .await;
    chrome.shot("forgot-sent").await;

    let mail = run.smtp.mail_to(&email).await;
    let link = mail
        .link_starting(&format!("{PUBLIC_URL}/password/reset/"))
        .expect("the email carries the link");
    let path = path_of(&link);
    chrome.shot_of_email("email-reset", &mail.html).await;
    chrome.go(path).await;
    assert!(chrome.text("#reset-for").await.contains(&email));
    chrome.fill("#new_password", "too short").await;
    chrome.fill("#confirm_password", "too short").await;
    chrome.click("main form button[type=submit]").await;
    chrome.wait_for_text("#new_password-errors", "12").await;
    chrome.shot("reset-refused").await;

    chrome.fill("#new_password", NEW_PASSWORD).await;
    chrome.fill("#confirm_password", NEW_PASSWORD).await;
    chrome.click("main form button[type=submit]").await;
    chrome.wait_for_path("/login?reset=1").await;
    chrome
        .wait_for_text(".flash", "Your password was changed")
        .await;
    chrome.shot("reset-done").await;
    chrome.sign_in(&email, NEW_PASSWORD).await;
    let notice = run.smtp.wait_for(2, Duration::from_secs(20)).await;
    chrome.shot_of_email("email-changed", &notice[1].html).await;

    // The link is spent.
    chrome.go(path).await;
    chrome.wait_for_text("#reset-gone", "no longer works").await;
    chrome.shot("link-spent").await;
    chrome.close().await;
}

/// Admins must use two-factor, as the server's default has it.
pub fn admins_need_two_factor(settings: &mut payhook::config::Settings) {
    settings.admin_two_factor = payhook::config::TwoFactorPolicy::Required;
}

pub async fn an_admin_sets_up_two_factor_and_signs_in_with_a_code(run: Run) {
    let admin = run.app.create_admin().await;
    let mut chrome = run.browser("two-factor").await;
    chrome.go("/login").await;
    chrome.fill("#email", &admin).await;
    chrome.fill("#password", PASSWORD).await;
    chrome
        .click("form[action='/login'] button[type=submit]")
        .await;
    // Every page sends an admin without two-factor to set it up.
    chrome.wait_for_path("/account/two-factor").await;
    chrome.go("/admin/audit").await;
    chrome.wait_for_path("/account/two-factor").await;
    chrome
        .wait_for_text("#enrol-required", "Administrators must")
        .await;
    chrome.fill("#setup-password", PASSWORD).await;
    chrome.shot("enrol-required").await;
    chrome
        .click("form[action='/account/two-factor/setup'] button")
        .await;
    chrome.wait_for_path("/account/two-factor/setup").await;
    assert!(chrome.exists(".qr svg").await, "the QR code is drawn");

    // What a password manager would read: the otpauth URI shown as text.
    chrome.click("main details summary").await;
    let uri = chrome.text("#otpauth-uri").await;
    assert!(uri.starts_with("otpauth://totp/payhook:"), "{uri}");
    assert!(uri.ends_with("&issuer=payhook"), "{uri}");
    let secret = secret_of_uri(&uri);
    chrome.shot("setup").await;
    chrome.fill("#code", "123456").await;
    chrome
        .click("form[action='/account/two-factor/confirm'] button")
        .await;
    chrome.wait_for_text("#code-error", "does not match").await;
    chrome.fill("#code", &totp_ahead(&secret, 0)).await;
    chrome
        .click("form[action='/account/two-factor/confirm'] button")
        .await;
    chrome.wait_for_text("#two-factor-on", "is on").await;
    assert_eq!(count(&chrome, "#recovery-codes li").await, 10);
    let download = attribute(&chrome, "#download-codes", "href").await;
    assert!(download.starts_with("data:text/plain"), "{download}");
    chrome.shot("recovery-codes").await;

    // The admin pages open now; signed out, the password leads to the code.
    chrome.go("/admin/audit").await;
    chrome.wait_for_path("/admin/audit").await;
    chrome.click("form[action='/logout'] button").await;
    chrome.wait_for_path("/login?signed_out=1").await;
    chrome.fill("#email", &admin).await;
    chrome.fill("#password", PASSWORD).await;
    chrome
        .click("form[action='/login'] button[type=submit]")
        .await;
    chrome.wait_for_path("/login/two-factor").await;
    chrome.fill("#code", "000000").await;
    chrome
        .click("form[action='/login/two-factor'] button")
        .await;
    chrome.wait_for_text("#code-error", "4 tries left").await;
    chrome.fill("#code", &totp_ahead(&secret, 1)).await;
    chrome.shot("second-step").await;
    chrome
        .click("form[action='/login/two-factor'] button")
        .await;
    chrome.wait_for_path("/admin").await;
    chrome.go("/account/two-factor").await;
    chrome.wait_for_text("#two-factor-state", "On").await;
    chrome.close().await;
}
