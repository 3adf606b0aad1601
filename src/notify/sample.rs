//! A realistic sample payment notification for a channel, signed as SPEC 6 says.

use serde_json::json;
use time::OffsetDateTime;
use time::macros::{format_description, offset};

use super::sign;
use crate::api_keys::ApiKey;
use crate::catalog::{ChannelTarget, NotificationFormat};
use crate::url_policy::NotificationUrl;

/// A notification ready to send: headers in sending order, and the exact body bytes.
#[derive(Debug, Clone)]
pub struct OutgoingRequest {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

/// The sample amount, in rupiah.
const AMOUNT_IDR: u64 = 150_000;

/// Builds and signs the sample notification for `target`, to be POSTed to `url`.
pub fn test_notification(
    target: ChannelTarget,
    key: &ApiKey,
    url: &NotificationUrl,
    now: OffsetDateTime,
) -> OutgoingRequest {
    let invoice = format!(
        "INV-TEST-{}-{}",
        now.format(format_description!("[year][month][day]"))
            .unwrap_or_default(),
        &crate::random::random_token()[..8].to_ascii_uppercase()
    );
    match target.section.format() {
        NotificationFormat::Snap => snap(target, key, url, now, &invoice),
        NotificationFormat::NonSnap => non_snap(target, key, url, now, &invoice),
    }
}

fn non_snap(
    target: ChannelTarget,
    key: &ApiKey,
    url: &NotificationUrl,
    now: OffsetDateTime,
    invoice: &str,
) -> OutgoingRequest {
    let timestamp = now
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]Z"
        ))
        .unwrap_or_default();
    let request_id = uuid_v4();
    let body = json!({
        "order": { "invoice_number": invoice, "amount": AMOUNT_IDR },
        "transaction": {
            "status": "SUCCESS",
            "date": timestamp,
            "original_request_id": uuid_v4(),
        },
        "service": { "id": service_id(target.section.code) },
        "channel": { "id": target.channel.gateway_id },
        "additional_info": { "test_notification": true },
    })
    .to_string();
    let component =
        sign::non_snap_component(&key.client_id, &request_id, &timestamp, url.path(), &body);
    let signature = sign::non_snap_signature(key.secret.expose(), &component);
    OutgoingRequest {
        url: url.as_str().to_owned(),
        headers: headers([
            ("Content-Type", "application/json"),
            ("Client-Id", &key.client_id),
            ("Request-Id", &request_id),
            ("Request-Timestamp", &timestamp),
            ("Signature", &signature),
        ]),
        body,
    }
}

fn snap(
    target: ChannelTarget,
    key: &ApiKey,
    url: &NotificationUrl,
    now: OffsetDateTime,
    invoice: &str,
) -> OutgoingRequest {
    // SNAP timestamps carry Jakarta's offset, as the gateway sends them.
    let timestamp = now
        .to_offset(offset!(+7))
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]+07:00"
        ))
        .unwrap_or_default();
    let customer_no = digits(12);
    let partner_service_id = "   88899";
    let body = json!({
        "partnerServiceId": partner_service_id,
        "customerNo": customer_no,
        "virtualAccountNo": format!("{partner_service_id}{customer_no}"),
        "virtualAccountName": "Test Customer",
        "trxId": invoice,
        "paymentRequestId": digits(20),
        "paidAmount": { "value": format!("{AMOUNT_IDR}.00"), "currency": "IDR" },
        "trxDateTime": timestamp,
        "additionalInfo": { "channel": target.channel.gateway_id, "testNotification": true },
    })
    .to_string();
    // The access token the gateway presents; a receiver takes it from `Authorization`.
    let token = crate::random::random_token();
    let string_to_sign = sign::snap_string_to_sign(url.path(), &token, &body, &timestamp);
    let signature = sign::snap_signature(key.secret.expose(), &string_to_sign);
    let external_id = digits(20);
    OutgoingRequest {
        url: url.as_str().to_owned(),
        headers: headers([
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {token}")),
            ("X-TIMESTAMP", &timestamp),
            ("X-PARTNER-ID", &key.client_id),
            ("X-EXTERNAL-ID", &external_id),
            ("CHANNEL-ID", "H2H"),
            ("X-SIGNATURE", &signature),
        ]),
        body,
    }
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
fn uuid_v4() -> String {
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
