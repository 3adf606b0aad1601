//! Saves from concurrent requests share a transaction: one writer task per process takes
//! whatever saves are waiting and applies them together, so a burst costs one commit and one
//! turn at the audit chain's lock instead of one each (group commit). Each save still gets its
//! own outcome, and a batch that fails is retried one save at a time, so one bad save never
//! fails the others.

use tokio::sync::{mpsc, oneshot};

use crate::store::{Actor, ChannelUpdate, Db, SaveOutcome};

/// Saves waiting beyond this many wait for the next batch.
const MAX_BATCH: usize = 64;

struct Job {
    save: (ChannelUpdate, Actor),
    reply: oneshot::Sender<sqlx::Result<SaveOutcome>>,
}

/// Where requests hand their saves to the writer.
#[derive(Clone)]
pub struct SaveQueue {
    jobs: mpsc::Sender<Job>,
}

impl SaveQueue {
    /// Starts the writer on `db`; it stops when the last queue handle is dropped.
    pub fn start(db: Db) -> Self {
        let (jobs, waiting) = mpsc::channel(1024);
        tokio::spawn(write(db, waiting));
        Self { jobs }
    }

    /// Saves one channel's URLs with their audit events, in a transaction shared with the
    /// saves waiting beside it.
    pub async fn save(&self, update: ChannelUpdate, actor: Actor) -> anyhow::Result<SaveOutcome> {
        let (reply, outcome) = oneshot::channel();
        let job = Job {
            save: (update, actor),
            reply,
        };
        self.jobs
            .send(job)
            .await
            .map_err(|_| anyhow::anyhow!("the save writer has stopped"))?;
        Ok(outcome
            .await
            .map_err(|_| anyhow::anyhow!("the save writer dropped a save"))??)
    }
}

async fn write(db: Db, mut waiting: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while waiting.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let saves: Vec<(ChannelUpdate, Actor)> = batch.iter().map(|job| job.save.clone()).collect();
        match db.save_channels(&saves).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(error) => {
                if batch.len() > 1 {
                    tracing::warn!(%error, saves = batch.len(), "a batch of saves failed: one by one");
                }
                for job in batch.drain(..) {
                    let (update, actor) = &job.save;
                    let _ = job.reply.send(db.save_channel(update, actor).await);
                }
            }
        }
    }
}
