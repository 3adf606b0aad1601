//! The back office as an Indonesian merchant uses it, at 1280 px and on a 390 px phone, in
//! English and in Bahasa Indonesia: the page asked for while signed out, times in WIB (then in
//! WIT), the log's channel select and a refused filter on the log itself, a retrying
//! notification's attempt and wait and its error in the reader's language, one URL pair applied
//! to a whole section after its review, and the phone's folded menu with the log as cards.

use reqwest::StatusCode;
use serde_json::Value;

use crate::Run;
use crate::chrome::Chrome;
use crate::journeys::{SandboxApi, attribute, count, reload_until};
use payhook_testing::{PASSWORD, Receiver, Reply};

const LOG: &str = "/integration/notifications";

/// Runs `script` (a function body returning a value) on the page, with or without its own
/// JavaScript: WebDriver's scripts run either way.
async fn evaluate(chrome: &Chrome, script: &str) -> Value {
    chrome.client.execute(script, vec![]).await.unwrap()
}

/// Fails unless the page fits the window's width and `css` (the page title) is in the first
/// screen.
async fn assert_fits(chrome: &Chrome, what: &str) {
    let measured = evaluate(
        chrome,
        "const title = document.querySelector('main h1').getBoundingClientRect();
         return [document.documentElement.scrollWidth, window.innerWidth,
                 title.bottom, window.innerHeight];",
    )
    .await;
    let [scroll_width, width, title_bottom, height] =
        [0, 1, 2, 3].map(|i| measured[i].as_f64().unwrap());
    assert!(
        scroll_width <= width,
        "{what} scrolls sideways: {scroll_width} > {width}"
    );
    assert!(
        title_bottom <= height / 2.0,
        "{what}: the title ends {title_bottom} px down a {height} px screen"
    );
}

/// Whether `css` is rendered where the reader can see it (WebDriver's own "displayed" counts
/// everything inside a closed `<details>` as hidden, whatever the stylesheet shows).
async fn displayed(chrome: &Chrome, css: &str) -> bool {
    chrome.find(css).await;
    let script = format!("return document.querySelector({css:?}).checkVisibility();");
    evaluate(chrome, &script).await.as_bool().unwrap()
}

pub async fn a_merchant_reads_the_log_in_wib_at_a_desk_and_on_a_phone(run: Run) {
    let email = run.app.sign_in_new_merchant("acme").await;
    let api = SandboxApi::of(&run.app).await;
    let server = Receiver::start(Reply::script(&[], 503)).await;
    let url = format!("http://127.0.0.1:{}/payhook/cimb", server.port());
    let saved = run.app.save("va", "cimb", &url, "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    api.pay("va/cimb", "INV-2026-0042", None).await;

    // Opened while signed out, the log is where the sign-in ends.
    let mut chrome = run.browser("native").await;
    let asked = format!("{LOG}?status=retrying");
    chrome.go(&asked).await;
    chrome.wait_for_path_starting("/login?next=").await;
    chrome.fill("#email", &email).await;
    chrome.fill("#password", PASSWORD).await;
    chrome
        .click("form[action='/login'] button[type=submit]")
        .await;
    chrome.wait_for_path(&asked).await;
    let row = "tr.delivery[data-status='retrying']";
    reload_until(&chrome, &asked, row).await;

    // Times in WIB, to the second, with UTC in their title.
    let when = format!("{row} td:first-child time");
    let shown = chrome.text(&when).await;
    assert!(shown.ends_with(" WIB") && shown.len() == 23, "{shown}");
    assert!(attribute(&chrome, &when, "title").await.ends_with(" UTC"));
    assert!(
        chrome
            .text(&format!("{row} [data-progress]"))
            .await
            .starts_with("attempt 1 of 2, next in "),
        "the attempt and the wait"
    );
    chrome.shot("log-in-wib").await;

    // The channel select: with JavaScript it follows the section picked; without it, every
    // section's channels are offered and the option names its section.
    chrome.go(LOG).await;
    if chrome.javascript {
        chrome.click("#f-section option[value='va']").await;
        let offered = evaluate(
            &chrome,
            "return [...document.querySelectorAll('#f-channel optgroup')]
                .filter(g => !g.hidden).map(g => g.dataset.section);",
        )
        .await;
        assert_eq!(
            offered,
            serde_json::json!(["va"]),
            "only the section's channels"
        );
    } else {
        assert!(count(&chrome, "#f-channel optgroup").await >= 6);
    }
    chrome.click("#f-channel option[value='va/cimb']").await;
    chrome.click("#log-filters button[type=submit]").await;
    chrome.wait_for_path_starting(&format!("{LOG}?")).await;
    assert_eq!(count(&chrome, "tr.delivery").await, 1);
    assert_eq!(
        attribute(&chrome, "#f-section option[selected]", "value").await,
        "va"
    );

    // A refused filter stays on the log, with the menu and the other filters.
    chrome
        .go(&format!("{LOG}?status=retrying&channel=Nowhere"))
        .await;
    assert!(
        chrome
            .text("#filter-error")
            .await
            .contains("no channel has that name, code or gateway id")
    );
    assert!(chrome.exists("nav.sidenav").await);
    assert_eq!(
        attribute(&chrome, "#f-status option[selected]", "value").await,
        "retrying"
    );
    chrome.assert_accessible("a refused filter").await;

    // In Bahasa Indonesia.
    chrome.click("button[data-lang='id']").await;
    chrome.find("html[lang='id']").await;
    chrome.go(LOG).await;
    assert!(
        chrome
            .text(&format!("{row} [data-progress]"))
            .await
            .starts_with("percobaan 1 dari 2, berikutnya dalam "),
    );
    assert!(
        chrome
            .text(&format!("{row} .error-text"))
            .await
            .contains("HTTP 503: notifikasi tidak diterima"),
        "the delivery error in Bahasa Indonesia"
    );
    chrome.go(&format!("{LOG}?channel=bca")).await;
    assert!(
        chrome
            .text("#filter-error")
            .await
            .contains("kanal itu ada di lebih dari satu bagian")
    );

    // One URL pair for every channel of a section, after a review of what changes.
    chrome.go("/settings/payment/va").await;
    chrome.click("#apply-link").await;
    chrome.wait_for_path("/settings/payment/va/apply").await;
    let shared = "https://acme.co.id/payhook/va";
    chrome.fill("#apply_sandbox_url", shared).await;
    chrome.click("form.apply button[type=submit]").await;
    chrome.find("#apply-summary").await;
    let channels = count(&chrome, "tr[id^='apply-']").await;
    assert_eq!(channels, 9, "every channel of the section is listed");
    assert_eq!(
        attribute(&chrome, "#apply-summary", "data-changed").await,
        channels.to_string()
    );
    assert!(
        chrome.text("#apply-cimb").await.contains(&url),
        "cimb's old URL"
    );
    chrome.shot("apply-review").await;
    chrome.assert_accessible("the review of an apply").await;
    chrome
        .click("form[action='/settings/payment/va/apply/confirm'] button[type=submit]")
        .await;
    chrome.wait_for_path("/settings/payment/va").await;
    chrome
        .wait_for_text("p.flash", &format!("{channels} dari {channels} kanal"))
        .await;
    for channel in ["bca", "cimb", "mandiri"] {
        assert!(
            chrome
                .text(&format!("#channel-{channel}"))
                .await
                .contains(shared)
        );
    }

    // One password shows both secret keys, each with a copy button (a script's: without one,
    // the key is there to select by hand).
    chrome.go("/integration/api-keys").await;
    chrome.fill("#reveal-password", PASSWORD).await;
    chrome.click("#reveal-form button[type=submit]").await;
    let sandbox = chrome.text("#secret-sandbox").await;
    let production = chrome.text("#secret-production").await;
    assert!(sandbox.starts_with("SK-") && production.starts_with("SK-") && sandbox != production);
    let copy = "button[data-copy='secret-sandbox']";
    assert_eq!(displayed(&chrome, copy).await, chrome.javascript);
    if chrome.javascript {
        chrome.click(copy).await;
        let selected = evaluate(&chrome, "return window.getSelection().toString();").await;
        assert_eq!(selected, sandbox.as_str(), "the key is selected to copy");
        let said = chrome.text(copy).await;
        assert!(
            said.starts_with("Tersalin") || said.starts_with("Terpilih"),
            "{said}"
        );
    }
    chrome.shot("api-keys").await;

    // Another zone, chosen on the account page.
    chrome.go("/account/password").await;
    chrome.click("#time_zone option[value='WIT']").await;
    chrome.click("#time-zone button[type=submit]").await;
    chrome.wait_for_text("p.flash", "WIT").await;
    chrome.go(LOG).await;
    assert!(chrome.text(&when).await.ends_with(" WIT"));
    assert!(chrome.text("label[for='f-from']").await.contains("WIT"));

    // On a phone: the menu folds under its button, the title is in the first screen, nothing
    // scrolls sideways, and each notification is a card of labelled values.
    chrome.client.set_window_size(390, 844).await.unwrap();
    for language in ["id", "en"] {
        chrome.go(LOG).await;
        assert_fits(&chrome, &format!("the log ({language})")).await;
        assert!(
            !displayed(&chrome, "nav.sidenav").await,
            "the menu is folded"
        );
        assert_eq!(
            evaluate(
                &chrome,
                "return getComputedStyle(document.querySelector('tr.delivery td')).display;"
            )
            .await,
            "block",
            "a card"
        );
        chrome.assert_accessible("the log on a phone").await;
        if language == "en" {
            chrome.shot("phone-log").await;
        }
        assert!(
            !displayed(&chrome, "nav.sidenav a[href='/settings/payment']").await,
            "folded"
        );
        chrome.click("details#menu > summary").await;
        assert!(displayed(&chrome, "nav.sidenav a[href='/settings/payment']").await);
        for page in [
            "/settings/payment",
            "/settings/payment/va",
            "/account/password",
        ] {
            chrome.go(page).await;
            assert_fits(&chrome, page).await;
        }
        if language == "id" {
            chrome.click("button[data-lang='en']").await;
            chrome.find("html[lang='en']").await;
        }
    }
    chrome.go("/settings/payment/va").await;
    chrome.shot("phone-section").await;
    chrome.client.set_window_size(1280, 900).await.unwrap();
    chrome.go(LOG).await;
    assert!(
        displayed(&chrome, "nav.sidenav").await,
        "a wide screen shows the menu beside the page"
    );
    assert!(
        !displayed(&chrome, "details#menu").await,
        "no menu button on a wide screen"
    );
    chrome.close().await;
}
