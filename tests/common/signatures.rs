//! The signatures a receiver expects, computed here from the specification with an HMAC of the
//! tests' own, so the tests do not trust the product's signing code.

use sha2::{Digest, Sha256, Sha512};

use super::Recorded;

/// HMAC (RFC 2104) written out here, so the tests do not trust the product's signing code.
fn hmac(hash: fn(&[u8]) -> Vec<u8>, block: usize, key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut key = if key.len() > block {
        hash(key)
    } else {
        key.to_vec()
    };
    key.resize(block, 0);
    let inner: Vec<u8> = key
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let outer: Vec<u8> = key.iter().map(|b| b ^ 0x5c).chain(hash(&inner)).collect();
    hash(&outer)
}

pub fn hmac_sha256(key: &str, message: &str) -> Vec<u8> {
    hmac(
        |m| Sha256::digest(m).to_vec(),
        64,
        key.as_bytes(),
        message.as_bytes(),
    )
}

pub fn hmac_sha512(key: &str, message: &str) -> Vec<u8> {
    hmac(
        |m| Sha512::digest(m).to_vec(),
        128,
        key.as_bytes(),
        message.as_bytes(),
    )
}

pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Non-SNAP (README, "Test notifications and API keys"): the `Signature` header a receiver expects for this request.
pub fn expected_non_snap_signature(secret: &str, request: &Recorded) -> String {
    let target = request.path.split('?').next().unwrap();
    let component = format!(
        "Client-Id:{}\nRequest-Id:{}\nRequest-Timestamp:{}\nRequest-Target:{target}\nDigest:{}",
        request.header("Client-Id"),
        request.header("Request-Id"),
        request.header("Request-Timestamp"),
        base64(&Sha256::digest(request.body.as_bytes())),
    );
    format!("HMACSHA256={}", base64(&hmac_sha256(secret, &component)))
}

/// SNAP (README, "Test notifications and API keys"): the `X-SIGNATURE` a receiver expects for this request.
pub fn expected_snap_signature(secret: &str, request: &Recorded) -> String {
    let path = request.path.split('?').next().unwrap();
    let token = request
        .header("Authorization")
        .strip_prefix("Bearer ")
        .expect("a bearer token");
    // The receiver minifies the body itself, as a SNAP receiver must.
    let minified =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&request.body).unwrap())
            .unwrap();
    let string_to_sign = format!(
        "POST:{path}:{token}:{}:{}",
        hex::encode(Sha256::digest(minified.as_bytes())),
        request.header("X-TIMESTAMP"),
    );
    base64(&hmac_sha512(secret, &string_to_sign))
}
