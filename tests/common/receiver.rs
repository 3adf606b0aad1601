//! A tiny HTTP server on 127.0.0.1 standing in for a merchant's notification receiver: it
//! records every request it gets and answers as the test scripts it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

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
    Slow(Duration),
    /// Answers each request with the next status of the script (empty body), then `then`.
    Script(Arc<Mutex<std::collections::VecDeque<u16>>>, u16),
    /// Answers with whatever status the test sets at the time, and this body.
    Switch(Arc<std::sync::atomic::AtomicU16>, String),
}

impl Reply {
    pub fn ok(body: &str) -> Self {
        Reply::Status(200, Vec::new(), body.to_owned())
    }

    /// `status` now, and whatever the returned handle is set to later.
    pub fn switch(status: u16, body: &str) -> (Self, Arc<std::sync::atomic::AtomicU16>) {
        let handle = Arc::new(std::sync::atomic::AtomicU16::new(status));
        (Reply::Switch(handle.clone(), body.to_owned()), handle)
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
        Reply::Switch(status, body) => {
            let status = status.load(std::sync::atomic::Ordering::SeqCst);
            Reply::Status(status, Vec::new(), body)
        }
        other => other,
    };
    match reply {
        Reply::Script(..) | Reply::Slow(_) | Reply::Switch(..) => {
            unreachable!("answered with a status above")
        }
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
