//! The sandbox payment API (JSON, HTTP Basic with the sandbox Client-Id and secret): create a
//! payment, simulate its outcome, read it with its deliveries; and its OpenAPI document,
//! generated from these handlers' annotations and the bodies' types.

pub mod body;

use std::sync::LazyLock;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::auth::SandboxClient;
use crate::domain::{DeliveryError, DeliveryStatus};
use crate::error::ApiError;
use crate::i18n::Lang;
use crate::paths;
use crate::payments::targets::{APPEND_HEADER, OVERRIDE_HEADER};
use crate::payments::{self, CreateError, NewPayment, TargetError};
use crate::state::AppState;
use crate::store::payments::{StatusChange, StoredPayment};
use body::{
    AttemptBody, CreatePaymentBody, DeliveryBody, ErrorBody, OrderBody, PaymentBody, SimulateBody,
    SimulatedStatus,
};

/// Create a sandbox payment. Its notifications go to the channel's sandbox URL unless the
/// request changes that: `X-Override-Notification` replaces it, `X-Append-Notification` adds
/// to it (both sent: only the override counts), or `additional_info.override_notification_url`
/// replaces it keeping its path. A repeat with the same invoice number and request answers
/// 200 with the same payment.
#[utoipa::path(
    post,
    path = paths::API_PAYMENTS,
    tag = "payments",
    request_body = CreatePaymentBody,
    params(
        ("X-Override-Notification" = Option<String>, Header,
            description = "Up to 3 comma-separated URLs replacing the configured one"),
        ("X-Append-Notification" = Option<String>, Header,
            description = "Up to 3 comma-separated URLs notified after the configured one"),
    ),
    responses(
        (status = 201, description = "Created", body = PaymentBody),
        (status = 200, description = "The same request again: the same payment", body = PaymentBody),
        (status = 400, description = "A field or a notification URL is refused", body = ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 403, description = "Production credentials", body = ErrorBody),
        (status = 409, description = "The invoice number belongs to another request", body = ErrorBody),
        (status = 422, description = "No notification URL to send to", body = ErrorBody),
    ),
    security(("sandbox_key" = []))
)]
pub async fn create_payment(
    state: web::Data<AppState>,
    client: SandboxClient,
    request: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let body = CreatePaymentBody::read(&body)?;
    let header = |name: &str| {
        request
            .headers()
            .get(name)
            .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
    };
    let (override_header, append_header) = (header(OVERRIDE_HEADER), header(APPEND_HEADER));
    let new = NewPayment {
        merchant_id: client.merchant_id,
        target: body.target,
        invoice_number: &body.invoice,
        amount: body.amount,
        body_override: body.body_override.as_deref(),
        override_header: override_header.as_deref(),
        append_header: append_header.as_deref(),
    };
    let created = payments::create(&state.db, &state.settings, &new)
        .await
        .map_err(create_error)?;
    let status = if created.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status).json(payment_body(&created.payment, None)))
}

/// Read a payment with each notification target's delivery and every attempt.
#[utoipa::path(
    get,
    path = paths::API_PAYMENT,
    tag = "payments",
    params(("id" = String, Path, description = "The payment's id")),
    responses(
        (status = 200, description = "The payment", body = PaymentBody),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 404, description = "No such payment for this merchant", body = ErrorBody),
    ),
    security(("sandbox_key" = []))
)]
pub async fn get_payment(
    state: web::Data<AppState>,
    client: SandboxClient,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let payment = state
        .db
        .payment(client.merchant_id, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(with_deliveries(&state, &payment).await?))
}

/// Simulate the payment's outcome: it reaches `status` and one notification per target is
/// queued, signed and delivered with retries. A payment already final answers 409.
#[utoipa::path(
    post,
    path = paths::API_SIMULATE,
    tag = "payments",
    params(("id" = String, Path, description = "The payment's id")),
    request_body = SimulateBody,
    responses(
        (status = 200, description = "The payment, with its queued deliveries", body = PaymentBody),
        (status = 400, description = "Not a status a payment can end in", body = ErrorBody),
        (status = 401, description = "Missing or wrong credentials", body = ErrorBody),
        (status = 404, description = "No such payment for this merchant", body = ErrorBody),
        (status = 409, description = "The payment already reached a final status", body = ErrorBody),
    ),
    security(("sandbox_key" = []))
)]
pub async fn simulate_payment(
    state: web::Data<AppState>,
    client: SandboxClient,
    id: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let status = SimulateBody::read(&body)?;
    let payment = state
        .db
        .payment(client.merchant_id, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    match payments::simulate(&state.db, &payment, status).await? {
        StatusChange::Changed => state.deliveries.wake(),
        StatusChange::NotFound => return Err(ApiError::not_found()),
        StatusChange::AlreadyFinal => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "payment_final",
                "The payment already reached a final status; create another to simulate again.",
            ));
        }
    }
    let payment = state
        .db
        .payment(client.merchant_id, &id)
        .await?
        .ok_or_else(ApiError::not_found)?;
    Ok(HttpResponse::Ok().json(with_deliveries(&state, &payment).await?))
}

/// `GET /api/v1/openapi.json`.
pub async fn openapi() -> HttpResponse {
    static DOCUMENT: LazyLock<String> =
        LazyLock::new(|| ApiDoc::openapi().to_json().unwrap_or_default());
    HttpResponse::Ok()
        .content_type("application/json")
        .body(DOCUMENT.as_str())
}

/// Any other path under `/api/`.
pub async fn no_such_call() -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "No such API call; see /api/v1/openapi.json.",
    )
}

/// The OpenAPI 3.1 document of the payment API.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "payhook sandbox payment API",
        description = "Create sandbox payments, change where each one notifies, simulate their \
            outcome and follow the signed notifications that result."
    ),
    paths(create_payment, get_payment, simulate_payment),
    components(schemas(
        CreatePaymentBody, OrderBody, body::AdditionalInfo, SimulateBody, SimulatedStatus,
        PaymentBody, DeliveryBody, AttemptBody, ErrorBody, body::ErrorDetail
    )),
    modifiers(&BasicAuth),
    tags((name = "payments", description = "Sandbox payments and their notifications"))
)]
pub struct ApiDoc;

/// Declares the HTTP Basic scheme the operations refer to.
struct BasicAuth;

impl Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Basic)
            .description(Some(
                "The sandbox Client-Id as user and the sandbox secret key as password.",
            ))
            .build();
        openapi
            .components
            .get_or_insert_with(Default::default)
            .add_security_scheme("sandbox_key", SecurityScheme::Http(scheme));
    }
}

fn create_error(error: CreateError) -> ApiError {
    match error {
        CreateError::Database(error) => error.into(),
        CreateError::InvoiceTaken => ApiError::new(
            StatusCode::CONFLICT,
            "invoice_number_taken",
            "A payment with this invoice number was created by another request; repeat the \
             same request, or use a new invoice number.",
        ),
        CreateError::Targets(error) => target_error(error),
    }
}

fn target_error(error: TargetError) -> ApiError {
    let bad = StatusCode::BAD_REQUEST;
    match error {
        TargetError::Header {
            header,
            item,
            rules,
        } => ApiError::new(
            bad,
            "invalid_notification_url",
            format!("URL {item} of {header} is refused: {}.", rules.join(", ")),
        )
        .with("header", header)
        .with("item", item)
        .with("rules", rules),
        TargetError::BodyOverride { rules } => ApiError::new(
            bad,
            "invalid_notification_url",
            format!(
                "additional_info.override_notification_url is refused: {}.",
                rules.join(", ")
            ),
        )
        .with("field", "additional_info.override_notification_url")
        .with("rules", rules),
        TargetError::NothingToOverride => ApiError::new(
            bad,
            "no_configured_url",
            "override_notification_url replaces the channel's sandbox notification URL, and \
             the channel has none: configure one, or send X-Override-Notification.",
        )
        .with("field", "additional_info.override_notification_url"),
        TargetError::OtherPath { expected } => ApiError::new(
            bad,
            "override_path_mismatch",
            format!(
                "override_notification_url must keep the configured URL's path {expected}; \
                 only the host may differ."
            ),
        )
        .with("field", "additional_info.override_notification_url")
        .with("expected_path", expected),
        TargetError::NoTarget => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "no_notification_url",
            "The channel has no sandbox notification URL and the request names none: configure \
             one under Settings > Payment Settings, or send X-Override-Notification.",
        ),
    }
}

fn rfc3339(ms: i64) -> String {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_default()
}

fn payment_body(payment: &StoredPayment, deliveries: Option<Vec<DeliveryBody>>) -> PaymentBody {
    PaymentBody {
        id: payment.id.clone(),
        channel: format!("{}/{}", payment.section, payment.channel),
        order: OrderBody {
            invoice_number: payment.invoice_number.clone(),
            amount: payment.amount,
        },
        status: payment.status.as_str().to_owned(),
        notification_urls: payments::notification_urls(payment),
        created_at: rfc3339(payment.created_at),
        deliveries,
    }
}

async fn with_deliveries(
    state: &AppState,
    payment: &StoredPayment,
) -> Result<PaymentBody, ApiError> {
    let (deliveries, attempts) = state.db.payment_deliveries(&payment.id).await?;
    let deliveries = deliveries
        .into_iter()
        .map(|delivery| DeliveryBody {
            attempts: attempts
                .iter()
                .filter(|a| a.delivery_id == delivery.id)
                .map(|a| AttemptBody {
                    at: rfc3339(a.at),
                    http_status: a.http_status,
                    latency_ms: a.latency_ms,
                    error: a
                        .error
                        .as_deref()
                        .map(|e| DeliveryError::describe_stored(e, Lang::En).into_owned()),
                })
                .collect(),
            next_attempt_at: (delivery.status == DeliveryStatus::Retrying)
                .then_some(delivery.next_attempt_at)
                .flatten()
                .map(rfc3339),
            id: delivery.id,
            url: delivery.url,
            status: delivery.status.as_str().to_owned(),
        })
        .collect();
    Ok(payment_body(payment, Some(deliveries)))
}
