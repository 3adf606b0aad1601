//! Synchronizer-token CSRF protection: every POST form carries the session's token.

use actix_session::SessionExt;
use actix_web::{FromRequest, HttpRequest, dev::Payload, http::header, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;

use super::keys;
use crate::error::AppError;

/// A form that carries a `csrf_token` field.
pub trait HasCsrfToken {
    fn csrf_token(&self) -> &str;
}

/// Declares a form of text fields (missing ones empty) plus its `csrf_token`.
#[macro_export]
macro_rules! csrf_form {
    ($(#[$meta:meta])* $name:ident { $($field:ident),* }) => {
        $(#[$meta])*
        #[derive(serde::Deserialize)]
        pub struct $name {
            $(#[serde(default)] pub $field: String,)*
            #[serde(default)]
            csrf_token: String,
        }
        impl $crate::auth::HasCsrfToken for $name {
            fn csrf_token(&self) -> &str {
                &self.csrf_token
            }
        }
    };
}

csrf_form!(
    /// A form with nothing but its token: a button that does one thing (sign out, disable a user).
    EmptyForm {}
);

/// A URL-encoded form whose CSRF token matched the session's; anything else is a 403.
#[derive(Debug)]
pub struct CsrfForm<T>(pub T);

impl<T> FromRequest for CsrfForm<T>
where
    T: DeserializeOwned + HasCsrfToken + 'static,
{
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let same_origin = origin_matches_host(req);
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move {
            let form = form.await.map_err(AppError::from_form_error)?.into_inner();
            let expected = session.get::<String>(keys::CSRF).ok().flatten();
            let valid = expected.is_some_and(|token| {
                !token.is_empty()
                    && bool::from(token.as_bytes().ct_eq(form.csrf_token().as_bytes()))
            });
            if valid && same_origin {
                Ok(CsrfForm(form))
            } else {
                Err(AppError::Csrf)
            }
        })
    }
}

/// A browser that sends `Origin` must send ours; requests without it (older clients) pass on
/// the token alone.
pub(super) fn origin_matches_host(req: &HttpRequest) -> bool {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return true;
    };
    let Ok(origin) = origin.to_str() else {
        return false;
    };
    let host = req.connection_info().host().to_owned();
    origin
        .split_once("://")
        .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(&host))
}
