//! Payments and their queued notifications written straight to the database, as the payment
//! API would, for the tests of the delivery queue, metrics and health.

use payhook::catalog::ChannelTarget;
use payhook::domain::{Environment, PaymentStatus};
use payhook::notify::message::{self, PaymentFacts};
use payhook::secrets::SecretBox;
use payhook::store::payments::{QueuedNotification, StatusChange, StoredPayment};
use payhook::store::{Actor, Db, now_ms};

use super::{TestApp, code};

/// Creates merchant `merchant` (with its sandbox signing key when `signing_key`), a paid
/// payment and one queued notification per URL; returns the payment's id.
pub async fn queue_notifications(
    app: &TestApp,
    merchant: &str,
    urls: &[String],
    signing_key: bool,
) -> String {
    let secrets = signing_key.then_some(&app.settings.secret_box);
    queue_on(&app.db, secrets, merchant, urls).await
}

/// Like [`queue_notifications`] on any database: the signing key sealed with `secrets`, the
/// key of the servers that will deliver, when given.
pub async fn queue_on(
    db: &Db,
    secrets: Option<&SecretBox>,
    merchant: &str,
    urls: &[String],
) -> String {
    let merchant_id = match db.find_merchant(&code(merchant)).await.unwrap() {
        Some(found) => found.id,
        None => db
            .create_merchant(&code(merchant), merchant, None)
            .await
            .unwrap(),
    };
    if let Some(secrets) = secrets {
        let actor = Actor::default();
        payhook::api_keys::ensure(db, secrets, merchant_id, Environment::Sandbox, &actor)
            .await
            .unwrap();
    }
    let now = now_ms();
    let payment = StoredPayment {
        id: format!("pay_{}", &payhook::random::random_token()[..24]),
        merchant_id,
        section: "va".into(),
        channel: "bca".into(),
        invoice_number: format!("INV-{}", &payhook::random::random_token()[..8]),
        amount: 150_000,
        status: PaymentStatus::Pending,
        notification_urls: "[]".into(),
        request_hash: String::new(),
        created_at: now,
        updated_at: now,
    };
    let payment = db.insert_payment(&payment).await.unwrap();
    let target = ChannelTarget::find("va", "bca").unwrap();
    let body = message::body(&PaymentFacts {
        target,
        invoice_number: &payment.invoice_number,
        amount: payment.amount,
        status: PaymentStatus::Success,
        reference: &payment.id,
        at: time::OffsetDateTime::now_utc(),
        test: false,
    });
    let notifications: Vec<QueuedNotification> = urls
        .iter()
        .map(|url| QueuedNotification {
            url: url.clone(),
            request_id: message::new_request_id(target.section.format()),
            request_body: body.clone(),
        })
        .collect();
    let change = db
        .change_payment_status(
            merchant_id,
            &payment.id,
            PaymentStatus::Success,
            Environment::Sandbox,
            &notifications,
        )
        .await
        .unwrap();
    assert_eq!(change, StatusChange::Changed);
    payment.id
}

/// Waits up to `limit` until every delivery of `payment` has left the queue (delivered,
/// failed or waiting for a retry); returns their statuses.
pub async fn settled(app: &TestApp, payment: &str, limit: std::time::Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + limit;
    loop {
        let (deliveries, _) = app.db.payment_deliveries(payment).await.unwrap();
        if !deliveries.is_empty() && deliveries.iter().all(|d| d.attempts > 0) {
            return deliveries.iter().map(|d| d.status.to_string()).collect();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "deliveries not attempted in time: {deliveries:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
