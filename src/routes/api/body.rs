//! The payment API's JSON: request and answer bodies, documented by their types.

use actix_web::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::catalog::ChannelTarget;
use crate::domain::DeliveryStatus;
use crate::domain::PaymentStatus;
use crate::error::ApiError;
use crate::payments::InvoiceNumber;

/// `POST /api/v1/payments`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct CreatePaymentBody {
    /// `section/channel` from the catalog, e.g. `va_snap/bca` (Cards: `cards/card`).
    #[schema(example = "va_snap/bca")]
    pub channel: String,
    pub order: OrderBody,
    pub additional_info: Option<AdditionalInfo>,
}

/// A create request whose every field passed its check.
#[derive(Debug)]
pub struct CreateRequest {
    pub target: ChannelTarget,
    pub invoice: InvoiceNumber,
    pub amount: i64,
    pub body_override: Option<String>,
}

impl CreatePaymentBody {
    /// Reads a request body as `POST /api/v1/payments` does: JSON, then each field checked.
    pub fn read(bytes: &[u8]) -> Result<CreateRequest, ApiError> {
        let body: Self = serde_json::from_slice(bytes).map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("The body is not the JSON this call takes: {error}."),
            )
        })?;
        let target = ChannelTarget::parse_code(&body.channel).ok_or_else(|| {
            invalid_field(
                "channel",
                "Name a channel of the catalog as section/channel, e.g. va_snap/bca.",
            )
        })?;
        let invoice = InvoiceNumber::parse(&body.order.invoice_number).ok_or_else(|| {
            invalid_field(
                "order.invoice_number",
                "Use 1 to 64 letters, digits, - or _.",
            )
        })?;
        if body.order.amount <= 0 {
            return Err(invalid_field(
                "order.amount",
                "Give a positive whole number of rupiah.",
            ));
        }
        Ok(CreateRequest {
            target,
            invoice,
            amount: body.order.amount,
            body_override: body
                .additional_info
                .and_then(|info| info.override_notification_url),
        })
    }
}

fn invalid_field(field: &str, message: &str) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_field", message).with("field", field)
}

/// The merchant's order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OrderBody {
    /// 1 to 64 of `A-Z a-z 0-9 _ -`; unique per merchant (a repeat is idempotent).
    #[schema(example = "INV-2026-0001")]
    pub invoice_number: String,
    /// In rupiah, a positive whole number.
    #[schema(example = 150000)]
    pub amount: i64,
}

/// DOKU's per-transaction notification override.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AdditionalInfo {
    /// Replaces the channel's sandbox notification URL for this payment; must keep its path.
    pub override_notification_url: Option<String>,
}

/// `POST /api/v1/payments/{id}/simulate`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SimulateBody {
    pub status: SimulatedStatus,
}

impl SimulateBody {
    /// Reads a request body as `POST /api/v1/payments/{id}/simulate` does.
    pub fn read(bytes: &[u8]) -> Result<PaymentStatus, ApiError> {
        let body: Self = serde_json::from_slice(bytes).map_err(|error| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                format!("Send {{\"status\": \"SUCCESS\" | \"FAILED\" | \"EXPIRED\"}}: {error}."),
            )
        })?;
        Ok(match body.status {
            SimulatedStatus::Success => PaymentStatus::Success,
            SimulatedStatus::Failed => PaymentStatus::Failed,
            SimulatedStatus::Expired => PaymentStatus::Expired,
        })
    }
}

/// The final status a simulated payment reaches.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum SimulatedStatus {
    Success,
    Failed,
    Expired,
}

/// A payment.
#[derive(Debug, Serialize, ToSchema)]
pub struct PaymentBody {
    #[schema(example = "pay_k3m9x2w7q4r8t6y5u2p9n3b7")]
    pub id: String,
    #[schema(example = "va_snap/bca")]
    pub channel: String,
    pub order: OrderBody,
    /// `PENDING`, `SUCCESS`, `FAILED` or `EXPIRED`.
    #[schema(example = "PENDING")]
    pub status: String,
    /// Where this payment's notifications go, in order.
    pub notification_urls: Vec<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Each target's delivery, once the payment reached a final status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deliveries: Option<Vec<DeliveryBody>>,
}

/// One notification target's delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryBody {
    pub id: i64,
    pub url: String,
    /// `pending`, `delivered`, `retrying` or `failed`.
    #[schema(example = json!(DeliveryStatus::Retrying.as_str()))]
    pub status: String,
    /// When the next attempt is due (RFC 3339, UTC), while there is one.
    pub next_attempt_at: Option<String>,
    pub attempts: Vec<AttemptBody>,
}

/// One attempt of a delivery.
#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptBody {
    /// RFC 3339, UTC.
    pub at: String,
    pub http_status: Option<i64>,
    pub latency_ms: Option<i64>,
    /// Why it did not deliver, in English words whatever the caller's language.
    pub error: Option<String>,
}

/// Every error: a stable `code`, a `message`, and details where they help.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    #[schema(example = "invalid_notification_url")]
    pub code: String,
    pub message: String,
    /// The notification header holding the refused URL.
    #[schema(example = "X-Append-Notification")]
    pub header: Option<String>,
    /// Which URL of the header, from 1.
    pub item: Option<u32>,
    /// Every rule the URL broke, as `payhook check-url` names them.
    #[schema(example = json!(["tunnel_domain"]))]
    pub rules: Option<Vec<String>>,
    /// The request field at fault.
    #[schema(example = "order.amount")]
    pub field: Option<String>,
}
