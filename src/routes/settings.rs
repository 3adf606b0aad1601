//! Settings > Payment Settings: the overview, a section's channels, CONFIGURE and history.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::auth::{
    CsrfForm, Developer, HasCsrfToken, MaybeScoped, MerchantUser, RequestMeta, Scope, Scoped,
};
use crate::catalog::{ChannelTarget, Section};
use crate::domain::Environment;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{t, tf};
use crate::notify::run_test;
use crate::pages::settings::{
    ChannelRow, ConfigureForm, ConfigurePage, HistoryPage, MerchantPickerPage, PaymentSettingsPage,
    SectionPage, SectionSummary,
};
use crate::pages::test_notification::TestResultPage;
use crate::pages::{Layout, render_page};
use crate::state::AppState;
use crate::store::{ChannelUpdate, SaveOutcome};
use crate::url_field::JudgedUrls;

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
    let stored = match crate::prefetch::take_settings(scope.merchant_id, section.code) {
        Some(read_with_the_session) => read_with_the_session,
        None => {
            state
                .db
                .section_settings(scope.merchant_id, section.code)
                .await?
        }
    };
    let rows = ChannelRow::for_section(section, stored);
    let page = SectionPage::new(&user, scope, section, rows);
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
    pub sandbox_url: String,
    #[serde(default)]
    pub production_url: String,
    /// The settings version the form was based on.
    pub version: i64,
    #[serde(default)]
    csrf_token: String,
    /// Set by the "Save & test" buttons: the environment to test once saved.
    pub and_test: Option<String>,
}

impl HasCsrfToken for ConfigureInput {
    fn csrf_token(&self) -> &str {
        &self.csrf_token
    }
}

pub async fn save_configuration(
    state: web::Data<AppState>,
    Developer(who): Developer,
    meta: RequestMeta,
    target: ChannelTarget,
    CsrfForm(input): CsrfForm<ConfigureInput>,
) -> Result<HttpResponse, AppError> {
    let MerchantUser { user, merchant } = &who;
    let and_test: Option<Environment> = input.and_test.as_deref().map(str::parse).transpose()?;
    let (sandbox, production) = (&input.sandbox_url, &input.production_url);
    let judged = JudgedUrls::of(sandbox, production, &state.settings, merchant.id).await;
    let scope = Scope::own(merchant, user.role);
    if judged.has_errors() {
        let page = ConfigurePage::new(
            user,
            scope,
            target,
            typed_form(&input, &judged, input.version),
            None,
        );
        return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let update = ChannelUpdate {
        merchant_id: merchant.id,
        section: target.section.code,
        channel: target.channel.code,
        expected_version: input.version,
        sandbox_url: judged.sandbox_url(),
        production_url: judged.production_url(),
    };
    let actor = user.actor(&meta);
    let names: [&dyn std::fmt::Display; 2] = [&target.channel.name, &target.section.local_title()];
    let saved = match state.saves.save(update, actor.clone()).await? {
        SaveOutcome::Saved { .. } => tf("settings.saved", &names),
        SaveOutcome::Unchanged => tf("settings.unchanged", &names),
        SaveOutcome::Conflict => {
            let (section, channel) = (target.section.code, target.channel.code);
            let current = state.db.channel_setting(merchant.id, section, channel);
            let current = current.await?;
            let form = typed_form(&input, &judged, current.version);
            let page = ConfigurePage::new(user, scope, target, form, Some(current));
            return Ok(render_page(StatusCode::CONFLICT, &page));
        }
    };
    let message = judged.with_warnings(saved);
    let Some(environment) = and_test else {
        let section = crate::paths::section(target.section.code);
        return Ok(redirect_with(&section, &message));
    };
    let signing = crate::notify::Signing::Current;
    let outcome = run_test(&state, merchant.id, target, environment, signing, &actor).await?;
    let answer = TestResultPage::answer(user, target, environment, Some(message), outcome);
    Ok(answer)
}

/// The form again with what was typed and every broken rule beside its field.
fn typed_form(input: &ConfigureInput, judged: &JudgedUrls, version: i64) -> ConfigureForm {
    ConfigureForm::typed(&input.sandbox_url, &input.production_url, judged, version)
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
