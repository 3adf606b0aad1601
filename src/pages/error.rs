//! How each kind of `AppError` becomes a response: a redirect to sign in, or the error page in
//! the reader's language with its status.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use askama::Template;

use super::{Layout, render_page};
use crate::error::AppError;
use crate::paths;

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub layout: Layout,
    pub status: u16,
    pub message: String,
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::SignInRequired(_) | Self::PasswordChangeRequired | Self::TwoFactorRequired => {
                StatusCode::SEE_OTHER
            }
            Self::Forbidden(_) | Self::Csrf => StatusCode::FORBIDDEN,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            _ if self.is_unavailable() => StatusCode::SERVICE_UNAVAILABLE,
            Self::Database(_) | Self::Unexpected(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            Self::SignInRequired(None) => return super::see_other(paths::LOGIN),
            Self::SignInRequired(Some(next)) => {
                let next: String =
                    url::form_urlencoded::byte_serialize(next.as_str().as_bytes()).collect();
                return super::see_other(&format!("{}?next={next}", paths::LOGIN));
            }
            Self::PasswordChangeRequired => return super::see_other(paths::ACCOUNT_PASSWORD),
            Self::TwoFactorRequired => return super::see_other(paths::TWO_FACTOR),
            Self::Database(error) => tracing::error!(%error, "database error"),
            Self::Unexpected(error) => {
                tracing::error!(error = format!("{error:#}"), "unexpected error");
            }
            _ => {}
        }
        let status = self.status_code();
        let page = ErrorPage {
            layout: Layout::anonymous(&status_title(status)),
            status: status.as_u16(),
            message: user_message(self),
        };
        let response = render_page(status, &page);
        if status == StatusCode::SERVICE_UNAVAILABLE {
            let seconds = crate::error::RETRY_AFTER_UNAVAILABLE.as_secs();
            return super::retry_after(response, seconds);
        }
        response
    }
}

/// What the error page says, in the reader's language.
fn user_message(error: &AppError) -> String {
    let key = match error {
        AppError::NotFound => "error.not_found",
        AppError::Csrf => "error.csrf",
        AppError::PayloadTooLarge => "error.too_large",
        _ if error.is_unavailable() => "error.unavailable",
        AppError::Database(_) | AppError::Unexpected(_) => "error.internal",
        AppError::SignInRequired(_)
        | AppError::PasswordChangeRequired
        | AppError::TwoFactorRequired => "error.sign_in",
        AppError::Forbidden(message) => return (*message).to_owned(),
        AppError::BadRequest(message) => return message.clone(),
    };
    crate::i18n::t(key).to_owned()
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
