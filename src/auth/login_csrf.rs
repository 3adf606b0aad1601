//! The sign-in form's CSRF token, for visitors who have no session yet: a signed double-submit
//! cookie, so showing the form stores nothing anywhere. A sign-in POST must carry the same
//! token in its field and in the cookie, signed by this site and not expired, and (when the
//! browser sends one) our `Origin`.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use serde::de::DeserializeOwned;
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::HasCsrfToken;
use crate::config::Settings;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::now_ms;

/// How long a sign-in form stays usable.
const LIFETIME_MS: i64 = 2 * 60 * 60 * 1000;

/// With `Secure` on, `__Host-` pins the cookie to this host and path `/`.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-payhook-login"
    } else {
        "payhook_login"
    }
}

/// HMAC-SHA256 of `payload` under a key of its own, derived from the session key.
fn mac(session_key: &[u8], payload: &str) -> Hmac<Sha256> {
    let mut derive = Hmac::<Sha256>::new_from_slice(session_key).expect("HMAC takes any key");
    derive.update(b"payhook sign-in form CSRF token");
    let key = derive.finalize().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    mac.update(payload.as_bytes());
    mac
}

/// A new token: `nonce.expiry.signature`.
pub fn issue(session_key: &[u8], now: i64) -> String {
    let nonce = hex::encode(crate::random::random_bytes::<16>());
    let payload = format!("{nonce}.{}", now + LIFETIME_MS);
    let signature = hex::encode(mac(session_key, &payload).finalize().into_bytes());
    format!("{payload}.{signature}")
}

/// True for a token this site signed that has not expired.
pub fn is_valid(session_key: &[u8], token: &str, now: i64) -> bool {
    let Some((payload, signature)) = token.rsplit_once('.') else {
        return false;
    };
    let expiry = payload
        .split_once('.')
        .and_then(|(_, e)| e.parse::<i64>().ok());
    let Ok(signature) = hex::decode(signature) else {
        return false;
    };
    expiry.is_some_and(|expiry| expiry > now)
        && mac(session_key, payload).verify_slice(&signature).is_ok()
}

/// The token the form should carry: the visitor's own while it is valid, else a new one with
/// the cookie that sets it.
pub fn token_for(req: &HttpRequest, settings: &Settings) -> (String, Option<Cookie<'static>>) {
    let now = now_ms();
    let name = cookie_name(settings.cookie_secure);
    if let Some(cookie) = req.cookie(name)
        && is_valid(&settings.session_key, cookie.value(), now)
    {
        return (cookie.value().to_owned(), None);
    }
    let token = issue(&settings.session_key, now);
    let cookie = Cookie::build(name, token.clone())
        .path("/")
        .http_only(true)
        .secure(settings.cookie_secure)
        .same_site(SameSite::Strict)
        .max_age(time::Duration::milliseconds(LIFETIME_MS))
        .finish();
    (token, Some(cookie))
}

/// The cookie that removes the token once its visitor signed in.
pub fn removal(settings: &Settings) -> Cookie<'static> {
    let mut cookie = Cookie::build(cookie_name(settings.cookie_secure), "")
        .path("/")
        .secure(settings.cookie_secure)
        .finish();
    cookie.make_removal();
    cookie
}

/// A URL-encoded sign-in form whose token matched its signed cookie; anything else is a 403.
#[derive(Debug)]
pub struct SignInForm<T>(pub T);

impl<T> FromRequest for SignInForm<T>
where
    T: DeserializeOwned + HasCsrfToken + 'static,
{
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let same_origin = super::csrf::origin_matches_host(req);
        let cookie = state.as_ref().and_then(|state| {
            let name = cookie_name(state.settings.cookie_secure);
            req.cookie(name).map(|c| c.value().to_owned())
        });
        let form = web::Form::<T>::from_request(req, payload);
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            let form = form.await.map_err(AppError::from_form_error)?.into_inner();
            let valid = cookie.is_some_and(|cookie| {
                bool::from(cookie.as_bytes().ct_eq(form.csrf_token().as_bytes()))
                    && is_valid(&state.settings.session_key, &cookie, now_ms())
            });
            if valid && same_origin {
                Ok(SignInForm(form))
            } else {
                Err(AppError::Csrf)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_valid_only_unaltered_under_its_key_and_before_it_expires() {
        let key = [7u8; 64];
        let token = issue(&key, 1_000);
        assert!(is_valid(&key, &token, 1_000));
        assert!(!is_valid(&[8u8; 64], &token, 1_000), "another site's key");
        assert!(!is_valid(&key, &token, 1_000 + LIFETIME_MS), "expired");
        let (payload, signature) = token.rsplit_once('.').unwrap();
        let (nonce, _) = payload.split_once('.').unwrap();
        let extended = format!("{nonce}.{}.{signature}", i64::MAX);
        assert!(!is_valid(&key, &extended, 1_000), "expiry is signed");
        assert!(!is_valid(&key, "", 1_000) && !is_valid(&key, "a.b.c", 1_000));
    }
}
