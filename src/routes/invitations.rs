//! `/invitations/{token}`: an invitation's link. While it works it shows the team, the role and
//! who invited, and a form to choose a password; joining creates the account (or gives a removed
//! member's back), signs it in and lands on Payment Settings. An address that belongs to
//! another team is refused without naming it.

use actix_session::Session;
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::RequestMeta;
use crate::auth::link_token::LinkToken;
use crate::auth::login_csrf::{self, SignInForm};
use crate::auth::start_session;
use crate::error::AppError;
use crate::i18n::{Lang, t};
use crate::pages::account::PasswordErrors;
use crate::pages::invitations::{InvitationGonePage, InvitationPage};
use crate::pages::{Layout, origin_referrer_only, render_page, see_other, with_cookie};
use crate::paths;
use crate::state::AppState;
use crate::store::teams::{Accepted, InvitationView};
use crate::teams::{self, Invitee};

crate::csrf_form!(JoinForm {
    new_password,
    confirm_password
});

pub async fn invitation_page(
    state: web::Data<AppState>,
    req: HttpRequest,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let Some((token, invitation)) = working(&state, &path).await? else {
        return Ok(gone());
    };
    let invitee = teams::invitee(&state, &invitation).await?;
    let (csrf, cookie) = login_csrf::token_for(&req, &state.settings);
    let page = page(&token, invitation, invitee, csrf, PasswordErrors::default());
    let status = status_of(invitee);
    Ok(origin_referrer_only(with_cookie(
        render_page(status, &page),
        cookie,
    )))
}

pub async fn join(
    state: web::Data<AppState>,
    session: Session,
    meta: RequestMeta,
    path: web::Path<String>,
    SignInForm(form): SignInForm<JoinForm>,
) -> Result<HttpResponse, AppError> {
    let Some((token, invitation)) = working(&state, &path).await? else {
        return Ok(gone());
    };
    let invitee = teams::invitee(&state, &invitation).await?;
    let csrf = form.csrf_token.clone();
    if !matches!(invitee, Invitee::New | Invitee::Returning) {
        let page = page(&token, invitation, invitee, csrf, PasswordErrors::default());
        return Ok(origin_referrer_only(render_page(status_of(invitee), &page)));
    }
    let mut errors = PasswordErrors::default();
    errors.check_new(&form.new_password, &form.confirm_password);
    if !errors.is_empty() {
        let page = page(&token, invitation, invitee, csrf, errors);
        return Ok(origin_referrer_only(render_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &page,
        )));
    }
    let password = form.new_password.clone();
    match teams::accept(&state, &token, password, meta.client_ip).await? {
        Accepted::Joined { user_id, epoch } => {
            start_session(&session, user_id, epoch)
                .map_err(|e| anyhow::anyhow!("writing the session: {e}"))?;
            // The page was read in this language: the member's emails follow it.
            let language = Lang::current().code();
            if let Err(error) = state.db.set_user_language(user_id, language).await {
                tracing::warn!(%error, "noting a new member's language");
            }
            Ok(with_cookie(
                see_other(paths::PAYMENT_SETTINGS),
                Some(login_csrf::removal(&state.settings)),
            ))
        }
        Accepted::Gone => Ok(gone()),
        Accepted::AddressTaken => {
            let page = page(&token, invitation, Invitee::Elsewhere, csrf, errors);
            Ok(origin_referrer_only(render_page(
                StatusCode::CONFLICT,
                &page,
            )))
        }
    }
}

/// The token of `text` and its invitation, while the link works.
async fn working(
    state: &AppState,
    text: &str,
) -> Result<Option<(LinkToken, InvitationView)>, AppError> {
    let Some(token) = LinkToken::from_link(text) else {
        return Ok(None);
    };
    let invitation = teams::working_invitation(state, &token).await?;
    Ok(invitation.map(|invitation| (token, invitation)))
}

/// 409 for an address that cannot join (it is on a team already), else 200.
fn status_of(invitee: Invitee) -> StatusCode {
    match invitee {
        Invitee::New | Invitee::Returning => StatusCode::OK,
        Invitee::AlreadyHere | Invitee::Elsewhere => StatusCode::CONFLICT,
    }
}

fn page(
    token: &LinkToken,
    invitation: InvitationView,
    invitee: Invitee,
    csrf_token: String,
    errors: PasswordErrors,
) -> InvitationPage {
    InvitationPage {
        layout: Layout {
            csrf_token,
            ..Layout::anonymous(t("invitation.page_title"))
        },
        action: paths::invitation(token.as_str()),
        merchant_name: invitation.merchant_name,
        role: t(invitation.role.label_key()),
        invited_by: invitation.invited_by.unwrap_or_default(),
        email: invitation.email.to_string(),
        invitee,
        errors,
    }
}

/// A used, revoked, replaced, expired or made-up link: 410.
fn gone() -> HttpResponse {
    let page = InvitationGonePage {
        layout: Layout::anonymous(t("invitation.gone_title")),
    };
    origin_referrer_only(render_page(StatusCode::GONE, &page))
}
