//! The mail worker inside `payhook serve`: claims due emails with a lease, hands each to the
//! relay, records every try and schedules the next one: after about 10 s, doubling up to
//! 15 min, for a day. The outbox lives in the database, so a process that dies loses nothing:
//! its leases run out and any process takes the emails again (only the one in flight at the
//! crash can reach the recipient twice, with the same Message-ID).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use super::outbox;
use super::transport::Transport;
use crate::config::Settings;
use crate::domain::DAY_MS;
use crate::metrics::Metrics;
use crate::shutdown::{StopClaiming, finish_within};
use crate::state::Wake;
use crate::store::outbox::{AfterSend, ClaimedEmail};
use crate::store::{Db, millis, now_ms};

/// Emails sent at once by one process: they are few, and a relay limits connections anyway.
const AT_ONCE: i64 = 4;
/// The first retry's delay; each next one doubles, up to [`LONGEST_WAIT_MS`].
const FIRST_WAIT_MS: i64 = 10_000;
const LONGEST_WAIT_MS: i64 = 15 * 60 * 1000;
/// After this long since it was queued, an email that still did not go out is given up.
const GIVE_UP_AFTER_MS: i64 = DAY_MS;

/// When to try an email again after its `tries`-th failed try, or `GiveUp` past a day.
pub fn after_failure(tries: i64, created_at: i64, now: i64) -> AfterSend {
    let doublings = u32::try_from(tries.saturating_sub(1))
        .unwrap_or(u32::MAX)
        .min(20);
    let wait = FIRST_WAIT_MS
        .saturating_mul(1 << doublings)
        .min(LONGEST_WAIT_MS);
    let next = now + wait;
    if next > created_at + GIVE_UP_AFTER_MS {
        AfterSend::GiveUp
    } else {
        AfterSend::RetryAt(next)
    }
}

/// The running worker.
pub struct MailWorker {
    stop: StopClaiming,
    task: tokio::task::JoinHandle<()>,
    db: Db,
    /// Starts every claim token of this process.
    owner: String,
    lease: Duration,
}

impl MailWorker {
    /// Starts the worker on `db`; `wake` wakes it when an email is queued, `stop` ends its
    /// claiming.
    pub fn start(
        db: Db,
        settings: Arc<Settings>,
        wake: Wake,
        metrics: Arc<Metrics>,
        stop: &StopClaiming,
    ) -> anyhow::Result<Self> {
        let transport = Transport::new(&settings.mail)?;
        match &settings.mail.relay {
            Some(relay) => tracing::info!(%relay, "emails go out through this relay"),
            None => tracing::warn!(
                "PAYHOOK_SMTP_URL is not set: emails are only written to this log, not sent"
            ),
        }
        let owner = format!("mail-{}", &crate::random::random_token()[..16]);
        let lease = settings.delivery_lease;
        let task = tokio::spawn(run(
            Sending {
                db: db.clone(),
                settings,
                transport,
                metrics,
            },
            wake,
            stop.subscribe(),
            owner.clone(),
        ));
        Ok(Self {
            stop: stop.clone(),
            task,
            db,
            owner,
            lease,
        })
    }

    /// Claims nothing more and waits up to `within` for the emails in flight, then gives back
    /// this process's leases.
    pub async fn stop(mut self, within: Duration) {
        self.stop.stop();
        finish_within(&mut self.task, within, "emails").await;
        let now = now_ms();
        let latest = now + millis(self.lease);
        if let Err(error) = self.db.release_email_leases(&self.owner, now, latest).await {
            tracing::warn!(%error, "giving back email leases at shutdown");
        }
    }
}

/// What sending one email needs.
#[derive(Clone)]
struct Sending {
    db: Db,
    settings: Arc<Settings>,
    transport: Transport,
    metrics: Arc<Metrics>,
}

async fn run(sending: Sending, wake: Wake, mut stopped: watch::Receiver<bool>, owner: String) {
    let lease = millis(sending.settings.delivery_lease);
    let mut batches = 0u64;
    loop {
        if *stopped.borrow() {
            break;
        }
        let now = now_ms();
        batches += 1;
        let token = format!("{owner}:{batches}");
        let batch = match sending
            .db
            .claim_due_emails(now, now + lease, &token, AT_ONCE)
            .await
        {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(%error, "claiming emails");
                Vec::new()
            }
        };
        if batch.is_empty() {
            tokio::select! {
                () = wake.woken() => {}
                () = tokio::time::sleep(sending.settings.delivery_poll) => {}
                _ = stopped.changed() => {}
            }
            continue;
        }
        let mut in_flight = JoinSet::new();
        for email in batch {
            let sending = sending.clone();
            in_flight.spawn(async move { sending.send(&email).await });
        }
        while in_flight.join_next().await.is_some() {}
    }
}

impl Sending {
    /// One try of a claimed email, recorded with what follows it.
    #[tracing::instrument(skip_all, fields(email = email.id, kind = %email.kind, try_ = email.attempts + 1))]
    async fn send(&self, email: &ClaimedEmail) {
        let from = &self.settings.mail.from;
        let outcome = match outbox::open(email, &self.settings.secret_box) {
            Ok(content) => {
                let sent = self
                    .transport
                    .send(from, &email.recipient, &email.message_id, &content);
                sent.await
            }
            Err(error) => Err(format!("the email cannot be opened: {error}")),
        };
        let now = now_ms();
        let after = match &outcome {
            Ok(()) => AfterSend::Sent,
            Err(_) => after_failure(email.attempts + 1, email.created_at, now),
        };
        let error = outcome.err();
        match self
            .db
            .record_email_try(email, now, error.as_deref(), after)
            .await
        {
            Ok(true) => {}
            Ok(false) => tracing::warn!("the email's lease ran out before its try was recorded"),
            Err(error) => tracing::error!(%error, "recording an email try"),
        }
        self.metrics.email_sent(after);
        match (after, error) {
            (AfterSend::Sent, _) => tracing::info!("email sent"),
            (AfterSend::RetryAt(next), Some(error)) => {
                tracing::warn!(
                    error,
                    retry_in_ms = next - now,
                    "email not sent; trying again"
                );
            }
            (_, error) => tracing::error!(error, "email given up after a day of tries"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_start_near_ten_seconds_double_to_fifteen_minutes_and_stop_after_a_day() {
        let created = 1_000_000;
        let wait = |tries, now| match after_failure(tries, created, now) {
            AfterSend::RetryAt(next) => next - now,
            other => panic!("{other:?}"),
        };
        assert_eq!(wait(1, created), 10_000);
        assert_eq!(wait(2, created), 20_000);
        assert_eq!(wait(4, created), 80_000);
        assert_eq!(wait(8, created), LONGEST_WAIT_MS);
        assert_eq!(wait(60, created), LONGEST_WAIT_MS);
        assert_eq!(wait(i64::MAX, created), LONGEST_WAIT_MS);
        let late = created + DAY_MS - 60_000;
        assert_eq!(after_failure(30, created, late), AfterSend::GiveUp);
    }
}
