//! The one application error type. How each kind becomes a page or a status code is in
//! `pages::error`, beside the page it renders.

use crate::domain::UnknownEnvironment;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    /// Signed out: to the sign-in page, which returns to this page (a GET's) after.
    #[error("sign-in required")]
    SignInRequired(Option<crate::domain::ReturnPath>),
    #[error("a new password is required")]
    PasswordChangeRequired,
    #[error("two-factor sign-in must be set up first")]
    TwoFactorRequired,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the form's security token is missing or does not match this session")]
    Csrf,
    #[error("{0}")]
    BadRequest(String),
    #[error("the request body is larger than 64 KiB")]
    PayloadTooLarge,
    #[error("database error")]
    Database(#[from] sqlx::Error),
    #[error("unexpected error")]
    Unexpected(#[from] anyhow::Error),
}

impl AppError {
    /// Maps a form extraction failure: an oversized body is 413, anything else 400.
    pub fn from_form_error(error: actix_web::Error) -> Self {
        match error.as_error::<actix_web::error::UrlencodedError>() {
            Some(actix_web::error::UrlencodedError::Overflow { .. }) => Self::PayloadTooLarge,
            _ => {
                // The parser's words are for the log; the reader gets a sentence.
                tracing::info!(%error, "unreadable form");
                Self::BadRequest(crate::i18n::t("error.bad_form").to_owned())
            }
        }
    }
}

impl AppError {
    /// The database cannot be reached or used for now: answered 503, try again shortly.
    pub fn is_unavailable(&self) -> bool {
        match self {
            Self::Database(error) => database_unavailable(error),
            Self::Unexpected(error) => wraps_unavailable(error),
            _ => false,
        }
    }
}

/// How long a client should wait before trying again after a 503.
pub const RETRY_AFTER_UNAVAILABLE: std::time::Duration = std::time::Duration::from_secs(5);

/// Whether `error` says the database is down, restarting, out of connections, read-only,
/// locked or failing its disk, rather than that this request was wrong: the same request may
/// succeed in a moment. A transaction that failed so was rolled back, so nothing is half
/// written.
pub fn database_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(db) => {
            if let Some(pg) = db.try_downcast_ref::<sqlx::postgres::PgDatabaseError>() {
                postgres_unavailable(pg.code())
            } else if db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some() {
                db.code()
                    .and_then(|code| code.parse::<i32>().ok())
                    .is_some_and(sqlite_unavailable)
            } else {
                false
            }
        }
        _ => false,
    }
}

/// SQLSTATE classes and codes of a server that is going away or cannot take more work:
/// connection exceptions (08), shutdown and start-up (57P01-57P03), too many connections
/// (53300), out of disk or memory (53100, 53200), a read-only transaction (25006).
fn postgres_unavailable(code: &str) -> bool {
    code.starts_with("08")
        || matches!(
            code,
            "57P01" | "57P02" | "57P03" | "53300" | "53100" | "53200" | "25006"
        )
}

/// SQLite's primary result codes (the low byte of an extended one) for a database that is
/// busy, locked, read-only, failing its disk, full or cannot be opened.
fn sqlite_unavailable(code: i32) -> bool {
    const BUSY: i32 = 5;
    const LOCKED: i32 = 6;
    const READONLY: i32 = 8;
    const IOERR: i32 = 10;
    const FULL: i32 = 13;
    const CANTOPEN: i32 = 14;
    matches!(
        code & 0xff,
        BUSY | LOCKED | READONLY | IOERR | FULL | CANTOPEN
    )
}

/// An error of ours carrying an unavailable database somewhere in its chain.
fn wraps_unavailable(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<sqlx::Error>()
            .is_some_and(database_unavailable)
    })
}

/// A form's `environment` field that names neither environment.
impl From<UnknownEnvironment> for AppError {
    fn from(_: UnknownEnvironment) -> Self {
        Self::BadRequest(crate::i18n::t("test.choose_environment").to_owned())
    }
}

/// An error of the JSON payment API, answered as
/// `{"error": {"code": "...", "message": "...", ...details}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: actix_web::http::StatusCode,
    /// Stable, for programs.
    pub code: &'static str,
    /// For the developer reading the answer.
    pub message: String,
    /// More fields beside `code` and `message` (the header, item and rules of a refused URL).
    pub details: serde_json::Map<String, serde_json::Value>,
    /// `Retry-After`, in seconds, when trying again later may succeed.
    pub retry_after: Option<u64>,
}

impl ApiError {
    pub fn new(
        status: actix_web::http::StatusCode,
        code: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: serde_json::Map::new(),
            retry_after: None,
        }
    }

    /// Tells the caller when trying again may succeed.
    pub fn with_retry_after(mut self, after: std::time::Duration) -> Self {
        self.retry_after = Some(after.as_secs());
        self
    }

    /// Adds a field beside `code` and `message`.
    pub fn with(mut self, key: &str, value: impl Into<serde_json::Value>) -> Self {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    pub fn not_found() -> Self {
        Self::new(
            actix_web::http::StatusCode::NOT_FOUND,
            "not_found",
            "No such payment for this merchant.",
        )
    }

    fn internal() -> Self {
        Self::new(
            actix_web::http::StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Something went wrong on our side; try again.",
        )
    }

    fn unavailable() -> Self {
        Self::new(
            actix_web::http::StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "The service is unavailable for a moment and nothing was changed; try again.",
        )
        .with_retry_after(RETRY_AFTER_UNAVAILABLE)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if database_unavailable(&error) {
            tracing::error!(%error, "database unavailable");
            return Self::unavailable();
        }
        tracing::error!(%error, "database error");
        Self::internal()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
        if wraps_unavailable(&error) {
            tracing::error!(error = format!("{error:#}"), "database unavailable");
            return Self::unavailable();
        }
        tracing::error!(error = format!("{error:#}"), "unexpected error");
        Self::internal()
    }
}

impl actix_web::ResponseError for ApiError {
    fn status_code(&self) -> actix_web::http::StatusCode {
        self.status
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        let mut error = self.details.clone();
        error.insert("code".into(), self.code.into());
        error.insert("message".into(), self.message.clone().into());
        let mut response = actix_web::HttpResponse::build(self.status);
        if self.status == actix_web::http::StatusCode::UNAUTHORIZED {
            response.insert_header((
                actix_web::http::header::WWW_AUTHENTICATE,
                "Basic realm=\"payhook sandbox\", charset=\"UTF-8\"",
            ));
        }
        if let Some(seconds) = self.retry_after {
            response.insert_header((actix_web::http::header::RETRY_AFTER, seconds.to_string()));
        }
        response.json(serde_json::json!({ "error": error }))
    }
}
