//! A code typed at sign-in or before a change: the authenticator's (each time step works once)
//! or a recovery code (used up, recorded and mailed), counted before it is checked.

use super::{Asker, change, notice, open, recovery};
use crate::auth::totp;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{AuditAction, now_ms};
use crate::throttle::{self, Verdict};

/// What a typed code was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeCheck {
    /// The authenticator's code of now (or a step beside it), not used before.
    Totp,
    /// One of the recovery codes, now used up (recorded and mailed).
    Recovery,
    /// Neither: wrong, used already, or two-factor is off.
    Wrong,
    /// Not checked: too many codes for this account lately.
    TooMany,
}

impl CodeCheck {
    pub fn accepted(self) -> bool {
        matches!(self, Self::Totp | Self::Recovery)
    }
}

/// Checks a code typed by the owner of `asker.account`. Every code is counted before it is
/// checked ([`throttle::SECOND_FACTOR`]), wherever it is typed, so codes sent at once cannot all
/// slip under the count; a right one takes its address's count back. Only someone who knows
/// the password gets to type codes, so past the account's limit they are refused from
/// everywhere for the window, and the owner is told, once a window.
pub async fn check_code(
    state: &AppState,
    asker: &Asker<'_>,
    typed: &str,
) -> Result<CodeCheck, AppError> {
    let counted = asker.account.id.to_string();
    let limits = &throttle::SECOND_FACTOR;
    let client_ip = asker.client_ip;
    match state.throttle.admit(limits, &counted, client_ip).await? {
        Verdict::Refused => {
            // Once a window for the account, wherever the codes come from.
            if state.throttle.first_refusal(limits, &counted, None).await? {
                tell_locked(state, asker).await?;
            }
            return Ok(CodeCheck::TooMany);
        }
        Verdict::Slowed(delay) => tokio::time::sleep(delay).await,
        Verdict::Allowed => {}
    }
    let check = check_unthrottled(state, asker, typed).await?;
    if check.accepted() {
        state
            .throttle
            .clear_within(limits, &counted, client_ip)
            .await?;
    }
    Ok(check)
}

async fn check_unthrottled(
    state: &AppState,
    asker: &Asker<'_>,
    typed: &str,
) -> Result<CodeCheck, AppError> {
    let user_id = asker.account.id;
    let Some(row) = state.db.two_factor(user_id).await? else {
        return Ok(CodeCheck::Wrong);
    };
    if row.enabled_at.is_none() {
        return Ok(CodeCheck::Wrong);
    }
    if let Some(code) = totp::as_totp_code(typed) {
        let secret = open(&state.settings, user_id, &row.secret)?;
        return Ok(match secret.matching_step(&code, now_ms()) {
            Some(step) if state.db.accept_code_step(user_id, step).await? => CodeCheck::Totp,
            _ => CodeCheck::Wrong,
        });
    }
    let Some(code) = recovery::as_stored(typed) else {
        return Ok(CodeCheck::Wrong);
    };
    let hash = recovery::hash(&state.settings, user_id, &code);
    let notice = notice(&state.settings, asker, AuditAction::RecoveryCodeUsed)?;
    let change = change(asker, AuditAction::RecoveryCodeUsed, &notice);
    if !state
        .db
        .use_recovery_code(&change, &hash, asker.actor)
        .await?
    {
        return Ok(CodeCheck::Wrong);
    }
    state.mail.wake();
    Ok(CodeCheck::Recovery)
}

/// Records, and tells the owner, that codes for their account are refused for a while:
/// someone who knows the password is guessing.
async fn tell_locked(state: &AppState, asker: &Asker<'_>) -> Result<(), AppError> {
    let action = AuditAction::TwoFactorLocked;
    let notice = notice(&state.settings, asker, action)?;
    let change = change(asker, action, &notice);
    state
        .db
        .record_two_factor_event(&change, asker.actor)
        .await?;
    state.mail.wake();
    Ok(())
}
