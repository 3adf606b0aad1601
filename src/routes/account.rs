//! A signed-in user's own account: changing one's password ends every other session.

use crate::i18n::t;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

use crate::accounts;
use crate::auth::{self, CsrfForm, CurrentUser, HasCsrfToken, RequestMeta, password};
use crate::error::AppError;
use crate::pages::admin::{PasswordErrors, PasswordPage};
use crate::pages::{Layout, render_page};
use crate::startup::AppState;
use crate::store::audit::action;

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    confirm_password: String,
    #[serde(default)]
    csrf_token: String,
}

impl HasCsrfToken for PasswordForm {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

#[get("/account/password")]
pub async fn password_form(user: CurrentUser) -> HttpResponse {
    let page = PasswordPage {
        layout: Layout::for_user(t("nav.change_password"), &user),
        errors: PasswordErrors::default(),
        must_change: user.must_change_password,
    };
    render_page(StatusCode::OK, &page)
}

#[post("/account/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let stored = state
        .db
        .find_login_user(&user.email)
        .await?
        .map(|u| u.password_hash);
    let mut errors = PasswordErrors::default();
    // Guesses at the current password count towards the same lockout as sign-in.
    let now = crate::store::now_ms();
    if super::login::is_locked_out(&state, &user.email, now).await? {
        errors.current.push(t("keys.locked_out"));
    } else if !password::verify(form.current_password.clone(), stored).await? {
        state.db.record_login_failure(&user.email, now).await?;
        errors.current.push(t("password.current_wrong"));
    }
    if let Err(error) = accounts::check_password(&form.new_password) {
        errors.new.push(error.local_message().unwrap_or_default());
    }
    if form.new_password == form.current_password {
        errors.new.push(t("password.same"));
    }
    if form.new_password != form.confirm_password {
        errors.confirm.push(t("password.mismatch"));
    }
    if !errors.is_empty() {
        let page = PasswordPage {
            layout: Layout::for_user(t("nav.change_password"), &user),
            errors,
            must_change: user.must_change_password,
        };
        return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let hash = password::hash(form.new_password).await?;
    let by = Some((&user.actor(&meta), action::PASSWORD_CHANGE));
    let epoch = state
        .db
        .set_password_hash(user.id, &hash, false, by)
        .await?;
    // Every session of this user is gone; this one carries on under a new id and epoch.
    user.session.renew();
    user.session
        .insert(auth::keys::EPOCH, epoch)
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    auth::set_flash(&user.session, t("password.changed"));
    let next = if user.must_change_password {
        "/settings/payment"
    } else {
        "/account/password"
    };
    Ok(super::see_other(next))
}
