//! The one application error type and how each kind becomes a response.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use crate::pages::{ErrorPage, Layout};

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

    /// What the error page says, in the reader's language.
    fn user_message(&self) -> String {
        let key = match self {
            Self::NotFound => "error.not_found",
            Self::Csrf => "error.csrf",
            Self::PayloadTooLarge => "error.too_large",
            Self::Database(_) | Self::Unexpected(_) => "error.internal",
            Self::SignInRequired | Self::PasswordChangeRequired => "error.sign_in",
            Self::Forbidden(message) => return (*message).to_owned(),
            Self::BadRequest(message) => return message.clone(),
        };
        crate::i18n::t(key).to_owned()
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::SignInRequired | Self::PasswordChangeRequired => StatusCode::SEE_OTHER,
            Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Database(_) | Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignInRequired => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/login"))
                    .finish();
            }
            Self::PasswordChangeRequired => {
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/account/password"))
                    .finish();
            }
            Self::Database(error) => tracing::error!(%error, "database error"),
            Self::Unexpected(error) => {
                tracing::error!(error = format!("{error:#}"), "unexpected error")
            }
            _ => {}
        }
        let status = self.status_code();
        let page = ErrorPage {
            layout: Layout::anonymous(&status_title(status)),
            status: status.as_u16(),
            message: self.user_message(),
        };
        render_page(status, &page)
    }
}

/// The error page's title: the status's name in the reader's language.
fn status_title(status: StatusCode) -> String {
    let key = format!("status.{}", status.as_u16());
    let title = crate::i18n::Lang::current().lookup(&key);
    title
        .or(status.canonical_reason())
        .unwrap_or("Error")
        .to_owned()
}

/// Renders `template` with `status`; a rendering failure becomes a plain 500, never a panic.
pub fn render_page(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(error) => {
            tracing::error!(%error, "template rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}
