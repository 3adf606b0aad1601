//! The two signature formulas (README, "Test notifications and API keys"), as pure functions.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256, Sha512};

/// `base64(SHA-256(body))`, the non-SNAP `Digest` component.
pub fn digest(body: &str) -> String {
    BASE64.encode(Sha256::digest(body.as_bytes()))
}

/// The non-SNAP string to sign: five `Name:value` lines joined by `\n`.
pub fn non_snap_component(
    client_id: &str,
    request_id: &str,
    timestamp: &str,
    target: &str,
    body: &str,
) -> String {
    format!(
        "Client-Id:{client_id}\nRequest-Id:{request_id}\nRequest-Timestamp:{timestamp}\n\
         Request-Target:{target}\nDigest:{}",
        digest(body)
    )
}

/// The non-SNAP `Signature` header: `HMACSHA256=base64(HMAC-SHA256(secret, component))`.
pub fn non_snap_signature(secret: &str, component: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(component.as_bytes());
    format!("HMACSHA256={}", BASE64.encode(mac.finalize().into_bytes()))
}

/// The SNAP string to sign: `POST:path:token:hex(SHA-256(minified body)):timestamp`.
pub fn snap_string_to_sign(
    path: &str,
    token: &str,
    minified_body: &str,
    timestamp: &str,
) -> String {
    let body_hash = hex::encode(Sha256::digest(minified_body.as_bytes()));
    format!("POST:{path}:{token}:{body_hash}:{timestamp}")
}

/// The SNAP `X-SIGNATURE` header: `base64(HMAC-SHA512(secret, string to sign))`.
pub fn snap_signature(secret: &str, string_to_sign: &str) -> String {
    let mut mac = Hmac::<Sha512>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(string_to_sign.as_bytes());
    BASE64.encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 4231 test case 2 ("Jefe"), so the primitives are the standard ones.
    #[test]
    fn hmacs_match_the_rfc_4231_vectors() {
        let data = "what do ya want for nothing?";
        let sha256 = non_snap_signature("Jefe", data);
        let expected =
            hex::decode("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
                .unwrap();
        assert_eq!(sha256, format!("HMACSHA256={}", BASE64.encode(expected)));
        let sha512 = snap_signature("Jefe", data);
        let expected = hex::decode(
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737",
        )
        .unwrap();
        assert_eq!(sha512, BASE64.encode(expected));
    }

    #[test]
    fn the_non_snap_component_has_five_lines_in_order() {
        let component = non_snap_component("MCH-1", "r-1", "2026-01-01T00:00:00Z", "/notify", "{}");
        let lines: Vec<&str> = component.split('\n').collect();
        assert_eq!(lines[0], "Client-Id:MCH-1");
        assert_eq!(lines[3], "Request-Target:/notify");
        assert_eq!(
            lines[4],
            "Digest:RBNvo1WzZ4oRRq0W9+hknpT7T8If536DEMBg9hyq/4o="
        );
        let snap = snap_string_to_sign("/n", "tok", "{}", "T");
        assert_eq!(
            snap,
            "POST:/n:tok:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a:T"
        );
    }
}
