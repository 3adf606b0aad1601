//! Read models for the admin pages: overview counts, merchant and user lists.

use super::settings::ChannelSetting;
use super::{Db, on_pool};
use crate::domain::{EmailAddress, MerchantCode, Role};

/// A row of the merchants list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct MerchantSummary {
    pub code: MerchantCode,
    pub name: String,
    pub configured: i64,
    pub users: i64,
}

/// A row of the users list.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserSummary {
    pub id: i64,
    pub email: EmailAddress,
    pub role: Role,
    pub merchant_code: Option<MerchantCode>,
    pub disabled: bool,
    /// Removed from its team.
    pub removed: bool,
    /// Two-factor sign-in is on.
    pub two_factor: bool,
}

/// A channel with a sandbox URL and no production URL yet.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SandboxOnly {
    pub merchant_code: MerchantCode,
    pub section: String,
    pub channel: String,
}

/// A stored setting with its section (for one merchant's settings across all sections).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SectionSetting {
    pub section: String,
    #[sqlx(flatten)]
    pub setting: ChannelSetting,
}

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_merchants(&self) -> sqlx::Result<i64> {
        on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM merchants")
                .fetch_one(pool)
                .await
        })
    }

    /// Channels with at least one URL, per section, across every merchant.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn configured_by_section(&self) -> sqlx::Result<Vec<(String, i64)>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT section, COUNT(*) FROM channel_settings \
                 WHERE sandbox_url IS NOT NULL OR production_url IS NOT NULL GROUP BY section",
            )
            .fetch_all(pool)
            .await
        })
    }

    /// Up to `limit` channels that have a sandbox URL but no production URL, and their total.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn sandbox_only(&self, limit: i64) -> sqlx::Result<(Vec<SandboxOnly>, i64)> {
        on_pool!(self, |pool| {
            let rows = sqlx::query_as(
                "SELECT m.code AS merchant_code, s.section, s.channel FROM channel_settings s \
                 JOIN merchants m ON m.id = s.merchant_id \
                 WHERE s.sandbox_url IS NOT NULL AND s.production_url IS NULL \
                 ORDER BY m.code, s.section, s.channel LIMIT $1",
            )
            .bind(limit)
            .fetch_all(pool)
            .await?;
            let total = sqlx::query_scalar(
                "SELECT COUNT(*) FROM channel_settings \
                 WHERE sandbox_url IS NOT NULL AND production_url IS NULL",
            )
            .fetch_one(pool)
            .await?;
            Ok((rows, total))
        })
    }

    /// Merchants whose code or name contains `search`, by code, after the `after` cursor.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn merchant_summaries(
        &self,
        search: &str,
        after: &str,
        limit: i64,
    ) -> sqlx::Result<Vec<MerchantSummary>> {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT m.code, m.name, \
                 (SELECT COUNT(*) FROM channel_settings s WHERE s.merchant_id = m.id \
                  AND (s.sandbox_url IS NOT NULL OR s.production_url IS NOT NULL)) AS configured, \
                 (SELECT COUNT(*) FROM users u WHERE u.merchant_id = m.id \
                  AND u.removed_at IS NULL) AS users \
                 FROM merchants m \
                 WHERE m.code > $1 AND (m.code LIKE $2 ESCAPE '\\' OR LOWER(m.name) LIKE $2 ESCAPE '\\') \
                 ORDER BY m.code LIMIT $3",
            )
            .bind(after)
            .bind(pattern)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    /// Every stored channel of one merchant, across all sections.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn merchant_settings(&self, merchant_id: i64) -> sqlx::Result<Vec<SectionSetting>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT s.section, s.channel, s.sandbox_url, s.production_url, s.version, \
                 s.updated_at, u.email AS updated_by \
                 FROM channel_settings s LEFT JOIN users u ON u.id = s.updated_by \
                 WHERE s.merchant_id = $1",
            )
            .bind(merchant_id)
            .fetch_all(pool)
            .await
        })
    }

    /// Users whose email contains `search`, by email, at most `limit`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn user_summaries(&self, search: &str, limit: i64) -> sqlx::Result<Vec<UserSummary>> {
        let pattern = format!("%{}%", escape_like(&search.to_lowercase()));
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.email, u.role, m.code AS merchant_code, u.disabled, \
                 u.removed_at IS NOT NULL AS removed, \
                 EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = u.id \
                 AND t.enabled_at IS NOT NULL) AS two_factor \
                 FROM users u LEFT JOIN merchants m ON m.id = u.merchant_id \
                 WHERE u.email LIKE $1 ESCAPE '\\' ORDER BY u.email LIMIT $2",
            )
            .bind(pattern)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_user_summary(&self, user_id: i64) -> sqlx::Result<Option<UserSummary>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.email, u.role, m.code AS merchant_code, u.disabled, \
                 u.removed_at IS NOT NULL AS removed, \
                 EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = u.id \
                 AND t.enabled_at IS NOT NULL) AS two_factor \
                 FROM users u LEFT JOIN merchants m ON m.id = u.merchant_id WHERE u.id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
    }
}

/// Makes `%`, `_` and `\` match themselves in a LIKE pattern.
fn escape_like(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}
