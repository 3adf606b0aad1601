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
            _ => Self::BadRequest(format!("The form could not be read: {error}")),
        }
    }

    fn user_message(&self) -> String {
        match self {
            Self::NotFound => "This page does not exist, or it belongs to someone else.".into(),
            Self::Database(_) | Self::Unexpected(_) => {
                "Something went wrong on our side and nothing was changed. Please try again.".into()
            }
            other => other.to_string(),
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::SignInRequired => StatusCode::SEE_OTHER,
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
            Self::Database(error) => tracing::error!(%error, "database error"),
            Self::Unexpected(error) => {
                tracing::error!(error = format!("{error:#}"), "unexpected error")
            }
            _ => {}
        }
        let status = self.status_code();
        let page = ErrorPage {
            layout: Layout::anonymous(status.canonical_reason().unwrap_or("Error")),
            status: status.as_u16(),
            message: self.user_message(),
        };
        render_page(status, &page)
    }
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
