//! `/admin/merchants`: the list with search and the form creating a merchant with its first
//! owner, and one merchant's settings in all six sections and its team, read-only.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::accounts::{self, AccountError};
use crate::auth::{Admin, CsrfForm, CurrentUser, RequestMeta, Staff};
use crate::catalog::SECTIONS;
use crate::domain::{EmailAddress, MerchantCode, Role};
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{t, tf};
use crate::pages::admin::merchants::{MerchantPage, MerchantsPage};
use crate::pages::admin::users::IssuedPassword;
use crate::pages::settings::ChannelRow;
use crate::pages::{Layout, render_page};
use crate::password;
use crate::paths;
use crate::state::AppState;
use crate::store::now_ms;
use crate::teams::{self, Inviter};

const PAGE_SIZE: usize = 50;

#[derive(Deserialize)]
pub struct MerchantsQuery {
    q: Option<String>,
    after: Option<String>,
}

crate::csrf_form!(NewMerchant {
    code,
    name,
    owner_email
});

pub async fn merchant_list(
    state: web::Data<AppState>,
    Staff(user): Staff,
    query: web::Query<MerchantsQuery>,
) -> Result<HttpResponse, AppError> {
    let search = query.q.as_deref().unwrap_or("").trim().to_owned();
    let after = query.after.as_deref().unwrap_or("");
    let page = merchants_page(&state, &user, search, after).await?;
    Ok(render_page(StatusCode::OK, &page))
}

/// Creates a merchant and, given an address, its first owner: invited by email when a relay is
/// set, else created with a one-time password shown once on the answer page.
pub async fn create_merchant(
    state: web::Data<AppState>,
    Admin(user): Admin,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<NewMerchant>,
) -> Result<HttpResponse, AppError> {
    let actor = user.actor(&meta);
    let owner = form.owner_email.trim();
    let refused = |error: AccountError| async {
        let mut page = merchants_page(&state, &user, String::new(), "").await?;
        page.error_field = error.field();
        page.form_error = Some(error.into_user_message()?);
        page.code = form.code.clone();
        page.name = form.name.clone();
        page.owner_email = owner.to_owned();
        Ok::<_, AppError>(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page))
    };
    // The owner's address is checked first, so a refused one leaves no merchant behind.
    let owner_email = match owner {
        "" => None,
        typed => match EmailAddress::parse(typed) {
            Ok(email) => Some(email),
            Err(error) => return refused(error.into()).await,
        },
    };
    if let Some(email) = &owner_email
        && state.db.existing_account(email).await?.is_some()
    {
        return refused(AccountError::DuplicateEmail).await;
    }
    let (merchant_id, code) =
        match accounts::create_merchant(&state.db, &form.code, &form.name, Some(&actor)).await {
            Ok(created) => created,
            Err(error) => return refused(error).await,
        };
    let created = tf("users.merchant_created", &[&code]);
    let Some(email) = owner_email else {
        return Ok(redirect_with(
            &paths::admin_merchant(code.as_str()),
            &created,
        ));
    };
    if state.settings.mail.relay.is_some() {
        let inviter = Inviter {
            merchant_id,
            merchant_name: form.name.trim(),
            actor: &actor,
            client_ip: meta.client_ip,
        };
        let invited = teams::invite(&state, &inviter, email.as_str(), Role::Owner).await?;
        let message = match invited {
            Ok(()) => tf("admin.owner_invited", &[&code, &email]),
            Err(refusal) => format!("{created} {}", refusal.message()),
        };
        return Ok(redirect_with(
            &paths::admin_merchant(code.as_str()),
            &message,
        ));
    }
    // Without a relay nobody can be emailed: the admin passes on a one-time password.
    let one_time = password::generate();
    let made = accounts::create_user(
        &state.db,
        email.as_str(),
        Role::Owner,
        Some(code.as_str()),
        one_time.clone(),
        true,
        Some(&actor),
    );
    if let Err(error) = made.await {
        return refused(error).await;
    }
    let mut page = merchants_page(&state, &user, String::new(), "").await?;
    page.issued = Some(IssuedPassword {
        email: email.to_string(),
        password: one_time,
    });
    Ok(render_page(StatusCode::OK, &page))
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
        owner_email: String::new(),
        may_change: user.role == Role::Admin,
        invites: state.settings.mail.relay.is_some(),
        issued: None,
    })
}

pub async fn merchant_settings(
    state: web::Data<AppState>,
    Staff(user): Staff,
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
    let members = state.db.team_members(merchant.id).await?;
    let invitations = state.db.pending_invitations(merchant.id, now_ms()).await?;
    let page = MerchantPage {
        members,
        invitations,
        layout: Layout::for_user(&merchant.name, &user),
        code: merchant.code,
        name: merchant.name,
        sections,
    };
    Ok(render_page(StatusCode::OK, &page))
}
