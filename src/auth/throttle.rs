//! Guessing passwords costs: failed sign-ins lock an account for a while, and a password typed
//! again inside a session (to change it, or to see or replace a secret) counts the same way.

use super::password;
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::store::{Db, now_ms};

/// Failed sign-ins per account that trigger a lockout, and the window they count in.
pub const MAX_FAILURES: i64 = 10;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// Why a password typed again by a signed-in user was not accepted.
pub enum Reauth {
    LockedOut,
    Wrong,
}

/// Checks the signed-in user's password typed again. Wrong guesses count towards the same
/// lockout as sign-in, so no such form is a side door for guessing.
pub async fn confirm_password(
    db: &Db,
    email: &EmailAddress,
    typed: String,
) -> Result<Result<(), Reauth>, AppError> {
    let now = now_ms();
    if is_locked_out(db, email, now).await? {
        return Ok(Err(Reauth::LockedOut));
    }
    let stored = db.find_login_user(email).await?.map(|u| u.password_hash);
    if password::verify(typed, stored).await? {
        return Ok(Ok(()));
    }
    db.record_login_failure(email, now).await?;
    Ok(Err(Reauth::Wrong))
}

/// Locked when the last `MAX_FAILURES` failures all fell within one window that ended less
/// than a window ago.
pub async fn is_locked_out(db: &Db, email: &EmailAddress, now: i64) -> Result<bool, AppError> {
    let failures = db.recent_login_failures(email, MAX_FAILURES).await?;
    Ok(match (failures.first(), failures.last()) {
        (Some(&newest), Some(&oldest)) if failures.len() as i64 >= MAX_FAILURES => {
            newest - oldest <= LOCKOUT_MS && now - newest < LOCKOUT_MS
        }
        _ => false,
    })
}
