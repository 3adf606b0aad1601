//! Server-side sessions, CSRF tokens, password re-checks and the extractors that enforce access
//! rules.

mod api_client;
mod csrf;
mod extract;
pub mod link_token;
pub mod login_csrf;
pub mod password_reset;
pub mod reauth;
mod roles;
mod scope;
mod session_store;
mod sign_in;
pub mod totp;
pub mod two_factor;

pub use api_client::SandboxClient;
pub use csrf::{CsrfForm, EmptyForm, HasCsrfToken};
pub use extract::{CurrentUser, MerchantRef, RequestMeta, start_session};
pub use roles::{Access, Admin, Developer, Member, MerchantUser, Owner, Staff};
pub use scope::{MaybeScoped, Scope, Scoped};
pub use session_store::SessionBackend;
pub use sign_in::{
    PendingSignIn, SecondStep, SignInOutcome, audit_best_effort, second_step, sign_in,
};

/// Keys of the values kept in a session.
pub(crate) mod keys {
    pub const USER_ID: &str = "uid";
    pub const EPOCH: &str = "epoch";
    pub const CSRF: &str = "csrf";
    /// A random id of the sign-in, kept when the key is renewed: password re-checks count
    /// their failures under it.
    pub const SESSION_ID: &str = "sid";
    /// When the user signed in (ms): the session's absolute lifetime counts from here.
    pub const SIGNED_IN_AT: &str = "since";
    /// When the idle timeout was last pushed back (ms).
    pub const REFRESHED_AT: &str = "seen";
    /// A sign-in waiting for its second step (a code): whose, the account's epoch then, when it
    /// began, how many wrong codes so far, and the language chosen before it.
    pub const PENDING_USER_ID: &str = "pending_uid";
    pub const PENDING_EPOCH: &str = "pending_epoch";
    pub const PENDING_SINCE: &str = "pending_since";
    pub const PENDING_WRONG_CODES: &str = "pending_wrong";
    pub const PENDING_LANGUAGE: &str = "pending_lang";
    pub const PENDING_NEXT: &str = "pending_next";
    /// When the two-factor setup this session began (after the password) started (ms).
    pub const TWO_FACTOR_SETUP: &str = "tf_setup";
}

/// Where a user lands after signing in: the gateway's staff on the admin Overview, a merchant's
/// team on Payment Settings.
pub fn landing(role: crate::domain::Role) -> &'static str {
    if role.is_staff() {
        crate::paths::ADMIN
    } else {
        crate::paths::PAYMENT_SETTINGS
    }
}

/// The session cookie's name: with `Secure` on, the `__Host-` prefix makes browsers refuse it
/// unless it is Secure, host-only and for the whole site (Path=/, no Domain).
pub fn session_cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-payhook"
    } else {
        "payhook_session"
    }
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
