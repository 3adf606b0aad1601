//! The back office as an Indonesian merchant reads it: times in their zone (WIB unless chosen
//! otherwise) with UTC in each time's title, date filters read in that zone, the log's channel
//! filter by name with refusals shown on the log itself, the empty log saying what to do, and
//! a retrying notification saying which attempt it is at.

use reqwest::StatusCode;
use time::macros::format_description;

use crate::payments::{Api, order, spawn};
use payhook_testing::on_both_backends;
use payhook_testing::{Backend, Probe, Receiver, Reply, TestApp, location, send_test};

on_both_backends!(
    times_are_shown_in_the_chosen_zone_with_utc_in_their_title,
    date_filters_read_dates_in_the_readers_zone,
    the_channel_filter_takes_names_and_refusals_stay_on_the_log,
    a_retrying_notification_says_which_attempt_and_when_the_next,
    admins_land_on_the_overview_and_the_brand_leads_each_home,
);

const LOG: &str = "/integration/notifications";
const HOUR_MS: i64 = 3_600_000;

/// `ms` shifted by `hours` as `YYYY-MM-DD HH:MM:SS`, worked out here with `time`'s formatter.
fn shown(ms: i64, hours: i64) -> String {
    let at =
        time::OffsetDateTime::from_unix_timestamp((ms + hours * HOUR_MS).div_euclid(1000)).unwrap();
    at.format(format_description!(
        "[year]-[month]-[day] [hour]:[minute]:[second]"
    ))
    .unwrap()
}

async fn choose_zone(app: &TestApp, zone: &str) -> reqwest::Response {
    app.submit(
        "/account/password",
        "/account/time-zone",
        &[("time_zone", zone)],
    )
    .await
}

async fn times_are_shown_in_the_chosen_zone_with_utc_in_their_title(backend: Backend) {
    let app = spawn(backend, "1h").await;
    app.sign_in_new_merchant("acme").await;
    app.save("va", "bca", "https://hooks.example.com/bca", "")
        .await;
    let saved_at: i64 = app
        .scalar("SELECT updated_at FROM channel_settings WHERE channel = 'bca'")
        .await;
    let page = app.get_text("/settings/payment/va").await;
    let utc = shown(saved_at, 0);
    assert!(
        page.contains(&format!(
            "title=\"{utc} UTC\">{} WIB</time>",
            shown(saved_at, 7)
        )),
        "WIB by default, UTC in the title: {page}"
    );
    let account = app.get_text("/account/password").await;
    assert!(account.contains("<option value=\"WIB\" selected>"));
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let merchant = admin.get_text("/admin/merchants/acme").await;
    assert!(
        merchant.contains(&format!("{} WIB</time>", shown(saved_at, 7)))
            && !merchant.contains("&lt;time"),
        "the admin's merchant page shows the time, not its markup: {merchant}"
    );

    let chosen = choose_zone(&app, "WITA").await;
    assert_eq!(chosen.status(), StatusCode::SEE_OTHER);
    let page = app.get_text("/settings/payment/va").await;
    assert!(
        page.contains(&format!("{} WITA</time>", shown(saved_at, 8))),
        "{page}"
    );
    assert!(page.contains(&format!("title=\"{utc} UTC\"")));
    assert!(
        app.get_text("/account/password")
            .await
            .contains("<option value=\"WITA\" selected>")
    );

    let audited = app
        .db
        .audit_events_by_action("time_zone_changed")
        .await
        .unwrap();
    assert_eq!(audited.len(), 1);
    let change = (
        audited[0].old_value.as_deref(),
        audited[0].new_value.as_deref(),
    );
    assert_eq!(change, (Some("WIB"), Some("WITA")));
    choose_zone(&app, "WITA").await;
    assert_eq!(
        app.db
            .audit_events_by_action("time_zone_changed")
            .await
            .unwrap()
            .len(),
        1,
        "choosing the zone already chosen changes nothing"
    );

    let refused = choose_zone(&app, "PST").await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .unwrap()
            .contains("Choose WIB, WITA, WIT or UTC.")
    );
    assert!(
        app.get_text("/settings/payment/va")
            .await
            .contains(" WITA</time>"),
        "a refused choice changes nothing"
    );
}

async fn date_filters_read_dates_in_the_readers_zone(backend: Backend) {
    let app = spawn(backend, "1h").await;
    app.sign_in_new_merchant("acme").await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let url = format!("http://127.0.0.1:{}/notify", receiver.port());
    app.save("va", "cimb", &url, "").await;
    assert_eq!(
        send_test(&app, "va", "cimb", "sandbox").await.status(),
        StatusCode::OK
    );
    // 2026-12-05 20:00 UTC is already 2026-12-06 03:00 in WIB.
    let at = time::macros::datetime!(2026-12-05 20:00 UTC).unix_timestamp() * 1000;
    app.execute_sql(&format!("UPDATE deliveries SET created_at = {at}"))
        .await
        .unwrap();
    let listed = |page: String| page.matches("<tr class=\"delivery\"").count();

    let wib_day = app
        .get_text(&format!("{LOG}?from=2026-12-06&to=2026-12-06"))
        .await;
    assert_eq!(listed(wib_day.clone()), 1, "{wib_day}");
    assert!(wib_day.contains("2026-12-06 03:00:00 WIB</time>"));
    assert!(wib_day.contains("From (date, WIB)"));
    let utc_day = app
        .get_text(&format!("{LOG}?from=2026-12-05&to=2026-12-05"))
        .await;
    assert_eq!(listed(utc_day), 0, "the 5th in WIB ended before it");

    choose_zone(&app, "UTC").await;
    let utc_day = app
        .get_text(&format!("{LOG}?from=2026-12-05&to=2026-12-05"))
        .await;
    assert_eq!(listed(utc_day.clone()), 1, "{utc_day}");
    assert!(utc_day.contains("2026-12-05 20:00:00 UTC</time>"));
    let wib_day = app
        .get_text(&format!("{LOG}?from=2026-12-06&to=2026-12-06"))
        .await;
    assert_eq!(listed(wib_day), 0);
}

async fn the_channel_filter_takes_names_and_refusals_stay_on_the_log(backend: Backend) {
    let app = spawn(backend, "1h").await;
    app.sign_in_new_merchant("acme").await;
    let fresh = app.get_text(LOG).await;
    assert!(
        fresh.contains("No notifications yet: save a sandbox URL and send a test"),
        "{fresh}"
    );
    let filtered = app.get_text(&format!("{LOG}?status=failed")).await;
    assert!(filtered.contains("No notifications match these filters."));

    for query in [
        "section=va&channel=Mandiri",
        "section=va&channel=VIRTUAL_ACCOUNT_BANK_MANDIRI",
        "channel=va/mandiri",
    ] {
        let page = app.get(&format!("{LOG}?{query}")).await;
        assert_eq!(page.status(), StatusCode::OK, "{query}");
        let page = page.text().await.unwrap();
        assert!(
            page.contains("<option value=\"va/mandiri\" selected>Mandiri</option>"),
            "{query}: {page}"
        );
        assert!(page.contains("<option value=\"va\" selected>"), "{query}");
    }
    let ovo = app.get_text(&format!("{LOG}?channel=ovo")).await;
    assert!(
        ovo.contains("value=\"ewallet/ovo\" selected"),
        "a channel in one section only finds its section"
    );

    let refused = app
        .get(&format!(
            "{LOG}?status=failed&channel=nowhere&invoice=INV-9"
        ))
        .await;
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().await.unwrap();
    assert!(page.contains("id=\"filter-error\""), "{page}");
    assert!(page.contains("no channel has that name, code or gateway id"));
    assert!(page.contains("class=\"sidenav\""), "the menu stays");
    assert!(page.contains("<option value=\"nowhere\" selected>nowhere</option>"));
    assert!(page.contains("<option value=\"failed\" selected>"));
    assert!(
        page.contains("value=\"INV-9\""),
        "the other filters are kept"
    );
    assert!(
        page.contains("id=\"f-channel\" name=\"channel\" aria-invalid=\"true\""),
        "{page}"
    );
}

async fn a_retrying_notification_says_which_attempt_and_when_the_next(backend: Backend) {
    let app = spawn(backend, "1h,2h,3h").await;
    let receiver = Receiver::start(Reply::script(&[], 500)).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let header = [("X-Override-Notification", target.as_str())];
    let (status, payment) = api.create(order("INV-1"), &header).await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let id = payment["id"].as_str().unwrap().to_owned();
    api.simulate(&id, "SUCCESS").await;
    let mut page = String::new();
    for _ in 0..200 {
        page = app.get_text(LOG).await;
        if page.contains("data-status=\"retrying\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(page.contains("data-status=\"retrying\""), "{page}");
    // Made just now, due in an hour: the wait rounds up to the whole minute.
    assert!(
        page.contains("attempt 1 of 4, next in 1 h<")
            || page.contains("attempt 1 of 4, next in 59 min"),
        "{page}"
    );
    app.submit("/account/password", "/language/id", &[]).await;
    let page = app.get_text(LOG).await;
    assert!(
        page.contains("percobaan 1 dari 4, berikutnya dalam 1 jam<")
            || page.contains("percobaan 1 dari 4, berikutnya dalam 59 menit"),
        "{page}"
    );
    let delivery: i64 = app.scalar("SELECT MAX(id) FROM deliveries").await;
    let detail = app.get_text(&format!("{LOG}/{delivery}")).await;
    assert!(detail.contains("percobaan 1 dari 4"), "{detail}");
}

async fn admins_land_on_the_overview_and_the_brand_leads_each_home(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let admin = app.create_admin().await;
    let signed_in = app.new_browser();
    let response = signed_in.login(&admin, payhook_testing::PASSWORD).await;
    assert_eq!(location(&response), "/admin", "the Overview, not a picker");
    assert_eq!(location(&signed_in.get("/").await), "/admin");

    let merchant = app.create_merchant_user("acme").await;
    let member = app.new_browser();
    let response = member.login(&merchant, payhook_testing::PASSWORD).await;
    assert_eq!(location(&response), "/settings/payment");
    assert_eq!(location(&member.get("/").await), "/settings/payment");
}
