//! Merchants, users and failed sign-in attempts.

use super::{Db, now_ms, on_pool};

/// What sign-in needs to know about an account.
#[derive(sqlx::FromRow)]
pub struct LoginUser {
    pub id: i64,
    pub password_hash: String,
    pub disabled: bool,
    pub session_epoch: i64,
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
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionUser {
    pub id: i64,
    pub email: String,
    pub role: String,
    pub disabled: bool,
    pub session_epoch: i64,
    pub merchant_id: Option<i64>,
    pub merchant_code: Option<String>,
    pub merchant_name: Option<String>,
}

/// A merchant's identity.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Merchant {
    pub id: i64,
    pub code: String,
    pub name: String,
}

impl Db {
    pub async fn find_login_user(&self, email: &str) -> sqlx::Result<Option<LoginUser>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT id, password_hash, disabled, session_epoch FROM users WHERE email = $1",
            )
            .bind(email)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn find_session_user(&self, user_id: i64) -> sqlx::Result<Option<SessionUser>> {
        on_pool!(self, |pool| {
            sqlx::query_as(
                "SELECT u.id, u.email, u.role, u.disabled, u.session_epoch, u.merchant_id, \
                        m.code AS merchant_code, m.name AS merchant_name \
                 FROM users u LEFT JOIN merchants m ON m.id = u.merchant_id WHERE u.id = $1",
            )
            .bind(user_id)
            .fetch_optional(pool)
            .await
        })
    }

    pub async fn find_merchant(&self, code: &str) -> sqlx::Result<Option<Merchant>> {
        on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, code, name FROM merchants WHERE code = $1")
                .bind(code)
                .fetch_optional(pool)
                .await
        })
    }

    pub async fn list_merchants(&self) -> sqlx::Result<Vec<Merchant>> {
        on_pool!(self, |pool| {
            sqlx::query_as("SELECT id, code, name FROM merchants ORDER BY code LIMIT 500")
                .fetch_all(pool)
                .await
        })
    }

    pub async fn create_merchant(&self, code: &str, name: &str) -> sqlx::Result<i64> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "INSERT INTO merchants (code, name, created_at) VALUES ($1, $2, $3) RETURNING id",
            )
            .bind(code)
            .bind(name)
            .bind(now_ms())
            .fetch_one(pool)
            .await
        })
    }

    /// Creates a user; `merchant_id` is required for role `merchant` and absent for `admin`.
    pub async fn create_user(
        &self,
        email: &str,
        password_hash: &str,
        role: &str,
        merchant_id: Option<i64>,
    ) -> sqlx::Result<i64> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "INSERT INTO users (email, password_hash, role, merchant_id, created_at) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING id",
            )
            .bind(email)
            .bind(password_hash)
            .bind(role)
            .bind(merchant_id)
            .bind(now_ms())
            .fetch_one(pool)
            .await
        })
    }

    pub async fn count_users(&self) -> sqlx::Result<i64> {
        on_pool!(self, |pool| {
            sqlx::query_scalar("SELECT COUNT(*) FROM users")
                .fetch_one(pool)
                .await
        })
    }

    /// Times (newest first) of the last `limit` failed sign-ins for this email.
    pub async fn recent_login_failures(&self, email: &str, limit: i64) -> sqlx::Result<Vec<i64>> {
        on_pool!(self, |pool| {
            sqlx::query_scalar(
                "SELECT at FROM login_failures WHERE email = $1 ORDER BY at DESC LIMIT $2",
            )
            .bind(email)
            .bind(limit)
            .fetch_all(pool)
            .await
        })
    }

    pub async fn record_login_failure(&self, email: &str, at: i64) -> sqlx::Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("INSERT INTO login_failures (email, at) VALUES ($1, $2)")
                .bind(email)
                .bind(at)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Forgets failures older than `before` and, when `email` is given, all of that account's.
    pub async fn clear_login_failures(&self, email: Option<&str>, before: i64) -> sqlx::Result<()> {
        on_pool!(self, |pool| {
            sqlx::query("DELETE FROM login_failures WHERE at < $1 OR email = $2")
                .bind(before)
                .bind(email)
                .execute(pool)
                .await
                .map(drop)
        })
    }

    /// Disables or re-enables a user; disabling ends every session of that user.
    pub async fn set_user_disabled(&self, user_id: i64, disabled: bool) -> sqlx::Result<()> {
        on_pool!(self, |pool| {
            sqlx::query(
                "UPDATE users SET disabled = $1, session_epoch = session_epoch + 1 WHERE id = $2",
            )
            .bind(disabled)
            .bind(user_id)
            .execute(pool)
            .await
            .map(drop)
        })?;
        self.delete_user_sessions(user_id).await.map(drop)
    }

    /// Replaces a user's password hash and ends every session of that user; returns the new
    /// session epoch, which the session that made the change may adopt to stay signed in.
    pub async fn set_password_hash(&self, user_id: i64, password_hash: &str) -> sqlx::Result<i64> {
        let epoch: i64 = on_pool!(self, |pool| {
            sqlx::query_scalar(
                "UPDATE users SET password_hash = $1, session_epoch = session_epoch + 1 \
                 WHERE id = $2 RETURNING session_epoch",
            )
            .bind(password_hash)
            .bind(user_id)
            .fetch_one(pool)
            .await
        })?;
        self.delete_user_sessions(user_id).await?;
        Ok(epoch)
    }
}
