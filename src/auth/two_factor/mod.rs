//! Two-factor sign-in: setting it up (a TOTP secret shown once, sealed at rest, on once its
//! first code is right), the ten recovery codes (`recovery`), checking a code at sign-in or
//! before a change (`check`), and turning it off. Every change is audited and mailed, in the
//! transaction that makes it.

mod check;
mod recovery;

use std::net::IpAddr;

pub use check::{CodeCheck, check_code};
pub use recovery::RECOVERY_CODES;

use crate::auth::totp::{self, TotpSecret};
use crate::config::Settings;
use crate::error::AppError;
use crate::mail::compose::{Frame, SecurityNotice};
use crate::mail::outbox;
use crate::paths;
use crate::secrets::SecretString;
use crate::state::AppState;
use crate::store::outbox::QueuedEmail;
use crate::store::two_factor::{TwoFactorChange, TwoFactorRow};
use crate::store::users::AccountContact;
use crate::store::{Actor, AuditAction, Db, now_ms};

/// How long a setup waits for its first code.
const SETUP_TIMEOUT_MS: i64 = 10 * 60 * 1000;

/// A setup waiting for its first code: what the page shows.
pub struct Setup {
    /// When it began (ms): the session that began it keeps this, and only that session may
    /// see it again or turn it on, for [`SETUP_TIMEOUT_MS`].
    pub started: i64,
    pub uri: String,
    /// The secret in groups of four, for typing.
    pub grouped: String,
    /// The QR code of `uri`, inline SVG.
    pub qr_svg: Option<String>,
}

/// Who the owner of the account is, and who is asking, for records and notices.
pub struct Asker<'a> {
    pub account: &'a AccountContact,
    pub actor: &'a Actor,
    pub client_ip: Option<IpAddr>,
}

/// What a user's secret is sealed for (the sealing's associated data).
fn owner(user_id: i64) -> String {
    format!("two-factor:{user_id}")
}

/// Starts a setup: a new secret, sealed at rest. `None` when two-factor is on already.
pub async fn begin_setup(
    state: &AppState,
    user_id: i64,
    email: &str,
) -> Result<Option<Setup>, AppError> {
    let secret = TotpSecret::generate();
    let sealed = state
        .settings
        .secret_box
        .seal(&SecretString::new(secret.base32()), &owner(user_id))?;
    let started = now_ms();
    if !state.db.begin_two_factor(user_id, &sealed, started).await? {
        return Ok(None);
    }
    Ok(Some(setup_of(&secret, email, started)))
}

/// The setup that began at `started` and waits for its first code, unless it is too old.
async fn waiting_setup(
    state: &AppState,
    user_id: i64,
    started: Option<i64>,
) -> Result<Option<TwoFactorRow>, AppError> {
    let Some(started) = started else {
        return Ok(None);
    };
    let row = state.db.two_factor(user_id).await?;
    Ok(row.filter(|row| {
        row.enabled_at.is_none()
            && row.created_at == started
            && now_ms() - started < SETUP_TIMEOUT_MS
    }))
}

fn setup_of(secret: &TotpSecret, email: &str, started: i64) -> Setup {
    let uri = secret.uri(email);
    Setup {
        started,
        qr_svg: totp::qr_svg(&uri, crate::i18n::t("two_factor.qr_label")),
        grouped: secret.grouped(),
        uri,
    }
}

fn open(settings: &Settings, user_id: i64, sealed: &str) -> Result<TotpSecret, AppError> {
    let base32 = settings.secret_box.open(sealed, &owner(user_id))?;
    TotpSecret::from_base32(base32.expose())
        .ok_or_else(|| anyhow::anyhow!("a stored two-factor secret is not base32").into())
}

/// What a first code came to.
pub enum Confirmed {
    /// Two-factor is on: the recovery codes (to show once) and the user's new session epoch
    /// (every other session ended).
    On { codes: Vec<String>, epoch: i64 },
    /// A wrong code: the same setup, to show again to the session that began it.
    Wrong(Setup),
    /// No setup of this session waits (none began here, or it is too old): ask the password
    /// again, so the secret is shown only after it.
    NoSetup,
}

/// Turns two-factor on if `typed` is the right code of the setup this session began at
/// `started`.
pub async fn confirm(
    state: &AppState,
    asker: &Asker<'_>,
    typed: &str,
    started: Option<i64>,
) -> Result<Confirmed, AppError> {
    let user_id = asker.account.id;
    let Some(row) = waiting_setup(state, user_id, started).await? else {
        return Ok(Confirmed::NoSetup);
    };
    let secret = open(&state.settings, user_id, &row.secret)?;
    let Some(step) = totp::as_totp_code(typed).and_then(|c| secret.matching_step(&c, now_ms()))
    else {
        let email = asker.account.email.as_str();
        return Ok(Confirmed::Wrong(setup_of(&secret, email, row.created_at)));
    };
    let codes = recovery::new_codes();
    let hashes = recovery::hashes(&state.settings, user_id, &codes);
    let notice = notice(&state.settings, asker, AuditAction::TwoFactorEnabled)?;
    let change = change(asker, AuditAction::TwoFactorEnabled, &notice);
    let epoch = state
        .db
        .enable_two_factor(&change, &row.secret, step, &hashes, asker.actor)
        .await?;
    state.mail.wake();
    Ok(epoch.map_or(Confirmed::NoSetup, |epoch| Confirmed::On { codes, epoch }))
}

/// How two-factor is turned off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TurnOff {
    /// By its owner, with their password and a code: their sessions carry on.
    ByOwner,
    /// By an admin or an operator, for a user who lost their authenticator: every session of
    /// the user ends, and the next sign-in takes the password alone (then sets it up again
    /// where it is required).
    ByAdmin,
}

/// Turns two-factor off; false when it was not on.
pub async fn turn_off(state: &AppState, asker: &Asker<'_>, how: TurnOff) -> Result<bool, AppError> {
    let done = turn_off_in(&state.db, &state.settings, asker, how).await?;
    if done {
        state.mail.wake();
    }
    Ok(done)
}

/// [`turn_off`] with only a database and the settings, for the command line: the notice waits
/// in the outbox for a server's mail worker.
pub async fn turn_off_in(
    db: &Db,
    settings: &Settings,
    asker: &Asker<'_>,
    how: TurnOff,
) -> Result<bool, AppError> {
    let action = match how {
        TurnOff::ByOwner => AuditAction::TwoFactorDisabled,
        TurnOff::ByAdmin => AuditAction::TwoFactorReset,
    };
    let notice = notice(settings, asker, action)?;
    let change = change(asker, action, &notice);
    let end_sessions = how == TurnOff::ByAdmin;
    Ok(db
        .disable_two_factor(&change, asker.actor, end_sessions)
        .await?)
}

/// New recovery codes replacing the old ones, to show once; `None` when two-factor is off.
pub async fn replace_recovery_codes(
    state: &AppState,
    asker: &Asker<'_>,
) -> Result<Option<Vec<String>>, AppError> {
    let codes = recovery::new_codes();
    let hashes = recovery::hashes(&state.settings, asker.account.id, &codes);
    let action = AuditAction::RecoveryCodesRegenerated;
    let notice = notice(&state.settings, asker, action)?;
    let change = change(asker, action, &notice);
    let replaced = state
        .db
        .replace_recovery_codes(&change, &hashes, asker.actor)
        .await?;
    if !replaced {
        return Ok(None);
    }
    state.mail.wake();
    Ok(Some(codes))
}

fn change<'a>(
    asker: &Asker<'_>,
    action: AuditAction,
    notice: &'a QueuedEmail,
) -> TwoFactorChange<'a> {
    TwoFactorChange {
        user_id: asker.account.id,
        merchant_id: asker.account.merchant_id,
        action,
        notice,
    }
}

/// The email telling the account's owner of `event`, sealed for the outbox.
fn notice(
    settings: &Settings,
    asker: &Asker<'_>,
    event: AuditAction,
) -> Result<QueuedEmail, AppError> {
    let forgot_link = settings.email_link(paths::PASSWORD_FORGOT);
    let client_ip = asker
        .client_ip
        .map_or_else(|| "?".to_owned(), |ip| ip.to_string());
    let email = SecurityNotice {
        frame: Frame::for_account(asker.account),
        event,
        at: now_ms(),
        client_ip: &client_ip,
        forgot_link: &forgot_link,
    }
    .write()
    .map_err(anyhow::Error::from)?;
    Ok(outbox::seal(&email, &settings.secret_box)?)
}
