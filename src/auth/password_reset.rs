//! Forgot password: a link by email to choose a new one. The link's token is 32 random bytes
//! (URL-safe base64) of which the database keeps only the SHA-256; it works once, for
//! [`LINK_MINUTES`], and a newer link, a sign-in or a password change voids it. Asking answers
//! the same, in about the same time, for every address, and is limited per address and per
//! client address.

use std::net::IpAddr;
use std::time::Duration;

use actix_web::web;

use super::link_token::LinkToken;
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::mail::compose::{Frame, PasswordChanged, PasswordReset};
use crate::mail::outbox;
use crate::metrics::ResetRequest;
use crate::paths;
use crate::state::AppState;
use crate::store::password_resets::{NewResetLink, PasswordFromLink};
use crate::store::users::AccountContact;
use crate::store::{Actor, now_ms};
use crate::throttle::{self, Verdict};

/// The longest email address (RFC 5321's path limit).
const MAX_ADDRESS_LEN: usize = 254;
/// How long a link works.
pub const LINK_MINUTES: i64 = 30;
/// Every answer to a request takes at least this long from its start, so whether an account
/// exists (and an email was queued) does not show in the time.
const ANSWER_FLOOR: Duration = Duration::from_millis(250);

/// Asks for a link for the address typed as `typed_email`, from `client_ip`. Nothing tells the
/// asker whether an account exists: the caller gives one answer whatever happens here, no sooner
/// than [`ANSWER_FLOOR`] after the request began. The limits are applied alike to every address;
/// then the account is looked up and emailed apart from the request, so neither its time nor
/// its failures show in the answer. Over the limits, nothing is sent.
pub async fn request_link(
    state: &web::Data<AppState>,
    typed_email: &str,
    client_ip: Option<IpAddr>,
) {
    let began = tokio::time::Instant::now();
    let address = typed_email.trim().to_lowercase();
    let limits = &throttle::RESET_REQUESTS;
    // Longer than any address: not worth a counter's row.
    let counted = if address.len() <= MAX_ADDRESS_LEN {
        state.throttle.admit(limits, &address, client_ip).await
    } else {
        Ok(Verdict::Refused)
    };
    match counted {
        Ok(Verdict::Allowed) => {
            let state = state.clone();
            tokio::spawn(async move {
                let outcome = match find_and_email(&state, &address, client_ip).await {
                    Ok(outcome) => outcome,
                    Err(error) => {
                        tracing::error!(%error, "answering a password-reset request");
                        ResetRequest::Failed
                    }
                };
                state.metrics.reset_request(outcome);
            });
        }
        Ok(_) => state.metrics.reset_request(ResetRequest::Limited),
        Err(error) => tracing::error!(%error, "counting a password-reset request"),
    }
    tokio::time::sleep_until(began + ANSWER_FLOOR).await;
}

/// Emails a link to the active account of `address`, if there is one.
async fn find_and_email(
    state: &AppState,
    address: &str,
    client_ip: Option<IpAddr>,
) -> Result<ResetRequest, AppError> {
    let Ok(email) = EmailAddress::parse(address) else {
        return Ok(ResetRequest::NoAccount);
    };
    let account = state.db.find_account_contact(&email).await?;
    let Some(account) = account.filter(|a| !a.disabled) else {
        return Ok(ResetRequest::NoAccount);
    };
    let actor = Actor {
        email: account.email.to_string(),
        client_ip: client_ip.map(|ip| ip.to_string()),
        ..Actor::default()
    };
    send_link(state, &account, &actor, Lockout::Keep).await?;
    Ok(ResetRequest::Emailed)
}

/// What a new link does to the account's current password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lockout {
    /// It keeps working until a new one is chosen (a request by address: anyone may make one).
    Keep,
    /// It stops working at once, and every session ends (an admin's reset: the password may be
    /// known to someone else).
    Replace,
}

/// Emails `account` a new link (replacing its older one); `actor` is who asked: its owner by
/// address, or an admin.
pub async fn send_link(
    state: &AppState,
    account: &AccountContact,
    actor: &Actor,
    lockout: Lockout,
) -> Result<(), AppError> {
    let unknown_hash = match lockout {
        Lockout::Keep => None,
        Lockout::Replace => {
            let unknown = crate::random::random_token();
            Some(state.hasher.hash(unknown).await?)
        }
    };
    let token = LinkToken::new();
    let link = state
        .settings
        .email_link(&paths::password_reset(token.as_str()));
    let email = PasswordReset {
        frame: Frame::for_account(account),
        link: &link,
        minutes: LINK_MINUTES,
    }
    .write()
    .map_err(anyhow::Error::from)?;
    let queued = outbox::seal(&email, &state.settings.secret_box)?;
    let hash = token.hash();
    let link = NewResetLink {
        user_id: account.id,
        merchant_id: account.merchant_id,
        token_hash: &hash,
        expires_at: now_ms() + LINK_MINUTES * 60_000,
        email: &queued,
        lock_out: unknown_hash.as_deref(),
    };
    state.db.create_reset_link(&link, actor).await?;
    state.mail.wake();
    Ok(())
}

/// The account a link is for while it works, else `None`.
pub async fn account_of_link(
    state: &AppState,
    token: &LinkToken,
) -> Result<Option<AccountContact>, AppError> {
    Ok(state.db.reset_link_account(&token.hash(), now_ms()).await?)
}

/// Sets `password` (already checked against the rules) for the link's account, if the link
/// still works: every session of the account ends, and the owner is told by email. Returns
/// false when the link no longer works; nothing changed then.
pub async fn reset_password(
    state: &AppState,
    token: &LinkToken,
    account: &AccountContact,
    password: String,
    client_ip: Option<IpAddr>,
) -> Result<bool, AppError> {
    let hash = state.hasher.hash(password).await?;
    let forgot_link = state.settings.email_link(paths::PASSWORD_FORGOT);
    let shown_ip = client_ip.map_or_else(|| "?".to_owned(), |ip| ip.to_string());
    let notice = PasswordChanged {
        frame: Frame::for_account(account),
        at: now_ms(),
        client_ip: &shown_ip,
        forgot_link: &forgot_link,
    }
    .write()
    .map_err(anyhow::Error::from)?;
    let notice = outbox::seal(&notice, &state.settings.secret_box)?;
    let token_hash = token.hash();
    let reset = PasswordFromLink {
        token_hash: &token_hash,
        password_hash: &hash,
        notice: &notice,
    };
    let client_ip = client_ip.map(|ip| ip.to_string());
    let done = state.db.reset_password_with_link(&reset, client_ip).await?;
    if done.is_some() {
        state.mail.wake();
    }
    Ok(done.is_some())
}
