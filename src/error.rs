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
