//! All SQL lives here: one pool for SQLite or Postgres and one file per table group.
//!
//! Queries are written once with `$N` placeholders, which both drivers accept; `on_pool!`
//! expands the same code for each native pool, so every backend keeps its own types.

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

pub mod admin;
pub mod api_keys;
pub mod audit;
pub mod auth_failures;
pub mod deliveries;
pub mod delivery_hours;
pub mod delivery_log;
pub mod health;
pub mod leases;
pub mod outbox;
pub mod password_resets;
pub mod payments;
pub mod recover;
pub mod resends;
pub mod retention;
pub mod sessions;
pub mod settings;
pub mod teams;
pub mod test_slots;
pub mod two_factor;
pub mod users;

pub use api_keys::StoredApiKey;
pub use audit::{
    Actor, AuditAction, AuditEntry, AuditFilter, AuditRecord, ChainReport, ChainedEvent,
};
pub use auth_failures::FailureCounts;
pub use deliveries::{
    AfterAttempt, AttemptSummary, ClaimedDelivery, DeliveryState, NewAttempt, QueueDepth,
    TestDelivery,
};
pub use health::FailingMerchant;
pub use resends::ResendRequest;
pub use settings::{ChannelSetting, ChannelUpdate, SaveOutcome};
pub use users::{LoginUser, SessionUser};

/// A connection pool on one of the two supported databases.
#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePools),
    Postgres(PgPool),
}

/// SQLite's connections: readers, and the one writer.
#[derive(Clone, Debug)]
pub struct SqlitePools {
    pub read: SqlitePool,
    pub write: SqlitePool,
}

/// Readers: each SQLite connection runs its queries on a thread of its own, and a request that
/// finds none free waits for one to be handed back, which costs more than a query; each reader
/// also holds its own copy of the schema. 6 per core balances pages served against peak memory
/// (measured in bench/README.md, "Page views queued for SQLite connections").
fn sqlite_readers() -> u32 {
    let cores = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    u32::try_from(cores * 6).unwrap_or(12).clamp(6, 64)
}

/// The few statements that differ between the backends.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Dialect {
    /// Opens a write transaction. SQLite must take its write lock up front (`BEGIN IMMEDIATE`),
    /// or two concurrent read-then-write transactions fail with SQLITE_BUSY instead of queueing.
    pub begin: &'static str,
    /// Appended to a read of a row that serialises writers on it until the transaction ends
    /// (the audit chain's head); SQLite's `BEGIN IMMEDIATE` holds the only write lock already.
    pub for_update: &'static str,
    /// A data-modifying statement may stand in a `WITH` clause, so two writes take one round
    /// trip (Postgres; SQLite does not allow it).
    pub writes_in_with: bool,
    /// Appended to a claim's row selection so concurrent claims pass over each other's rows;
    /// SQLite needs none, its writes never run concurrently.
    pub skip_locked: &'static str,
    /// Appended to a read of a row the transaction updates next, so that concurrent
    /// writers of the row queue (Postgres; without blocking inserts that refer to it).
    pub lock_row: &'static str,
    /// A notification's place in its merchant's log: visible in this order (see the
    /// `log_at_scale` migration).
    pub log_position: &'static str,
    /// Appended to a text column compared as a prefix, so it compares by bytes as its index does.
    pub bytewise: &'static str,
}

pub(crate) const SQLITE: Dialect = Dialect {
    begin: "BEGIN IMMEDIATE",
    for_update: "",
    writes_in_with: false,
    skip_locked: "",
    lock_row: "",
    log_position: "id",
    bytewise: "",
};
pub(crate) const POSTGRES: Dialect = Dialect {
    begin: "BEGIN",
    for_update: " FOR UPDATE",
    writes_in_with: true,
    skip_locked: " FOR UPDATE SKIP LOCKED",
    lock_row: " FOR NO KEY UPDATE",
    log_position: "seq",
    bytewise: " COLLATE \"C\"",
};

/// Runs the same code on whichever pool `$db` holds. `|pool|` reads (SQLite's readers);
/// `|pool, dialect|` writes (SQLite's single writer), with that backend's `Dialect`.
macro_rules! on_pool {
    ($db:expr, |$pool:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite(pools) => {
                let $pool = &pools.read;
                $body
            }
            $crate::store::Db::Postgres($pool) => $body,
        }
    };
    ($db:expr, |$pool:ident, $dialect:ident| $body:expr) => {
        match $db {
            $crate::store::Db::Sqlite(pools) => {
                let $pool = &pools.write;
                let $dialect = $crate::store::SQLITE;
                $body
            }
            $crate::store::Db::Postgres($pool) => {
                let $dialect = $crate::store::POSTGRES;
                $body
            }
        }
    };
}
pub(crate) use on_pool;

impl Db {
    /// Connects to `database_url` (`sqlite:` or `postgres:`), creating a SQLite file if missing.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn connect(database_url: &str) -> anyhow::Result<Self> {
        if database_url.starts_with("postgres:") || database_url.starts_with("postgresql:") {
            let options = PgConnectOptions::from_str(database_url)
                .context("reading the Postgres DATABASE_URL")?;
            let options = quiet_notices(options);
            // No ping before each use: it is one more round trip per query, and a connection
            // that broke is dropped when a query on it fails.
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(5))
                .connect_with(options)
                .await
                .context("connecting to Postgres")?;
            Ok(Db::Postgres(pool))
        } else if database_url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(database_url)?;
            let in_memory =
                database_url.contains(":memory:") || database_url.contains("mode=memory");
            if !in_memory {
                create_private_file(options.get_filename())?;
            }
            let options = options
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(sqlx::sqlite::SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(5));
            // One connection writes: SQLite runs one writer at a time anyway, and queueing
            // here is cheaper than on its lock. Readers never wait for it (WAL).
            let write = SqlitePoolOptions::new()
                .max_connections(1)
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options.clone())
                .await
                .context("opening the SQLite database")?;
            // Opened at start: opening one mid-load costs a request more than its query.
            // Each reader keeps a small page cache and few prepared statements: a page view
            // runs one query, and the file's hot pages are in the OS cache anyway.
            let read_options = options
                .pragma("cache_size", "-512")
                .statement_cache_capacity(24);
            let read = SqlitePoolOptions::new()
                .min_connections(sqlite_readers())
                .max_connections(sqlite_readers())
                .test_before_acquire(false)
                .connect_with(read_options)
                .await
                .context("opening the SQLite database")?;
            Ok(Db::Sqlite(SqlitePools { read, write }))
        } else {
            anyhow::bail!("DATABASE_URL must start with sqlite: or postgres:")
        }
    }

    /// Applies every pending migration of this backend.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Db::Sqlite(pools) => {
                sqlx::migrate!("migrations/sqlite")
                    .run(&pools.write)
                    .await?;
            }
            Db::Postgres(pool) => sqlx::migrate!("migrations/postgres").run(pool).await?,
        }
        Ok(())
    }

    /// Closes every connection (used before a restart in tests and at shutdown).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn close(&self) {
        match self {
            Db::Sqlite(pools) => {
                pools.read.close().await;
                pools.write.close().await;
            }
            Db::Postgres(pool) => pool.close().await,
        }
    }

    /// Refreshes the query planner's statistics, as after a bulk load.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn refresh_statistics(&self) -> sqlx::Result<()> {
        on_pool!(self, |pool, _dialect| sqlx::query("ANALYZE")
            .execute(pool)
            .await
            .map(drop))
    }

    /// The statements that differ on this backend.
    pub(crate) fn dialect(&self) -> Dialect {
        match self {
            Db::Sqlite(_) => SQLITE,
            Db::Postgres(_) => POSTGRES,
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Db::Sqlite(_) => "sqlite",
            Db::Postgres(_) => "postgres",
        }
    }
}

/// The server sends each session's NOTICEs (such as `relation "_sqlx_migrations" already
/// exists, skipping` at every migration) only from `warning` up: sqlx logs the notices it gets,
/// and these are routine. Warnings and errors still come through. A `client_min_messages` the
/// URL sets itself (`?options[client_min_messages]=notice`) is left as it is.
fn quiet_notices(options: PgConnectOptions) -> PgConnectOptions {
    if options
        .get_options()
        .is_some_and(|set| set.contains("client_min_messages"))
    {
        return options;
    }
    options.options([("client_min_messages", "warning")])
}

/// Creates the database file readable by its owner only (0600) when it is missing, before
/// SQLite would create it with the usual 0644; SQLite gives its `-wal` and `-shm` files the
/// database file's permissions, so they are private too.
fn create_private_file(path: &std::path::Path) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(error) if error.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(error).with_context(|| format!("creating {}", path.display())),
    }
}

/// The first text after every text that starts with `prefix` (in byte order): a prefix match
/// as a range, which an index answers, and in which `%` and `_` are only themselves.
pub(crate) fn prefix_end(prefix: &str) -> String {
    let mut end = String::with_capacity(prefix.len() + 4);
    end.push_str(prefix);
    end.push(char::MAX);
    end
}

/// Milliseconds since the Unix epoch: the one time representation stored on both backends.
pub fn now_ms() -> i64 {
    let elapsed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    millis(elapsed)
}

/// `duration` in milliseconds, as times and spans are stored (saturating).
pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}
