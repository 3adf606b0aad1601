//! Settings read from environment variables and validated at start-up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::dns::Resolver;
use crate::secrets::{KEY_LEN, SecretBox};
use crate::url_policy::UrlPolicy;

mod allow;
mod mail;
mod schedule;

pub use allow::{AddressRange, DEFAULT_METRICS_ALLOW, parse_allow_list};
pub use mail::{MailSettings, SmtpRelay};
pub use schedule::{RetrySchedule, parse_duration};

/// Everything the server needs to start, validated.
#[derive(Clone)]
pub struct Settings {
    /// Address to listen on (`PAYHOOK_BIND`, default `127.0.0.1:8080`).
    pub bind: String,
    /// `DATABASE_URL`; unset means the SQLite file `payhook.db` in the working directory.
    pub database_url: String,
    /// `REDIS_URL`; when set, sessions live in Redis instead of the database.
    pub redis_url: Option<String>,
    /// 64 bytes signing and encrypting the session cookie.
    pub session_key: Vec<u8>,
    /// `PAYHOOK_COOKIE_SECURE`: mark the session cookie `Secure` (set it when served over https).
    pub cookie_secure: bool,
    /// `PAYHOOK_TRUST_PROXY`: the client IP is the rightmost `X-Forwarded-For` entry, the one
    /// the proxy in front of payhook added (only behind such a proxy).
    pub trust_proxy: bool,
    /// `PAYHOOK_SESSION_IDLE_MINUTES` (default 30): a session unused this long ends.
    pub session_idle_timeout: Duration,
    /// A session ends this long after its sign-in, however busy ([`SESSION_LIFETIME`]).
    pub session_lifetime: Duration,
    /// How long a sign-in waits for its code after the password ([`SIGN_IN_CODE_TIMEOUT`]).
    pub sign_in_code_timeout: Duration,
    /// Extra ports a notification URL may use (`PAYHOOK_ALLOWED_PORTS`, comma separated) and
    /// the development escape hatch (`PAYHOOK_ALLOW_PRIVATE_TARGETS`).
    pub url_policy: UrlPolicy,
    /// `PAYHOOK_DNS_CHECK` (default on): apply policy rule 9 when a URL is saved. Deliveries
    /// resolve and vet their target whatever this says, since they need an address anyway.
    pub dns_check: bool,
    /// Where host names are resolved (tests put a fixed map here).
    pub resolver: Resolver,
    /// Time limit of one outbound notification (10 s; shorter in tests).
    pub notification_timeout: Duration,
    /// Seals merchants' signing secrets at rest (`PAYHOOK_SECRET_KEY` or a key file).
    pub secret_box: SecretBox,
    /// Delivery attempts in flight at once (`PAYHOOK_DELIVERY_CONCURRENCY`, default 32).
    pub delivery_concurrency: usize,
    /// When failed deliveries are tried again (`PAYHOOK_RETRY_SCHEDULE`, default `30m,6h,12h`).
    pub retry_schedule: RetrySchedule,
    /// How long a claimed delivery or email is a worker's before another may take it
    /// (`PAYHOOK_DELIVERY_LEASE`, default 60s): longer than one attempt can take.
    pub delivery_lease: Duration,
    /// How often idle workers look for due deliveries and emails (1 s; queued ones wake them
    /// at once).
    pub delivery_poll: Duration,
    /// Where emails go and where their links lead (`PAYHOOK_SMTP_URL`, `PAYHOOK_MAIL_FROM`,
    /// `PAYHOOK_PUBLIC_URL`).
    pub mail: MailSettings,
    /// Whether the gateway's admins must sign in with two-factor (`PAYHOOK_ADMIN_2FA`, default
    /// `required`).
    pub admin_two_factor: TwoFactorPolicy,
    /// Who may read `/metrics` (`PAYHOOK_METRICS_ALLOW`, default loopback).
    pub metrics_allow: Vec<AddressRange>,
    /// How long a stop may take (`PAYHOOK_SHUTDOWN_TIMEOUT`, default 30s): requests and
    /// delivery attempts in flight get this long to finish.
    pub shutdown_timeout: Duration,
    /// Notifications and their attempts older than this many days are deleted
    /// (`PAYHOOK_RETENTION_DAYS`).
    pub retention_days: i64,
    /// How often the housekeeping job runs (`PAYHOOK_HOUSEKEEPING_SECONDS`).
    pub housekeeping_every: Duration,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("bind", &self.bind)
            .field("database", &redact_url(&self.database_url))
            .field("redis", &self.redis_url.as_deref().map(redact_url))
            .field("cookie_secure", &self.cookie_secure)
            .field("trust_proxy", &self.trust_proxy)
            .field("session_idle_timeout", &self.session_idle_timeout)
            .field("session_lifetime", &self.session_lifetime)
            .field("sign_in_code_timeout", &self.sign_in_code_timeout)
            .field("url_policy", &self.url_policy)
            .field("dns_check", &self.dns_check)
            .field("notification_timeout", &self.notification_timeout)
            .field("delivery_concurrency", &self.delivery_concurrency)
            .field("retry_schedule", &self.retry_schedule.to_string())
            .field("delivery_lease", &self.delivery_lease)
            .field("metrics_allow", &display_list(&self.metrics_allow))
            .field("mail", &self.mail)
            .field("admin_two_factor", &self.admin_two_factor)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish_non_exhaustive()
    }
}

/// `DATABASE_URL`, or the embedded SQLite default.
pub fn database_url_from_env() -> String {
    env_var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// The default embedded database.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://payhook.db";
const SESSION_KEY_FILE: &str = "payhook.session-key";
const SECRET_KEY_FILE: &str = "payhook.secret-key";
/// A notification waits at most this long for the merchant's server (README, "Test
/// notifications and API keys").
pub const NOTIFICATION_TIMEOUT: Duration = Duration::from_secs(10);
const DEFAULT_DELIVERY_CONCURRENCY: usize = 32;
const DEFAULT_DELIVERY_LEASE: Duration = Duration::from_secs(60);
const DELIVERY_POLL: Duration = Duration::from_secs(1);
/// How often the housekeeping job runs (retention, scheduled key take-overs).
const HOUSEKEEPING_EVERY: Duration = Duration::from_secs(60);
/// Notifications are kept this many days unless `PAYHOOK_RETENTION_DAYS` says otherwise…
pub const DEFAULT_RETENTION_DAYS: i64 = 90;
/// …and never fewer than this.
pub const MIN_RETENTION_DAYS: i64 = 7;
const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether a kind of user must sign in with two-factor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TwoFactorPolicy {
    /// Users without it are sent to set it up, from every page but that one.
    Required,
    Optional,
}

impl TwoFactorPolicy {
    /// `PAYHOOK_ADMIN_2FA`: `required` (the default) or `optional`.
    fn parse(value: Option<String>) -> anyhow::Result<Self> {
        match value
            .as_deref()
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("required") => Ok(Self::Required),
            Some("optional") => Ok(Self::Optional),
            Some(other) => bail!("PAYHOOK_ADMIN_2FA: expected required or optional, got {other:?}"),
        }
    }
}

/// `PAYHOOK_DELIVERY_CONCURRENCY`: 1 to 1024 attempts in flight.
fn parse_concurrency(value: Option<String>) -> anyhow::Result<usize> {
    let Some(value) = value else {
        return Ok(DEFAULT_DELIVERY_CONCURRENCY);
    };
    value
        .trim()
        .parse::<usize>()
        .ok()
        .filter(|n| (1..=1024).contains(n))
        .with_context(|| format!("PAYHOOK_DELIVERY_CONCURRENCY: {value:?} is not 1 to 1024"))
}

/// `PAYHOOK_DELIVERY_LEASE`: must outlast an attempt (DNS, connection and the answer), or a
/// slow attempt would be taken over and sent twice.
fn delivery_lease(value: Option<String>) -> anyhow::Result<Duration> {
    let Some(value) = value else {
        return Ok(DEFAULT_DELIVERY_LEASE);
    };
    let lease =
        parse_duration(value.trim()).map_err(|e| anyhow::anyhow!("PAYHOOK_DELIVERY_LEASE: {e}"))?;
    let attempt = NOTIFICATION_TIMEOUT + crate::dns::LOOKUP_TIMEOUT;
    if lease <= attempt {
        bail!(
            "PAYHOOK_DELIVERY_LEASE: {value} is too short; an attempt may take up to {}s",
            attempt.as_secs()
        );
    }
    Ok(lease)
}
/// `PAYHOOK_METRICS_ALLOW`: comma-separated IPs and CIDR ranges.
fn metrics_allow(value: Option<String>) -> anyhow::Result<Vec<AddressRange>> {
    match value {
        None => Ok(default_metrics_allow()),
        Some(text) => {
            parse_allow_list(&text).map_err(|e| anyhow::anyhow!("PAYHOOK_METRICS_ALLOW: {e}"))
        }
    }
}

fn default_metrics_allow() -> Vec<AddressRange> {
    parse_allow_list(DEFAULT_METRICS_ALLOW).unwrap_or_default()
}

fn display_list(ranges: &[AddressRange]) -> String {
    ranges
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(",")
}

/// A session ends this long after its sign-in, however busy.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 60 * 60);
/// How long a sign-in waits for its second step (a code) after the password.
pub const SIGN_IN_CODE_TIMEOUT: Duration = Duration::from_secs(5 * 60);
/// A session unused this long ends, unless `PAYHOOK_SESSION_IDLE_MINUTES` says otherwise.
pub const SESSION_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);

impl Settings {
    /// Reads the environment. With the embedded SQLite database, missing keys are generated
    /// once and kept beside it; with Postgres, where several instances share one database,
    /// they must be given so every instance uses the same ones.
    pub fn from_env() -> anyhow::Result<Self> {
        let var = env_var;
        let database_url = database_url_from_env();
        let shared = !database_url.starts_with("sqlite:");
        let required = |name: &str, bytes: usize| {
            anyhow::anyhow!(
                "{name} must be set when DATABASE_URL is Postgres, the same on every instance \
                 (generate one with: openssl rand -hex {bytes})"
            )
        };
        let session_key = match var("PAYHOOK_SESSION_KEY") {
            Some(hex_key) => parse_session_key(&hex_key).context("PAYHOOK_SESSION_KEY")?,
            None if shared => return Err(required("PAYHOOK_SESSION_KEY", 64)),
            None => load_or_create_key(&data_dir(&database_url), SESSION_KEY_FILE, 64)?,
        };
        let secret_key = match var("PAYHOOK_SECRET_KEY") {
            Some(hex_key) => parse_secret_key(&hex_key).context("PAYHOOK_SECRET_KEY")?,
            None if shared => return Err(required("PAYHOOK_SECRET_KEY", KEY_LEN)),
            None => {
                let key = load_or_create_key(&data_dir(&database_url), SECRET_KEY_FILE, KEY_LEN)?;
                parse_secret_key(&hex::encode(key)).context(SECRET_KEY_FILE)?
            }
        };
        Ok(Self {
            bind: var("PAYHOOK_BIND").unwrap_or_else(|| "127.0.0.1:8080".to_owned()),
            database_url,
            redis_url: var("REDIS_URL"),
            session_key,
            cookie_secure: parse_bool("PAYHOOK_COOKIE_SECURE", var("PAYHOOK_COOKIE_SECURE"))?,
            trust_proxy: parse_bool("PAYHOOK_TRUST_PROXY", var("PAYHOOK_TRUST_PROXY"))?,
            session_idle_timeout: parse_minutes(
                "PAYHOOK_SESSION_IDLE_MINUTES",
                var("PAYHOOK_SESSION_IDLE_MINUTES"),
            )?
            .unwrap_or(SESSION_IDLE_TIMEOUT),
            session_lifetime: SESSION_LIFETIME,
            sign_in_code_timeout: SIGN_IN_CODE_TIMEOUT,
            url_policy: url_policy_from_env()?,
            dns_check: dns_check_from_env()?,
            resolver: Resolver::system()?,
            notification_timeout: NOTIFICATION_TIMEOUT,
            secret_box: SecretBox::new(secret_key),
            delivery_concurrency: parse_concurrency(var("PAYHOOK_DELIVERY_CONCURRENCY"))?,
            retry_schedule: var("PAYHOOK_RETRY_SCHEDULE")
                .map(|text| RetrySchedule::parse(&text))
                .transpose()
                .map_err(|e| anyhow::anyhow!("PAYHOOK_RETRY_SCHEDULE: {e}"))?
                .unwrap_or_default(),
            delivery_lease: delivery_lease(var("PAYHOOK_DELIVERY_LEASE"))?,
            delivery_poll: DELIVERY_POLL,
            mail: MailSettings::parse(
                var("PAYHOOK_SMTP_URL"),
                var("PAYHOOK_MAIL_FROM"),
                var("PAYHOOK_PUBLIC_URL"),
            )?,
            admin_two_factor: TwoFactorPolicy::parse(var("PAYHOOK_ADMIN_2FA"))?,
            metrics_allow: metrics_allow(var("PAYHOOK_METRICS_ALLOW"))?,
            shutdown_timeout: var("PAYHOOK_SHUTDOWN_TIMEOUT")
                .map(|text| parse_duration(text.trim()))
                .transpose()
                .map_err(|e| anyhow::anyhow!("PAYHOOK_SHUTDOWN_TIMEOUT: {e}"))?
                .unwrap_or(DEFAULT_SHUTDOWN_TIMEOUT),
            retention_days: retention_days(var("PAYHOOK_RETENTION_DAYS"))?,
            housekeeping_every: var("PAYHOOK_HOUSEKEEPING_SECONDS")
                .map(|text| text.trim().parse::<u64>().ok().filter(|s| *s > 0))
                .map(|seconds| {
                    seconds.map(Duration::from_secs).ok_or_else(|| {
                        anyhow::anyhow!(
                            "PAYHOOK_HOUSEKEEPING_SECONDS: a whole number of seconds, at least 1"
                        )
                    })
                })
                .transpose()?
                .unwrap_or(HOUSEKEEPING_EVERY),
        })
    }

    /// Settings for a test or tool: given database, fresh random keys, defaults elsewhere.
    /// The DNS check is on, but with an offline resolver (names are accepted with a warning
    /// and never contacted), so no test needs a network; a test that judges names puts a
    /// resolver answering from a map of its own in `resolver`. Two-factor is optional for
    /// admins here (the server's default is `required`): a test of the policy sets it.
    pub fn for_database(database_url: &str) -> Self {
        Self {
            bind: "127.0.0.1:0".to_owned(),
            database_url: database_url.to_owned(),
            redis_url: None,
            session_key: crate::random::random_bytes::<64>().to_vec(),
            cookie_secure: false,
            trust_proxy: false,
            session_idle_timeout: SESSION_IDLE_TIMEOUT,
            session_lifetime: SESSION_LIFETIME,
            sign_in_code_timeout: SIGN_IN_CODE_TIMEOUT,
            url_policy: UrlPolicy::default(),
            dns_check: true,
            resolver: Resolver::offline(),
            notification_timeout: NOTIFICATION_TIMEOUT,
            secret_box: SecretBox::random(),
            delivery_concurrency: DEFAULT_DELIVERY_CONCURRENCY,
            retry_schedule: RetrySchedule::default(),
            delivery_lease: DEFAULT_DELIVERY_LEASE,
            delivery_poll: DELIVERY_POLL,
            mail: MailSettings::log_only(),
            admin_two_factor: TwoFactorPolicy::Optional,
            metrics_allow: default_metrics_allow(),
            shutdown_timeout: DEFAULT_SHUTDOWN_TIMEOUT,
            retention_days: DEFAULT_RETENTION_DAYS,
            housekeeping_every: HOUSEKEEPING_EVERY,
        }
    }
}

impl Settings {
    /// The absolute link to `path` an email carries: under `PAYHOOK_PUBLIC_URL`, or this
    /// server's own address without one.
    pub fn email_link(&self, path: &str) -> String {
        self.mail.link(path, &self.bind)
    }

    /// The resolver for rule 9 when URLs are saved, or `None` when `PAYHOOK_DNS_CHECK` is off.
    pub fn dns_resolver(&self) -> Option<&Resolver> {
        self.dns_check.then_some(&self.resolver)
    }

    /// Where this site's keys live in Redis: derived from the session key, which every
    /// instance of one site shares, so instances meet and other sites on the server do not.
    pub fn redis_prefix(&self) -> String {
        use sha2::Digest;
        let digest = sha2::Sha256::new()
            .chain_update(b"payhook redis namespace\n")
            .chain_update(&self.session_key)
            .finalize();
        format!("payhook:{}", &hex::encode(digest)[..16])
    }
}

/// `PAYHOOK_RETENTION_DAYS`: a whole number of days, at least [`MIN_RETENTION_DAYS`].
pub fn retention_days(text: Option<String>) -> anyhow::Result<i64> {
    let Some(text) = text else {
        return Ok(DEFAULT_RETENTION_DAYS);
    };
    text.trim()
        .parse::<i64>()
        .ok()
        .filter(|days| *days >= MIN_RETENTION_DAYS)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "PAYHOOK_RETENTION_DAYS: {text:?} is not a whole number of days, at least \
                 {MIN_RETENTION_DAYS}"
            )
        })
}

/// The notification URL policy's knobs (`PAYHOOK_ALLOWED_PORTS`,
/// `PAYHOOK_ALLOW_PRIVATE_TARGETS`).
pub fn url_policy_from_env() -> anyhow::Result<UrlPolicy> {
    let ports = env_var("PAYHOOK_ALLOWED_PORTS").unwrap_or_default();
    let allow_private = env_var("PAYHOOK_ALLOW_PRIVATE_TARGETS");
    Ok(UrlPolicy {
        extra_ports: parse_ports(&ports)?,
        allow_private_targets: parse_bool("PAYHOOK_ALLOW_PRIVATE_TARGETS", allow_private)?,
    })
}

/// `PAYHOOK_DNS_CHECK`: on unless set to a false value (`off`, `0`, `false`, `no`).
pub fn dns_check_from_env() -> anyhow::Result<bool> {
    match env_var("PAYHOOK_DNS_CHECK") {
        None => Ok(true),
        value => parse_bool("PAYHOOK_DNS_CHECK", value),
    }
}

/// An environment variable's value; set but blank counts as unset, for every variable.
fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Where files that belong with the database live: beside a SQLite file, else the working dir.
fn data_dir(database_url: &str) -> PathBuf {
    database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
        .map(|path| path.split('?').next().unwrap_or(path))
        .and_then(|path| Path::new(path).parent().map(Path::to_path_buf))
        .unwrap_or_default()
}

/// The hex key of `len` bytes kept in `file` under `dir`, generated (mode 0600) on first use.
fn load_or_create_key(dir: &Path, file: &str, len: usize) -> anyhow::Result<Vec<u8>> {
    let path = dir.join(file);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let key = hex::decode(existing.trim()).with_context(|| path.display().to_string())?;
        if key.len() < len {
            bail!("{}: must hold at least {len} bytes", path.display());
        }
        return Ok(key);
    }
    let key = hex::encode(&crate::random::random_bytes::<64>()[..len]);
    write_private(&path, &key).with_context(|| format!("writing {}", path.display()))?;
    tracing::info!(path = %path.display(), "generated a new key file");
    Ok(hex::decode(key)?)
}

fn parse_secret_key(hex_key: &str) -> anyhow::Result<[u8; KEY_LEN]> {
    let bytes = hex::decode(hex_key.trim()).context("must be hexadecimal")?;
    bytes.try_into().map_err(|_| {
        anyhow::anyhow!(
            "must be exactly {KEY_LEN} bytes ({} hex characters)",
            KEY_LEN * 2
        )
    })
}

fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(contents.as_bytes())
}

fn parse_session_key(hex_key: &str) -> anyhow::Result<Vec<u8>> {
    let bytes = hex::decode(hex_key).context("must be hexadecimal")?;
    if bytes.len() < 64 {
        bail!("must be at least 64 bytes (128 hex characters)");
    }
    Ok(bytes)
}

fn parse_bool(name: &str, value: Option<String>) -> anyhow::Result<bool> {
    match value
        .as_deref()
        .map(|v| v.trim().to_ascii_lowercase())
        .as_deref()
    {
        None | Some("0" | "false" | "no" | "off") => Ok(false),
        Some("1" | "true" | "yes" | "on") => Ok(true),
        Some(other) => bail!("{name}: expected true or false, got {other:?}"),
    }
}

/// A whole number of minutes, at least one.
fn parse_minutes(name: &str, value: Option<String>) -> anyhow::Result<Option<Duration>> {
    let Some(value) = value else {
        return Ok(None);
    };
    match value.trim().parse::<u64>() {
        Ok(minutes) if minutes > 0 => Ok(Some(Duration::from_secs(minutes * 60))),
        _ => bail!("{name}: expected a number of minutes (1 or more), got {value:?}"),
    }
}

fn parse_ports(list: &str) -> anyhow::Result<Vec<u16>> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<u16>()
                .ok()
                .filter(|&n| n != 0)
                .with_context(|| format!("PAYHOOK_ALLOWED_PORTS: {p:?} is not a port"))
        })
        .collect()
}

/// A connection URL fit for a log: its password, in the user part or in a `password` query
/// parameter (both are read by sqlx), masked; a URL that does not parse is not shown at all.
pub fn redact_url(url: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(url) else {
        return "(unparsable URL)".to_owned();
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some("***"));
    }
    if parsed.query().is_some() {
        let pairs: Vec<(String, String)> = parsed
            .query_pairs()
            .map(|(name, value)| {
                let secret = name.eq_ignore_ascii_case("password");
                let value = if secret { "***".into() } else { value };
                (name.into_owned(), value.into_owned())
            })
            .collect();
        parsed.query_pairs_mut().clear().extend_pairs(pairs);
    }
    parsed.to_string()
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;

    #[test]
    fn ports_and_booleans_are_parsed_strictly() {
        assert_eq!(parse_ports(" 8443, 80 ").unwrap(), vec![8443, 80]);
        assert!(parse_ports("http").is_err());
        assert!(parse_ports("0").is_err());
        assert!(parse_bool("X", Some("maybe".into())).is_err());
        assert!(parse_bool("X", Some("TRUE".into())).unwrap());
        assert!(parse_bool("X", Some(" on\n".into())).unwrap());
        assert!(!parse_bool("X", Some(" off ".into())).unwrap());
    }

    #[test]
    fn session_key_files_live_beside_the_sqlite_file() {
        assert_eq!(
            data_dir("sqlite:///var/lib/payhook/p.db"),
            PathBuf::from("/var/lib/payhook")
        );
        assert_eq!(data_dir("postgres://db/x"), PathBuf::new());
        assert!(parse_session_key("abcd").is_err());
    }

    #[test]
    fn the_secret_key_is_exactly_32_bytes_and_its_file_is_reused() {
        assert!(parse_secret_key(&"ab".repeat(32)).is_ok());
        assert!(parse_secret_key(&"ab".repeat(31)).is_err());
        assert!(parse_secret_key("zz").is_err());
        let dir = tempfile::tempdir().unwrap();
        let first = load_or_create_key(dir.path(), SECRET_KEY_FILE, KEY_LEN).unwrap();
        let again = load_or_create_key(dir.path(), SECRET_KEY_FILE, KEY_LEN).unwrap();
        assert_eq!(first.len(), KEY_LEN);
        assert_eq!(first, again);
    }

    #[test]
    fn database_passwords_are_not_printed() {
        assert_eq!(
            redact_url("postgres://u:secret@h/db"),
            "postgres://u:***@h/db"
        );
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&PASSWORD=secret"),
            "postgres://u@h/db?sslmode=require&PASSWORD=***"
        );
        assert!(!redact_url("postgres://u:sec ret@[h/db").contains("sec"));
        assert_eq!(redact_url("sqlite://payhook.db"), "sqlite://payhook.db");
    }

    #[test]
    fn the_metrics_allow_list_defaults_to_loopback_and_refuses_nonsense() {
        let loopback: IpAddr = "127.0.0.1".parse().unwrap();
        assert!(
            metrics_allow(None)
                .unwrap()
                .iter()
                .any(|r| r.contains(loopback))
        );
        let error = metrics_allow(Some("10.0.0.0/8, nonsense".into())).unwrap_err();
        assert!(
            error.to_string().starts_with("PAYHOOK_METRICS_ALLOW: "),
            "{error}"
        );
    }

    #[test]
    fn admins_need_two_factor_unless_told_otherwise() {
        assert_eq!(
            TwoFactorPolicy::parse(None).unwrap(),
            TwoFactorPolicy::Required
        );
        let optional = TwoFactorPolicy::parse(Some(" Optional ".into())).unwrap();
        assert_eq!(optional, TwoFactorPolicy::Optional);
        let error = TwoFactorPolicy::parse(Some("never".into())).unwrap_err();
        assert!(
            error.to_string().starts_with("PAYHOOK_ADMIN_2FA: "),
            "{error}"
        );
    }

    #[test]
    fn the_idle_timeout_is_whole_minutes() {
        let minutes = |v: &str| parse_minutes("X", Some(v.into()));
        assert_eq!(minutes("45").unwrap(), Some(Duration::from_secs(2700)));
        assert!(minutes("0").is_err() && minutes("1.5").is_err());
        assert_eq!(parse_minutes("X", None).unwrap(), None);
    }
}
