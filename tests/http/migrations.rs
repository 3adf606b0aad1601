//! Upgrading a database made before teams: its merchant users become owners, every row that
//! names a user still does, and they sign in as before.

use std::borrow::Cow;

use reqwest::StatusCode;

use payhook::paths;
use payhook::store::Db;
use payhook_testing::on_both_backends;
use payhook_testing::{Backend, PASSWORD, ScratchDatabase, location, spawn_app_at};

on_both_backends!(merchant_users_of_before_teams_become_owners);

/// The first migration of merchant teams.
const TEAMS: i64 = 20261206000300;

async fn merchant_users_of_before_teams_become_owners(backend: Backend) {
    let scratch = ScratchDatabase::new(backend).await;
    let db = Db::connect(&scratch.url).await.unwrap();
    let dir = match backend {
        Backend::Sqlite => "migrations/sqlite",
        Backend::Postgres => "migrations/postgres",
    };
    let mut before = sqlx::migrate::Migrator::new(std::path::Path::new(dir))
        .await
        .unwrap();
    let earlier: Vec<_> = before
        .migrations
        .iter()
        .filter(|m| m.version < TEAMS)
        .cloned()
        .collect();
    assert!(earlier.len() < before.migrations.len(), "teams come later");
    before.migrations = Cow::Owned(earlier);
    // A user row as a release before teams wrote it, and rows that point at it.
    let hash = payhook::password::hash(PASSWORD.into()).await.unwrap();
    let statements = [
        "INSERT INTO merchants (id, code, name, created_at) VALUES (7, 'lama', 'Toko Lama', 1)"
            .to_owned(),
        format!(
            "INSERT INTO users (id, email, password_hash, role, merchant_id, created_at) \
             VALUES (11, 'lama@toko.example.com', '{hash}', 'merchant', 7, 1)"
        ),
        format!(
            "INSERT INTO users (id, email, password_hash, role, merchant_id, created_at) \
             VALUES (12, 'staff@payhook.example.com', '{hash}', 'admin', NULL, 1)"
        ),
        "INSERT INTO channel_settings (merchant_id, section, channel, sandbox_url, version, \
         updated_at, updated_by) VALUES (7, 'va', 'bca', 'https://toko.example.com/n', 1, 1, 11)"
            .to_owned(),
        "INSERT INTO password_resets (token_hash, user_id, created_at, expires_at) \
         VALUES ('x', 11, 1, 2)"
            .to_owned(),
    ];
    match &db {
        Db::Sqlite(pools) => {
            before.run(&pools.write).await.unwrap();
            for sql in &statements {
                sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                    .execute(&pools.write)
                    .await
                    .unwrap();
            }
        }
        Db::Postgres(pool) => {
            before.run(pool).await.unwrap();
            for sql in &statements {
                // The ids are given, as the identity columns allow only when asked.
                let sql = if sql.contains("(id,") {
                    sql.replace(" VALUES ", " OVERRIDING SYSTEM VALUE VALUES ")
                } else {
                    sql.clone()
                };
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .execute(pool)
                    .await
                    .unwrap();
            }
        }
    }
    db.close().await;

    // The server upgrades the database when it starts.
    let app = spawn_app_at(&scratch.url, |_| {}).await;
    let roles: Vec<(i64, String)> = match &app.db {
        Db::Sqlite(pools) => sqlx::query_as("SELECT id, role FROM users ORDER BY id")
            .fetch_all(&pools.read)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_as("SELECT id, role FROM users ORDER BY id")
            .fetch_all(pool)
            .await
            .unwrap(),
    };
    assert_eq!(roles, [(11, "owner".to_owned()), (12, "admin".to_owned())]);
    let kept: i64 = app
        .scalar("SELECT COUNT(*) FROM channel_settings WHERE updated_by = 11")
        .await;
    assert_eq!(kept, 1, "the setting still names who changed it");
    let resets: i64 = app
        .scalar("SELECT COUNT(*) FROM password_resets WHERE user_id = 11")
        .await;
    assert_eq!(resets, 1);
    // The new rule holds on the upgraded table: a merchant role needs its merchant.
    let refused = app
        .execute_sql(
            "INSERT INTO users (email, password_hash, role, created_at) \
             VALUES ('x@toko.example.com', 'x', 'developer', 1)",
        )
        .await;
    assert!(refused.is_err(), "a developer without a merchant");

    let signed_in = app.login("lama@toko.example.com", PASSWORD).await;
    assert_eq!(location(&signed_in), paths::PAYMENT_SETTINGS);
    let team = app.get(paths::TEAM).await;
    assert_eq!(team.status(), StatusCode::OK);
    let team = team.text().await.unwrap();
    assert!(team.contains("id=\"my-role\">Owner<"), "{team}");
    assert!(team.contains("id=\"invite\""), "an owner manages the team");
}
