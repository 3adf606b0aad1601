//! A signed-in user's own account: changing one's password ends every other session; an
//! owner or developer turns the failure emails on or off.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::auth::reauth::{Reauth, confirm_password};
use crate::auth::{self, CsrfForm, CurrentUser, Developer, MerchantUser, RequestMeta};
use crate::domain::TimeZone;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::t;
use crate::pages::account::{PasswordErrors, PasswordPage};
use crate::pages::{Layout, render_page};
use crate::paths;
use crate::state::AppState;
use crate::store::{AuditAction, AuditRecord};

crate::csrf_form!(PasswordForm {
    current_password,
    new_password,
    confirm_password
});

crate::csrf_form!(
    /// The failure emails' checkbox: `on` when ticked, absent when not.
    AlertsForm { failure_alerts }
);

crate::csrf_form!(
    /// The zone to show times in: `WIB`, `WITA`, `WIT` or `UTC`.
    TimeZoneForm { time_zone }
);

pub async fn password_form(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let page = PasswordPage {
        failure_alerts: failure_alerts(&state, &user).await?,
        layout: Layout::for_user(t("nav.change_password"), &user),
        time_zone: user.time_zone,
        errors: PasswordErrors::default(),
        must_change: user.must_change_password,
    };
    Ok(render_page(StatusCode::OK, &page))
}

/// The user's failure-email choice, when they are one who gets those emails.
async fn failure_alerts(state: &AppState, user: &CurrentUser) -> Result<Option<bool>, AppError> {
    if !user.role.may_change_settings() || user.merchant.is_none() {
        return Ok(None);
    }
    Ok(Some(state.db.failure_alerts(user.id).await?))
}

pub async fn set_failure_alerts(
    state: web::Data<AppState>,
    Developer(MerchantUser { user, merchant }): Developer,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<AlertsForm>,
) -> Result<HttpResponse, AppError> {
    let on = match form.failure_alerts.as_str() {
        "" => false,
        "on" => true,
        _ => return Err(AppError::BadRequest(t("account.alerts_choose").to_owned())),
    };
    let actor = user.actor(&meta);
    state
        .db
        .set_failure_alerts(user.id, merchant.id, on, &actor)
        .await?;
    let message = if on {
        t("account.alerts_on")
    } else {
        t("account.alerts_off")
    };
    Ok(redirect_with(paths::ACCOUNT_PASSWORD, message))
}

/// Times on every page are shown in the chosen zone from the next page on.
pub async fn set_time_zone(
    state: web::Data<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<TimeZoneForm>,
) -> Result<HttpResponse, AppError> {
    let zone: TimeZone = form
        .time_zone
        .parse()
        .map_err(|_| AppError::BadRequest(t("account.zone_choose").to_owned()))?;
    let merchant = user.merchant.as_ref().map(|m| m.id);
    let actor = user.actor(&meta);
    state
        .db
        .set_time_zone((user.id, merchant), zone, &actor)
        .await?;
    let message = crate::i18n::tf("account.zone_saved", &[&t(zone.label_key())]);
    Ok(redirect_with(paths::ACCOUNT_PASSWORD, &message))
}

pub async fn change_password(
    state: web::Data<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    let mut errors = PasswordErrors::default();
    let current = form.current_password.clone();
    if let Err(refused) = confirm_password(&state, &user, current).await? {
        errors.current.push(match refused {
            Reauth::Wrong => t("password.current_wrong"),
            Reauth::LockedOut { .. } => t("keys.locked_out"),
            Reauth::Busy => t("password.busy"),
        });
        if refused.audited() {
            let record = AuditRecord {
                merchant_id: user.merchant.as_ref().map(|m| m.id),
                ..AuditRecord::of(AuditAction::PasswordChangeFailed)
            };
            state.db.record_audit(&user.actor(&meta), &record).await?;
        }
    }
    errors.check_new(&form.new_password, &form.confirm_password);
    if form.new_password == form.current_password {
        errors.new.push(t("password.same"));
    }
    if !errors.is_empty() {
        let page = PasswordPage {
            failure_alerts: failure_alerts(&state, &user).await?,
            layout: Layout::for_user(t("nav.change_password"), &user),
            time_zone: user.time_zone,
            errors,
            must_change: user.must_change_password,
        };
        return Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page));
    }
    let hash = state.hasher.hash(form.new_password).await?;
    let by = Some((&user.actor(&meta), AuditAction::PasswordChange));
    let epoch = state
        .db
        .set_password_hash(user.id, &hash, false, by)
        .await?;
    // Every session of this user is gone; this one carries on under a new id and epoch.
    user.session.renew();
    user.session
        .insert(auth::keys::EPOCH, epoch)
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    // A one-time password's first sign-in had no other sessions to sign out.
    let (next, said) = if user.must_change_password {
        (auth::landing(user.role), t("password.chosen"))
    } else {
        (paths::ACCOUNT_PASSWORD, t("password.changed"))
    };
    Ok(redirect_with(next, said))
}
