//! The admin overview.

use askama::Template;

use crate::pages::Layout;
use crate::pages::settings::SectionSummary;
use crate::paths;
use crate::store::FailingMerchant;
use crate::store::admin::SandboxOnly;

#[derive(Template)]
#[template(path = "admin/overview.html")]
pub struct OverviewPage {
    pub layout: Layout,
    pub merchants: i64,
    pub sections: Vec<SectionSummary>,
    pub sandbox_only: Vec<SandboxOnly>,
    pub sandbox_only_total: i64,
    pub changes_last_day: i64,
    /// Merchants with failing notification URLs, most failures in the last 24 hours first.
    pub failing: Vec<FailingMerchant>,
}
