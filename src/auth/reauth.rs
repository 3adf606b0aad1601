//! A password typed again inside a session, to change it or to see or replace a secret. Its
//! failures count under the user and the sign-in ([`throttle::session_account`]), without an
//! address: a stolen session cannot guess for long, and failing here never blocks a sign-in.

use crate::auth::CurrentUser;
use crate::error::AppError;
use crate::password::Busy;
use crate::state::AppState;
use crate::throttle::{self, Verdict};

/// Why a password typed again was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reauth {
    Wrong,
    /// Too many wrong passwords in this session; `first` for the first refusal in a window.
    LockedOut {
        first: bool,
    },
    /// Every slot for password work is taken: try again in a moment.
    Busy,
}

impl Reauth {
    /// Whether the refusal belongs in the audit log: every wrong password, and a lockout once
    /// per window (so a locked-out session cannot flood the log).
    pub fn audited(self) -> bool {
        matches!(self, Reauth::Wrong | Reauth::LockedOut { first: true })
    }
}

/// Checks the signed-in user's password typed again.
pub async fn confirm_password(
    state: &AppState,
    user: &CurrentUser,
    typed: String,
) -> Result<Result<(), Reauth>, AppError> {
    let account = throttle::session_account(user.id, &user.session_id);
    match state.throttle.check(&account, None).await? {
        Verdict::Refused => {
            let first = state
                .throttle
                .first_refusal(&throttle::SIGN_IN, &account, None)
                .await?;
            return Ok(Err(Reauth::LockedOut { first }));
        }
        Verdict::Slowed(delay) => tokio::time::sleep(delay).await,
        Verdict::Allowed => {}
    }
    let stored = state.db.find_login_user(&user.email).await?;
    let stored = stored.map(|u| u.password_hash);
    match state.hasher.try_verify(typed, stored).await? {
        Err(Busy) => Ok(Err(Reauth::Busy)),
        Ok(true) => {
            state.throttle.clear(&account, None).await?;
            Ok(Ok(()))
        }
        Ok(false) => {
            state.throttle.record_failure(&account, None).await?;
            Ok(Err(Reauth::Wrong))
        }
    }
}
