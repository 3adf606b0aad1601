//! Helpers for the notification and API key tests: a webhook receiver that records what it
//! gets, an independent HMAC, log capture, and apps with a fixed DNS map.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use payhook::dns::{Resolver, StaticResolver};
use sha2::{Digest, Sha256, Sha512};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{Backend, PASSWORD, TestApp, spawn_app_with};

/// Defines `mod $name { sqlite(); postgres() }` for tests that spawn their own app.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use $crate::support::Backend;
            #[tokio::test]
            async fn sqlite() {
                super::$name(Backend::Sqlite).await;
            }
            #[tokio::test]
            async fn postgres() {
                super::$name(Backend::Postgres).await;
            }
        }
    )*};
}

/// How an app under test judges and reaches URLs.
pub struct Options {
    /// `PAYHOOK_ALLOW_PRIVATE_TARGETS`.
    pub private_targets: bool,
    /// Outbound time limit; the 10 s default unless a test needs it.
    pub timeout: Option<Duration>,
    /// DNS time limit, shortened where a test waits for it.
    pub dns_timeout: Option<Duration>,
}

impl Options {
    pub fn private() -> Self {
        Self {
            private_targets: true,
            timeout: Some(Duration::from_secs(5)),
            dns_timeout: None,
        }
    }

    pub fn strict() -> Self {
        Self {
            private_targets: false,
            ..Self::private()
        }
    }
}

/// An app with `dns` as its resolver (the DNS check is on by default).
pub async fn spawn_with_dns(backend: Backend, dns: &StaticResolver, options: Options) -> TestApp {
    let resolver = Resolver::new(dns.clone());
    let resolver = match options.dns_timeout {
        Some(limit) => resolver.with_timeout(limit),
        None => resolver,
    };
    spawn_app_with(backend, |settings| {
        settings.resolver = resolver;
        settings.url_policy.allow_private_targets = options.private_targets;
        if let Some(timeout) = options.timeout {
            settings.notification_timeout = timeout;
        }
    })
    .await
}

/// One request as the receiver got it.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// When it arrived.
    pub at: std::time::Instant,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("no {name} header in {:?}", self.headers))
    }
}

/// What the receiver answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// A status line, extra headers and a body.
    Status(u16, Vec<(String, String)>, String),
    /// Reads the request and never answers.
    Silent,
    /// Answers 200 and streams `x` without end, counting what it managed to write.
    Endless(Arc<std::sync::atomic::AtomicUsize>),
    /// Answers 200 after this long (the process-level delivery tests use it).
    #[allow(dead_code)]
    Slow(Duration),
    /// Answers each request with the next status of the script (empty body), then `then`.
    Script(Arc<Mutex<std::collections::VecDeque<u16>>>, u16),
}

impl Reply {
    pub fn ok(body: &str) -> Self {
        Reply::Status(200, Vec::new(), body.to_owned())
    }

    /// `statuses` in turn, then `then` for every request after them.
    pub fn script(statuses: &[u16], then: u16) -> Self {
        Reply::Script(
            Arc::new(Mutex::new(statuses.iter().copied().collect())),
            then,
        )
    }
}

/// A tiny HTTP server on 127.0.0.1 recording every request.
pub struct Receiver {
    pub addr: SocketAddr,
    requests: Arc<Mutex<Vec<Recorded>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Receiver {
    pub async fn start(reply: Reply) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, reply.clone(), recorded.clone()));
            }
        });
        Self {
            addr,
            requests,
            task,
        }
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.requests.lock().unwrap().clone()
    }

    /// The only request received.
    pub fn single(&self) -> Recorded {
        let requests = self.requests();
        assert_eq!(
            requests.len(),
            1,
            "expected exactly one request: {requests:?}"
        );
        requests[0].clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn serve(mut stream: TcpStream, reply: Reply, requests: Arc<Mutex<Vec<Recorded>>>) {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buffer.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let request_line: Vec<&str> = lines.next().unwrap_or_default().split(' ').collect();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => body.extend_from_slice(&chunk[..n]),
        }
    }
    requests.lock().unwrap().push(Recorded {
        at: std::time::Instant::now(),
        method: request_line.first().copied().unwrap_or_default().to_owned(),
        path: request_line.get(1).copied().unwrap_or_default().to_owned(),
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    });
    let reply = match reply {
        Reply::Slow(delay) => {
            tokio::time::sleep(delay).await;
            Reply::ok("OK")
        }
        Reply::Script(statuses, then) => {
            let status = statuses.lock().unwrap().pop_front().unwrap_or(then);
            Reply::Status(status, Vec::new(), String::new())
        }
        other => other,
    };
    match reply {
        Reply::Script(..) | Reply::Slow(_) => unreachable!("answered with a status above"),
        Reply::Silent => {
            // Keep the connection open without a word until the test is long over.
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
        Reply::Endless(written) => {
            let head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n";
            if stream.write_all(head.as_bytes()).await.is_err() {
                return;
            }
            let chunk = [b'x'; 8192];
            // Stops only when the reader hangs up.
            while stream.write_all(&chunk).await.is_ok() {
                written.fetch_add(chunk.len(), std::sync::atomic::Ordering::Relaxed);
            }
        }
        Reply::Status(status, extra, body) => {
            let mut response = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Length: {}\r\nConnection: close\r\n",
                body.len()
            );
            for (name, value) in extra {
                response.push_str(&format!("{name}: {value}\r\n"));
            }
            response.push_str("\r\n");
            response.push_str(&body);
            let _ = stream.write_all(response.as_bytes()).await;
            let _ = stream.shutdown().await;
        }
    }
}

/// HMAC (RFC 2104) written out here, so the tests do not trust the product's signing code.
fn hmac(hash: fn(&[u8]) -> Vec<u8>, block: usize, key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut key = if key.len() > block {
        hash(key)
    } else {
        key.to_vec()
    };
    key.resize(block, 0);
    let inner: Vec<u8> = key
        .iter()
        .map(|b| b ^ 0x36)
        .chain(message.iter().copied())
        .collect();
    let outer: Vec<u8> = key.iter().map(|b| b ^ 0x5c).chain(hash(&inner)).collect();
    hash(&outer)
}

pub fn hmac_sha256(key: &str, message: &str) -> Vec<u8> {
    hmac(
        |m| Sha256::digest(m).to_vec(),
        64,
        key.as_bytes(),
        message.as_bytes(),
    )
}

pub fn hmac_sha512(key: &str, message: &str) -> Vec<u8> {
    hmac(
        |m| Sha512::digest(m).to_vec(),
        128,
        key.as_bytes(),
        message.as_bytes(),
    )
}

pub fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// SPEC 6, non-SNAP: the `Signature` header a receiver expects for this request.
pub fn expected_non_snap_signature(secret: &str, request: &Recorded) -> String {
    let target = request.path.split('?').next().unwrap();
    let component = format!(
        "Client-Id:{}\nRequest-Id:{}\nRequest-Timestamp:{}\nRequest-Target:{target}\nDigest:{}",
        request.header("Client-Id"),
        request.header("Request-Id"),
        request.header("Request-Timestamp"),
        base64(&Sha256::digest(request.body.as_bytes())),
    );
    format!("HMACSHA256={}", base64(&hmac_sha256(secret, &component)))
}

/// SPEC 6, SNAP: the `X-SIGNATURE` a receiver expects for this request.
pub fn expected_snap_signature(secret: &str, request: &Recorded) -> String {
    let path = request.path.split('?').next().unwrap();
    let token = request
        .header("Authorization")
        .strip_prefix("Bearer ")
        .expect("a bearer token");
    // The receiver minifies the body itself, as a SNAP receiver must.
    let minified =
        serde_json::to_string(&serde_json::from_str::<serde_json::Value>(&request.body).unwrap())
            .unwrap();
    let string_to_sign = format!(
        "POST:{path}:{token}:{}:{}",
        hex::encode(Sha256::digest(minified.as_bytes())),
        request.header("X-TIMESTAMP"),
    );
    base64(&hmac_sha512(secret, &string_to_sign))
}

/// Reveals `environment`'s secret key through the API keys page, as a merchant would.
pub async fn reveal_secret(app: &TestApp, environment: &str) -> String {
    let response = app
        .submit(
            "/integration/api-keys",
            "/integration/api-keys",
            &[("environment", environment), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(response.status(), reqwest::StatusCode::OK);
    element_text(&response.text().await.unwrap(), "secret-key").expect("the secret is shown")
}

/// The signed-in merchant's sandbox Client-Id and secret key, as Integration > API keys shows
/// them.
pub async fn sandbox_credentials(app: &TestApp) -> (String, String) {
    let secret = reveal_secret(app, "sandbox").await;
    let page = app.get_text("/integration/api-keys").await;
    let client_id = page
        .split("class=\"client-id\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .expect("the sandbox Client-Id is listed first")
        .to_owned();
    (client_id, secret)
}

/// The text inside the element with `id` (no nested tags), if present.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!("id=\"{id}\"");
    let start = html.find(&marker)?;
    let open_end = start + html[start..].find('>')? + 1;
    let close = open_end + html[open_end..].find('<')?;
    Some(html[open_end..close].to_owned())
}

/// Sends a test notification for the saved `environment` URL of a channel.
pub async fn send_test(
    app: &TestApp,
    section: &str,
    channel: &str,
    environment: &str,
) -> reqwest::Response {
    let page = format!("/settings/payment/{section}/{channel}");
    app.submit(
        &page,
        &format!("{page}/test"),
        &[("environment", environment)],
    )
    .await
}

/// Everything logged by this test binary, once [`capture_logs`] was called.
static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct SharedWriter(Arc<Mutex<Vec<u8>>>);

impl Write for SharedWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Sends every log line of this test binary (debug level and up) to a buffer.
pub fn capture_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = buffer.clone();
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
            .with_writer(move || SharedWriter(writer.clone()))
            .with_ansi(false)
            .init();
        buffer
    });
}

/// The log so far.
pub fn logs() -> String {
    let buffer = LOGS.get().expect("capture_logs first");
    String::from_utf8_lossy(&buffer.lock().unwrap()).into_owned()
}
