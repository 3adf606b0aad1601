//! The audit log: filters, keyset pages, the CSV export, append-only storage and the hash chain.

use payhook::startup::Application;
use payhook::store::{Actor, AuditAction, AuditRecord};
use reqwest::StatusCode;

use payhook_testing::Probe;
use payhook_testing::on_both_backends;
use payhook_testing::{Browser, TestApp, event_ids, next_link};

on_both_backends!(
    app:
    each_filter_returns_exactly_the_matching_events,
    nonsense_filters_give_400_and_an_unknown_merchant_an_empty_page,
    keyset_pages_have_no_duplicates_or_gaps_while_events_arrive,
    the_csv_matches_the_page_quotes_cells_and_defuses_formulas,
    direct_sql_cannot_edit_delete_or_renumber_an_event,
    verify_names_the_event_edited_or_removed_behind_a_dropped_trigger,
    fifty_concurrent_saves_from_two_servers_keep_one_chain,
    a_batch_append_continues_the_chain_and_never_turns_time_back,
    verify_notices_events_cut_off_the_end,
);

const MERCHANTS: [Option<&str>; 3] = [Some("alpha"), Some("bravo"), None];
const ACTORS: [&str; 2] = ["ana@alpha.example.com", "budi@bravo.example.com"];
const ACTIONS: [&str; 3] = ["settings_change", "sign_in", "sign_in_failed"];
const PLACES: [(&str, &str); 4] = [
    ("va", "bca"),
    ("va_snap", "bca"),
    ("ewallet", "ovo"),
    ("va", "bni"),
];

/// One generated event, as the test expects to find it.
struct Expected {
    id: i64,
    merchant: Option<&'static str>,
    actor: &'static str,
    action: &'static str,
    section: &'static str,
    channel: &'static str,
}

/// Appends `count` varied events after whatever is in the log; returns what was appended.
async fn append_events(app: &TestApp, first_id: i64, count: i64) -> Vec<Expected> {
    let mut merchant_ids = Vec::new();
    for code in MERCHANTS {
        merchant_ids.push(match code {
            Some(code) => Some(
                match app
                    .db
                    .find_merchant(&payhook_testing::code(code))
                    .await
                    .unwrap()
                {
                    Some(m) => m.id,
                    None => app
                        .db
                        .create_merchant(&payhook_testing::code(code), code, None)
                        .await
                        .unwrap(),
                },
            ),
            None => None,
        });
    }
    let mut appended = Vec::new();
    for id in first_id..first_id + count {
        let n = id as usize;
        let (section, channel) = PLACES[n % 4];
        let expected = Expected {
            id,
            merchant: MERCHANTS[n % 3],
            actor: ACTORS[n % 2],
            action: ACTIONS[(n / 3) % 3],
            section,
            channel,
        };
        let actor = Actor {
            email: expected.actor.to_owned(),
            ..Actor::default()
        };
        let record = AuditRecord {
            merchant_id: merchant_ids[n % 3],
            section: Some(section),
            channel: Some(channel),
            field: Some("sandbox_url"),
            new_value: Some("https://example.co.id/n"),
            ..AuditRecord::of(expected.action.parse().unwrap())
        };
        app.db.record_audit(&actor, &record).await.unwrap();
        appended.push(expected);
    }
    appended
}

/// Follows `rel="next"` from `path` to the end; returns every id seen, in order.
async fn all_pages(browser: &Browser, path: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let page = browser.get_text(&path).await;
        let page_ids = event_ids(&page);
        assert!(page_ids.len() <= 50, "50 per page");
        next = next_link(&page);
        if next.is_some() {
            assert_eq!(page_ids.len(), 50, "only the last page is short");
        }
        ids.extend(page_ids);
    }
    ids
}

fn newest_first(events: &[Expected], keep: impl Fn(&Expected) -> bool) -> Vec<i64> {
    events
        .iter()
        .rev()
        .filter(|e| keep(e))
        .map(|e| e.id)
        .collect()
}

/// Today's date (moved by `offset_days`) in WIB, the zone an admin reads dates in by default.
fn wib_date(offset_days: i64) -> String {
    let now = time::OffsetDateTime::now_utc() + time::Duration::hours(7);
    let day = now.date() + time::Duration::days(offset_days);
    let f = time::macros::format_description!("[year]-[month]-[day]");
    day.format(&f).unwrap()
}

async fn each_filter_returns_exactly_the_matching_events(app: TestApp) {
    let events = append_events(&app, 1, 130).await;
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let generated = |keep: &dyn Fn(&Expected) -> bool| newest_first(&events, keep);

    let mut everything = all_pages(&admin, "/admin/audit").await;
    assert_eq!(
        everything.remove(0),
        131,
        "the admin's own sign-in comes first"
    );
    assert_eq!(everything, generated(&|_| true));

    let cases: Vec<(&str, Vec<i64>)> = vec![
        (
            "merchant=alpha",
            generated(&|e| e.merchant == Some("alpha")),
        ),
        (
            "merchant=BRAVO",
            generated(&|e| e.merchant == Some("bravo")),
        ),
        ("section=va", generated(&|e| e.section == "va")),
        ("channel=bca", generated(&|e| e.channel == "bca")),
        (
            "actor=Ana%40alpha.example.com",
            generated(&|e| e.actor == ACTORS[0]),
        ),
        (
            "action=sign_in_failed",
            generated(&|e| e.action == "sign_in_failed"),
        ),
        (
            "merchant=alpha&section=va&channel=bni&action=settings_change",
            generated(&|e| {
                e.merchant == Some("alpha")
                    && e.section == "va"
                    && e.channel == "bni"
                    && e.action == "settings_change"
            }),
        ),
    ];
    for (query, expected) in cases {
        assert!(!expected.is_empty(), "{query} selects something");
        assert_eq!(
            all_pages(&admin, &format!("/admin/audit?{query}")).await,
            expected,
            "{query}"
        );
    }

    let today = wib_date(0);
    let mut from_today = all_pages(&admin, &format!("/admin/audit?from={today}&to={today}")).await;
    assert_eq!(from_today.remove(0), 131);
    assert_eq!(from_today, generated(&|_| true));
    let until_yesterday = format!("/admin/audit?to={}", wib_date(-1));
    assert!(all_pages(&admin, &until_yesterday).await.is_empty());
    let from_tomorrow = format!("/admin/audit?from={}&action=sign_in", wib_date(1));
    assert!(all_pages(&admin, &from_tomorrow).await.is_empty());
}

async fn nonsense_filters_give_400_and_an_unknown_merchant_an_empty_page(app: TestApp) {
    append_events(&app, 1, 3).await;
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    for query in [
        "section=nope",
        "channel=%3Cscript%3E",
        "action=drop_table",
        "from=2026-13-45",
        "to=yesterday",
        "before=abc",
        "before=-5",
        "before=99999999999999999999999",
    ] {
        for path in ["/admin/audit", "/admin/audit.csv"] {
            let response = admin.get(&format!("{path}?{query}")).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{path}?{query}");
            let field = query.split('=').next().unwrap();
            let body = response
                .text()
                .await
                .unwrap()
                .replace("&#34;", "\"")
                .replace("&quot;", "\"");
            assert!(
                body.contains(&format!("The audit filter \"{field}\" is not valid.")),
                "names {field}"
            );
        }
    }
    let unknown = admin.get_text("/admin/audit?merchant=nobody").await;
    assert!(event_ids(&unknown).is_empty() && unknown.contains("No events match"));
    let far_past = admin.get_text("/admin/audit?before=1").await;
    assert!(event_ids(&far_past).is_empty());
    let quote = admin
        .get_text("/admin/audit?actor=%27%20OR%201%3D1%20--")
        .await;
    assert!(
        event_ids(&quote).is_empty(),
        "a filter value is data, never SQL"
    );
}

async fn keyset_pages_have_no_duplicates_or_gaps_while_events_arrive(app: TestApp) {
    let mut events = append_events(&app, 1, 140).await;
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let mut next_id = 142;
    for query in ["", "action=settings_change&"] {
        let first = admin.get_text(&format!("/admin/audit?{query}")).await;
        let top = event_ids(&first)[0];
        let mut seen = event_ids(&first);
        let mut next = next_link(&first);
        while let Some(path) = next {
            // Newer events arrive between page loads; they must not shift the older pages.
            events.extend(append_events(&app, next_id, 7).await);
            next_id += 7;
            let page = admin.get_text(&path).await;
            seen.extend(event_ids(&page));
            next = next_link(&page);
        }
        let expected: Vec<i64> = if query.is_empty() {
            (1..=top).rev().collect()
        } else {
            newest_first(&events, |e| e.action == "settings_change" && e.id <= top)
        };
        assert_eq!(seen, expected, "pages of {query:?}");
    }
}

async fn the_csv_matches_the_page_quotes_cells_and_defuses_formulas(app: TestApp) {
    append_events(&app, 1, 60).await;
    let trap = "=HYPERLINK(\"http://evil\",\"x\"),-1+@a@evil.example.com";
    assert_eq!(
        app.new_browser()
            .login(trap, "wrong password")
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    let admin = app.signed_in_browser(&app.create_admin().await).await;

    let response = admin.get("/admin/audit.csv").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/csv")
    );
    let disposition = response.headers()["content-disposition"].to_str().unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let csv = response.text().await.unwrap();
    let lines: Vec<&str> = csv.split_terminator("\r\n").collect();
    assert!(lines[0].starts_with("id,time_utc,actor_email"));
    let csv_ids: Vec<i64> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(
        csv_ids,
        all_pages(&admin, "/admin/audit").await,
        "same events, same order as the pages"
    );
    assert_eq!(
        csv_ids.len(),
        63,
        "60 events, a failed and a good sign-in, this export"
    );
    let exports = app.db.audit_events_by_action("audit_export").await.unwrap();
    assert_eq!(
        exports[0].new_value.as_deref(),
        Some("all"),
        "the export itself is audited"
    );

    let failed = lines
        .iter()
        .find(|l| l.contains("sign_in_failed") && l.contains("hyperlink"))
        .unwrap();
    let expected_cell = "\"'=hyperlink(\"\"http://evil\"\",\"\"x\"\"),-1+@a@evil.example.com\"";
    assert!(
        failed.contains(&format!(",{expected_cell},")),
        "quoted and defused: {failed}"
    );

    let filtered = admin
        .get("/admin/audit.csv?merchant=alpha&action=sign_in")
        .await
        .text()
        .await
        .unwrap();
    let filtered_ids: Vec<i64> = filtered
        .split_terminator("\r\n")
        .skip(1)
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert!(!filtered_ids.is_empty());
    assert_eq!(
        filtered_ids,
        all_pages(&admin, "/admin/audit?merchant=alpha&action=sign_in").await
    );
    let exports = app.db.audit_events_by_action("audit_export").await.unwrap();
    assert_eq!(
        exports[1].new_value.as_deref(),
        Some("merchant=alpha&action=sign_in")
    );
    let empty = admin
        .get("/admin/audit.csv?merchant=nobody")
        .await
        .text()
        .await
        .unwrap();
    assert_eq!(empty.split_terminator("\r\n").count(), 1, "header only");
}

async fn direct_sql_cannot_edit_delete_or_renumber_an_event(app: TestApp) {
    append_events(&app, 1, 5).await;
    for sql in [
        "UPDATE audit_events SET new_value = 'https://attacker.example.com/n' WHERE id = 3",
        "UPDATE audit_events SET id = id + 100 WHERE id = 5",
        "UPDATE audit_events SET at = 0",
        "DELETE FROM audit_events WHERE id = 2",
        "DELETE FROM audit_events",
    ] {
        let error = app.execute_sql(sql).await.expect_err(sql).to_string();
        assert!(error.contains("append-only"), "{sql}: {error}");
    }
    if app.backend == payhook_testing::Backend::Postgres {
        let error = app
            .execute_sql("TRUNCATE audit_events")
            .await
            .expect_err("truncate")
            .to_string();
        assert!(error.contains("append-only"), "{error}");
    }
    let (code, output) = app.run_cli(&["audit", "verify"]);
    assert_eq!(
        (code, output.trim()),
        (0, "audit chain intact: 5 events checked")
    );
}

const DROP_TRIGGERS_SQLITE: [&str; 2] = [
    "DROP TRIGGER audit_events_no_update",
    "DROP TRIGGER audit_events_no_delete",
];
const DROP_TRIGGERS_POSTGRES: [&str; 1] =
    ["DROP TRIGGER audit_events_no_update_delete ON audit_events"];

async fn verify_names_the_event_edited_or_removed_behind_a_dropped_trigger(app: TestApp) {
    append_events(&app, 1, 20).await;
    let drops: &[&str] = match app.backend {
        payhook_testing::Backend::Sqlite => &DROP_TRIGGERS_SQLITE,
        payhook_testing::Backend::Postgres => &DROP_TRIGGERS_POSTGRES,
    };
    for sql in drops {
        app.execute_sql(sql).await.unwrap();
    }
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    assert!(
        verify_in_browser(&admin)
            .await
            .contains("audit chain intact: 21 events checked")
    );
    let edit = "UPDATE audit_events SET new_value = 'https://attacker.example.com/n' WHERE id = 12";
    assert_eq!(app.execute_sql(edit).await.unwrap(), 1);
    let (code, output) = app.run_cli(&["audit", "verify"]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("broken at event 12: event 12 was modified"),
        "{output}"
    );

    let page = verify_in_browser(&admin).await;
    assert!(
        page.contains("audit chain broken at event 12: event 12 was modified"),
        "admins see it too"
    );

    let undo = "UPDATE audit_events SET new_value = 'https://example.co.id/n' WHERE id = 12";
    app.execute_sql(undo).await.unwrap();
    assert_eq!(
        app.run_cli(&["audit", "verify"]).0,
        0,
        "the original row verifies again"
    );

    app.execute_sql("DELETE FROM audit_events WHERE id = 7")
        .await
        .unwrap();
    let (code, output) = app.run_cli(&["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(
        output.contains("broken at event 8: event 8 does not follow event 6"),
        "{output}"
    );

    app.execute_sql("DELETE FROM audit_events WHERE id > 2")
        .await
        .unwrap();
    app.execute_sql("UPDATE audit_events SET id = id + 10")
        .await
        .unwrap();
    let (code, output) = app.run_cli(&["audit", "verify"]);
    assert_eq!(code, 1);
    assert!(
        output.contains("broken at event 11:"),
        "reordered and renumbered: {output}"
    );
}

/// Presses "Verify the hash chain" on the audit page; returns the page it leads to.
async fn verify_in_browser(admin: &Browser) -> String {
    let response = admin
        .submit("/admin/audit", "/admin/audit/verify", &[])
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    admin.get_text("/admin/audit").await
}

async fn fifty_concurrent_saves_from_two_servers_keep_one_chain(app: TestApp) {
    let second = Application::build(app.settings.clone())
        .await
        .expect("second server");
    let second_address = format!("http://127.0.0.1:{}", second.port());
    let second_handle = second.handle();
    tokio::spawn(second.run_until_stopped());

    let channels: Vec<(&str, &str)> = payhook::catalog::SECTIONS
        .iter()
        .filter(|s| !s.single_box)
        .flat_map(|s| s.channels.iter().map(move |c| (s.code, c.code)))
        .take(25)
        .collect();
    assert_eq!(channels.len(), 25);
    let mut jobs = Vec::new();
    for merchant in ["alpha", "bravo"] {
        let email = app.create_merchant_user(merchant).await;
        for (n, (section, channel)) in channels.iter().enumerate() {
            let address = if n % 2 == 0 {
                &app.address
            } else {
                &second_address
            };
            let browser = Browser::new(address.clone());
            assert_eq!(
                browser
                    .login(&email, payhook_testing::PASSWORD)
                    .await
                    .status(),
                StatusCode::SEE_OTHER
            );
            jobs.push((browser, *section, *channel));
        }
    }
    let before = app
        .db
        .audit_events_by_action("settings_change")
        .await
        .unwrap()
        .len();
    let saves = jobs.iter().map(|(browser, section, channel)| async move {
        let url = format!("https://{channel}.{section}.example.co.id/notify");
        browser.save(section, channel, &url, "").await.status()
    });
    let statuses = futures_util::future::join_all(saves).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::SEE_OTHER),
        "{statuses:?}"
    );
    let after = app
        .db
        .audit_events_by_action("settings_change")
        .await
        .unwrap()
        .len();
    assert_eq!(after - before, 50);
    let (code, output) = app.run_cli(&["audit", "verify"]);
    assert_eq!(code, 0, "{output}");
    second_handle.stop(true).await;
}

async fn a_batch_append_continues_the_chain_and_never_turns_time_back(app: TestApp) {
    append_events(&app, 1, 3).await;
    let head_at = app
        .db
        .audit_events_by_action(ACTIONS[0])
        .await
        .unwrap()
        .last()
        .map(|e| e.at)
        .unwrap();
    let actor = Actor {
        email: "import@payhook.example.com".into(),
        ..Actor::default()
    };
    let batch: Vec<_> = (0..2500)
        .map(|n| (n, actor.clone(), AuditRecord::of(AuditAction::SignOut)))
        .collect();
    app.db.append_audit_batch(&batch).await.unwrap();
    app.db
        .append_audit_batch(&[])
        .await
        .expect("an empty batch appends nothing");
    let appended = app.db.audit_events_by_action("sign_out").await.unwrap();
    assert_eq!(appended.len(), 2500);
    assert_eq!(appended[0].id, 4);
    assert!(
        appended.iter().all(|e| e.at >= head_at),
        "stamped no earlier than the head"
    );
    let (code, output) = app.run_cli(&["audit", "verify"]);
    assert_eq!(
        (code, output.trim()),
        (0, "audit chain intact: 2503 events checked")
    );
}

async fn verify_notices_events_cut_off_the_end(app: TestApp) {
    append_events(&app, 1, 20).await;
    let drops: &[&str] = match app.backend {
        payhook_testing::Backend::Sqlite => &DROP_TRIGGERS_SQLITE,
        payhook_testing::Backend::Postgres => &DROP_TRIGGERS_POSTGRES,
    };
    for sql in drops {
        app.execute_sql(sql).await.unwrap();
    }
    let head_back = "UPDATE audit_chain_head SET last_id = 17";
    let error = app
        .execute_sql(head_back)
        .await
        .expect_err("the head only moves forward");
    assert!(error.to_string().contains("only moves forward"), "{error}");
    assert!(
        app.execute_sql("DELETE FROM audit_chain_head")
            .await
            .is_err()
    );

    assert_eq!(
        app.execute_sql("DELETE FROM audit_events WHERE id > 17")
            .await
            .unwrap(),
        3
    );
    let (code, output) = app.run_cli(&["audit", "verify"]);
    assert_eq!(code, 1, "{output}");
    assert!(
        output.contains("broken at event 18: events 18 to 20 were removed from the end"),
        "{output}"
    );
}
