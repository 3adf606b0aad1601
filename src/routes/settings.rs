//! Settings > Payment Settings: the overview, a section's channels, CONFIGURE and history.

use crate::i18n::{t, tf};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, get, post, web};
use serde::Deserialize;

use crate::auth::{CsrfForm, CurrentUser, HasCsrfToken, MerchantUser, RequestMeta, Role};
use crate::catalog::{ChannelRef, Section};
use crate::error::AppError;
use crate::pages::{
    ChannelRow, ConfigureForm, ConfigurePage, HistoryPage, Layout, MerchantPickerPage,
    PaymentSettingsPage, Scope, SectionPage, SectionSummary, Status, render_page,
};
use crate::startup::AppState;
use crate::store::{ChannelUpdate, SaveOutcome};
use crate::url_policy::{Environment, NotificationUrl};

/// `?merchant=CODE`: which merchant an admin is reading.
#[derive(Deserialize)]
pub struct ScopeQuery {
    merchant: Option<String>,
}

/// The merchant whose settings a page shows: a merchant user's own, or the one an admin named.
/// A merchant user naming another merchant gets 404, so existence does not leak.
async fn resolve_scope(
    state: &AppState,
    user: &CurrentUser,
    query: &ScopeQuery,
) -> Result<Option<(i64, Scope)>, AppError> {
    match (user.role, &user.merchant, query.merchant.as_deref()) {
        (Role::Merchant, Some(own), requested) => {
            if requested.is_some_and(|code| code != own.code) {
                return Err(AppError::NotFound);
            }
            let scope = Scope {
                merchant_name: own.name.clone(),
                read_only: false,
                query: String::new(),
            };
            Ok(Some((own.id, scope)))
        }
        (Role::Admin, _, Some(code)) => {
            let merchant = state
                .db
                .find_merchant(code)
                .await?
                .ok_or(AppError::NotFound)?;
            let scope = Scope {
                query: format!("?merchant={}", merchant.code),
                merchant_name: merchant.name,
                read_only: true,
            };
            Ok(Some((merchant.id, scope)))
        }
        (Role::Admin, _, None) => Ok(None),
        (Role::Merchant, None, _) => Err(AppError::NotFound),
    }
}

#[get("/settings/payment")]
pub async fn payment_settings(
    state: web::Data<AppState>,
    user: CurrentUser,
    query: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let Some((merchant_id, scope)) = resolve_scope(&state, &user, &query).await? else {
        let page = MerchantPickerPage {
            layout: Layout::for_user(t("nav.payment_settings"), &user),
            merchants: state.db.list_merchants().await?,
        };
        return Ok(render_page(StatusCode::OK, &page));
    };
    let counts = state.db.configured_counts(merchant_id).await?;
    let sections = SectionSummary::all(&counts);
    let page = PaymentSettingsPage {
        layout: Layout::for_user(t("nav.payment_settings"), &user),
        scope,
        sections,
    };
    Ok(render_page(StatusCode::OK, &page))
}

#[get("/settings/payment/{section}")]
pub async fn section_page(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<String>,
    query: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let section = Section::find(&path).ok_or(AppError::NotFound)?;
    let (merchant_id, scope) = resolve_scope(&state, &user, &query)
        .await?
        .ok_or(AppError::NotFound)?;
    let mut stored = state.db.section_settings(merchant_id, section.code).await?;
    let rows: Vec<ChannelRow> = section
        .channels
        .iter()
        .map(|channel| {
            let setting = stored
                .iter()
                .position(|s| s.channel == channel.code)
                .map(|i| stored.swap_remove(i))
                .unwrap_or_default();
            ChannelRow {
                channel,
                status: Status::of(&setting),
                setting,
            }
        })
        .collect();
    let card_form = section
        .single_box
        .then(|| ConfigureForm::from_setting(&rows[0].setting));
    let page = SectionPage {
        layout: Layout::for_user(section.local_title(), &user),
        scope,
        section,
        rows,
        card_form,
    };
    Ok(render_page(StatusCode::OK, &page))
}

#[get("/settings/payment/{section}/{channel}")]
pub async fn configure_form(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let target = ChannelRef::find(&path.0, &path.1).ok_or(AppError::NotFound)?;
    let (merchant_id, scope) = resolve_scope(&state, &user, &query)
        .await?
        .ok_or(AppError::NotFound)?;
    let setting = state
        .db
        .channel_setting(merchant_id, target.section.code, target.channel.code)
        .await?;
    let page = ConfigurePage {
        layout: Layout::for_user(target.channel.name, &user),
        scope,
        section: target.section,
        channel: target.channel,
        form: ConfigureForm::from_setting(&setting),
        conflict: None,
    };
    Ok(render_page(StatusCode::OK, &page))
}

/// The CONFIGURE form as posted.
#[derive(Deserialize)]
pub struct ConfigureInput {
    #[serde(default)]
    sandbox_url: String,
    #[serde(default)]
    production_url: String,
    version: i64,
    #[serde(default)]
    csrf_token: String,
    /// Set by the "Save & test" buttons: the environment to test once saved.
    and_test: Option<String>,
}

impl HasCsrfToken for ConfigureInput {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

/// A field judged by the URL policy: `None` when left empty (which clears the URL).
struct FieldVerdict {
    url: Option<NotificationUrl>,
    errors: Vec<&'static str>,
    warnings: Vec<&'static str>,
}

/// Judges one field with the whole policy, DNS (rule 9) included unless it is turned off.
async fn judge(input: &str, environment: Environment, state: &AppState) -> FieldVerdict {
    if input.trim().is_empty() {
        return FieldVerdict {
            url: None,
            errors: Vec::new(),
            warnings: Vec::new(),
        };
    }
    let settings = &state.settings;
    let resolver = settings.dns_check.then_some(&settings.resolver);
    match crate::dns::vet(input, environment, &settings.url_policy, resolver).await {
        Ok(crate::dns::VettedUrl { url, warnings, .. }) => FieldVerdict {
            url: Some(url),
            errors: Vec::new(),
            warnings: warnings.iter().map(|w| w.code.local_message()).collect(),
        },
        Err(violations) => FieldVerdict {
            url: None,
            errors: violations.iter().map(|v| v.code.local_message()).collect(),
            warnings: Vec::new(),
        },
    }
}

#[post("/settings/payment/{section}/{channel}")]
pub async fn save_configuration(
    state: web::Data<AppState>,
    merchant_user: MerchantUser,
    meta: RequestMeta,
    path: web::Path<(String, String)>,
    CsrfForm(input): CsrfForm<ConfigureInput>,
) -> Result<HttpResponse, AppError> {
    let target = ChannelRef::find(&path.0, &path.1).ok_or(AppError::NotFound)?;
    let and_test = input
        .and_test
        .as_deref()
        .map(super::notify::parse_environment)
        .transpose()?;
    let (sandbox, production) = tokio::join!(
        judge(&input.sandbox_url, Environment::Sandbox, &state),
        judge(&input.production_url, Environment::Production, &state),
    );
    let MerchantUser { user, merchant } = &merchant_user;
    let scope = Scope {
        merchant_name: merchant.name.clone(),
        read_only: false,
        query: String::new(),
    };
    let typed = |version: i64| ConfigureForm {
        sandbox_url: input.sandbox_url.clone(),
        production_url: input.production_url.clone(),
        version,
        sandbox_errors: sandbox.errors.clone(),
        production_errors: production.errors.clone(),
    };

    if !sandbox.errors.is_empty() || !production.errors.is_empty() {
        let page = ConfigurePage {
            layout: Layout::for_user(target.channel.name, user),
            scope,
            section: target.section,
            channel: target.channel,
            form: typed(input.version),
            conflict: None,
        };
        return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }

    let update = ChannelUpdate {
        merchant_id: merchant.id,
        section: target.section.code,
        channel: target.channel.code,
        expected_version: input.version,
        sandbox_url: sandbox.url.as_ref().map(NotificationUrl::as_str),
        production_url: production.url.as_ref().map(NotificationUrl::as_str),
    };
    let outcome = state.db.save_channel(&update, &user.actor(&meta)).await?;
    let message = match outcome {
        SaveOutcome::Conflict => {
            let current = state
                .db
                .channel_setting(merchant.id, target.section.code, target.channel.code)
                .await?;
            let page = ConfigurePage {
                layout: Layout::for_user(target.channel.name, user),
                scope,
                section: target.section,
                channel: target.channel,
                form: typed(current.version),
                conflict: Some(current),
            };
            return Ok(render_page(StatusCode::CONFLICT, &page));
        }
        SaveOutcome::Saved { .. } => tf(
            "settings.saved",
            &[&target.channel.name, &target.section.local_title()],
        ),
        SaveOutcome::Unchanged => tf(
            "settings.unchanged",
            &[&target.channel.name, &target.section.local_title()],
        ),
    };
    let warnings = sandbox.warnings.iter().chain(&production.warnings);
    let message = warnings.fold(message, |text, warning| {
        tf("settings.with_warning", &[&text, warning])
    });
    if let Some(environment) = and_test {
        let notice = Some(message);
        return super::notify::test_and_render(
            &state,
            &merchant_user,
            &meta,
            target,
            environment,
            notice,
        )
        .await;
    }
    crate::auth::set_flash(&user.session, &message);
    Ok(super::see_other(&format!(
        "/settings/payment/{}",
        target.section.code
    )))
}

#[get("/settings/payment/{section}/{channel}/history")]
pub async fn channel_history(
    state: web::Data<AppState>,
    user: CurrentUser,
    path: web::Path<(String, String)>,
    query: web::Query<ScopeQuery>,
) -> Result<HttpResponse, AppError> {
    let target = ChannelRef::find(&path.0, &path.1).ok_or(AppError::NotFound)?;
    let (merchant_id, scope) = resolve_scope(&state, &user, &query)
        .await?
        .ok_or(AppError::NotFound)?;
    let entries = state
        .db
        .channel_history(merchant_id, target.section.code, target.channel.code)
        .await?;
    let page = HistoryPage {
        layout: Layout::for_user(target.channel.name, &user),
        scope,
        section: target.section,
        channel: target.channel,
        entries,
    };
    Ok(render_page(StatusCode::OK, &page))
}
