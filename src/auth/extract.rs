//! Access rules as request extractors: a handler that names `MerchantUser` in its signature
//! cannot run for anybody else.

use std::net::IpAddr;

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::{LocalBoxFuture, Ready, ready};

use super::keys;
use crate::config::TwoFactorPolicy;
use crate::domain::{EmailAddress, MerchantCode, Role};
use crate::error::AppError;
use crate::state::AppState;

/// The merchant a user belongs to.
#[derive(Debug, Clone)]
pub struct MerchantRef {
    pub id: i64,
    pub code: MerchantCode,
    pub name: String,
}

/// A signed-in, enabled user whose session is still current.
#[derive(Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub email: EmailAddress,
    pub role: Role,
    pub merchant: Option<MerchantRef>,
    pub session: Session,
    /// The sign-in's random id, kept across key renewals ([`keys::SESSION_ID`]).
    pub session_id: String,
    /// Signed in with a one-time password an admin issued: must choose a new one first.
    pub must_change_password: bool,
    /// Two-factor sign-in is on.
    pub two_factor: bool,
    /// Two-factor is required of this user: the gateway staff's under `PAYHOOK_ADMIN_2FA=required`,
    /// a team member's under their team's rule.
    pub two_factor_required: bool,
    /// The merchant's failing channels, for the banner on every page (read only when some are).
    pub failing: Vec<crate::store::health::FailingChannel>,
    /// The zone the user reads times in (this request's times are already shown in it).
    pub time_zone: crate::domain::TimeZone,
}

/// The session's own bookkeeping: who, which sign-in, and its clock.
struct SignIn {
    user_id: i64,
    epoch: i64,
    session_id: String,
    signed_in_at: i64,
    refreshed_at: i64,
}

impl SignIn {
    fn read(session: &Session) -> Option<Self> {
        let get = |key| session.get::<i64>(key).ok().flatten();
        Some(Self {
            user_id: get(keys::USER_ID)?,
            epoch: get(keys::EPOCH)?,
            session_id: session.get::<String>(keys::SESSION_ID).ok().flatten()?,
            signed_in_at: get(keys::SIGNED_IN_AT)?,
            refreshed_at: get(keys::REFRESHED_AT)?,
        })
    }
}

/// Starts a signed-in session for `user_id` under a new key: the sign-in's own id, clock and
/// CSRF token, nothing left over from before.
pub fn start_session(session: &Session, user_id: i64, epoch: i64) -> anyhow::Result<()> {
    let now = crate::store::now_ms();
    session.renew();
    session.clear();
    session.insert(keys::USER_ID, user_id)?;
    session.insert(keys::EPOCH, epoch)?;
    session.insert(keys::SESSION_ID, crate::random::random_token())?;
    session.insert(keys::SIGNED_IN_AT, now)?;
    session.insert(keys::REFRESHED_AT, now)?;
    session.insert(keys::CSRF, crate::random::random_token())?;
    Ok(())
}

impl CurrentUser {
    /// The signed-in user, or `None` (and the session ended) when it is missing, revoked, idle
    /// too long or older than its absolute lifetime. The idle timeout is pushed back by a
    /// session write only once a quarter of it has passed, not on every page view.
    async fn load(state: &AppState, session: Session) -> Result<Option<Self>, AppError> {
        if let Some(error) = crate::prefetch::take_failure() {
            return Err(error.into());
        }
        if !session.contains_key(keys::USER_ID) {
            return Ok(None);
        }
        let now = crate::store::now_ms();
        let idle = crate::store::millis(state.settings.session_idle_timeout);
        let lifetime = crate::store::millis(state.settings.session_lifetime);
        // A session from before these keys existed has no clock: it ends like an expired one.
        let sign_in = SignIn::read(&session)
            .filter(|s| now - s.signed_in_at < lifetime && now - s.refreshed_at < idle);
        let Some(sign_in) = sign_in else {
            session.purge();
            return Ok(None);
        };
        // Read with the session when the store could; otherwise (Redis) asked for now.
        let user = match crate::prefetch::take_user(sign_in.user_id) {
            Some(user) => Some(user),
            None => state.db.find_session_user(sign_in.user_id).await?,
        };
        let Some(user) = user.filter(|u| !u.disabled && u.session_epoch == sign_in.epoch) else {
            session.purge();
            return Ok(None);
        };
        if now - sign_in.refreshed_at >= idle / 4 {
            session
                .insert(keys::REFRESHED_AT, now)
                .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
        }
        crate::i18n::set_zone(user.time_zone);
        let required = if user.role.is_staff() {
            state.settings.admin_two_factor == TwoFactorPolicy::Required
        } else {
            user.merchant_requires_two_factor
        };
        let merchant = match (user.merchant_id, user.merchant_code, user.merchant_name) {
            (Some(id), Some(code), Some(name)) => Some(MerchantRef { id, code, name }),
            _ => None,
        };
        let failing = match &merchant {
            Some(merchant) if user.failing_channels > 0 => {
                state.db.failing_channels(merchant.id).await?
            }
            _ => Vec::new(),
        };
        Ok(Some(Self {
            failing,
            id: user.id,
            email: user.email,
            role: user.role,
            merchant,
            session,
            session_id: sign_in.session_id,
            must_change_password: user.must_change_password,
            two_factor: user.two_factor,
            two_factor_required: required,
            time_zone: user.time_zone,
        }))
    }

    /// Two-factor is required of this user and not on yet: every page but setting it up (and
    /// signing out) sends them there.
    pub fn must_enrol(&self) -> bool {
        self.two_factor_required && !self.two_factor
    }

    /// The audit actor for this user's requests.
    pub fn actor(&self, meta: &RequestMeta) -> crate::store::Actor {
        crate::store::Actor {
            user_id: Some(self.id),
            email: self.email.to_string(),
            role: Some(self.role),
            client_ip: meta.client_ip.map(|ip| ip.to_string()),
        }
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let open_to_one_time = crate::paths::OPEN_TO_ONE_TIME_PASSWORD.contains(&req.path());
        let open_to_enrolment = crate::paths::OPEN_TO_ENROLMENT.contains(&req.path());
        // A page asked for while signed out is where the sign-in returns (the page it lands on
        // anyway needs no saying); a form sent is not replayed.
        // Only looked at when nobody is signed in: a signed-in request pays a cheap clone.
        let asked = (req.method() == actix_web::http::Method::GET).then(|| req.uri().clone());
        let return_path = move || {
            asked
                .as_ref()
                .and_then(actix_web::http::Uri::path_and_query)
                .filter(|asked| asked.as_str() != crate::paths::PAYMENT_SETTINGS)
                .and_then(|asked| crate::domain::ReturnPath::parse(asked.as_str()))
        };
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            let user = CurrentUser::load(&state, session)
                .await?
                .ok_or_else(|| AppError::SignInRequired(return_path()))?;
            if user.must_change_password && !open_to_one_time {
                return Err(AppError::PasswordChangeRequired);
            }
            if user.must_enrol() && !user.must_change_password && !open_to_enrolment {
                return Err(AppError::TwoFactorRequired);
            }
            Ok(user)
        })
    }
}

/// Facts about the request that the audit log and the throttle use.
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta {
    /// The client's address: the peer's, or behind a trusted proxy the one it reported.
    pub client_ip: Option<IpAddr>,
}

impl RequestMeta {
    /// The peer address; with `trust_proxy`, the rightmost `X-Forwarded-For` entry when it is an
    /// IP address. A proxy appends the address it saw to whatever the client sent, so entries
    /// to the left of it are the client's own word.
    pub fn of(req: &HttpRequest, trust_proxy: bool) -> Self {
        let peer = req.peer_addr().map(|addr| addr.ip());
        let forwarded = || {
            let last = req.headers().get_all("x-forwarded-for").last()?;
            let entry = last.to_str().ok()?.rsplit(',').next()?;
            entry.trim().parse::<IpAddr>().ok()
        };
        let client_ip = if trust_proxy {
            forwarded().or(peer)
        } else {
            peer
        };
        Self { client_ip }
    }
}

impl FromRequest for RequestMeta {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust_proxy = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.settings.trust_proxy);
        ready(Ok(Self::of(req, trust_proxy)))
    }
}
