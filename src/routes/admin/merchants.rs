//! `/admin/merchants`: the list with search and the form creating a merchant, and one
//! merchant's settings in all six sections, read-only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::accounts;
use crate::auth::{Admin, CsrfForm, CurrentUser, RequestMeta};
use crate::catalog::SECTIONS;
use crate::domain::MerchantCode;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{t, tf};
use crate::pages::admin::merchants::{MerchantPage, MerchantsPage};
use crate::pages::settings::ChannelRow;
use crate::pages::{Layout, render_page};
use crate::paths;
use crate::state::AppState;

const PAGE_SIZE: usize = 50;

#[derive(Deserialize)]
pub struct MerchantsQuery {
    q: Option<String>,
    after: Option<String>,
}

crate::csrf_form!(NewMerchant { code, name });

pub async fn merchant_list(
    state: web::Data<AppState>,
    Admin(user): Admin,
    query: web::Query<MerchantsQuery>,
) -> Result<HttpResponse, AppError> {
    let search = query.q.as_deref().unwrap_or("").trim().to_owned();
    let after = query.after.as_deref().unwrap_or("");
    let page = merchants_page(&state, &user, search, after).await?;
    Ok(render_page(StatusCode::OK, &page))
}

pub async fn create_merchant(
    state: web::Data<AppState>,
    Admin(user): Admin,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<NewMerchant>,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor(&meta);
    match accounts::create_merchant(&state.db, &form.code, &form.name, Some(&actor)).await {
        Ok((_, code)) => {
            let message = tf("users.merchant_created", &[&code]);
            Ok(redirect_with(
                &paths::admin_merchant(code.as_str()),
                &message,
            ))
        }
        Err(error) => {
            let mut page = merchants_page(&state, &user, String::new(), "").await?;
            page.error_field = error.field();
            page.form_error = Some(error.into_user_message()?);
            page.code = form.code;
            page.name = form.name;
            Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
    }
}

/// The merchants list, [`PAGE_SIZE`] at a time by code (keyset on the code).
async fn merchants_page(
    state: &AppState,
    user: &CurrentUser,
    search: String,
    after: &str,
) -> Result<MerchantsPage, AppError> {
    let mut merchants = state
        .db
        .merchant_summaries(&search, after, PAGE_SIZE as i64 + 1)
        .await?;
    let next = (merchants.len() > PAGE_SIZE).then(|| {
        merchants.truncate(PAGE_SIZE);
        let last = merchants[PAGE_SIZE - 1].code.as_str();
        let mut query = url::form_urlencoded::Serializer::new(String::new());
        query.append_pair("q", &search).append_pair("after", last);
        format!("{}?{}", paths::ADMIN_MERCHANTS, query.finish())
    });
    Ok(MerchantsPage {
        layout: Layout::for_user(t("nav.merchants"), user),
        search,
        merchants,
        next,
        form_error: None,
        error_field: "",
        code: String::new(),
        name: String::new(),
    })
}

pub async fn merchant_settings(
    state: web::Data<AppState>,
    Admin(user): Admin,
    code: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let code = MerchantCode::parse(&code).map_err(|_| AppError::NotFound)?;
    let merchant = state
        .db
        .find_merchant(&code)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut stored = state.db.merchant_settings(merchant.id).await?;
    let sections = SECTIONS
        .iter()
        .map(|section| {
            let (here, rest) = stored.drain(..).partition(|s| s.section == section.code);
            stored = rest;
            let settings = here.into_iter().map(|s| s.setting).collect();
            (section, ChannelRow::for_section(section, settings))
        })
        .collect();
    let page = MerchantPage {
        layout: Layout::for_user(&merchant.name, &user),
        code: merchant.code,
        name: merchant.name,
        sections,
    };
    Ok(render_page(StatusCode::OK, &page))
}
