//! The delivery workers inside `payhook serve`: claim due deliveries with a lease, make one
//! attempt each (at most `PAYHOOK_DELIVERY_CONCURRENCY` at once), record it, and schedule the
//! next one. Deliveries live in the database, so a process that dies loses nothing: its leases
//! run out and any process takes the deliveries again.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Semaphore, watch};
use tokio::task::JoinSet;

use super::attempt::{Notification, attempt};
use super::message::Signer;
use super::millis;
use crate::api_keys::{self, ApiKey};
use crate::catalog::Section;
use crate::config::Settings;
use crate::domain::Environment;
use crate::domain::{DeliveryError, DeliveryKind, Outcome};
use crate::i18n::Lang;
use crate::metrics::Metrics;
use crate::shutdown::{StopClaiming, finish_within};
use crate::state::Wake;
use crate::store::recover::RECOVER_PER_SECOND;
use crate::store::{AfterAttempt, ClaimedDelivery, Db, now_ms};

/// The running workers.
pub struct Workers {
    stop: StopClaiming,
    task: tokio::task::JoinHandle<()>,
    db: Db,
    /// Starts every claim token of this process, so its leases can be told from others'.
    owner: String,
    lease: Duration,
}

impl Workers {
    /// Starts the workers on `db`; `wake` wakes them, `stop` ends their claiming.
    pub fn start(
        db: Db,
        settings: Arc<Settings>,
        wake: Wake,
        metrics: Arc<Metrics>,
        stop: &StopClaiming,
    ) -> Self {
        let stopped = stop.subscribe();
        let owner = crate::random::random_token()[..16].to_owned();
        let lease = settings.delivery_lease;
        let task = tokio::spawn(run(
            db.clone(),
            settings,
            metrics,
            wake,
            stopped,
            owner.clone(),
        ));
        Self {
            stop: stop.clone(),
            task,
            db,
            owner,
            lease,
        }
    }

    /// Claims nothing more and waits up to `within` for the attempts in flight; attempts still
    /// running then are abandoned. Then every lease of this process is given back, so what it
    /// claimed and did not attempt is due again at once for whichever process runs next.
    pub async fn stop(mut self, within: Duration) {
        self.stop.stop();
        finish_within(&mut self.task, within, "delivery attempts").await;
        let now = now_ms();
        let latest = now + millis(self.lease);
        match self.db.release_leases(&self.owner, now, latest).await {
            Ok(0) => {}
            Ok(released) => tracing::info!(released, "claimed deliveries are due again"),
            Err(error) => tracing::warn!(%error, "giving back delivery leases at shutdown"),
        }
    }
}

async fn run(
    db: Db,
    settings: Arc<Settings>,
    metrics: Arc<Metrics>,
    wake: Wake,
    mut stopped: watch::Receiver<bool>,
    owner: String,
) {
    let mut batches = 0u64;
    let permits = Arc::new(Semaphore::new(settings.delivery_concurrency));
    let recover_permits = Arc::new(Semaphore::new(recover_workers(
        settings.delivery_concurrency,
    )));
    let recover_batch = recover_batch(settings.delivery_concurrency);
    let mut in_flight = JoinSet::new();
    let lease = millis(settings.delivery_lease);
    loop {
        if *stopped.borrow() {
            break;
        }
        while in_flight.try_join_next().is_some() {}
        let free = permits.available_permits();
        if free == 0 {
            tokio::select! {
                _ = in_flight.join_next() => {}
                _ = stopped.changed() => {}
            }
            continue;
        }
        let now = now_ms();
        batches += 1;
        let token = format!("{owner}:{batches}");
        let limits = Limits {
            free: free as i64,
            recover: recover_permits.available_permits() as i64,
            recover_batch,
        };
        let batch = claim(&db, now, now + lease, &token, limits).await;
        if batch.deliveries.is_empty() {
            // A paced recover waits for its merchant's next batch, not for the next poll.
            let pause = batch.recover_next_at.map_or(settings.delivery_poll, |at| {
                Duration::from_millis(u64::try_from(at - now).unwrap_or(0).max(5))
                    .min(settings.delivery_poll)
            });
            tokio::select! {
                () = wake.woken() => {}
                () = tokio::time::sleep(pause) => {}
                _ = stopped.changed() => {}
            }
            continue;
        }
        let claimed: Vec<&ClaimedDelivery> = batch.deliveries.iter().map(|(d, _)| d).collect();
        let keys = signing_keys(&db, &settings, &claimed).await;
        for (delivery, recovered) in batch.deliveries {
            let Ok(permit) = permits.clone().try_acquire_owned() else {
                break;
            };
            let recover_permit = if recovered {
                match recover_permits.clone().try_acquire_owned() {
                    Ok(permit) => Some(permit),
                    Err(_) => break,
                }
            } else {
                None
            };
            let key = keys.get(&(delivery.merchant_id, delivery.environment));
            let (db, settings, key) = (db.clone(), settings.clone(), key.cloned());
            let (metrics, stopped) = (metrics.clone(), stopped.clone());
            in_flight.spawn(async move {
                // Claimed but not started when the stop came: its lease is given back.
                if *stopped.borrow() {
                    return;
                }
                if let Some(outcome) = deliver(&db, &settings, &delivery, key.as_ref()).await {
                    let kind = if delivery.manual_by.is_some() {
                        "resend"
                    } else {
                        DeliveryKind::Payment.as_str()
                    };
                    metrics.delivery_attempt(kind, outcome.as_str());
                }
                drop((permit, recover_permit));
            });
        }
    }
    while in_flight.join_next().await.is_some() {}
}

/// Recovered resends in flight at once: never more than half the workers, so a merchant's
/// recover cannot hold up other merchants' notifications.
fn recover_workers(concurrency: usize) -> usize {
    (concurrency / 2).max(1)
}

/// The most recovered resends of one merchant claimed at once: the largest divisor of
/// [`RECOVER_PER_SECOND`] within [`recover_workers`], so the batches, evenly spaced, never
/// put more than that many starts in one second.
fn recover_batch(concurrency: usize) -> i64 {
    let workers = recover_workers(concurrency) as i64;
    (1..=RECOVER_PER_SECOND.min(workers))
        .rev()
        .find(|n| RECOVER_PER_SECOND % n == 0)
        .unwrap_or(1)
}

/// How much one claim may take.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// Free workers.
    free: i64,
    /// Free workers for recovered resends.
    recover: i64,
    recover_batch: i64,
}

/// A claim's deliveries, each marked when a recover queued it.
struct Batch {
    deliveries: Vec<(ClaimedDelivery, bool)>,
    recover_next_at: Option<i64>,
}

/// Resends first (a user is waiting for them) but at most half of the free workers, so
/// resends never hold up payments' notifications, then recovered resends (paced), then due
/// deliveries. A failed claim of one kind does not stop the others.
async fn claim(db: &Db, now: i64, lease_until: i64, token: &str, limits: Limits) -> Batch {
    let mut deliveries: Vec<(ClaimedDelivery, bool)> = db
        .claim_resends(now, lease_until, token, (limits.free + 1) / 2)
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "claiming resends");
            Vec::new()
        })
        .into_iter()
        .map(|delivery| (delivery, false))
        .collect();
    let mut recover_next_at = None;
    let recover = (limits.free - deliveries.len() as i64).min(limits.recover);
    if recover > 0 {
        // A token of its own: the claim reads back its rows by token.
        let recover_token = format!("{token}:recover");
        let claim = db.claim_recovered(
            now,
            lease_until,
            &recover_token,
            recover,
            limits.recover_batch,
        );
        match claim.await {
            Ok(recovered) => {
                recover_next_at = recovered.next_at;
                deliveries.extend(recovered.claimed.into_iter().map(|d| (d, true)));
            }
            Err(error) => tracing::warn!(%error, "claiming recovered resends"),
        }
    }
    let left = limits.free - deliveries.len() as i64;
    if left > 0 {
        match db.claim_due_deliveries(now, lease_until, token, left).await {
            Ok(due) => deliveries.extend(due.into_iter().map(|d| (d, false))),
            Err(error) => tracing::warn!(%error, "claiming deliveries"),
        }
    }
    Batch {
        deliveries,
        recover_next_at,
    }
}

/// The signing key of every (merchant, environment) in `batch`, read once per batch so a
/// rotated secret signs the next attempt.
async fn signing_keys(
    db: &Db,
    settings: &Settings,
    batch: &[&ClaimedDelivery],
) -> HashMap<(i64, Environment), ApiKey> {
    let mut keys = HashMap::new();
    for delivery in batch {
        let id = (delivery.merchant_id, delivery.environment);
        if keys.contains_key(&id) {
            continue;
        }
        let environment = delivery.environment;
        match api_keys::find(db, &settings.secret_box, delivery.merchant_id, environment).await {
            Ok(Some(key)) => {
                keys.insert(id, key);
            }
            Ok(None) => tracing::warn!(merchant = delivery.merchant_id, "no signing key yet"),
            Err(error) => tracing::warn!(%error, merchant = delivery.merchant_id, "signing key"),
        }
    }
    keys
}

/// Makes one attempt of a claimed delivery and records it with what follows; returns its
/// outcome, or `None` when no attempt could be made.
#[tracing::instrument(skip_all, fields(delivery = delivery.id, attempt = delivery.attempts + 1))]
async fn deliver(
    db: &Db,
    settings: &Settings,
    delivery: &ClaimedDelivery,
    key: Option<&ApiKey>,
) -> Option<Outcome> {
    let (Some(section), Some(key)) = (Section::find(&delivery.section), key) else {
        // Left claimed: the lease runs out and a later claim tries again.
        tracing::warn!("delivery has no known channel or signing key yet");
        return None;
    };
    let notification = Notification {
        environment: delivery.environment,
        format: section.format(),
        url: &delivery.url,
        request_id: &delivery.request_id,
        body: &delivery.request_body,
        signer: Signer {
            client_id: &key.client_id,
            secret: key.secret.expose(),
        },
    };
    let report = attempt(settings, notification).await;
    let stored = report.error().map(DeliveryError::encode);
    let record = report.record(stored.as_deref());
    // The process log reads in English, whoever reads the pages.
    let error = report.error().map(|e| e.describe(Lang::En));
    let error = error.as_deref();
    if delivery.manual_by.is_some() {
        match db.record_resend(delivery, &record, Some(settings)).await {
            Ok(true) => tracing::info!(outcome = report.outcome.as_str(), error, "resent"),
            Ok(false) => tracing::warn!("resend lease ran out before its attempt was recorded"),
            Err(error) => tracing::error!(%error, "recording a resend"),
        }
        return Some(report.outcome);
    }
    let after = if report.outcome == Outcome::Delivered {
        AfterAttempt::Delivered
    } else {
        let first = delivery.first_attempt_at.unwrap_or(report.at);
        settings
            .retry_schedule
            .after_failure(delivery.scheduled_attempts() + 1, first)
    };
    match db
        .record_attempt(delivery, &record, after, Some(settings))
        .await
    {
        Ok(true) if after == AfterAttempt::Delivered => tracing::debug!("notification delivered"),
        Ok(true) => {
            let outcome = report.outcome.as_str();
            tracing::info!(outcome, next = ?after, error, "delivery attempt failed");
        }
        Ok(false) => tracing::warn!("delivery lease ran out before its attempt was recorded"),
        Err(error) => tracing::error!(%error, "recording a delivery attempt"),
    }
    Some(report.outcome)
}
