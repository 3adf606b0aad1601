//! Password-reset links: only a token's SHA-256 is stored; a link works once, until it expires,
//! and a newer link, a sign-in or a password change voids the older ones. Each change commits
//! with its audit event and the email it sends.

use super::audit::{Actor, AuditAction, AuditRecord, append_events};
use super::outbox::{QueuedEmail, enqueue};
use super::users::AccountContact;
use super::{Db, now_ms, on_pool};
use crate::domain::Role;

/// A new link for an account.
#[derive(Debug)]
pub struct NewResetLink<'a> {
    pub user_id: i64,
    pub merchant_id: Option<i64>,
    pub token_hash: &'a str,
    pub expires_at: i64,
    /// The email carrying the link.
    pub email: &'a QueuedEmail,
    /// When an admin resets the password: a hash nobody knows the password of, replacing the
    /// account's, so the old password stops working and every session ends.
    pub lock_out: Option<&'a str>,
}

/// A new password set through a link.
#[derive(Debug)]
pub struct PasswordFromLink<'a> {
    pub token_hash: &'a str,
    pub password_hash: &'a str,
    /// The notice that the password changed.
    pub notice: &'a QueuedEmail,
}

/// Writes only when the language changes.
const SET_LANGUAGE: &str = "UPDATE users SET language = $2 WHERE id = $1 \
     AND (language IS NULL OR language <> $2)";

impl Db {
    /// The enabled account a link is for, while the link is unused and unexpired at `now`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reset_link_account(
        &self,
        token_hash: &str,
        now: i64,
    ) -> sqlx::Result<Option<AccountContact>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.email, u.disabled, u.merchant_id, u.language FROM users u \
                 JOIN password_resets r ON r.user_id = u.id \
                 WHERE r.token_hash = $1 AND r.expires_at > $2 AND NOT u.disabled",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(pool)
            .await
        })
    }

    /// Stores a new link (replacing the account's older one), its email and the
    /// `password_reset_requested` event, in one transaction; with `lock_out`, the account's
    /// password too, ending its sessions.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_reset_link(
        &self,
        link: &NewResetLink<'_>,
        actor: &Actor,
    ) -> sqlx::Result<()> {
        let now = now_ms();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            // One link per account: a newer one replaces it, also when two requests race.
            sqlx::query(
                "INSERT INTO password_resets (user_id, token_hash, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
                 token_hash = excluded.token_hash, created_at = excluded.created_at, \
                 expires_at = excluded.expires_at",
            )
            .bind(link.user_id)
            .bind(link.token_hash)
            .bind(now)
            .bind(link.expires_at)
            .execute(&mut *tx)
            .await?;
            if let Some(unknown) = link.lock_out {
                sqlx::query(
                    "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1, \
                     must_change_password = FALSE WHERE id = $2",
                )
                .bind(unknown)
                .bind(link.user_id)
                .execute(&mut *tx)
                .await?;
            }
            enqueue(&mut tx, link.email, now).await?;
            let record = AuditRecord {
                merchant_id: link.merchant_id,
                new_value: Some(&link.email.recipient),
                ..AuditRecord::of(AuditAction::PasswordResetRequested)
            };
            append_events(&mut tx, dialect, [(now, actor, &record)]).await?;
            tx.commit().await
        })?;
        if link.lock_out.is_some() {
            self.forget_sessions(link.user_id).await;
        }
        Ok(())
    }

    /// Sets the password of the link's account if the link still works at this moment (it is
    /// used up by this), moving the account's session epoch on (every session ends), with the `password_reset` event (by the account's owner, from
    /// `client_ip`) and the notice email, in one transaction. Returns the account's id, or
    /// `None` when the link was used, expired, voided or never issued (nothing changed).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn reset_password_with_link(
        &self,
        reset: &PasswordFromLink<'_>,
        client_ip: Option<String>,
    ) -> sqlx::Result<Option<i64>> {
        let now = now_ms();
        let done = on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let used: Option<i64> = sqlx::query_scalar(
                "DELETE FROM password_resets WHERE token_hash = $1 AND expires_at > $2 \
                 RETURNING user_id",
            )
            .bind(reset.token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?;
            let Some(user_id) = used else {
                return Ok(None);
            };
            let changed: Option<(String, Option<i64>, Role)> = sqlx::query_as(
                "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1, \
                 must_change_password = FALSE WHERE id = $2 AND NOT disabled \
                 RETURNING email, merchant_id, role",
            )
            .bind(reset.password_hash)
            .bind(user_id)
            .fetch_optional(&mut *tx)
            .await?;
            let Some((email, merchant_id, role)) = changed else {
                return Ok(None);
            };
            enqueue(&mut tx, reset.notice, now).await?;
            let actor = Actor {
                user_id: Some(user_id),
                email: email.clone(),
                role: Some(role),
                client_ip: client_ip.clone(),
            };
            let record = AuditRecord {
                merchant_id,
                new_value: Some(&email),
                ..AuditRecord::of(AuditAction::PasswordReset)
            };
            append_events(&mut tx, dialect, [(now, &actor, &record)]).await?;
            tx.commit().await?;
            Ok::<_, sqlx::Error>(Some(user_id))
        })?;
        if let Some(user_id) = done {
            self.forget_sessions(user_id).await;
        }
        Ok(done)
    }

    /// After a sign-in: the account's unused links stop working, the time is noted for its team's
    /// page, and `language`, when given,
    /// becomes the one its emails are written in.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn note_sign_in(&self, user_id: i64, language: Option<&str>) -> sqlx::Result<()> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await?;
            sqlx::query("UPDATE users SET last_sign_in_at = $2 WHERE id = $1")
                .bind(user_id)
                .bind(now_ms())
                .execute(pool)
                .await?;
            if let Some(language) = language {
                sqlx::query(SET_LANGUAGE)
                    .bind(user_id)
                    .bind(language)
                    .execute(pool)
                    .await?;
            }
            Ok(())
        })
    }

    /// `language` becomes the one the user's emails are written in.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_user_language(&self, user_id: i64, language: &str) -> sqlx::Result<()> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query(SET_LANGUAGE)
                .bind(user_id)
                .bind(language)
                .execute(pool)
                .await
                .map(drop)
        })
    }
}
