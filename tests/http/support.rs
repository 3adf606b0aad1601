//! Spawns the real application on a random port with a fresh database, and talks to it over HTTP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use actix_web::dev::ServerHandle;
use payhook::cli::{RoleArg, add_user};
use payhook::config::Settings;
use payhook::startup::Application;
use payhook::store::{ChainedEvent, Db};
use reqwest::cookie::{CookieStore, Jar};
use reqwest::{Response, StatusCode, redirect};

/// The database a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Defines `mod $name { sqlite(); postgres() }` so each test runs on both databases.
#[macro_export]
macro_rules! on_both_databases {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::support::{Backend, spawn_app};
            #[tokio::test]
            async fn sqlite() {
                super::$name(spawn_app(Backend::Sqlite).await).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(spawn_app(Backend::Postgres).await).await;
            }
        }
    )*};
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

/// A fresh client: its own cookie jar, redirects reported rather than followed.
pub fn new_client() -> reqwest::Client {
    client_with(Arc::new(Jar::default()))
}

fn client_with(jar: Arc<Jar>) -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_provider(jar)
        .redirect(redirect::Policy::none())
        .build()
        .expect("client")
}

/// A browser-like client of one server: its own cookies, redirects reported rather than followed.
pub struct Browser {
    pub address: String,
    pub client: reqwest::Client,
    jar: Arc<Jar>,
}

impl Browser {
    pub fn new(address: String) -> Self {
        let jar = Arc::new(Jar::default());
        Self {
            address,
            client: client_with(jar.clone()),
            jar,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// This browser, with its cookies, talking to another server of the same site (as a load
    /// balancer would send it there; the process-level tests use it).
    #[allow(dead_code)]
    pub fn on(&self, address: &str) -> Browser {
        Browser {
            address: address.to_owned(),
            client: self.client.clone(),
            jar: self.jar.clone(),
        }
    }

    /// The `Cookie` header this client sends, as someone who copied it would replay it.
    pub fn cookie_header(&self) -> String {
        let url = self.address.parse().unwrap();
        let value = self.jar.cookies(&url).expect("client has cookies");
        value.to_str().unwrap().to_owned()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.expect("GET")
    }

    pub async fn get_text(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .form(form)
            .send()
            .await
            .expect("POST")
    }

    /// GETs `page` and POSTs `form` to `action` with the CSRF token the page carried.
    pub async fn submit(&self, page: &str, action: &str, form: &[(&str, &str)]) -> Response {
        let token = csrf_token(&self.get_text(page).await);
        let mut fields = form.to_vec();
        fields.push(("csrf_token", &token));
        self.post(action, &fields).await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.submit(
            "/login",
            "/login",
            &[("email", email), ("password", password)],
        )
        .await
    }

    /// Signs in through a proxy that reports the client as `forwarded_for`
    /// (`X-Forwarded-For`, as sent).
    pub async fn login_via_proxy(
        &self,
        forwarded_for: &str,
        email: &str,
        password: &str,
    ) -> Response {
        let token = csrf_token(&self.get_text("/login").await);
        self.client
            .post(self.url("/login"))
            .header("x-forwarded-for", forwarded_for)
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", &token),
            ])
            .send()
            .await
            .expect("POST /login")
    }

    /// Saves a channel's URLs through the CONFIGURE form as a browser would.
    pub async fn save(
        &self,
        section: &str,
        channel: &str,
        sandbox: &str,
        production: &str,
    ) -> Response {
        let path = format!("/settings/payment/{section}/{channel}");
        let page = self.get_text(&path).await;
        let version = hidden_value(&page, "version");
        self.submit(
            &path,
            &path,
            &[
                ("sandbox_url", sandbox),
                ("production_url", production),
                ("version", &version),
            ],
        )
        .await
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
        let sql = sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"));
        match &self.db {
            Db::Sqlite(pools) => sqlx::query_scalar(sql).fetch_one(&pools.write).await,
            Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        }
        .unwrap_or_else(|e| panic!("counting {table}: {e}"))
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

/// The value of the hidden input `name` in `html`.
pub fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} field in page"))
        + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

pub fn csrf_token(html: &str) -> String {
    hidden_value(html, "csrf_token")
}

pub fn location(response: &Response) -> &str {
    response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

impl TestApp {
    /// Runs one statement straight on the database, as someone with database access would.
    pub async fn execute_sql(&self, sql: &str) -> Result<u64, sqlx::Error> {
        let sql = sqlx::AssertSqlSafe(sql.to_owned());
        match &self.db {
            Db::Sqlite(pools) => sqlx::Executor::execute(&pools.write, sql)
                .await
                .map(|r| r.rows_affected()),
            Db::Postgres(pool) => sqlx::Executor::execute(pool, sql)
                .await
                .map(|r| r.rows_affected()),
        }
    }

    /// Makes the database refuse any audit event whose `new_value` contains `marker`, so the
    /// write it belongs to fails midway.
    pub async fn refuse_audit_events_containing(&self, marker: &str) {
        self.refuse_audit_events_where(&format!("NEW.new_value LIKE '%{marker}%'"))
            .await;
    }

    /// Makes the database refuse any audit event for which the SQL `condition` on `NEW` holds.
    pub async fn refuse_audit_events_where(&self, condition: &str) {
        let statements = match self.backend {
            Backend::Sqlite => vec![format!(
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
                 WHEN {condition} BEGIN SELECT RAISE(ABORT, 'audit refused'); END"
            )],
            Backend::Postgres => vec![
                format!(
                    "CREATE FUNCTION refuse_audit() RETURNS trigger AS $$ BEGIN \
                     IF {condition} THEN RAISE EXCEPTION 'audit refused'; END IF; \
                     RETURN NEW; END $$ LANGUAGE plpgsql"
                ),
                "CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events \
                 FOR EACH ROW EXECUTE FUNCTION refuse_audit()"
                    .to_owned(),
            ],
        };
        for sql in statements {
            self.execute_sql(&sql)
                .await
                .expect("install the refusing trigger");
        }
    }

    /// Runs `payhook ARGS` against this app's database; returns the exit code and stdout.
    pub fn run_cli(&self, args: &[&str]) -> (i32, String) {
        run_cli(&self.settings.database_url, args)
    }
}

/// Runs `payhook ARGS` against the database at `database_url`; returns the exit code and
/// stdout.
pub fn run_cli(database_url: &str, args: &[&str]) -> (i32, String) {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_payhook"))
        .args(args)
        .env("DATABASE_URL", database_url)
        .output()
        .expect("run payhook");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
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
    add_user(db, &email, RoleArg::Merchant, Some(code), PASSWORD.into())
        .await
        .unwrap();
    email
}

/// The ids of the audit rows (`data-id`) on an admin audit page, in page order.
pub fn event_ids(html: &str) -> Vec<i64> {
    html.split("class=\"event\" data-id=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
        .collect()
}

/// The `rel="next"` link of a page, with HTML entities undone.
pub fn next_link(html: &str) -> Option<String> {
    rel_link(html, "next")
}

/// The href of a page's link with `rel` (`next`, `prev`), with HTML entities undone.
pub fn rel_link(html: &str, rel: &str) -> Option<String> {
    let end = html.find(&format!("\" rel=\"{rel}\""))?;
    let start = html[..end].rfind("href=\"")? + 6;
    Some(html[start..end].replace("&amp;", "&").replace("&#38;", "&"))
}

/// A merchant code written in a test.
pub fn code(code: &str) -> payhook::domain::MerchantCode {
    payhook::domain::MerchantCode::parse(code).expect("a valid merchant code")
}

/// An email address written in a test.
pub fn email(email: &str) -> payhook::domain::EmailAddress {
    payhook::domain::EmailAddress::parse(email).expect("a valid email address")
}

/// A delivery with its latest attempt, as the tests read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Delivery {
    pub section: String,
    pub channel: String,
    pub environment: String,
    pub kind: String,
    pub url: String,
    pub request_id: String,
    pub status: String,
    pub attempts: i64,
    pub request_headers: String,
    pub request_body: String,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
    pub latency_ms: Option<i64>,
    pub outcome: String,
    pub error: Option<String>,
}

/// Reads the tests need and the product does not: every event of one action, a merchant's
/// deliveries.
#[allow(async_fn_in_trait)]
pub trait Probe {
    /// Every audit event of one action, oldest first.
    async fn audit_events_by_action(&self, action: &str) -> sqlx::Result<Vec<ChainedEvent>>;
    /// A merchant's deliveries, newest first.
    async fn deliveries(&self, merchant_id: i64, limit: i64) -> sqlx::Result<Vec<Delivery>>;
}

impl Probe for Db {
    async fn audit_events_by_action(&self, action: &str) -> sqlx::Result<Vec<ChainedEvent>> {
        const SQL: &str = "SELECT id, at, action, actor_user_id, actor_email, actor_role, \
             merchant_id, section, channel, field, old_value, new_value, client_ip, prev_hash, \
             hash FROM audit_events WHERE action = $1 ORDER BY id LIMIT 10000";
        match self {
            Db::Sqlite(pools) => {
                sqlx::query_as(SQL)
                    .bind(action)
                    .fetch_all(&pools.write)
                    .await
            }
            Db::Postgres(pool) => sqlx::query_as(SQL).bind(action).fetch_all(pool).await,
        }
    }

    async fn deliveries(&self, merchant_id: i64, limit: i64) -> sqlx::Result<Vec<Delivery>> {
        const SQL: &str = "SELECT d.section, d.channel, d.environment, d.kind, d.url, d.request_id, d.status, d.attempts, a.request_headers, \
             d.request_body, a.http_status AS response_status, a.response_body, a.latency_ms, \
             a.outcome, a.error \
             FROM deliveries d JOIN delivery_attempts a ON a.id = \
             (SELECT MAX(id) FROM delivery_attempts WHERE delivery_id = d.id) \
             WHERE d.merchant_id = $1 ORDER BY d.id DESC LIMIT $2";
        match self {
            Db::Sqlite(pools) => {
                sqlx::query_as(SQL)
                    .bind(merchant_id)
                    .bind(limit)
                    .fetch_all(&pools.write)
                    .await
            }
            Db::Postgres(pool) => {
                sqlx::query_as(SQL)
                    .bind(merchant_id)
                    .bind(limit)
                    .fetch_all(pool)
                    .await
            }
        }
    }
}
