//! Recovery codes: ten `xxxx-xxxx` codes shown once, kept as keyed hashes (HMAC-SHA256 under a
//! key derived from the secret key, with the user's id), each good once.

use crate::config::Settings;

/// How many recovery codes a user gets.
pub const RECOVERY_CODES: usize = 10;
/// The characters of a recovery code: no 0/o, 1/l/i, which read alike.
const ALPHABET: &[u8] = b"abcdefghjkmnpqrstuvwxyz23456789";
/// What recovery codes are hashed for (the keyed hash's purpose).
const HASH_PURPOSE: &str = "payhook recovery code";

/// Ten new codes: 8 characters of 31, about 40 bits each, every character equally likely
/// (bytes past the last whole multiple of 31 are drawn again).
pub(super) fn new_codes() -> Vec<String> {
    let fair_below = 256 - 256 % ALPHABET.len();
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut code = String::with_capacity(9);
            while code.len() < 8 {
                for byte in crate::random::random_bytes::<16>() {
                    let byte = usize::from(byte);
                    if byte < fair_below && code.len() < 8 {
                        code.push(char::from(ALPHABET[byte % ALPHABET.len()]));
                    }
                }
            }
            code.insert(4, '-');
            code
        })
        .collect()
}

/// A typed recovery code as it is hashed: lower case, without its dash or spaces.
pub(super) fn as_stored(typed: &str) -> Option<String> {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    (code.len() == 8 && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

pub(super) fn hash(settings: &Settings, user_id: i64, code: &str) -> String {
    settings
        .secret_box
        .keyed_hash(HASH_PURPOSE, &format!("{user_id}:{code}"))
}

pub(super) fn hashes(settings: &Settings, user_id: i64, codes: &[String]) -> Vec<String> {
    codes
        .iter()
        .filter_map(|code| as_stored(code))
        .map(|code| hash(settings, user_id, &code))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_unambiguous_pairs_of_four_read_back_however_typed() {
        let codes = new_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        for code in &codes {
            assert_eq!(code.len(), 9, "{code}");
            assert_eq!(&code[4..5], "-");
            let stored = as_stored(code).unwrap();
            assert_eq!(as_stored(&code.to_uppercase()), Some(stored.clone()));
            assert_eq!(as_stored(&format!(" {stored} ")), Some(stored.clone()));
        }
        assert!(as_stored("abcd-efgi").is_none(), "i is not in the alphabet");
        assert!(as_stored("123456").is_none());
    }

    #[test]
    fn every_character_is_drawn() {
        let drawn: std::collections::BTreeSet<u8> = (0..40)
            .flat_map(|_| new_codes())
            .flat_map(String::into_bytes)
            .filter(|b| *b != b'-')
            .collect();
        assert_eq!(drawn.len(), ALPHABET.len(), "3,200 characters reach all 31");
    }
}
