//! Passwords, server-side sessions, CSRF tokens and the extractors that enforce access rules.

mod api_client;
mod csrf;
mod extract;
pub mod password;
mod scope;
mod session_store;
pub mod throttle;

pub use api_client::SandboxClient;
pub use csrf::{CsrfForm, EmptyForm, HasCsrfToken};
pub use extract::{Admin, CurrentUser, MerchantRef, MerchantUser, RequestMeta};
pub use scope::{MaybeScoped, Scope, Scoped};
pub use session_store::SessionBackend;

/// Keys of the values kept in a session.
pub(crate) mod keys {
    pub const USER_ID: &str = "uid";
    pub const EPOCH: &str = "epoch";
    pub const CSRF: &str = "csrf";
    pub const FLASH: &str = "flash";
}

/// Leaves a one-time message for the next page this session shows.
pub fn set_flash(session: &actix_session::Session, message: &str) {
    if let Err(error) = session.insert(keys::FLASH, message) {
        tracing::warn!(%error, "could not store a flash message");
    }
}

/// Takes the pending one-time message, if any.
pub fn take_flash(session: &actix_session::Session) -> Option<String> {
    session
        .remove_as::<String>(keys::FLASH)
        .and_then(Result::ok)
}

/// The session's CSRF token, created on first use.
pub fn csrf_token(session: &actix_session::Session) -> String {
    if let Ok(Some(token)) = session.get::<String>(keys::CSRF) {
        return token;
    }
    let token = crate::random::random_token();
    if let Err(error) = session.insert(keys::CSRF, &token) {
        tracing::warn!(%error, "could not store a CSRF token");
    }
    token
}
