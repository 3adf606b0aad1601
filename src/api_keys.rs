//! A merchant's signing credentials: per environment a Client-Id (`MCH-…`) and a secret key
//! (`SK-…`), generated on first need and sealed at rest.

use crate::config::Settings;
use crate::domain::Environment;
use crate::mail::key_rotation::{RotationEvent, notices};
use crate::secrets::{SecretBox, SecretString};
use crate::store::api_keys::{RotationChange, RotationStep, StoredApiKey};
use crate::store::{Actor, AuditAction, Db, now_ms};

/// Credentials opened for use; the secret's `Debug` hides it.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub environment: Environment,
    pub client_id: String,
    pub secret: SecretString,
    pub created_at: i64,
    pub rotated_at: Option<i64>,
    /// A scheduled rotation that has not taken over yet.
    pub next: Option<NextSecret>,
}

/// The secret of a scheduled rotation: the payment API accepts it already, notifications are
/// signed with it from `takes_over_at`.
#[derive(Debug, Clone)]
pub struct NextSecret {
    pub secret: SecretString,
    pub takes_over_at: i64,
}

impl ApiKey {
    /// The key as it stands at `now`: a scheduled secret whose time has come is the current
    /// one, whether or not the take-over has been written yet, so nothing waits for it.
    fn at(mut self, now: i64) -> Self {
        if let Some(next) = self.next.take_if(|next| next.takes_over_at <= now) {
            self.secret = next.secret;
            self.rotated_at = Some(next.takes_over_at);
        }
        self
    }
}

const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A new Client-Id: `MCH-` and 16 unambiguous characters.
fn new_client_id() -> String {
    format!("MCH-{}", crate::random::random_code(ALPHABET, 16))
}

/// A new secret: `SK-` and 32 random bytes in hex (256 bits).
fn new_secret() -> SecretString {
    SecretString::new(format!("SK-{}", crate::random::random_token()))
}

/// What a sealed secret is bound to, so a row copied to another merchant does not open.
fn owner(merchant_id: i64, environment: Environment, client_id: &str) -> String {
    format!("api_key:{merchant_id}:{environment}:{client_id}")
}

/// The merchant's key for `environment`, generated on first need and stored in the same
/// transaction as its audit event (done by `actor`, who first needed it).
pub async fn ensure(
    db: &Db,
    secrets: &SecretBox,
    merchant_id: i64,
    environment: Environment,
    actor: &Actor,
) -> anyhow::Result<ApiKey> {
    if db.api_key(merchant_id, environment).await?.is_none() {
        let client_id = new_client_id();
        let sealed = secrets.seal(&new_secret(), &owner(merchant_id, environment, &client_id))?;
        db.insert_api_key(merchant_id, environment, &client_id, &sealed, actor)
            .await?;
    }
    // Read back: a concurrent first view may have stored its key instead of ours.
    find(db, secrets, merchant_id, environment)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the API key vanished after being stored"))
}

/// The merchant's key for `environment`, opened, if it was generated.
pub async fn find(
    db: &Db,
    secrets: &SecretBox,
    merchant_id: i64,
    environment: Environment,
) -> anyhow::Result<Option<ApiKey>> {
    let Some(stored) = db.api_key(merchant_id, environment).await? else {
        return Ok(None);
    };
    Ok(Some(
        open(secrets, merchant_id, environment, stored)?.at(now_ms()),
    ))
}

/// A stored key opened: its secret and a scheduled one.
fn open(
    secrets: &SecretBox,
    merchant_id: i64,
    environment: Environment,
    stored: StoredApiKey,
) -> anyhow::Result<ApiKey> {
    let bound = owner(merchant_id, environment, &stored.client_id);
    let next = match (&stored.next_secret_sealed, stored.next_takes_over_at) {
        (Some(sealed), Some(takes_over_at)) => Some(NextSecret {
            secret: secrets.open(sealed, &bound)?,
            takes_over_at,
        }),
        _ => None,
    };
    Ok(ApiKey {
        environment,
        secret: secrets.open(&stored.secret_sealed, &bound)?,
        client_id: stored.client_id,
        created_at: stored.created_at,
        rotated_at: stored.rotated_at,
        next,
    })
}

/// The merchant and environment whose Client-Id and secret these are, when they match.
pub async fn authenticate(
    db: &Db,
    secrets: &SecretBox,
    client_id: &str,
    secret: &str,
) -> anyhow::Result<Option<(i64, Environment)>> {
    let Some((merchant_id, environment, stored)) = db.api_key_by_client_id(client_id).await? else {
        return Ok(None);
    };
    let key = open(secrets, merchant_id, environment, stored)?.at(now_ms());
    let same = |known: &SecretString| -> bool {
        subtle::ConstantTimeEq::ct_eq(known.expose().as_bytes(), secret.as_bytes()).into()
    };
    // Until a scheduled secret takes over, both work: the merchant's systems move over first.
    let matches = same(&key.secret) | key.next.as_ref().is_some_and(|next| same(&next.secret));
    Ok(matches.then_some((merchant_id, environment)))
}

/// Gives the key a new secret (the Client-Id stays), audited without the secret; returns the
/// new credentials so they can be shown once.
pub async fn rotate(
    db: &Db,
    secrets: &SecretBox,
    merchant_id: i64,
    environment: Environment,
    actor: &Actor,
) -> anyhow::Result<ApiKey> {
    let current = ensure(db, secrets, merchant_id, environment, actor).await?;
    let secret = new_secret();
    let sealed = secrets.seal(
        &secret,
        &owner(merchant_id, environment, &current.client_id),
    )?;
    let rotated = db
        .rotate_api_key(merchant_id, environment, &sealed, actor)
        .await?;
    anyhow::ensure!(rotated, "the API key to rotate was not found");
    Ok(ApiKey {
        secret,
        rotated_at: Some(now_ms()),
        next: None,
        ..current
    })
}

/// How long after scheduling a rotation's secret takes over: the choices the page offers.
pub const ROTATION_DELAYS_HOURS: [i64; 3] = [1, 24, 72];

/// Schedules a new secret to take over in `hours`, telling the owners; returns the key with
/// the new secret to show once, or `None` when a rotation is scheduled already.
pub async fn schedule_rotation(
    db: &Db,
    settings: &Settings,
    merchant: (i64, &str),
    environment: Environment,
    hours: i64,
    actor: &Actor,
) -> anyhow::Result<Option<ApiKey>> {
    let (merchant_id, merchant_name) = merchant;
    let secrets = &settings.secret_box;
    let current = ensure(db, secrets, merchant_id, environment, actor).await?;
    let now = now_ms();
    let takes_over_at = now + hours * 60 * 60 * 1000;
    let secret = new_secret();
    let sealed = secrets.seal(
        &secret,
        &owner(merchant_id, environment, &current.client_id),
    )?;
    let event = RotationEvent {
        event: AuditAction::ApiKeyRotationScheduled,
        merchant_name,
        environment,
        client_id: &current.client_id,
        takes_over_at: Some(takes_over_at),
        by: Some(&actor.email),
    };
    let owners = db.owner_contacts(merchant_id).await?;
    let emails = notices(settings, &event, &owners)?;
    let step = RotationStep {
        merchant_id,
        environment,
        emails: &emails,
        actor,
        now,
    };
    if db.schedule_rotation(&step, &sealed, takes_over_at).await? == RotationChange::Refused {
        return Ok(None);
    }
    Ok(Some(ApiKey {
        next: Some(NextSecret {
            secret,
            takes_over_at,
        }),
        ..current
    }))
}

/// Cancels a scheduled rotation before it takes over, telling the owners; false when none
/// was waiting.
pub async fn cancel_rotation(
    db: &Db,
    settings: &Settings,
    merchant: (i64, &str),
    environment: Environment,
    actor: &Actor,
) -> anyhow::Result<bool> {
    let (merchant_id, merchant_name) = merchant;
    let Some(stored) = db.api_key(merchant_id, environment).await? else {
        return Ok(false);
    };
    let event = RotationEvent {
        event: AuditAction::ApiKeyRotationCancelled,
        merchant_name,
        environment,
        client_id: &stored.client_id,
        takes_over_at: stored.next_takes_over_at,
        by: Some(&actor.email),
    };
    let owners = db.owner_contacts(merchant_id).await?;
    let emails = notices(settings, &event, &owners)?;
    let step = RotationStep {
        merchant_id,
        environment,
        emails: &emails,
        actor,
        now: now_ms(),
    };
    Ok(db.cancel_rotation(&step).await? == RotationChange::Done)
}

/// Writes the take-over of every scheduled rotation whose time has come (signing and the API
/// already treat them as taken over), audited and told to the owners; returns how many.
pub async fn take_over_due(db: &Db, settings: &Settings) -> anyhow::Result<usize> {
    let now = now_ms();
    let actor = Actor {
        email: "payhook".to_owned(),
        ..Actor::default()
    };
    let mut done = 0;
    for due in db.due_rotations(now, 100).await? {
        let event = RotationEvent {
            event: AuditAction::ApiKeyRotationTookOver,
            merchant_name: &due.merchant_name,
            environment: due.environment,
            client_id: &due.client_id,
            takes_over_at: Some(due.next_takes_over_at),
            by: None,
        };
        let owners = db.owner_contacts(due.merchant_id).await?;
        let emails = notices(settings, &event, &owners)?;
        let step = RotationStep {
            merchant_id: due.merchant_id,
            environment: due.environment,
            emails: &emails,
            actor: &actor,
            now,
        };
        if db.take_over_rotation(&due, &step).await? {
            done += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    #[test]
    fn generated_credentials_have_their_documented_shape() {
        let id = super::new_client_id();
        assert!(id.starts_with("MCH-") && id.len() == 20, "{id}");
        let secret = super::new_secret();
        assert!(secret.expose().starts_with("SK-") && secret.expose().len() == 67);
        assert_ne!(super::new_secret(), secret);
    }
}
