//! The payment API's caller: a merchant authenticated by HTTP Basic with its **sandbox**
//! Client-Id and secret key. Missing or wrong credentials are 401; production credentials 403,
//! since the API only makes sandbox payments. Wrong secrets count like wrong passwords at
//! sign-in, per Client-Id and client address (`api:<client_id>`), so guessing costs the same.

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::future::LocalBoxFuture;

use super::RequestMeta;
use crate::domain::Environment;
use crate::error::ApiError;
use crate::state::AppState;
use crate::throttle::{Verdict, WINDOW};

/// A merchant calling the payment API with valid sandbox credentials.
#[derive(Debug, Clone)]
pub struct SandboxClient {
    pub merchant_id: i64,
    pub client_id: String,
}

impl FromRequest for SandboxClient {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let credentials = basic_credentials(req);
        let trust_proxy = state.as_ref().is_some_and(|s| s.settings.trust_proxy);
        let ip = RequestMeta::of(req, trust_proxy).client_ip;
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            let (client_id, secret) = credentials.ok_or_else(unauthorized)?;
            let account = format!("api:{client_id}");
            match state.throttle.check(&account, ip).await? {
                Verdict::Allowed => {}
                Verdict::Slowed(delay) => tokio::time::sleep(delay).await,
                Verdict::Refused => return Err(too_many_guesses()),
            }
            let secrets = &state.settings.secret_box;
            let found =
                crate::api_keys::authenticate(&state.db, secrets, &client_id, &secret).await?;
            if found.is_none() {
                state.throttle.record_failure(&account, ip).await?;
                return Err(unauthorized());
            }
            state.throttle.clear(&account, ip).await?;
            match found {
                Some((merchant_id, Environment::Sandbox)) => Ok(SandboxClient {
                    merchant_id,
                    client_id,
                }),
                Some((_, Environment::Production)) => Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "sandbox_only",
                    "These are production credentials; the payment API makes sandbox payments \
                     only: use the sandbox Client-Id and secret key.",
                )),
                None => Err(unauthorized()),
            }
        })
    }
}

fn too_many_guesses() -> ApiError {
    ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "too_many_attempts",
        "Too many wrong credentials from this address; try again later.",
    )
    .with_retry_after(WINDOW)
}

fn unauthorized() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Send the sandbox Client-Id and secret key (Integration > API keys) with HTTP Basic \
         authentication.",
    )
}

/// The user and password of an `Authorization: Basic` header.
fn basic_credentials(req: &HttpRequest) -> Option<(String, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(BASE64.decode(encoded.trim()).ok()?).ok()?;
    let (user, password) = decoded.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}
