//! Slots of test notifications in flight, one row each while a test is on its way.

use super::{Db, on_pool};

impl Db {
    /// Takes one of the merchant's `slots` test-notification slots for `holder` until
    /// `until`: a free one, or one whose holder ran out of time by `now`. Each attempt is one
    /// statement, so two servers never take the same slot. Returns the slot taken.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn take_test_slot(
        &self,
        merchant_id: i64,
        slots: i64,
        holder: &str,
        now: i64,
        until: i64,
    ) -> sqlx::Result<Option<i64>> {
        for slot in 0..slots {
            let taken = on_pool!(self, |pool, _dialect| {
                sqlx::query(
                    "INSERT INTO test_notification_slots (merchant_id, slot, holder, held_until) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT (merchant_id, slot) DO UPDATE \
                     SET holder = excluded.holder, held_until = excluded.held_until \
                     WHERE test_notification_slots.held_until <= $5",
                )
                .bind(merchant_id)
                .bind(slot)
                .bind(holder)
                .bind(until)
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
            })?;
            if taken == 1 {
                return Ok(Some(slot));
            }
        }
        Ok(None)
    }

    /// Gives a slot back, unless it has passed to another holder since.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn release_test_slot(
        &self,
        merchant_id: i64,
        slot: i64,
        holder: &str,
    ) -> sqlx::Result<()> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query(
                "DELETE FROM test_notification_slots \
                 WHERE merchant_id = $1 AND slot = $2 AND holder = $3",
            )
            .bind(merchant_id)
            .bind(slot)
            .bind(holder)
            .execute(pool)
            .await
            .map(drop)
        })
    }

    /// How many of the merchant's test notifications are in flight at `now`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn tests_in_flight(&self, merchant_id: i64, now: i64) -> sqlx::Result<i64> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM test_notification_slots \
                 WHERE merchant_id = $1 AND held_until > $2",
            )
            .bind(merchant_id)
            .bind(now)
            .fetch_one(pool)
            .await
        })
    }
}
