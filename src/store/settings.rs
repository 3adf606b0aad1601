//! Channel settings: the notification URLs of one (merchant, section, channel).

use super::audit::{AuditAction, AuditRecord, append_events};
use super::{Actor, Db, now_ms, on_pool};
use crate::domain::Environment;

/// A channel's stored settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct ChannelSetting {
    pub channel: String,
    pub sandbox_url: Option<String>,
    pub production_url: Option<String>,
    /// 0 until the first save.
    pub version: i64,
    pub updated_at: Option<i64>,
    pub updated_by: Option<String>,
    /// The last error of a channel whose newest deliveries keep failing (`health.rs`).
    #[sqlx(default)]
    pub failing_error: Option<String>,
    /// The environment that is failing (production's when both are).
    #[sqlx(default)]
    pub failing_environment: Option<Environment>,
}

impl ChannelSetting {
    /// The URL saved for `environment`.
    pub fn url(&self, environment: Environment) -> Option<&str> {
        match environment {
            Environment::Sandbox => self.sandbox_url.as_deref(),
            Environment::Production => self.production_url.as_deref(),
        }
    }

    /// The environment whose newest deliveries keep failing, with its last error.
    pub fn failing(&self) -> Option<(Environment, &str)> {
        let error = self.failing_error.as_deref()?;
        Some((
            self.failing_environment.unwrap_or(Environment::Sandbox),
            error,
        ))
    }
}

/// A save of one channel's URLs, based on the `expected_version` the form was rendered with.
#[derive(Debug, Clone)]
pub struct ChannelUpdate {
    pub merchant_id: i64,
    pub section: &'static str,
    pub channel: &'static str,
    pub expected_version: i64,
    pub sandbox_url: Option<String>,
    pub production_url: Option<String>,
}

/// What became of a save.
#[derive(Debug, PartialEq, Eq)]
pub enum SaveOutcome {
    Saved {
        version: i64,
    },
    Unchanged,
    /// Someone else saved first; nothing was written.
    Conflict,
}

/// Whether a save that conflicts leaves the others of its batch to be written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Batch {
    /// Concurrent saves sharing a commit: each gets its own outcome.
    EachOnItsOwn,
    /// One change of several channels: a conflict anywhere writes nothing.
    AllOrNothing,
}

/// The failing-channel columns of a settings row (its last error and which environment:
/// production's when both fail), over the joins [`failing_joins!`] adds: two key lookups.
macro_rules! failing_columns {
    () => {
        "COALESCE(hp.last_error, hs.last_error) AS failing_error, \
         CASE WHEN hp.last_error IS NOT NULL THEN 'production' \
              WHEN hs.last_error IS NOT NULL THEN 'sandbox' END AS failing_environment"
    };
}

/// Joins the channel `$merchant`, `$section`, `$channel` name in the enclosing query to its
/// health in each environment, when failing.
macro_rules! failing_joins {
    ($merchant:literal, $section:literal, $channel:literal) => {
        concat!(
            " LEFT JOIN channel_health hp ON hp.merchant_id = ",
            $merchant,
            " AND hp.section = ",
            $section,
            " AND hp.channel = ",
            $channel,
            " AND hp.environment = 'production' AND hp.failing_streak >= 3 \
             LEFT JOIN channel_health hs ON hs.merchant_id = ",
            $merchant,
            " AND hs.section = ",
            $section,
            " AND hs.channel = ",
            $channel,
            " AND hs.environment = 'sandbox' AND hs.failing_streak >= 3 "
        )
    };
}

/// The settings query with the given WHERE clause (one join, no query per channel); with
/// `health`, also whether each channel is failing, for the pages that show it.
macro_rules! select_settings {
    ($filter:literal) => {
        select_settings!("", "", $filter)
    };
    (health, $filter:literal) => {
        select_settings!(
            concat!(", ", failing_columns!()),
            failing_joins!("s.merchant_id", "s.section", "s.channel"),
            $filter
        )
    };
    ($columns:expr, $joins:expr, $filter:literal) => {
        concat!(
            "SELECT s.channel, s.sandbox_url, s.production_url, s.version, s.updated_at, \
             u.email AS updated_by",
            $columns,
            " FROM channel_settings s LEFT JOIN users u ON u.id = s.updated_by ",
            $joins,
            $filter
        )
    };
}

/// The failing channels of a section that were never saved (their notifications went to URLs
/// given per payment): rows `f` (merchant_id, section, channel) for the caller to select from
/// as settings with no URL; `$from` joins `channel_health h` to the query's merchant and
/// section.
macro_rules! failing_unsaved {
    ($from:literal) => {
        concat!(
            "FROM (SELECT DISTINCT h.merchant_id, h.section, h.channel ",
            $from,
            " AND h.failing_streak >= 3) f",
            failing_joins!("f.merchant_id", "f.section", "f.channel"),
            "WHERE NOT EXISTS (SELECT 1 FROM channel_settings c \
             WHERE c.merchant_id = f.merchant_id AND c.section = f.section \
             AND c.channel = f.channel)"
        )
    };
}

impl Db {
    /// Every stored channel of one section (channels never saved have no row), and failing
    /// channels never saved.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn section_settings(
        &self,
        merchant_id: i64,
        section: &str,
    ) -> sqlx::Result<Vec<ChannelSetting>> {
        const SQL: &str = concat!(
            select_settings!(health, "WHERE s.merchant_id = $1 AND s.section = $2"),
            " UNION ALL SELECT f.channel, NULL, NULL, 0, NULL, NULL, ",
            failing_columns!(),
            " ",
            failing_unsaved!("FROM channel_health h WHERE h.merchant_id = $1 AND h.section = $2")
        );
        on_pool!(self, |pool| {
            sqlx::query_as(SQL)
                .bind(merchant_id)
                .bind(section)
                .fetch_all(pool)
                .await
        })
    }

    /// One channel's settings; the default (version 0, no URLs) when never saved.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn channel_setting(
        &self,
        merchant_id: i64,
        section: &str,
        channel: &str,
    ) -> sqlx::Result<ChannelSetting> {
        const SQL: &str =
            select_settings!("WHERE s.merchant_id = $1 AND s.section = $2 AND s.channel = $3");
        let found: Option<ChannelSetting> = on_pool!(self, |pool| {
            sqlx::query_as(SQL)
                .bind(merchant_id)
                .bind(section)
                .bind(channel)
                .fetch_optional(pool)
                .await
        })?;
        Ok(found.unwrap_or_else(|| ChannelSetting {
            channel: channel.to_owned(),
            ..ChannelSetting::default()
        }))
    }

    /// How many channels of each section have at least one URL.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn configured_counts(&self, merchant_id: i64) -> sqlx::Result<Vec<(String, i64)>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT section, COUNT(*) FROM channel_settings WHERE merchant_id = $1 \
                 AND (sandbox_url IS NOT NULL OR production_url IS NOT NULL) GROUP BY section",
            )
            .bind(merchant_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Saves both URLs and one audit event per changed field, in one transaction.
    pub async fn save_channel(
        &self,
        update: &ChannelUpdate,
        actor: &Actor,
    ) -> sqlx::Result<SaveOutcome> {
        let saves = [(update.clone(), actor.clone())];
        let mut outcomes = self.save_channels(&saves).await?;
        Ok(outcomes.pop().unwrap_or(SaveOutcome::Unchanged))
    }

    /// Applies several saves in order, in one transaction with all their audit events: one
    /// commit and one turn at the audit chain for the lot. Each save is checked against the
    /// version it expects as things stand after the ones before it, so two saves of one
    /// channel on the same version give one success and one conflict.
    #[tracing::instrument(level = "debug", skip_all, fields(saves = saves.len()))]
    pub async fn save_channels(
        &self,
        saves: &[(ChannelUpdate, Actor)],
    ) -> sqlx::Result<Vec<SaveOutcome>> {
        let written = self.write_saves(saves, Batch::EachOnItsOwn).await?;
        Ok(written.unwrap_or_default())
    }

    /// Applies `saves` like [`Db::save_channels`], but as one change: when any of them was
    /// based on an old version, nothing is written (`None`).
    #[tracing::instrument(level = "debug", skip_all, fields(saves = saves.len()))]
    pub async fn save_channels_together(
        &self,
        saves: &[(ChannelUpdate, Actor)],
    ) -> sqlx::Result<Option<Vec<SaveOutcome>>> {
        self.write_saves(saves, Batch::AllOrNothing).await
    }

    /// The saves and their audit events in one transaction; `None` when `batch` is
    /// all-or-nothing and a save conflicted, so the transaction was rolled back.
    async fn write_saves(
        &self,
        saves: &[(ChannelUpdate, Actor)],
        batch: Batch,
    ) -> sqlx::Result<Option<Vec<SaveOutcome>>> {
        let at = now_ms();
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let mut outcomes = Vec::with_capacity(saves.len());
            // (who, which save, field, old value, new value) of every change made.
            let mut changed = Vec::new();
            for (update, actor) in saves {
                let current: Option<(Option<String>, Option<String>, i64)> = sqlx::query_as(
                    "SELECT sandbox_url, production_url, version FROM channel_settings \
                     WHERE merchant_id = $1 AND section = $2 AND channel = $3",
                )
                .bind(update.merchant_id)
                .bind(update.section)
                .bind(update.channel)
                .fetch_optional(&mut *tx)
                .await?;
                let exists = current.is_some();
                let (old_sandbox, old_production, version) = current.unwrap_or_default();
                if version != update.expected_version {
                    if batch == Batch::AllOrNothing {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    outcomes.push(SaveOutcome::Conflict);
                    continue;
                }
                let changes: Vec<(&'static str, Option<String>, Option<&str>)> = [
                    ("sandbox_url", old_sandbox, update.sandbox_url.as_deref()),
                    (
                        "production_url",
                        old_production,
                        update.production_url.as_deref(),
                    ),
                ]
                .into_iter()
                .filter(|(_, old, new)| old.as_deref() != *new)
                .collect();
                if changes.is_empty() {
                    outcomes.push(SaveOutcome::Unchanged);
                    continue;
                }
                let written = if exists {
                    sqlx::query(
                        "UPDATE channel_settings SET sandbox_url = $1, production_url = $2, \
                         version = version + 1, updated_at = $3, updated_by = $4 \
                         WHERE merchant_id = $5 AND section = $6 AND channel = $7 \
                         AND version = $8",
                    )
                    .bind(&update.sandbox_url)
                    .bind(&update.production_url)
                    .bind(at)
                    .bind(actor.user_id)
                    .bind(update.merchant_id)
                    .bind(update.section)
                    .bind(update.channel)
                    .bind(version)
                    .execute(&mut *tx)
                    .await?
                } else {
                    sqlx::query(
                        "INSERT INTO channel_settings (merchant_id, section, channel, \
                         sandbox_url, production_url, version, updated_at, updated_by) \
                         VALUES ($1, $2, $3, $4, $5, 1, $6, $7) ON CONFLICT DO NOTHING",
                    )
                    .bind(update.merchant_id)
                    .bind(update.section)
                    .bind(update.channel)
                    .bind(&update.sandbox_url)
                    .bind(&update.production_url)
                    .bind(at)
                    .bind(actor.user_id)
                    .execute(&mut *tx)
                    .await?
                };
                if written.rows_affected() != 1 {
                    if batch == Batch::AllOrNothing {
                        tx.rollback().await?;
                        return Ok(None);
                    }
                    outcomes.push(SaveOutcome::Conflict);
                    continue;
                }
                for (field, old_value, new_value) in changes {
                    changed.push((actor, update, field, old_value, new_value));
                }
                outcomes.push(SaveOutcome::Saved {
                    version: version + 1,
                });
            }
            let records: Vec<(&Actor, AuditRecord)> = changed
                .iter()
                .map(|(actor, update, field, old_value, new_value)| {
                    let record = AuditRecord {
                        merchant_id: Some(update.merchant_id),
                        section: Some(update.section),
                        channel: Some(update.channel),
                        field: Some(field),
                        old_value: old_value.as_deref(),
                        new_value: *new_value,
                        ..AuditRecord::of(AuditAction::SettingsChange)
                    };
                    (*actor, record)
                })
                .collect();
            let events = records.iter().map(|(actor, record)| (at, *actor, record));
            append_events(&mut tx, dialect, events).await?;
            tx.commit().await?;
            Ok(Some(outcomes))
        })
    }
}
