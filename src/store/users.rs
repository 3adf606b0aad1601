//! Merchants and users.

use super::audit::{Actor, AuditAction, AuditRecord, append_events};
use super::{Db, now_ms, on_pool};
use crate::domain::{EmailAddress, MerchantCode, Role, TimeZone};

/// A change to a user that ends its sessions.
enum UserChange<'a> {
    Disabled(bool),
    /// A new hash; `true` when it is a one-time password the user must replace.
    PasswordHash(&'a str, bool),
}

/// What sign-in needs to know about an account.
#[derive(sqlx::FromRow)]
pub struct LoginUser {
    pub id: i64,
    pub email: EmailAddress,
    pub password_hash: String,
    pub disabled: bool,
    pub session_epoch: i64,
    pub role: Role,
    pub merchant_id: Option<i64>,
    /// Two-factor sign-in is on: a code is asked after the password.
    pub two_factor: bool,
    /// The language the user last chose, for the emails a sign-in may send.
    pub language: Option<String>,
}

impl std::fmt::Debug for LoginUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginUser")
            .field("id", &self.id)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// The signed-in user as every request sees it, with its merchant when it has one.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize, serde::Deserialize)]
pub struct SessionUser {
    pub id: i64,
    pub email: EmailAddress,
    pub role: Role,
    pub disabled: bool,
    pub session_epoch: i64,
    pub merchant_id: Option<i64>,
    pub merchant_code: Option<MerchantCode>,
    pub merchant_name: Option<String>,
    pub must_change_password: bool,
    /// Two-factor sign-in is on.
    pub two_factor: bool,
    /// The user's merchant requires two-factor sign-in of all its users.
    pub merchant_requires_two_factor: bool,
    /// How many of the merchant's channels (per environment) are failing: one probe of a
    /// partial index that is almost always empty.
    #[serde(default)]
    pub failing_channels: i64,
    /// The zone the user reads times in.
    #[serde(default)]
    pub time_zone: TimeZone,
}

impl LoginUser {
    /// The account as an email to its owner sees it.
    pub fn contact(&self) -> AccountContact {
        AccountContact {
            id: self.id,
            email: self.email.clone(),
            disabled: self.disabled,
            merchant_id: self.merchant_id,
            language: self.language.clone(),
        }
    }
}

/// Moves a user's session epoch on in the open transaction `tx`: once it commits, every session
/// of theirs has ended (the caller renews the one that asked with the epoch returned).
pub(super) async fn move_session_epoch<DB>(
    tx: &mut sqlx::Transaction<'_, DB>,
    user_id: i64,
) -> sqlx::Result<i64>
where
    DB: sqlx::Database,
    for<'c> &'c mut DB::Connection: sqlx::Executor<'c, Database = DB>,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'q> i64: sqlx::Encode<'q, DB> + sqlx::Type<DB> + sqlx::Decode<'q, DB>,
    (i64,): for<'r> sqlx::FromRow<'r, DB::Row>,
{
    sqlx::query_scalar(
        "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = $1 RETURNING session_epoch",
    )
    .bind(user_id)
    .fetch_one(&mut **tx)
    .await
}

/// The columns of [`LoginUser`], over `users u`.
macro_rules! login_user_columns {
    () => {
        "SELECT u.id, u.email, u.password_hash, u.disabled, u.session_epoch, u.role, \
         u.merchant_id, u.language, EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = u.id \
         AND t.enabled_at IS NOT NULL) AS two_factor FROM users u "
    };
}

/// The columns of [`SessionUser`] past its id, email and role, over `users u` joined with its
/// merchant `m` (the session queries read them too).
macro_rules! session_user_columns {
    () => {
        "u.disabled, u.session_epoch, u.merchant_id, m.code AS merchant_code, \
         m.name AS merchant_name, u.must_change_password, \
         EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = u.id \
         AND t.enabled_at IS NOT NULL) AS two_factor, \
         COALESCE(m.require_two_factor, FALSE) AS merchant_requires_two_factor, \
         (SELECT COUNT(*) FROM channel_health h WHERE h.merchant_id = u.merchant_id \
         AND h.failing_streak >= 3) AS failing_channels, u.time_zone"
    };
}
pub(super) use session_user_columns;

/// An account as an email to its owner sees it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AccountContact {
    pub id: i64,
    pub email: EmailAddress,
    pub disabled: bool,
    pub merchant_id: Option<i64>,
    /// The language the user last chose (`en`, `id`), if any.
    pub language: Option<String>,
}

/// A merchant's identity.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Merchant {
    pub id: i64,
    pub code: MerchantCode,
    pub name: String,
}

impl Db {
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_login_user(&self, email: &EmailAddress) -> sqlx::Result<Option<LoginUser>> {
        const SQL: &str = concat!(login_user_columns!(), "WHERE u.email = $1");
        on_pool!(self, |pool| {
            sqlx::query_as(SQL).bind(email).fetch_optional(pool).await
        })
    }

    /// The account of `email`, whatever its state.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_account_contact(
        &self,
        email: &EmailAddress,
    ) -> sqlx::Result<Option<AccountContact>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, email, disabled, merchant_id, language FROM users WHERE email = $1",
            )
            .bind(email)
            .fetch_optional(pool)
            .await
        })
    }

    /// The account with id `user_id`.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn account_contact(&self, user_id: i64) -> sqlx::Result<Option<AccountContact>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, email, disabled, merchant_id, language FROM users WHERE id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
    }

    /// The account a sign-in waiting for its second step is for.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_login_user_by_id(&self, user_id: i64) -> sqlx::Result<Option<LoginUser>> {
        const SQL: &str = concat!(login_user_columns!(), "WHERE u.id = $1");
        on_pool!(self, |pool| {
            sqlx::query_as(SQL).bind(user_id).fetch_optional(pool).await
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_session_user(&self, user_id: i64) -> sqlx::Result<Option<SessionUser>> {
        const SQL: &str = concat!(
            "SELECT u.id, u.email, u.role, ",
            session_user_columns!(),
            " FROM users u LEFT JOIN merchants m ON m.id = u.merchant_id WHERE u.id = $1"
        );
        on_pool!(self, |pool| {
            sqlx::query_as(SQL).bind(user_id).fetch_optional(pool).await
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn find_merchant(&self, code: &MerchantCode) -> sqlx::Result<Option<Merchant>> {
        on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, code, name FROM merchants WHERE code = $1")
                .bind(code)
                .fetch_optional(pool)
                .await
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn list_merchants(&self) -> sqlx::Result<Vec<Merchant>> {
        on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, code, name FROM merchants ORDER BY code LIMIT 500")
                .fetch_all(pool)
                .await
        })
    }

    /// Creates a merchant; with `by`, its audit event commits in the same transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_merchant(
        &self,
        code: &MerchantCode,
        name: &str,
        by: Option<&Actor>,
    ) -> sqlx::Result<i64> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO merchants (code, name, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(code)
            .bind(name)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await?;
            if let Some(actor) = by {
                let record = AuditRecord {
                    merchant_id: Some(id),
                    new_value: Some(code.as_str()),
                    ..AuditRecord::of(AuditAction::MerchantCreate)
                };
                append_events(&mut tx, dialect, [(now_ms(), actor, &record)]).await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    /// Creates a user; `merchant_id` is required for role `merchant` and absent for `admin`.
    /// With `by`, its audit event commits in the same transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create_user(
        &self,
        email: &EmailAddress,
        password_hash: &str,
        role: Role,
        merchant_id: Option<i64>,
        one_time: bool,
        by: Option<&Actor>,
    ) -> sqlx::Result<i64> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (email, password_hash, role, merchant_id, created_at, \
                 must_change_password) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(email)
            .bind(password_hash)
            .bind(role.as_str())
            .bind(merchant_id)
            .bind(now_ms())
            .bind(one_time)
            .fetch_one(&mut *tx)
            .await?;
            if let Some(actor) = by {
                let record = AuditRecord {
                    merchant_id,
                    field: Some(role.as_str()),
                    new_value: Some(email.as_str()),
                    ..AuditRecord::of(AuditAction::UserCreate)
                };
                append_events(&mut tx, dialect, [(now_ms(), actor, &record)]).await?;
            }
            tx.commit().await?;
            Ok(id)
        })
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_users(&self) -> sqlx::Result<i64> {
        on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(pool)
                .await
        })
    }

    /// Disables or re-enables a user; disabling ends every session of that user at once (the
    /// epoch moves on). With `by`, the audit event commits in the same transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_user_disabled(
        &self,
        user_id: i64,
        disabled: bool,
        by: Option<&Actor>,
    ) -> sqlx::Result<()> {
        let audit = by.map(|actor| {
            let action = if disabled {
                AuditAction::UserDisable
            } else {
                AuditAction::UserEnable
            };
            (actor, action)
        });
        self.change_user(user_id, UserChange::Disabled(disabled), audit)
            .await
            .map(drop)
    }

    /// Replaces a user's password hash and ends every session of that user; returns the new
    /// session epoch, which the session that made the change may adopt to stay signed in.
    /// `one_time` marks a password an admin issued, which its holder must replace first.
    /// With `by`, the audit event (a reset or a change) commits in the same transaction.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_password_hash(
        &self,
        user_id: i64,
        password_hash: &str,
        one_time: bool,
        by: Option<(&Actor, AuditAction)>,
    ) -> sqlx::Result<i64> {
        self.change_user(
            user_id,
            UserChange::PasswordHash(password_hash, one_time),
            by,
        )
        .await
    }

    /// Swaps a hash made with an earlier release's settings for one made now, for the same
    /// password: sessions stay. Only while `outdated` is still the stored hash, so a password
    /// changed meanwhile is never overwritten; returns whether it was swapped.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn upgrade_password_hash(
        &self,
        user_id: i64,
        outdated: &str,
        upgraded: &str,
    ) -> sqlx::Result<bool> {
        // The write pool: on SQLite, the single writer.
        let swapped = on_pool!(self, |pool, _dialect| {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3")
                .bind(upgraded)
                .bind(user_id)
                .bind(outdated)
                .execute(pool)
                .await
                .map(|done| done.rows_affected() == 1)
        })?;
        Ok(swapped)
    }

    /// Updates a user, moves its session epoch on (ending its sessions), appends `audit` in the
    /// same transaction, then deletes the stale sessions; returns the new epoch.
    async fn change_user(
        &self,
        user_id: i64,
        change: UserChange<'_>,
        audit: Option<(&Actor, AuditAction)>,
    ) -> sqlx::Result<i64> {
        let epoch = on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let query = match change {
                UserChange::Disabled(disabled) => sqlx::query_as(
                    // A member their team removed stays disabled: only the team's new
                    // invitation brings them back, also when an enable races the removal.
                    "UPDATE users SET disabled = ($1 OR removed_at IS NOT NULL), \
                     session_epoch = session_epoch + 1 \
                     WHERE id = $2 RETURNING session_epoch, email, merchant_id",
                )
                .bind(disabled)
                .bind(user_id),
                UserChange::PasswordHash(hash, one_time) => sqlx::query_as(
                    "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1, \
                     must_change_password = $3 WHERE id = $2 \
                     RETURNING session_epoch, email, merchant_id",
                )
                .bind(hash)
                .bind(user_id)
                .bind(one_time),
            };
            let (epoch, email, merchant_id): (i64, String, Option<i64>) =
                query.fetch_one(&mut *tx).await?;
            // A new password, or a disabled account: reset links still out stop working.
            sqlx::query("DELETE FROM password_resets WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            if let Some((actor, action)) = audit {
                let record = AuditRecord {
                    merchant_id,
                    new_value: Some(&email),
                    ..AuditRecord::of(action)
                };
                append_events(&mut tx, dialect, [(now_ms(), actor, &record)]).await?;
            }
            tx.commit().await?;
            epoch
        });
        self.forget_sessions(user_id).await;
        Ok(epoch)
    }
}

impl Db {
    /// Whether the user gets the failure emails of their team's channels.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn failure_alerts(&self, user_id: i64) -> sqlx::Result<bool> {
        on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT failure_alerts FROM users WHERE id = $1")
                .bind(user_id)
                .fetch_one(pool)
                .await
        })
    }

    /// Sets the zone `user` reads times in, audited with the change when it is one.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_time_zone(
        &self,
        (user_id, merchant_id): (i64, Option<i64>),
        zone: TimeZone,
        actor: &Actor,
    ) -> sqlx::Result<bool> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let read = format!(
                "SELECT time_zone FROM users WHERE id = $1{}",
                dialect.lock_row
            );
            let was: TimeZone = sqlx::query_scalar(sqlx::AssertSqlSafe(read))
                .bind(user_id)
                .fetch_one(&mut *tx)
                .await?;
            let changed = was != zone;
            if changed {
                sqlx::query("UPDATE users SET time_zone = $1 WHERE id = $2")
                    .bind(zone)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?;
                let record = AuditRecord {
                    merchant_id,
                    field: Some("time_zone"),
                    old_value: Some(was.as_str()),
                    new_value: Some(zone.as_str()),
                    ..AuditRecord::of(AuditAction::TimeZoneChanged)
                };
                append_events(&mut tx, dialect, [(now_ms(), actor, &record)]).await?;
            }
            tx.commit().await?;
            Ok(changed)
        })
    }

    /// Turns the user's failure emails on or off, audited in the same transaction (only when
    /// it changes); returns whether it did.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn set_failure_alerts(
        &self,
        user_id: i64,
        merchant_id: i64,
        on: bool,
        actor: &Actor,
    ) -> sqlx::Result<bool> {
        on_pool!(self, |pool, dialect| {
            let mut tx = pool.begin_with(dialect.begin).await?;
            let changed = sqlx::query(
                "UPDATE users SET failure_alerts = $1 WHERE id = $2 AND failure_alerts <> $1",
            )
            .bind(on)
            .bind(user_id)
            .execute(&mut *tx)
            .await?
            .rows_affected()
                == 1;
            if changed {
                let record = AuditRecord {
                    merchant_id: Some(merchant_id),
                    field: Some("failure_alerts"),
                    new_value: Some(if on { "on" } else { "off" }),
                    ..AuditRecord::of(AuditAction::FailureAlertsChanged)
                };
                append_events(&mut tx, dialect, [(now_ms(), actor, &record)]).await?;
            }
            tx.commit().await?;
            Ok(changed)
        })
    }
}
