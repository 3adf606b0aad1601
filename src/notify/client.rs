//! The outbound HTTP client: talks only to vetted addresses, follows no redirect, waits a
//! bounded time and reads a bounded answer.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::{Duration, Instant};

use reqwest::dns::{Name, Resolve, Resolving};
use reqwest::redirect::Policy;

use super::message::OutgoingRequest;
use crate::domain::{DeliveryError, Outcome};
use crate::url_policy::NotificationUrl;

/// At most this much of an answer is read.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What came back from one POST.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub outcome: Outcome,
    pub status: Option<u16>,
    /// `Location` of a redirect that was not followed.
    pub location: Option<String>,
    /// The answer's start (at most [`MAX_RESPONSE_BYTES`]), decoded lossily.
    pub response_body: String,
    pub truncated: bool,
    pub latency: Duration,
    /// Why it did not deliver; with a 2xx status, why its answer broke off.
    pub error: Option<DeliveryError>,
}

/// Refuses every lookup: the client may only use the addresses pinned for the vetted host,
/// so a name that somehow misses the pin fails instead of being resolved a second time.
struct NoLookups;

impl Resolve for NoLookups {
    fn resolve(&self, name: Name) -> Resolving {
        let message = format!("{} was not vetted for this delivery", name.as_str());
        Box::pin(async move { Err(message.into()) })
    }
}

/// Clients kept per host and set of vetted addresses, so attempts to the same receiver reuse
/// its open connections; each still connects only to its own vetted addresses.
static CLIENTS: LazyLock<Mutex<HashMap<PinnedHost, reqwest::Client>>> =
    LazyLock::new(Mutex::default);

/// A host and the addresses it was vetted to.
type PinnedHost = (String, Vec<IpAddr>);
/// Beyond this many, the kept clients are let go and made again on need.
const MAX_CLIENTS: usize = 256;

/// A client that resolves `url`'s host to exactly `addresses` and looks up nothing else.
fn pinned_client(
    url: &NotificationUrl,
    addresses: &[IpAddr],
) -> Result<reqwest::Client, reqwest::Error> {
    let key = (url.host().to_owned(), addresses.to_vec());
    let mut clients = CLIENTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(client) = clients.get(&key) {
        return Ok(client.clone());
    }
    // The port of a pinned address is ignored: the URL's own port is used.
    let pinned: Vec<SocketAddr> = addresses.iter().map(|&ip| SocketAddr::new(ip, 0)).collect();
    let client = reqwest::Client::builder()
        .no_proxy()
        .redirect(Policy::none())
        .user_agent(concat!("payhook-notifier/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Arc::new(NoLookups))
        .resolve_to_addrs(url.host(), &pinned)
        .build()?;
    if clients.len() >= MAX_CLIENTS {
        clients.clear();
    }
    clients.insert(key, client.clone());
    Ok(client)
}

/// POSTs `request` to `url`, connecting only to `addresses` (all vetted by the policy).
#[tracing::instrument(skip_all, fields(url = %url, status, latency_ms))]
pub async fn post(
    url: &NotificationUrl,
    addresses: &[IpAddr],
    request: &OutgoingRequest,
    timeout: Duration,
) -> Exchange {
    let started = Instant::now();
    let failed = |outcome: Outcome, error: DeliveryError| Exchange {
        outcome,
        status: None,
        location: None,
        response_body: String::new(),
        truncated: false,
        latency: started.elapsed(),
        error: Some(error),
    };
    let client = match pinned_client(url, addresses) {
        Ok(client) => client,
        Err(error) => {
            let detail = describe(&error);
            return failed(Outcome::Failed, DeliveryError::NotSent { detail });
        }
    };
    let mut builder = client
        .post(url.as_str())
        .timeout(timeout)
        .body(request.body.clone());
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let mut response = match builder.send().await {
        Ok(response) => response,
        Err(error) if error.is_timeout() => {
            return failed(Outcome::TimedOut, timed_out(timeout));
        }
        Err(error) => return failed(Outcome::Failed, sending_failed(&error)),
    };
    let status = response.status();
    let location = response
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let mut body = Vec::new();
    let mut truncated = false;
    let mut read_error = None;
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                let room = MAX_RESPONSE_BYTES - body.len();
                body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                if chunk.len() >= room {
                    // Stop reading: whatever else the server sends is dropped with the connection.
                    truncated = true;
                    break;
                }
            }
            Ok(None) => break,
            Err(error) => {
                read_error = Some(if error.is_timeout() {
                    timed_out(timeout)
                } else {
                    DeliveryError::ReadFailed {
                        detail: describe(&error),
                    }
                });
                break;
            }
        }
    }
    let outcome = if status.is_success() {
        Outcome::Delivered
    } else {
        Outcome::Failed
    };
    let error = if status.is_redirection() {
        Some(DeliveryError::RedirectNotFollowed {
            status: status.as_u16(),
            location: location.clone(),
        })
    } else if !status.is_success() {
        Some(DeliveryError::NotAccepted {
            status: status.as_u16(),
        })
    } else {
        read_error
    };
    let span = tracing::Span::current();
    span.record("status", status.as_u16());
    span.record("latency_ms", super::millis(started.elapsed()));
    Exchange {
        outcome,
        status: Some(status.as_u16()),
        location,
        response_body: String::from_utf8_lossy(&body).into_owned(),
        truncated,
        latency: started.elapsed(),
        error,
    }
}

fn timed_out(timeout: Duration) -> DeliveryError {
    DeliveryError::TimedOut {
        seconds: timeout.as_secs_f64(),
    }
}

/// A request that got no answer: no connection, a failed TLS handshake, or something else on
/// the way, with the transport's own words.
fn sending_failed(error: &reqwest::Error) -> DeliveryError {
    let detail = describe(error);
    if !error.is_connect() {
        DeliveryError::TransportFailed { detail }
    } else if tls_failed(error) {
        DeliveryError::TlsFailed { detail }
    } else {
        DeliveryError::ConnectFailed { detail }
    }
}

/// Whether a connect error came from the TLS handshake.
fn tls_failed(error: &reqwest::Error) -> bool {
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        if cause.downcast_ref::<std::io::Error>().is_some_and(tls_io) {
            return true;
        }
        source = cause.source();
    }
    false
}

/// rustls reports a failed handshake through the stream as `InvalidData` (a TCP connect never
/// does), and a peer hanging up mid-handshake as "tls handshake eof"; hyper-rustls wraps
/// either in another I/O error, whose `source` skips it.
fn tls_io(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::InvalidData
        || error.to_string().contains("tls handshake")
        || error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<std::io::Error>())
            .is_some_and(tls_io)
}

/// The error and its causes, e.g. "error sending request: connection refused".
fn describe(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
