//! Sign-in and sign-out.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use validator::Validate;

use crate::auth::login_csrf::{self, SignInForm};
use crate::auth::{
    CsrfForm, CurrentUser, EmptyForm, HasCsrfToken, PendingSignIn, RequestMeta, SecondStep,
    SignInOutcome, audit_best_effort, second_step, sign_in, start_session,
};
use crate::domain::ReturnPath;
use crate::error::AppError;
use crate::i18n::{self, Lang, t};
use crate::pages::login::{LoginPage, SecondStepPage};
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
    /// The page to return to (see `ReturnPath`).
    #[serde(default)]
    next: String,
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
    /// Set when a sign-in ended at its second step.
    ended: Option<String>,
    /// The page asked for while signed out.
    next: Option<String>,
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
        notice: if query.reset.is_some() {
            Some(t("login.password_reset"))
        } else if query.ended.is_some() {
            Some(t("login.code_ended"))
        } else if query.signed_out.is_some() {
            Some(t("login.signed_out"))
        } else {
            None
        },
        next: query.next.as_deref().and_then(ReturnPath::parse),
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
    let next = ReturnPath::parse(&form.next);
    let refuse = |status: StatusCode, message: &str| {
        let page = LoginPage {
            layout: login_layout(form.csrf_token.clone()),
            email: form.email.clone(),
            error: Some(message.to_owned()),
            notice: None,
            next: next.clone(),
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
        SignInOutcome::SecondFactor(user) => {
            PendingSignIn::begin(&session, &user, chosen, next.as_ref())
                .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
            return Ok(see_other(paths::LOGIN_TWO_FACTOR));
        }
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
    let landing = crate::auth::landing(user.role);
    let signed_in = see_other(next.as_ref().map_or(landing, ReturnPath::as_str));
    Ok(with_cookie(
        signed_in,
        Some(login_csrf::removal(&state.settings)),
    ))
}

crate::csrf_form!(CodeForm { code });

/// The second step's form, while a sign-in waits for it; otherwise back to the password.
pub async fn second_step_form(state: web::Data<AppState>, session: Session) -> HttpResponse {
    if PendingSignIn::read(&session, state.settings.sign_in_code_timeout).is_none() {
        return see_other(paths::LOGIN);
    }
    let page = SecondStepPage {
        layout: login_layout(crate::auth::csrf_token(&session)),
        error: None,
    };
    render_page(StatusCode::OK, &page)
}

/// A code for the sign-in waiting in the session. A wrong one says only that the code did not
/// work; the fifth, a late one or one for a changed account ends the sign-in, which starts
/// again with the password.
pub async fn check_second_step(
    state: web::Data<AppState>,
    session: Session,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let next = PendingSignIn::next(&session);
    match second_step(&state, &session, &form.code, meta.client_ip).await? {
        SecondStep::SignedIn(user) => {
            start_session(&session, user.id, user.session_epoch)
                .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
            let landing = crate::auth::landing(user.role);
            let to = next.as_ref().map_or(landing, ReturnPath::as_str);
            Ok(see_other(to))
        }
        SecondStep::Wrong(left) => {
            let page = SecondStepPage {
                layout: login_layout(form.csrf_token().to_owned()),
                error: Some(i18n::tf("login.code_wrong", &[&left])),
            };
            Ok(render_page(StatusCode::UNAUTHORIZED, &page))
        }
        SecondStep::Ended => {
            session.purge();
            Ok(see_other(paths::SIGN_IN_ENDED))
        }
    }
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
