//! Sign-in and sign-out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use validator::Validate;

use crate::auth::throttle::{LOCKOUT_MS, is_locked_out};
use crate::auth::{self, CsrfForm, CurrentUser, EmptyForm, HasCsrfToken, RequestMeta, password};
use crate::domain::EmailAddress;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::{Layout, LoginPage, render_page, see_other};
use crate::paths;
use crate::state::AppState;
use crate::store::{Actor, AuditAction, AuditRecord, now_ms};

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

pub async fn login(
    state: web::Data<AppState>,
    session: Session,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<HttpResponse, AppError> {
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
        email: form.email.trim().to_lowercase(),
        client_ip: meta.client_ip.clone(),
        ..Actor::default()
    };
    let Ok(email) = EmailAddress::parse(&form.email) else {
        // No account has such an address: refused like a wrong password, in the same time,
        // and recorded as typed.
        password::verify(form.password.clone(), None).await?;
        audit(&state, &actor, AuditAction::SignInFailed).await;
        return Ok(refuse(StatusCode::UNAUTHORIZED, t("login.bad_credentials")));
    };
    let now = now_ms();
    if is_locked_out(&state.db, &email, now).await? {
        audit(&state, &actor, AuditAction::SignInLocked).await;
        return Ok(refuse(StatusCode::TOO_MANY_REQUESTS, t("login.locked_out")));
    }

    let user = state.db.find_login_user(&email).await?;
    let stored_hash = user.as_ref().map(|u| u.password_hash.clone());
    let password_ok = password::verify(form.password.clone(), stored_hash).await?;
    let user = match user {
        Some(user) if password_ok && !user.disabled => user,
        _ => {
            state.db.record_login_failure(&email, now).await?;
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

    session.renew();
    session.clear();
    session
        .insert(auth::keys::USER_ID, user.id)
        .and_then(|()| session.insert(auth::keys::EPOCH, user.session_epoch))
        .and_then(|()| session.insert(auth::keys::CSRF, crate::random::random_token()))
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    state
        .db
        .clear_login_failures(Some(&email), now - LOCKOUT_MS)
        .await?;
    Ok(see_other(paths::PAYMENT_SETTINGS))
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

/// Refused sign-ins and sign-outs are recorded on a best-effort basis: a failing audit insert
/// must not tell a guessing attacker anything, nor keep anyone signed in.
async fn audit(state: &AppState, actor: &Actor, action: AuditAction) {
    if let Err(error) = state.db.record_audit(actor, &AuditRecord::of(action)).await {
        tracing::error!(%error, %action, "could not record a sign-in event");
    }
}

fn login_layout(session: &Session) -> Layout {
    Layout {
        csrf_token: auth::csrf_token(session),
        ..Layout::anonymous(t("login.title"))
    }
}
