//! Rule 9 of the URL policy: resolve the host and judge every address it resolves to.
//!
//! The resolver is injectable ([`Resolve`]): the server uses hickory's async resolver (the
//! system's name servers and `/etc/hosts`), tests one that answers from a map, so no test
//! depends on a network. Every lookup has a time limit that really ends it (dropping an async
//! lookup stops it; a blocking `getaddrinfo` would keep its thread), and a merchant has at most
//! [`LOOKUPS_PER_MERCHANT`] lookups in flight.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use futures_util::future::BoxFuture;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use tokio::sync::Semaphore;

use crate::domain::Environment;
use crate::url_policy::{
    NotificationUrl, Resolution, UrlPolicy, Violation, Warning, judge_resolution,
};

/// How long a lookup may take before the URL is accepted with a warning (rule 9 of the URL policy, README).
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
