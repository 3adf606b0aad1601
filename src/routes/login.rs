//! Sign-in and sign-out.

use crate::i18n::t;
use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;
use validator::Validate;

use crate::auth::{self, CsrfForm, CurrentUser, EmptyForm, HasCsrfToken, RequestMeta, password};
use crate::error::AppError;
use crate::pages::{Layout, LoginPage, render_page};
use crate::startup::AppState;
use crate::store::audit::action;
use crate::store::{Actor, AuditRecord, now_ms};

/// Failed sign-ins per account that trigger a lockout, and the window they count in.
pub const MAX_FAILURES: i64 = 10;
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

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

#[get("/login")]
pub async fn login_form(
    session: Session,
    query: web::Query<LoginQuery>,
) -> Result<HttpResponse, AppError> {
    let page = LoginPage {
        layout: login_layout(&session),
        email: String::new(),
        error: None,
        notice: query.signed_out.as_ref().map(|_| t("login.signed_out")),
    };
    Ok(render_page(StatusCode::OK, &page))
}

#[post("/login")]
pub async fn login(
    state: web::Data<AppState>,
    session: Session,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
    let email = form.email.trim().to_lowercase();
    let refuse = |status: StatusCode, message: &str| {
        let page = LoginPage {
            layout: login_layout(&session),
            email: form.email.clone(),
            error: Some(message.to_owned()),
            notice: None,
        };
        render_page(status, &page)
    };
    if form.validate().is_err() {
        return Ok(refuse(StatusCode::UNAUTHORIZED, t("login.bad_credentials")));
    }
    let actor = Actor {
        email: email.clone(),
        client_ip: meta.client_ip.clone(),
        ..Actor::default()
    };
    let now = now_ms();
    if is_locked_out(&state, &email, now).await? {
        audit(&state, &actor, action::SIGN_IN_LOCKED).await;
        return Ok(refuse(StatusCode::TOO_MANY_REQUESTS, t("login.locked_out")));
    }

    let user = state.db.find_login_user(&email).await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = password::verify(form.password.clone(), stored_hash).await?;
    let user = match user {
        Some(user) if password_ok && !user.disabled => user,
        _ => {
            state.db.record_login_failure(&email, now).await?;
            audit(&state, &actor, action::SIGN_IN_FAILED).await;
            return Ok(refuse(StatusCode::UNAUTHORIZED, t("login.bad_credentials")));
        }
    };

    // No sign-in without its audit event: if the event cannot be written, nobody is let in.
    let actor = Actor {
        user_id: Some(user.id),
        role: crate::auth::Role::parse(&user.role).map(|r| r.as_str()),
        ..actor
    };
    let record = AuditRecord {
        action: action::SIGN_IN,
        merchant_id: user.merchant_id,
        ..AuditRecord::default()
    };
    state.db.record_audit(&actor, &record).await?;

    session.renew();
    session.clear();
    session
        .insert(auth::keys::USER_ID, user.id)
        .and_then(|()| session.insert(auth::keys::EPOCH, user.session_epoch))
        .and_then(|()| session.insert(auth::keys::CSRF, auth::random_token()))
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    state
        .db
        .clear_login_failures(Some(&email), now - LOCKOUT_MS)
        .await?;
    Ok(super::see_other("/settings/payment"))
}

#[post("/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    _form: CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    audit(&state, &user.actor(&meta), action::SIGN_OUT).await;
    user.session.purge();
    Ok(super::see_other("/login?signed_out=1"))
}

/// Why a password typed again by a signed-in user was not accepted.
pub(crate) enum Reauth {
    LockedOut,
    Wrong,
}

/// Checks the signed-in user's password typed again (to change it, or to see or replace a
/// secret). Wrong guesses count towards the same lockout as sign-in, so no such form is a side
/// door for guessing.
pub(crate) async fn confirm_password(
    state: &AppState,
    email: &str,
    typed: String,
) -> Result<Result<(), Reauth>, AppError> {
    let now = now_ms();
    if is_locked_out(state, email, now).await? {
        return Ok(Err(Reauth::LockedOut));
    }
    let stored = state
        .db
        .find_login_user(email)
        .await?
        .map(|u| u.password_hash);
    if password::verify(typed, stored).await? {
        return Ok(Ok(()));
    }
    state.db.record_login_failure(email, now).await?;
    Ok(Err(Reauth::Wrong))
}

/// Locked when the last `MAX_FAILURES` failures all fell within one window that ended less
/// than a window ago.
pub(crate) async fn is_locked_out(
    state: &AppState,
    email: &str,
    now: i64,
) -> Result<bool, AppError> {
    let failures = state.db.recent_login_failures(email, MAX_FAILURES).await?;
    Ok(match (failures.first(), failures.last()) {
        (Some(&newest), Some(&oldest)) if failures.len() as i64 >= MAX_FAILURES => {
            newest - oldest <= LOCKOUT_MS && now - newest < LOCKOUT_MS
        }
        _ => false,
    })
}

/// Refused sign-ins and sign-outs are recorded on a best-effort basis: a failing audit insert
/// must not tell a guessing attacker anything, nor keep anyone signed in.
async fn audit(state: &AppState, actor: &Actor, action: &'static str) {
    let record = AuditRecord {
        action,
        ..AuditRecord::default()
    };
    if let Err(error) = state.db.record_audit(actor, &record).await {
        tracing::error!(%error, action, "could not record a sign-in event");
    }
}

fn login_layout(session: &Session) -> Layout {
    Layout {
        csrf_token: auth::csrf_token(session),
        ..Layout::anonymous(t("login.title"))
    }
}
