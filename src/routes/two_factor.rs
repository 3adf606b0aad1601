//! `/account/two-factor`: one's own two-factor sign-in. Setting it up asks for the password;
//! turning it off or replacing the recovery codes asks for the password and a code. (A team's
//! owners require it of their team on the team page.)

use std::net::IpAddr;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::auth::reauth::{Reauth, confirm_password};
use crate::auth::two_factor::{self, Asker, CodeCheck, Confirmed, TurnOff};
use crate::auth::{self, CsrfForm, CurrentUser, RequestMeta};
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::t;
use crate::pages::two_factor::{
    RecoveryCodesPage, SetupPage, TwoFactorErrors, TwoFactorForm, TwoFactorPage,
};
use crate::pages::{Layout, render_page, see_other};
use crate::paths;
use crate::state::AppState;
use crate::store::Actor;
use crate::store::users::AccountContact;

crate::csrf_form!(PasswordForm { password });
crate::csrf_form!(CodeForm { code });
crate::csrf_form!(PasswordAndCodeForm { password, code });

async fn status_page(
    state: &AppState,
    user: &CurrentUser,
    errors: TwoFactorErrors,
) -> Result<HttpResponse, AppError> {
    let codes_left = if user.two_factor {
        state.db.recovery_codes_left(user.id).await?
    } else {
        0
    };
    let required_because = user.two_factor_required.then_some(if user.role.is_staff() {
        "two_factor.required_admin"
    } else {
        "two_factor.required_team"
    });
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = TwoFactorPage {
        layout: Layout::for_user(t("nav.two_factor"), user),
        on: user.two_factor,
        codes_left,
        required_because,
        errors,
    };
    Ok(render_page(status, &page))
}

pub async fn two_factor_page(
    state: web::Data<AppState>,
    user: CurrentUser,
) -> Result<HttpResponse, AppError> {
    status_page(&state, &user, TwoFactorErrors::default()).await
}

fn refused_password(refused: Reauth) -> &'static str {
    match refused {
        Reauth::Wrong => t("password.current_wrong"),
        Reauth::LockedOut { .. } => t("keys.locked_out"),
        Reauth::Busy => t("password.busy"),
    }
}

/// The signed-in user as a two-factor change names them: their account (for the notice) and
/// the audit actor.
struct Owner {
    account: AccountContact,
    actor: Actor,
    client_ip: Option<IpAddr>,
}

impl Owner {
    async fn of(
        state: &AppState,
        user: &CurrentUser,
        meta: &RequestMeta,
    ) -> Result<Self, AppError> {
        // Gone only if deleted under them.
        let account = state.db.account_contact(user.id).await?;
        Ok(Self {
            account: account.ok_or(AppError::SignInRequired(None))?,
            actor: user.actor(meta),
            client_ip: meta.client_ip,
        })
    }

    fn asker(&self) -> Asker<'_> {
        Asker {
            account: &self.account,
            actor: &self.actor,
            client_ip: self.client_ip,
        }
    }
}

/// A new secret to scan, after the password.
pub async fn begin_setup(
    state: web::Data<AppState>,
    user: CurrentUser,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<HttpResponse, AppError> {
    if user.two_factor {
        return Ok(see_other(paths::TWO_FACTOR));
    }
    if let Err(refused) = confirm_password(&state, &user, form.password).await? {
        let errors = TwoFactorErrors {
            form: TwoFactorForm::Setup,
            password: Some(refused_password(refused)),
            ..TwoFactorErrors::default()
        };
        return status_page(&state, &user, errors).await;
    }
    let email = user.email.to_string();
    let Some(setup) = two_factor::begin_setup(&state, user.id, &email).await? else {
        return Ok(see_other(paths::TWO_FACTOR));
    };
    user.session
        .insert(auth::keys::TWO_FACTOR_SETUP, setup.started)
        .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
    let page = SetupPage {
        layout: Layout::for_user(t("two_factor.set_up"), &user),
        setup,
        error: None,
    };
    Ok(render_page(StatusCode::OK, &page))
}

/// The first code of the new secret turns two-factor on: this session carries on, every other
/// one ends, and the recovery codes are shown once. A wrong code shows the secret again only
/// to the session that typed the password for it, for ten minutes; otherwise the password is
/// asked again.
pub async fn confirm(
    state: web::Data<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<HttpResponse, AppError> {
    let owner = Owner::of(&state, &user, &meta).await?;
    let started = user
        .session
        .get::<i64>(auth::keys::TWO_FACTOR_SETUP)
        .ok()
        .flatten();
    match two_factor::confirm(&state, &owner.asker(), &form.code, started).await? {
        Confirmed::On { codes, epoch } => {
            user.session.remove(auth::keys::TWO_FACTOR_SETUP);
            user.session.renew();
            user.session
                .insert(auth::keys::EPOCH, epoch)
                .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
            let layout = Layout::for_user(t("two_factor.codes_title"), &user);
            // Set up at a first sign-in, there were no other sessions to sign out.
            let said = if user.must_enrol() {
                t("two_factor.now_on_first")
            } else {
                t("two_factor.now_on")
            };
            let page = RecoveryCodesPage::new(layout, codes, user.email.as_str(), Some(said));
            Ok(render_page(StatusCode::OK, &page))
        }
        Confirmed::Wrong(setup) => {
            let page = SetupPage {
                layout: Layout::for_user(t("two_factor.set_up"), &user),
                setup,
                error: Some(t("two_factor.setup_code_wrong")),
            };
            Ok(render_page(StatusCode::UNPROCESSABLE_ENTITY, &page))
        }
        Confirmed::NoSetup => Ok(see_other(paths::TWO_FACTOR)),
    }
}

/// The password, then a code (the authenticator's or a recovery code): what a change to
/// two-factor asks for. The change's owner when both were right; else the page saying which
/// was wrong, beside the form `which`.
async fn checked_owner(
    state: &AppState,
    user: &CurrentUser,
    meta: &RequestMeta,
    form: &PasswordAndCodeForm,
    which: TwoFactorForm,
) -> Result<Result<Owner, HttpResponse>, AppError> {
    let mut errors = TwoFactorErrors {
        form: which,
        ..TwoFactorErrors::default()
    };
    let owner = Owner::of(state, user, meta).await?;
    if let Err(refused) = confirm_password(state, user, form.password.clone()).await? {
        errors.password = Some(refused_password(refused));
    } else {
        errors.code = match two_factor::check_code(state, &owner.asker(), &form.code).await? {
            CodeCheck::Totp | CodeCheck::Recovery => return Ok(Ok(owner)),
            CodeCheck::Wrong => Some(t("two_factor.code_wrong")),
            CodeCheck::TooMany => Some(t("two_factor.code_too_many")),
        };
    }
    Ok(Err(status_page(state, user, errors).await?))
}

pub async fn disable(
    state: web::Data<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<PasswordAndCodeForm>,
) -> Result<HttpResponse, AppError> {
    if !user.two_factor {
        return Ok(see_other(paths::TWO_FACTOR));
    }
    let which = TwoFactorForm::Disable;
    let owner = match checked_owner(&state, &user, &meta, &form, which).await? {
        Ok(owner) => owner,
        Err(refused) => return Ok(refused),
    };
    two_factor::turn_off(&state, &owner.asker(), TurnOff::ByOwner).await?;
    Ok(redirect_with(paths::TWO_FACTOR, t("two_factor.turned_off")))
}

pub async fn replace_recovery_codes(
    state: web::Data<AppState>,
    user: CurrentUser,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<PasswordAndCodeForm>,
) -> Result<HttpResponse, AppError> {
    if !user.two_factor {
        return Ok(see_other(paths::TWO_FACTOR));
    }
    let which = TwoFactorForm::RecoveryCodes;
    let owner = match checked_owner(&state, &user, &meta, &form, which).await? {
        Ok(owner) => owner,
        Err(refused) => return Ok(refused),
    };
    let Some(codes) = two_factor::replace_recovery_codes(&state, &owner.asker()).await? else {
        return Ok(see_other(paths::TWO_FACTOR));
    };
    let layout = Layout::for_user(t("two_factor.codes_title"), &user);
    let page = RecoveryCodesPage::new(layout, codes, user.email.as_str(), None);
    Ok(render_page(StatusCode::OK, &page))
}
