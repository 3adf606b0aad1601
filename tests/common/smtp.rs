//! A real SMTP server on 127.0.0.1 standing in for the operator's relay: it speaks enough of
//! RFC 5321 for a client (EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT), keeps every message it
//! accepts, and reads each one back as a reader's mail program would (headers, the plain-text
//! and HTML parts, decoded). The product talks to it over TCP exactly as to a relay.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// One message as the server accepted it.
#[derive(Debug, Clone)]
pub struct ReceivedMail {
    /// `MAIL FROM` and `RCPT TO`, as the client gave them.
    pub envelope_from: String,
    pub envelope_to: Vec<String>,
    /// The message as sent, dot-unstuffed.
    pub raw: String,
    /// Its top-level headers, unfolded, in order.
    pub headers: Vec<(String, String)>,
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl ReceivedMail {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The `Message-ID` header: the same for every copy of one email.
    pub fn message_id(&self) -> &str {
        self.header("Message-ID").unwrap_or_default()
    }

    /// The first link in the plain-text part that starts with `prefix`.
    pub fn link_starting(&self, prefix: &str) -> Option<String> {
        let start = self.text.find(prefix)?;
        let link = self.text[start..]
            .split(|c: char| c.is_whitespace() || c == '>' || c == '"')
            .next()?;
        Some(link.to_owned())
    }
}

/// How the server treats the messages it is sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acceptance {
    /// Answers `250` to every message.
    Accept,
    /// Reads every message whole and never answers, as a relay that hangs mid-send.
    Hang,
}

/// A running SMTP server; stops listening when dropped.
pub struct SmtpServer {
    pub addr: SocketAddr,
    accepted: Arc<Mutex<Vec<ReceivedMail>>>,
    /// Messages read whole but never acknowledged (with [`Acceptance::Hang`]).
    unanswered: Arc<Mutex<Vec<ReceivedMail>>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    /// A server on a free port that accepts every message.
    pub async fn start() -> Self {
        Self::start_on(0, Acceptance::Accept).await
    }

    /// A server on `port` (0: any free one).
    pub async fn start_on(port: u16, acceptance: Acceptance) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port))
            .await
            .expect("bind the SMTP server");
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(Mutex::new(Vec::new()));
        let unanswered = Arc::new(Mutex::new(Vec::new()));
        let (kept, hung) = (accepted.clone(), unanswered.clone());
        // The sessions live in the listening task: dropping the server ends them all.
        let task = tokio::spawn(async move {
            let mut sessions = tokio::task::JoinSet::new();
            while let Ok((stream, _)) = listener.accept().await {
                let (kept, hung) = (kept.clone(), hung.clone());
                sessions.spawn(async move {
                    let _ = converse(stream, acceptance, kept, hung).await;
                });
                while sessions.try_join_next().is_some() {}
            }
        });
        Self {
            addr,
            accepted,
            unanswered,
            task,
        }
    }

    /// Stops listening and ends every session, before returning: the port is free again.
    pub async fn stop(mut self) {
        self.task.abort();
        let _ = (&mut self.task).await;
    }

    /// The relay URL payhook is given (`PAYHOOK_SMTP_URL`).
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.addr.port())
    }

    /// Every message accepted so far, in order.
    pub fn received(&self) -> Vec<ReceivedMail> {
        self.accepted.lock().unwrap().clone()
    }

    /// Messages read whole and never acknowledged.
    pub fn unanswered(&self) -> Vec<ReceivedMail> {
        self.unanswered.lock().unwrap().clone()
    }

    /// Waits up to `within` until at least `count` messages were accepted; returns them all.
    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<ReceivedMail> {
        let deadline = Instant::now() + within;
        loop {
            let received = self.received();
            if received.len() >= count {
                return received;
            }
            assert!(
                Instant::now() < deadline,
                "{} of {count} emails arrived within {within:?}: {received:#?}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits up to 20 s for the first message to `address`.
    pub async fn mail_to(&self, address: &str) -> ReceivedMail {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let found = self.received().into_iter().find(|m| {
                m.envelope_to
                    .iter()
                    .any(|to| to.eq_ignore_ascii_case(address))
            });
            if let Some(mail) = found {
                return mail;
            }
            assert!(Instant::now() < deadline, "no email to {address} arrived");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits for the message to `address` with `subject`.
    pub async fn mail_with_subject(&self, address: &str, subject: &str) -> ReceivedMail {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let mails = self.mails_to(address);
            if let Some(mail) = mails.iter().find(|m| m.subject == subject) {
                return mail.clone();
            }
            let subjects: Vec<&str> = mails.iter().map(|m| m.subject.as_str()).collect();
            assert!(
                Instant::now() < deadline,
                "no email {subject:?} to {address} arrived, only {subjects:?}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The messages to `address` accepted so far.
    pub fn mails_to(&self, address: &str) -> Vec<ReceivedMail> {
        self.received()
            .into_iter()
            .filter(|m| {
                m.envelope_to
                    .iter()
                    .any(|to| to.eq_ignore_ascii_case(address))
            })
            .collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A port nothing listens on now (bound and let go), for a relay that is down until a test
/// starts it there.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port()
}

/// One client's session, command by command.
async fn converse(
    stream: TcpStream,
    acceptance: Acceptance,
    accepted: Arc<Mutex<Vec<ReceivedMail>>>,
    unanswered: Arc<Mutex<Vec<ReceivedMail>>>,
) -> std::io::Result<()> {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 relay.test ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let command = line.trim_end();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let reply: &[u8] = match verb.as_str() {
            "EHLO" => b"250-relay.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n",
            "HELO" => b"250 relay.test\r\n",
            "MAIL" => {
                from = address_in(command);
                to.clear();
                b"250 2.1.0 OK\r\n"
            }
            "RCPT" => {
                to.push(address_in(command));
                b"250 2.1.5 OK\r\n"
            }
            "DATA" => {
                write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
                let raw = read_data(&mut lines).await?;
                let mail = parse(from.clone(), to.clone(), raw);
                if acceptance == Acceptance::Hang {
                    unanswered.lock().unwrap().push(mail);
                    // Holds the connection without a word, as a relay stuck mid-send.
                    std::future::pending::<()>().await;
                    return Ok(());
                }
                accepted.lock().unwrap().push(mail);
                b"250 2.0.0 queued\r\n"
            }
            "RSET" => {
                from.clear();
                to.clear();
                b"250 2.0.0 OK\r\n"
            }
            "NOOP" => b"250 2.0.0 OK\r\n",
            "QUIT" => {
                write.write_all(b"221 2.0.0 bye\r\n").await?;
                return Ok(());
            }
            _ => b"502 5.5.2 not implemented\r\n",
        };
        write.write_all(reply).await?;
    }
}

/// The address inside `<...>` of a MAIL or RCPT command.
fn address_in(command: &str) -> String {
    let start = command.find('<').map_or(0, |i| i + 1);
    let end = command[start..]
        .find('>')
        .map_or(command.len(), |i| start + i);
    command[start..end].to_owned()
}

/// The message after DATA, up to the line holding a single dot, dot-unstuffed.
async fn read_data(
    lines: &mut BufReader<tokio::net::tcp::OwnedReadHalf>,
) -> std::io::Result<String> {
    let mut raw = String::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(raw);
        }
        if line == ".\r\n" || line == ".\n" {
            return Ok(raw);
        }
        raw.push_str(line.strip_prefix('.').unwrap_or(&line));
    }
}

fn parse(envelope_from: String, envelope_to: Vec<String>, raw: String) -> ReceivedMail {
    let (headers, body) = split_headers(&raw);
    let subject = headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case("Subject"))
        .map(|(_, v)| decode_words(v))
        .unwrap_or_default();
    let mut text = String::new();
    let mut html = String::new();
    collect_parts(&headers, body, &mut text, &mut html);
    ReceivedMail {
        envelope_from,
        envelope_to,
        headers,
        subject,
        text,
        html,
        raw,
    }
}

/// Headers (continuation lines unfolded) and the body after the blank line.
fn split_headers(raw: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = raw
        .split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, value)) = headers.last_mut() {
                value.push(' ');
                value.push_str(line.trim());
            }
        } else if let Some((name, value)) = line.split_once(':') {
            headers.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    (headers, body)
}

/// Walks a (multipart) body and keeps its text/plain and text/html parts, decoded.
fn collect_parts(headers: &[(String, String)], body: &str, text: &mut String, html: &mut String) {
    let get = |name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .unwrap_or_default()
    };
    let content_type = get("Content-Type");
    let lower = content_type.to_ascii_lowercase();
    if lower.starts_with("multipart/") {
        let Some(boundary) = parameter(content_type, "boundary") else {
            return;
        };
        let delimiter = format!("--{boundary}");
        for part in body.split(&delimiter).skip(1) {
            if part.starts_with("--") {
                break;
            }
            let part = part.trim_start_matches(['\r', '\n']);
            let (part_headers, part_body) = split_headers(part);
            collect_parts(&part_headers, part_body, text, html);
        }
        return;
    }
    let decoded = decode_body(get("Content-Transfer-Encoding"), body);
    if lower.starts_with("text/html") {
        html.push_str(&decoded);
    } else if lower.starts_with("text/plain") || lower.is_empty() {
        text.push_str(&decoded);
    }
}

/// A `name=value` parameter of a header value, quotes removed.
fn parameter(value: &str, name: &str) -> Option<String> {
    value.split(';').skip(1).find_map(|item| {
        let (key, found) = item.trim().split_once('=')?;
        key.eq_ignore_ascii_case(name)
            .then(|| found.trim_matches('"').to_owned())
    })
}

fn decode_body(encoding: &str, body: &str) -> String {
    match encoding.to_ascii_lowercase().as_str() {
        "base64" => {
            let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(compact)
                .expect("a base64 part");
            String::from_utf8_lossy(&bytes).into_owned()
        }
        "quoted-printable" => quoted_printable(body, false),
        _ => body.to_owned(),
    }
}

/// RFC 2045 quoted-printable (with `underscores`, the RFC 2047 "Q" form of a header word).
fn quoted_printable(input: &str, underscores: bool) -> String {
    let mut bytes = Vec::with_capacity(input.len());
    let raw = input.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'=' if raw[i + 1..].starts_with(b"\r\n") => i += 3,
            b'=' if raw[i + 1..].starts_with(b"\n") => i += 2,
            b'=' if i + 2 < raw.len() => {
                let hex = std::str::from_utf8(&raw[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(byte) => bytes.push(byte),
                    Err(_) => bytes.extend_from_slice(&raw[i..i + 3]),
                }
                i += 3;
            }
            b'_' if underscores => {
                bytes.push(b' ');
                i += 1;
            }
            byte => {
                bytes.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A header value with its RFC 2047 encoded words (`=?utf-8?b?...?=`) decoded; white space
/// between two encoded words is not part of the text.
fn decode_words(value: &str) -> String {
    let mut out = String::new();
    let mut rest = value;
    let mut after_word = false;
    while let Some((start, end, decoded)) = next_word(rest) {
        let before = &rest[..start];
        if !(after_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        out.push_str(&decoded);
        after_word = true;
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

/// The first encoded word in `text`: where it starts and ends, and its text.
fn next_word(text: &str) -> Option<(usize, usize, String)> {
    let start = text.find("=?")?;
    let after_charset = start + 2 + text[start + 2..].find('?')? + 1;
    let after_encoding = after_charset + text[after_charset..].find('?')? + 1;
    let end = after_encoding + text[after_encoding..].find("?=")?;
    let encoding = &text[after_charset..after_encoding - 1];
    let encoded = &text[after_encoding..end];
    let decoded = if encoding.eq_ignore_ascii_case("b") {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_default();
        String::from_utf8_lossy(&bytes).into_owned()
    } else {
        quoted_printable(encoded, true)
    };
    Some((start, end + 2, decoded))
}

/// The site's address as its users reach it, in tests (`PAYHOOK_PUBLIC_URL`): every link in an
/// email starts with it.
pub const PUBLIC_URL: &str = "https://backoffice.example.com";

/// Sends the app's emails to the relay at `smtp_url`, links under [`PUBLIC_URL`].
pub fn use_relay(settings: &mut payhook::config::Settings, smtp_url: &str) {
    settings.mail = payhook::config::MailSettings::parse(
        Some(smtp_url.to_owned()),
        None,
        Some(PUBLIC_URL.to_owned()),
    )
    .expect("a relay URL");
}

/// An app whose emails go to a new SMTP server on 127.0.0.1.
pub async fn spawn_with_smtp(backend: super::Backend) -> (super::TestApp, SmtpServer) {
    spawn_with_smtp_and(backend, |_| {}).await
}

/// [`spawn_with_smtp`], with `adjust` changing the settings too.
pub async fn spawn_with_smtp_and(
    backend: super::Backend,
    adjust: impl FnOnce(&mut payhook::config::Settings),
) -> (super::TestApp, SmtpServer) {
    let smtp = SmtpServer::start().await;
    let url = smtp.url();
    let app = super::spawn_app_with(backend, |settings| {
        use_relay(settings, &url);
        adjust(settings);
    })
    .await;
    (app, smtp)
}

/// The path of a link an email carries, on the app under test.
pub fn path_of(link: &str) -> &str {
    link.strip_prefix(PUBLIC_URL)
        .unwrap_or_else(|| panic!("{link} does not start with {PUBLIC_URL}"))
}
