//! Builds the application: storage, the middleware stack and the one route table.

use std::net::TcpListener;
use std::sync::Arc;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite, time::Duration};
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};

use crate::auth::SessionBackend;
use crate::config::Settings;
use crate::error::AppError;
use crate::routes::{
    account, admin, admin_users, assets, health, integration, language, login, notify, settings,
};
use crate::store::Db;

/// Request bodies above this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
     object-src 'none'";

/// What every handler can reach.
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
}

/// A server bound to its port, not yet running.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
}

impl Application {
    /// Connects and migrates the database, binds `settings.bind` (port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        Self::build_with_db(settings, db).await
    }

    /// Like `build`, on an already connected and migrated database.
    pub async fn build_with_db(settings: Settings, db: Db) -> anyhow::Result<Self> {
        warn_about_relaxed_checks(&settings);
        settings.secret_box.check_against(&db).await?;
        let listener = TcpListener::bind(&settings.bind)?;
        let port = listener.local_addr()?.port();
        let sessions = SessionBackend::new(&db, settings.redis_url.as_deref()).await?;
        let key = Key::from(&settings.session_key);
        let state = web::Data::new(AppState {
            db: db.clone(),
            settings: Arc::new(settings),
        });
        let cookie_secure = state.settings.cookie_secure;
        let server = HttpServer::new(move || {
            let session = SessionMiddleware::builder(sessions.clone(), key.clone())
                .cookie_name("payhook_session".to_owned())
                .cookie_secure(cookie_secure)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(BrowserSession::default().state_ttl(Duration::hours(12)))
                .build();
            App::new()
                .app_data(state.clone())
                .app_data(web::FormConfig::default().limit(MAX_BODY_BYTES))
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .configure(routes)
                .default_service(web::to(not_found))
                .wrap(session)
                .wrap(from_fn(limit_body_size))
                .wrap(from_fn(crate::i18n::negotiate_language))
                .wrap(security_headers())
        })
        .listen(listener)?
        .run();
        Ok(Self { port, server, db })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// A handle to stop the server gracefully.
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// The one route table.
fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(health::healthz)
        .service(assets::static_file)
        .service(language::switch)
        .route("/", web::get().to(home))
        .service(login::login_form)
        .service(login::login)
        .service(login::logout)
        .service(settings::payment_settings)
        .service(settings::section_page)
        .service(settings::configure_form)
        .service(settings::save_configuration)
        .service(settings::channel_history)
        .service(notify::send_test_notification)
        .service(integration::api_keys_page)
        .service(integration::reveal_secret)
        .service(integration::rotate_secret)
        .service(account::password_form)
        .service(account::change_password)
        .service(admin::overview)
        .service(admin::merchant_list)
        .service(admin_users::create_merchant)
        .service(admin::merchant_settings)
        .service(admin::audit)
        .service(admin::audit_csv)
        .service(admin::verify_chain)
        .service(admin_users::users)
        .service(admin_users::create_user)
        .service(admin_users::change_user);
}

/// Development switches that weaken the URL policy are announced, so none stays on unnoticed.
fn warn_about_relaxed_checks(settings: &Settings) {
    if settings.url_policy.allow_private_targets {
        tracing::warn!(
            "PAYHOOK_ALLOW_PRIVATE_TARGETS is on: sandbox notification URLs may point at \
             loopback and private addresses on any port; never enable it in production"
        );
    }
    if !settings.dns_check {
        tracing::warn!("PAYHOOK_DNS_CHECK is off: saved URLs are not checked in DNS");
    }
}

async fn home() -> HttpResponse {
    crate::routes::see_other("/settings/payment")
}

async fn not_found() -> Result<HttpResponse, AppError> {
    Err(AppError::NotFound)
}

fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::REFERRER_POLICY, "same-origin"))
        .add((header::CACHE_CONTROL, "no-store"))
}

/// Refuses a declared body above the limit before anything reads it; the form extractor's own
/// limit catches bodies sent without a length.
async fn limit_body_size(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|len| len > MAX_BODY_BYTES) {
        return Err(AppError::PayloadTooLarge.into());
    }
    next.call(req).await
}
