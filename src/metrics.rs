//! What `/metrics` reports, in the Prometheus text format: requests by route pattern, method
//! and status with their latency, sign-in failures and lockouts, delivery attempts and email
//! tries by outcome, and, read when scraped, the delivery queue, the email outbox and the
//! database pools.

use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::web;
use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use crate::store::outbox::AfterSend;
use crate::store::{Db, now_ms};

/// The content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Latency buckets (seconds): a page is answered in about a millisecond, an argon2 check in
/// tens, a test notification in up to 12 s.
const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 12.0,
];

/// The label of a request no route matched (unknown paths, or refused before routing), so
/// made-up paths cannot add series.
const UNMATCHED: &str = "unmatched";

/// What became of a request for a password-reset link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRequest {
    /// An active account was emailed a link.
    Emailed,
    /// No active account has that address: nothing was sent.
    NoAccount,
    /// Over the limits for that address or client: nothing was sent.
    Limited,
    /// The link could not be made (the log says why).
    Failed,
}

/// Every series of one server.
pub struct Metrics {
    registry: Registry,
    requests: HistogramVec,
    sign_in_failures: IntCounter,
    sign_in_lockouts: IntCounter,
    attempts: IntCounterVec,
    database_up: IntGauge,
    queue_due: IntGauge,
    queue_oldest: prometheus::Gauge,
    emails: IntCounterVec,
    reset_requests: IntCounterVec,
    purged: IntCounterVec,
    outbox_unsent: IntGauge,
    outbox_oldest: prometheus::Gauge,
    pool_size: IntGaugeVec,
    pool_idle: IntGaugeVec,
    pool_max: IntGaugeVec,
}

impl Metrics {
    /// Every series at zero. Names, help texts and labels are constants, so building and
    /// registering them cannot fail.
    pub fn new() -> Self {
        let registry = Registry::new();
        let requests = HistogramVec::new(
            HistogramOpts::new(
                "payhook_http_request_duration_seconds",
                "HTTP requests by route pattern, method and status, and how long they took",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method", "status"],
        );
        let attempts = IntCounterVec::new(
            Opts::new(
                "payhook_delivery_attempts_total",
                "Notification attempts by kind (payment, test) and outcome",
            ),
            &["kind", "outcome"],
        );
        let emails = IntCounterVec::new(
            Opts::new(
                "payhook_email_sent_total",
                "Tries to hand an email to the relay by outcome (sent, failed, given_up)",
            ),
            &["outcome"],
        );
        let reset_requests = IntCounterVec::new(
            Opts::new(
                "payhook_password_reset_requests_total",
                "Requests for a password-reset link by outcome (emailed, no_account, limited, failed)",
            ),
            &["outcome"],
        );
        let purged = IntCounterVec::new(
            Opts::new(
                "payhook_purged_rows_total",
                "Rows the retention job deleted (notifications, attempts, emails, email_attempts)",
            ),
            &["what"],
        );
        let pool = |name: &str, help: &str| IntGaugeVec::new(Opts::new(name, help), &["pool"]);
        let metrics = Self {
            requests: requests.expect("valid histogram"),
            sign_in_failures: counter(
                "payhook_sign_in_failures_total",
                "Wrong passwords at sign-in",
            ),
            sign_in_lockouts: counter(
                "payhook_sign_in_lockouts_total",
                "Sign-ins refused without a check: too many failures from that address",
            ),
            attempts: attempts.expect("valid counter"),
            database_up: gauge(
                "payhook_database_up",
                "1 when the database answered the scrape",
            ),
            queue_due: gauge(
                "payhook_delivery_queue_due",
                "Deliveries due for an attempt",
            ),
            queue_oldest: prometheus::Gauge::new(
                "payhook_delivery_queue_oldest_due_seconds",
                "How long the oldest due delivery has waited",
            )
            .expect("valid gauge"),
            emails: emails.expect("valid counter"),
            reset_requests: reset_requests.expect("valid counter"),
            purged: purged.expect("valid counter"),
            outbox_unsent: gauge(
                "payhook_email_outbox_unsent",
                "Emails in the outbox not sent yet",
            ),
            outbox_oldest: prometheus::Gauge::new(
                "payhook_email_outbox_oldest_unsent_seconds",
                "How long the oldest unsent email has waited since it was queued",
            )
            .expect("valid gauge"),
            pool_size: pool("payhook_db_pool_connections", "Open database connections")
                .expect("valid gauge"),
            pool_idle: pool(
                "payhook_db_pool_idle",
                "Open database connections not in use",
            )
            .expect("valid gauge"),
            pool_max: pool("payhook_db_pool_max", "Most connections a pool opens")
                .expect("valid gauge"),
            registry,
        };
        metrics.register_all();
        metrics
    }

    fn register_all(&self) {
        let collectors: [Box<dyn prometheus::core::Collector>; 15] = [
            Box::new(self.purged.clone()),
            Box::new(self.requests.clone()),
            Box::new(self.sign_in_failures.clone()),
            Box::new(self.sign_in_lockouts.clone()),
            Box::new(self.attempts.clone()),
            Box::new(self.database_up.clone()),
            Box::new(self.queue_due.clone()),
            Box::new(self.queue_oldest.clone()),
            Box::new(self.emails.clone()),
            Box::new(self.reset_requests.clone()),
            Box::new(self.outbox_unsent.clone()),
            Box::new(self.outbox_oldest.clone()),
            Box::new(self.pool_size.clone()),
            Box::new(self.pool_idle.clone()),
            Box::new(self.pool_max.clone()),
        ];
        for collector in collectors {
            self.registry
                .register(collector)
                .expect("unique metric names");
        }
    }

    /// Rows the retention job deleted: `what` is `notifications`, `attempts`, `emails` or
    /// `email_attempts`.
    pub fn purged(&self, what: &str, rows: u64) {
        self.purged.with_label_values(&[what]).inc_by(rows);
    }

    /// A wrong password at sign-in.
    pub fn sign_in_failed(&self) {
        self.sign_in_failures.inc();
    }

    /// A sign-in refused because its address is locked out.
    pub fn sign_in_locked_out(&self) {
        self.sign_in_lockouts.inc();
    }

    /// One notification attempt: `kind` is `payment` or `test`, `outcome` as stored.
    pub fn delivery_attempt(&self, kind: &str, outcome: &str) {
        self.attempts.with_label_values(&[kind, outcome]).inc();
    }

    /// One try to hand an email to the relay, by what became of the email.
    pub fn email_sent(&self, after: AfterSend) {
        let label = match after {
            AfterSend::Sent => "sent",
            AfterSend::RetryAt(_) => "failed",
            AfterSend::GiveUp => "given_up",
        };
        self.emails.with_label_values(&[label]).inc();
    }

    /// A request for a password-reset link, answered.
    pub fn reset_request(&self, outcome: ResetRequest) {
        let label = match outcome {
            ResetRequest::Emailed => "emailed",
            ResetRequest::NoAccount => "no_account",
            ResetRequest::Limited => "limited",
            ResetRequest::Failed => "failed",
        };
        self.reset_requests.with_label_values(&[label]).inc();
    }

    /// Every series in the text format, the queues and the pools read now.
    pub async fn render(&self, db: &Db) -> String {
        match db.queue_depth(now_ms()).await {
            Ok(depth) => {
                self.database_up.set(1);
                self.queue_due.set(depth.due);
                self.queue_oldest.set(depth.oldest_due_ms as f64 / 1000.0);
                self.outbox_unsent.set(depth.unsent_emails);
                self.outbox_oldest
                    .set(depth.oldest_unsent_email_ms as f64 / 1000.0);
            }
            Err(error) => {
                tracing::warn!(%error, "reading the delivery queue for /metrics");
                self.database_up.set(0);
            }
        }
        for (name, pool) in pool_use(db) {
            self.pool_size.with_label_values(&[name]).set(pool.size);
            self.pool_idle.with_label_values(&[name]).set(pool.idle);
            self.pool_max.with_label_values(&[name]).set(pool.max);
        }
        let mut text = Vec::new();
        if let Err(error) = TextEncoder::new().encode(&self.registry.gather(), &mut text) {
            tracing::error!(%error, "encoding metrics");
        }
        String::from_utf8(text).unwrap_or_default()
    }

    fn observe(&self, route: &str, method: &str, status: StatusCode, started: Instant) {
        self.requests
            .with_label_values(&[route, method, status.as_str()])
            .observe(started.elapsed().as_secs_f64());
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::new(name, help).expect("valid counter")
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help).expect("valid gauge")
}

/// The standard methods by name; anything else as `other`, so a client cannot add series.
fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// How one pool's connections are used.
struct PoolUse {
    size: i64,
    idle: i64,
    max: i64,
}

fn pool_use(db: &Db) -> Vec<(&'static str, PoolUse)> {
    fn of<D: sqlx::Database>(pool: &sqlx::Pool<D>) -> PoolUse {
        PoolUse {
            size: i64::from(pool.size()),
            idle: i64::try_from(pool.num_idle()).unwrap_or(i64::MAX),
            max: i64::from(pool.options().get_max_connections()),
        }
    }
    match db {
        Db::Sqlite(pools) => vec![
            ("sqlite_read", of(&pools.read)),
            ("sqlite_write", of(&pools.write)),
        ],
        Db::Postgres(pool) => vec![("postgres", of(pool))],
    }
}

/// Times every request and counts it by route pattern (never the raw path), method and status.
/// A request refused by a middleware before routing (an error here) has no route: it counts as
/// unmatched, with the status of its error.
pub async fn track_requests(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let Some(metrics) = req.app_data::<web::Data<Metrics>>().cloned() else {
        return next.call(req).await;
    };
    let method = method_label(req.method());
    let result = next.call(req).await;
    match &result {
        Ok(response) => {
            let pattern = response.request().match_pattern();
            let route = pattern.as_deref().unwrap_or(UNMATCHED);
            metrics.observe(route, method, response.status(), started);
        }
        Err(error) => {
            let status = error.as_response_error().status_code();
            metrics.observe(UNMATCHED, method, status, started);
        }
    }
    result
}
