//! An invitation link's page: who invites whom to which team, and the form that joins it; or
//! why it cannot be accepted.

use askama::Template;

use super::Layout;
use super::account::PasswordErrors;
use crate::paths;
use crate::teams::Invitee;

#[derive(Template)]
#[template(path = "invitation.html")]
pub struct InvitationPage {
    pub layout: Layout,
    /// Where the form posts: the link's own path.
    pub action: String,
    pub merchant_name: String,
    /// The role offered, in the page's language.
    pub role: &'static str,
    pub invited_by: String,
    pub email: String,
    pub invitee: Invitee,
    pub errors: PasswordErrors,
}

impl InvitationPage {
    /// Whether the page offers the form (nobody holds the address, or a removed member does).
    pub fn may_join(&self) -> bool {
        matches!(self.invitee, Invitee::New | Invitee::Returning)
    }

    pub fn returning(&self) -> bool {
        self.invitee == Invitee::Returning
    }

    pub fn already_here(&self) -> bool {
        self.invitee == Invitee::AlreadyHere
    }
}

/// A link that no longer works: used, revoked, replaced, expired or never issued.
#[derive(Template)]
#[template(path = "invitation_gone.html")]
pub struct InvitationGonePage {
    pub layout: Layout,
}
