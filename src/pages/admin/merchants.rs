//! The merchants, and one merchant's settings read-only.

use askama::Template;

use crate::catalog::Section;
use crate::domain::MerchantCode;
use crate::pages::Layout;
use crate::pages::settings::ChannelRow;
use crate::paths;
use crate::store::admin::MerchantSummary;

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
}

#[derive(Template)]
#[template(path = "admin/merchant.html")]
pub struct MerchantPage {
    pub layout: Layout,
    pub code: MerchantCode,
    pub name: String,
    pub sections: Vec<(&'static Section, Vec<ChannelRow>)>,
}
