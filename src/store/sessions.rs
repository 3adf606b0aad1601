//! Server-side session rows, so that signing out (or disabling a user) really ends a session.

use super::settings::ChannelSetting;
use super::users::{SessionUser, session_user_columns};
use super::{Db, on_pool};
use crate::domain::{EmailAddress, MerchantCode, Role, TimeZone};

/// A session as loaded: its state (JSON), its user, and the settings read with it.
#[derive(Debug)]
pub struct LoadedSession {
    pub state: String,
    pub user: Option<SessionUser>,
    /// The user's merchant's settings of the section asked for; `None` when none was, or
    /// when the merchant has failing channels (the page reads those with their health).
    pub settings: Option<Vec<ChannelSetting>>,
}

/// A row of the session-and-section query: the session with its user (`channel` unset), or
/// one of the user's merchant's settings of the section asked for (`channel` set).
#[derive(sqlx::FromRow)]
struct SessionOrSettingRow {
    #[sqlx(flatten)]
    session: SessionRow,
    /// On the session's row: whether a channel of the section is failing (one probe of a
    /// partial index that is almost always empty).
    section_failing: Option<bool>,
    channel: Option<String>,
    sandbox_url: Option<String>,
    production_url: Option<String>,
    version: Option<i64>,
    updated_at: Option<i64>,
    updated_by: Option<String>,
}

/// A session row joined with its user, when it has one.
#[derive(sqlx::FromRow)]
struct SessionRow {
    state: Option<String>,
    id: Option<i64>,
    email: Option<EmailAddress>,
    role: Option<Role>,
    disabled: Option<bool>,
    session_epoch: Option<i64>,
    merchant_id: Option<i64>,
    merchant_code: Option<MerchantCode>,
    merchant_name: Option<String>,
    must_change_password: Option<bool>,
    two_factor: Option<bool>,
    merchant_requires_two_factor: Option<bool>,
    failing_channels: Option<i64>,
    time_zone: Option<TimeZone>,
}

impl SessionRow {
    /// The state and the user; `None` for a row that carries no session.
    fn split(self) -> Option<(String, Option<SessionUser>)> {
        let user = match (self.id, self.email, self.role) {
            (Some(id), Some(email), Some(role)) => Some(SessionUser {
                id,
                email,
                role,
                disabled: self.disabled.unwrap_or(true),
                session_epoch: self.session_epoch.unwrap_or(-1),
                merchant_id: self.merchant_id,
                merchant_code: self.merchant_code,
                merchant_name: self.merchant_name,
                must_change_password: self.must_change_password.unwrap_or(true),
                two_factor: self.two_factor.unwrap_or(false),
                merchant_requires_two_factor: self.merchant_requires_two_factor.unwrap_or(true),
                failing_channels: self.failing_channels.unwrap_or(0),
                time_zone: self.time_zone.unwrap_or_default(),
            }),
            _ => None,
        };
        Some((self.state?, user))
    }
}

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

    /// The session's state and, when it is signed in, its user: who is asking and what they
    /// may see, in one query.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn load_session_with_user(
        &self,
        id: &str,
        now: i64,
    ) -> sqlx::Result<Option<LoadedSession>> {
        let row: Option<SessionRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT s.state, u.id, u.email, u.role, ",
                session_user_columns!(),
                " FROM sessions s LEFT JOIN users u ON u.id = s.user_id \
                 LEFT JOIN merchants m ON m.id = u.merchant_id \
                 WHERE s.id = $1 AND s.expires_at > $2"
            ))
            .bind(id)
            .bind(now)
            .fetch_optional(pool)
            .await
        })?;
        Ok(row
            .and_then(SessionRow::split)
            .map(|(state, user)| LoadedSession {
                state,
                user,
                settings: None,
            }))
    }

    /// Like [`Db::load_session_with_user`], with the settings of `section` of the user's
    /// merchant (none for an admin) in the same query.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn load_session_with_section(
        &self,
        id: &str,
        now: i64,
        section: &str,
    ) -> sqlx::Result<Option<LoadedSession>> {
        // The session and its user once, then each setting: no column repeated per row.
        let rows: Vec<SessionOrSettingRow> = on_pool!(self, |pool| {
            sqlx::query_as(concat!(
                "SELECT s.state, u.id, u.email, u.role, ",
                session_user_columns!(),
                ", EXISTS (SELECT 1 FROM channel_health h \
                                WHERE h.merchant_id = u.merchant_id AND h.section = $3 \
                                AND h.failing_streak >= 3) AS section_failing, \
                        NULL AS channel, NULL AS sandbox_url, NULL AS production_url, \
                        NULL AS version, NULL AS updated_at, NULL AS updated_by \
                 FROM sessions s LEFT JOIN users u ON u.id = s.user_id \
                 LEFT JOIN merchants m ON m.id = u.merchant_id \
                 WHERE s.id = $1 AND s.expires_at > $2 \
                 UNION ALL \
                 SELECT NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                        NULL, NULL, NULL, c.channel, c.sandbox_url, c.production_url, c.version, \
                        c.updated_at, b.email \
                 FROM sessions s JOIN users u ON u.id = s.user_id \
                 JOIN channel_settings c ON c.merchant_id = u.merchant_id AND c.section = $3 \
                 LEFT JOIN users b ON b.id = c.updated_by \
                 WHERE s.id = $1 AND s.expires_at > $2"
            ))
            .bind(id)
            .bind(now)
            .bind(section)
            .fetch_all(pool)
            .await
        })?;
        let mut session = None;
        let mut failing = false;
        let mut settings = Vec::with_capacity(rows.len());
        for row in rows {
            match row.channel {
                Some(channel) => settings.push(ChannelSetting {
                    channel,
                    sandbox_url: row.sandbox_url,
                    production_url: row.production_url,
                    version: row.version.unwrap_or_default(),
                    updated_at: row.updated_at,
                    updated_by: row.updated_by,
                    failing_error: None,
                    failing_environment: None,
                }),
                None => {
                    failing = row.section_failing.unwrap_or(false);
                    session = row.session.split();
                }
            }
        }
        // A section with a failing channel is told so on the page: it reads its settings with
        // their health (`Db::section_settings`), one query more for the few that need it.
        let settings = (!failing).then_some(settings);
        Ok(session.map(|(state, user)| LoadedSession {
            state,
            user,
            settings,
        }))
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
        on_pool!(self, |pool, _dialect| {
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
        let done = on_pool!(self, |pool, _dialect| {
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
        on_pool!(self, |pool, _dialect| {
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
        on_pool!(self, |pool, _dialect| {
            sqlx::query("DELETE FROM sessions WHERE id = $1")
                .bind(id)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Deletes the stored sessions of a user whose session epoch just moved on. The epoch
    /// already ends them, so this is housekeeping after the change committed: a failure is
    /// logged, not answered.
    pub(super) async fn forget_sessions(&self, user_id: i64) {
        if let Err(error) = self.delete_user_sessions(user_id).await {
            tracing::warn!(%error, user_id, "deleting the sessions of a changed account");
        }
    }

    /// Ends every stored session of one user.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn delete_user_sessions(&self, user_id: i64) -> sqlx::Result<u64> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user_id)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn purge_expired_sessions(&self, now: i64) -> sqlx::Result<u64> {
        on_pool!(self, |pool, _dialect| {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1")
                .bind(now)
                .execute(pool)
                .await
                .map(|done| done.rows_affected())
        })
    }
}
