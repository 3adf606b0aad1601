//! The housekeeping job inside `payhook serve`: every `PAYHOOK_HOUSEKEEPING_SECONDS` it writes
//! the take-over of scheduled key rotations whose time has come, and, on one instance at a time
//! (a job lease, held while it runs), deletes notifications older than `PAYHOOK_RETENTION_DAYS` and sent emails
//! older than 30 days, in batches of at most [`BATCH_ROWS`] rows per transaction.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use crate::config::Settings;
use crate::domain::DAY_MS;
use crate::metrics::Metrics;
use crate::shutdown::{StopClaiming, finish_within};
use crate::store::retention::Purged;
use crate::store::{Db, millis, now_ms};

/// Rows one retention transaction deletes at most.
pub const BATCH_ROWS: i64 = 1_000;
/// Sent (or given up) emails are kept this long.
pub const EMAIL_RETENTION_DAYS: i64 = 30;
/// The job lease's name.
const RETENTION_JOB: &str = "retention";

/// The running job.
pub struct Housekeeping {
    stop: StopClaiming,
    task: tokio::task::JoinHandle<()>,
}

impl Housekeeping {
    pub fn start(
        db: Db,
        settings: Arc<Settings>,
        metrics: Arc<Metrics>,
        stop: &StopClaiming,
    ) -> Self {
        let stopped = stop.subscribe();
        let holder = crate::random::random_token()[..16].to_owned();
        let task = tokio::spawn(run(db, settings, metrics, stopped, holder));
        Self {
            stop: stop.clone(),
            task,
        }
    }

    /// Starts no new batch and waits up to `within` for the one running.
    pub async fn stop(mut self, within: Duration) {
        self.stop.stop();
        finish_within(&mut self.task, within, "housekeeping").await;
    }
}

async fn run(
    db: Db,
    settings: Arc<Settings>,
    metrics: Arc<Metrics>,
    mut stopped: watch::Receiver<bool>,
    holder: String,
) {
    let every = settings.housekeeping_every;
    loop {
        if *stopped.borrow() {
            break;
        }
        match crate::api_keys::take_over_due(&db, &settings).await {
            Ok(0) => {}
            Ok(taken) => tracing::info!(taken, "scheduled secret keys took over"),
            Err(error) => tracing::warn!(%error, "taking over scheduled secret keys"),
        }
        let now = now_ms();
        let lease_until = now + 2 * millis(every);
        match db.hold_job(RETENTION_JOB, &holder, now, lease_until).await {
            Ok(true) => {
                let job = Job {
                    db: &db,
                    holder: &holder,
                    lease: 2 * millis(every),
                };
                purge(&job, &settings, &metrics, &stopped).await;
                if let Err(error) = db.release_job(RETENTION_JOB, &holder, now_ms()).await {
                    tracing::warn!(%error, "giving back the retention job");
                }
            }
            Ok(false) => {}
            Err(error) => tracing::warn!(%error, "taking the retention job"),
        }
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            _ = stopped.changed() => {}
        }
    }
}

/// Deletes what is past its time, one small transaction after another, until nothing is left
/// or the server stops.
/// The retention job's lease, as its holder keeps it.
struct Job<'a> {
    db: &'a Db,
    holder: &'a str,
    lease: i64,
}

async fn purge(
    job: &Job<'_>,
    settings: &Settings,
    metrics: &Metrics,
    stopped: &watch::Receiver<bool>,
) {
    let db = job.db;
    let now = now_ms();
    let notifications_before = now - settings.retention_days * DAY_MS;
    let emails_before = now - EMAIL_RETENTION_DAYS * DAY_MS;
    let mut total = Purged::default();
    for emails in [false, true] {
        loop {
            if *stopped.borrow() {
                return;
            }
            let batch = if emails {
                db.purge_emails(emails_before, BATCH_ROWS).await
            } else {
                db.purge_notifications(notifications_before, BATCH_ROWS)
                    .await
            };
            let purged = match batch {
                Ok(purged) => purged,
                Err(error) => {
                    tracing::warn!(%error, "retention batch");
                    break;
                }
            };
            if purged.rows() == 0 {
                break;
            }
            count(metrics, &purged);
            total.notifications += purged.notifications;
            total.attempts += purged.attempts;
            total.emails += purged.emails;
            total.email_attempts += purged.email_attempts;
            total.hours += purged.hours;
            // A long purge keeps its lease, so no other instance starts one beside it.
            let now = now_ms();
            match db
                .hold_job(RETENTION_JOB, job.holder, now, now + job.lease)
                .await
            {
                Ok(true) => {}
                Ok(false) => return,
                Err(error) => {
                    tracing::warn!(%error, "keeping the retention job");
                    return;
                }
            }
        }
    }
    if total.rows() > 0 {
        tracing::info!(?total, "retention deleted old notifications and emails");
    }
}

fn count(metrics: &Metrics, purged: &Purged) {
    metrics.purged("notifications", purged.notifications);
    metrics.purged("attempts", purged.attempts);
    metrics.purged("emails", purged.emails);
    metrics.purged("email_attempts", purged.email_attempts);
    metrics.purged("delivery_hours", purged.hours);
}
