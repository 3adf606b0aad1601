//! Forgot password: a link by email to choose a new one. The link's token is 32 random bytes
//! (URL-safe base64) of which the database keeps only the SHA-256; it works once, for
//! [`LINK_MINUTES`], and a newer link, a sign-in or a password change voids it. Asking answers
//! the same, in about the same time, for every address, and is limited per address and per
//! client address.

use std::net::IpAddr;
use std::time::Duration;

use base64::Engine;
use sha2::{Digest, Sha256};

use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::mail::compose::{Frame, PasswordChanged, PasswordReset};
use crate::mail::outbox;
use crate::paths;
use crate::state::AppState;
use crate::store::password_resets::{NewResetLink, PasswordFromLink, ResetAccount};
use crate::store::{Actor, now_ms};
use crate::throttle::{self, Verdict};

/// How long a link works.
pub const LINK_MINUTES: i64 = 30;
/// Every answer to a request takes at least this long from its start, so whether an account
/// exists (and an email was queued) does not show in the time.
const ANSWER_FLOOR: Duration = Duration::from_millis(250);

/// The secret part of a link, as the recipient holds it.
pub struct ResetToken(String);

impl ResetToken {
    fn new() -> Self {
        let bytes = crate::random::random_bytes::<32>();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as found in a link; anything that cannot be one is `None`.
    pub fn from_link(text: &str) -> Option<Self> {
        let plausible = text.len() == 43
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plausible.then(|| Self(text.to_owned()))
    }

    /// What the database keeps: the SHA-256 of the token, in hex.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The link's path on this site.
    pub fn path(&self) -> String {
        paths::password_reset(&self.0)
    }
}

/// The language an account's emails are written in: the one it last chose, else English.
fn language_of(account: &ResetAccount) -> Lang {
    account
        .language
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or_default()
}

/// Asks for a link for the address typed as `typed_email`, from `client_ip`. Whatever the
/// address (an account, a disabled one, none), nothing tells the asker which: the caller gives
/// one answer, and this takes at least [`ANSWER_FLOOR`]. Over the limits, nothing is sent.
pub async fn request_link(
    state: &AppState,
    typed_email: &str,
    client_ip: Option<IpAddr>,
) -> Result<(), AppError> {
    let began = tokio::time::Instant::now();
    let asked = ask(state, typed_email, client_ip).await;
    tokio::time::sleep_until(began + ANSWER_FLOOR).await;
    asked
}

async fn ask(
    state: &AppState,
    typed_email: &str,
    client_ip: Option<IpAddr>,
) -> Result<(), AppError> {
    let address = typed_email.trim().to_lowercase();
    let counted = format!("reset:{address}");
    let limits = &throttle::RESET_REQUESTS;
    if state
        .throttle
        .check_within(limits, &counted, client_ip)
        .await?
        != Verdict::Allowed
    {
        tracing::info!("a password-reset request over its limits was not answered by email");
        return Ok(());
    }
    state.throttle.record_failure(&counted, client_ip).await?;
    let Ok(email) = EmailAddress::parse(&address) else {
        return Ok(());
    };
    let account = state.db.find_reset_account(&email).await?;
    let Some(account) = account.filter(|a| !a.disabled) else {
        return Ok(());
    };
    let actor = Actor {
        email: account.email.to_string(),
        client_ip: client_ip.map(|ip| ip.to_string()),
        ..Actor::default()
    };
    send_link(state, &account, &actor).await
}

/// Emails `account` a new link (voiding its older ones); `actor` is who asked: its owner by
/// address, or an admin.
pub async fn send_link(
    state: &AppState,
    account: &ResetAccount,
    actor: &Actor,
) -> Result<(), AppError> {
    let token = ResetToken::new();
    let link = state
        .settings
        .mail
        .link(&token.path(), &state.settings.bind);
    let email = PasswordReset {
        frame: Frame {
            lang: language_of(account),
            to: &account.email,
        },
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
    };
    state.db.create_reset_link(&link, actor).await?;
    state.mail.wake();
    Ok(())
}

/// The account a link is for while it works, else `None`.
pub async fn account_of_link(
    state: &AppState,
    token: &ResetToken,
) -> Result<Option<ResetAccount>, AppError> {
    Ok(state.db.reset_link_account(&token.hash(), now_ms()).await?)
}

/// Sets `password` (already checked against the rules) for the link's account, if the link
/// still works: every session of the account ends, and the owner is told by email. Returns
/// false when the link no longer works; nothing changed then.
pub async fn reset_password(
    state: &AppState,
    token: &ResetToken,
    account: &ResetAccount,
    password: String,
    client_ip: Option<IpAddr>,
) -> Result<bool, AppError> {
    let hash = state.hasher.hash(password).await?;
    let forgot_link = state
        .settings
        .mail
        .link(paths::PASSWORD_FORGOT, &state.settings.bind);
    let shown_ip = client_ip.map_or_else(|| "?".to_owned(), |ip| ip.to_string());
    let notice = PasswordChanged {
        frame: Frame {
            lang: language_of(account),
            to: &account.email,
        },
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_url_safe_and_stored_only_as_their_hash() {
        let token = ResetToken::new();
        assert_eq!(token.0.len(), 43);
        assert!(ResetToken::from_link(&token.0).is_some());
        assert_ne!(token.0, ResetToken::new().0);
        let hash = token.hash();
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&token.0));
        assert!(ResetToken::from_link("short").is_none());
        assert!(ResetToken::from_link(&format!("{}/", &token.0[..42])).is_none());
    }
}
