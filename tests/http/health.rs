//! `/healthz`: the database and the delivery queue, as JSON, 503 when the database is gone.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use payhook_testing::on_both_backends;
use payhook_testing::queue::queue_notifications;
use payhook_testing::{Backend, TestApp, spawn_app_with};

on_both_backends!(health_reports_the_database_and_the_queue);

async fn health(app: &TestApp) -> (StatusCode, Value) {
    let response = app.get("/healthz").await;
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/json",
        "{status}"
    );
    (status, response.json().await.unwrap())
}

async fn health_reports_the_database_and_the_queue(backend: Backend) {
    // Workers that look only once, at start: what is queued afterwards waits.
    let app = spawn_app_with(backend, |settings| {
        settings.delivery_poll = Duration::from_secs(3600);
    })
    .await;
    let idle = json!({
        "database": "ok",
        "queue": {"due": 0, "oldest_due_seconds": 0},
        "email": {"oldest_unsent_seconds": 0},
    });
    assert_eq!(health(&app).await, (StatusCode::OK, idle));

    let urls = ["a", "b", "c"].map(|n| format!("https://hooks.acme.co.id/{n}"));
    queue_notifications(&app, "acme", &urls, true).await;
    app.execute_sql("UPDATE deliveries SET next_attempt_at = next_attempt_at - 120000")
        .await
        .unwrap();
    let (status, body) = health(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["database"], "ok");
    assert_eq!(body["queue"]["due"], 3);
    let waited = body["queue"]["oldest_due_seconds"].as_i64().unwrap();
    assert!((120..600).contains(&waited), "{body}");

    app.db.close().await;
    let gone = json!({"database": "unavailable", "queue": null, "email": null});
    assert_eq!(health(&app).await, (StatusCode::SERVICE_UNAVAILABLE, gone));
}
