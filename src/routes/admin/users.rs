//! `/admin/users`: create merchant users and admins (with a one-time password shown once),
//! disable, enable, reset a password (a link by email). Every action is audited.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::accounts;
use crate::auth::password_reset::{self, Lockout};
use crate::auth::two_factor::{self, Asker, TurnOff};
use crate::auth::{Admin, CsrfForm, CurrentUser, RequestMeta, Staff};
use crate::domain::Role;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{t, tf};
use crate::pages::admin::users::{DisableUserPage, IssuedPassword, UsersPage};
use crate::pages::{Layout, render_page};
use crate::password;
use crate::paths;
use crate::state::AppState;
use crate::store::AuditAction;

crate::csrf_form!(NewUser {
    email,
    role,
    merchant
});

crate::csrf_form!(
    /// A row's button; a disable is done only with `confirmed=yes`, sent by its confirm page.
    ChangeForm { confirmed }
);

#[derive(Deserialize)]
pub struct UsersQuery {
    q: Option<String>,
}

async fn users_page(
    state: &AppState,
    user: &CurrentUser,
    search: &str,
) -> Result<UsersPage, AppError> {
    Ok(UsersPage {
        layout: Layout::for_user(t("nav.users"), user),
        search: search.to_owned(),
        users: state.db.user_summaries(search, 200).await?,
        form_error: None,
        error_field: "",
        email: String::new(),
        role: Role::Owner.as_str().into(),
        may_change: user.role == Role::Admin,
        merchant: String::new(),
        issued: None,
    })
}

pub async fn users(
    state: web::Data<AppState>,
    Staff(user): Staff,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    let page = users_page(&state, &user, query.q.as_deref().unwrap_or("").trim()).await?;
    Ok(render_page(StatusCode::OK, &page))
}

/// Creates a user with a generated one-time password, shown once on the answer page.
pub async fn create_user(
    state: web::Data<AppState>,
    Admin(user): Admin,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<NewUser>,
) -> Result<HttpResponse, AppError> {
    let role = Role::named(&form.role)
        .map_err(|_| AppError::BadRequest(t("users.unknown_role").into()))?;
    let merchant = role.is_team().then_some(form.merchant.as_str());
    let one_time = password::generate();
    let by = Some(&user.actor(&meta));
    let created = accounts::create_user(
        &state.db,
        &form.email,
        role,
        merchant,
        one_time.clone(),
        true,
        by,
    );
    match created.await {
        Ok((_, email)) => {
            let mut page = users_page(&state, &user, "").await?;
            page.issued = Some(IssuedPassword {
                email: email.to_string(),
                password: one_time,
            });
            Ok(render_page(StatusCode::OK, &page))
        }
        Err(error) => {
            let mut page = users_page(&state, &user, "").await?;
            page.error_field = error.field();
            page.form_error = Some(error.into_user_message()?);
            page.email = form.email;
            page.role = form.role;
            page.merchant = form.merchant;
            Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// What the buttons of a row of the users page do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UserChange {
    Disable,
    Enable,
    ResetPassword,
    ResetTwoFactor,
}

/// Disables a user once confirmed (the first POST answers with the page that asks, naming the
/// user and what follows; ending their sessions at once), re-enables one, resets their password
/// (replaced and a link emailed when a relay is configured, else a one-time password shown
/// here; either way their sessions end), or resets their two-factor for a lost authenticator
/// (turned off, their sessions ended, told by email; its secret is never shown).
pub async fn change_user(
    state: web::Data<AppState>,
    Admin(user): Admin,
    meta: RequestMeta,
    path: web::Path<(i64, UserChange)>,
    CsrfForm(form): CsrfForm<ChangeForm>,
) -> Result<HttpResponse, AppError> {
    let (target_id, change) = path.into_inner();
    let target = state
        .db
        .find_user_summary(target_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let actor = user.actor(&meta);
    match change {
        UserChange::Disable if target_id == user.id => {
            Err(AppError::BadRequest(t("users.not_yourself").into()))
        }
        // An admin's own two-factor is turned off on their account page, with a code.
        UserChange::ResetTwoFactor if target_id == user.id => {
            Err(AppError::BadRequest(t("users.own_two_factor").into()))
        }
        UserChange::ResetTwoFactor => {
            let account = state
                .db
                .account_contact(target_id)
                .await?
                .ok_or(AppError::NotFound)?;
            let asker = Asker {
                account: &account,
                actor: &actor,
                client_ip: meta.client_ip,
            };
            let key = if two_factor::turn_off(&state, &asker, TurnOff::ByAdmin).await? {
                "users.two_factor_reset"
            } else {
                "users.two_factor_was_off"
            };
            Ok(redirect_with(
                paths::ADMIN_USERS,
                &tf(key, &[&target.email]),
            ))
        }
        UserChange::Disable if form.confirmed != "yes" => {
            let page = DisableUserPage {
                layout: Layout::for_user(t("users.disable_title"), &user),
                target,
            };
            Ok(render_page(StatusCode::OK, &page))
        }
        // A member their team removed comes back only by a new invitation from it.
        UserChange::Enable if target.removed => {
            Err(AppError::BadRequest(t("users.removed_enable").into()))
        }
        UserChange::Disable | UserChange::Enable => {
            let disable = change == UserChange::Disable;
            state
                .db
                .set_user_disabled(target_id, disable, Some(&actor))
                .await?;
            let key = if disable {
                "users.disabled_flash"
            } else {
                "users.enabled_flash"
            };
            Ok(redirect_with(
                paths::ADMIN_USERS,
                &tf(key, &[&target.email]),
            ))
        }
        UserChange::ResetPassword if state.settings.mail.relay.is_some() => {
            let account = state
                .db
                .account_contact(target_id)
                .await?
                .ok_or(AppError::NotFound)?;
            if account.disabled {
                return Err(AppError::BadRequest(t("users.reset_disabled").into()));
            }
            password_reset::send_link(&state, &account, &actor, Lockout::Replace).await?;
            Ok(redirect_with(
                paths::ADMIN_USERS,
                &tf("users.reset_link_sent", &[&target.email]),
            ))
        }
        // Without a relay nobody can be emailed: the admin passes on a one-time password.
        UserChange::ResetPassword => {
            let one_time = password::generate();
            let hash = password::hash(one_time.clone()).await?;
            let by = Some((&actor, AuditAction::PasswordReset));
            state
                .db
                .set_password_hash(target_id, &hash, true, by)
                .await?;
            let mut page = users_page(&state, &user, "").await?;
            page.issued = Some(IssuedPassword {
                email: target.email.to_string(),
                password: one_time,
            });
            Ok(render_page(StatusCode::OK, &page))
        }
    }
}
