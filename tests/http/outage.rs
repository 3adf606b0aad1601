//! The database goes away: pages answer a clear 503, the API a 503 JSON error, `/healthz` says
//! so, nothing is half written, and the service recovers by itself when the database returns.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::cluster::ScratchCluster;
use payhook_testing::queue::{queue_notifications, settled};
use payhook_testing::{
    Backend, Probe, TestApp, code, csrf_token, hidden_value, spawn_app, spawn_app_at,
};
use payhook_testing::{Receiver, Reply, sandbox_credentials};

const CHANNEL: &str = "/settings/payment/va/bca";
const UNAVAILABLE_TEXT: &str = "The service is unavailable for a moment and nothing was changed";

/// What a save through the CONFIGURE form came to.
#[derive(Debug, Clone, PartialEq)]
enum Save {
    Saved(String),
    Refused(String),
    /// The form itself could not be shown (503), so nothing was sent.
    NoForm,
}

/// Saves `url` as the sandbox URL of va/bca with `client`, as a browser would.
async fn save(client: &reqwest::Client, base: &str, url: &str) -> Save {
    let form = client
        .get(format!("{base}{CHANNEL}"))
        .send()
        .await
        .expect("answered");
    if form.status() == StatusCode::SERVICE_UNAVAILABLE {
        return Save::NoForm;
    }
    assert_eq!(form.status(), StatusCode::OK);
    let page = form.text().await.unwrap();
    let fields = [
        ("sandbox_url", url.to_owned()),
        ("production_url", String::new()),
        ("version", hidden_value(&page, "version")),
        ("csrf_token", csrf_token(&page)),
    ];
    let saved = client
        .post(format!("{base}{CHANNEL}"))
        .form(&fields)
        .send()
        .await
        .expect("answered");
    match saved.status() {
        StatusCode::SEE_OTHER => Save::Saved(url.to_owned()),
        StatusCode::SERVICE_UNAVAILABLE => Save::Refused(url.to_owned()),
        other => panic!("a save answered {other}: {}", saved.text().await.unwrap()),
    }
}

/// A 503 page that says what happened and when to come back.
async fn assert_unavailable_page(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let html = response.text().await.unwrap();
    assert!(html.contains(UNAVAILABLE_TEXT), "{html}");
}

async fn assert_unavailable_json(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.headers()["retry-after"], "5");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unavailable", "{body}");
}

async fn create_payment(app: &TestApp, client_id: &str, secret: &str) -> reqwest::Response {
    let invoice = format!("INV-{}", &payhook::random::random_token()[..8]);
    app.client
        .post(app.url("/api/v1/payments"))
        .basic_auth(client_id, Some(secret))
        .json(&json!({"channel": "va/bca", "order": {"invoice_number": invoice, "amount": 1000}}))
        .send()
        .await
        .unwrap()
}

/// Every saved URL has its audit event and no refused one has any: nothing was half written.
async fn assert_saves_whole(app: &TestApp, saves: &[Save]) {
    let events = app
        .db
        .audit_events_by_action("settings_change")
        .await
        .unwrap();
    let recorded = |url: &str| events.iter().any(|e| e.new_value.as_deref() == Some(url));
    for save in saves {
        match save {
            Save::Saved(url) => assert!(recorded(url), "{url} saved without its event"),
            Save::Refused(url) => assert!(!recorded(url), "{url} refused yet recorded"),
            Save::NoForm => {}
        }
    }
    let last = saves.iter().rev().find_map(|s| match s {
        Save::Saved(url) => Some(url.clone()),
        _ => None,
    });
    let merchant = app.db.find_merchant(&code("acme")).await.unwrap().unwrap();
    let setting = app
        .db
        .channel_setting(merchant.id, "va", "bca")
        .await
        .unwrap();
    assert_eq!(
        setting.sandbox_url, last,
        "the last save that answered 303 holds"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_postgres_under_load_answers_503_and_recovers_by_itself() {
    let cluster = Arc::new(
        tokio::task::spawn_blocking(ScratchCluster::start)
            .await
            .unwrap(),
    );
    let app = spawn_app_at(&cluster.url(), |settings| {
        settings.url_policy.allow_private_targets = true;
        settings.notification_timeout = Duration::from_secs(5);
        settings.delivery_poll = Duration::from_millis(100);
    })
    .await;
    app.sign_in_new_merchant("acme").await;
    let (client_id, secret) = sandbox_credentials(&app).await;
    let base = app.address.clone();
    assert!(matches!(
        save(&app.client, &base, "https://hooks.acme.co.id/n0").await,
        Save::Saved(_)
    ));

    // Load: pages read by four clients, saves made one after another by a fifth.
    let running = Arc::new(AtomicBool::new(true));
    let readers: Vec<_> = (0..4)
        .map(|_| {
            let (client, url, running) = (
                app.client.clone(),
                app.url("/settings/payment/va"),
                running.clone(),
            );
            tokio::spawn(async move {
                let mut statuses = Vec::new();
                while running.load(Ordering::Relaxed) {
                    let response = client
                        .get(&url)
                        .send()
                        .await
                        .expect("every page is answered");
                    statuses.push(response.status());
                }
                statuses
            })
        })
        .collect();
    let saver = {
        let (client, base, running) = (app.client.clone(), base.clone(), running.clone());
        tokio::spawn(async move {
            let mut saves = Vec::new();
            let mut n = 1;
            while running.load(Ordering::Relaxed) {
                saves.push(save(&client, &base, &format!("https://hooks.acme.co.id/n{n}")).await);
                n += 1;
            }
            saves
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let stopping = cluster.clone();
    tokio::task::spawn_blocking(move || stopping.stop())
        .await
        .unwrap();

    let health = app.get("/healthz").await;
    assert_eq!(health.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = health.json().await.unwrap();
    assert_eq!(
        body,
        json!({"database": "unavailable", "queue": null, "email": null})
    );
    assert_unavailable_page(app.get("/settings/payment/cards").await).await;
    assert_unavailable_json(create_payment(&app, &client_id, &secret).await).await;

    let resuming = cluster.clone();
    tokio::task::spawn_blocking(move || resuming.resume())
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.get("/healthz").await.status() != StatusCode::OK {
        assert!(
            Instant::now() < deadline,
            "the service did not recover by itself"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    running.store(false, Ordering::Relaxed);
    let mut pages = Vec::new();
    for reader in readers {
        pages.extend(reader.await.unwrap());
    }
    let saves = saver.await.unwrap();
    assert!(
        pages
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::SERVICE_UNAVAILABLE),
        "only pages and 503s: {pages:?}"
    );
    assert!(
        pages.contains(&StatusCode::SERVICE_UNAVAILABLE),
        "the outage was seen"
    );
    assert_eq!(pages.last(), Some(&StatusCode::OK), "{pages:?}");

    // Recovered: pages, saves and the API work again, and nothing was half written.
    app.get_text("/settings/payment/va").await;
    let mut saves = saves;
    saves.push(save(&app.client, &base, "https://hooks.acme.co.id/after").await);
    assert_eq!(
        saves.last(),
        Some(&Save::Saved("https://hooks.acme.co.id/after".into()))
    );
    assert_saves_whole(&app, &saves).await;
    assert_eq!(
        create_payment(&app, &client_id, &secret).await.status(),
        StatusCode::CREATED
    );
    let (code, out) = app.run_cli(&["audit", "verify"]);
    assert_eq!(code, 0, "{out}");

    // The delivery workers went on by themselves too.
    let receiver = Receiver::start(Reply::ok("OK")).await;
    let url = format!("http://127.0.0.1:{}/notify", receiver.port());
    let payment = queue_notifications(&app, "acme", &[url], true).await;
    let statuses = settled(&app, &payment, Duration::from_secs(30)).await;
    assert_eq!(statuses, ["delivered"]);
}

#[tokio::test]
async fn a_read_only_sqlite_database_answers_503_to_writes_and_writes_nothing() {
    let app = spawn_app(Backend::Sqlite).await;
    app.sign_in_new_merchant("acme").await;
    let (client_id, secret) = sandbox_credentials(&app).await;
    let base = app.address.clone();
    let first = save(&app.client, &base, "https://hooks.acme.co.id/first").await;
    assert!(matches!(first, Save::Saved(_)));
    let events = app.count_rows("audit_events").await;

    // The one writer connection may no longer change the file, as if it were opened read-only.
    app.execute_sql("PRAGMA query_only = ON").await.unwrap();
    let refused = save(&app.client, &base, "https://hooks.acme.co.id/refused").await;
    assert_eq!(
        refused,
        Save::Refused("https://hooks.acme.co.id/refused".into())
    );
    let form = app.get(CHANNEL).await;
    let page = form.text().await.unwrap();
    let response = app
        .client
        .post(app.url(CHANNEL))
        .form(&[
            ("sandbox_url", "https://hooks.acme.co.id/again"),
            ("production_url", ""),
            ("version", &hidden_value(&page, "version")),
            ("csrf_token", &csrf_token(&page)),
        ])
        .send()
        .await
        .unwrap();
    assert_unavailable_page(response).await;
    assert_unavailable_json(create_payment(&app, &client_id, &secret).await).await;
    // Reads go on, `/healthz` too: it never writes.
    app.get_text("/settings/payment/va").await;
    assert_eq!(app.get("/healthz").await.status(), StatusCode::OK);
    assert_eq!(
        app.count_rows("audit_events").await,
        events,
        "nothing half written"
    );
    assert_eq!(app.count_rows("payments").await, 0);

    app.execute_sql("PRAGMA query_only = OFF").await.unwrap();
    let saves = [
        first,
        refused,
        save(&app.client, &base, "https://hooks.acme.co.id/last").await,
    ];
    assert_saves_whole(&app, &saves).await;
    assert_eq!(
        create_payment(&app, &client_id, &secret).await.status(),
        StatusCode::CREATED
    );
}
