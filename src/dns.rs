//! Rule 9 of the URL policy: resolve the host and judge every address it resolves to.
//!
//! The resolver is injectable: the server uses hickory's async resolver (the system's name
//! servers and `/etc/hosts`), tests a [`StaticResolver`] that answers from a map, so no test
//! depends on a network. Every lookup has a time limit that really ends it (dropping an async
//! lookup stops it; a blocking `getaddrinfo` would keep its thread), and a merchant has at most
//! [`LOOKUPS_PER_MERCHANT`] lookups in flight.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use tokio::sync::Semaphore;

use crate::url_policy::{
    Environment, NotificationUrl, Resolution, UrlPolicy, Violation, Warning, judge_resolution,
};

/// How long a lookup may take before the URL is accepted with a warning (SPEC 3.1 rule 9).
pub const LOOKUP_TIMEOUT: Duration = Duration::from_secs(2);

/// Lookups one merchant may have in flight; more wait for a free one (within the time limit),
/// so names that never answer cannot pile up lookups.
pub const LOOKUPS_PER_MERCHANT: usize = 4;

/// Something that turns a host name into addresses.
pub trait Resolve: Send + Sync + 'static {
    /// Resolves `host` (an ASCII domain name, maybe with a trailing dot).
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Resolution>;
}

/// The resolver in use, with the time limit applied to every lookup and, once bound to a
/// merchant with [`Resolver::for_merchant`], that merchant's cap on lookups in flight.
#[derive(Clone)]
pub struct Resolver {
    inner: Arc<dyn Resolve>,
    timeout: Duration,
    slots: Arc<MerchantSlots>,
    merchant: Option<i64>,
}

/// One semaphore per merchant that has looked something up (a few bytes each).
#[derive(Default)]
struct MerchantSlots(Mutex<HashMap<i64, Arc<Semaphore>>>);

impl MerchantSlots {
    fn of(&self, merchant_id: i64) -> Arc<Semaphore> {
        let mut slots = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        slots
            .entry(merchant_id)
            .or_insert_with(|| Arc::new(Semaphore::new(LOOKUPS_PER_MERCHANT)))
            .clone()
    }
}

impl fmt::Debug for Resolver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resolver")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Resolver {
    /// hickory's async resolver with the system's configuration (`/etc/resolv.conf`,
    /// `/etc/hosts`).
    pub fn system() -> anyhow::Result<Self> {
        let builder = TokioResolver::builder_tokio()
            .context("reading the system's DNS configuration (/etc/resolv.conf)")?;
        Self::hickory(builder)
    }

    /// hickory's async resolver asking only `servers` over UDP and TCP (a site's own resolver,
    /// or a test's).
    pub fn with_name_servers(servers: &[SocketAddr]) -> anyhow::Result<Self> {
        let servers = servers
            .iter()
            .map(|server| {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                NameServerConfig::new(server.ip(), true, vec![udp, tcp])
            })
            .collect();
        let config = ResolverConfig::from_name_servers(servers);
        Self::hickory(TokioResolver::builder_with_config(
            config,
            TokioRuntimeProvider::default(),
        ))
    }

    fn hickory(
        mut builder: hickory_resolver::ResolverBuilder<TokioRuntimeProvider>,
    ) -> anyhow::Result<Self> {
        // hickory's own deadline matches ours, so nothing keeps asking after we gave up.
        let options = builder.options_mut();
        options.timeout = LOOKUP_TIMEOUT;
        options.attempts = 1;
        let resolver = builder.build().context("building the DNS resolver")?;
        Ok(Self::new(HickoryResolver(resolver)))
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
            slots: Arc::default(),
            merchant: None,
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

    /// The same resolver, counting lookups against `merchant_id`'s cap.
    pub fn for_merchant(&self, merchant_id: i64) -> Self {
        Self {
            merchant: Some(merchant_id),
            ..self.clone()
        }
    }

    /// Resolves `host`; a lookup slower than the time limit (waiting for a merchant's free
    /// slot included) is [`Resolution::Unanswered`], and is stopped.
    pub async fn lookup(&self, host: &str) -> Resolution {
        let lookup = async {
            let _slot = match self.merchant {
                Some(id) => Some(self.slots.of(id).acquire_owned().await),
                None => None,
            };
            self.inner.lookup(host).await
        };
        tokio::time::timeout(self.timeout, lookup)
            .await
            .unwrap_or(Resolution::Unanswered)
    }
}

struct HickoryResolver(TokioResolver);

impl Resolve for HickoryResolver {
    fn lookup<'a>(&'a self, host: &'a str) -> BoxFuture<'a, Resolution> {
        Box::pin(async move {
            match self.0.lookup_ip(host).await {
                Ok(found) => Resolution::Addresses(found.iter().collect()),
                // NXDOMAIN, or a name without addresses: nothing to deliver to.
                Err(error) if error.is_no_records_found() => Resolution::NoSuchName,
                Err(error) => {
                    tracing::warn!(%error, "DNS lookup failed");
                    Resolution::Unanswered
                }
            }
        })
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
/// rebinding in tests); it counts its lookups, and the most it had in flight at once.
#[derive(Clone, Default)]
pub struct StaticResolver {
    answers: Arc<RwLock<HashMap<String, Answer>>>,
    lookups: Arc<AtomicUsize>,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

/// Counts one lookup in flight until dropped (answered, or given up on).
struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
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

    /// The most lookups that were in flight at the same time.
    pub fn peak_in_flight(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
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
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        let in_flight = InFlight(self.in_flight.clone());
        Box::pin(async move {
            let _in_flight = in_flight;
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
