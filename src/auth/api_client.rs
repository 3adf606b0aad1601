//! The payment API's caller: a merchant authenticated by HTTP Basic with its **sandbox**
//! Client-Id and secret key. Missing or wrong credentials are 401; production credentials 403,
//! since the API only makes sandbox payments.

use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use futures_util::future::LocalBoxFuture;

use crate::error::ApiError;
use crate::state::AppState;
use crate::url_policy::Environment;

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
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            let (client_id, secret) = credentials.ok_or_else(unauthorized)?;
            let secrets = &state.settings.secret_box;
            match crate::api_keys::authenticate(&state.db, secrets, &client_id, &secret).await? {
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
