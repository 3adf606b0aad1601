//! The notification log at scale: the hourly roll-up equals a recount through retries,
//! resends and tests; keyset pages skip nothing while a writer is in flight; the CSV export
//! keeps the filters, stops at its cap and is audited; invoice search matches prefixes and
//! payment ids.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::notification_log::row_ids;
use crate::payments::{Api, order, spawn};
use payhook::store::Db;
use payhook_testing::on_both_backends;
use payhook_testing::rollup::{assert_roll_up_matches_recount, recount};
use payhook_testing::{Backend, Receiver, Reply, TestApp, location, rel_link, send_test};

on_both_backends!(
    the_roll_up_is_a_recount_through_retries_resends_and_tests,
    keyset_pages_skip_nothing_while_a_writer_is_in_flight,
    the_csv_export_keeps_the_filters_stops_at_its_cap_and_is_audited,
    invoice_search_matches_prefixes_and_whole_payment_ids,
);

const LOG: &str = "/integration/notifications";

/// The number in the element carrying `marker` (the first run of digits after it).
fn number_after(html: &str, marker: &str) -> i64 {
    let at = html
        .find(marker)
        .unwrap_or_else(|| panic!("{marker} in {html}"));
    let digits: String = html[at..]
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().unwrap()
}

/// Creates a payment paid at once notifying `url`; its id.
async fn paid(api: &Api<'_>, invoice: &str, url: &str) -> String {
    let (status, payment) = api
        .create(order(invoice), &[("X-Override-Notification", url)])
        .await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    let id = payment["id"].as_str().unwrap().to_owned();
    let (status, answer) = api.simulate(&id, "SUCCESS").await;
    assert_eq!(status, StatusCode::OK, "{answer}");
    id
}

/// Inserts `count` sandbox payment notifications of `merchant` in one statement, behind the
/// server's back: to `channel` (`section', 'channel` as SQL text), with the SQL `status` (of
/// their number `n`), created `ago` ms ago.
async fn bulk_insert(
    app: &TestApp,
    merchant: i64,
    count: i64,
    channel: &str,
    status: &str,
    ago: i64,
) {
    app.execute_sql(&format!(
        "INSERT INTO deliveries (merchant_id, section, channel, environment, kind, url, \
         request_id, request_body, status, attempts, created_at) \
         WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {count}) \
         SELECT {merchant}, '{channel}', 'sandbox', 'payment', 'https://hooks.acme.co.id/n', \
         'bulk-' || n, '{{}}', {status}, 1, {} FROM g",
        payhook::store::now_ms() - ago
    ))
    .await
    .unwrap();
}

async fn merchant_id(app: &TestApp, code: &str) -> i64 {
    app.scalar(&format!("SELECT id FROM merchants WHERE code = '{code}'"))
        .await
}

async fn the_roll_up_is_a_recount_through_retries_resends_and_tests(backend: Backend) {
    let app = spawn(backend, "1s").await;
    let ok = Receiver::start(Reply::ok("OK")).await;
    let flaky = Receiver::start(Reply::script(&[503, 503], 200)).await;
    let (reply, down_status) = Reply::switch(500, "down");
    let down = Receiver::start(reply).await;
    let url = |r: &Receiver| format!("http://127.0.0.1:{}/notify", r.port());
    let api = Api::for_new_merchant(&app, "acme").await;
    let mut payments = Vec::new();
    for n in 0..3 {
        payments.push(paid(&api, &format!("INV-OK-{n}"), &url(&ok)).await);
    }
    for n in 0..2 {
        payments.push(paid(&api, &format!("INV-FLAKY-{n}"), &url(&flaky)).await);
    }
    let mut failed = Vec::new();
    for n in 0..2 {
        failed.push(paid(&api, &format!("INV-DOWN-{n}"), &url(&down)).await);
    }
    for payment in payments.iter().chain(&failed) {
        api.settled(payment).await;
    }
    assert_roll_up_matches_recount(&app.db).await;

    // The receiver is back: a resend delivers a failed notification, which now counts as
    // delivered after a retry.
    down_status.store(200, Ordering::SeqCst);
    let (_, payment) = api.get(&failed[0]).await;
    let id = payment["deliveries"][0]["id"].as_i64().unwrap();
    let detail = format!("{LOG}/{id}");
    let resent = app
        .submit(&detail, &format!("{detail}/resend"), &[("to", "sent")])
        .await;
    assert_eq!(resent.status(), StatusCode::SEE_OTHER);
    api.settled(&failed[0]).await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while app
        .scalar::<i64>(&format!(
            "SELECT COUNT(*) FROM deliveries WHERE id = {id} AND status = 'delivered'"
        ))
        .await
        == 0
    {
        assert!(Instant::now() < deadline, "the resend was delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A test notification is kept out of every count.
    app.save("va", "bca", &url(&ok), "").await;
    assert_eq!(
        send_test(&app, "va", "bca", "sandbox").await.status(),
        StatusCode::OK
    );
    assert_roll_up_matches_recount(&app.db).await;
    let counted = recount(&app.db).await;
    let total = |i: usize| counted.values().map(|c| c[i]).sum::<i64>();
    assert_eq!(
        (total(0), total(1), total(2), total(3)),
        (3, 3, 0, 1),
        "3 at once, 2 after retries and 1 resent, 1 failed"
    );

    // The log's line and the health page read the same numbers.
    let log = app.get_text(LOG).await;
    assert_eq!(number_after(&log, "data-delivered"), 6);
    assert_eq!(number_after(&log, "data-failed"), 1);
    assert_eq!(number_after(&log, "data-retrying"), 0);
    assert!(log.contains("85.7%"), "6 of 7 delivered");
    let failed_row = &log[log.find("data-status=\"failed\"").expect("the failed one")..];
    let failed_row = &failed_row[..failed_row.find("</tr>").unwrap()];
    assert!(
        failed_row.contains("badge badge-failed"),
        "a failed notification is red, not grey: {failed_row}"
    );
    let health = app.get_text(&format!("{LOG}/health")).await;
    assert_eq!(number_after(&health, "id=\"total-first\""), 3);
    assert_eq!(number_after(&health, "id=\"total-retried\""), 3);
    assert_eq!(number_after(&health, "id=\"total-failed\""), 1);
    assert!(
        health.contains("class=\"baseline\"") && health.contains("class=\"date-label\""),
        "a few notifications are drawn on labelled axes"
    );
    assert!(
        health.contains("data-per=\"day\""),
        "and a bar a day, not a sliver an hour"
    );
}

/// Inserts a notification of `merchant` in a transaction of its own, runs `during` while that
/// transaction is open, then commits.
async fn while_inserting<T>(db: &Db, merchant: i64, during: impl Future<Output = T>) -> T {
    let sql = format!(
        "INSERT INTO deliveries (merchant_id, section, channel, environment, kind, url, \
         request_id, request_body, status, attempts, created_at) VALUES ({merchant}, 'va', \
         'bca', 'sandbox', 'payment', 'https://hooks.acme.co.id/in-flight', 'req-in-flight', \
         '{{}}', 'delivered', 1, {})",
        payhook::store::now_ms()
    );
    let sql = sqlx::AssertSqlSafe(sql);
    match db {
        Db::Sqlite(pools) => {
            let mut tx = pools.write.begin_with("BEGIN IMMEDIATE").await.unwrap();
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
            let out = during.await;
            tx.commit().await.unwrap();
            out
        }
        Db::Postgres(pool) => {
            let mut tx = pool.begin().await.unwrap();
            sqlx::query(sql).execute(&mut *tx).await.unwrap();
            let out = during.await;
            tx.commit().await.unwrap();
            out
        }
    }
}

async fn keyset_pages_skip_nothing_while_a_writer_is_in_flight(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let ok = Receiver::start(Reply::ok("OK")).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let acme = merchant_id(&app, "acme").await;
    // 60 notifications already there: the newest page holds 50 of them.
    bulk_insert(&app, acme, 60, "va', 'bca", "'delivered'", 0).await;
    let (status, created) = api
        .create(
            order("INV-LATE"),
            &[(
                "X-Override-Notification",
                &format!("http://127.0.0.1:{}/late", ok.port()),
            )],
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let late = created["id"].as_str().unwrap().to_owned();

    // A writer (A) holds an insert open while the app commits another (B) and a reader reads
    // the newest page. Had B become visible first, the page would list B above a gap where A
    // shows up later, and paging on from it would never reach A.
    let writer = Db::connect(&app.settings.database_url).await.unwrap();
    let reader = async {
        tokio::time::sleep(Duration::from_millis(1500)).await;
        app.get_text(LOG).await
    };
    let paid = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        api.simulate(&late, "SUCCESS").await
    };
    let (first, (status, answer)) = tokio::join!(while_inserting(&writer, acme, reader), paid);
    assert_eq!(status, StatusCode::OK, "{answer}");

    let mut seen: BTreeSet<i64> = row_ids(&first).into_iter().collect();
    let mut page = first.clone();
    while let Some(older) = rel_link(&page, "next") {
        page = app.get_text(&older).await;
        seen.extend(row_ids(&page));
    }
    let newest = app.get_text(LOG).await;
    let top = row_ids(&first)[0];
    let above: Vec<i64> = row_ids(&newest)
        .into_iter()
        .take_while(|&id| id != top)
        .collect();
    seen.extend(above);
    let all: i64 = app
        .scalar(&format!(
            "SELECT COUNT(*) FROM deliveries WHERE merchant_id = {acme}"
        ))
        .await;
    assert_eq!(all, 62);
    assert_eq!(
        seen.len() as i64,
        all,
        "the newest page, the pages behind it and what came on top list every notification"
    );
}

/// The CSV's data rows.
fn csv_rows(body: &str) -> Vec<&str> {
    body.split("\r\n")
        .skip(1)
        .filter(|l| !l.is_empty())
        .collect()
}

async fn exports(app: &TestApp) -> i64 {
    app.scalar("SELECT COUNT(*) FROM audit_events WHERE action = 'notifications_exported'")
        .await
}

async fn the_csv_export_keeps_the_filters_stops_at_its_cap_and_is_audited(backend: Backend) {
    let app = spawn(backend, "1s").await;
    let ok = Receiver::start(Reply::ok("OK")).await;
    let down = Receiver::start(Reply::script(&[], 500)).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let url = |r: &Receiver| format!("http://127.0.0.1:{}/notify", r.port());
    let delivered = paid(&api, "INV-2026-0001", &url(&ok)).await;
    let failed = paid(&api, "INV-2026-0002", &url(&down)).await;
    api.settled(&delivered).await;
    api.settled(&failed).await;

    let response = app
        .get(&format!("{LOG}.csv?section=va&status=failed"))
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["content-type"],
        "text/csv; charset=utf-8"
    );
    assert!(
        response.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    let body = response.text().await.unwrap();
    assert!(body.starts_with("id,created_at_utc,section,channel,"));
    let rows = csv_rows(&body);
    assert_eq!(rows.len(), 1, "only the failed one: {body}");
    let cells: Vec<&str> = rows[0].split(',').collect();
    assert_eq!(cells[6], failed, "its payment");
    assert_eq!(cells[7], "INV-2026-0002");
    assert_eq!(cells[9], "failed");
    assert_eq!(cells[11], "500");
    assert!(
        cells[1].ends_with('Z') && cells[1].contains('T'),
        "UTC, ISO 8601: {}",
        cells[1]
    );
    assert_eq!(exports(&app).await, 1);
    let event: String = app
        .scalar(
            "SELECT new_value FROM audit_events WHERE action = 'notifications_exported' \
             ORDER BY id DESC LIMIT 1",
        )
        .await;
    assert_eq!(event, "section=va&status=failed (1)");

    // 100,001 notifications are over the cap: the export is refused on the log page, with the
    // filters kept, and nothing is audited.
    let acme = merchant_id(&app, "acme").await;
    let status = "CASE WHEN n % 40 = 0 THEN 'failed' ELSE 'delivered' END";
    bulk_insert(&app, acme, 100_001, "ewallet', 'ovo", status, 3_600_000).await;
    let refused = app.get(&format!("{LOG}.csv?section=ewallet")).await;
    assert_eq!(refused.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&refused), format!("{LOG}?section=ewallet"));
    let page = app.get_text(&format!("{LOG}?section=ewallet")).await;
    assert!(page.contains("at most 100000 notifications"), "{page}");
    assert_eq!(exports(&app).await, 1, "a refused export is not audited");

    // Narrowed under the cap, the export streams every row, batch after batch.
    let body = app
        .get_text(&format!("{LOG}.csv?section=ewallet&status=failed"))
        .await;
    let rows = csv_rows(&body);
    assert_eq!(rows.len(), 2500);
    let ids: BTreeSet<&str> = rows.iter().map(|r| r.split(',').next().unwrap()).collect();
    assert_eq!(ids.len(), 2500, "no row twice across batches");
    assert!(rows.iter().all(|r| r.contains(",ovo,sandbox,payment,")));
    assert_eq!(exports(&app).await, 2);
}

async fn invoice_search_matches_prefixes_and_whole_payment_ids(backend: Backend) {
    let app = spawn(backend, "1h").await;
    let ok = Receiver::start(Reply::ok("OK")).await;
    let api = Api::for_new_merchant(&app, "acme").await;
    let url = format!("http://127.0.0.1:{}/notify", ok.port());
    let first = paid(&api, "INV-2026-0001", &url).await;
    paid(&api, "INV-2026-0002", &url).await;
    paid(&api, "INV-2025-0099", &url).await;
    paid(&api, "inv-2026-0003", &url).await;
    let count = |query: String| {
        let app = &app;
        async move { row_ids(&app.get_text(&format!("{LOG}?{query}")).await).len() }
    };
    assert_eq!(count("invoice=INV-2026-".into()).await, 2);
    assert_eq!(count("invoice=INV-20".into()).await, 3);
    assert_eq!(count("invoice=INV-2026-0001".into()).await, 1);
    assert_eq!(count("invoice=INV-2027".into()).await, 0);
    assert_eq!(
        count("invoice=inv-".into()).await,
        1,
        "by bytes: case counts"
    );
    assert_eq!(count("invoice=INV-2026-%25".into()).await, 0, "no wildcard");
    assert_eq!(count(format!("invoice={first}")).await, 1, "a payment id");
    assert_eq!(
        count(format!("invoice={}", &first[..first.len() - 2])).await,
        0,
        "a payment id is matched whole"
    );

    // Another merchant's invoice numbers and payments are not searched.
    let other = app.new_browser();
    let email = app.create_merchant_user("other").await;
    assert_eq!(
        other
            .login(&email, payhook_testing::PASSWORD)
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let page = other.get_text(&format!("{LOG}?invoice={first}")).await;
    assert!(row_ids(&page).is_empty());
    let page = other.get_text(&format!("{LOG}?invoice=INV-")).await;
    assert!(row_ids(&page).is_empty());
}
