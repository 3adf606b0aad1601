//! What a notification says and how it is signed (README, "Test notifications and API keys").
//! The body is fixed when the notification is made, so every attempt of a delivery sends the
//! same bytes; each attempt is signed anew (a fresh timestamp, and for SNAP a fresh access token) under the delivery's one
//! request id, so a receiver can drop duplicates.

use serde_json::json;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use super::sign;
use crate::catalog::{ChannelTarget, NotificationFormat};
use crate::domain::PaymentStatus;

/// A notification ready to send: headers in sending order, and the exact body bytes.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The payment a notification tells about.
#[derive(Debug, Clone, Copy)]
pub struct PaymentFacts<'a> {
    pub target: ChannelTarget,
    pub invoice_number: &'a str,
    /// In rupiah.
    pub amount: i64,
    /// `SUCCESS`, `FAILED` or `EXPIRED`.
    pub status: PaymentStatus,
    /// The gateway's reference for the payment (the payment's id).
    pub reference: &'a str,
    /// When the payment reached `status`.
    pub at: OffsetDateTime,
    /// A sample sent by "Send test notification", marked as such in the body.
    pub test: bool,
}

/// The credentials that sign a notification.
#[derive(Clone, Copy)]
pub struct Signer<'a> {
    pub client_id: &'a str,
    pub secret: &'a str,
}

/// A new request id for a delivery in `format`: a UUID for non-SNAP `Request-Id`, 20 digits for
/// SNAP `X-EXTERNAL-ID`.
pub fn new_request_id(format: NotificationFormat) -> String {
    match format {
        NotificationFormat::NonSnap => uuid_v4(),
        NotificationFormat::Snap => digits(20),
    }
}

/// The JSON body (minified) of the notification about `facts`, in its channel's format.
pub fn body(facts: &PaymentFacts<'_>) -> String {
    match facts.target.section.format() {
        NotificationFormat::NonSnap => non_snap_body(facts),
        NotificationFormat::Snap => snap_body(facts),
    }
}

fn non_snap_body(facts: &PaymentFacts<'_>) -> String {
    let mut body = json!({
        "order": { "invoice_number": facts.invoice_number, "amount": facts.amount },
        "transaction": {
            "status": facts.status.as_str(),
            "date": utc_timestamp(facts.at),
            "original_request_id": facts.reference,
        },
        "service": { "id": service_id(facts.target.section.code) },
        "channel": { "id": facts.target.channel.gateway_id },
    });
    if facts.test {
        body["additional_info"] = json!({ "test_notification": true });
    }
    body.to_string()
}

fn snap_body(facts: &PaymentFacts<'_>) -> String {
    let partner_service_id = "   88899";
    // A stable virtual account number per payment, derived from its reference.
    let customer_no: String = facts
        .reference
        .bytes()
        .map(|b| char::from(b'0' + b % 10))
        .chain(std::iter::repeat('0'))
        .take(12)
        .collect();
    let flag = match facts.status {
        PaymentStatus::Success => "00",
        PaymentStatus::Expired => "02",
        PaymentStatus::Failed | PaymentStatus::Pending => "01",
    };
    let mut additional = json!({
        "channel": facts.target.channel.gateway_id,
        "trxStatus": facts.status.as_str(),
    });
    if facts.test {
        additional["testNotification"] = json!(true);
    }
    json!({
        "partnerServiceId": partner_service_id,
        "customerNo": customer_no,
        "virtualAccountNo": format!("{partner_service_id}{customer_no}"),
        "virtualAccountName": "Sandbox Customer",
        "trxId": facts.invoice_number,
        "paymentRequestId": facts.reference,
        "paidAmount": { "value": format!("{}.00", facts.amount), "currency": "IDR" },
        "paymentFlagStatus": flag,
        "trxDateTime": jakarta_timestamp(facts.at),
        "additionalInfo": additional,
    })
    .to_string()
}

/// The headers of one attempt: `body` POSTed to `path` in `format`, signed by `signer` at `now`
/// under the delivery's `request_id`.
pub fn signed_headers(
    format: NotificationFormat,
    signer: Signer<'_>,
    path: &str,
    body: &str,
    request_id: &str,
    now: OffsetDateTime,
) -> Vec<(String, String)> {
    match format {
        NotificationFormat::NonSnap => {
            let timestamp = utc_timestamp(now);
            let component =
                sign::non_snap_component(signer.client_id, request_id, &timestamp, path, body);
            let signature = sign::non_snap_signature(signer.secret, &component);
            headers([
                ("Content-Type", "application/json"),
                ("Client-Id", signer.client_id),
                ("Request-Id", request_id),
                ("Request-Timestamp", &timestamp),
                ("Signature", &signature),
            ])
        }
        NotificationFormat::Snap => {
            let timestamp = jakarta_timestamp(now);
            // The access token the gateway presents; a receiver takes it from `Authorization`.
            let token = crate::random::random_token();
            let string_to_sign = sign::snap_string_to_sign(path, &token, body, &timestamp);
            let signature = sign::snap_signature(signer.secret, &string_to_sign);
            headers([
                ("Content-Type", "application/json"),
                ("Authorization", &format!("Bearer {token}")),
                ("X-TIMESTAMP", &timestamp),
                ("X-PARTNER-ID", signer.client_id),
                ("X-EXTERNAL-ID", request_id),
                ("CHANNEL-ID", "H2H"),
                ("X-SIGNATURE", &signature),
            ])
        }
    }
}

/// A fresh invoice number for a sample notification.
pub fn sample_invoice(now: OffsetDateTime) -> String {
    format!(
        "INV-TEST-{}-{}",
        now.format(format_description!("[year][month][day]"))
            .unwrap_or_default(),
        &crate::random::random_token()[..8].to_ascii_uppercase()
    )
}

/// Non-SNAP times: UTC, ISO 8601 with `Z`.
fn utc_timestamp(at: OffsetDateTime) -> String {
    at.to_offset(offset!(UTC))
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default()
}

/// SNAP times carry Jakarta's offset, as the gateway sends them.
fn jakarta_timestamp(at: OffsetDateTime) -> String {
    at.to_offset(offset!(+7))
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+07:00"
        ))
        .unwrap_or_default()
}

fn headers<const N: usize>(pairs: [(&str, &str); N]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
        .collect()
}

/// The gateway's service id for a section's channels.
fn service_id(section: &str) -> &'static str {
    match section {
        "va" | "va_snap" => "VIRTUAL_ACCOUNT",
        "cards" => "CREDIT_CARD",
        "cstore" => "ONLINE_TO_OFFLINE",
        "ewallet" => "EMONEY",
        _ => "PEER_TO_PEER",
    }
}

/// A random decimal string of `len` digits (at most 32).
fn digits(len: usize) -> String {
    crate::random::random_bytes::<32>()[..len]
        .iter()
        .map(|b| char::from(b'0' + b % 10))
        .collect()
}

/// A random (version 4) UUID.
pub fn uuid_v4() -> String {
    let mut b = crate::random::random_bytes::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(section: &str, channel: &str) -> PaymentFacts<'static> {
        PaymentFacts {
            target: ChannelTarget::find(section, channel).unwrap(),
            invoice_number: "INV-1",
            amount: 150_000,
            status: PaymentStatus::Success,
            reference: "pay_abc",
            at: OffsetDateTime::UNIX_EPOCH,
            test: false,
        }
    }

    #[test]
    fn a_body_carries_the_payment_and_is_the_same_each_time() {
        let non_snap: serde_json::Value = serde_json::from_str(&body(&facts("va", "bca"))).unwrap();
        assert_eq!(non_snap["order"]["invoice_number"], "INV-1");
        assert_eq!(non_snap["order"]["amount"], 150_000);
        assert_eq!(non_snap["transaction"]["status"], "SUCCESS");
        assert_eq!(non_snap["transaction"]["date"], "1970-01-01T00:00:00Z");
        let snap: serde_json::Value =
            serde_json::from_str(&body(&facts("va_snap", "bca"))).unwrap();
        assert_eq!(snap["trxId"], "INV-1");
        assert_eq!(snap["paidAmount"]["value"], "150000.00");
        assert_eq!(snap["trxDateTime"], "1970-01-01T07:00:00+07:00");
        assert_eq!(
            body(&facts("va_snap", "bca")),
            body(&facts("va_snap", "bca"))
        );
    }

    #[test]
    fn request_ids_have_their_formats_shape() {
        assert_eq!(new_request_id(NotificationFormat::NonSnap).len(), 36);
        let snap = new_request_id(NotificationFormat::Snap);
        assert!(snap.len() == 20 && snap.bytes().all(|b| b.is_ascii_digit()));
    }
}
