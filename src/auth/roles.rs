//! Who may do what, as request extractors: a handler that names `Developer` in its signature
//! cannot run for a viewer. [`Access`] names the same rules for the route table, so every route
//! states its rule where it is registered and the tests can walk them all.

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use futures_util::future::LocalBoxFuture;

use super::{CurrentUser, MerchantRef};
use crate::domain::Role;
use crate::error::AppError;
use crate::i18n::t;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anybody: sign-in, password reset, invitations, health, static files.
    Anyone,
    /// The sandbox payment API's clients (HTTP Basic with a merchant's credentials).
    ApiClient,
    /// Any signed-in user, for their own account.
    SignedIn,
    /// A team member for its own merchant; the gateway's staff read any merchant.
    Readers,
    /// A team member of any role, for its own merchant.
    Members,
    /// Owners and developers, for their own merchant.
    Developers,
    /// A merchant's owners.
    Owners,
    /// The gateway's staff: admins and auditors.
    Staff,
    /// The gateway's admins.
    Admins,
}

impl Access {
    /// Whether a signed-in user of `role` passes this rule.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Anyone | Access::ApiClient | Access::SignedIn | Access::Readers => true,
            Access::Members => role.is_team(),
            Access::Developers => role.may_change_settings(),
            Access::Owners => role == Role::Owner,
            Access::Staff => role.is_staff(),
            Access::Admins => role == Role::Admin,
        }
    }

    /// The status a signed-in user of `role` that this rule refuses gets: 404 for a team member
    /// asking for the gateway's pages (they do not reveal themselves), else 403.
    pub fn refusal_status(self, role: Role) -> u16 {
        match self {
            Access::Staff | Access::Admins if role.is_team() => 404,
            _ => 403,
        }
    }
}

/// A signed-in member of a merchant's team, with its merchant.
#[derive(Clone)]
pub struct MerchantUser {
    pub user: CurrentUser,
    pub merchant: MerchantRef,
}

/// Resolves `user` as a team member whose role passes `allowed`, or the refusal for it.
fn team_member(user: CurrentUser, allowed: fn(Role) -> bool) -> Result<MerchantUser, AppError> {
    match (user.role.is_team(), user.merchant.clone()) {
        (true, Some(merchant)) if allowed(user.role) => Ok(MerchantUser { user, merchant }),
        (true, Some(_)) if user.role == Role::Viewer => {
            Err(AppError::Forbidden(t("error.viewer_read_only")))
        }
        (true, Some(_)) => Err(AppError::Forbidden(t("error.owners_only"))),
        (true, None) => Err(AppError::NotFound),
        (false, _) => Err(AppError::Forbidden(t("error.admin_read_only"))),
    }
}

/// Resolves `user` as the gateway's staff whose role passes `allowed`, or the refusal for it.
fn staff(user: CurrentUser, allowed: fn(Role) -> bool) -> Result<CurrentUser, AppError> {
    if user.role.is_team() {
        return Err(AppError::NotFound);
    }
    if !allowed(user.role) {
        return Err(AppError::Forbidden(t("error.auditor_read_only")));
    }
    Ok(user)
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident($inner:ty), $resolve:ident, $access:expr) => {
        $(#[$doc])*
        #[derive(Clone)]
        pub struct $name(pub $inner);

        impl FromRequest for $name {
            type Error = AppError;
            type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let user = CurrentUser::from_request(req, payload);
                Box::pin(async move {
                    let allowed = |role| Access::allows($access, role);
                    $resolve(user.await?, allowed).map($name)
                })
            }
        }
    };
}

role_extractor!(
    /// Any member of a merchant's team (owner, developer or viewer); the staff are refused.
    Member(MerchantUser),
    team_member,
    Access::Members
);
role_extractor!(
    /// An owner or developer: may change its merchant's settings, keys and notifications.
    Developer(MerchantUser),
    team_member,
    Access::Developers
);
role_extractor!(
    /// A merchant's owner: may change its team.
    Owner(MerchantUser),
    team_member,
    Access::Owners
);
role_extractor!(
    /// An admin or an auditor. A team member gets 404, so the gateway's area does not reveal
    /// itself.
    Staff(CurrentUser),
    staff,
    Access::Staff
);
role_extractor!(
    /// An admin: may change merchants and users. An auditor gets 403, a team member 404.
    Admin(CurrentUser),
    staff,
    Access::Admins
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_rule_admits_exactly_its_roles() {
        let admitted = |access: Access| -> Vec<Role> {
            Role::ALL
                .iter()
                .copied()
                .filter(|r| access.allows(*r))
                .collect()
        };
        assert_eq!(admitted(Access::Members), Role::TEAM);
        assert_eq!(admitted(Access::Developers), [Role::Owner, Role::Developer]);
        assert_eq!(admitted(Access::Owners), [Role::Owner]);
        assert_eq!(admitted(Access::Staff), [Role::Admin, Role::Auditor]);
        assert_eq!(admitted(Access::Admins), [Role::Admin]);
        assert_eq!(admitted(Access::Readers), Role::ALL);
        assert_eq!(Access::Admins.refusal_status(Role::Viewer), 404);
        assert_eq!(Access::Admins.refusal_status(Role::Auditor), 403);
        assert_eq!(Access::Developers.refusal_status(Role::Admin), 403);
    }
}
