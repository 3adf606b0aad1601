//! The team page.

use askama::Template;

use super::Layout;
use crate::domain::Role;
use crate::paths;
use crate::store::teams::{PendingInvitation, TeamMember};

/// What the invite form shows: empty, or what the owner typed.
#[derive(Default)]
pub struct InviteForm {
    pub email: String,
    pub role: String,
}

impl InviteForm {
    /// The role the form's select shows chosen (a developer by default).
    pub fn chosen(&self, role: &Role) -> bool {
        match self.role.as_str() {
            "" => *role == Role::Developer,
            typed => typed == role.as_str(),
        }
    }
}

#[derive(Template)]
#[template(path = "team.html")]
pub struct TeamPage {
    pub layout: Layout,
    /// The signed-in member's id: their own row has no forms.
    pub me: i64,
    /// Owners see the forms; everybody else reads.
    pub is_owner: bool,
    /// The team requires two-factor sign-in of everyone.
    pub two_factor_required: bool,
    pub members: Vec<TeamMember>,
    pub invitations: Vec<PendingInvitation>,
    /// A refused change's broken rule.
    pub error: Option<&'static str>,
    pub error_field: &'static str,
    pub form: InviteForm,
}
