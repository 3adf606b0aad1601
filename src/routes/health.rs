//! `/healthz`: liveness and database reachability.

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// Liveness and database reachability.
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    if state.db.ping().await {
        HttpResponse::Ok().content_type("text/plain").body("ok")
    } else {
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain")
            .body("database unavailable")
    }
}
