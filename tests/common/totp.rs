//! RFC 6238 codes computed here (base32, HMAC-SHA1 and the dynamic truncation written out), so
//! the tests do not trust the product's TOTP code; and the steps of setting two-factor up
//! through the pages.

use reqwest::StatusCode;
use sha1::{Digest, Sha1};

use super::{Browser, PASSWORD, element_text};

/// RFC 4648 base32 without padding, as authenticator apps read it.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut bits = 0_u64;
    let mut held = 0;
    let mut bytes = Vec::new();
    for c in text.bytes().filter(|c| *c != b'=' && *c != b' ') {
        let value = ALPHABET
            .iter()
            .position(|a| *a == c.to_ascii_uppercase())
            .expect("a base32 character") as u64;
        bits = (bits << 5) | value;
        held += 5;
        if held >= 8 {
            held -= 8;
            bytes.push((bits >> held) as u8);
        }
    }
    bytes
}

fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut key = key.to_vec();
    if key.len() > 64 {
        key = Sha1::digest(&key).to_vec();
    }
    key.resize(64, 0);
    let mut inner = Sha1::new();
    inner.update(key.iter().map(|b| b ^ 0x36).collect::<Vec<_>>());
    inner.update(message);
    let mut outer = Sha1::new();
    outer.update(key.iter().map(|b| b ^ 0x5c).collect::<Vec<_>>());
    outer.update(inner.finalize());
    outer.finalize().to_vec()
}

/// The 6-digit code of `secret` (base32) for 30-second step `step`.
pub fn totp_at_step(secret: &str, step: u64) -> String {
    let mac = hmac_sha1(&base32_decode(secret), &step.to_be_bytes());
    let offset = usize::from(mac[19] & 0x0f);
    let number = u32::from_be_bytes([
        mac[offset],
        mac[offset + 1],
        mac[offset + 2],
        mac[offset + 3],
    ]) & 0x7fff_ffff;
    format!("{:06}", number % 1_000_000)
}

/// The current 30-second step.
pub fn current_step() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    now.as_secs() / 30
}

/// The code of `secret` `ahead` steps from now (the server accepts one step either side, and
/// each step once: a test that needs several codes takes the next step's).
pub fn totp_ahead(secret: &str, ahead: u64) -> String {
    totp_at_step(secret, current_step() + ahead)
}

/// The `otpauth://` URI a setup page shows, as text (the page escapes its `&`).
pub fn otpauth_uri_of(html: &str) -> String {
    element_text(html, "otpauth-uri")
        .expect("the setup page shows the URI")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The `secret` parameter of the `otpauth://` URI a setup page shows.
pub fn secret_of_uri(uri: &str) -> String {
    let query = uri.split_once('?').expect("a query").1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("secret="))
        .expect("a secret parameter")
        .to_owned()
}

/// What setting two-factor up left with the test: the secret, and the recovery codes shown.
pub struct Enrolled {
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

/// The recovery codes a page shows, in order.
pub fn recovery_codes_of(html: &str) -> Vec<String> {
    let list = html
        .split_once(r#"id="recovery-codes""#)
        .expect("a list of recovery codes")
        .1;
    let list = list.split_once("</ol>").unwrap().0;
    list.split("<code>")
        .skip(1)
        .map(|rest| rest.split_once("</code>").unwrap().0.to_owned())
        .collect()
}

/// Sets up two-factor for the user signed in on `browser` (password [`PASSWORD`]), through the
/// pages, with the code of the current step.
pub async fn enrol(browser: &Browser) -> Enrolled {
    let setup = browser
        .submit(
            "/account/two-factor",
            "/account/two-factor/setup",
            &[("password", PASSWORD)],
        )
        .await;
    assert_eq!(setup.status(), StatusCode::OK);
    let html = setup.text().await.unwrap();
    let secret = secret_of_uri(&otpauth_uri_of(&html));
    let token = super::csrf_token(&html);
    let confirmed = browser
        .post(
            "/account/two-factor/confirm",
            &[("code", &totp_ahead(&secret, 0)), ("csrf_token", &token)],
        )
        .await;
    assert_eq!(confirmed.status(), StatusCode::OK);
    let recovery_codes = recovery_codes_of(&confirmed.text().await.unwrap());
    Enrolled {
        secret,
        recovery_codes,
    }
}

/// Signs in on `browser` with the password, then `code` at the second step: the second step's
/// answer.
pub async fn sign_in_with_code(browser: &Browser, email: &str, code: &str) -> reqwest::Response {
    let first = browser.login(email, PASSWORD).await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    assert_eq!(super::location(&first), "/login/two-factor");
    browser
        .submit("/login/two-factor", "/login/two-factor", &[("code", code)])
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_vectors() {
        // Appendix B, SHA-1, cut to six digits; the key is "12345678901234567890" in base32.
        let secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
        assert_eq!(totp_at_step(secret, 59 / 30), "287082");
        assert_eq!(totp_at_step(secret, 1_111_111_109 / 30), "081804");
        assert_eq!(totp_at_step(secret, 1_234_567_890 / 30), "005924");
        assert_eq!(totp_at_step(secret, 20_000_000_000 / 30), "353130");
    }
}
