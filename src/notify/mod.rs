//! Notifications to merchants' servers: the sample message, its signature, the SSRF-safe
//! client, and the test notification that ties them together.

pub mod client;
pub mod curl;
pub mod sample;
pub mod sign;

use std::time::Duration;

use time::OffsetDateTime;

use crate::catalog::ChannelRef;
use crate::config::Settings;
use crate::dns;
use crate::store::{Actor, Db, NewDelivery};
use crate::url_policy::Environment;

pub use client::{Exchange, Outcome};
pub use sample::OutgoingRequest;

/// What a test notification did, for the result page.
#[derive(Debug)]
pub struct TestReport {
    pub environment: Environment,
    pub url: String,
    pub outcome: Outcome,
    /// What was sent (or would have been, when refused).
    pub request: Option<OutgoingRequest>,
    /// The answer; `None` when nothing was sent.
    pub exchange: Option<Exchange>,
    /// Why nothing was sent: the rules the URL broke when re-checked.
    pub refusals: Vec<&'static str>,
    pub delivery_id: i64,
}

/// Why a test notification could not even be attempted.
#[derive(Debug)]
pub enum TestError {
    /// That environment has no saved URL.
    NoUrl,
    Unexpected(anyhow::Error),
}

impl From<anyhow::Error> for TestError {
    fn from(error: anyhow::Error) -> Self {
        Self::Unexpected(error)
    }
}

impl From<sqlx::Error> for TestError {
    fn from(error: sqlx::Error) -> Self {
        Self::Unexpected(error.into())
    }
}

/// Sends the sample notification for `target` to the merchant's saved `environment` URL and
/// records it (delivery row and audit event). The URL is vetted again first, DNS included
/// whatever `PAYHOOK_DNS_CHECK` says, and the client connects only to the addresses vetted.
pub async fn send_test(
    db: &Db,
    settings: &Settings,
    merchant_id: i64,
    target: ChannelRef,
    environment: Environment,
    actor: &Actor,
) -> Result<TestReport, TestError> {
    let setting = db
        .channel_setting(merchant_id, target.section.code, target.channel.code)
        .await?;
    let saved = match environment {
        Environment::Sandbox => setting.sandbox_url,
        Environment::Production => setting.production_url,
    };
    let url = saved.ok_or(TestError::NoUrl)?;
    let vetted = dns::vet(
        &url,
        environment,
        &settings.url_policy,
        Some(&settings.resolver),
    )
    .await;
    let (request, exchange, refusals) = match vetted {
        Ok(vetted) if !vetted.addresses.is_empty() => {
            let key =
                crate::api_keys::ensure(db, &settings.secret_box, merchant_id, environment).await?;
            let request =
                sample::test_notification(target, &key, &vetted.url, OffsetDateTime::now_utc());
            let exchange = client::post(
                &vetted.url,
                &vetted.addresses,
                &request,
                settings.notification_timeout,
            )
            .await;
            (Some(request), Some(exchange), Vec::new())
        }
        // Only reached when DNS did not answer: with no vetted address there is nowhere safe
        // to connect to.
        Ok(_) => (None, None, vec![DNS_UNANSWERED]),
        Err(violations) => (
            None,
            None,
            violations.iter().map(|v| v.code.local_message()).collect(),
        ),
    };
    let outcome = exchange.as_ref().map_or(Outcome::Refused, |e| e.outcome);
    let summary = summarise(outcome, exchange.as_ref());
    let headers = request
        .as_ref()
        .map(|r| serde_json::to_string(&r.headers))
        .transpose()
        .map_err(anyhow::Error::from)?
        .unwrap_or_else(|| "[]".to_owned());
    let error = match &exchange {
        Some(exchange) => exchange.error.clone(),
        None => Some(refusals.join(" ")),
    };
    let stored_body = exchange
        .as_ref()
        .map(|e| first_chars(&e.response_body, 4096));
    let delivery = NewDelivery {
        merchant_id,
        section: target.section.code,
        channel: target.channel.code,
        environment: environment.as_str(),
        url: &url,
        request_headers: &headers,
        request_body: request.as_ref().map_or("", |r| r.body.as_str()),
        response_status: exchange.as_ref().and_then(|e| e.status).map(i64::from),
        response_body: stored_body,
        latency_ms: exchange.as_ref().map(|e| millis(e.latency)),
        outcome: outcome.as_str(),
        error: error.as_deref(),
    };
    let delivery_id = db.record_test_delivery(&delivery, &summary, actor).await?;
    Ok(TestReport {
        environment,
        url,
        outcome,
        request,
        exchange,
        refusals,
        delivery_id,
    })
}

const DNS_UNANSWERED: &str = "DNS did not answer within 2 seconds, so the address could not be \
     checked and nothing was sent; try again in a moment.";

/// One line for the audit log: outcome, status and latency.
fn summarise(outcome: Outcome, exchange: Option<&Exchange>) -> String {
    match exchange {
        Some(e) => match e.status {
            Some(status) => format!(
                "{}: HTTP {status} in {} ms",
                outcome.as_str(),
                millis(e.latency)
            ),
            None => format!("{} after {} ms", outcome.as_str(), millis(e.latency)),
        },
        None => format!("{}: not sent", outcome.as_str()),
    }
}

pub fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// The first `n` characters of `text`.
pub fn first_chars(text: &str, n: usize) -> &str {
    text.char_indices().nth(n).map_or(text, |(i, _)| &text[..i])
}
