//! Forgot password: `GET/POST /password/forgot` asks for a link by email, `GET/POST
//! /password/reset/{token}` chooses a new password through it. Nobody is signed in here: the
//! forms carry the sign-in form's signed-cookie CSRF token.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::RequestMeta;
use crate::auth::link_token::LinkToken;
use crate::auth::login_csrf::{self, SignInForm};
use crate::auth::password_reset;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::account::PasswordErrors;
use crate::pages::password::{ForgotPage, ResetGonePage, ResetPage};
use crate::pages::{Layout, origin_referrer_only, render_page, see_other, with_cookie};
use crate::paths;
use crate::state::AppState;
use crate::store::users::AccountContact;

crate::csrf_form!(ForgotForm { email });
crate::csrf_form!(ResetForm {
    new_password,
    confirm_password
});

/// An anonymous page's frame, with the signed-cookie token its form carries.
fn layout(title: &str, csrf_token: String) -> Layout {
    Layout {
        csrf_token,
        ..Layout::anonymous(title)
    }
}

pub async fn forgot_form(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let (token, cookie) = login_csrf::token_for(&req, &state.settings);
    let page = ForgotPage {
        layout: layout(t("forgot.title"), token),
        email: String::new(),
        sent: false,
    };
    with_cookie(render_page(StatusCode::OK, &page), cookie)
}

/// The same page, status and words for every address; only an active account gets an email.
pub async fn request_link(
    state: web::Data<AppState>,
    meta: RequestMeta,
    SignInForm(form): SignInForm<ForgotForm>,
) -> Result<HttpResponse, AppError> {
    password_reset::request_link(&state, &form.email, meta.client_ip).await;
    let page = ForgotPage {
        layout: layout(t("forgot.title"), form.csrf_token.clone()),
        email: form.email.trim().to_owned(),
        sent: true,
    };
    Ok(render_page(StatusCode::OK, &page))
}

/// The link's form, while the link works; otherwise the page that offers a new link (410).
pub async fn reset_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let Some((token, account)) = working_link(&state, &path).await? else {
        return Ok(gone());
    };
    let (csrf, cookie) = login_csrf::token_for(&req, &state.settings);
    let page = reset_page(&token, &account, csrf, PasswordErrors::default());
    Ok(origin_referrer_only(with_cookie(
        render_page(StatusCode::OK, &page),
        cookie,
    )))
}

pub async fn reset_password(
    state: web::Data<AppState>,
    meta: RequestMeta,
    path: web::Path<String>,
    SignInForm(form): SignInForm<ResetForm>,
) -> Result<HttpResponse, AppError> {
    let Some((token, account)) = working_link(&state, &path).await? else {
        return Ok(gone());
    };
    let mut errors = PasswordErrors::default();
    errors.check_new(&form.new_password, &form.confirm_password);
    if !errors.is_empty() {
        let page = reset_page(&token, &account, form.csrf_token.clone(), errors);
        return Ok(origin_referrer_only(render_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page,
        )));
    }
    let password = form.new_password.clone();
    let reset = password_reset::reset_password(&state, &token, &account, password, meta.client_ip);
    if !reset.await? {
        return Ok(gone());
    }
    Ok(see_other(paths::PASSWORD_WAS_RESET))
}

/// The token of `text` and its account, while the link works.
async fn working_link(
    state: &AppState,
    text: &str,
) -> Result<Option<(LinkToken, AccountContact)>, AppError> {
    let Some(token) = LinkToken::from_link(text) else {
        return Ok(None);
    };
    let account = password_reset::account_of_link(state, &token).await?;
    Ok(account.map(|account| (token, account)))
}

fn reset_page(
    token: &LinkToken,
    account: &AccountContact,
    csrf_token: String,
    errors: PasswordErrors,
) -> ResetPage {
    ResetPage {
        layout: layout(t("reset.title"), csrf_token),
        action: paths::password_reset(token.as_str()),
        email: account.email.to_string(),
        errors,
    }
}

/// A used, expired, voided or made-up link: 410, with a way to ask for a new one.
fn gone() -> HttpResponse {
    let page = ResetGonePage {
        layout: Layout::anonymous(t("reset.gone_title")),
    };
    origin_referrer_only(render_page(StatusCode::GONE, &page))
}
