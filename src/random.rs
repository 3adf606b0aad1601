//! Randomness from the operating system, for tokens, keys and generated codes.

/// Cryptographically random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).expect("the operating system's random source is unavailable");
    bytes
}

/// A random token of 32 bytes, hex encoded (64 characters).
pub fn random_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// `len` characters drawn from `alphabet` (at most 64 characters).
pub fn random_code(alphabet: &[u8], len: usize) -> String {
    random_bytes::<64>()[..len]
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()] as char)
        .collect()
}
