//! What merchants and admins do in the browser, step by step, with a screenshot per step.

use fantoccini::key::Key;

use crate::Run;
use crate::chrome::Chrome;
use crate::support::PASSWORD;

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
        table.contains("Settings change") && !table.contains(&admin),
        "only acme's events"
    );
    chrome.shot("audit-filtered").await;

    chrome.click("form[action='/logout'] button").await;
    chrome.wait_for_path("/login?signed_out=1").await;
    chrome.go("/admin/audit").await;
    chrome.wait_for_path("/login").await;
    chrome.close().await;
}

pub async fn the_same_error_reads_in_indonesian_after_the_switch(run: Run) {
    let email = run.app.create_merchant_user("acme").await;
    let mut chrome = run.browser("indonesian").await;
    chrome.sign_in(&email, PASSWORD).await;
    chrome.click("nav.languages a[hreflang=id]").await;
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
