//! Sign-in and sign-out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use validator::Validate;

use crate::auth::login_csrf::{self, SignInForm};
use crate::auth::{
    CsrfForm, CurrentUser, EmptyForm, HasCsrfToken, RequestMeta, SignInOutcome, audit_best_effort,
    sign_in, start_session,
};
use crate::error::AppError;
use crate::i18n::{self, Lang, t};
use crate::pages::login::LoginPage;
use crate::pages::{Layout, render_page, retry_after, see_other, with_cookie};
use crate::paths;
use crate::state::AppState;
use crate::store::AuditAction;
use crate::throttle;

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
    /// Set when a reset link changed the password.
    reset: Option<String>,
}

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
        notice: match (&query.signed_out, &query.reset) {
            (_, Some(_)) => Some(t("login.password_reset")),
            (Some(_), None) => Some(t("login.signed_out")),
            (None, None) => None,
        },
    };
    with_cookie(render_page(StatusCode::OK, &page), cookie)
}

pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
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
    let password = form.password.clone();
    let chosen = req
        .cookie(i18n::COOKIE)
        .and_then(|cookie| Lang::from_code(cookie.value()));
    let user = match sign_in(&state, &form.email, password, meta.client_ip, chosen).await? {
        SignInOutcome::SignedIn(user) => user,
        SignInOutcome::Refused => {
            return Ok(refuse(StatusCode::UNAUTHORIZED, t("login.bad_credentials")));
        }
        SignInOutcome::LockedOut => {
            let refused = refuse(StatusCode::TOO_MANY_REQUESTS, t("login.locked_out"));
            return Ok(retry_after(refused, throttle::WINDOW.as_secs()));
        }
        SignInOutcome::Busy => {
            let busy = refuse(StatusCode::TOO_MANY_REQUESTS, t("login.busy"));
            return Ok(retry_after(busy, 1));
        }
    };
    start_session(&session, user.id, user.session_epoch)
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
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
    audit_best_effort(&state, &user.actor(&meta), AuditAction::SignOut).await;
    user.session.purge();
    Ok(see_other(paths::SIGNED_OUT))
}

fn login_layout(csrf_token: String) -> Layout {
    Layout {
        csrf_token,
        ..Layout::anonymous(t("login.title"))
    }
}
