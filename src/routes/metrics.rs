//! `/metrics`: the Prometheus text format, for the addresses in `PAYHOOK_METRICS_ALLOW` only.

use actix_web::{HttpResponse, web};

use crate::auth::RequestMeta;
use crate::error::AppError;
use crate::state::AppState;

/// Every series, read now; any other address gets the same 404 as an unknown path, so the
/// endpoint is not even seen to exist.
pub async fn metrics(
    state: web::Data<AppState>,
    meta: RequestMeta,
) -> Result<HttpResponse, AppError> {
    let allowed = meta
        .client_ip
        .is_some_and(|ip| state.settings.metrics_allow.iter().any(|r| r.contains(ip)));
    if !allowed {
        return Err(AppError::NotFound);
    }
    let body = state.metrics.render(&state.db).await;
    Ok(HttpResponse::Ok()
        .content_type(crate::metrics::CONTENT_TYPE)
        .body(body))
}
