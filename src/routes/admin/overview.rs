//! `/admin`: merchants, configured channels per section, sandbox-only channels, recent changes.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};

use crate::auth::Staff;
use crate::domain::DAY_MS;
use crate::error::AppError;
use crate::i18n::t;
use crate::pages::admin::overview::OverviewPage;
use crate::pages::settings::SectionSummary;
use crate::pages::{Layout, render_page};
use crate::state::AppState;
use crate::store::now_ms;

pub async fn overview(
    state: web::Data<AppState>,
    Staff(user): Staff,
) -> Result<HttpResponse, AppError> {
    let db = &state.db;
    let counts = db.configured_by_section().await?;
    let (sandbox_only, sandbox_only_total) = db.sandbox_only(50).await?;
    let page = OverviewPage {
        layout: Layout::for_user(t("admin.overview_title"), &user),
        merchants: db.count_merchants().await?,
        sections: SectionSummary::all(&counts),
        sandbox_only,
        sandbox_only_total,
        changes_last_day: db.changes_since(now_ms() - DAY_MS).await?,
        failing: db.failing_merchants(now_ms() - DAY_MS, 50).await?,
    };
    Ok(render_page(StatusCode::OK, &page))
}
