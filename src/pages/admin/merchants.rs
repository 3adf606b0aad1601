//! The merchants, and one merchant's settings read-only.

use askama::Template;

use crate::catalog::Section;
use crate::domain::MerchantCode;
use crate::pages::Layout;
use crate::pages::admin::users::IssuedPassword;
use crate::pages::settings::ChannelRow;
use crate::paths;
use crate::store::admin::MerchantSummary;
use crate::store::teams::{PendingInvitation, TeamMember};

#[derive(Template)]
#[template(path = "admin/merchants.html")]
pub struct MerchantsPage {
    pub layout: Layout,
    pub search: String,
    pub merchants: Vec<MerchantSummary>,
    /// Link to the next page, when there is one.
    pub next: Option<String>,
    pub form_error: Option<String>,
    /// The input `form_error` belongs to.
    pub error_field: &'static str,
    pub code: String,
    pub name: String,
    pub owner_email: String,
    /// Admins create merchants; auditors only read.
    pub may_change: bool,
    /// An SMTP relay is set: the first owner is invited by email (else given a one-time
    /// password, shown once).
    pub invites: bool,
    /// The first owner's one-time password, just generated (no relay).
    pub issued: Option<IssuedPassword>,
}

#[derive(Template)]
#[template(path = "admin/merchant.html")]
pub struct MerchantPage {
    pub layout: Layout,
    pub code: MerchantCode,
    pub name: String,
    pub sections: Vec<(&'static Section, Vec<ChannelRow>)>,
    /// The merchant's team and the invitations out, read-only.
    pub members: Vec<TeamMember>,
    pub invitations: Vec<PendingInvitation>,
}
