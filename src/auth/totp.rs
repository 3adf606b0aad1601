//! Time-based one-time codes (RFC 6238): HMAC-SHA1 over 30-second steps, 6 digits, as every
//! authenticator app computes them, and the `otpauth://` URI and QR code that set one up.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Seconds in one step.
pub const STEP_SECONDS: i64 = 30;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Steps either side of the current one a code may come from (a clock a little off, a code
/// typed as it changes).
const SKEW: i64 = 1;
/// Random bytes of a secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A shared secret, as raw bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct TotpSecret(Vec<u8>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl TotpSecret {
    /// A new random secret.
    pub fn generate() -> Self {
        Self(crate::random::random_bytes::<SECRET_BYTES>().to_vec())
    }

    /// The secret as an authenticator app takes it: RFC 4648 base32, without padding.
    pub fn base32(&self) -> String {
        let mut out = String::with_capacity(self.0.len().div_ceil(5) * 8);
        for chunk in self.0.chunks(5) {
            let mut buffer = [0u8; 5];
            buffer[..chunk.len()].copy_from_slice(chunk);
            let bits = buffer
                .iter()
                .fold(0u64, |bits, &byte| (bits << 8) | u64::from(byte));
            let symbols = (chunk.len() * 8).div_ceil(5);
            for n in 0..symbols {
                let index = (bits >> (35 - n * 5)) & 0x1f;
                out.push(char::from(BASE32[index as usize]));
            }
        }
        out
    }

    /// The secret read back from [`TotpSecret::base32`] (how it is sealed at rest).
    pub fn from_base32(text: &str) -> Option<Self> {
        let mut bytes = Vec::with_capacity(text.len() * 5 / 8);
        let (mut bits, mut count) = (0u64, 0u32);
        for symbol in text.bytes() {
            let value = BASE32.iter().position(|&b| b == symbol)?;
            bits = (bits << 5) | value as u64;
            count += 5;
            if count >= 8 {
                count -= 8;
                bytes.push((bits >> count) as u8);
            }
        }
        (!bytes.is_empty()).then_some(Self(bytes))
    }

    /// The base32 secret in groups of four, for typing by hand.
    pub fn grouped(&self) -> String {
        let text = self.base32();
        let groups: Vec<&str> = text
            .as_bytes()
            .chunks(4)
            .map(|group| std::str::from_utf8(group).unwrap_or_default())
            .collect();
        groups.join(" ")
    }

    /// The code of time step `step` (RFC 4226's HOTP of the step counter).
    pub fn code_at(&self, step: i64) -> u32 {
        let mut mac = Hmac::<Sha1>::new_from_slice(&self.0).expect("HMAC takes any key");
        mac.update(&step.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[digest.len() - 1] & 0x0f);
        let value = u32::from_be_bytes([
            digest[offset] & 0x7f,
            digest[offset + 1],
            digest[offset + 2],
            digest[offset + 3],
        ]);
        value % 10u32.pow(DIGITS)
    }

    /// The step, within [`SKEW`] of `now_ms`, whose code `typed` is; `None` when none is.
    /// Every candidate is compared, in constant time.
    pub fn matching_step(&self, typed: &str, now_ms: i64) -> Option<i64> {
        let current = now_ms.div_euclid(1000) / STEP_SECONDS;
        let typed = typed.as_bytes();
        let mut found = None;
        for step in current - SKEW..=current + SKEW {
            let code = format!("{:0width$}", self.code_at(step), width = DIGITS as usize);
            if bool::from(code.as_bytes().ct_eq(typed)) {
                found = Some(step);
            }
        }
        found
    }

    /// The `otpauth://` URI an authenticator app reads (from the QR code, or pasted). SHA-1, six
    /// digits and 30 seconds are every app's defaults, so the URI leaves them out (a smaller QR
    /// code, and apps that ignore them read the same).
    pub fn uri(&self, account: &str) -> String {
        let mut uri = url::Url::parse("otpauth://totp/").expect("a valid base URI");
        uri.set_path(&format!("/payhook:{account}"));
        uri.query_pairs_mut()
            .append_pair("secret", &self.base32())
            .append_pair("issuer", "payhook");
        uri.to_string()
    }
}

/// `uri` as a QR code: an SVG image (made by the `qrcode` crate from the URI alone, no user
/// text) to put inline in a page, labelled `label` for screen readers.
pub fn qr_svg(uri: &str, label: &str) -> Option<String> {
    let code = qrcode::QrCode::new(uri.as_bytes()).ok()?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    let svg = svg.trim_start_matches(r#"<?xml version="1.0" standalone="yes"?>"#);
    let label = askama::filters::escape(label, askama::filters::Html).ok()?;
    Some(svg.replacen(
        "<svg ",
        &format!(r#"<svg role="img" aria-label="{label}" "#),
        1,
    ))
}

/// A typed code with its white space removed, when it has the shape of a TOTP code.
pub fn as_totp_code(typed: &str) -> Option<String> {
    let code: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    (code.len() == DIGITS as usize && code.bytes().all(|b| b.is_ascii_digit())).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_rfc_6238s_for_sha1() {
        // RFC 6238, appendix B: the SHA-1 key and times, cut to 6 digits.
        let secret = TotpSecret(b"12345678901234567890".to_vec());
        for (time, eight_digits) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_234_567_890, 89_005_924),
            (20_000_000_000, 65_353_130),
        ] {
            assert_eq!(
                secret.code_at(time / STEP_SECONDS),
                eight_digits % 1_000_000
            );
        }
    }

    #[test]
    fn a_code_matches_its_step_and_the_ones_beside_it_only() {
        let secret = TotpSecret::generate();
        let now = 1_795_855_212_345;
        let step = now / 1000 / STEP_SECONDS;
        let code = |step| format!("{:06}", secret.code_at(step));
        assert_eq!(secret.matching_step(&code(step), now), Some(step));
        assert_eq!(secret.matching_step(&code(step - 1), now), Some(step - 1));
        assert_eq!(secret.matching_step(&code(step + 1), now), Some(step + 1));
        let stale = code(step - 2);
        let near = [code(step - 1), code(step), code(step + 1)];
        if !near.contains(&stale) {
            assert_eq!(secret.matching_step(&stale, now), None);
        }
        assert_eq!(secret.matching_step("12345", now), None);
    }

    #[test]
    fn the_secret_round_trips_through_base32_and_reads_in_groups() {
        let secret = TotpSecret(b"foobar".to_vec());
        assert_eq!(secret.base32(), "MZXW6YTBOI");
        assert_eq!(TotpSecret::from_base32("MZXW6YTBOI"), Some(secret));
        let generated = TotpSecret::generate();
        assert_eq!(generated.base32().len(), 32);
        assert_eq!(
            TotpSecret::from_base32(&generated.base32()),
            Some(generated.clone())
        );
        assert_eq!(generated.grouped().split(' ').count(), 8);
        assert!(TotpSecret::from_base32("not base32!").is_none());
        assert_eq!(format!("{generated:?}"), "TotpSecret(***)");
    }

    #[test]
    fn the_uri_names_the_issuer_and_the_account() {
        let secret = TotpSecret(b"foobar".to_vec());
        let uri = secret.uri("ana@toko.co.id");
        assert!(
            uri == "otpauth://totp/payhook:ana@toko.co.id?secret=MZXW6YTBOI&issuer=payhook",
            "{uri}"
        );
        let svg = qr_svg(&uri, "QR <code>").unwrap();
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label=\"QR &#60;code&#62;\""),
            "{svg}"
        );
        assert!(!svg.contains("<script") && !svg.contains("<?xml"), "{svg}");
        assert_eq!(as_totp_code(" 123 456 "), Some("123456".into()));
        assert_eq!(as_totp_code("abcd-efgh"), None);
    }
}
