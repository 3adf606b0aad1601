//! Access rules as request extractors: a handler that names `MerchantUser` in its signature
//! cannot run for anybody else.

use actix_session::{Session, SessionExt};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::{LocalBoxFuture, Ready, ready};

use super::keys;
use crate::domain::{EmailAddress, MerchantCode, Role};
use crate::error::AppError;
use crate::state::AppState;

/// The merchant a user belongs to.
#[derive(Debug, Clone)]
pub struct MerchantRef {
    pub id: i64,
    pub code: MerchantCode,
    pub name: String,
}

/// A signed-in, enabled user whose session is still current.
#[derive(Clone)]
pub struct CurrentUser {
    pub id: i64,
    pub email: EmailAddress,
    pub role: Role,
    pub merchant: Option<MerchantRef>,
    pub session: Session,
    /// Signed in with a one-time password an admin issued: must choose a new one first.
    pub must_change_password: bool,
}

impl CurrentUser {
    /// The signed-in user, or `None` (and the session cleared) when it is missing or revoked.
    async fn load(state: &AppState, session: Session) -> Result<Option<Self>, AppError> {
        let (Ok(Some(user_id)), Ok(Some(epoch))) = (
            session.get::<i64>(keys::USER_ID),
            session.get::<i64>(keys::EPOCH),
        ) else {
            return Ok(None);
        };
        let user = state.db.find_session_user(user_id).await?;
        let Some(user) = user.filter(|u| !u.disabled && u.session_epoch == epoch) else {
            session.purge();
            return Ok(None);
        };
        let merchant = match (user.merchant_id, user.merchant_code, user.merchant_name) {
            (Some(id), Some(code), Some(name)) => Some(MerchantRef { id, code, name }),
            _ => None,
        };
        Ok(Some(Self {
            id: user.id,
            email: user.email,
            role: user.role,
            merchant,
            session,
            must_change_password: user.must_change_password,
        }))
    }

    /// The audit actor for this user's requests.
    pub fn actor(&self, meta: &RequestMeta) -> crate::store::Actor {
        crate::store::Actor {
            user_id: Some(self.id),
            email: self.email.to_string(),
            role: Some(self.role),
            client_ip: meta.client_ip.clone(),
        }
    }
}

impl FromRequest for CurrentUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let session = req.get_session();
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let open_to_one_time = crate::paths::OPEN_TO_ONE_TIME_PASSWORD.contains(&req.path());
        Box::pin(async move {
            let state = state.ok_or_else(|| anyhow::anyhow!("application state missing"))?;
            let user = CurrentUser::load(&state, session)
                .await?
                .ok_or(AppError::SignInRequired)?;
            if user.must_change_password && !open_to_one_time {
                return Err(AppError::PasswordChangeRequired);
            }
            Ok(user)
        })
    }
}

/// A signed-in merchant user; admins are refused, since they may only read merchant settings.
#[derive(Clone)]
pub struct MerchantUser {
    pub user: CurrentUser,
    pub merchant: MerchantRef,
}

impl FromRequest for MerchantUser {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            match (user.role, user.merchant.clone()) {
                (Role::Merchant, Some(merchant)) => Ok(MerchantUser { user, merchant }),
                _ => Err(AppError::Forbidden(crate::i18n::t("error.admin_read_only"))),
            }
        })
    }
}

/// A signed-in admin. Anybody else gets 404, so the admin area does not reveal itself.
#[derive(Clone)]
pub struct Admin(pub CurrentUser);

impl FromRequest for Admin {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = CurrentUser::from_request(req, payload);
        Box::pin(async move {
            let user = user.await?;
            match user.role {
                Role::Admin => Ok(Admin(user)),
                Role::Merchant => Err(AppError::NotFound),
            }
        })
    }
}

/// Facts about the request that the audit log records.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub client_ip: Option<String>,
}

impl FromRequest for RequestMeta {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let trust_proxy = req
            .app_data::<web::Data<AppState>>()
            .is_some_and(|state| state.settings.trust_proxy);
        let client_ip = if trust_proxy {
            req.connection_info()
                .realip_remote_addr()
                .map(str::to_owned)
        } else {
            req.peer_addr().map(|addr| addr.ip().to_string())
        };
        ready(Ok(RequestMeta { client_ip }))
    }
}
