//! A signed-in user's own account: changing one's password ends every other session.

use super::login::Reauth;
use crate::i18n::t;
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};

use crate::accounts;
use crate::auth::{self, CsrfForm, CurrentUser, RequestMeta, password};
use crate::error::AppError;
use crate::pages::admin::{PasswordErrors, PasswordPage};
use crate::pages::{Layout, render_page};
use crate::startup::AppState;
use crate::store::audit::action;

crate::csrf_form!(PasswordForm {
    current_password,
    new_password,
    confirm_password
});

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
    let mut errors = PasswordErrors::default();
    let current = form.current_password.clone();
    match super::login::confirm_password(&state, &user.email, current).await? {
        Ok(()) => {}
        Err(Reauth::LockedOut) => errors.current.push(t("keys.locked_out")),
        Err(Reauth::Wrong) => errors.current.push(t("password.current_wrong")),
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
