//! Settings > Payment Settings > a section > Apply to all channels: one URL pair, judged by the
//! same policy as a CONFIGURE save, reviewed channel by channel, then saved to every channel of
//! the section as one change (one transaction, the audit events of a save per channel
//! changed). Owners and developers only.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::{CsrfForm, Developer, MerchantUser, RequestMeta, Scope};
use crate::catalog::Section;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{t, tf};
use crate::pages::apply_section::{ApplyPlan, ApplyReviewPage, parse_versions};
use crate::pages::settings::{ChannelRow, ConfigureForm, SectionPage};
use crate::pages::{Layout, render_page};
use crate::state::AppState;
use crate::store::{Actor, ChannelSetting, ChannelUpdate, SaveOutcome};
use crate::url_field::JudgedUrls;

crate::csrf_form!(
    /// The URL pair typed on the section page.
    PairInput { sandbox_url, production_url }
);

crate::csrf_form!(
    /// The reviewed pair, with the version of each channel the review was read at.
    ConfirmInput { sandbox_url, production_url, versions }
);

/// The apply form on its own page, prefilled from a channel with `?copy_from=CHANNEL`.
pub async fn apply_form(
    state: web::Data<AppState>,
    Developer(merchant_user): Developer,
    path: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let section = section_of(&path)?;
    let MerchantUser { user, merchant } = &merchant_user;
    let stored = state.db.section_settings(merchant.id, section.code);
    let rows = ChannelRow::for_section(section, stored.await?);
    let scope = Scope::own(merchant, user.role);
    let mut page = SectionPage::new(user, scope, section, rows).apply_form();
    if let Some(code) = copy_from(req.query_string()) {
        page = page.copying(&code);
    }
    Ok(render_page(StatusCode::OK, &page))
}

/// The `copy_from` query parameter: the channel whose URLs prefill the apply form.
fn copy_from(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "copy_from")
        .map(|(_, value)| value.into_owned())
}

/// Shows what the pair changes on each channel of the section, with the form that confirms it.
pub async fn review(
    state: web::Data<AppState>,
    Developer(who): Developer,
    path: web::Path<String>,
    CsrfForm(input): CsrfForm<PairInput>,
) -> Result<HttpResponse, AppError> {
    let section = section_of(&path)?;
    let (sandbox, production) = (&input.sandbox_url, &input.production_url);
    let judged = JudgedUrls::of(sandbox, production, &state.settings, who.merchant.id).await;
    if judged.has_errors() {
        return refused(&state, &who, section, sandbox, production, &judged).await;
    }
    let stored = state.db.section_settings(who.merchant.id, section.code);
    let stored = stored.await?;
    Ok(review_page(&who, section, &stored, &judged, false))
}

/// Saves the reviewed pair to every channel of the section, or nothing at all.
pub async fn apply(
    state: web::Data<AppState>,
    Developer(who): Developer,
    meta: RequestMeta,
    path: web::Path<String>,
    CsrfForm(input): CsrfForm<ConfirmInput>,
) -> Result<HttpResponse, AppError> {
    let section = section_of(&path)?;
    let versions = parse_versions(section, &input.versions)
        .ok_or_else(|| AppError::BadRequest(t("error.bad_form").to_owned()))?;
    let MerchantUser { user, merchant } = &who;
    let (sandbox, production) = (&input.sandbox_url, &input.production_url);
    let judged = JudgedUrls::of(sandbox, production, &state.settings, merchant.id).await;
    if judged.has_errors() {
        return refused(&state, &who, section, sandbox, production, &judged).await;
    }
    let actor = user.actor(&meta);
    let saves: Vec<(ChannelUpdate, Actor)> = versions
        .into_iter()
        .map(|(channel, version)| {
            let update = ChannelUpdate {
                merchant_id: merchant.id,
                section: section.code,
                channel: channel.code,
                expected_version: version,
                sandbox_url: judged.sandbox_url(),
                production_url: judged.production_url(),
            };
            (update, actor.clone())
        })
        .collect();
    let Some(outcomes) = state.db.save_channels_together(&saves).await? else {
        let stored = state.db.section_settings(merchant.id, section.code);
        let stored = stored.await?;
        return Ok(review_page(&who, section, &stored, &judged, true));
    };
    let changed = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, SaveOutcome::Saved { .. }))
        .count();
    tracing::info!(merchant = %merchant.code, section = section.code, changed, "URL pair applied");
    let title = section.local_title();
    let message = match changed {
        0 => tf("apply.nothing_changed", &[&title]),
        _ => tf("apply.applied", &[&changed, &saves.len(), &title]),
    };
    let location = crate::paths::section(section.code);
    Ok(redirect_with(&location, &judged.with_warnings(message)))
}

/// The section of the path, when one pair can be applied to all its channels.
fn section_of(code: &str) -> Result<&'static Section, AppError> {
    Section::find(code)
        .filter(|section| section.can_apply_to_all())
        .ok_or(AppError::NotFound)
}

/// The section page again, its apply form holding what was posted and every broken rule.
async fn refused(
    state: &AppState,
    MerchantUser { user, merchant }: &MerchantUser,
    section: &'static Section,
    sandbox: &str,
    production: &str,
    judged: &JudgedUrls,
) -> Result<HttpResponse, AppError> {
    let stored = state.db.section_settings(merchant.id, section.code);
    let rows = ChannelRow::for_section(section, stored.await?);
    let scope = Scope::own(merchant, user.role);
    let typed = ConfigureForm::typed(sandbox, production, judged, 0);
    let page = SectionPage::new(user, scope, section, rows).with_apply_form(typed);
    Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page))
}

/// The review of the pair against `stored`; after a `conflict` (409), against what changed.
fn review_page(
    who: &MerchantUser,
    section: &'static Section,
    stored: &[ChannelSetting],
    judged: &JudgedUrls,
    conflict: bool,
) -> HttpResponse {
    let plan = ApplyPlan::new(
        section,
        stored,
        judged.sandbox_url(),
        judged.production_url(),
    );
    let warnings = judged.sandbox.warnings.iter();
    let page = ApplyReviewPage {
        layout: Layout::for_user(t("apply.title"), &who.user),
        plan,
        warnings: warnings
            .chain(&judged.production.warnings)
            .copied()
            .collect(),
        conflict,
    };
    let status = if conflict {
        StatusCode::CONFLICT
    } else {
        StatusCode::OK
    };
    render_page(status, &page)
}
