//! Rule 9 of the URL policy: resolve the host and judge every address it resolves to.
//!
//! The resolver is injectable: the server uses the system's, tests a [`StaticResolver`] that
//! answers from a map, so no test depends on a network.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::future::BoxFuture;

use crate::url_policy::{
    Environment, NotificationUrl, Resolution, UrlPolicy, Violation, Warning, judge_resolution,
};

/// How long a lookup may take before the URL is accepted with a warning (SPEC 3.1 rule 9).
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Something that turns a host name into addresses.
pub trait Resolve: Send + Sync + 'static {
    /// Resolves `host` (an ASCII domain name, maybe with a trailing dot).
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Resolution>;
}

/// The resolver in use, with the time limit applied to every lookup.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<dyn Resolve>,
    timeout: Duration,
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// The operating system's resolver (`getaddrinfo`, so `/etc/hosts` counts too).
    pub fn system() -> Self {
        Self::new(SystemResolver)
    }

    /// A resolver for machines without DNS (tests, tools): it never knows an answer, so a
    /// saved name is accepted with the "could not be checked" warning and nothing is ever
    /// sent to it, while IP literals are judged as usual.
    pub fn offline() -> Self {
        Self::new(OfflineResolver)
    }

    /// Any resolver, with the standard time limit.
    pub fn new(resolver: impl Resolve) -> Self {
        Self {
            inner: Arc::new(resolver),
            timeout: LOOKUP_TIMEOUT,
        }
    }

    /// A resolver that answers only from `entries` (host, address): every other name does
    /// not exist.
    pub fn fixed<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        Self::new(StaticResolver::new(entries))
    }

    /// The same resolver with another time limit.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    /// Resolves `host`; a lookup slower than the time limit is [`Resolution::Unanswered`].
    pub async fn lookup(&self, host: &str) -> Resolution {
        tokio::time::timeout(self.timeout, self.inner.lookup(host))
            .await
            .unwrap_or(Resolution::Unanswered)
    }
}

struct SystemResolver;

impl Resolve for SystemResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Resolution> {
        Box::pin(async move {
            match tokio::net::lookup_host((host, 0)).await {
                Ok(addresses) => Resolution::Addresses(addresses.map(|a| a.ip()).collect()),
                Err(error) => classify_lookup_error(&error),
            }
        })
    }
}

/// `getaddrinfo` reports "no such name" and "could not ask" only through its message, which
/// std passes on as text; anything we cannot tell apart counts as unanswered (a warning), so
/// a resolver outage never refuses a URL.
fn classify_lookup_error(error: &std::io::Error) -> Resolution {
    const NO_SUCH_NAME: [&str; 3] = [
        "Name or service not known",           // glibc EAI_NONAME
        "No address associated with hostname", // glibc EAI_NODATA
        "nodename nor servname provided",      // BSD and macOS EAI_NONAME
    ];
    let message = error.to_string();
    if NO_SUCH_NAME.iter().any(|m| message.contains(m)) {
        Resolution::NoSuchName
    } else {
        tracing::warn!(%error, "DNS lookup failed");
        Resolution::Unanswered
    }
}

struct OfflineResolver;

impl Resolve for OfflineResolver {
    fn lookup<'a>(&'a self, _host: &'a str) -> BoxFuture<'a, Resolution> {
        Box::pin(std::future::ready(Resolution::Unanswered))
    }
}

/// What a [`StaticResolver`] answers for one name.
#[derive(Debug, Clone)]
enum Answer {
    Addresses(Vec<IpAddr>),
    /// Never answers, like a resolver that is down.
    Silent,
}

/// A resolver answering from a map that can change while the server runs (to play DNS
/// rebinding in tests); it counts its lookups.
#[derive(Clone, Default)]
pub struct StaticResolver {
    answers: Arc<RwLock<HashMap<String, Answer>>>,
    lookups: Arc<AtomicUsize>,
}

impl StaticResolver {
    /// A map of (host, address) pairs; a host named twice gets both addresses.
    pub fn new<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> Self {
        let resolver = Self::default();
        for (host, address) in entries {
            let ip: IpAddr = address
                .parse()
                .expect("a static resolver entry needs an IP address");
            let mut answers = resolver.answers.write().expect("resolver map");
            match answers
                .entry(normalise(host))
                .or_insert(Answer::Addresses(Vec::new()))
            {
                Answer::Addresses(list) => list.push(ip),
                Answer::Silent => {}
            }
        }
        resolver
    }

    /// From now on `host` resolves to exactly `addresses`.
    pub fn set(&self, host: &str, addresses: &[&str]) {
        let ips = addresses
            .iter()
            .map(|a| a.parse().expect("an IP address"))
            .collect();
        self.answers
            .write()
            .expect("resolver map")
            .insert(normalise(host), Answer::Addresses(ips));
    }

    /// From now on a lookup of `host` never answers.
    pub fn make_silent(&self, host: &str) {
        self.answers
            .write()
            .expect("resolver map")
            .insert(normalise(host), Answer::Silent);
    }

    /// How many lookups were made so far.
    pub fn lookups(&self) -> usize {
        self.lookups.load(Ordering::SeqCst)
    }
}

impl Resolve for StaticResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Resolution> {
        self.lookups.fetch_add(1, Ordering::SeqCst);
        let answer = self
            .answers
            .read()
            .expect("resolver map")
            .get(&normalise(host))
            .cloned();
        Box::pin(async move {
            match answer {
                Some(Answer::Addresses(ips)) => Resolution::Addresses(ips),
                Some(Answer::Silent) => std::future::pending().await,
                None => Resolution::NoSuchName,
            }
        })
    }
}

fn normalise(host: &str) -> String {
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// A URL that passed rules 1–9, with the addresses it may be delivered to.
#[derive(Debug, Clone)]
pub struct VettedUrl {
    pub url: NotificationUrl,
    pub warnings: Vec<Warning>,
    /// Every address the host resolved to, all judged acceptable; empty when DNS was not
    /// checked (turned off, or it did not answer).
    pub addresses: Vec<IpAddr>,
}

/// Applies the whole policy to `input`: rules 1–8, then rule 9 through `resolver` when given.
pub async fn vet(
    input: &str,
    env: Environment,
    policy: &UrlPolicy,
    resolver: Option<&Resolver>,
) -> Result<VettedUrl, Vec<Violation>> {
    let (url, mut warnings) = NotificationUrl::parse(input, env, policy)?;
    let Some(resolver) = resolver else {
        return Ok(VettedUrl {
            url,
            warnings,
            addresses: Vec::new(),
        });
    };
    // An IP literal was judged by rule 4 already; it is its own only address.
    let resolution = match url.host().parse::<IpAddr>() {
        Ok(ip) => Resolution::Addresses(vec![ip]),
        Err(_) => resolver.lookup(url.host()).await,
    };
    let warning = judge_resolution(&resolution, env, policy).map_err(|v| vec![v])?;
    warnings.extend(warning);
    let addresses = match resolution {
        Resolution::Addresses(addresses) => addresses,
        Resolution::NoSuchName | Resolution::Unanswered => Vec::new(),
    };
    Ok(VettedUrl {
        url,
        warnings,
        addresses,
    })
}

/// One form field judged by the whole policy: `url` is `None` when the field was left empty
/// (which clears the URL) or broke a rule; the rules and warnings are in the reader's language.
#[derive(Debug, Default)]
pub struct FieldVerdict {
    pub url: Option<NotificationUrl>,
    pub errors: Vec<&'static str>,
    pub warnings: Vec<&'static str>,
}

/// Judges one form field for `environment`, rule 9 included when `resolver` is given.
pub async fn judge(
    input: &str,
    environment: Environment,
    policy: &UrlPolicy,
    resolver: Option<&Resolver>,
) -> FieldVerdict {
    if input.trim().is_empty() {
        return FieldVerdict::default();
    }
    match vet(input, environment, policy, resolver).await {
        Ok(VettedUrl { url, warnings, .. }) => FieldVerdict {
            url: Some(url),
            errors: Vec::new(),
            warnings: warnings.iter().map(|w| w.code.local_message()).collect(),
        },
        Err(violations) => FieldVerdict {
            url: None,
            errors: violations.iter().map(|v| v.code.local_message()).collect(),
            warnings: Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glibc_and_bsd_no_such_name_errors_are_told_apart_from_outages() {
        let error =
            |m: &str| std::io::Error::other(format!("failed to lookup address information: {m}"));
        assert_eq!(
            classify_lookup_error(&error("Name or service not known")),
            Resolution::NoSuchName
        );
        assert_eq!(
            classify_lookup_error(&error("Temporary failure in name resolution")),
            Resolution::Unanswered
        );
    }

    #[tokio::test]
    async fn a_static_resolver_answers_from_its_map_case_and_dot_insensitively() {
        let dns = StaticResolver::new([
            ("Hooks.Shop.com", "10.0.0.1"),
            ("hooks.shop.com", "8.8.8.8"),
        ]);
        let resolver = Resolver::new(dns.clone());
        let both = Resolution::Addresses(vec![
            "10.0.0.1".parse().unwrap(),
            "8.8.8.8".parse().unwrap(),
        ]);
        assert_eq!(resolver.lookup("hooks.shop.com.").await, both);
        assert_eq!(
            resolver.lookup("other.shop.com").await,
            Resolution::NoSuchName
        );
        dns.make_silent("hooks.shop.com");
        let quick = resolver.with_timeout(Duration::from_millis(20));
        assert_eq!(quick.lookup("hooks.shop.com").await, Resolution::Unanswered);
        assert_eq!(dns.lookups(), 3);
    }
}
