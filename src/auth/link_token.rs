//! The secret of a link sent by email (a password reset, an invitation): 32 random bytes,
//! URL-safe base64, of which the database keeps only the SHA-256, so a copy of the database
//! holds no working link.

use base64::Engine;
use sha2::{Digest, Sha256};

/// The secret part of a link, as its recipient holds it.
pub struct LinkToken(String);

impl LinkToken {
    pub fn new() -> Self {
        let bytes = crate::random::random_bytes::<32>();
        Self(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A token as found in a link; anything that cannot be one is `None`.
    pub fn from_link(text: &str) -> Option<Self> {
        let plausible = text.len() == 43
            && text
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plausible.then(|| Self(text.to_owned()))
    }

    /// What the database keeps: the SHA-256 of the token, in hex.
    pub fn hash(&self) -> String {
        hex::encode(Sha256::digest(self.0.as_bytes()))
    }

    /// The token itself, for the link's path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for LinkToken {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_url_safe_and_stored_only_as_their_hash() {
        let token = LinkToken::new();
        assert_eq!(token.0.len(), 43);
        assert!(LinkToken::from_link(&token.0).is_some());
        assert_ne!(token.0, LinkToken::new().0);
        let hash = token.hash();
        assert_eq!(hash.len(), 64);
        assert!(!hash.contains(&token.0));
        assert!(LinkToken::from_link("short").is_none());
        assert!(LinkToken::from_link(&format!("{}/", &token.0[..42])).is_none());
    }
}
