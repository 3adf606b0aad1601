//! Where sessions live: the application database by default, Redis when configured.

use std::collections::HashMap;

use actix_session::storage::{
    LoadError, RedisSessionStore, SaveError, SessionKey, SessionStore, UpdateError,
};
use actix_web::cookie::time::Duration;
use anyhow::anyhow;

use super::keys;
use crate::store::{Db, now_ms};

/// A session store chosen at start-up.
#[derive(Clone)]
pub enum SessionBackend {
    Database(Db),
    Redis(RedisSessionStore),
}

impl SessionBackend {
    /// Redis when `redis_url` is given, otherwise the sessions table of `db`.
    pub async fn new(db: &Db, redis_url: Option<&str>) -> anyhow::Result<Self> {
        match redis_url {
            Some(url) => Ok(Self::Redis(RedisSessionStore::new(url).await?)),
            None => Ok(Self::Database(db.clone())),
        }
    }
}

fn user_id(state: &HashMap<String, String>) -> Option<i64> {
    state.get(keys::USER_ID).and_then(|v| v.parse().ok())
}

fn expiry(ttl: &Duration) -> i64 {
    now_ms().saturating_add(i64::try_from(ttl.whole_milliseconds()).unwrap_or(i64::MAX))
}

impl SessionStore for SessionBackend {
    async fn load(&self, key: &SessionKey) -> Result<Option<HashMap<String, String>>, LoadError> {
        match self {
            Self::Redis(redis) => redis.load(key).await,
            Self::Database(db) => {
                let state = db
                    .load_session(key.as_ref(), now_ms())
                    .await
                    .map_err(|e| LoadError::Other(e.into()))?;
                state
                    .map(|json| serde_json::from_str(&json))
                    .transpose()
                    .map_err(|e| LoadError::Deserialization(e.into()))
            }
        }
    }

    async fn save(
        &self,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, SaveError> {
        match self {
            Self::Redis(redis) => redis.save(state, ttl).await,
            Self::Database(db) => {
                let key = crate::random::random_token();
                let json = serde_json::to_string(&state)
                    .map_err(|e| SaveError::Serialization(e.into()))?;
                db.store_session(&key, user_id(&state), &json, expiry(ttl))
                    .await
                    .map_err(|e| SaveError::Other(e.into()))?;
                SessionKey::try_from(key).map_err(|e| SaveError::Other(anyhow!(e)))
            }
        }
    }

    async fn update(
        &self,
        key: SessionKey,
        state: HashMap<String, String>,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        match self {
            Self::Redis(redis) => redis.update(key, state, ttl).await,
            Self::Database(db) => {
                // A key that is no longer stored (signed out elsewhere) must not come back to life.
                let exists = db
                    .load_session(key.as_ref(), now_ms())
                    .await
                    .map_err(|e| UpdateError::Other(e.into()))?
                    .is_some();
                if !exists {
                    return self
                        .save(state, ttl)
                        .await
                        .map_err(|e| UpdateError::Other(anyhow!(e.to_string())));
                }
                let json = serde_json::to_string(&state)
                    .map_err(|e| UpdateError::Serialization(e.into()))?;
                db.store_session(key.as_ref(), user_id(&state), &json, expiry(ttl))
                    .await
                    .map_err(|e| UpdateError::Other(e.into()))?;
                Ok(key)
            }
        }
    }

    async fn update_ttl(&self, key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        match self {
            Self::Redis(redis) => redis.update_ttl(key, ttl).await,
            Self::Database(db) => Ok(db.touch_session(key.as_ref(), expiry(ttl)).await?),
        }
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        match self {
            Self::Redis(redis) => redis.delete(key).await,
            Self::Database(db) => Ok(db.delete_session(key.as_ref()).await?),
        }
    }
}
