//! Encryption at rest for merchants' signing secrets (XChaCha20-Poly1305).
//!
//! A secret is sealed with a random 24-byte nonce and associated data naming its owner, so a
//! ciphertext copied onto another merchant's row no longer opens.

use std::fmt;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Length of the key in `PAYHOOK_SECRET_KEY` (hex) or the key file.
pub const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 24;

/// The key that seals and opens stored secrets.
#[derive(Clone)]
pub struct SecretBox {
    key: [u8; KEY_LEN],
}

impl fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn new(key: [u8; KEY_LEN]) -> Self {
        Self { key }
    }

    /// A box with a fresh random key (tests and tools that keep nothing).
    pub fn random() -> Self {
        Self::new(crate::random::random_bytes::<KEY_LEN>())
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.key.into())
    }

    /// Encrypts `plaintext` bound to `owner`; returns hex of nonce ‖ ciphertext ‖ tag.
    pub fn seal(&self, plaintext: &SecretString, owner: &str) -> anyhow::Result<String> {
        let nonce = crate::random::random_bytes::<NONCE_LEN>();
        let payload = Payload {
            msg: plaintext.expose().as_bytes(),
            aad: owner.as_bytes(),
        };
        let sealed = self
            .cipher()
            .encrypt(&XNonce::from(nonce), payload)
            .map_err(|_| anyhow::anyhow!("sealing a secret failed"))?;
        Ok(hex::encode([nonce.as_slice(), &sealed].concat()))
    }

    /// A keyed hash of `value` (HMAC-SHA256 under a key of `purpose` derived from this one), in
    /// hex: what a short secret (a recovery code) is stored as, so a copy of the database alone
    /// cannot be searched for the values that hash to it.
    pub fn keyed_hash(&self, purpose: &str, value: &str) -> String {
        use hmac::{Hmac, KeyInit, Mac};
        let mut derive =
            Hmac::<sha2::Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        derive.update(purpose.as_bytes());
        let key = derive.finalize().into_bytes();
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(&key).expect("HMAC takes any key");
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }

    /// Refuses a key other than the one this database's secrets were sealed with, before any
    /// merchant's secret is needed.
    pub async fn check_against(&self, db: &crate::store::Db) -> anyhow::Result<()> {
        const OWNER: &str = "secret-key-check";
        let sealed = self.seal(&SecretString::new("payhook".to_owned()), OWNER)?;
        let stored = db.secret_key_check(&sealed).await?;
        self.open(&stored, OWNER).map(drop).map_err(|_| {
            anyhow::anyhow!(
                "PAYHOOK_SECRET_KEY is not the key this database's secrets were sealed with; \
                 start with the original key"
            )
        })
    }

    /// Decrypts what [`seal`](Self::seal) made for the same `owner`.
    pub fn open(&self, sealed: &str, owner: &str) -> anyhow::Result<SecretString> {
        // The error never says more: a wrong key and a tampered row look the same.
        let fail = || {
            anyhow::anyhow!("a stored secret could not be decrypted (PAYHOOK_SECRET_KEY changed?)")
        };
        let bytes = hex::decode(sealed).map_err(|_| fail())?;
        if bytes.len() < NONCE_LEN {
            return Err(fail());
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| fail())?;
        let payload = Payload {
            msg: ciphertext,
            aad: owner.as_bytes(),
        };
        let plain = self
            .cipher()
            .decrypt(&XNonce::from(nonce), payload)
            .map_err(|_| fail())?;
        String::from_utf8(plain)
            .map(SecretString)
            .map_err(|_| fail())
    }
}

/// A secret value whose `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretString(String);

impl SecretString {
    pub fn new(value: String) -> Self {
        Self(value)
    }

    /// The secret itself: only for signing and for the one page that reveals it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretString(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_owner() {
        let secret = SecretString::new("SK-abc".into());
        let sealed_box = SecretBox::random();
        let sealed = sealed_box.seal(&secret, "merchant:1:sandbox").unwrap();
        assert!(!sealed.contains("SK-abc"));
        assert_eq!(
            sealed_box.open(&sealed, "merchant:1:sandbox").unwrap(),
            secret
        );
        assert!(sealed_box.open(&sealed, "merchant:2:sandbox").is_err());
        assert!(
            SecretBox::random()
                .open(&sealed, "merchant:1:sandbox")
                .is_err()
        );
        assert_ne!(
            sealed,
            sealed_box.seal(&secret, "merchant:1:sandbox").unwrap(),
            "fresh nonce"
        );
        assert_eq!(format!("{secret:?}"), "SecretString(***)");
    }
}
