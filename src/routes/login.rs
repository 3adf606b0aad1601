//! Sign-in and sign-out.

use actix_session::Session;
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use validator::Validate;

use crate::auth::login_csrf::{self, SignInForm};
use crate::auth::{CsrfForm, CurrentUser, EmptyForm, HasCsrfToken, RequestMeta, start_session};
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::{Layout, LoginPage, render_page, retry_after, see_other};
use crate::password::{self, Busy};
use crate::paths;
use crate::state::AppState;
use crate::store::{Actor, AuditAction, AuditRecord, LoginUser};
use crate::throttle::{self, Verdict};

#[derive(Deserialize, Validate)]
pub struct LoginForm {
    #[validate(length(max = 254))]
    email: String,
    #[validate(length(max = 1024))]
    password: String,
    #[serde(default)]
    csrf_token: String,
}

impl HasCsrfToken for LoginForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[derive(Deserialize)]
pub struct LoginQuery {
    signed_out: Option<String>,
}

/// The least time a refused sign-in takes from the start of its password check: several times a
/// check (about 15 ms here), so how long the check took is never what the answer's time shows.
const REFUSAL_FLOOR: std::time::Duration = std::time::Duration::from_millis(200);

/// The sign-in form. Its CSRF token travels in a signed cookie: showing it stores nothing.
pub async fn login_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<LoginQuery>,
) -> HttpResponse {
    let (token, cookie) = login_csrf::token_for(&req, &state.settings);
    let page = LoginPage {
        layout: login_layout(token),
        email: String::new(),
        error: None,
        notice: query.signed_out.as_ref().map(|_| t("login.signed_out")),
    };
    with_cookie(render_page(StatusCode::OK, &page), cookie)
}

pub async fn login(
    state: web::Data<AppState>,
    session: Session,
    meta: RequestMeta,
    SignInForm(form): SignInForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let refuse = |status: StatusCode, message: &str| {
        let page = LoginPage {
            layout: login_layout(form.csrf_token.clone()),
            email: form.email.clone(),
            error: Some(message.to_owned()),
            notice: None,
        };
        render_page(status, &page)
    };
    if form.validate().is_err() {
        return Ok(refuse(StatusCode::UNAUTHORIZED, t("login.bad_credentials")));
    }
    // Counted as typed, so guesses at addresses that are no email count too.
    let account = form.email.trim().to_lowercase();
    let ip = meta.client_ip;
    let actor = Actor {
        email: account.clone(),
        client_ip: ip.map(|ip| ip.to_string()),
        ..Actor::default()
    };
    match state.throttle.check(&account, ip).await? {
        Verdict::Refused => {
            state.metrics.sign_in_locked_out();
            if state.throttle.first_refusal(&account, ip).await? {
                audit(&state, &actor, AuditAction::SignInLocked).await;
            }
            let refused = refuse(StatusCode::TOO_MANY_REQUESTS, t("login.locked_out"));
            return Ok(retry_after(refused, throttle::WINDOW.as_secs()));
        }
        Verdict::Slowed(delay) => tokio::time::sleep(delay).await,
        Verdict::Allowed => {}
    }

    let user = match EmailAddress::parse(&form.email) {
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
        .try_verify(form.password.clone(), stored_hash)
        .await?
    {
        Ok(matches) => matches,
        Err(Busy) => {
            let busy = refuse(StatusCode::TOO_MANY_REQUESTS, t("login.busy"));
            return Ok(retry_after(busy, 1));
        }
    };
    let user = match user {
        Some(user) if password_ok && !user.disabled => user,
        _ => {
            tokio::time::sleep_until(check_began + REFUSAL_FLOOR).await;
            state.metrics.sign_in_failed();
            state.throttle.record_failure(&account, ip).await?;
            audit(&state, &actor, AuditAction::SignInFailed).await;
            return Ok(refuse(StatusCode::UNAUTHORIZED, t("login.bad_credentials")));
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
        upgrade_hash(&state, &user, form.password).await;
    }
    start_session(&session, user.id, user.session_epoch)
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    state.throttle.clear(&account, ip).await?;
    let signed_in = see_other(paths::PAYMENT_SETTINGS);
    Ok(with_cookie(
        signed_in,
        Some(login_csrf::removal(&state.settings)),
    ))
}

pub async fn logout(
    state: web::Data<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    _form: CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    audit(&state, &user.actor(&meta), AuditAction::SignOut).await;
    user.session.purge();
    Ok(see_other(paths::SIGNED_OUT))
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
async fn audit(state: &AppState, actor: &Actor, action: AuditAction) {
    if let Err(error) = state.db.record_audit(actor, &AuditRecord::of(action)).await {
        tracing::error!(%error, %action, "could not record a sign-in event");
    }
}

fn login_layout(csrf_token: String) -> Layout {
    Layout {
        csrf_token,
        ..Layout::anonymous(t("login.title"))
    }
}

fn with_cookie(mut response: HttpResponse, cookie: Option<Cookie<'static>>) -> HttpResponse {
    if let Some(cookie) = cookie
        && let Err(error) = response.add_cookie(&cookie)
    {
        tracing::warn!(%error, "could not set the sign-in form's cookie");
    }
    response
}
