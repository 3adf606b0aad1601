//! Server-side session rows, so that signing out (or disabling a user) really ends a session.

use super::{Db, on_pool};

impl Db {
    /// The session's state (JSON) when it exists and has not expired.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn load_session(&self, id: &str, now: i64) -> sqlx::Result<Option<String>> {
        on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT state FROM sessions WHERE id = $1 AND expires_at > $2")
                .bind(id)
                .bind(now)
                .fetch_optional(pool)
                .await
        })
    }

    /// Stores a new session.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn insert_session(
        &self,
        id: &str,
        user_id: Option<i64>,
        state: &str,
        expires_at: i64,
    ) -> sqlx::Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "INSERT INTO sessions (id, user_id, state, expires_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(id)
            .bind(user_id)
            .bind(state)
            .bind(expires_at)
            .execute(pool)
            .await
            .map(drop)
        })
    }

    /// Replaces a session's state if it still exists and has not expired by `now`, in one
    /// statement, so a session deleted meanwhile stays deleted; returns whether it did.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn update_session(
        &self,
        id: &str,
        user_id: Option<i64>,
        state: &str,
        expires_at: i64,
        now: i64,
    ) -> sqlx::Result<bool> {
        let done = on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE sessions SET user_id = $2, state = $3, expires_at = $4 \
                 WHERE id = $1 AND expires_at > $5",
            )
            .bind(id)
            .bind(user_id)
            .bind(state)
            .bind(expires_at)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn touch_session(&self, id: &str, expires_at: i64) -> sqlx::Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("UPDATE sessions SET expires_at = $1 WHERE id = $2")
                .bind(expires_at)
                .bind(id)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_session(&self, id: &str) -> sqlx::Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Ends every stored session of one user.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_user_sessions(&self, user_id: i64) -> sqlx::Result<u64> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn purge_expired_sessions(&self, now: i64) -> sqlx::Result<u64> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }
}
