//! The sign-in decision: throttling, the password check against a real or dummy hash, the
//! timing floor, the audit trail and the hash upgrade. The handler only maps the outcome to a
//! response and starts the session.

use std::net::IpAddr;
use std::time::Duration;

use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::password::{self, Busy};
use crate::state::AppState;
use crate::store::{Actor, AuditAction, AuditRecord, LoginUser};
use crate::throttle::Verdict;

/// The least time a refused sign-in takes from the start of its password check: several times a
/// check (about 15 ms here), so how long the check took is never what the answer's time shows.
const REFUSAL_FLOOR: Duration = Duration::from_millis(200);

/// What a sign-in attempt came to.
pub enum SignInOutcome {
    /// The right password of an enabled user, recorded in the audit log: start the session.
    SignedIn(LoginUser),
    /// An unknown address, a wrong password or a disabled user: one answer for all three.
    Refused,
    /// Too many wrong passwords for this account from this address, or from this address.
    LockedOut,
    /// Every slot for password work is taken: try again in a moment.
    Busy,
}

/// Checks `password` for the account typed as `typed_email`, from `client_ip`. `chosen` is the
/// language the visitor chose with the switch, if they did: the account's emails follow it.
pub async fn sign_in(
    state: &AppState,
    typed_email: &str,
    password: String,
    client_ip: Option<IpAddr>,
    chosen: Option<Lang>,
) -> Result<SignInOutcome, AppError> {
    // Counted as typed, so guesses at addresses that are no email count too.
    let account = typed_email.trim().to_lowercase();
    let actor = Actor {
        email: account.clone(),
        client_ip: client_ip.map(|ip| ip.to_string()),
        ..Actor::default()
    };
    match state.throttle.check(&account, client_ip).await? {
        Verdict::Refused => {
            state.metrics.sign_in_locked_out();
            if state.throttle.first_refusal(&account, client_ip).await? {
                audit_best_effort(state, &actor, AuditAction::SignInLocked).await;
            }
            return Ok(SignInOutcome::LockedOut);
        }
        Verdict::Slowed(delay) => tokio::time::sleep(delay).await,
        Verdict::Allowed => {}
    }

    let user = match EmailAddress::parse(typed_email) {
        Ok(email) => state.db.find_login_user(&email).await?,
        Err(_) => None,
    };
    // An unknown account is checked against a dummy hash, and every refusal below is answered
    // no sooner than REFUSAL_FLOOR after the check began: a hash an earlier release made with
    // other settings takes another time to check than the dummy, and must not tell anyone
    // that its account exists.
    let check_began = tokio::time::Instant::now();
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = match state
        .hasher
        .try_verify(password.clone(), stored_hash)
        .await?
    {
        Ok(matches) => matches,
        Err(Busy) => return Ok(SignInOutcome::Busy),
    };
    let user = match user {
        Some(user) if password_ok && !user.disabled => user,
        _ => {
            tokio::time::sleep_until(check_began + REFUSAL_FLOOR).await;
            state.metrics.sign_in_failed();
            state.throttle.record_failure(&account, client_ip).await?;
            audit_best_effort(state, &actor, AuditAction::SignInFailed).await;
            return Ok(SignInOutcome::Refused);
        }
    };

    // No sign-in without its audit event: if the event cannot be written, nobody is let in.
    let actor = Actor {
        user_id: Some(user.id),
        role: Some(user.role),
        ..actor
    };
    let record = AuditRecord {
        merchant_id: user.merchant_id,
        ..AuditRecord::of(AuditAction::SignIn)
    };
    state.db.record_audit(&actor, &record).await?;
    if password::is_outdated(&user.password_hash) {
        upgrade_hash(state, &user, password).await;
    }
    state.throttle.clear(&account, client_ip).await?;
    // Reset links still out are void now; a language chosen with the switch becomes the one
    // of the user's emails.
    state
        .db
        .note_sign_in(user.id, chosen.map(Lang::code))
        .await?;
    Ok(SignInOutcome::SignedIn(user))
}

/// Re-hashes a password whose stored hash an earlier release made with other settings. Best
/// effort, and only with a free hashing slot (a sign-in never queues for one): the account keeps
/// working with the old hash, so a busy moment or a failure only waits for the next sign-in.
async fn upgrade_hash(state: &AppState, user: &LoginUser, password: String) {
    let upgraded = match state.hasher.try_hash(password).await {
        Ok(Ok(hash)) => hash,
        Ok(Err(Busy)) => return,
        Err(error) => return tracing::warn!(%error, "could not re-hash an outdated password"),
    };
    match state
        .db
        .upgrade_password_hash(user.id, &user.password_hash, &upgraded)
        .await
    {
        Ok(true) => tracing::info!(user_id = user.id, "upgraded an outdated password hash"),
        Ok(false) => {}
        Err(error) => tracing::warn!(%error, "could not store an upgraded password hash"),
    }
}

/// Refused sign-ins and sign-outs are recorded on a best-effort basis: a failing audit insert
/// must not tell a guessing attacker anything, nor keep anyone signed in.
pub async fn audit_best_effort(state: &AppState, actor: &Actor, action: AuditAction) {
    if let Err(error) = state.db.record_audit(actor, &AuditRecord::of(action)).await {
        tracing::error!(%error, %action, "could not record a sign-in event");
    }
}
