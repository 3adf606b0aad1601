//! Account management for admins: merchants, users, disabling, password resets. Every action is
//! audited.

use crate::i18n::{t, tf};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

use crate::accounts::{self, AccountError};
use crate::auth::{Admin, CsrfForm, CurrentUser, EmptyForm, RequestMeta, Role, password};
use crate::error::AppError;
use crate::pages::admin::{IssuedPassword, UsersPage};
use crate::pages::{Layout, render_page};
use crate::startup::AppState;
use crate::store::audit::action;

crate::csrf_form!(NewMerchant { code, name });
crate::csrf_form!(NewUser {
    email,
    role,
    merchant
});

fn user_error(error: AccountError) -> Result<String, AppError> {
    match error {
        AccountError::Database(e) => Err(e.into()),
        AccountError::Unexpected(e) => Err(e.into()),
        other => Ok(other.local_message().unwrap_or_default().to_owned()),
    }
}

#[post("/admin/merchants")]
pub async fn create_merchant(
    state: web::Data<AppState>,
    Admin(user): Admin,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<NewMerchant>,
) -> Result<HttpResponse, AppError> {
    match accounts::create_merchant(&state.db, &form.code, &form.name, Some(&user.actor(&meta)))
        .await
    {
        Ok((_, code)) => {
            crate::auth::set_flash(&user.session, &tf("users.merchant_created", &[&code]));
            Ok(super::see_other(&format!("/admin/merchants/{code}")))
        }
        Err(error) => {
            let mut page = super::admin::merchants_page(&state, &user, String::new(), "").await?;
            page.error_field = error.field();
            page.form_error = Some(user_error(error)?);
            page.code = form.code;
            page.name = form.name;
            Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

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
        role: "merchant".into(),
        merchant: String::new(),
        issued: None,
    })
}

#[get("/admin/users")]
pub async fn users(
    state: web::Data<AppState>,
    Admin(user): Admin,
    query: web::Query<UsersQuery>,
) -> Result<HttpResponse, AppError> {
    let page = users_page(&state, &user, query.q.as_deref().unwrap_or("").trim()).await?;
    Ok(render_page(StatusCode::OK, &page))
}

/// Creates a user with a generated one-time password, shown once on the answer page.
#[post("/admin/users")]
pub async fn create_user(
    state: web::Data<AppState>,
    Admin(user): Admin,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<NewUser>,
) -> Result<HttpResponse, AppError> {
    let role = Role::parse(&form.role)
        .ok_or_else(|| AppError::BadRequest(t("users.unknown_role").into()))?;
    let merchant = (role == Role::Merchant).then_some(form.merchant.as_str());
    let one_time = password::generate();
    let by = Some(&user.actor(&meta));
    match accounts::create_user(&state.db, &form.email, role, merchant, one_time.clone(), by).await
    {
        Ok((_, email)) => {
            let mut page = users_page(&state, &user, "").await?;
            page.issued = Some(IssuedPassword {
                email,
                password: one_time,
            });
            Ok(render_page(StatusCode::OK, &page))
        }
        Err(error) => {
            let mut page = users_page(&state, &user, "").await?;
            page.error_field = error.field();
            page.form_error = Some(user_error(error)?);
            page.email = form.email;
            page.role = form.role;
            page.merchant = form.merchant;
            Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// Disables or re-enables a user; disabling ends that user's sessions at once.
#[post("/admin/users/{id}/{change}")]
pub async fn change_user(
    state: web::Data<AppState>,
    Admin(user): Admin,
    meta: RequestMeta,
    path: web::Path<(i64, String)>,
    _form: CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    let (target_id, change) = path.into_inner();
    let target = state
        .db
        .find_user_summary(target_id)
        .await?
        .ok_or(AppError::NotFound)?;
    let actor = user.actor(&meta);
    match change.as_str() {
        "disable" if target_id == user.id => {
            Err(AppError::BadRequest(t("users.not_yourself").into()))
        }
        "disable" | "enable" => {
            let disable = change == "disable";
            state
                .db
                .set_user_disabled(target_id, disable, Some(&actor))
                .await?;
            let key = if disable {
                "users.disabled_flash"
            } else {
                "users.enabled_flash"
            };
            crate::auth::set_flash(&user.session, &tf(key, &[&target.email]));
            Ok(super::see_other("/admin/users"))
        }
        "reset-password" => {
            let one_time = password::generate();
            let hash = password::hash(one_time.clone()).await?;
            let by = Some((&actor, action::PASSWORD_RESET));
            state
                .db
                .set_password_hash(target_id, &hash, true, by)
                .await?;
            let mut page = users_page(&state, &user, "").await?;
            page.issued = Some(IssuedPassword {
                email: target.email,
                password: one_time,
            });
            Ok(render_page(StatusCode::OK, &page))
        }
        _ => Err(AppError::NotFound),
    }
}
