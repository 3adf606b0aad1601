//! Where sessions live: the application database by default, Redis when configured.
//!
//! Two rules hold in both: a key that is gone (signed out, revoked, expired) stays gone, even
//! when a request that started before writes its changes afterwards; and no session outlives
//! its absolute lifetime, counted from the sign-in, whatever its idle timeout says.

use std::collections::HashMap;

use actix_session::storage::{LoadError, SaveError, SessionKey, SessionStore, UpdateError};
use actix_web::cookie::time::Duration;
use anyhow::anyhow;
use redis::aio::ConnectionManager;

use super::keys;
use crate::store::{Db, now_ms};

type State = HashMap<String, String>;

/// A session store chosen at start-up.
#[derive(Clone)]
pub struct SessionBackend {
    place: Place,
    /// Milliseconds from sign-in after which a session ends.
    lifetime_ms: i64,
}

#[derive(Clone)]
enum Place {
    Database(Db),
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
}

impl SessionBackend {
    /// Sessions in the sessions table of `db`.
    pub fn database(db: &Db, lifetime: std::time::Duration) -> Self {
        Self::new(Place::Database(db.clone()), lifetime)
    }

    /// Sessions in Redis, under `prefix`.
    pub fn redis(conn: ConnectionManager, prefix: &str, lifetime: std::time::Duration) -> Self {
        let prefix = format!("{prefix}:session:");
        Self::new(Place::Redis { conn, prefix }, lifetime)
    }

    fn new(place: Place, lifetime: std::time::Duration) -> Self {
        let lifetime_ms = i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX);
        Self { place, lifetime_ms }
    }

    /// When a session holding `state` ends if left alone for `ttl` (its idle timeout), never
    /// later than its sign-in plus the lifetime.
    fn expiry(&self, state: &State, ttl: &Duration) -> i64 {
        let ttl = i64::try_from(ttl.whole_milliseconds()).unwrap_or(i64::MAX);
        let idle_end = now_ms().saturating_add(ttl);
        match state
            .get(keys::SIGNED_IN_AT)
            .and_then(|v| v.parse::<i64>().ok())
        {
            Some(since) => idle_end.min(since.saturating_add(self.lifetime_ms)),
            None => idle_end,
        }
    }
}

fn user_id(state: &State) -> Option<i64> {
    state.get(keys::USER_ID).and_then(|v| v.parse().ok())
}

/// Milliseconds from now until `expiry`, at least one (Redis refuses zero).
fn remaining(expiry: i64) -> i64 {
    (expiry - now_ms()).max(1)
}

fn new_key() -> Result<SessionKey, SaveError> {
    SessionKey::try_from(crate::random::random_token()).map_err(|e| SaveError::Other(anyhow!(e)))
}

impl SessionStore for SessionBackend {
    /// From the database, the session comes with its user (and on a section page its
    /// merchant's settings) in the same query, left for this request in [`crate::prefetch`].
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let json: Option<String> = match &self.place {
            Place::Database(db) => {
                let now = now_ms();
                let found = match crate::prefetch::wanted_section() {
                    Some(section) => {
                        db.load_session_with_section(key.as_ref(), now, section)
                            .await
                    }
                    None => db.load_session_with_user(key.as_ref(), now).await,
                };
                let loaded = match found {
                    Ok(Some(loaded)) => loaded,
                    Ok(None) => return Ok(None),
                    Err(error) => {
                        // Read as no session; a page that needs one answers with the error.
                        tracing::error!(%error, "loading the session");
                        crate::prefetch::fail(error).map_err(|e| LoadError::Other(e.into()))?;
                        return Ok(None);
                    }
                };
                if let Some(user) = loaded.user {
                    if let (Some(merchant), Some(settings)) = (user.merchant_id, loaded.settings) {
                        crate::prefetch::offer_settings(merchant, settings);
                    }
                    crate::prefetch::offer_user(user);
                }
                Some(loaded.state)
            }
            Place::Redis { conn, prefix } => redis::cmd("GET")
                .arg(format!("{prefix}{}", key.as_ref()))
                .query_async(&mut conn.clone())
                .await
                .map_err(|e| LoadError::Other(e.into()))?,
        };
        json.map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(&self, state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        let json = serde_json::to_string(&state).map_err(|e| SaveError::Serialization(e.into()))?;
        let expiry = self.expiry(&state, ttl);
        let key = new_key()?;
        match &self.place {
            Place::Database(db) => db
                .insert_session(key.as_ref(), user_id(&state), &json, expiry)
                .await
                .map_err(|e| SaveError::Other(e.into()))?,
            Place::Redis { conn, prefix } => {
                let stored: Option<String> = redis::cmd("SET")
                    .arg(format!("{prefix}{}", key.as_ref()))
                    .arg(&json)
                    .arg("NX")
                    .arg("PX")
                    .arg(remaining(expiry))
                    .query_async(&mut conn.clone())
                    .await
                    .map_err(|e| SaveError::Other(e.into()))?;
                if stored.is_none() {
                    return Err(SaveError::Other(anyhow!("a new session key was taken")));
                }
            }
        }
        Ok(key)
    }

    /// Writes the state back only while the key still exists. A key that is gone is answered
    /// with itself, unchanged: its cookie leads nowhere, so the session stays ended (saving
    /// under a new key, as actix-session's stores do, would sign a signed-out user back in).
    async fn update(
        &self,
        key: SessionKey,
        state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let json =
            serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let expiry = self.expiry(&state, ttl);
        let updated = match &self.place {
            Place::Database(db) => db
                .update_session(key.as_ref(), user_id(&state), &json, expiry, now_ms())
                .await
                .map_err(|e| UpdateError::Other(e.into()))?,
            Place::Redis { conn, prefix } => {
                let done: Option<String> = redis::cmd("SET")
                    .arg(format!("{prefix}{}", key.as_ref()))
                    .arg(&json)
                    .arg("XX")
                    .arg("PX")
                    .arg(remaining(expiry))
                    .query_async(&mut conn.clone())
                    .await
                    .map_err(|e| UpdateError::Other(e.into()))?;
                done.is_some()
            }
        };
        if !updated {
            tracing::info!("a request finished after its session ended; the session stays ended");
        }
        Ok(key)
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        // Only called under a TTL policy of "every request", which payhook does not use (it
        // would write on every page view); kept correct all the same: never past the lifetime.
        let Some(state) = self.load(key).await? else {
            return Ok(());
        };
        let expiry = self.expiry(&state, ttl);
        match &self.place {
            Place::Database(db) => Ok(db.touch_session(key.as_ref(), expiry).await?),
            Place::Redis { conn, prefix } => Ok(redis::cmd("PEXPIRE")
                .arg(format!("{prefix}{}", key.as_ref()))
                .arg(remaining(expiry))
                .query_async(&mut conn.clone())
                .await?),
        }
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        match &self.place {
            Place::Database(db) => Ok(db.delete_session(key.as_ref()).await?),
            Place::Redis { conn, prefix } => Ok(redis::cmd("DEL")
                .arg(format!("{prefix}{}", key.as_ref()))
                .query_async(&mut conn.clone())
                .await?),
        }
    }
}
