//! Name resolution for apps under test: a resolver answering from a map the test controls.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use futures_util::future::BoxFuture;
use payhook::dns::{Resolve, Resolver};
use payhook::url_policy::Resolution;

use super::{Backend, TestApp, spawn_app_with};

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
