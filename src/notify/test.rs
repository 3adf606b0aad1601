//! Test notifications: the sample notification for a channel, sent to the merchant's saved
//! URL and recorded (delivery row and audit event), at most a few a minute per merchant and
//! two at a time.

use time::OffsetDateTime;

use super::attempt::{AttemptReport, Notification, attempt};
use super::in_flight::TestSlot;
use super::message::{self, PaymentFacts, Signer};
use crate::catalog::ChannelTarget;
use crate::config::Settings;
use crate::domain::{DeliveryError, DeliveryKind, Environment, PaymentStatus};
use crate::state::AppState;
use crate::store::{Actor, Db, TestDelivery, now_ms};

/// The sample payment's amount, in rupiah.
const SAMPLE_AMOUNT_IDR: i64 = 150_000;

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
    /// Signing with a scheduled secret was asked for, but no rotation is scheduled.
    NoScheduledSecret,
}

/// Which secret signs a test notification: while a rotation is scheduled, the merchant can
/// try the new one before it takes over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    Current,
    Scheduled,
}

/// What a test notification did, for the result page.
#[derive(Debug)]
pub struct TestReport {
    pub environment: Environment,
    pub url: String,
    pub report: AttemptReport,
    pub delivery_id: i64,
}

/// Sends the sample notification for `target` to the merchant's saved `environment` URL and
/// records it (delivery row and audit event), unless the merchant is over a limit or has no
/// URL there. The test holds one of the merchant's slots from before the limits are checked
/// until it is recorded, so tests sent at once cannot all pass the check. The URL is vetted
/// again first, DNS included whatever `PAYHOOK_DNS_CHECK` says, and the client connects only
/// to the addresses vetted.
#[tracing::instrument(skip(state, actor), fields(section = target.section.code, channel = target.channel.code))]
pub async fn run_test(
    state: &AppState,
    merchant_id: i64,
    target: ChannelTarget,
    environment: Environment,
    signing: Signing,
    actor: &Actor,
) -> anyhow::Result<TestOutcome> {
    let (db, settings) = (&state.db, &*state.settings);
    let longest = crate::dns::LOOKUP_TIMEOUT + settings.notification_timeout;
    let Some(slot) = TestSlot::take(db, merchant_id, longest).await? else {
        return Ok(TestOutcome::Busy);
    };
    let to = (target, environment, signing);
    let outcome = send_and_record(db, settings, merchant_id, to, actor).await;
    if let Ok(TestOutcome::Sent(sent)) = &outcome {
        let kind = DeliveryKind::Test.as_str();
        state
            .metrics
            .delivery_attempt(kind, sent.report.outcome.as_str());
    }
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
    (target, environment, signing): (ChannelTarget, Environment, Signing),
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
    let Some(url) = setting.url(environment).map(str::to_owned) else {
        return Ok(TestOutcome::NoUrl);
    };
    let key =
        crate::api_keys::ensure(db, &settings.secret_box, merchant_id, environment, actor).await?;
    let secret = match (signing, &key.next) {
        (Signing::Current, _) => &key.secret,
        (Signing::Scheduled, Some(next)) => &next.secret,
        (Signing::Scheduled, None) => return Ok(TestOutcome::NoScheduledSecret),
    };
    let format = target.section.format();
    let invoice = message::sample_invoice(OffsetDateTime::now_utc());
    let reference = message::uuid_v4();
    let body = message::body(&PaymentFacts {
        target,
        invoice_number: &invoice,
        amount: SAMPLE_AMOUNT_IDR,
        status: PaymentStatus::Success,
        reference: &reference,
        at: OffsetDateTime::now_utc(),
        test: true,
    });
    let request_id = message::new_request_id(format);
    let notification = Notification {
        environment,
        format,
        url: &url,
        request_id: &request_id,
        body: &body,
        signer: Signer {
            client_id: &key.client_id,
            secret: secret.expose(),
        },
    };
    let report = attempt(settings, notification).await;
    let error = report.error().map(DeliveryError::encode);
    let delivery = TestDelivery {
        merchant_id,
        section: target.section.code,
        channel: target.channel.code,
        environment,
        url: &url,
        request_id: &request_id,
        request_body: &body,
        attempt: report.record(error.as_deref()),
    };
    let delivery_id = db
        .record_test_delivery(&delivery, &report.summary(), actor, Some(settings))
        .await?;
    tracing::info!(
        %environment,
        outcome = report.outcome.as_str(),
        delivery = delivery_id,
        "test notification"
    );
    Ok(TestOutcome::Sent(Box::new(TestReport {
        environment,
        url,
        report,
        delivery_id,
    })))
}
