//! Passwords, server-side sessions, CSRF tokens and the extractors that enforce access rules.

mod csrf;
mod extract;
pub mod password;
mod session_store;

pub use csrf::{CsrfForm, HasCsrfToken};
pub use extract::{Admin, CurrentUser, MerchantRef, MerchantUser, RequestMeta, Role};
pub use session_store::SessionBackend;

/// Cryptographically random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    bytes
}

/// A random token of 32 bytes, hex encoded (64 characters).
pub fn random_token() -> String {
    hex::encode(random_bytes::<32>())
}

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
    let token = random_token();
    if let Err(error) = session.insert(keys::CSRF, &token) {
        tracing::warn!(%error, "could not store a CSRF token");
    }
    token
}
