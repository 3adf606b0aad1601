//! Builds the application: storage, the middleware stack and the one route table.

use std::net::TcpListener;
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_web::body::MessageBody;
use actix_web::cookie::{Key, SameSite, time::Duration};
use actix_web::dev::{Server, ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::{DefaultHeaders, Next, from_fn};
use actix_web::{App, HttpMessage, HttpResponse, HttpServer, web};
use anyhow::Context;
use tracing_actix_web::{RequestId, TracingLogger};

use crate::auth::{Access, SessionBackend, session_cookie_name};
use crate::config::Settings;
use crate::error::AppError;
use crate::housekeeping::Housekeeping;
use crate::mail::worker::MailWorker;
use crate::metrics::Metrics;
use crate::notify::worker::Workers;
use crate::password::Hasher;
use crate::paths;
use crate::request_span::RequestSpan;
use crate::routes::admin::{audit, merchants, overview, users};
use crate::routes::{
    account, api, apply_section, assets, health, integration, invitations, language, log_export,
    login, metrics, notifications, password, recover, settings, team, test_notification,
    two_factor,
};
use crate::save_queue::SaveQueue;
use crate::shutdown::StopClaiming;
use crate::state::{AppState, Wake};
use crate::store::Db;
use crate::throttle::Throttle;

/// Request bodies above this size are refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; \
     img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; \
     object-src 'none'";

// Slow clients and floods. A request head is at most 128 KiB and 96 headers, fixed inside
// actix-http (beyond them: 431); `max_connection_rate` is left alone, as it only limits TLS
// handshakes and payhook serves plain HTTP behind the proxy that ends TLS.

/// A new connection must send its whole request head within this, or it is closed (408):
/// a client trickling its headers a byte at a time holds a connection for no longer.
const CLIENT_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// A closing connection gets this long to take the last bytes before it is dropped.
const CLIENT_DISCONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(1);
/// An idle kept-alive connection is closed after this: reopening one is cheap, and idle
/// sockets are what a connection flood is made of.
const KEEP_ALIVE: std::time::Duration = std::time::Duration::from_secs(5);
/// Connections each worker (one per core) holds at once; past it the worker stops accepting
/// until some close, rather than running out of file descriptors and memory.
const MAX_CONNECTIONS_PER_WORKER: usize = 2048;
/// Connections the kernel queues before they are accepted; beyond it new ones are refused at
/// once instead of waiting unseen.
const BACKLOG: u32 = 1024;

/// A server bound to its port, not yet running, and its delivery workers.
pub struct Application {
    port: u16,
    server: Server,
    db: Db,
    workers: Workers,
    mail: MailWorker,
    housekeeping: Housekeeping,
    /// `PAYHOOK_SHUTDOWN_TIMEOUT`: how long a stop may take, requests and attempts together.
    shutdown_timeout: std::time::Duration,
    /// When the stop signal came, if it did.
    stop_asked: Arc<OnceLock<Instant>>,
}

impl Application {
    /// Connects and migrates the database, binds `settings.bind` (port 0 picks a free one).
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        Self::build_with_db(settings, db).await
    }

    /// Like `build`, on an already connected and migrated database.
    pub async fn build_with_db(mut settings: Settings, db: Db) -> anyhow::Result<Self> {
        warn_about_relaxed_checks(&settings);
        settings.secret_box.check_against(&db).await?;
        let listener = bind(&settings.bind)?;
        let address = listener.local_addr()?;
        let port = address.port();
        // The address actually bound (port 0 picks one): what links point at without
        // PAYHOOK_PUBLIC_URL.
        settings.bind = address.to_string();
        let (sessions, throttle) = shared_stores(&settings, &db).await?;
        let key = Key::from(&settings.session_key);
        let settings = Arc::new(settings);
        let (deliveries, mail) = (Wake::default(), Wake::default());
        let metrics = Arc::new(Metrics::new());
        let stop_claiming = StopClaiming::default();
        let workers = Workers::start(
            db.clone(),
            settings.clone(),
            deliveries.clone(),
            metrics.clone(),
            &stop_claiming,
        );
        let mail_worker = MailWorker::start(
            db.clone(),
            settings.clone(),
            mail.clone(),
            metrics.clone(),
            &stop_claiming,
        )?;
        let housekeeping = Housekeeping::start(
            db.clone(),
            settings.clone(),
            metrics.clone(),
            &stop_claiming,
        );
        let state = web::Data::new(AppState {
            db: db.clone(),
            settings,
            saves: SaveQueue::start(db.clone()),
            deliveries,
            mail,
            throttle,
            hasher: Hasher::per_core(),
            metrics: metrics.clone(),
        });
        let shutdown_timeout = state.settings.shutdown_timeout;
        let stop_asked = Arc::new(OnceLock::new());
        let on_signal = crate::shutdown::stop_signal(stop_claiming, stop_asked.clone());
        let cookie_secure = state.settings.cookie_secure;
        let idle = Duration::try_from(state.settings.session_idle_timeout)?;
        let server = HttpServer::new(move || {
            // The idle timeout is the store's TTL, renewed only when the session changes (see
            // `CurrentUser`), so a page view writes nothing.
            let lifecycle = BrowserSession::default()
                .state_ttl(idle)
                .state_ttl_extension_policy(TtlExtensionPolicy::OnStateChanges);
            let session = SessionMiddleware::builder(sessions.clone(), key.clone())
                .cookie_name(session_cookie_name(cookie_secure).to_owned())
                .cookie_secure(cookie_secure)
                .cookie_http_only(true)
                .cookie_same_site(SameSite::Lax)
                // What a `__Host-` cookie must have: the whole site, this host only.
                .cookie_path("/".to_owned())
                .cookie_domain(None)
                .cookie_content_security(CookieContentSecurity::Private)
                .session_lifecycle(lifecycle)
                .build();
            App::new()
                .app_data(state.clone())
                .app_data(web::Data::from(metrics.clone()))
                .app_data(web::FormConfig::default().limit(MAX_BODY_BYTES))
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| AppError::NotFound.into()),
                )
                .configure(routes)
                .default_service(web::to(not_found))
                .wrap(session)
                .wrap(from_fn(crate::prefetch::look_ahead))
                .wrap(from_fn(crate::flash::carry_flash))
                .wrap(from_fn(limit_body_size))
                .wrap(from_fn(crate::i18n::negotiate_language))
                .wrap(security_headers())
                .wrap(from_fn(echo_request_id))
                .wrap(from_fn(crate::metrics::track_requests))
                .wrap(TracingLogger::<RequestSpan>::new())
        })
        .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
        .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
        .keep_alive(KEEP_ALIVE)
        .max_connections(MAX_CONNECTIONS_PER_WORKER)
        .shutdown_signal(on_signal)
        // Requests in flight at a stop get this long to finish.
        .shutdown_timeout(shutdown_timeout.as_secs())
        .listen(listener)?
        .run();
        Ok(Self {
            port,
            server,
            db,
            workers,
            mail: mail_worker,
            housekeeping,
            shutdown_timeout,
            stop_asked,
        })
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

    /// Serves until the server is stopped (SIGTERM, Ctrl-C or its handle), then lets the
    /// delivery and mail workers finish, within `PAYHOOK_SHUTDOWN_TIMEOUT` from the signal.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let served = self.server.await;
        let spent = self
            .stop_asked
            .get()
            .map(Instant::elapsed)
            .unwrap_or_default();
        let left = self.shutdown_timeout.saturating_sub(spent);
        tokio::join!(
            self.workers.stop(left),
            self.mail.stop(left),
            self.housekeeping.stop(left)
        );
        served
    }
}

/// Listens on `address` with a queue of [`BACKLOG`] connections (std's `bind` queues 128, and
/// actix's own backlog setting only applies to the addresses it binds itself).
fn bind(address: &str) -> anyhow::Result<TcpListener> {
    use std::net::ToSocketAddrs;
    let addr = address
        .to_socket_addrs()
        .with_context(|| format!("PAYHOOK_BIND: {address}"))?
        .next()
        .with_context(|| format!("PAYHOOK_BIND: {address} names no address"))?;
    let socket = match addr {
        std::net::SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        std::net::SocketAddr::V6(_) => tokio::net::TcpSocket::new_v6()?,
    };
    // As std does: a restarted server can bind the port while old connections linger.
    socket.set_reuseaddr(true)?;
    socket
        .bind(addr)
        .with_context(|| format!("binding {addr}"))?;
    Ok(socket.listen(BACKLOG)?.into_std()?)
}

/// Sessions and failure counters: in Redis when `REDIS_URL` is set (one connection for both,
/// keys under this site's prefix), otherwise in the database.
async fn shared_stores(settings: &Settings, db: &Db) -> anyhow::Result<(SessionBackend, Throttle)> {
    let lifetime = settings.session_lifetime;
    let Some(url) = settings.redis_url.as_deref() else {
        let sessions = SessionBackend::database(db, lifetime);
        return Ok((sessions, Throttle::database(db.clone())));
    };
    let conn = redis::Client::open(url)?
        .get_connection_manager()
        .await
        .context("connecting to Redis")?;
    let prefix = settings.redis_prefix();
    let sessions = SessionBackend::redis(conn.clone(), &prefix, lifetime);
    Ok((sessions, Throttle::redis(conn, &prefix)))
}

/// A route as the table states it: its method, path pattern and who may use it.
#[derive(Debug, Clone, Copy)]
pub struct RouteRule {
    /// `get` or `post`.
    pub method: &'static str,
    pub path: &'static str,
    /// Who may use it; the handler's extractors enforce it, and the tests walk every rule.
    pub access: Access,
}

/// The one route table: each line registers a handler and states its access rule beside it, so
/// the rules can be listed ([`ROUTES`]) and a new route cannot come without one.
macro_rules! route_table {
    ($($method:ident $path:expr => $handler:path, $access:ident;)*) => {
        /// Every route's method, path and access rule, in the order the router tries them.
        pub const ROUTES: &[RouteRule] = &[$(RouteRule {
            method: stringify!($method),
            path: $path,
            access: Access::$access,
        },)*];

        fn routes(cfg: &mut web::ServiceConfig) {
            $(cfg.route($path, web::$method().to($handler));)*
        }
    };
}

// Most used first: the router tries routes in this order.
route_table! {
    get paths::SECTION => settings::section_page, Readers;
    get paths::HEALTHZ => health::healthz, Anyone;
    get paths::METRICS => metrics::metrics, Anyone;
    get paths::HOME => home, Anyone;
    // Sign-in and one's own account
    get paths::LOGIN => login::login_form, Anyone;
    post paths::LOGIN => login::login, Anyone;
    post paths::LOGOUT => login::logout, SignedIn;
    get paths::LOGIN_TWO_FACTOR => login::second_step_form, Anyone;
    post paths::LOGIN_TWO_FACTOR => login::check_second_step, Anyone;
    get paths::PASSWORD_FORGOT => password::forgot_form, Anyone;
    post paths::PASSWORD_FORGOT => password::request_link, Anyone;
    get paths::PASSWORD_RESET => password::reset_form, Anyone;
    post paths::PASSWORD_RESET => password::reset_password, Anyone;
    get paths::INVITATION => invitations::invitation_page, Anyone;
    post paths::INVITATION => invitations::join, Anyone;
    get paths::ACCOUNT_PASSWORD => account::password_form, SignedIn;
    post paths::ACCOUNT_PASSWORD => account::change_password, SignedIn;
    post paths::ACCOUNT_ALERTS => account::set_failure_alerts, Developers;
    post paths::ACCOUNT_TIME_ZONE => account::set_time_zone, SignedIn;
    get paths::TWO_FACTOR => two_factor::two_factor_page, SignedIn;
    post paths::TWO_FACTOR_SETUP => two_factor::begin_setup, SignedIn;
    post paths::TWO_FACTOR_CONFIRM => two_factor::confirm, SignedIn;
    post paths::TWO_FACTOR_DISABLE => two_factor::disable, SignedIn;
    post paths::TWO_FACTOR_RECOVERY_CODES => two_factor::replace_recovery_codes, SignedIn;
    // Settings > Payment Settings
    get paths::PAYMENT_SETTINGS => settings::payment_settings, Readers;
    get paths::SECTION_APPLY => apply_section::apply_form, Developers;
    get paths::CHANNEL => settings::configure_form, Readers;
    post paths::SECTION_APPLY => apply_section::review, Developers;
    post paths::SECTION_APPLY_CONFIRM => apply_section::apply, Developers;
    post paths::CHANNEL => settings::save_configuration, Developers;
    get paths::CHANNEL_HISTORY => settings::channel_history, Readers;
    post paths::CHANNEL_TEST => test_notification::send_test_notification, Developers;
    // Settings > Team
    get paths::TEAM => team::team, Members;
    post paths::TEAM_INVITATIONS => team::invite, Owners;
    post paths::TEAM_INVITATION_REVOKE => team::revoke_invitation, Owners;
    post paths::TEAM_MEMBER_ROLE => team::change_role, Owners;
    post paths::TEAM_MEMBER_REMOVE => team::remove_member, Owners;
    post paths::TEAM_TWO_FACTOR => team::set_two_factor_rule, Owners;
    // Integration
    get paths::API_KEYS => integration::api_keys_page, Members;
    post paths::API_KEYS => integration::reveal_secret, Developers;
    post paths::API_KEYS_ROTATE => integration::rotate_secret, Developers;
    post paths::API_KEYS_ROTATION_CANCEL => integration::cancel_rotation, Developers;
    get paths::NOTIFICATIONS => notifications::notification_log, Readers;
    get paths::NOTIFICATIONS_HEALTH => notifications::delivery_health, Readers;
    get paths::NOTIFICATIONS_CSV => log_export::notifications_csv, Readers;
    get paths::NOTIFICATIONS_RECOVER => recover::recover_page, Developers;
    post paths::NOTIFICATIONS_RECOVER => recover::recover, Developers;
    get paths::NOTIFICATION => notifications::notification_detail, Readers;
    post paths::NOTIFICATION_RESEND => notifications::resend, Developers;
    // The gateway's area
    get paths::ADMIN => overview::overview, Staff;
    get paths::ADMIN_MERCHANTS => merchants::merchant_list, Staff;
    post paths::ADMIN_MERCHANTS => merchants::create_merchant, Admins;
    get paths::ADMIN_MERCHANT => merchants::merchant_settings, Staff;
    get paths::ADMIN_AUDIT => audit::audit, Staff;
    get paths::ADMIN_AUDIT_CSV => audit::audit_csv, Staff;
    post paths::ADMIN_AUDIT_VERIFY => audit::verify_chain, Staff;
    get paths::ADMIN_USERS => users::users, Staff;
    post paths::ADMIN_USERS => users::create_user, Admins;
    post paths::ADMIN_USER_CHANGE => users::change_user, Admins;
    // The sandbox payment API
    post paths::API_PAYMENTS => api::create_payment, ApiClient;
    get paths::API_PAYMENT => api::get_payment, ApiClient;
    post paths::API_SIMULATE => api::simulate_payment, ApiClient;
    get paths::API_OPENAPI => api::openapi, Anyone;
    get paths::STATIC_FILE => assets::static_file, Anyone;
    get paths::LANGUAGE => language::switch, Anyone;
    post paths::LANGUAGE => language::switch_and_remember, Anyone;
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

/// The brand's link: where a signed-in user lands; signing in first otherwise.
async fn home(user: Option<crate::auth::CurrentUser>) -> HttpResponse {
    let role = user.map_or(crate::domain::Role::Owner, |user| user.role);
    crate::pages::see_other(crate::auth::landing(role))
}

/// An unknown path: JSON under the API, the error page elsewhere.
async fn not_found(request: actix_web::HttpRequest) -> actix_web::Result<HttpResponse> {
    if request.path().starts_with(paths::API_PREFIX) {
        return Err(api::no_such_call().await.into());
    }
    Err(AppError::NotFound.into())
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

/// Returns the request's id (the one its log lines carry) as `X-Request-Id`, so a reader who
/// reports an error page can name the request.
async fn echo_request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req.extensions().get::<RequestId>().copied();
    let mut response = next.call(req).await?;
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id.to_string()).ok()) {
        response
            .headers_mut()
            .insert(header::HeaderName::from_static("x-request-id"), value);
    }
    Ok(response)
}
