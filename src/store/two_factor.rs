//! Two-factor sign-in: a user's sealed TOTP secret, the newest time step accepted (so a code
//! works once), the recovery codes (keyed hashes, each used once), and a merchant's rule that
//! all its users use it. Every change commits with its audit event and the notice it emails.

use sqlx::{Database, Encode, Executor, IntoArguments, Transaction, Type};

use super::audit::{Actor, AuditAction, AuditRecord, append_events};
use super::outbox::{QueuedEmail, enqueue};
use super::users::move_session_epoch;
use super::{Db, now_ms, on_pool};

/// A user's two-factor row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TwoFactorRow {
    /// The secret, sealed.
    pub secret: String,
    /// Set once the first code was right; before that, the setup is waiting for it.
    pub enabled_at: Option<i64>,
    /// When the setup began (ms): a setup is known by it.
    pub created_at: i64,
}

/// A change to a user's two-factor, with what records and tells it.
#[derive(Debug)]
pub struct TwoFactorChange<'a> {
    pub user_id: i64,
    pub merchant_id: Option<i64>,
    pub action: AuditAction,
    /// The email telling the user.
    pub notice: &'a QueuedEmail,
}

/// Replaces a user's recovery codes by `hashes` in the open transaction `tx`.
async fn replace_codes<DB>(
    tx: &mut Transaction<'_, DB>,
    user_id: i64,
    hashes: &[String],
) -> sqlx::Result<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
{
    sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    for hash in hashes {
        sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
            .bind(user_id)
            .bind(hash.as_str())
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

impl Db {
    /// The user's two-factor row, enabled or being set up.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn two_factor(&self, user_id: i64) -> sqlx::Result<Option<TwoFactorRow>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT secret, enabled_at, created_at FROM two_factor WHERE user_id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// Starts a setup with `sealed_secret` at `started` (ms), replacing one still waiting for
    /// its first code; false when two-factor is on already (nothing changes then).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn begin_two_factor(
        &self,
        user_id: i64,
        sealed_secret: &str,
        started: i64,
    ) -> sqlx::Result<bool> {
        let done = on_pool!(self, |pool, _dialect| {
            sqlx::query(
                "INSERT INTO two_factor (user_id, secret, created_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret, \
                 created_at = excluded.created_at, last_step = -1 \
                 WHERE two_factor.enabled_at IS NULL",
            )
            .bind(user_id)
            .bind(sealed_secret)
            .bind(started)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Turns on the setup waiting for its first code, if its secret is still `sealed_secret`
    /// (the one the code was checked against), that code being of time step `step`, with the
    /// recovery codes `hashes`; moves the user's session epoch on (their other sessions end)
    /// and records and tells it, in one transaction. Returns the new epoch, for the session
    /// that turned it on to stay signed in; `None` when no such setup was waiting.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn enable_two_factor(
        &self,
        change: &TwoFactorChange<'_>,
        sealed_secret: &str,
        step: i64,
        hashes: &[String],
        actor: &Actor,
    ) -> sqlx::Result<Option<i64>> {
        let now = now_ms();
        let epoch = on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let enabled = sqlx::query(
                "UPDATE two_factor SET enabled_at = $1, last_step = $2 \
                 WHERE user_id = $3 AND enabled_at IS NULL AND last_step < $2 AND secret = $4",
            )
            .bind(now)
            .bind(step)
            .bind(change.user_id)
            .bind(sealed_secret)
            .execute(&mut *tx)
            .await?;
            if enabled.rows_affected() == 0 {
                return Ok(None);
            }
            replace_codes(&mut tx, change.user_id, hashes).await?;
            let epoch = move_session_epoch(&mut tx, change.user_id).await?;
            record_change(&mut tx, dialect, change, actor, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(epoch))
        })?;
        if epoch.is_some() {
            self.forget_sessions(change.user_id).await;
        }
        Ok(epoch)
    }

    /// Accepts a code of time step `step` for a user with two-factor on, if no code of that
    /// step or a later one was accepted before: a code works once.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn accept_code_step(&self, user_id: i64, step: i64) -> sqlx::Result<bool> {
        let done = on_pool!(self, |pool, _dialect| {
            sqlx::query(
                "UPDATE two_factor SET last_step = $1 WHERE user_id = $2 \
                 AND enabled_at IS NOT NULL AND last_step < $1",
            )
            .bind(step)
            .bind(user_id)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
        })?;
        Ok(done == 1)
    }

    /// Uses up the recovery code hashed as `hash`, if the user has it unused, recording and
    /// telling it in the same transaction; false when there is no such code.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn use_recovery_code(
        &self,
        change: &TwoFactorChange<'_>,
        hash: &str,
        actor: &Actor,
    ) -> sqlx::Result<bool> {
        let now = now_ms();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let used = sqlx::query(
                "UPDATE recovery_codes SET used_at = $1 \
                 WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(change.user_id)
            .bind(hash)
            .execute(&mut *tx)
            .await?;
            if used.rows_affected() == 0 {
                return Ok(false);
            }
            record_change(&mut tx, dialect, change, actor, now).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Turns two-factor off, dropping the secret and the recovery codes, recorded and told;
    /// with `end_sessions`, every session of the user ends too. False when it was not on.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn disable_two_factor(
        &self,
        change: &TwoFactorChange<'_>,
        actor: &Actor,
        end_sessions: bool,
    ) -> sqlx::Result<bool> {
        let now = now_ms();
        let done = on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let gone =
                sqlx::query("DELETE FROM two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL")
                    .bind(change.user_id)
                    .execute(&mut *tx)
                    .await?;
            if gone.rows_affected() == 0 {
                return Ok(false);
            }
            replace_codes(&mut tx, change.user_id, &[]).await?;
            if end_sessions {
                move_session_epoch(&mut tx, change.user_id).await?;
            }
            record_change(&mut tx, dialect, change, actor, now).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(true)
        })?;
        if done && end_sessions {
            self.forget_sessions(change.user_id).await;
        }
        Ok(done)
    }

    /// Replaces the recovery codes of a user with two-factor on, recorded and told; false
    /// (nothing changed) when it is off.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn replace_recovery_codes(
        &self,
        change: &TwoFactorChange<'_>,
        hashes: &[String],
        actor: &Actor,
    ) -> sqlx::Result<bool> {
        let now = now_ms();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            // An update that changes nothing, for its lock: turning it off at the same moment
            // waits for this transaction, or this one finds it off.
            let on = sqlx::query(
                "UPDATE two_factor SET last_step = last_step \
                 WHERE user_id = $1 AND enabled_at IS NOT NULL",
            )
            .bind(change.user_id)
            .execute(&mut *tx)
            .await?;
            if on.rows_affected() == 0 {
                return Ok(false);
            }
            replace_codes(&mut tx, change.user_id, hashes).await?;
            record_change(&mut tx, dialect, change, actor, now).await?;
            tx.commit().await?;
            Ok(true)
        })
    }

    /// Records and tells an event about a user's two-factor that changes nothing else (too
    /// many wrong codes).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn record_two_factor_event(
        &self,
        change: &TwoFactorChange<'_>,
        actor: &Actor,
    ) -> sqlx::Result<()> {
        let now = now_ms();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            record_change(&mut tx, dialect, change, actor, now).await?;
            tx.commit().await
        })
    }

    /// How many unused recovery codes a user has.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn recovery_codes_left(&self, user_id: i64) -> sqlx::Result<i64> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
            )
            .bind(user_id)
            .fetch_one(pool)
            .await
        })
    }

    /// Whether every user of a merchant must sign in with two-factor; set by one of them,
    /// recorded (`team_two_factor_rule`: `required` or `optional`).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_merchant_two_factor_rule(
        &self,
        merchant_id: i64,
        required: bool,
        actor: &Actor,
    ) -> sqlx::Result<()> {
        let now = now_ms();
        let rule = if required { "required" } else { "optional" };
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            sqlx::query("UPDATE merchants SET require_two_factor = $1 WHERE id = $2")
                .bind(required)
                .bind(merchant_id)
                .execute(&mut *tx)
                .await?;
            let record = AuditRecord {
                merchant_id: Some(merchant_id),
                new_value: Some(rule),
                ..AuditRecord::of(AuditAction::TeamTwoFactorRule)
            };
            append_events(&mut tx, dialect, [(now, actor, &record)]).await?;
            tx.commit().await
        })
    }
}

/// The audit event and the notice of `change`, in the open transaction `tx`.
async fn record_change<DB>(
    tx: &mut Transaction<'_, DB>,
    dialect: super::Dialect,
    change: &TwoFactorChange<'_>,
    actor: &Actor,
    now: i64,
) -> sqlx::Result<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'r> super::audit::chain::ChainHead: sqlx::FromRow<'r, DB::Row>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<i64>: Encode<'q, DB>,
    for<'q> Option<&'q str>: Encode<'q, DB>,
{
    enqueue(tx, change.notice, now).await?;
    let record = AuditRecord {
        merchant_id: change.merchant_id,
        new_value: Some(&change.notice.recipient),
        ..AuditRecord::of(change.action)
    };
    append_events(tx, dialect, [(now, actor, &record)]).await?;
    Ok(())
}
