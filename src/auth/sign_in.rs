//! The sign-in decision: throttling, the password check against a real or dummy hash, the
//! timing floor, the audit trail and the hash upgrade; for an account with two-factor on, the
//! second step (a code) before it counts as signed in. The handlers only map outcomes to
//! responses and start the session.

use std::net::IpAddr;
use std::time::Duration;

use actix_session::Session;

use super::keys;
use super::two_factor::{self, Asker, CodeCheck};
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::i18n::Lang;
use crate::password::{self, Busy};
use crate::state::AppState;
use crate::store::{Actor, AuditAction, AuditRecord, LoginUser, now_ms};
use crate::throttle::{self, Verdict};

/// The least time a refused sign-in takes from the start of its password check: several times a
/// check (about 15 ms here), so how long the check took is never what the answer's time shows.
const REFUSAL_FLOOR: Duration = Duration::from_millis(200);

/// What a sign-in attempt came to.
pub enum SignInOutcome {
    /// The right password of an enabled user, recorded in the audit log: start the session.
    SignedIn(LoginUser),
    /// The right password of an enabled user with two-factor on: a code comes next
    /// ([`PendingSignIn`]); nothing is recorded as a sign-in yet.
    SecondFactor(LoginUser),
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
            if state
                .throttle
                .first_refusal(&throttle::SIGN_IN, &account, client_ip)
                .await?
            {
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

    if password::is_outdated(&user.password_hash) {
        upgrade_hash(state, &user, password).await;
    }
    if user.two_factor {
        return Ok(SignInOutcome::SecondFactor(user));
    }
    complete_sign_in(state, &user, client_ip, chosen).await?;
    Ok(SignInOutcome::SignedIn(user))
}

/// Records a sign-in that passed every step. No sign-in without its audit event: if the event
/// cannot be written, nobody is let in. The address's failures for the account are forgotten,
/// reset links still out are void, and a language chosen with the switch becomes the one of the
/// user's emails.
async fn complete_sign_in(
    state: &AppState,
    user: &LoginUser,
    client_ip: Option<IpAddr>,
    chosen: Option<Lang>,
) -> Result<(), AppError> {
    let actor = actor_of(user, client_ip);
    let record = AuditRecord {
        merchant_id: user.merchant_id,
        ..AuditRecord::of(AuditAction::SignIn)
    };
    state.db.record_audit(&actor, &record).await?;
    state.throttle.clear(user.email.as_str(), client_ip).await?;
    state
        .db
        .note_sign_in(user.id, chosen.map(Lang::code))
        .await?;
    Ok(())
}

fn actor_of(user: &LoginUser, client_ip: Option<IpAddr>) -> Actor {
    Actor {
        user_id: Some(user.id),
        email: user.email.to_string(),
        role: Some(user.role),
        client_ip: client_ip.map(|ip| ip.to_string()),
    }
}

/// Wrong codes that end a sign-in waiting for its second step.
pub const WRONG_CODES_ALLOWED: i64 = 5;

/// A sign-in waiting for its second step, kept in the session, which holds no signed-in user
/// until the step is passed: every page but the step's own sends it to the sign-in page.
pub struct PendingSignIn {
    user_id: i64,
    epoch: i64,
    since: i64,
    wrong_codes: i64,
    chosen: Option<Lang>,
}

impl PendingSignIn {
    /// Starts the second step for `user` under a new session key, nothing left from before.
    pub fn begin(
        session: &Session,
        user: &LoginUser,
        chosen: Option<Lang>,
        next: Option<&crate::domain::ReturnPath>,
    ) -> anyhow::Result<()> {
        session.renew();
        session.clear();
        session.insert(keys::PENDING_USER_ID, user.id)?;
        session.insert(keys::PENDING_EPOCH, user.session_epoch)?;
        session.insert(keys::PENDING_SINCE, now_ms())?;
        session.insert(keys::PENDING_WRONG_CODES, 0_i64)?;
        session.insert(keys::CSRF, crate::random::random_token())?;
        if let Some(lang) = chosen {
            session.insert(keys::PENDING_LANGUAGE, lang.code())?;
        }
        if let Some(next) = next {
            session.insert(keys::PENDING_NEXT, next.as_str())?;
        }
        Ok(())
    }

    /// The page the waiting sign-in returns to, once its second step is passed.
    pub fn next(session: &Session) -> Option<crate::domain::ReturnPath> {
        let asked = session.get::<String>(keys::PENDING_NEXT).ok().flatten()?;
        crate::domain::ReturnPath::parse(&asked)
    }

    /// The sign-in waiting in `session`, if one is and it began less than `timeout` ago
    /// (`Settings::sign_in_code_timeout`).
    pub fn read(session: &Session, timeout: Duration) -> Option<Self> {
        let get = |key| session.get::<i64>(key).ok().flatten();
        let pending = Self {
            user_id: get(keys::PENDING_USER_ID)?,
            epoch: get(keys::PENDING_EPOCH)?,
            since: get(keys::PENDING_SINCE)?,
            wrong_codes: get(keys::PENDING_WRONG_CODES)?,
            chosen: session
                .get::<String>(keys::PENDING_LANGUAGE)
                .ok()
                .flatten()
                .and_then(|code| Lang::from_code(&code)),
        };
        (now_ms() - pending.since < crate::store::millis(timeout)).then_some(pending)
    }
}

/// What a code at the second step came to.
pub enum SecondStep {
    /// Right: signed in, recorded; start the session.
    SignedIn(LoginUser),
    /// Wrong: this many tries are left.
    Wrong(i64),
    /// The sign-in is over (too many wrong codes, too late, or the account changed): start
    /// again with the password.
    Ended,
}

/// Checks `typed` (an authenticator code or a recovery code) for the sign-in waiting in
/// `session`, from `client_ip`.
pub async fn second_step(
    state: &AppState,
    session: &Session,
    typed: &str,
    client_ip: Option<IpAddr>,
) -> Result<SecondStep, AppError> {
    let Some(pending) = PendingSignIn::read(session, state.settings.sign_in_code_timeout) else {
        return Ok(SecondStep::Ended);
    };
    let user = state.db.find_login_user_by_id(pending.user_id).await?;
    let still = |u: &LoginUser| !u.disabled && u.two_factor && u.session_epoch == pending.epoch;
    let Some(user) = user.filter(still) else {
        return Ok(SecondStep::Ended);
    };
    let account = user.contact();
    let actor = actor_of(&user, client_ip);
    let asker = Asker {
        account: &account,
        actor: &actor,
        client_ip,
    };
    match two_factor::check_code(state, &asker, typed).await? {
        CodeCheck::Totp | CodeCheck::Recovery => {
            complete_sign_in(state, &user, client_ip, pending.chosen).await?;
            return Ok(SecondStep::SignedIn(user));
        }
        CodeCheck::TooMany => return Ok(SecondStep::Ended),
        CodeCheck::Wrong => {}
    }
    // A wrong code counts like a wrong password too, for this account from this address.
    state
        .throttle
        .record_failure(user.email.as_str(), client_ip)
        .await?;
    let record = AuditRecord {
        merchant_id: user.merchant_id,
        field: Some("code"),
        ..AuditRecord::of(AuditAction::SignInFailed)
    };
    audit_best_effort_record(state, &actor, &record).await;
    let wrong = pending.wrong_codes + 1;
    if wrong >= WRONG_CODES_ALLOWED {
        return Ok(SecondStep::Ended);
    }
    session
        .insert(keys::PENDING_WRONG_CODES, wrong)
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    Ok(SecondStep::Wrong(WRONG_CODES_ALLOWED - wrong))
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
    audit_best_effort_record(state, actor, &AuditRecord::of(action)).await;
}

async fn audit_best_effort_record(state: &AppState, actor: &Actor, record: &AuditRecord<'_>) {
    if let Err(error) = state.db.record_audit(actor, record).await {
        let action = record.action;
        tracing::error!(%error, %action, "could not record a sign-in event");
    }
}
