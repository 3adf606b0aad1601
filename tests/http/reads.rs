//! Reading is free of writes: a signed-in page view leaves the whole database as it was.

use reqwest::StatusCode;
use sqlx::Connection;

use payhook_testing::TestApp;
use payhook_testing::on_both_backends;

on_both_backends!(app: a_signed_in_section_page_view_writes_nothing_to_the_database);

/// SQLite: moves, on this one connection, whenever another connection commits a write.
async fn data_version(conn: &mut sqlx::SqliteConnection) -> i64 {
    sqlx::query_scalar("PRAGMA data_version")
        .fetch_one(conn)
        .await
        .unwrap()
}

/// Postgres: a digest of every table's rows.
async fn contents(url: &str) -> String {
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE' ORDER BY 1",
    )
    .fetch_all(&mut conn)
    .await
    .unwrap();
    assert!(tables.len() > 10, "the tables were found: {tables:?}");
    let mut digest = String::new();
    for table in tables {
        let sql = format!(
            "SELECT COALESCE(md5(string_agg(t::text, '|' ORDER BY t::text)), '') \
             FROM \"{table}\" t"
        );
        let hash: String = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&mut conn)
            .await
            .unwrap();
        digest.push_str(&format!("{table}:{hash};"));
    }
    digest
}

async fn view(app: &TestApp) {
    for _ in 0..5 {
        let response = app.get("/settings/payment/va_snap").await;
        assert_eq!(response.status(), StatusCode::OK);
        let page = response.text().await.unwrap();
        assert!(page.contains("https://hooks.acme.co.id/n"));
    }
}

async fn a_signed_in_section_page_view_writes_nothing_to_the_database(app: TestApp) {
    app.sign_in_new_merchant("acme").await;
    app.save("va_snap", "bca", "https://hooks.acme.co.id/n", "")
        .await;
    // The first view shows (and clears) the saved message; the ones after read only.
    view(&app).await;
    let url = app.settings.database_url.clone();
    if url.starts_with("sqlite:") {
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let before = data_version(&mut conn).await;
        view(&app).await;
        assert_eq!(
            data_version(&mut conn).await,
            before,
            "no write while reading"
        );
        app.save("va_snap", "bca", "https://hooks.acme.co.id/m", "")
            .await;
        assert_ne!(data_version(&mut conn).await, before, "a save does move it");
    } else {
        let before = contents(&url).await;
        view(&app).await;
        assert_eq!(contents(&url).await, before, "every table as it was");
        app.save("va_snap", "bca", "https://hooks.acme.co.id/m", "")
            .await;
        assert_ne!(contents(&url).await, before, "a save does change it");
    }
}
