//! `/settings/team`: every member sees the team and the invitations out; owners invite by email,
//! change roles, remove members, revoke invitations and require two-factor of everyone. Another
//! team's member or invitation is 404.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::auth::{CsrfForm, EmptyForm, Member, MerchantUser, Owner, RequestMeta};
use crate::domain::Role;
use crate::error::AppError;
use crate::flash::redirect_with;
use crate::i18n::{t, tf};
use crate::pages::team::{InviteForm, TeamPage};
use crate::pages::{Layout, render_page, see_other};
use crate::paths;
use crate::state::AppState;
use crate::store::now_ms;
use crate::store::teams::Revoked;
use crate::teams::{self, Inviter, MemberUpdate, TeamRefusal};

crate::csrf_form!(NewInvitation { email, role });
crate::csrf_form!(RoleForm { role });
crate::csrf_form!(TeamRuleForm { required });

/// The team page as `who` sees it, with `error` over the page and the invite form's input.
async fn team_page(
    state: &AppState,
    who: &MerchantUser,
    error: Option<TeamRefusal>,
    form: InviteForm,
) -> Result<HttpResponse, AppError> {
    let merchant_id = who.merchant.id;
    let page = TeamPage {
        layout: Layout::for_user(t("nav.team"), &who.user),
        me: who.user.id,
        is_owner: who.user.role == Role::Owner,
        two_factor_required: who.user.two_factor_required,
        members: state.db.team_members(merchant_id).await?,
        invitations: state.db.pending_invitations(merchant_id, now_ms()).await?,
        error: error.map(TeamRefusal::message),
        error_field: error.map_or("", TeamRefusal::field),
        form,
    };
    let status = match error {
        Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
        None => StatusCode::OK,
    };
    Ok(render_page(status, &page))
}

pub async fn team(
    state: web::Data<AppState>,
    Member(who): Member,
) -> Result<HttpResponse, AppError> {
    team_page(&state, &who, None, InviteForm::default()).await
}

pub async fn invite(
    state: web::Data<AppState>,
    Owner(who): Owner,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<NewInvitation>,
) -> Result<HttpResponse, AppError> {
    let typed = InviteForm {
        email: form.email.trim().to_owned(),
        role: form.role.clone(),
    };
    let role = match teams::team_role(&form.role) {
        Ok(role) => role,
        Err(refusal) => return team_page(&state, &who, Some(refusal), typed).await,
    };
    let actor = who.user.actor(&meta);
    let inviter = Inviter {
        merchant_id: who.merchant.id,
        merchant_name: &who.merchant.name,
        actor: &actor,
        client_ip: meta.client_ip,
    };
    match teams::invite(&state, &inviter, &form.email, role).await? {
        Ok(()) => Ok(redirect_with(
            paths::TEAM,
            &tf("team.invited", &[&typed.email]),
        )),
        Err(refusal) => team_page(&state, &who, Some(refusal), typed).await,
    }
}

/// The id in a member's or an invitation's path; anything else is no such thing.
fn id_of(path: &str) -> Result<i64, AppError> {
    path.parse().map_err(|_| AppError::NotFound)
}

pub async fn change_role(
    state: web::Data<AppState>,
    Owner(who): Owner,
    meta: RequestMeta,
    path: web::Path<String>,
    CsrfForm(form): CsrfForm<RoleForm>,
) -> Result<HttpResponse, AppError> {
    let member_id = id_of(&path)?;
    let role = match teams::team_role(&form.role) {
        Ok(role) => role,
        Err(refusal) => {
            return team_page(&state, &who, Some(refusal), InviteForm::default()).await;
        }
    };
    answer(&state, &who, &meta, member_id, Some(role)).await
}

/// Removes a member, or (their own id) takes the owner off the team.
pub async fn remove_member(
    state: web::Data<AppState>,
    Owner(who): Owner,
    meta: RequestMeta,
    path: web::Path<String>,
    _form: CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    answer(&state, &who, &meta, id_of(&path)?, None).await
}

/// Gives member `member_id` `role`, or removes them (`None`), and answers: back to the team page
/// naming the member (or, for an owner who left, signed out), the page with the broken rule, or
/// 404 for no such member of this team.
async fn answer(
    state: &AppState,
    who: &MerchantUser,
    meta: &RequestMeta,
    member_id: i64,
    role: Option<Role>,
) -> Result<HttpResponse, AppError> {
    let actor = who.user.actor(meta);
    let update = MemberUpdate {
        merchant_id: who.merchant.id,
        merchant_name: &who.merchant.name,
        by_id: who.user.id,
        actor: &actor,
        member_id,
        role,
    };
    match teams::change_member(state, &update).await? {
        // Leaving: this session ended with the others.
        Ok(_) if member_id == who.user.id => Ok(see_other(paths::SIGNED_OUT)),
        Ok(member) => {
            let done = match role {
                Some(_) => "team.role_changed",
                None => "team.removed",
            };
            Ok(redirect_with(paths::TEAM, &tf(done, &[&member.email])))
        }
        Err(Some(refusal)) => team_page(state, who, Some(refusal), InviteForm::default()).await,
        Err(None) => Err(AppError::NotFound),
    }
}

pub async fn revoke_invitation(
    state: web::Data<AppState>,
    Owner(who): Owner,
    meta: RequestMeta,
    path: web::Path<String>,
    _form: CsrfForm<EmptyForm>,
) -> Result<HttpResponse, AppError> {
    let id = id_of(&path)?;
    let actor = who.user.actor(&meta);
    let message = match state
        .db
        .revoke_invitation(who.merchant.id, id, &actor)
        .await?
    {
        Revoked::Done => t("team.invitation_revoked"),
        Revoked::NotPending => t("team.invitation_not_pending"),
        Revoked::NotFound => return Err(AppError::NotFound),
    };
    Ok(redirect_with(paths::TEAM, message))
}

/// Requires two-factor of every member, or stops requiring it. Only an owner who has it on may
/// require it: nobody sets a rule they do not follow.
pub async fn set_two_factor_rule(
    state: web::Data<AppState>,
    Owner(who): Owner,
    meta: RequestMeta,
    CsrfForm(form): CsrfForm<TeamRuleForm>,
) -> Result<HttpResponse, AppError> {
    let required = !form.required.is_empty();
    if required && !who.user.two_factor {
        let refusal = Some(TeamRefusal::TwoFactorNotOn);
        return team_page(&state, &who, refusal, InviteForm::default()).await;
    }
    if required == who.user.two_factor_required {
        return Ok(redirect_with(paths::TEAM, t("two_factor.team_unchanged")));
    }
    let actor = who.user.actor(&meta);
    state
        .db
        .set_merchant_two_factor_rule(who.merchant.id, required, &actor)
        .await?;
    let saved = if required {
        "two_factor.team_now_required"
    } else {
        "two_factor.team_now_optional"
    };
    Ok(redirect_with(paths::TEAM, t(saved)))
}
