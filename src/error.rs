//! The one application error type. How each kind becomes a page or a status code is in
//! `pages::error`, beside the page it renders.

use crate::url_policy::UnknownEnvironment;

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("not found")]
    NotFound,
    #[error("sign-in required")]
    SignInRequired,
    #[error("a new password is required")]
    PasswordChangeRequired,
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
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        tracing::error!(%error, "database error");
        Self::internal()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(error: anyhow::Error) -> Self {
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
