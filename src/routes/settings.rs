//! Settings > Payment Settings: the overview, a section's channels, CONFIGURE and history.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::auth::{CsrfForm, HasCsrfToken, MaybeScoped, MerchantUser, RequestMeta, Scope, Scoped};
use crate::catalog::{ChannelTarget, Section};
use crate::dns::judge;
use crate::error::AppError;
use crate::i18n::{t, tf};
use crate::pages::notify::TestResultPage;
use crate::pages::{
    ChannelRow, ConfigureForm, ConfigurePage, HistoryPage, Layout, MerchantPickerPage,
    PaymentSettingsPage, SectionPage, SectionSummary, render_page, see_other,
};
use crate::state::AppState;
use crate::store::{ChannelUpdate, SaveOutcome};
use crate::url_policy::{Environment, NotificationUrl};

pub async fn payment_settings(
    state: web::Data<AppState>,
    MaybeScoped { user, scope }: MaybeScoped,
) -> Result<HttpResponse, AppError> {
    let layout = Layout::for_user(t("nav.payment_settings"), &user);
    let Some(scope) = scope else {
        let merchants = state.db.list_merchants().await?;
        let page = MerchantPickerPage { layout, merchants };
        return Ok(render_page(StatusCode::OK, &page));
    };
    let counts = state.db.configured_counts(scope.merchant_id).await?;
    let page = PaymentSettingsPage {
        layout,
        scope,
        sections: SectionSummary::all(&counts),
    };
    Ok(render_page(StatusCode::OK, &page))
}

pub async fn section_page(
    state: web::Data<AppState>,
    Scoped { user, scope }: Scoped,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let section = Section::find(&path).ok_or(AppError::NotFound)?;
    let stored = state
        .db
        .section_settings(scope.merchant_id, section.code)
        .await?;
    let rows = ChannelRow::for_section(section, stored);
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

pub async fn configure_form(
    state: web::Data<AppState>,
    Scoped { user, scope }: Scoped,
    target: ChannelTarget,
) -> Result<HttpResponse, AppError> {
    let setting = state
        .db
        .channel_setting(scope.merchant_id, target.section.code, target.channel.code)
        .await?;
    let form = ConfigureForm::from_setting(&setting);
    let page = ConfigurePage::new(&user, scope, target, form, None);
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

pub async fn save_configuration(
    state: web::Data<AppState>,
    merchant_user: MerchantUser,
    meta: RequestMeta,
    target: ChannelTarget,
    CsrfForm(input): CsrfForm<ConfigureInput>,
) -> Result<HttpResponse, AppError> {
    let and_test: Option<Environment> = input.and_test.as_deref().map(str::parse).transpose()?;
    let settings = &state.settings;
    let (policy, resolver) = (&settings.url_policy, settings.dns_resolver());
    let (sandbox, production) = tokio::join!(
        judge(&input.sandbox_url, Environment::Sandbox, policy, resolver),
        judge(
            &input.production_url,
            Environment::Production,
            policy,
            resolver
        ),
    );
    let MerchantUser { user, merchant } = &merchant_user;
    let scope = Scope::own(merchant);
    let typed = |version: i64| ConfigureForm {
        sandbox_url: input.sandbox_url.clone(),
        production_url: input.production_url.clone(),
        version,
        sandbox_errors: sandbox.errors.clone(),
        production_errors: production.errors.clone(),
    };
    if !sandbox.errors.is_empty() || !production.errors.is_empty() {
        let page = ConfigurePage::new(user, scope, target, typed(input.version), None);
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
    let names: [&dyn std::fmt::Display; 2] = [&target.channel.name, &target.section.local_title()];
    let message = match state.db.save_channel(&update, &user.actor(&meta)).await? {
        SaveOutcome::Saved { .. } => tf("settings.saved", &names),
        SaveOutcome::Unchanged => tf("settings.unchanged", &names),
        SaveOutcome::Conflict => {
            let current = state
                .db
                .channel_setting(merchant.id, target.section.code, target.channel.code)
                .await?;
            let form = typed(current.version);
            let page = ConfigurePage::new(user, scope, target, form, Some(current));
            return Ok(render_page(StatusCode::CONFLICT, &page));
        }
    };
    let warnings = sandbox.warnings.iter().chain(&production.warnings);
    let message = warnings.fold(message, |text, warning| {
        tf("settings.with_warning", &[&text, warning])
    });

    let Some(environment) = and_test else {
        crate::auth::set_flash(&user.session, &message);
        return Ok(see_other(&crate::paths::section(target.section.code)));
    };
    let actor = user.actor(&meta);
    let outcome = crate::notify::run_test(
        &state.db,
        settings,
        merchant.id,
        target,
        environment,
        &actor,
    )
    .await?;
    let layout = Layout::for_user(t("test.title"), user);
    Ok(TestResultPage::answer(
        layout,
        target,
        environment,
        Some(message),
        outcome,
    ))
}

pub async fn channel_history(
    state: web::Data<AppState>,
    Scoped { user, scope }: Scoped,
    target: ChannelTarget,
) -> Result<HttpResponse, AppError> {
    let entries = state
        .db
        .channel_history(scope.merchant_id, target.section.code, target.channel.code)
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
