//! One attempt to deliver a notification: the URL is vetted again (policy and DNS, whatever
//! `PAYHOOK_DNS_CHECK` says, since an address is needed anyway), the body signed anew, and the
//! request sent only to the addresses that passed.

use time::OffsetDateTime;

use super::message::{OutgoingRequest, Signer, signed_headers};
use super::{Exchange, client, first_chars, millis};
use crate::catalog::NotificationFormat;
use crate::config::Settings;
use crate::dns;
use crate::domain::Outcome;
use crate::domain::{DeliveryError, Environment};
use crate::store::NewAttempt;

/// How much of an answer is stored with the attempt.
pub const STORED_RESPONSE_CHARS: usize = 4096;

/// What one attempt did.
#[derive(Debug)]
pub struct AttemptReport {
    /// When it started (ms).
    pub at: i64,
    pub outcome: Outcome,
    /// What was sent; `None` when the URL was refused before anything was sent.
    pub request: Option<OutgoingRequest>,
    /// The answer; `None` when nothing was sent.
    pub exchange: Option<Exchange>,
    /// Why nothing was sent: the rules the URL broke when re-checked, or DNS's silence.
    pub refusal: Option<DeliveryError>,
    /// The headers sent, as stored (a JSON array of pairs).
    pub headers_json: String,
}

/// What an attempt sends: `body` to `url`, signed by `signer` under `request_id`.
#[derive(Clone, Copy)]
pub struct Notification<'a> {
    pub environment: Environment,
    pub format: NotificationFormat,
    pub url: &'a str,
    pub request_id: &'a str,
    pub body: &'a str,
    pub signer: Signer<'a>,
}

/// Makes one attempt.
pub async fn attempt(settings: &Settings, notification: Notification<'_>) -> AttemptReport {
    let at = crate::store::now_ms();
    let vetted = dns::vet(
        notification.url,
        notification.environment,
        &settings.url_policy,
        Some(&settings.resolver),
    )
    .await;
    let refused = |refusal: DeliveryError| AttemptReport {
        at,
        outcome: Outcome::Refused,
        request: None,
        exchange: None,
        refusal: Some(refusal),
        headers_json: "[]".to_owned(),
    };
    let vetted = match vetted {
        Ok(vetted) if !vetted.addresses.is_empty() => vetted,
        // Only reached when DNS did not answer: with no vetted address there is nowhere safe
        // to connect to.
        Ok(_) => return refused(DeliveryError::DnsUnanswered),
        Err(violations) => {
            let rules = violations.iter().map(|v| v.code.as_str().into()).collect();
            return refused(DeliveryError::Refused { rules });
        }
    };
    let headers = signed_headers(
        notification.format,
        notification.signer,
        vetted.url.path(),
        notification.body,
        notification.request_id,
        OffsetDateTime::now_utc(),
    );
    let request = OutgoingRequest {
        url: vetted.url.as_str().to_owned(),
        headers,
        body: notification.body.to_owned(),
    };
    let exchange = client::post(
        &vetted.url,
        &vetted.addresses,
        &request,
        settings.notification_timeout,
    )
    .await;
    AttemptReport {
        at,
        outcome: exchange.outcome,
        headers_json: serde_json::to_string(&request.headers).unwrap_or_else(|_| "[]".into()),
        request: Some(request),
        exchange: Some(exchange),
        refusal: None,
    }
}

impl AttemptReport {
    /// Why the attempt did not deliver; `None` when it did.
    pub fn error(&self) -> Option<&DeliveryError> {
        match &self.exchange {
            Some(exchange) => exchange.error.as_ref(),
            None => self.refusal.as_ref(),
        }
    }

    /// The attempt as it is stored.
    pub fn record<'a>(&'a self, error: Option<&'a str>) -> NewAttempt<'a> {
        let exchange = self.exchange.as_ref();
        NewAttempt {
            at: self.at,
            request_headers: &self.headers_json,
            outcome: self.outcome,
            http_status: exchange.and_then(|e| e.status).map(i64::from),
            latency_ms: exchange.map(|e| millis(e.latency)),
            response_body: exchange.map(|e| first_chars(&e.response_body, STORED_RESPONSE_CHARS)),
            error,
        }
    }

    /// One line for the audit log: outcome, status and latency.
    pub fn summary(&self) -> String {
        let outcome = self.outcome.as_str();
        match &self.exchange {
            Some(e) => match e.status {
                Some(status) => format!("{outcome}: HTTP {status} in {} ms", millis(e.latency)),
                None => format!("{outcome} after {} ms", millis(e.latency)),
            },
            None => format!("{outcome}: not sent"),
        }
    }
}
