//! Reading the audit log: actor and merchant filters by prefix (pages and CSV alike), and each
//! action told as a sentence of its own, in English and in Bahasa Indonesia.

use payhook::store::{Actor, AuditAction, AuditRecord, now_ms};

use payhook_testing::Probe;
use payhook_testing::on_both_backends;
use payhook_testing::{Browser, PASSWORD, TestApp, event_ids, next_link};

on_both_backends!(
    app:
    actor_and_merchant_filters_match_a_prefix_and_percent_or_underscore_only_as_themselves,
    pages_and_the_csv_stay_exact_under_prefix_filters,
    a_prefix_shared_by_hundreds_of_merchants_still_selects_exactly_their_events,
    each_action_reads_as_its_own_sentence_in_english_and_indonesian,
);

const ACTORS: [&str; 5] = [
    "demo@acme.example.com",
    "demo.two@acme.example.com",
    "de%mo@acme.example.com",
    "d_mo@acme.example.com",
    "dexter@acme.example.com",
];
const MERCHANTS: [Option<&str>; 4] = [Some("demo"), Some("demobank"), Some("dex"), None];

/// One appended event: its id, actor and merchant code.
type Appended = (i64, &'static str, Option<&'static str>);

/// Appends `count` events to an empty log, the i-th (from 1) by `ACTORS[i % 5]` about
/// `MERCHANTS[i % 4]`.
async fn seed(app: &TestApp, count: i64) -> Vec<Appended> {
    let mut ids = Vec::new();
    for code in MERCHANTS {
        ids.push(match code {
            Some(code) => {
                let code = payhook_testing::code(code);
                Some(app.db.create_merchant(&code, "Shop", None).await.unwrap())
            }
            None => None,
        });
    }
    let now = now_ms();
    let events: Vec<(i64, Actor, AuditRecord)> = (1..=count)
        .map(|id| {
            let n = id as usize;
            let actor = Actor {
                email: ACTORS[n % 5].to_owned(),
                ..Actor::default()
            };
            let record = AuditRecord {
                merchant_id: ids[n % 4],
                ..AuditRecord::of(AuditAction::SignIn)
            };
            (now, actor, record)
        })
        .collect();
    app.db.append_audit_batch(&events).await.unwrap();
    (1..=count)
        .map(|id| (id, ACTORS[id as usize % 5], MERCHANTS[id as usize % 4]))
        .collect()
}

/// The ids of `events` that `keep` selects, newest first.
fn newest_first(events: &[Appended], keep: impl Fn(&Appended) -> bool) -> Vec<i64> {
    events
        .iter()
        .rev()
        .filter(|e| keep(e))
        .map(|e| e.0)
        .collect()
}

/// Every id on `path` and the pages its `rel="next"` links lead to, in order.
async fn all_pages(browser: &Browser, path: &str) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut next = Some(path.to_owned());
    while let Some(path) = next {
        let page = browser.get_text(&path).await;
        next = next_link(&page);
        let page_ids = event_ids(&page);
        if next.is_some() {
            assert_eq!(page_ids.len(), 50, "only the last page is short: {path}");
        }
        ids.extend(page_ids);
    }
    ids
}

async fn actor_and_merchant_filters_match_a_prefix_and_percent_or_underscore_only_as_themselves(
    app: TestApp,
) {
    let events = seed(&app, 40).await;
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let actor_starts = |prefix: &'static str| move |e: &Appended| e.1.starts_with(prefix);
    let merchant_starts =
        |prefix: &'static str| move |e: &Appended| e.2.is_some_and(|c| c.starts_with(prefix));
    let cases: Vec<(&str, Vec<i64>)> = vec![
        ("actor=dem", newest_first(&events, actor_starts("dem"))),
        (
            "actor=%20DEMO.T%20",
            newest_first(&events, actor_starts("demo.two@")),
        ),
        ("actor=de%25", newest_first(&events, actor_starts("de%"))),
        ("actor=d_", newest_first(&events, actor_starts("d_"))),
        (
            "merchant=dem",
            newest_first(&events, merchant_starts("dem")),
        ),
        (
            "merchant=DemoB",
            newest_first(&events, merchant_starts("demob")),
        ),
        (
            "merchant=demo&exact=1",
            newest_first(&events, |e| e.2 == Some("demo")),
        ),
        (
            "merchant=de&actor=dex",
            newest_first(&events, |e| {
                merchant_starts("de")(e) && actor_starts("dex")(e)
            }),
        ),
    ];
    for (query, expected) in cases {
        assert!(!expected.is_empty(), "{query} selects something");
        assert!(
            expected.len() < events.len(),
            "{query} leaves something out"
        );
        let page = admin.get_text(&format!("/admin/audit?{query}")).await;
        assert_eq!(event_ids(&page), expected, "{query}");
    }
    // A merchant's own page links to its events alone, not to those of codes it starts.
    let merchant_page = admin.get_text("/admin/merchants/demo").await;
    let link = merchant_page
        .split("id=\"merchant-audit\"")
        .next()
        .and_then(|before| before.rsplit("href=\"").next())
        .map(|href| href.split('"').next().unwrap().replace("&amp;", "&"))
        .unwrap();
    assert_eq!(link, "/admin/audit?merchant=demo&exact=1");
    let page = admin.get_text(&link).await;
    assert_eq!(
        event_ids(&page),
        newest_first(&events, |e| e.2 == Some("demo")),
        "demobank's events are not demo's"
    );
    assert_eq!(
        newest_first(&events, actor_starts("de%")).len(),
        8,
        "a literal %: one actor in five"
    );
    for nothing in [
        "actor=%25",
        "actor=_",
        "merchant=%25",
        "merchant=_",
        "merchant=zzz",
    ] {
        let page = admin.get_text(&format!("/admin/audit?{nothing}")).await;
        assert!(event_ids(&page).is_empty(), "{nothing} matches no event");
        assert!(page.contains("No events match"), "{nothing}");
    }
}

async fn pages_and_the_csv_stay_exact_under_prefix_filters(app: TestApp) {
    let events = seed(&app, 300).await;
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let query = "actor=de&merchant=dem";
    let expected = newest_first(&events, |e| {
        e.1.starts_with("de") && e.2.is_some_and(|c| c.starts_with("dem"))
    });
    assert!(
        expected.len() > 100,
        "more than two pages ({})",
        expected.len()
    );
    let first = admin.get_text(&format!("/admin/audit?{query}")).await;
    let next = next_link(&first).expect("a next page");
    assert!(
        next.contains("actor=de&") && next.contains("merchant=dem&"),
        "the filters carry to the next page: {next}"
    );
    assert_eq!(
        all_pages(&admin, &format!("/admin/audit?{query}")).await,
        expected,
        "no duplicate, no gap"
    );

    let csv = admin
        .get(&format!("/admin/audit.csv?{query}"))
        .await
        .text()
        .await
        .unwrap();
    let rows: Vec<&str> = csv.split_terminator("\r\n").skip(1).collect();
    let csv_ids: Vec<i64> = rows
        .iter()
        .map(|row| row.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(csv_ids, expected, "the CSV holds what the pages list");
    assert!(rows.iter().all(|row| row.contains(",dem")), "{rows:?}");
}

async fn a_prefix_shared_by_hundreds_of_merchants_still_selects_exactly_their_events(app: TestApp) {
    let mut events = seed(&app, 40).await;
    let values: Vec<String> = (0..600)
        .map(|n| format!("('demo-{n:04}', 'Shop', 0)"))
        .collect();
    let sql = format!(
        "INSERT INTO merchants (code, name, created_at) VALUES {}",
        values.join(", ")
    );
    assert_eq!(app.execute_sql(&sql).await.unwrap(), 600);
    let mut appended = Vec::new();
    for (n, code) in [(41, "demo-0007"), (42, "demo-0599"), (43, "demo-0100")] {
        let merchant = app.db.find_merchant(&payhook_testing::code(code)).await;
        let record = AuditRecord {
            merchant_id: Some(merchant.unwrap().unwrap().id),
            ..AuditRecord::of(AuditAction::SignIn)
        };
        let actor = Actor {
            email: ACTORS[0].to_owned(),
            ..Actor::default()
        };
        appended.push((now_ms(), actor, record));
        events.push((n, ACTORS[0], Some(code)));
    }
    app.db.append_audit_batch(&appended).await.unwrap();
    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let starts = |prefix: &'static str| {
        newest_first(&events, move |e| e.2.is_some_and(|c| c.starts_with(prefix)))
    };
    for (prefix, expected) in [
        ("demo", starts("demo")),
        ("demo-", vec![43, 42, 41]),
        ("demo-00", vec![41]),
    ] {
        let page = admin
            .get_text(&format!("/admin/audit?merchant={prefix}"))
            .await;
        assert_eq!(event_ids(&page), expected, "merchant={prefix}");
    }
    assert_eq!(starts("demo").len(), 23, "demo, demobank and the three");
}

/// The page's text between `<tbody>` and `</tbody>`: the rows, not the filter's options.
fn rows(html: &str) -> &str {
    let start = html.find("<tbody>").expect("a table");
    let end = html[start..].find("</tbody>").unwrap();
    &html[start..start + end]
}

async fn each_action_reads_as_its_own_sentence_in_english_and_indonesian(app: TestApp) {
    let email = app.sign_in_new_merchant("acme").await;
    app.save("va", "bca", "https://acme.co.id/first", "").await;
    app.save("va", "bca", "https://acme.co.id/second", "").await;
    let revealed = app
        .submit(
            "/integration/api-keys",
            "/integration/api-keys",
            &[("environment", "production"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(revealed.status(), reqwest::StatusCode::OK);
    let created = app
        .db
        .audit_events_by_action("api_key_create")
        .await
        .unwrap();
    let client_id = |environment: &str| {
        let field = format!("{environment}_secret_key");
        let event = created.iter().find(|e| e.field.as_deref() == Some(&field));
        event
            .and_then(|e| e.new_value.clone())
            .expect("a Client-Id")
    };
    let (sandbox, production) = (client_id("sandbox"), client_id("production"));

    let admin = app.signed_in_browser(&app.create_admin().await).await;
    let english = admin.get_text("/admin/audit").await;
    let english = rows(&english);
    let expected = [
        "Signed in".to_owned(),
        "Set the sandbox URL to <code>https://acme.co.id/first</code>".to_owned(),
        "Changed the sandbox URL from <code>https://acme.co.id/first</code> to \
         <code>https://acme.co.id/second</code>"
            .to_owned(),
        format!("Created the sandbox Client-Id <code>{sandbox}</code>"),
        format!("Created the production Client-Id <code>{production}</code>"),
        "Revealed the production secret key".to_owned(),
    ];
    for sentence in &expected {
        assert!(english.contains(sentence.as_str()), "{sentence}\n{english}");
    }
    for odd in ["→", "—", "secret key: ", "Sandbox secret key"] {
        assert!(!english.contains(odd), "{odd} in\n{english}");
    }
    let history = app.get_text("/settings/payment/va/bca/history").await;
    assert!(
        history.contains(&expected[2]),
        "the channel's history tells the change the same way"
    );

    assert!(admin.get("/language/id").await.status().is_redirection());
    let indonesian = admin.get_text("/admin/audit").await;
    let indonesian = rows(&indonesian);
    for sentence in [
        "Masuk".to_owned(),
        "Mengisi URL sandbox dengan <code>https://acme.co.id/first</code>".to_owned(),
        "Mengubah URL sandbox dari <code>https://acme.co.id/first</code> menjadi \
         <code>https://acme.co.id/second</code>"
            .to_owned(),
        format!("Membuat Client-Id produksi <code>{production}</code>"),
        "Menampilkan kunci rahasia produksi".to_owned(),
    ] {
        assert!(indonesian.contains(&sentence), "{sentence}\n{indonesian}");
    }
    assert!(!indonesian.contains("Revealed"), "nothing left in English");
    assert!(indonesian.contains(&email), "the actor stays named");
}
