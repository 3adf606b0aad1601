//! Spawns the real application on a random port with a fresh database of its own.

use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::dev::ServerHandle;
use payhook::cli::{RoleArg, add_user};
use payhook::config::Settings;
use payhook::startup::Application;
use payhook::store::Db;

use reqwest::StatusCode;

use super::{Browser, code};

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A running server, its database and one browser (`app.get(..)` etc. go through it).
pub struct TestApp {
    pub browser: Browser,
    pub db: Db,
    pub backend: Backend,
    pub settings: Settings,
    handle: ServerHandle,
    _database: ScratchDatabase,
}

/// A fresh, empty database of its own, gone when this is dropped.
pub struct ScratchDatabase {
    pub url: String,
    _sqlite_dir: Option<tempfile::TempDir>,
    postgres_database: Option<String>,
}

impl ScratchDatabase {
    pub async fn new(backend: Backend) -> Self {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("payhook.db").display());
                Self {
                    url,
                    _sqlite_dir: Some(dir),
                    postgres_database: None,
                }
            }
            Backend::Postgres => {
                let name = unique_name();
                let admin = format!("{}/postgres", postgres_server());
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin)
                    .await
                    .expect(
                        "Postgres must be running on 127.0.0.1:5432 (the test script starts it)",
                    );
                sqlx::Executor::execute(
                    &mut conn,
                    sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")),
                )
                .await
                .expect("create test database");
                Self {
                    url: format!("{}/{name}", postgres_server()),
                    _sqlite_dir: None,
                    postgres_database: Some(name),
                }
            }
        }
    }
}

pub const PASSWORD: &str = "correct horse battery staple";

fn postgres_server() -> String {
    std::env::var("PAYHOOK_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned())
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

fn unique_name() -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!(
        "payhook_test_{}_{}_{n}",
        std::process::id(),
        payhook::random::random_token()[..8].to_owned()
    )
}

/// Starts the app on `backend` with an empty, migrated database.
pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Like `spawn_app`, letting the test adjust the settings first.
pub async fn spawn_app_with(backend: Backend, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let database = ScratchDatabase::new(backend).await;
    spawn_app_on(database, backend, adjust).await
}

/// Starts the app on a Postgres database the test runs itself, at `url`.
pub async fn spawn_app_at(url: &str, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let database = ScratchDatabase {
        url: url.to_owned(),
        _sqlite_dir: None,
        postgres_database: None,
    };
    spawn_app_on(database, Backend::Postgres, adjust).await
}

async fn spawn_app_on(
    database: ScratchDatabase,
    backend: Backend,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::for_database(&database.url);
    adjust(&mut settings);
    let app = Application::build(settings.clone())
        .await
        .expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.db().clone();
    let handle = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        browser: Browser::new(address),
        db,
        backend,
        settings,
        handle,
        _database: database,
    }
}

impl std::ops::Deref for TestApp {
    type Target = Browser;
    fn deref(&self) -> &Browser {
        &self.browser
    }
}

impl TestApp {
    /// A second browser on the same server, signed out.
    pub fn new_browser(&self) -> Browser {
        Browser::new(self.address.clone())
    }

    /// A new browser signed in as `email`.
    pub async fn signed_in_browser(&self, email: &str) -> Browser {
        let browser = self.new_browser();
        let response = browser.login(email, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {email}"
        );
        browser
    }

    /// Creates merchant `code` with one user, and signs that user in on this client.
    pub async fn sign_in_new_merchant(&self, code: &str) -> String {
        let email = self.create_merchant_user(code).await;
        let response = self.login(&email, PASSWORD).await;
        assert_eq!(
            response.status(),
            StatusCode::SEE_OTHER,
            "sign-in of {email}"
        );
        email
    }

    pub async fn create_merchant_user(&self, code: &str) -> String {
        create_merchant_user(&self.db, code).await
    }

    /// Creates a member of merchant `code` (created if missing) with `role`; returns its email.
    pub async fn create_member(&self, code: &str, role: RoleArg) -> String {
        let merchant = self::code(code);
        if self.db.find_merchant(&merchant).await.unwrap().is_none() {
            self.db
                .create_merchant(&merchant, &format!("Merchant {code}"), None)
                .await
                .unwrap();
        }
        let email = format!(
            "{}@{code}.example.com",
            payhook::random::random_token()[..6].to_owned()
        );
        add_user(&self.db, &email, role, Some(code), PASSWORD.into())
            .await
            .unwrap();
        email
    }

    /// Creates a read-only auditor of the gateway; returns its email.
    pub async fn create_auditor(&self) -> String {
        let email = format!(
            "auditor-{}@payhook.example.com",
            payhook::random::random_token()[..6].to_owned()
        );
        add_user(&self.db, &email, RoleArg::Auditor, None, PASSWORD.into())
            .await
            .unwrap();
        email
    }

    pub async fn create_admin(&self) -> String {
        let email = format!(
            "admin-{}@payhook.example.com",
            payhook::random::random_token()[..6].to_owned()
        );
        add_user(&self.db, &email, RoleArg::Admin, None, PASSWORD.into())
            .await
            .unwrap();
        email
    }

    /// A browser on a second server process-alike: another server on the same database and
    /// settings, as a second instance behind a load balancer would be.
    pub async fn second_instance(&self) -> Browser {
        let app = Application::build(self.settings.clone())
            .await
            .expect("build a second instance");
        let browser = Browser::new(format!("http://127.0.0.1:{}", app.port()));
        tokio::spawn(app.run_until_stopped());
        browser
    }

    /// How many rows `table` holds.
    pub async fn count_rows(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT COUNT(*) FROM {table}")).await
    }

    /// Stops the server and starts a new one on the same database.
    pub async fn restart(&mut self) {
        self.handle.stop(true).await;
        self.db.close().await;
        let app = Application::build(self.settings.clone())
            .await
            .expect("rebuild app");
        self.browser.address = format!("http://127.0.0.1:{}", app.port());
        self.db = app.db().clone();
        self.handle = app.handle();
        tokio::spawn(app.run_until_stopped());
    }
}

impl TestApp {
    /// Runs `payhook ARGS` against this app's database; returns the exit code and stdout.
    pub fn run_cli(&self, args: &[&str]) -> (i32, String) {
        run_cli(&self.settings.database_url, args)
    }
}

impl Drop for ScratchDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_database.take() else {
            return;
        };
        // Drop needs a runtime of its own: the test's runtime is shutting down.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let admin = format!("{}/postgres", postgres_server());
                if let Ok(mut conn) =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await
                {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = sqlx::Executor::execute(&mut conn, sqlx::AssertSqlSafe(sql)).await;
                }
            });
        })
        .join();
    }
}

/// Runs `payhook ARGS` against the database at `database_url`; returns the exit code and
/// stdout.
pub fn run_cli(database_url: &str, args: &[&str]) -> (i32, String) {
    let output = std::process::Command::new(payhook_binary())
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run payhook");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// The `payhook` executable Cargo built beside the test (or benchmark) being run:
/// `target/<profile>/payhook`, run from `target/<profile>/deps/` or `target/<profile>/examples/`.
pub fn payhook_binary() -> std::path::PathBuf {
    let running = std::env::current_exe().expect("the running test's path");
    let profile_dir = running
        .parent()
        .and_then(std::path::Path::parent)
        .expect("tests run from target/<profile>/deps");
    let binary = profile_dir.join(format!("payhook{}", std::env::consts::EXE_SUFFIX));
    assert!(binary.exists(), "{} was not built", binary.display());
    binary
}

/// Creates merchant `code` (unless it exists) with one new user whose password is
/// [`PASSWORD`]; returns the user's email.
pub async fn create_merchant_user(db: &Db, code: &str) -> String {
    let merchant = self::code(code);
    if db.find_merchant(&merchant).await.unwrap().is_none() {
        db.create_merchant(&merchant, &format!("Merchant {code}"), None)
            .await
            .unwrap();
    }
    let email = format!(
        "{}@{code}.example.com",
        payhook::random::random_token()[..6].to_owned()
    );
    add_user(db, &email, RoleArg::Owner, Some(code), PASSWORD.into())
        .await
        .unwrap();
    email
}
