//! Sandbox payments: created through the payment API, moved to a final status by a simulate
//! call, which queues one signed notification per target in the same transaction.

pub mod targets;

use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::catalog::ChannelTarget;
use crate::config::Settings;
use crate::domain::{Environment, PaymentStatus};
use crate::notify::message::{self, PaymentFacts};
use crate::store::payments::{QueuedNotification, StatusChange, StoredPayment};
use crate::store::{Db, now_ms};
pub use targets::{TargetError, TargetRequest};

/// A merchant's invoice number: 1 to 64 of `A-Z a-z 0-9 _ -`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceNumber(String);

impl InvoiceNumber {
    pub fn parse(input: &str) -> Option<Self> {
        let valid = (1..=64).contains(&input.len())
            && input
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        valid.then(|| Self(input.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A payment to create, as the API understood it.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    pub merchant_id: i64,
    pub target: ChannelTarget,
    pub invoice_number: &'a InvoiceNumber,
    pub amount: i64,
    pub body_override: Option<&'a str>,
    pub override_header: Option<&'a str>,
    pub append_header: Option<&'a str>,
}

impl NewPayment<'_> {
    /// Identifies the request as understood, so an identical repeat is recognised.
    fn fingerprint(&self) -> String {
        let canonical = serde_json::json!([
            self.target.section.code,
            self.target.channel.code,
            self.invoice_number.as_str(),
            self.amount,
            self.body_override.map(str::trim),
            self.override_header.map(str::trim),
            self.append_header.map(str::trim),
        ]);
        hex::encode(Sha256::digest(canonical.to_string().as_bytes()))
    }
}

/// Why a payment was not created.
#[derive(Debug)]
pub enum CreateError {
    /// The notification targets could not be decided.
    Targets(TargetError),
    /// The invoice number is taken by a payment made by another request.
    InvoiceTaken,
    Database(sqlx::Error),
}

impl From<sqlx::Error> for CreateError {
    fn from(error: sqlx::Error) -> Self {
        Self::Database(error)
    }
}

/// A created payment, and whether this request created it (`false`: an identical repeat).
pub struct Created {
    pub payment: StoredPayment,
    pub new: bool,
}

/// Creates a pending payment, or returns the one an identical earlier request created.
pub async fn create(
    db: &Db,
    settings: &Settings,
    request: &NewPayment<'_>,
) -> Result<Created, CreateError> {
    let fingerprint = request.fingerprint();
    let repeat = |payment: StoredPayment| {
        if payment.request_hash == fingerprint {
            Ok(Created {
                payment,
                new: false,
            })
        } else {
            Err(CreateError::InvoiceTaken)
        }
    };
    let invoice = request.invoice_number.as_str();
    if let Some(existing) = db.payment_by_invoice(request.merchant_id, invoice).await? {
        return repeat(existing);
    }
    let (section, channel) = (request.target.section.code, request.target.channel.code);
    let setting = db
        .channel_setting(request.merchant_id, section, channel)
        .await?;
    let asked = TargetRequest {
        configured: setting.sandbox_url.as_deref(),
        body_override: request.body_override,
        override_header: request.override_header,
        append_header: request.append_header,
    };
    let urls = targets::resolve(asked, &settings.url_policy, settings.dns_resolver())
        .await
        .map_err(CreateError::Targets)?;
    let now = now_ms();
    let payment = StoredPayment {
        id: new_payment_id(),
        merchant_id: request.merchant_id,
        section: section.to_owned(),
        channel: channel.to_owned(),
        invoice_number: invoice.to_owned(),
        amount: request.amount,
        status: PaymentStatus::Pending,
        notification_urls: serde_json::to_string(&urls).unwrap_or_else(|_| "[]".into()),
        request_hash: fingerprint.clone(),
        created_at: now,
        updated_at: now,
    };
    let stored = db.insert_payment(&payment).await?;
    if stored.id == payment.id {
        Ok(Created {
            payment: stored,
            new: true,
        })
    } else {
        // Another request with this invoice number was stored first.
        repeat(stored)
    }
}

/// Moves a pending payment to `status` and queues one notification per target, signed when
/// sent; the caller wakes the delivery workers.
pub async fn simulate(
    db: &Db,
    payment: &StoredPayment,
    status: PaymentStatus,
) -> sqlx::Result<StatusChange> {
    let Some(target) = ChannelTarget::find(&payment.section, &payment.channel) else {
        return Ok(StatusChange::NotFound);
    };
    let facts = PaymentFacts {
        target,
        invoice_number: &payment.invoice_number,
        amount: payment.amount,
        status,
        reference: &payment.id,
        at: OffsetDateTime::now_utc(),
        test: false,
    };
    let body = message::body(&facts);
    let format = target.section.format();
    let notifications: Vec<QueuedNotification> = notification_urls(payment)
        .into_iter()
        .map(|url| QueuedNotification {
            url,
            request_id: message::new_request_id(format),
            request_body: body.clone(),
        })
        .collect();
    db.change_payment_status(
        payment.merchant_id,
        &payment.id,
        status,
        Environment::Sandbox,
        &notifications,
    )
    .await
}

/// The URLs a stored payment notifies.
pub fn notification_urls(payment: &StoredPayment) -> Vec<String> {
    serde_json::from_str(&payment.notification_urls).unwrap_or_default()
}

/// A new public payment id: `pay_` and 24 unambiguous characters.
fn new_payment_id() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
    format!("pay_{}", crate::random::random_code(ALPHABET, 24))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invoice_numbers_are_one_to_64_plain_characters() {
        assert!(InvoiceNumber::parse("INV-2026_001").is_some());
        for bad in ["", "INV 1", "INV/1", "ínv", &"x".repeat(65)] {
            assert!(InvoiceNumber::parse(bad).is_none(), "{bad:?}");
        }
    }
}
