//! Apply to all channels in a section: the pair is judged like a CONFIGURE save at both steps,
//! reviewed channel by channel, then saved to every channel in one transaction with the audit
//! events a save writes per channel changed; otherwise nothing at all.

use reqwest::StatusCode;

use payhook::cli::RoleArg;
use payhook::store::{ChainReport, ChainedEvent, ChannelSetting};
use payhook_testing::on_both_backends;
use payhook_testing::{
    Backend, Browser, Options, Probe, StaticResolver, TestApp, hidden_value, location,
    spawn_with_dns,
};

on_both_backends!(
    the_review_lists_each_change_and_confirming_saves_the_pair_with_a_save_s_audit_events,
    a_database_failure_on_one_channel_saves_no_channel_and_audits_nothing,
    a_pair_the_policy_refuses_at_either_step_changes_nothing_and_names_the_rule,
    a_channel_changed_since_the_review_makes_the_confirm_save_nothing,
    without_the_token_or_a_changing_role_nothing_is_applied,
);

const SANDBOX: &str = "https://sandbox.acme.co.id/notify";
const PRODUCTION: &str = "https://hooks.acme.co.id/notify";
const OLD: &str = "https://old.acme.co.id/notify";
/// A page every signed-in user may read, to take a CSRF token from.
const TOKEN_PAGE: &str = "/account/password";

/// An app judging URLs strictly (no private targets) with the DNS check answered by `dns`,
/// its merchant `acme` signed in; every name the tests use resolves to a public address.
async fn shop(backend: Backend) -> (TestApp, StaticResolver) {
    let dns = StaticResolver::new([
        ("sandbox.acme.co.id", "34.101.2.3"),
        ("hooks.acme.co.id", "34.101.2.4"),
        ("old.acme.co.id", "34.101.2.5"),
    ]);
    let app = spawn_with_dns(backend, &dns, Options::strict()).await;
    app.sign_in_new_merchant("acme").await;
    (app, dns)
}

fn apply_path(section: &str) -> String {
    format!("/settings/payment/{section}/apply")
}

/// Posts the pair from `section`'s apply form to its review, as `browser`.
async fn review(browser: &Browser, section: &str, sandbox: &str, production: &str) -> String {
    let page = apply_path(section);
    let fields = [("sandbox_url", sandbox), ("production_url", production)];
    let response = browser.submit(&page, &apply_path(section), &fields).await;
    assert_eq!(response.status(), StatusCode::OK, "the review is shown");
    response.text().await.unwrap()
}

/// The review's confirm form: its action and every hidden field, the token included.
fn confirm_form(review: &str) -> (String, Vec<(String, String)>) {
    let action = review
        .split("<form method=\"post\" action=\"")
        .find(|rest| rest.contains("/apply/confirm\""))
        .and_then(|rest| rest.split('"').next())
        .expect("the review carries a confirm form")
        .to_owned();
    let fields = ["csrf_token", "sandbox_url", "production_url", "versions"]
        .map(|name| (name.to_owned(), hidden_value(review, name)))
        .to_vec();
    (action, fields)
}

async fn post_form(
    browser: &Browser,
    action: &str,
    fields: &[(String, String)],
) -> reqwest::Response {
    let form: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    browser.post(action, &form).await
}

/// The value of the input with `id` on `page`.
fn input_value(page: &str, id: &str) -> String {
    let start = page
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no input {id}"));
    let rest = &page[start..];
    let value = rest.find("value=\"").expect("the input has a value") + "value=\"".len();
    rest[value..].split('"').next().unwrap().to_owned()
}

/// Every audit event still chains to the one before.
async fn assert_chain_intact(app: &TestApp) {
    let checked = app.count_rows("audit_events").await;
    let checked = u64::try_from(checked).unwrap();
    assert_eq!(
        app.db.verify_audit_chain().await.unwrap(),
        ChainReport::Intact { checked }
    );
}

/// The channel's stored settings (merchant 1 is the first one made).
async fn stored(app: &TestApp, section: &str, channel: &str) -> ChannelSetting {
    app.db.channel_setting(1, section, channel).await.unwrap()
}

async fn settings_changes(app: &TestApp) -> Vec<ChainedEvent> {
    app.db
        .audit_events_by_action("settings_change")
        .await
        .unwrap()
}

/// (channel, field, old value, new value) of each event.
fn changes(events: &[ChainedEvent]) -> Vec<(String, String, Option<String>, Option<String>)> {
    events
        .iter()
        .map(|e| {
            (
                e.channel.clone().unwrap_or_default(),
                e.field.clone().unwrap_or_default(),
                e.old_value.clone(),
                e.new_value.clone(),
            )
        })
        .collect()
}

fn change(
    channel: &str,
    field: &str,
    old: Option<&str>,
    new: &str,
) -> (String, String, Option<String>, Option<String>) {
    (
        channel.to_owned(),
        field.to_owned(),
        old.map(str::to_owned),
        Some(new.to_owned()),
    )
}

async fn the_review_lists_each_change_and_confirming_saves_the_pair_with_a_save_s_audit_events(
    backend: Backend,
) {
    let (app, _dns) = shop(backend).await;
    // ovo has the pair already, dana neither URL of it, shopeepay only its production URL;
    // linkaja and doku_wallet were never saved.
    for (channel, sandbox, production) in [
        ("ovo", SANDBOX, PRODUCTION),
        ("dana", OLD, ""),
        ("shopeepay", OLD, PRODUCTION),
    ] {
        let saved = app.save("ewallet", channel, sandbox, production).await;
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    }
    let before = settings_changes(&app).await.len();
    assert_eq!(before, 5);

    let section = app.get_text("/settings/payment/ewallet").await;
    assert!(
        section.contains("id=\"apply-link\" href=\"/settings/payment/ewallet/apply\""),
        "the section page links to the form"
    );
    assert!(
        !section.contains("apply_sandbox_url"),
        "the form has a page of its own"
    );
    let page = app.get_text("/settings/payment/ewallet/apply").await;
    assert!(page.contains("Apply to all channels in this section"));
    assert!(page.contains("action=\"/settings/payment/ewallet/apply\""));
    assert_eq!(input_value(&page, "apply_sandbox_url"), "");
    let copied = app
        .get_text("/settings/payment/ewallet/apply?copy_from=ovo")
        .await;
    assert_eq!(input_value(&copied, "apply_sandbox_url"), SANDBOX);
    assert_eq!(input_value(&copied, "apply_production_url"), PRODUCTION);
    assert!(copied.contains("<option value=\"ovo\" selected>OVO</option>"));
    assert!(
        !copied.contains("<option value=\"linkaja\""),
        "a channel with no URL has nothing to copy"
    );

    let page = review(&app, "ewallet", SANDBOX, PRODUCTION).await;
    assert!(page.contains("data-changed=\"4\">4 of 5 channels change."));
    assert!(page.contains("id=\"apply-ovo\" data-change=\"unchanged\""));
    for channel in ["dana", "shopeepay", "linkaja", "doku_wallet"] {
        assert!(
            page.contains(&format!("id=\"apply-{channel}\" data-change=\"changed\"")),
            "{channel} changes"
        );
    }
    assert!(page.contains(&format!("<del>{OLD}</del> → <ins>{SANDBOX}</ins>")));
    assert!(page.contains(&format!(
        "<span class=\"muted\">not set</span> → <ins>{PRODUCTION}</ins>"
    )));
    assert_eq!(
        settings_changes(&app).await.len(),
        before,
        "the review saves nothing"
    );
    assert_eq!(stored(&app, "ewallet", "linkaja").await.version, 0);

    let (action, fields) = confirm_form(&page);
    assert_eq!(action, "/settings/payment/ewallet/apply/confirm");
    let response = post_form(&app, &action, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/settings/payment/ewallet");
    let page = app.get_text("/settings/payment/ewallet").await;
    assert!(page.contains("Notification URLs applied to 4 of 5 channels of e-Wallet."));

    for (channel, version) in [
        ("ovo", 1),
        ("dana", 2),
        ("shopeepay", 2),
        ("linkaja", 1),
        ("doku_wallet", 1),
    ] {
        let setting = stored(&app, "ewallet", channel).await;
        assert_eq!(setting.sandbox_url.as_deref(), Some(SANDBOX), "{channel}");
        assert_eq!(
            setting.production_url.as_deref(),
            Some(PRODUCTION),
            "{channel}"
        );
        assert_eq!(setting.version, version, "{channel}");
    }
    // Each changed channel, in catalog order, gets what its own save would have written: an
    // event per URL that changed; ovo, unchanged, gets none.
    let events = settings_changes(&app).await;
    let (url, prod) = ("sandbox_url", "production_url");
    assert_eq!(
        changes(&events[before..]),
        [
            change("shopeepay", url, Some(OLD), SANDBOX),
            change("dana", url, Some(OLD), SANDBOX),
            change("dana", prod, None, PRODUCTION),
            change("linkaja", url, None, SANDBOX),
            change("linkaja", prod, None, PRODUCTION),
            change("doku_wallet", url, None, SANDBOX),
            change("doku_wallet", prod, None, PRODUCTION),
        ]
    );
    let email = app
        .scalar::<String>("SELECT email FROM users WHERE role = 'owner'")
        .await;
    for event in &events[before..] {
        assert_eq!(event.section.as_deref(), Some("ewallet"));
        assert_eq!(event.actor_email.as_deref(), Some(email.as_str()));
    }
    let history = app.get_text("/settings/payment/ewallet/dana/history").await;
    assert_eq!(history.matches("class=\"change\"").count(), 3);
    assert_chain_intact(&app).await;
}

/// The writes a failing save meets: a channel's settings row inserted or updated.
const SETTING_WRITES: [&str; 2] = ["INSERT", "UPDATE"];

async fn a_database_failure_on_one_channel_saves_no_channel_and_audits_nothing(backend: Backend) {
    let (app, _dns) = shop(backend).await;
    // bca (first) is updated, mandiri and bri inserted before bni, fourth, fails.
    app.save("va_snap", "bca", OLD, "").await;
    app.save("va_snap", "bni", OLD, "").await;
    let page = review(&app, "va_snap", SANDBOX, PRODUCTION).await;
    assert!(page.contains("15 of 15 channels change."));
    let (action, fields) = confirm_form(&page);
    app.refuse_writes_where("channel_settings", &SETTING_WRITES, "NEW.channel = 'bni'")
        .await;

    let response = post_form(&app, &action, &fields).await;
    assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("nothing was changed")
    );
    for channel in ["bca", "bni"] {
        let setting = stored(&app, "va_snap", channel).await;
        assert_eq!(setting.sandbox_url.as_deref(), Some(OLD), "{channel}");
        assert_eq!(setting.production_url, None, "{channel}");
        assert_eq!(setting.version, 1, "{channel}");
    }
    assert_eq!(
        app.scalar::<i64>("SELECT COUNT(*) FROM channel_settings")
            .await,
        2,
        "no channel before bni was saved"
    );
    assert_eq!(settings_changes(&app).await.len(), 2, "no audit event");

    // The same confirmation goes through once the database takes the write.
    app.allow_writes("channel_settings", &SETTING_WRITES).await;
    let response = post_form(&app, &action, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.scalar::<i64>(
            "SELECT COUNT(*) FROM channel_settings WHERE sandbox_url = \
             'https://sandbox.acme.co.id/notify'"
        )
        .await,
        15
    );
    assert_eq!(settings_changes(&app).await.len(), 2 + 15 * 2);
    assert_chain_intact(&app).await;
}

/// The HTML inside the error list tied to the apply form's `field`.
fn field_errors<'a>(page: &'a str, field: &str) -> &'a str {
    let marker = format!("id=\"apply_{field}-errors\">");
    let start = page
        .find(&marker)
        .unwrap_or_else(|| panic!("no error list next to {field}"))
        + marker.len();
    &page[start..start + page[start..].find("</ul>").unwrap()]
}

async fn a_pair_the_policy_refuses_at_either_step_changes_nothing_and_names_the_rule(
    backend: Backend,
) {
    let (app, dns) = shop(backend).await;
    app.save("cstore", "alfa", OLD, "").await;

    let tunnel = "https://acme.ngrok.io/notify";
    let response = app
        .submit(
            &apply_path("cstore"),
            &apply_path("cstore"),
            &[("sandbox_url", tunnel), ("production_url", PRODUCTION)],
        )
        .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(field_errors(&page, "sandbox_url").contains("ngrok tunnels are not accepted"));
    assert_eq!(
        input_value(&page, "apply_sandbox_url"),
        tunnel,
        "what was typed stays"
    );
    assert_eq!(input_value(&page, "apply_production_url"), PRODUCTION);
    assert!(
        !page.contains("/apply/confirm"),
        "no confirm form for a refused pair"
    );

    // A review that passed, confirmed with its production URL changed to plain http on a
    // loopback address.
    let page = review(&app, "cstore", SANDBOX, PRODUCTION).await;
    let (action, fields) = confirm_form(&page);
    let tampered: Vec<(String, String)> = fields
        .iter()
        .map(|(name, value)| match name.as_str() {
            "production_url" => (name.clone(), "http://127.0.0.1/notify".to_owned()),
            _ => (name.clone(), value.clone()),
        })
        .collect();
    let response = post_form(&app, &action, &tampered).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    let errors = field_errors(&page, "production_url");
    assert!(
        errors.contains("Production notification URLs must use https://"),
        "{errors}"
    );
    assert!(
        errors.contains("This IP address is not reachable from the internet"),
        "{errors}"
    );
    assert_eq!(
        input_value(&page, "apply_production_url"),
        "http://127.0.0.1/notify"
    );

    // The same review, confirmed after its production host turned to a private address.
    dns.set("hooks.acme.co.id", &["10.0.0.7"]);
    let response = post_form(&app, &action, &fields).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = response.text().await.unwrap();
    assert!(
        field_errors(&page, "production_url")
            .contains("points to an address that is not reachable")
    );

    let alfa = stored(&app, "cstore", "alfa").await;
    assert_eq!((alfa.sandbox_url.as_deref(), alfa.version), (Some(OLD), 1));
    assert_eq!(stored(&app, "cstore", "indomaret").await.version, 0);
    assert_eq!(settings_changes(&app).await.len(), 1);
}

async fn a_channel_changed_since_the_review_makes_the_confirm_save_nothing(backend: Backend) {
    let (app, _dns) = shop(backend).await;
    let page = review(&app, "paylater", SANDBOX, PRODUCTION).await;
    let (action, fields) = confirm_form(&page);
    app.save("paylater", "kredivo", OLD, "").await;

    let response = post_form(&app, &action, &fields).await;
    assert_eq!(response.status(), StatusCode::CONFLICT);
    let page = response.text().await.unwrap();
    assert!(page.contains("Someone else changed channels of this section"));
    assert!(page.contains(&format!("<del>{OLD}</del> → <ins>{SANDBOX}</ins>")));
    for channel in ["akulaku", "indodana"] {
        assert_eq!(stored(&app, "paylater", channel).await.version, 0);
    }
    assert_eq!(stored(&app, "paylater", "kredivo").await.version, 1);
    assert_eq!(settings_changes(&app).await.len(), 1);

    // Confirming the review of what is stored now applies the pair.
    let (action, fields) = confirm_form(&page);
    let response = post_form(&app, &action, &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let kredivo = stored(&app, "paylater", "kredivo").await;
    assert_eq!(kredivo.sandbox_url.as_deref(), Some(SANDBOX));
    assert_eq!(kredivo.version, 2);
}

async fn without_the_token_or_a_changing_role_nothing_is_applied(backend: Backend) {
    let (app, _dns) = shop(backend).await;
    let page = review(&app, "cstore", SANDBOX, PRODUCTION).await;
    let (action, fields) = confirm_form(&page);

    let without_token: Vec<(String, String)> = fields
        .iter()
        .filter(|(name, _)| name != "csrf_token")
        .cloned()
        .collect();
    let response = post_form(&app, &action, &without_token).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let pair = [("sandbox_url", SANDBOX), ("production_url", PRODUCTION)];
    let response = app.post(&apply_path("cstore"), &pair).await;
    assert_eq!(response.status(), StatusCode::FORBIDDEN);

    let viewer = app.create_member("acme", RoleArg::Viewer).await;
    let viewer = app.signed_in_browser(&viewer).await;
    let admin = app.create_admin().await;
    let admin = app.signed_in_browser(&admin).await;
    let viewer_page = viewer.get_text("/settings/payment/cstore").await;
    assert!(
        !viewer_page.contains("/apply\""),
        "no apply form for a viewer"
    );
    assert_eq!(
        viewer.get(&apply_path("cstore")).await.status(),
        StatusCode::FORBIDDEN,
        "nor its page"
    );
    let admin_page = admin
        .get_text("/settings/payment/cstore?merchant=acme")
        .await;
    assert!(
        !admin_page.contains("/apply\""),
        "no apply form for an admin"
    );
    for (who, browser) in [("viewer", &viewer), ("admin", &admin)] {
        let reviewed = browser
            .submit(TOKEN_PAGE, &apply_path("cstore"), &pair)
            .await;
        assert_eq!(reviewed.status(), StatusCode::FORBIDDEN, "{who} reviews");
        let mut own: Vec<(String, String)> = without_token.clone();
        let token = payhook_testing::csrf_token(&browser.get_text(TOKEN_PAGE).await);
        own.push(("csrf_token".to_owned(), token));
        let response = post_form(browser, &action, &own).await;
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{who} confirms");
    }

    assert_eq!(app.count_rows("channel_settings").await, 0);
    assert!(settings_changes(&app).await.is_empty());
    // The owner's own confirmation still goes through: only the refusals stopped it.
    assert_eq!(
        post_form(&app, &action, &fields).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.count_rows("channel_settings").await, 2);
}
