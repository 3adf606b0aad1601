//! Each request's span: the fields every log line of that request carries (method, route,
//! path, client, request id, and once answered its status). A route whose path holds a secret
//! token (a password-reset link) is shown as its pattern, so the log never holds a live link.

use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::{Error, HttpMessage};
use tracing::Span;
use tracing::field::Empty;
use tracing_actix_web::{DefaultRootSpanBuilder, RequestId, RootSpanBuilder};

use crate::paths::TOKEN_ROUTES;

/// Builds the spans; `DefaultRootSpanBuilder`'s fields, the path's token left out.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern();
        let route = route.as_deref().unwrap_or("default");
        let request_id = request
            .extensions()
            .get::<RequestId>()
            .map(ToString::to_string)
            .unwrap_or_default();
        let user_agent = request
            .headers()
            .get("User-Agent")
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.route = %route,
            http.target = %shown_target(route, request.path(), request.query_string()),
            http.client_ip = %request.connection_info().realip_remote_addr().unwrap_or(""),
            http.user_agent = %user_agent,
            http.status_code = Empty,
            otel.status_code = Empty,
            request_id = %request_id,
            exception.message = Empty,
            exception.details = Empty,
        )
    }

    fn on_request_end<B: actix_web::body::MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, Error>,
    ) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}

/// The path and query as the log shows them: for a route in [`TOKEN_ROUTES`], its pattern
/// (matched however the path was spelled, percent-encoded or not).
fn shown_target(route: &str, path: &str, query: &str) -> String {
    let path = if TOKEN_ROUTES.contains(&route) {
        route
    } else {
        path
    };
    if query.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{query}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reset_token_never_reaches_the_log() {
        let reset = crate::paths::PASSWORD_RESET;
        for spelled in [
            "/password/reset/AbC-123_xyz",
            "/password/rese%74/AbC-123_xyz",
        ] {
            assert_eq!(shown_target(reset, spelled, ""), "/password/reset/{token}");
        }
        assert_eq!(
            shown_target(
                crate::paths::SECTION,
                "/settings/payment/va",
                "merchant=acme"
            ),
            "/settings/payment/va?merchant=acme"
        );
    }
}
