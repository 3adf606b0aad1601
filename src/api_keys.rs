//! A merchant's signing credentials: per environment a Client-Id (`MCH-…`) and a secret key
//! (`SK-…`), generated on first need and sealed at rest.

use crate::domain::Environment;
use crate::secrets::{SecretBox, SecretString};
use crate::store::{Actor, Db};

/// Credentials opened for use; the secret's `Debug` hides it.
#[derive(Debug, Clone)]
pub struct ApiKey {
    pub environment: Environment,
    pub client_id: String,
    pub secret: SecretString,
    pub created_at: i64,
    pub rotated_at: Option<i64>,
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
    let secret = secrets.open(
        &stored.secret_sealed,
        &owner(merchant_id, environment, &stored.client_id),
    )?;
    Ok(Some(ApiKey {
        environment,
        client_id: stored.client_id,
        secret,
        created_at: stored.created_at,
        rotated_at: stored.rotated_at,
    }))
}

/// The merchant and environment whose Client-Id and secret these are, when they match.
pub async fn authenticate(
    db: &Db,
    secrets: &SecretBox,
    client_id: &str,
    secret: &str,
) -> anyhow::Result<Option<(i64, Environment)>> {
    let Some((merchant_id, environment, sealed)) = db.api_key_by_client_id(client_id).await? else {
        return Ok(None);
    };
    let environment: Environment = environment.parse()?;
    let stored = secrets.open(&sealed, &owner(merchant_id, environment, client_id))?;
    let matches: bool =
        subtle::ConstantTimeEq::ct_eq(stored.expose().as_bytes(), secret.as_bytes()).into();
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
        rotated_at: Some(crate::store::now_ms()),
        ..current
    })
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
