//! One-time messages for the next page ("Saved.") travel in a signed cookie, not in the
//! session: setting one writes nothing to the session store, and a page view without one reads
//! and writes nothing at all.
//!
//! A handler answers with [`redirect_with`]; [`carry_flash`] signs the message into the cookie
//! on the way out, checks it on the next request, offers it to that page ([`current`]) and
//! clears it once a page, not a redirect, was answered.

use actix_web::HttpResponse;
use actix_web::body::MessageBody;
use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::web;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::state::AppState;

/// Messages longer than this are cut (a cookie holds about 4 KiB).
const MAX_MESSAGE_BYTES: usize = 1024;

tokio::task_local! {
    static CURRENT: Option<String>;
}

/// The message waiting for the page being answered, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

/// A message set by a handler, for the middleware to sign into the cookie.
struct Pending(String);

/// A 303 redirect to `location` that leaves `message` for the page it leads to.
pub fn redirect_with(location: &str, message: &str) -> HttpResponse {
    let mut response = HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish();
    response
        .extensions_mut()
        .insert(Pending(truncate(message).to_owned()));
    response
}

fn truncate(message: &str) -> &str {
    if message.len() <= MAX_MESSAGE_BYTES {
        return message;
    }
    let mut end = MAX_MESSAGE_BYTES;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// With `Secure` on, `__Host-` pins the cookie to this host and path `/`.
fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-payhook-flash"
    } else {
        "payhook_flash"
    }
}

/// HMAC-SHA256 of `payload` under a key of its own, derived from the session key.
fn mac(session_key: &[u8], payload: &[u8]) -> Hmac<Sha256> {
    let mut derive = Hmac::<Sha256>::new_from_slice(session_key).expect("HMAC takes any key");
    derive.update(b"payhook flash message");
    let key = derive.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(payload);
    mac
}

/// `base64(message).base64(signature)`.
fn seal(session_key: &[u8], message: &str) -> String {
    let signature = mac(session_key, message.as_bytes()).finalize().into_bytes();
    format!("{}.{}", BASE64.encode(message), BASE64.encode(signature))
}

/// The message of a cookie this site signed.
fn open(session_key: &[u8], value: &str) -> Option<String> {
    let (message, signature) = value.split_once('.')?;
    let message = BASE64.decode(message).ok()?;
    let signature = BASE64.decode(signature).ok()?;
    mac(session_key, &message).verify_slice(&signature).ok()?;
    String::from_utf8(message).ok()
}

/// The middleware: carries a flash message from a redirect to the page it leads to.
pub async fn carry_flash(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return next.call(req).await;
    };
    let settings = &state.settings;
    let name = cookie_name(settings.cookie_secure);
    let arrived = req.cookie(name).map(|c| c.value().to_owned());
    let message = arrived
        .as_deref()
        .and_then(|value| open(&settings.session_key, value));
    let mut response = CURRENT.scope(message, next.call(req)).await?;
    let pending = response.response_mut().extensions_mut().remove::<Pending>();
    let cookie = |value: String| {
        Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(settings.cookie_secure)
            .same_site(SameSite::Lax)
    };
    if let Some(Pending(message)) = pending {
        let set = cookie(seal(&settings.session_key, &message)).finish();
        response.response_mut().add_cookie(&set)?;
    } else if arrived.is_some() && !response.status().is_redirection() {
        // Shown (or unreadable): gone with this answer. A redirect keeps it for the next page.
        let clear = cookie(String::new()).max_age(time::Duration::ZERO).finish();
        response.response_mut().add_cookie(&clear)?;
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_opens_only_with_its_own_signature_and_key() {
        let key = [7u8; 64];
        let sealed = seal(&key, "Notification URLs for BCA saved.");
        assert_eq!(
            open(&key, &sealed).as_deref(),
            Some("Notification URLs for BCA saved.")
        );
        assert_eq!(open(&[8u8; 64], &sealed), None, "another key");
        let (_, signature) = sealed.split_once('.').unwrap();
        let forged = format!("{}.{signature}", BASE64.encode("Your account is closed"));
        assert_eq!(open(&key, &forged), None, "another message");
        assert_eq!(open(&key, "garbage"), None);
    }

    #[test]
    fn long_messages_are_cut_on_a_character_boundary() {
        let long = "é".repeat(600);
        let cut = truncate(&long);
        assert!(cut.len() <= MAX_MESSAGE_BYTES && cut.chars().all(|c| c == 'é'));
    }
}
