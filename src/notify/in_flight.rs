//! At most [`TESTS_IN_FLIGHT`] test notifications per merchant at once, across every server on
//! the database: each one holds a slot row from before it is sent until it is recorded.

use std::time::Duration;

use crate::store::{Db, now_ms};

/// Test notifications one merchant may have on their way at the same time.
pub const TESTS_IN_FLIGHT: i64 = 2;

/// Margin on top of the longest a test may take, before a slot left by a stopped server frees
/// itself.
const SLOT_MARGIN: Duration = Duration::from_secs(30);

/// A taken slot; given back by [`TestSlot::release`], or when dropped (a request given up
/// half-way) by a task of its own.
pub struct TestSlot {
    db: Db,
    merchant_id: i64,
    slot: i64,
    holder: String,
    released: bool,
}

impl TestSlot {
    /// Takes a free slot, or `None` when the merchant's tests in flight are at the limit.
    /// `longest` is the most a test may take (DNS and the notification's own time limit).
    pub async fn take(db: &Db, merchant_id: i64, longest: Duration) -> sqlx::Result<Option<Self>> {
        let holder = crate::random::random_token();
        let now = now_ms();
        let hold = i64::try_from((longest + SLOT_MARGIN).as_millis()).unwrap_or(i64::MAX);
        let until = now.saturating_add(hold);
        let slot = db
            .take_test_slot(merchant_id, TESTS_IN_FLIGHT, &holder, now, until)
            .await?;
        Ok(slot.map(|slot| Self {
            db: db.clone(),
            merchant_id,
            slot,
            holder,
            released: false,
        }))
    }

    pub async fn release(mut self) -> sqlx::Result<()> {
        self.released = true;
        self.db
            .release_test_slot(self.merchant_id, self.slot, &self.holder)
            .await
    }
}

impl Drop for TestSlot {
    fn drop(&mut self) {
        if self.released {
            return;
        }
        let (db, merchant_id, slot) = (self.db.clone(), self.merchant_id, self.slot);
        let holder = std::mem::take(&mut self.holder);
        tokio::spawn(async move {
            if let Err(error) = db.release_test_slot(merchant_id, slot, &holder).await {
                tracing::warn!(%error, "giving back a test notification slot");
            }
        });
    }
}
