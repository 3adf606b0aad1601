//! Whose settings a page shows: a team member's own (read-only for a viewer), or the merchant a
//! staff member (admin, auditor) names with `?merchant=CODE` (read-only). A team member naming
//! another merchant gets 404, so existence does not leak.

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use super::CurrentUser;
use crate::domain::{MerchantCode, Role};
use crate::error::AppError;
use crate::state::AppState;

/// The merchant a page is about, as the page shows it.
#[derive(Debug, Clone)]
pub struct Scope {
    pub merchant_id: i64,
    pub merchant_name: String,
    /// Viewers and the gateway's staff only read a merchant's settings.
    pub read_only: bool,
    /// Appended to links so an admin stays on the same merchant (`""` for merchants).
    pub query: String,
}

impl Scope {
    /// A team member's own merchant, which it may change unless it only views.
    pub fn own(merchant: &super::MerchantRef, role: Role) -> Self {
        Self {
            merchant_id: merchant.id,
            merchant_name: merchant.name.clone(),
            read_only: !role.may_change_settings(),
            query: String::new(),
        }
    }
}

/// A signed-in user and the merchant the page is about, when there is one: an admin who
/// named no merchant has none (the page offers a choice).
pub struct MaybeScoped {
    pub user: CurrentUser,
    pub scope: Option<Scope>,
}

/// A signed-in user and the merchant the page is about; an admin who named none gets 404.
pub struct Scoped {
    pub user: CurrentUser,
    pub scope: Scope,
}

impl FromRequest for MaybeScoped {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let requested = requested_merchant(req.query_string());
        Box::pin(async move {
            let user = user.await?;
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            let scope = resolve(&state, &user, requested.as_deref()).await?;
            Ok(MaybeScoped { user, scope })
        })
    }
}

impl FromRequest for Scoped {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let maybe = MaybeScoped::from_request(req, payload);
        Box::pin(async move {
            let MaybeScoped { user, scope } = maybe.await?;
            let scope = scope.ok_or(AppError::NotFound)?;
            Ok(Scoped { user, scope })
        })
    }
}

/// The `merchant` query parameter, if given.
fn requested_merchant(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "merchant")
        .map(|(_, value)| value.into_owned())
}

async fn resolve(
    state: &AppState,
    user: &CurrentUser,
    requested: Option<&str>,
) -> Result<Option<Scope>, AppError> {
    match (user.role.is_team(), &user.merchant, requested) {
        (true, Some(own), requested) => {
            let other = requested.is_some_and(|code| {
                MerchantCode::parse(code).map_or(true, |code| code != own.code)
            });
            if other {
                return Err(AppError::NotFound);
            }
            Ok(Some(Scope::own(own, user.role)))
        }
        (false, _, Some(code)) => {
            let code = MerchantCode::parse(code).map_err(|_| AppError::NotFound)?;
            let merchant = state
                .db
                .find_merchant(&code)
                .await?
                .ok_or(AppError::NotFound)?;
            Ok(Some(Scope {
                merchant_id: merchant.id,
                query: format!("?merchant={}", merchant.code),
                merchant_name: merchant.name,
                read_only: true,
            }))
        }
        (false, _, None) => Ok(None),
        (true, None, _) => Err(AppError::NotFound),
    }
}
