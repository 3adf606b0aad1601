//! Integration > HTTP Notification: the log's keyset pages and filters, an attempt as the
//! receiver got it, resend, isolation between merchants, the health chart and failing badges.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::payments::{Api, order, spawn};
use payhook_testing::on_both_backends;
use payhook_testing::{Backend, Browser, Probe, TestApp, csrf_token, location, rel_link};
use payhook_testing::{Receiver, Reply};

on_both_backends!(
    pages_follow_the_keyset_and_filters_hold_while_new_deliveries_arrive,
    nonsense_filters_are_refused_by_name,
    an_attempt_shows_exactly_what_the_receiver_got,
    a_failed_notification_is_resent_delivered_and_audited_and_a_double_resend_sends_once,
    merchants_see_only_their_own_log_and_admins_read_without_resending,
    a_merchant_has_at_most_ten_resends_waiting,
    a_merchant_who_fixed_the_url_resends_to_the_saved_one,
    the_chart_counts_equal_its_table_and_failing_channels_are_flagged,
    a_notification_not_accepted_reads_in_the_readers_language_and_exports_stay_english,
    an_unreachable_receiver_is_shown_with_the_transports_own_words,
    a_receiver_answering_https_without_tls_is_a_tls_failure,
);

const LOG: &str = "/integration/notifications";

/// Creates a payment paid at once, notifying `targets` (comma-separated); its id.
async fn paid(api: &Api<'_>, invoice: &str, targets: &str) -> String {
    let header = [("X-Override-Notification", targets)];
    let (status, payment) = api.create(order(invoice), &header).await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let id = payment["id"].as_str().unwrap().to_owned();
    let (status, answer) = api.simulate(&id, "SUCCESS").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    id
}

/// The delivery ids listed on a log page, in order.
pub fn row_ids(html: &str) -> Vec<i64> {
    html.split("<tr class=\"delivery\" data-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// Undoes askama's HTML escaping (named and decimal entities).
fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let end = rest.find(';').unwrap_or(0);
        let decoded = match &rest[1..end.max(1)] {
            "quot" => Some('"'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "amp" => Some('&'),
            entity => entity
                .strip_prefix('#')
                .and_then(|n| n.parse::<u32>().ok())
                .and_then(char::from_u32),
        };
        match decoded {
            Some(c) if end > 0 => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of the first `<{tag} ...{marker}...>` element's content.
fn inner(html: &str, marker: &str, tag: &str) -> Option<String> {
    let at = html.find(marker)?;
    let open_end = at + html[at..].find('>')? + 1;
    let close = open_end + html[open_end..].find(&format!("</{tag}>"))?;
    Some(unescape(&html[open_end..close]))
}

async fn delivery_ids(api: &Api<'_>, payment: &str) -> Vec<i64> {
    let (_, payment) = api.get(payment).await;
    payment["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_i64().unwrap())
        .collect()
}

/// Reloads a delivery's page until `done` holds (at most 20 s); the last page.
async fn page_until(browser: &Browser, path: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let page = browser.get_text(path).await;
        if done(&page) {
            return page;
        }
        assert!(Instant::now() < deadline, "{path} never got there:\n{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The newest `notification_resend` audit events.
async fn resend_events(app: &TestApp) -> Vec<payhook::store::AuditEntry> {
    let filter = payhook::store::AuditFilter {
        action: Some(payhook::store::AuditAction::NotificationResend),
        ..Default::default()
    };
    app.db.audit_page(&filter, 10).await.unwrap()
}

/// How many deliveries the log lists with `query`.
async fn count(app: &TestApp, query: &str) -> usize {
    row_ids(&app.get_text(&format!("{LOG}?{query}")).await).len()
}

/// Today in WIB, the zone a merchant reads dates in unless they chose another.
fn today() -> time::Date {
    (time::OffsetDateTime::now_utc() + time::Duration::hours(7)).date()
}

async fn pages_follow_the_keyset_and_filters_hold_while_new_deliveries_arrive(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let base = format!("http://127.0.0.1:{}", receiver.port());
    let two = format!("{base}/a,{base}/b");
    for n in 0..55 {
        paid(&api, &format!("INV-{n}"), &two).await;
    }

    let first = app.get_text(LOG).await;
    let page1 = row_ids(&first);
    assert_eq!(page1.len(), 50);
    assert!(page1.windows(2).all(|w| w[0] > w[1]), "newest first");
    assert!(rel_link(&first, "prev").is_none());

    // New deliveries arrive while the reader pages back.
    for n in 55..58 {
        paid(&api, &format!("INV-{n}"), &two).await;
    }
    let older = rel_link(&first, "next").expect("an older page");
    let second = app.get_text(&older).await;
    let page2 = row_ids(&second);
    assert_eq!(page2.len(), 50);
    assert!(page2[0] < *page1.last().unwrap(), "no duplicates");
    let third = app.get_text(&rel_link(&second, "next").unwrap()).await;
    let page3 = row_ids(&third);
    assert_eq!(page3.len(), 10);
    assert!(rel_link(&third, "next").is_none(), "the last page");
    let all: BTreeSet<i64> = page1.iter().chain(&page2).chain(&page3).copied().collect();
    assert_eq!(all.len(), 110, "no gaps, no duplicates");
    let newer = rel_link(&second, "prev").expect("a newer page");
    let back = app.get_text(&newer).await;
    assert_eq!(row_ids(&back), page1, "going back shows the same page");
    let newest = row_ids(&app.get_text(LOG).await);
    assert_eq!(newest.len(), 50);
    assert_eq!(newest.iter().filter(|id| !all.contains(id)).count(), 6);

    assert_eq!(
        count(&app, "invoice=INV-7").await,
        2,
        "both targets of one payment"
    );
    assert_eq!(count(&app, "invoice=INV-7&section=ewallet").await, 0);
    assert_eq!(count(&app, "section=va&channel=bca&invoice=INV-8").await, 2);
    assert_eq!(count(&app, "environment=sandbox&invoice=INV-7").await, 2);
    assert_eq!(count(&app, "environment=production").await, 0);
    assert_eq!(count(&app, "environment=sandbox&status=test").await, 0);
    let day = today();
    assert_eq!(count(&app, &format!("from={day}&invoice=INV-9")).await, 2);
    let yesterday = day.previous_day().unwrap();
    assert_eq!(count(&app, &format!("to={yesterday}")).await, 0);
    assert_eq!(count(&app, &format!("to={day}&invoice=INV-9")).await, 2);
    let filtered = app.get_text(&format!("{LOG}?invoice=INV-1")).await;
    assert!(
        filtered.contains("value=\"INV-1\""),
        "the form keeps the filter"
    );

    app.save("va", "bca", &format!("{base}/test"), "").await;
    let sent = payhook_testing::send_test(&app, "va", "bca", "sandbox").await;
    assert_eq!(sent.status(), StatusCode::OK);
    let tests = app.get_text(&format!("{LOG}?status=test")).await;
    assert_eq!(row_ids(&tests).len(), 1);
    assert!(tests.contains("data-kind=\"test\""));
}

async fn nonsense_filters_are_refused_by_name(backend: Backend) {
    let app = spawn(backend, "1h").await;
    app.sign_in_new_merchant("acme").await;
    let long = "X".repeat(65);
    let cases = [
        ("status=bogus", "Status"),
        ("colour=red", "colour"),
        ("channel=bca", "Channel"),
        ("section=va&channel=ovo", "Channel"),
        ("section=va&channel=va_snap/bca", "Channel"),
        ("channel=nowhere", "Channel"),
        ("section=atm", "Section"),
        ("environment=live", "Environment"),
        ("from=2026-02-30", "From"),
        ("to=yesterday", "To"),
        ("from=2026-12-02&to=2026-12-01", "To"),
        ("before=abc", "Older than"),
        ("before=5&after=2", "Newer than"),
        (&format!("invoice={long}") as &str, "Invoice or payment id"),
    ];
    for (query, named) in cases {
        let response = app.get(&format!("{LOG}?{query}")).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{query}");
        let page = unescape(&response.text().await.unwrap());
        let said = if named == "colour" {
            format!("There is no filter called \"{named}\"")
        } else {
            format!("The filter \"{named}\" is not valid")
        };
        assert!(page.contains(&said), "{query} names {named}: {page}");
        assert!(
            page.contains("id=\"filter-error\"") && page.contains("class=\"sidenav\""),
            "{query}: refused on the log itself, with the menu"
        );
    }
    let fine = app.get(&format!("{LOG}?section=&status=&invoice=")).await;
    assert_eq!(
        fine.status(),
        StatusCode::OK,
        "blank filters are no filters"
    );
}

async fn an_attempt_shows_exactly_what_the_receiver_got(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let receiver = Receiver::start(Reply::ok("{\"status\":\"OK\"}")).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let target = format!("http://127.0.0.1:{}/notify?shop=1&x=2", receiver.port());
    let payment = paid(&api, "INV-1", &target).await;
    api.settled(&payment).await;
    let id = delivery_ids(&api, &payment).await[0];

    let page = app.get_text(&format!("{LOG}/{id}")).await;
    let got = receiver.single();
    let raw = inner(&page, "id=\"delivery-raw-body\"", "pre").unwrap();
    assert_eq!(raw, got.body, "the body byte for byte");
    let attempt = &page[page.find("id=\"attempt-1\"").unwrap()..];
    let table = &attempt[..attempt.find("</table>").unwrap()];
    let shown: Vec<(String, String)> = table
        .split("<tr><th scope=\"row\">")
        .skip(1)
        .map(|row| {
            let name = unescape(row.split('<').next().unwrap());
            let value = inner(row, "<code", "code").unwrap();
            (name, value)
        })
        .collect();
    assert!(shown.len() >= 4, "{shown:?}");
    for (name, value) in &shown {
        assert_eq!(got.header(name), value, "header {name}");
    }
    for name in ["Client-Id", "Request-Id", "Request-Timestamp", "Signature"] {
        assert!(shown.iter().any(|(n, _)| n == name), "{name} is shown");
    }
    assert_eq!(
        inner(attempt, "class=\"response\"", "pre").unwrap(),
        "{\"status\":\"OK\"}"
    );
    assert!(attempt.contains("<dd class=\"http-status\">200</dd>"));
    let curl = inner(attempt, "class=\"curl\"", "pre").unwrap();
    assert!(
        curl.contains(&format!("Signature: {}", got.header("Signature"))),
        "{curl}"
    );
    assert!(curl.contains(&target), "{curl}");
    let pretty = inner(&page, "id=\"delivery-body\"", "pre").unwrap();
    let reparsed: Value = serde_json::from_str(&pretty).unwrap();
    assert_eq!(reparsed, serde_json::from_str::<Value>(&got.body).unwrap());
}

async fn resend(browser: &Browser, id: i64) -> reqwest::Response {
    let path = format!("{LOG}/{id}");
    let token = csrf_token(&browser.get_text(&path).await);
    browser
        .post(&format!("{path}/resend"), &[("csrf_token", &token)])
        .await
}

async fn a_failed_notification_is_resent_delivered_and_audited_and_a_double_resend_sends_once(
    backend: Backend,
) {
    let app = spawn(backend, "1h").await;
    // Fails once, then answers 200.
    let receiver = Receiver::start(Reply::script(&[500], 200)).await;
    let email = app.sign_in_new_merchant("acme").await;
    let api = Api::for_signed_in(&app).await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let payment = paid(&api, "INV-1", &target).await;
    let id = delivery_ids(&api, &payment).await[0];
    let path = format!("{LOG}/{id}");
    let page = page_until(&app, &path, |p| p.contains("data-status=\"retrying\"")).await;
    assert!(page.contains("HTTP 500"), "the error in words");
    let list = app.get_text(LOG).await;
    assert!(list.contains(&format!("data-id=\"{id}\" data-status=\"retrying\"")));

    let answer = resend(&app, id).await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), path);
    let page = page_until(&app, &path, |p| p.contains("data-status=\"delivered\"")).await;
    assert!(page.contains("id=\"delivery-attempts\">2<"), "{page}");
    assert!(
        page.contains(&format!("resent by {email}")),
        "the resend names who asked"
    );
    assert_eq!(receiver.requests().len(), 2);
    let requests = receiver.requests();
    assert_eq!(
        requests[0].header("Request-Id"),
        requests[1].header("Request-Id"),
        "the same notification"
    );

    // Two resends at once: one attempt.
    let slow = Receiver::start(Reply::Slow(Duration::from_millis(1500))).await;
    let target = format!("http://127.0.0.1:{}/notify", slow.port());
    let payment = paid(&api, "INV-2", &target).await;
    api.settled(&payment).await;
    let id = delivery_ids(&api, &payment).await[0];
    let path = format!("{LOG}/{id}");
    let token = csrf_token(&app.get_text(&path).await);
    let action = format!("{path}/resend");
    let form = [("csrf_token", token.as_str())];
    let (a, b) = tokio::join!(app.post(&action, &form), app.post(&action, &form));
    assert_eq!(
        (a.status(), b.status()),
        (StatusCode::SEE_OTHER, StatusCode::SEE_OTHER)
    );
    page_until(&app, &path, |p| {
        p.contains("id=\"delivery-attempts\">2<") && !p.contains("id=\"resend-pending\"")
    })
    .await;
    // Delivered, and no resend waits: nothing more can be sent.
    assert_eq!(app.count_rows("delivery_resends").await, 0);
    assert_eq!(slow.requests().len(), 2, "the first attempt and one resend");
    let events = resend_events(&app).await;
    assert_eq!(events.len(), 2, "one event per resend queued");
    let event = &events[0].event;
    assert_eq!(event.old_value.as_deref(), Some(id.to_string().as_str()));
    assert_eq!(event.new_value.as_deref(), Some(target.as_str()));
    assert_eq!(event.section.as_deref(), Some("va"));
}

async fn merchants_see_only_their_own_log_and_admins_read_without_resending(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    let payment = paid(&api, "INV-1", &target).await;
    let id = delivery_ids(&api, &payment).await[0];
    let path = format!("{LOG}/{id}");
    assert_eq!(app.get(&path).await.status(), StatusCode::OK);

    let email = app.create_merchant_user("other").await;
    let other = app.signed_in_browser(&email).await;
    assert_eq!(other.get(&path).await.status(), StatusCode::NOT_FOUND);
    assert!(row_ids(&other.get_text(LOG).await).is_empty());
    let token = csrf_token(&other.get_text(LOG).await);
    let refused = other
        .post(&format!("{path}/resend"), &[("csrf_token", &token)])
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let peek = other.get(&format!("{LOG}?merchant=acme")).await;
    assert_eq!(peek.status(), StatusCode::NOT_FOUND);

    let admin_email = app.create_admin().await;
    let admin = app.signed_in_browser(&admin_email).await;
    assert_eq!(admin.get(LOG).await.status(), StatusCode::NOT_FOUND);
    let log = admin.get_text(&format!("{LOG}?merchant=acme")).await;
    assert_eq!(row_ids(&log), [id]);
    assert!(log.contains(&format!("href=\"{path}?merchant=acme\"")));
    let detail = admin.get_text(&format!("{path}?merchant=acme")).await;
    assert!(!detail.contains("id=\"resend-form\""), "read-only");
    let token = csrf_token(&detail);
    let forbidden = admin
        .post(&format!("{path}/resend"), &[("csrf_token", &token)])
        .await;
    assert_eq!(forbidden.status(), StatusCode::FORBIDDEN);
    let merchant_page = admin.get_text("/admin/merchants/acme").await;
    assert!(merchant_page.contains("href=\"/integration/notifications?merchant=acme\""));
    // Nothing was queued by the refused resends, and the one attempt settled the notification.
    assert_eq!(
        app.count_rows("delivery_resends").await,
        0,
        "no resend queued"
    );
    let detail = page_until(&app, &path, |p| p.contains("data-status=\"delivered\"")).await;
    assert!(
        detail.contains("id=\"delivery-attempts\">1<"),
        "one attempt"
    );
    assert_eq!(receiver.requests().len(), 1, "nobody else resent anything");
}

const OUTCOMES: [&str; 4] = ["first", "retried", "retrying", "failed"];

async fn a_merchant_has_at_most_ten_resends_waiting(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let slow = Receiver::start(Reply::Slow(Duration::from_secs(3))).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let target = format!("http://127.0.0.1:{}/notify", slow.port());
    let mut payments = Vec::new();
    for n in 0..11 {
        payments.push(paid(&api, &format!("INV-{n}"), &target).await);
    }
    let mut ids = Vec::new();
    for payment in &payments {
        api.settled(payment).await;
        ids.extend(delivery_ids(&api, payment).await);
    }
    for id in &ids[..10] {
        assert_eq!(resend(&app, *id).await.status(), StatusCode::SEE_OTHER);
    }
    let refused = resend(&app, ids[10]).await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    let queued = app
        .db
        .audit_events_by_action("notification_resend")
        .await
        .unwrap();
    assert_eq!(
        queued.len(),
        10,
        "the first ten were queued, the eleventh not"
    );
    let page = app.get_text(&format!("{LOG}/{}", ids[10])).await;
    assert!(page.contains("10 resends are already waiting"), "{page}");
    assert!(
        !page.contains("id=\"resend-pending\""),
        "nothing was queued"
    );
}

async fn a_merchant_who_fixed_the_url_resends_to_the_saved_one(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let broken = Receiver::start(Reply::script(&[], 500)).await;
    let fixed = Receiver::start(Reply::ok("OK")).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let url = |receiver: &Receiver| format!("http://127.0.0.1:{}/notify", receiver.port());
    app.save("va", "bca", &url(&broken), "").await;
    let (status, payment) = api.create(order("INV-1"), &[]).await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let payment = payment["id"].as_str().unwrap().to_owned();
    api.simulate(&payment, "SUCCESS").await;
    let id = delivery_ids(&api, &payment).await[0];
    let path = format!("{LOG}/{id}");
    let page = page_until(&app, &path, |p| p.contains("data-status=\"retrying\"")).await;
    assert!(
        !page.contains("id=\"resend-to-saved\""),
        "the saved URL is the one sent to"
    );

    let saved = app.save("va", "bca", &url(&fixed), "").await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let page = app.get_text(&path).await;
    assert!(page.contains("id=\"resend-to-saved\""));
    assert!(page.contains(&url(&fixed)));
    let token = csrf_token(&page);
    let bogus = app
        .post(
            &format!("{path}/resend"),
            &[("csrf_token", &token), ("to", "elsewhere")],
        )
        .await;
    assert_eq!(bogus.status(), StatusCode::BAD_REQUEST);
    let answer = app
        .post(
            &format!("{path}/resend"),
            &[("csrf_token", &token), ("to", "saved")],
        )
        .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let page = page_until(&app, &path, |p| p.contains("data-status=\"delivered\"")).await;
    let got = fixed.single();
    assert_eq!(got.path, "/notify");
    assert_eq!(broken.requests().len(), 1, "nothing more to the broken URL");
    assert_eq!(
        got.header("Request-Id"),
        broken.requests()[0].header("Request-Id"),
        "the same notification"
    );
    let newest = &page[page.find("id=\"attempt-2\"").unwrap()..];
    assert!(
        newest.contains(&format!("POST {}", url(&fixed))),
        "the attempt says where it went"
    );
    let events = resend_events(&app).await;
    assert_eq!(
        events[0].event.new_value.as_deref(),
        Some(url(&fixed).as_str())
    );

    // With no URL saved any more, a resend to the saved URL is refused and nothing queued.
    app.save("va", "bca", "", "").await;
    let token = csrf_token(&app.get_text(&path).await);
    app.post(
        &format!("{path}/resend"),
        &[("csrf_token", &token), ("to", "saved")],
    )
    .await;
    let page = app.get_text(&path).await;
    assert!(page.contains("No URL is saved for this channel"), "{page}");
    assert!(!page.contains("id=\"resend-pending\""));
}

/// Sums the chart's bars per day, as the table beside it lists days.
fn bars_per_day(html: &str) -> Vec<(String, [i64; 4])> {
    let mut days: Vec<(String, [i64; 4])> = Vec::new();
    for bar in html.split("<g class=\"bar\" data-start=\"").skip(1) {
        let day = bar[..10].to_owned();
        let number = |name: &str| -> i64 {
            let rest = &bar[bar.find(&format!("data-{name}=\"")).unwrap() + name.len() + 7..];
            rest.split('"').next().unwrap().parse().unwrap()
        };
        let counts = OUTCOMES.map(number);
        match days.last_mut() {
            Some((last, sum)) if *last == day => {
                (0..4).for_each(|i| sum[i] += counts[i]);
            }
            _ => days.push((day, counts)),
        }
    }
    days.retain(|(_, counts)| counts.iter().any(|&n| n > 0));
    days
}

fn table_per_day(html: &str) -> Vec<(String, [i64; 4])> {
    let table = &html[html.find("id=\"health-days\"").unwrap()..];
    let table = &table[..table.find("</tbody>").unwrap()];
    table
        .split("<tr data-day=\"")
        .skip(1)
        .map(|row| {
            let day = row[..10].to_owned();
            let cell = |name: &str| -> i64 {
                inner(row, &format!("<td data-{name}"), "td")
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            (day, OUTCOMES.map(cell))
        })
        .filter(|(_, counts)| counts.iter().any(|&n| n > 0))
        .collect()
}

async fn the_chart_counts_equal_its_table_and_failing_channels_are_flagged(backend: Backend) {
    let app = spawn(backend, "1s").await;
    let ok = Receiver::start(Reply::ok("OK")).await;
    let flaky = Receiver::start(Reply::script(&[503], 200)).await;
    let down = Receiver::start(Reply::script(&[], 500)).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let url = |receiver: &Receiver| format!("http://127.0.0.1:{}/notify", receiver.port());
    let mut payments = vec![
        paid(&api, "INV-1", &url(&ok)).await,
        paid(&api, "INV-2", &url(&ok)).await,
        paid(&api, "INV-3", &url(&flaky)).await,
    ];
    // BNI has no URL saved: its notifications go where each payment says.
    for n in 4..7 {
        let mut body = order(&format!("INV-{n}"));
        body["channel"] = json!("va/bni");
        let header = [("X-Override-Notification", url(&down))];
        let header = [(header[0].0, header[0].1.as_str())];
        let (status, payment) = api.create(body, &header).await;
        assert_eq!(status, StatusCode::CREATED, "{payment}");
        let id = payment["id"].as_str().unwrap().to_owned();
        api.simulate(&id, "SUCCESS").await;
        payments.push(id);
    }
    for payment in &payments {
        api.settled(payment).await;
    }

    let page = app.get_text(&format!("{LOG}/health")).await;
    assert!(
        page.contains("data-per=\"day\""),
        "six notifications are drawn a bar a day"
    );
    let bars = bars_per_day(&page);
    assert_eq!(
        bars,
        table_per_day(&page),
        "the chart's numbers are the table's"
    );
    let total = |name: &str| -> i64 {
        inner(&page, &format!("id=\"total-{name}\""), "td")
            .unwrap()
            .parse()
            .unwrap()
    };
    assert_eq!(
        (total("first"), total("retried"), total("failed")),
        (2, 1, 3)
    );
    let health = inner(&page, "id=\"channel-health\"", "table").unwrap();
    assert!(health.contains("BNI"), "{health}");

    let section = app.get_text("/settings/payment/va").await;
    let bni = inner(&section, "id=\"channel-bni\"", "tr").unwrap();
    assert!(bni.contains("data-failing"), "{bni}");
    assert!(
        bni.contains("section=va&channel=bni"),
        "links to its log: {bni}"
    );
    assert!(bni.contains("HTTP 500"), "with its last error: {bni}");
    let bca = inner(&section, "id=\"channel-bca\"", "tr").unwrap();
    assert!(!bca.contains("data-failing"));

    let admin_email = app.create_admin().await;
    let admin = app.signed_in_browser(&admin_email).await;
    let overview = admin.get_text("/admin").await;
    let row = inner(&overview, "data-merchant=\"acme\"", "tr").expect("acme is failing");
    let failures = inner(&row, "data-failures", "td").unwrap();
    assert_eq!(
        failures, "7",
        "two attempts of each failed payment and one 503"
    );
}

/// Switches `browser` to `lang` with the header's language switch.
async fn choose_language(browser: &Browser, lang: &str) {
    let switched = browser.get(&format!("/language/{lang}")).await;
    assert_eq!(switched.status(), StatusCode::SEE_OTHER);
}

/// The last error of delivery `id` on its page, of its first attempt, and on the log's row.
async fn shown_errors(browser: &Browser, id: i64) -> (String, String, String) {
    let page = browser.get_text(&format!("{LOG}/{id}")).await;
    let last = inner(&page, "id=\"delivery-error\"", "dd").expect("a last error");
    let attempt = inner(&page, "class=\"error-text attempt-error\"", "dd").expect("an error");
    let list = browser.get_text(LOG).await;
    let row = inner(&list, &format!("data-id=\"{id}\""), "tr").expect("the log lists it");
    (last, attempt, row)
}

async fn a_notification_not_accepted_reads_in_the_readers_language_and_exports_stay_english(
    backend: Backend,
) {
    let app = spawn(backend, "1h").await;
    let receiver = Receiver::start(Reply::Status(503, Vec::new(), "sedang sibuk".into())).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let target = format!("http://127.0.0.1:{}/notify", receiver.port());
    // Three first attempts failing in a row make the channel failing on its section page.
    let mut ids = Vec::new();
    for invoice in ["INV-1", "INV-2", "INV-3"] {
        let payment = paid(&api, invoice, &target).await;
        ids.push(delivery_ids(&api, &payment).await[0]);
    }
    for id in &ids {
        page_until(&app, &format!("{LOG}/{id}"), |p| {
            p.contains("data-status=\"retrying\"")
        })
        .await;
    }
    let id = ids[0];
    let english = "HTTP 503: the notification was not accepted (expected 2xx).";
    let indonesian = "HTTP 503: notifikasi tidak diterima (diharapkan 2xx).";
    let stored: String = app
        .scalar(&format!(
            "SELECT last_error FROM deliveries WHERE id = {id}"
        ))
        .await;
    assert_eq!(stored, r#"{"code":"not_accepted","status":503}"#);

    let (last, attempt, row) = shown_errors(&app, id).await;
    assert_eq!((last.as_str(), attempt.as_str()), (english, english));
    assert!(row.contains(english), "{row}");
    let section = app.get_text("/settings/payment/va").await;
    let bca = inner(&section, "id=\"channel-bca\"", "tr").unwrap();
    assert!(
        bca.contains("data-failing") && bca.contains(english),
        "{bca}"
    );

    choose_language(&app, "id").await;
    let (last, attempt, row) = shown_errors(&app, id).await;
    assert_eq!((last.as_str(), attempt.as_str()), (indonesian, indonesian));
    assert!(row.contains(indonesian) && !row.contains(english), "{row}");
    let page = app.get_text(&format!("{LOG}/{id}")).await;
    assert_eq!(
        inner(&page, "class=\"response\"", "pre").as_deref(),
        Some("sedang sibuk"),
        "the receiver's answer as it came"
    );
    let section = app.get_text("/settings/payment/va").await;
    let bca = inner(&section, "id=\"channel-bca\"", "tr").unwrap();
    assert!(bca.contains(indonesian) && !bca.contains(english), "{bca}");

    // The API and the export are read by programs: the same English whatever the language.
    let (_, payment) = api.get(&delivery_payment(&app, id).await).await;
    assert_eq!(payment["deliveries"][0]["attempts"][0]["error"], english);
    let csv = app.get_text("/integration/notifications.csv").await;
    assert!(csv.contains(english) && !csv.contains(indonesian), "{csv}");

    // An error stored before errors had codes is shown as it was written.
    let old = "HTTP 503: the notification was not accepted (expected 2xx), said 2025.";
    let update = format!("UPDATE deliveries SET last_error = '{old}' WHERE id = {id}");
    app.execute_sql(&update).await.unwrap();
    let page = app.get_text(&format!("{LOG}/{id}")).await;
    assert_eq!(
        inner(&page, "id=\"delivery-error\"", "dd").as_deref(),
        Some(old)
    );
}

/// The payment a delivery tells of.
async fn delivery_payment(app: &TestApp, id: i64) -> String {
    app.scalar(&format!(
        "SELECT payment_id FROM deliveries WHERE id = {id}"
    ))
    .await
}

async fn an_unreachable_receiver_is_shown_with_the_transports_own_words(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let api = Api::for_new_merchant(&app, "acme").await;
    // Nobody listens there: the connection is refused.
    let target = format!("http://127.0.0.1:{}/notify", payhook_testing::free_port());
    let payment = paid(&api, "INV-1", &target).await;
    let id = delivery_ids(&api, &payment).await[0];
    page_until(&app, &format!("{LOG}/{id}"), |p| {
        p.contains("data-status=\"retrying\"")
    })
    .await;

    let (last, attempt, row) = shown_errors(&app, id).await;
    let detail = last
        .strip_prefix("Could not connect to the receiver: ")
        .unwrap_or_else(|| panic!("in English: {last}"))
        .to_owned();
    assert!(detail.contains("Connection refused"), "{detail}");
    assert!(
        detail.contains(&target),
        "the transport's own words: {detail}"
    );
    assert_eq!(attempt, last);
    assert!(row.contains(&last), "{row}");

    choose_language(&app, "id").await;
    let (last, attempt, row) = shown_errors(&app, id).await;
    let indonesian = format!("Tidak dapat terhubung ke penerima: {detail}");
    assert_eq!(
        last, indonesian,
        "the detail as it came, in an Indonesian sentence"
    );
    assert_eq!(attempt, indonesian);
    assert!(row.contains(&indonesian), "{row}");
}

async fn a_receiver_answering_https_without_tls_is_a_tls_failure(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let api = Api::for_new_merchant(&app, "acme").await;
    // A plain HTTP server where https is asked for: the TLS handshake gets no TLS back.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            use tokio::io::AsyncWriteExt;
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
                .await;
        }
    });
    let payment = paid(&api, "INV-1", &format!("https://127.0.0.1:{port}/notify")).await;
    let id = delivery_ids(&api, &payment).await[0];
    page_until(&app, &format!("{LOG}/{id}"), |p| {
        p.contains("data-status=\"retrying\"")
    })
    .await;

    let (last, _, _) = shown_errors(&app, id).await;
    assert!(
        last.starts_with("The secure (TLS) connection to the receiver failed: "),
        "{last}"
    );
    choose_language(&app, "id").await;
    let (last, _, _) = shown_errors(&app, id).await;
    assert!(
        last.starts_with("Koneksi aman (TLS) ke penerima gagal: "),
        "{last}"
    );
}
