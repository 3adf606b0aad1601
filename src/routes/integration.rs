//! Integration > API keys: each environment's Client-Id and secret key; reveal with the
//! password, rotate (now, or scheduled with an overlap: both secrets work until the new one
//! takes over) with an audit event. A secret only ever appears in the answer to one of
//! those two POSTs, never in a redirect, a flash message, a log line or an audit event.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::api_keys::{self, ApiKey};
use crate::auth::reauth::{Reauth, confirm_password};
use crate::auth::{CsrfForm, Developer, Member, MerchantUser, RequestMeta};
use crate::domain::Environment;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::t;
use crate::pages::integration::{ApiKeysPage, KeyRow, ShownSecret};
use crate::pages::{Layout, render_page};
use crate::paths;
use crate::state::AppState;
use crate::store::api_keys::secret_field;
use crate::store::{Actor, AuditAction, AuditRecord};

crate::csrf_form!(
    /// Reveal and rotate both ask for the user's password again. A reveal without an
    /// environment shows both secrets; a rotation names its environment and says `when`:
    /// `now` (the default) or in how many hours.
    KeyInput { environment, password, when }
);

crate::csrf_form!(
    /// Cancelling a scheduled rotation names the environment.
    CancelInput { environment }
);

pub async fn api_keys_page(
    state: web::Data<AppState>,
    Member(merchant_user): Member,
    meta: RequestMeta,
) -> Result<HttpResponse, AppError> {
    let actor = merchant_user.user.actor(&meta);
    render(
        &state,
        &merchant_user,
        &actor,
        StatusCode::OK,
        Vec::new(),
        None,
    )
    .await
}

pub async fn reveal_secret(
    state: web::Data<AppState>,
    Developer(merchant_user): Developer,
    meta: RequestMeta,
    CsrfForm(input): CsrfForm<KeyInput>,
) -> Result<HttpResponse, AppError> {
    let environments = match input.environment.as_str() {
        "" => Environment::ALL.to_vec(),
        one => vec![one.parse::<Environment>()?],
    };
    let MerchantUser { user, merchant } = &merchant_user;
    let actor = user.actor(&meta);
    let refused = AuditAction::ApiKeyRevealFailed;
    let field = (environments.len() == 1).then(|| secret_field(environments[0]));
    if let Some((status, message)) = refuse_password(
        &state,
        &merchant_user,
        &actor,
        field,
        input.password,
        refused,
    )
    .await?
    {
        return refuse(&state, &merchant_user, &actor, (status, message)).await;
    }
    let mut shown_secrets = Vec::with_capacity(environments.len());
    for environment in environments {
        let record = AuditRecord {
            merchant_id: Some(merchant.id),
            field: Some(secret_field(environment)),
            ..AuditRecord::of(AuditAction::ApiKeyReveal)
        };
        state.db.record_audit(&actor, &record).await?;
        let key = api_keys::ensure(
            &state.db,
            &state.settings.secret_box,
            merchant.id,
            environment,
            &actor,
        )
        .await?;
        shown_secrets.push(shown(&key, false));
    }
    render(
        &state,
        &merchant_user,
        &actor,
        StatusCode::OK,
        shown_secrets,
        None,
    )
    .await
}

pub async fn rotate_secret(
    state: web::Data<AppState>,
    Developer(merchant_user): Developer,
    meta: RequestMeta,
    CsrfForm(input): CsrfForm<KeyInput>,
) -> Result<HttpResponse, AppError> {
    let environment: Environment = input.environment.parse()?;
    let delay = match input.when.as_str() {
        "" | "now" => None,
        hours => Some(
            hours
                .parse::<i64>()
                .ok()
                .filter(|h| api_keys::ROTATION_DELAYS_HOURS.contains(h))
                .ok_or_else(|| AppError::BadRequest(t("keys.rule_when").to_owned()))?,
        ),
    };
    let MerchantUser { user, merchant } = &merchant_user;
    let actor = user.actor(&meta);
    let refused = AuditAction::ApiKeyRotateFailed;
    let field = Some(secret_field(environment));
    if let Some((status, message)) = refuse_password(
        &state,
        &merchant_user,
        &actor,
        field,
        input.password,
        refused,
    )
    .await?
    {
        return refuse(&state, &merchant_user, &actor, (status, message)).await;
    }
    if let Some(hours) = delay {
        let owner = (merchant.id, merchant.name.as_str());
        let settings = &state.settings;
        let scheduled =
            api_keys::schedule_rotation(&state.db, settings, owner, environment, hours, &actor);
        let Some(key) = scheduled.await? else {
            let (status, message) = (StatusCode::CONFLICT, t("keys.already_scheduled"));
            return refuse(&state, &merchant_user, &actor, (status, message)).await;
        };
        state.mail.wake();
        tracing::info!(merchant = %merchant.code, %environment, hours, "rotation scheduled");
        let shown = vec![shown(&key, true)];
        return render(&state, &merchant_user, &actor, StatusCode::OK, shown, None).await;
    }
    // A scheduled secret the merchant may be using already is not dropped without a word.
    let current = api_keys::find(
        &state.db,
        &state.settings.secret_box,
        merchant.id,
        environment,
    );
    if current.await?.is_some_and(|key| key.next.is_some()) {
        let (status, message) = (StatusCode::CONFLICT, t("keys.already_scheduled"));
        return refuse(&state, &merchant_user, &actor, (status, message)).await;
    }
    let key = api_keys::rotate(
        &state.db,
        &state.settings.secret_box,
        merchant.id,
        environment,
        &actor,
    )
    .await?;
    tracing::info!(merchant = %merchant.code, %environment, "API secret key rotated");
    let shown = vec![shown(&key, true)];
    render(&state, &merchant_user, &actor, StatusCode::OK, shown, None).await
}

pub async fn cancel_rotation(
    state: web::Data<AppState>,
    Developer(MerchantUser { user, merchant }): Developer,
    meta: RequestMeta,
    CsrfForm(input): CsrfForm<CancelInput>,
) -> Result<HttpResponse, AppError> {
    let environment: Environment = input.environment.parse()?;
    let actor = user.actor(&meta);
    let owner = (merchant.id, merchant.name.as_str());
    let cancelled =
        api_keys::cancel_rotation(&state.db, &state.settings, owner, environment, &actor).await?;
    let message = if cancelled {
        state.mail.wake();
        t("keys.rotation_cancelled")
    } else {
        t("keys.nothing_to_cancel")
    };
    Ok(redirect_with(paths::API_KEYS, message))
}

/// Checks the password typed again before a secret is shown or replaced; `Some` is the
/// refusal to show, audited as `refused` (a lockout once per window).
async fn refuse_password(
    state: &AppState,
    MerchantUser { user, merchant }: &MerchantUser,
    actor: &Actor,
    field: Option<&'static str>,
    typed: String,
    refused: AuditAction,
) -> Result<Option<(StatusCode, &'static str)>, AppError> {
    let Err(reason) = confirm_password(state, user, typed).await? else {
        return Ok(None);
    };
    if reason.audited() {
        let record = AuditRecord {
            merchant_id: Some(merchant.id),
            field,
            ..AuditRecord::of(refused)
        };
        state.db.record_audit(actor, &record).await?;
    }
    Ok(Some(match reason {
        Reauth::Wrong => (StatusCode::UNPROCESSABLE_ENTITY, t("keys.wrong_password")),
        Reauth::LockedOut { .. } => (StatusCode::TOO_MANY_REQUESTS, t("keys.locked_out")),
        Reauth::Busy => (StatusCode::TOO_MANY_REQUESTS, t("password.busy")),
    }))
}

fn title(environment: Environment) -> &'static str {
    match environment {
        Environment::Sandbox => t("common.sandbox"),
        Environment::Production => t("common.production"),
    }
}

/// The secret to show: after a rotation was just scheduled, its new one with its time; else
/// the one that signs now.
fn shown(key: &ApiKey, just_rotated: bool) -> ShownSecret {
    let next = key.next.as_ref().filter(|_| just_rotated);
    let secret = next.map_or(&key.secret, |next| &next.secret);
    ShownSecret {
        environment: key.environment,
        secret: secret.expose().to_owned(),
        just_rotated,
        takes_over: next.map(|next| next.takes_over_at),
    }
}

/// The page again with `message` above it, answered with `status`; no secret shown.
async fn refuse(
    state: &AppState,
    merchant_user: &MerchantUser,
    actor: &Actor,
    (status, message): (StatusCode, &'static str),
) -> Result<HttpResponse, AppError> {
    render(
        state,
        merchant_user,
        actor,
        status,
        Vec::new(),
        Some(message),
    )
    .await
}

async fn render(
    state: &AppState,
    merchant_user: &MerchantUser,
    actor: &Actor,
    status: StatusCode,
    mut shown: Vec<ShownSecret>,
    error: Option<&'static str>,
) -> Result<HttpResponse, AppError> {
    let mut keys = Vec::new();
    for &environment in Environment::ALL {
        let key = api_keys::ensure(
            &state.db,
            &state.settings.secret_box,
            merchant_user.merchant.id,
            environment,
            actor,
        )
        .await?;
        let shown = shown
            .iter()
            .position(|s| s.environment == environment)
            .map(|i| shown.swap_remove(i));
        keys.push(KeyRow {
            environment,
            title: title(environment),
            client_id: key.client_id,
            created: key.created_at,
            rotated: key.rotated_at,
            scheduled: key.next.as_ref().map(|next| next.takes_over_at),
            shown,
        });
    }
    let page = ApiKeysPage {
        layout: Layout::for_user(t("nav.api_keys"), &merchant_user.user),
        keys,
        error,
        may_change: merchant_user.user.role.may_change_settings(),
    };
    Ok(render_page(status, &page))
}
