//! `payhook serve` as an operator runs it: first start, its files, its logs, and a flood of
//! sign-ins against the real process (whose memory is read from /proc).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use payhook::domain::{EmailAddress, Role};
use payhook::store::Db;
use payhook_testing::{Backend, Browser, ScratchDatabase, csrf_token};

mod shutdown;
mod two_factor;

/// How long `payhook serve` may take to say it is listening (first start hashes two passwords).
const STARTUP_LIMIT: Duration = Duration::from_secs(60);

/// A running `payhook serve`, killed when dropped, even when an assertion fails first.
struct Server {
    child: std::process::Child,
    lines: Receiver<String>,
    stderr: PathBuf,
}

impl Server {
    /// Starts `payhook serve` on `database_url`, in `dir`, with `env` on top and its stderr in
    /// `dir/{name}.stderr`.
    fn start(dir: &Path, database_url: &str, name: &str, env: &[(&str, &str)]) -> Self {
        let stderr = dir.join(format!("{name}.stderr"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_payhook"))
            .arg("serve")
            .env_remove("REDIS_URL")
            .env_remove("PAYHOOK_SESSION_KEY")
            .env_remove("PAYHOOK_SECRET_KEY")
            .env_remove("PAYHOOK_ALLOWED_PORTS")
            .env_remove("PAYHOOK_ALLOW_PRIVATE_TARGETS")
            .env_remove("PAYHOOK_COOKIE_SECURE")
            .env_remove("PAYHOOK_TRUST_PROXY")
            .env_remove("PAYHOOK_SMTP_URL")
            .env_remove("PAYHOOK_PUBLIC_URL")
            .env_remove("PAYHOOK_MAIL_FROM")
            .env_remove("RUST_LOG")
            .env("DATABASE_URL", database_url)
            .env("PAYHOOK_BIND", "127.0.0.1:0")
            .env("PAYHOOK_DNS_CHECK", "off")
            .envs(env.iter().copied())
            .current_dir(dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("run payhook serve");
        let stdout = child.stdout.take().expect("piped stdout");
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            stderr,
        }
    }

    /// The standard output lines up to and including "payhook listening …"; panics if that
    /// line does not come within `limit` or the server stops first.
    fn output_until_listening(&self, limit: Duration) -> Vec<String> {
        let deadline = Instant::now() + limit;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    let listening = line.starts_with("payhook listening on ");
                    lines.push(line);
                    if listening {
                        return lines;
                    }
                }
                Err(RecvTimeoutError::Timeout) => panic!(
                    "not listening within {limit:?}; stdout {lines:?}; stderr:\n{}",
                    self.stderr()
                ),
                Err(RecvTimeoutError::Disconnected) => panic!(
                    "payhook serve stopped before listening; stdout {lines:?}; stderr:\n{}",
                    self.stderr()
                ),
            }
        }
    }

    fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }

    /// The peak resident memory of the server process so far (`VmHWM`), in bytes.
    fn peak_memory(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        let line = status
            .lines()
            .find(|line| line.starts_with("VmHWM:"))
            .expect("VmHWM in /proc status");
        let kib: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .expect("a number of kB");
        kib * 1024
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The address printed on the "payhook listening on …" line.
fn address(lines: &[String]) -> String {
    let line = lines.last().expect("the listening line");
    line.trim_start_matches("payhook listening on ").to_owned()
}

/// The password printed on the `role  email  password` line of the seeding output.
fn printed_password(lines: &[String], role: &str, email: &str) -> String {
    let line = lines
        .iter()
        .find(|line| line.contains(email))
        .unwrap_or_else(|| panic!("{email} printed: {lines:?}"));
    match line.split_whitespace().collect::<Vec<_>>()[..] {
        [r, e, password] if r == role && e == email => password.to_owned(),
        _ => panic!("expected `{role}  {email}  <password>`: {line:?}"),
    }
}

/// The keys a Postgres server needs, random for each test.
fn shared_keys() -> [(&'static str, String); 2] {
    [
        ("PAYHOOK_SESSION_KEY", hex::encode([7u8; 64])),
        ("PAYHOOK_SECRET_KEY", payhook::random::random_token()),
    ]
}

#[tokio::test]
async fn first_start_seeds_demo_accounts_whose_printed_passwords_work_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("payhook.db").display());

    let first = Server::start(dir.path(), &url, "first", &[]);
    let printed = first.output_until_listening(STARTUP_LIMIT);
    assert!(
        printed
            .iter()
            .any(|line| line.starts_with("Created demo accounts with one-time passwords")),
        "{printed:?}"
    );
    let merchant_password = printed_password(&printed, "owner", "merchant@demo.test");
    let admin_password = printed_password(&printed, "admin", "admin@payhook.test");
    for password in [&merchant_password, &admin_password] {
        assert!(
            password.len() >= 12 && password.bytes().all(|b| b.is_ascii_alphanumeric()),
            "{password}"
        );
    }
    assert_ne!(merchant_password, admin_password);
    // Without a relay, emails only reach the log: said once, at start-up.
    let warned = first
        .stderr()
        .matches("PAYHOOK_SMTP_URL is not set")
        .count();
    assert_eq!(warned, 1, "{}", first.stderr());

    // The printed password signs in once, straight to choosing a new one.
    let browser = Browser::new(address(&printed));
    let signed_in = browser.login("admin@payhook.test", &admin_password).await;
    assert_eq!(signed_in.status(), reqwest::StatusCode::SEE_OTHER);
    let next = browser.get("/admin").await;
    assert_eq!(
        next.headers().get("location").unwrap(),
        "/account/password",
        "a one-time password must be replaced first"
    );
    // Then, admins needing two-factor by default, setting it up comes next.
    let chosen = "the admin's own passphrase 2026";
    let changed = browser
        .submit(
            "/account/password",
            "/account/password",
            &[
                ("current_password", &admin_password),
                ("new_password", chosen),
                ("confirm_password", chosen),
            ],
        )
        .await;
    assert_eq!(changed.status(), reqwest::StatusCode::SEE_OTHER);
    let next = browser.get("/admin").await;
    assert_eq!(
        next.headers().get("location").unwrap(),
        "/account/two-factor",
        "the demo admin sets up two-factor before anything else"
    );
    drop(first);

    let second = Server::start(dir.path(), &url, "second", &[]);
    let printed_again = second.output_until_listening(STARTUP_LIMIT);
    drop(second);
    for unwanted in [
        "Created demo accounts",
        "merchant@demo.test",
        "admin@payhook.test",
        merchant_password.as_str(),
        admin_password.as_str(),
    ] {
        assert!(
            printed_again.iter().all(|line| !line.contains(unwanted)),
            "{unwanted:?} printed again: {printed_again:?}"
        );
    }

    let db = Db::connect(&url).await.unwrap();
    assert_eq!(db.count_users().await.unwrap(), 2, "seeded once");
    // The merchant still holds the printed one-time password; the admin chose their own.
    for (email, role, password, one_time) in [
        ("merchant@demo.test", Role::Owner, merchant_password, true),
        ("admin@payhook.test", Role::Admin, chosen.to_owned(), false),
    ] {
        let email = EmailAddress::parse(email).unwrap();
        let user = db.find_login_user(&email).await.unwrap().unwrap();
        assert_eq!(user.role, role);
        assert!(!user.disabled);
        let signs_in = payhook::password::verify(password, Some(user.password_hash));
        assert!(signs_in.await.unwrap(), "{email}: its password");
        let session_user = db.find_session_user(user.id).await.unwrap().unwrap();
        assert_eq!(session_user.must_change_password, one_time, "{email}");
    }
}

#[tokio::test]
async fn first_start_on_postgres_creates_no_accounts_and_says_how_to_add_an_admin() {
    let dir = tempfile::tempdir().unwrap();
    let database = ScratchDatabase::new(Backend::Postgres).await;
    let keys = shared_keys();
    let env: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = Server::start(dir.path(), &database.url.clone(), "postgres", &env);
    let printed = server.output_until_listening(STARTUP_LIMIT);
    drop(server);
    assert!(
        printed.iter().all(|line| !line.contains("demo")),
        "{printed:?}"
    );
    assert!(
        printed
            .iter()
            .any(|line| line.contains("payhook user add --email EMAIL --role admin")),
        "{printed:?}"
    );
    let db = Db::connect(&database.url.clone()).await.unwrap();
    assert_eq!(db.count_users().await.unwrap(), 0);
    db.close().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_sqlite_database_its_wal_and_shm_and_the_key_files_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("payhook.db").display());
    let server = Server::start(dir.path(), &url, "files", &[]);
    server.output_until_listening(STARTUP_LIMIT);
    for file in [
        "payhook.db",
        "payhook.db-wal",
        "payhook.db-shm",
        "payhook.session-key",
        "payhook.secret-key",
    ] {
        let metadata = std::fs::metadata(dir.path().join(file))
            .unwrap_or_else(|e| panic!("{file} exists while serving: {e}"));
        assert_eq!(
            metadata.permissions().mode() & 0o777,
            0o600,
            "{file} is readable by its owner only"
        );
    }
}

#[tokio::test]
async fn a_password_in_database_url_never_reaches_the_logs() {
    let dir = tempfile::tempdir().unwrap();
    let database = ScratchDatabase::new(Backend::Postgres).await;
    // Postgres here trusts local connections, so these passwords are sent and ignored.
    let url = database
        .url
        .replace("postgres@", "postgres:userinfo-s3cret@")
        + "?sslmode=disable&password=query-s3cret";
    let keys = shared_keys();
    let mut env: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    env.push(("RUST_LOG", "debug"));
    // The relay's password too.
    env.push((
        "PAYHOOK_SMTP_URL",
        "smtp://mailer:smtp-s3cret@127.0.0.1:2525",
    ));
    env.push(("PAYHOOK_PUBLIC_URL", "https://backoffice.example.com"));
    let server = Server::start(dir.path(), &url, "logs", &env);
    server.output_until_listening(STARTUP_LIMIT);
    let logged = server.stderr();
    drop(server);
    assert!(logged.contains("starting payhook"), "{logged}");
    assert!(
        logged.contains("postgres:***@"),
        "the URL is logged, masked"
    );
    assert!(
        logged.contains("mailer:***@127.0.0.1"),
        "the relay is logged, masked"
    );
    for secret in ["userinfo-s3cret", "query-s3cret", "smtp-s3cret"] {
        assert!(!logged.contains(secret), "{secret} in the logs");
    }
}

/// Two hundred sign-ins posted at once, each for a random address, as a flood would be.
async fn flood_of_sign_ins(database_url: &str, env: &[(&str, &str)]) {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path(), database_url, "flood", env);
    let browser = Browser::new(address(&server.output_until_listening(STARTUP_LIMIT)));
    let token = csrf_token(&browser.get_text("/login").await);
    let posts = (0..200).map(|n| {
        let email = format!(
            "{}-{n}@flood.example.com",
            &payhook::random::random_token()[..8]
        );
        browser
            .client
            .post(browser.url("/login"))
            .form(&[
                ("email", email.as_str()),
                ("password", "not a password of anyone"),
                ("csrf_token", token.as_str()),
            ])
            .send()
    });
    let answers = futures_util::future::join_all(posts).await;
    let mut refused = 0;
    for answer in answers {
        let answer = answer.expect("every post is answered");
        match answer.status().as_u16() {
            401 => {}
            429 => {
                refused += 1;
                assert!(
                    answer.headers().contains_key("retry-after"),
                    "429 says when to come back"
                );
            }
            other => panic!("expected 401 or 429, got {other}"),
        }
    }
    assert!(refused > 0, "a flood is turned away, not queued");
    let peak = server.peak_memory();
    assert!(
        peak < 300 * 1024 * 1024,
        "the server peaked at {} MiB",
        peak / 1024 / 1024
    );
}

#[tokio::test]
async fn two_hundred_sign_ins_at_once_stay_small_and_get_401_or_429_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("payhook.db").display());
    flood_of_sign_ins(&url, &[]).await;
}

#[tokio::test]
async fn two_hundred_sign_ins_at_once_stay_small_and_get_401_or_429_on_postgres() {
    let database = ScratchDatabase::new(Backend::Postgres).await;
    let keys = shared_keys();
    let env: Vec<(&str, &str)> = keys.iter().map(|(k, v)| (*k, v.as_str())).collect();
    flood_of_sign_ins(&database.url.clone(), &env).await;
}
