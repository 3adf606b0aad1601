//! A merchant's team: owners invite people by email (a link that works once, for
//! [`INVITATION_DAYS`]), change their roles and remove them (or leave). The rules every change
//! keeps: nobody changes their own role, and a team never loses its last active owner.

use std::net::IpAddr;

use crate::auth::link_token::LinkToken;
use crate::domain::{EmailAddress, Role};
use crate::error::AppError;
use crate::i18n::{Lang, t};
use crate::mail::compose::{Frame, Invitation, TeamNotice};
use crate::mail::outbox;
use crate::paths;
use crate::state::AppState;
use crate::store::teams::{
    Acceptance, Accepted, InvitationView, MemberChange, NewInvitation, TeamMember,
};
use crate::store::{Actor, now_ms};
use crate::throttle::{self, Verdict};

/// How long an invitation's link works.
pub const INVITATION_DAYS: i64 = 7;
/// Invitations one team may send a day (each sends an email).
pub const INVITATIONS_PER_DAY: i64 = 20;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Why an owner's change to the team was refused, in words for the team page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TeamRefusal {
    InvalidEmail,
    NotATeamRole,
    AlreadyMember,
    TooManyToday,
    TooManyForAddress,
    OwnRole,
    LastOwner,
    /// An owner requiring two-factor of the team without using it.
    TwoFactorNotOn,
}

impl TeamRefusal {
    pub fn message(self) -> &'static str {
        t(match self {
            TeamRefusal::InvalidEmail => "team.invalid_email",
            TeamRefusal::NotATeamRole => "team.invalid_role",
            TeamRefusal::AlreadyMember => "team.already_member",
            TeamRefusal::TooManyToday => "team.too_many_today",
            TeamRefusal::TooManyForAddress => "team.too_many_for_address",
            TeamRefusal::OwnRole => "team.own_role",
            TeamRefusal::LastOwner => "team.last_owner",
            TeamRefusal::TwoFactorNotOn => "two_factor.team_needs_yours",
        })
    }

    /// The form field the refusal is about, for `aria-invalid`.
    pub fn field(self) -> &'static str {
        match self {
            TeamRefusal::InvalidEmail
            | TeamRefusal::AlreadyMember
            | TeamRefusal::TooManyForAddress => "email",
            TeamRefusal::NotATeamRole => "role",
            _ => "",
        }
    }
}

/// A role a team member may be given, from a form's `role` value.
pub fn team_role(text: &str) -> Result<Role, TeamRefusal> {
    text.parse::<Role>()
        .ok()
        .filter(|role| role.is_team())
        .ok_or(TeamRefusal::NotATeamRole)
}

/// Who sends an invitation: the team's merchant, and the person (an owner, or an admin creating
/// the merchant).
pub struct Inviter<'a> {
    pub merchant_id: i64,
    pub merchant_name: &'a str,
    pub actor: &'a Actor,
    pub client_ip: Option<IpAddr>,
}

/// Invites `typed_email` to the team as `role`: a new link (an older one to the same address
/// stops working) emailed in the inviter's language. Refused for a current member, over the
/// team's daily limit, or when one address is asked for too often.
pub async fn invite(
    state: &AppState,
    inviter: &Inviter<'_>,
    typed_email: &str,
    role: Role,
) -> Result<Result<(), TeamRefusal>, AppError> {
    let Ok(email) = EmailAddress::parse(typed_email) else {
        return Ok(Err(TeamRefusal::InvalidEmail));
    };
    if !role.is_team() {
        return Ok(Err(TeamRefusal::NotATeamRole));
    }
    let existing = state.db.existing_account(&email).await?;
    if existing.is_some_and(|a| !a.removed && a.merchant_id == Some(inviter.merchant_id)) {
        return Ok(Err(TeamRefusal::AlreadyMember));
    }
    let since = now_ms() - DAY_MS;
    let sent = state
        .db
        .invitations_sent_since(inviter.merchant_id, since)
        .await?;
    if sent >= INVITATIONS_PER_DAY {
        return Ok(Err(TeamRefusal::TooManyToday));
    }
    // Like reset links: each sends an email, so one address is asked for only so often.
    let key = format!("{}:{}", inviter.merchant_id, email);
    let verdict = state
        .throttle
        .admit(&throttle::INVITATIONS, &key, inviter.client_ip)
        .await?;
    if verdict != Verdict::Allowed {
        return Ok(Err(TeamRefusal::TooManyForAddress));
    }
    let token = LinkToken::new();
    let link = state
        .settings
        .email_link(&paths::invitation(token.as_str()));
    let lang = Lang::current();
    let message = Invitation {
        frame: Frame { lang, to: &email },
        merchant_name: inviter.merchant_name,
        role: lang.t(role.label_key()),
        invited_by: &inviter.actor.email,
        link: &link,
        days: INVITATION_DAYS,
    }
    .write()
    .map_err(anyhow::Error::from)?;
    let message = outbox::seal(&message, &state.settings.secret_box)?;
    let hash = token.hash();
    let invitation = NewInvitation {
        merchant_id: inviter.merchant_id,
        email: &email,
        role,
        token_hash: &hash,
        expires_at: now_ms() + INVITATION_DAYS * DAY_MS,
        message: &message,
    };
    state
        .db
        .create_invitation(&invitation, inviter.actor)
        .await?;
    state.mail.wake();
    Ok(Ok(()))
}

/// The invitation of a link while it works.
pub async fn working_invitation(
    state: &AppState,
    token: &LinkToken,
) -> Result<Option<InvitationView>, AppError> {
    Ok(state.db.working_invitation(&token.hash(), now_ms()).await?)
}

/// Where an invited address stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Invitee {
    /// No account: the invitation's page asks for a password.
    New,
    /// A removed member's account: joining gives it back, with a new password.
    Returning,
    /// Already a member of this team: nothing to accept, sign in.
    AlreadyHere,
    /// An active account elsewhere (another merchant, the gateway's staff): one user, one
    /// merchant, so the invitation cannot be accepted with this address.
    Elsewhere,
}

/// How the invitation's address stands against the accounts there are.
pub async fn invitee(state: &AppState, invitation: &InvitationView) -> Result<Invitee, AppError> {
    let existing = state.db.existing_account(&invitation.email).await?;
    Ok(match existing {
        None => Invitee::New,
        Some(account) if account.removed => Invitee::Returning,
        Some(account) if account.merchant_id == Some(invitation.merchant_id) => {
            Invitee::AlreadyHere
        }
        Some(_) => Invitee::Elsewhere,
    })
}

/// Joins the team with `password` (already checked against the rules), if the link still works.
pub async fn accept(
    state: &AppState,
    token: &LinkToken,
    password: String,
    client_ip: Option<IpAddr>,
) -> Result<Accepted, AppError> {
    let password_hash = state.hasher.hash(password).await?;
    let token_hash = token.hash();
    let acceptance = Acceptance {
        token_hash: &token_hash,
        password_hash: &password_hash,
        client_ip: client_ip.map(|ip| ip.to_string()),
    };
    Ok(state.db.accept_invitation(&acceptance).await?)
}

/// An owner's change to one member: a new role, or removal.
pub struct MemberUpdate<'a> {
    pub merchant_id: i64,
    pub merchant_name: &'a str,
    /// The owner making it.
    pub by_id: i64,
    pub actor: &'a Actor,
    pub member_id: i64,
    /// The new role; `None` removes the member.
    pub role: Option<Role>,
}

/// Applies an owner's change to a member (told by email in their language), or says why not.
/// `Ok(Err(None))`: no such member in this team.
pub async fn change_member(
    state: &AppState,
    update: &MemberUpdate<'_>,
) -> Result<Result<TeamMember, Option<TeamRefusal>>, AppError> {
    let member = state
        .db
        .team_member(update.merchant_id, update.member_id)
        .await?;
    let Some(member) = member else {
        return Ok(Err(None));
    };
    // Leaving the team is removing oneself; one's own role is another owner's call.
    if member.id == update.by_id && update.role.is_some() {
        return Ok(Err(Some(TeamRefusal::OwnRole)));
    }
    let lang = member
        .language
        .as_deref()
        .and_then(Lang::from_code)
        .unwrap_or_default();
    let notice = TeamNotice {
        frame: Frame {
            lang,
            to: &member.email,
        },
        merchant_name: update.merchant_name,
        by: &update.actor.email,
        new_role: update.role.map(|role| lang.t(role.label_key())),
        at: now_ms(),
    }
    .write()
    .map_err(anyhow::Error::from)?;
    let notice = outbox::seal(&notice, &state.settings.secret_box)?;
    let (merchant_id, id, actor) = (update.merchant_id, member.id, update.actor);
    let outcome = match update.role {
        Some(role) => {
            state
                .db
                .change_member_role(merchant_id, id, role, &notice, actor)
                .await?
        }
        None => {
            state
                .db
                .remove_member(merchant_id, id, &notice, actor)
                .await?
        }
    };
    Ok(match outcome {
        MemberChange::Done => {
            state.mail.wake();
            Ok(member)
        }
        MemberChange::Unchanged => Ok(member),
        MemberChange::LastOwner => Err(Some(TeamRefusal::LastOwner)),
        MemberChange::NotFound => Err(None),
    })
}
