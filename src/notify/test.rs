//! Test notifications: the sample notification for a channel, sent to the merchant's saved
//! URL and recorded (delivery row and audit event), at most a few a minute per merchant and
//! two at a time.

use time::OffsetDateTime;

use super::in_flight::TestSlot;
use super::{Exchange, Outcome, OutgoingRequest, client, first_chars, millis, sample};
use crate::catalog::ChannelTarget;
use crate::config::Settings;
use crate::dns;
use crate::store::{Actor, Db, NewDelivery, now_ms};
use crate::url_policy::Environment;

/// Test notifications a merchant may send per minute: each may hold a worker for seconds and
/// sends a signed POST out, so it stays a test.
pub const TESTS_PER_MINUTE: i64 = 10;

/// What asking for a test notification came to.
#[derive(Debug)]
pub enum TestOutcome {
    /// Sent (or refused by the policy when re-checked): the report says which.
    Sent(Box<TestReport>),
    /// The merchant already sent [`TESTS_PER_MINUTE`] in the last minute.
    TooMany,
    /// The merchant's [`super::in_flight::TESTS_IN_FLIGHT`] tests are still on their way.
    Busy,
    /// That environment has no saved URL.
    NoUrl,
}

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

/// Sends the sample notification for `target` to the merchant's saved `environment` URL and
/// records it (delivery row and audit event), unless the merchant is over a limit or has no
/// URL there. The test holds one of the merchant's slots from before the limits are checked
/// until it is recorded, so tests sent at once cannot all pass the check. The URL is vetted
/// again first, DNS included whatever `PAYHOOK_DNS_CHECK` says, and the client connects only
/// to the addresses vetted.
#[tracing::instrument(skip(db, settings, actor), fields(section = target.section.code, channel = target.channel.code))]
pub async fn run_test(
    db: &Db,
    settings: &Settings,
    merchant_id: i64,
    target: ChannelTarget,
    environment: Environment,
    actor: &Actor,
) -> anyhow::Result<TestOutcome> {
    let longest = dns::LOOKUP_TIMEOUT + settings.notification_timeout;
    let Some(slot) = TestSlot::take(db, merchant_id, longest).await? else {
        return Ok(TestOutcome::Busy);
    };
    let outcome = send_and_record(db, settings, merchant_id, target, environment, actor).await;
    // A slot that could not be given back frees itself when its time is up.
    if let Err(error) = slot.release().await {
        tracing::warn!(%error, "giving back a test notification slot");
    }
    outcome
}

/// The test itself, while its slot is held.
async fn send_and_record(
    db: &Db,
    settings: &Settings,
    merchant_id: i64,
    target: ChannelTarget,
    environment: Environment,
    actor: &Actor,
) -> anyhow::Result<TestOutcome> {
    let now = now_ms();
    let sent = db
        .recent_tests(merchant_id, now - 60_000, TESTS_PER_MINUTE)
        .await?;
    // The other test in flight counts too: it is not recorded yet.
    let others_in_flight = db.tests_in_flight(merchant_id, now).await? - 1;
    if sent + others_in_flight >= TESTS_PER_MINUTE {
        return Ok(TestOutcome::TooMany);
    }
    let setting = db
        .channel_setting(merchant_id, target.section.code, target.channel.code)
        .await?;
    let saved = match environment {
        Environment::Sandbox => setting.sandbox_url,
        Environment::Production => setting.production_url,
    };
    let Some(url) = saved else {
        return Ok(TestOutcome::NoUrl);
    };
    let resolver = settings.resolver.for_merchant(merchant_id);
    let vetted = dns::vet(&url, environment, &settings.url_policy, Some(&resolver)).await;
    let (request, exchange, refusals) = match vetted {
        Ok(vetted) if !vetted.addresses.is_empty() => {
            let secrets = &settings.secret_box;
            let key = crate::api_keys::ensure(db, secrets, merchant_id, environment, actor).await?;
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
        .transpose()?
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
        environment,
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
    tracing::info!(
        %environment,
        outcome = outcome.as_str(),
        delivery = delivery_id,
        "test notification"
    );
    Ok(TestOutcome::Sent(Box::new(TestReport {
        environment,
        url,
        outcome,
        request,
        exchange,
        refusals,
        delivery_id,
    })))
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
