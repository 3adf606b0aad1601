//! What every handler can reach: the database, the validated settings, the queues to wake and
//! the shared guards.

use std::sync::Arc;

use tokio::sync::Notify;

use crate::config::Settings;
use crate::metrics::Metrics;
use crate::password::Hasher;
use crate::save_queue::SaveQueue;
use crate::store::Db;
use crate::throttle::Throttle;

/// Shared by every worker of the server, read-only.
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    /// Channel saves, applied in batches by one writer.
    pub saves: SaveQueue,
    /// Wakes the delivery workers when notifications are queued.
    pub deliveries: Wake,
    /// Wakes the mail worker when emails are queued.
    pub mail: Wake,
    /// Failed-password counters: sign-in, password re-checks, the API's Basic authentication.
    pub throttle: Throttle,
    /// Slots for argon2 work, about one per core.
    pub hasher: Hasher,
    /// What `/metrics` reports.
    pub metrics: Arc<Metrics>,
}

/// Wakes a worker when work was queued for it, so it need not wait for its next poll.
#[derive(Clone, Default)]
pub struct Wake(Arc<Notify>);

impl Wake {
    /// Work is due: look now.
    pub fn wake(&self) {
        self.0.notify_one();
    }

    /// Returns once [`Wake::wake`] was called (or had been, since the last return).
    pub async fn woken(&self) {
        self.0.notified().await;
    }
}
