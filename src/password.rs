//! argon2id password hashing, always off the async threads, and a bound on how much of it runs
//! at once: every hash holds 12 MiB and a core for tens of milliseconds.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Algorithm, Argon2, Params, PasswordHasher, Version};
use subtle::ConstantTimeEq;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// argon2id with 12 MiB (in 1 KiB blocks), 3 passes and 1 lane: one of the settings OWASP's
/// password storage guidance lists as equally strong as its 19 MiB / 2 passes minimum, trading
/// memory for a pass at the same CPU cost. The server's peak memory is a sign-in's hash on top
/// of everything else, so the smaller buffer is what keeps `payhook serve` under 40 MB.
const MEMORY_BLOCKS: u32 = 12 * 1024;
const PASSES: u32 = 3;
const LANES: u32 = 1;

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_BLOCKS, PASSES, LANES, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Whether `phc` was made with other settings than [`hasher`]'s, by an earlier release: sign-in
/// replaces such a hash once the password is known to match. Anything unreadable is left alone
/// (it verifies as false anyway).
pub fn is_outdated(phc: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let Ok(params) = Params::try_from(&parsed) else {
        return false;
    };
    parsed.algorithm.as_str() != "argon2id"
        || parsed.version != Some(Version::V0x13 as u32)
        || (params.m_cost(), params.t_cost(), params.p_cost()) != (MEMORY_BLOCKS, PASSES, LANES)
        || parsed.hash.map(|hash| hash.len()) != Some(Params::DEFAULT_OUTPUT_LEN)
}

/// Every slot for password work is taken: the caller answers "try again" instead of queueing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy;

/// Slots for argon2 work, about one per core. Requests anyone can send (sign-in) take a free
/// slot or are turned away; signed-in users' password changes wait for one.
#[derive(Clone)]
pub struct Hasher {
    slots: Arc<Semaphore>,
}

impl Hasher {
    /// One slot per core this process may use.
    pub fn per_core() -> Self {
        let cores = std::thread::available_parallelism().map_or(1, usize::from);
        Self::with_slots(cores)
    }

    pub fn with_slots(slots: usize) -> Self {
        Self {
            slots: Arc::new(Semaphore::new(slots.max(1))),
        }
    }

    /// Like [`verify`], when a slot is free right now.
    pub async fn try_verify(
        &self,
        password: String,
        stored: Option<String>,
    ) -> anyhow::Result<Result<bool, Busy>> {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            return Ok(Err(Busy));
        };
        Ok(Ok(verify_holding(permit, password, stored).await?))
    }

    /// Like [`hash`], when a slot is free right now.
    pub async fn try_hash(&self, password: String) -> anyhow::Result<Result<String, Busy>> {
        let Ok(permit) = self.slots.clone().try_acquire_owned() else {
            return Ok(Err(Busy));
        };
        Ok(Ok(hash_holding(permit, password).await?))
    }

    /// Like [`hash`], once a slot is free.
    pub async fn hash(&self, password: String) -> anyhow::Result<String> {
        let permit = self.slots.clone().acquire_owned().await?;
        hash_holding(permit, password).await
    }
}

/// Like [`verify_holding`]: the slot is held until the hash is done.
async fn hash_holding(permit: OwnedSemaphorePermit, password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        hash_blocking(&password)
    })
    .await?
}

/// Hashes a password into a PHC string (unbounded: the command line and admin tools).
pub async fn hash(password: String) -> anyhow::Result<String> {
    tokio::task::spawn_blocking(move || hash_blocking(&password)).await?
}

fn hash_blocking(password: &str) -> anyhow::Result<String> {
    hasher()
        .hash_password(password.as_bytes())
        .map(|hash| hash.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// True when `password` matches `stored`. With no stored hash (unknown account) a dummy hash is
/// verified instead, so both cases cost the same time.
pub async fn verify(password: String, stored: Option<String>) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || verify_blocking(&password, stored))
        .await
        .map_err(Into::into)
}

/// The permit moves into the blocking task, so a request given up half-way still holds its
/// slot until the hash is done.
async fn verify_holding(
    permit: OwnedSemaphorePermit,
    password: String,
    stored: Option<String>,
) -> anyhow::Result<bool> {
    tokio::task::spawn_blocking(move || {
        let _permit = permit;
        verify_blocking(&password, stored)
    })
    .await
    .map_err(Into::into)
}

fn verify_blocking(password: &str, stored: Option<String>) -> bool {
    let known = stored.is_some();
    let hash = stored.unwrap_or_else(|| dummy_hash().to_owned());
    let matches = matches_phc(password.as_bytes(), &hash).unwrap_or(false);
    known && matches
}

/// Whether `password` hashes to the PHC string `phc` (`None` when it is no argon2 hash). The
/// working memory goes back to the allocator once the hash is done, and mimalloc hands it to
/// the system after its purge delay (about a second, on its next bookkeeping); the slots above
/// bound how many buffers exist at once.
fn matches_phc(password: &[u8], phc: &str) -> Option<bool> {
    let parsed = PasswordHash::new(phc).ok()?;
    let (salt, expected) = (parsed.salt.as_ref()?, parsed.hash.as_ref()?);
    let algorithm = Algorithm::try_from(parsed.algorithm.as_str()).ok()?;
    let version = match parsed.version {
        Some(version) => Version::try_from(version).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).ok()?;
    let argon2 = Argon2::new(algorithm, version, params);
    let mut out = vec![0u8; expected.len()];
    argon2.hash_password_into(password, salt, &mut out).ok()?;
    Some(bool::from(expected.as_bytes().ct_eq(&out)))
}

fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_blocking(&crate::random::random_token()).expect("hashing the dummy password")
    })
}

/// A random password for generated accounts: 20 characters from an unambiguous alphabet.
pub fn generate() -> String {
    const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    crate::random::random_code(ALPHABET, 20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_own_password_only() {
        let hash = hash("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=12288,t=3,p=1$"));
        assert!(!is_outdated(&hash));
        assert!(
            verify("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify("wrong".into(), Some(hash)).await.unwrap());
        assert!(!verify("x".into(), None).await.unwrap());
    }

    #[tokio::test]
    async fn a_full_hasher_turns_verifications_away_until_a_slot_frees() {
        let hasher = Hasher::with_slots(1);
        let held = hasher.slots.clone().try_acquire_owned().unwrap();
        let stored = Some(hash("pw".into()).await.unwrap());
        assert_eq!(
            hasher
                .try_verify("pw".into(), stored.clone())
                .await
                .unwrap(),
            Err(Busy)
        );
        drop(held);
        assert_eq!(
            hasher.try_verify("pw".into(), stored).await.unwrap(),
            Ok(true)
        );
    }
}
