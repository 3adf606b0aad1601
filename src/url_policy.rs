//! The notification URL policy (README, "The notification URL policy"): one pure function, [`NotificationUrl::parse`], judges
//! a webhook URL, names every rule it breaks and returns the normalised form to store.
//!
//! Rules 1–8 live here. For rule 9 (DNS) the caller resolves [`NotificationUrl::host`] (see
//! `crate::dns`) and [`judge_resolution`] judges what the resolver answered, so the decision
//! itself stays pure.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

use crate::domain::Environment;

/// The longest accepted URL: characters of the trimmed input, and bytes of the normalised form.
pub const MAX_URL_LEN: usize = 2048;

/// Names refused with all their subdomains: they never resolve on the public internet.
const RESERVED_SUFFIXES: [&str; 8] = [
    "localhost",
    "local",
    "internal",
    "lan",
    "home.arpa",
    "test",
    "invalid",
    "example",
];

/// Tunnel services refused with all their subdomains.
const TUNNEL_SUFFIXES: [&str; 7] = [
    "ngrok.io",
    "ngrok.app",
    "ngrok.dev",
    "ngrok-free.app",
    "ngrok-free.dev",
    "ngrok.pizza",
    "ngrok-free.pizza",
];

/// IPv4 networks that are not publicly reachable (IANA special-purpose registry).
const NON_PUBLIC_V4: [(Ipv4Addr, u8); 16] = [
    (Ipv4Addr::new(0, 0, 0, 0), 8),          // "this network"
    (Ipv4Addr::new(10, 0, 0, 0), 8),         // private
    (Ipv4Addr::new(100, 64, 0, 0), 10),      // carrier-grade NAT
    (Ipv4Addr::new(127, 0, 0, 0), 8),        // loopback
    (Ipv4Addr::new(169, 254, 0, 0), 16),     // link-local
    (Ipv4Addr::new(172, 16, 0, 0), 12),      // private
    (Ipv4Addr::new(192, 0, 0, 0), 24),       // IETF protocol assignments
    (Ipv4Addr::new(192, 0, 2, 0), 24),       // documentation (TEST-NET-1)
    (Ipv4Addr::new(192, 88, 99, 0), 24),     // 6to4 relay anycast
    (Ipv4Addr::new(192, 168, 0, 0), 16),     // private
    (Ipv4Addr::new(198, 18, 0, 0), 15),      // benchmarking
    (Ipv4Addr::new(198, 51, 100, 0), 24),    // documentation (TEST-NET-2)
    (Ipv4Addr::new(203, 0, 113, 0), 24),     // documentation (TEST-NET-3)
    (Ipv4Addr::new(224, 0, 0, 0), 4),        // multicast
    (Ipv4Addr::new(240, 0, 0, 0), 4),        // reserved
    (Ipv4Addr::new(255, 255, 255, 255), 32), // broadcast (already inside 240/4; listed for clarity)
];

/// Special-purpose IPv6 networks inside global unicast 2000::/3.
///
/// Everything outside 2000::/3 is refused anyway (unspecified, loopback, unique-local fc00::/7,
/// link-local fe80::/10, site-local fec0::/10, multicast ff00::/8, discard 100::/64, local-use
/// NAT64 64:ff9b:1::/48, unallocated space), except the IPv4-embedding forms judged by their IPv4.
const NON_PUBLIC_V6: [(Ipv6Addr, u8); 3] = [
    (Ipv6Addr::new(0x2001, 0, 0, 0, 0, 0, 0, 0), 23), // IETF protocol assignments (Teredo, ORCHID…)
    (Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0), 32), // documentation
    (Ipv6Addr::new(0x3fff, 0, 0, 0, 0, 0, 0, 0), 20), // documentation
];

/// Policy knobs (from config). Default: no extra ports, no private targets.
#[derive(Debug, Clone, Default)]
pub struct UrlPolicy {
    /// Explicit ports accepted besides the scheme's default one.
    pub extra_ports: Vec<u16>,
    /// `PAYHOOK_ALLOW_PRIVATE_TARGETS`: sandbox URLs may name loopback and private addresses
    /// (literally or through DNS) on any port, for local development and tests. Production
    /// URLs keep every rule.
    pub allow_private_targets: bool,
}

impl UrlPolicy {
    /// Whether the development escape hatch applies to a URL for `env`.
    fn private_targets_allowed(&self, env: Environment) -> bool {
        self.allow_private_targets && env == Environment::Sandbox
    }
}

/// What the resolver answered for a URL's host (rule 9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The name resolved to these addresses.
    Addresses(Vec<IpAddr>),
    /// The name does not exist (or has no address).
    NoSuchName,
    /// The resolver did not answer in time, or could not be asked.
    Unanswered,
}

/// Rule 9: judges what the resolver answered for a URL that passed rules 1–8.
///
/// A name that does not exist, or any address that is not public, refuses the URL; a resolver
/// that did not answer only earns a warning, so an outage of ours does not block a merchant.
pub fn judge_resolution(
    resolution: &Resolution,
    env: Environment,
    policy: &UrlPolicy,
) -> Result<Option<Warning>, Violation> {
    match resolution {
        Resolution::Addresses(addresses) if addresses.is_empty() => Err(Violation {
            code: ViolationCode::NameNotFound,
        }),
        Resolution::Addresses(addresses) => {
            let all_public = addresses.iter().all(|&ip| is_public_ip(ip));
            if all_public || policy.private_targets_allowed(env) {
                Ok(None)
            } else {
                Err(Violation {
                    code: ViolationCode::ResolvesToNonPublic,
                })
            }
        }
        Resolution::NoSuchName => Err(Violation {
            code: ViolationCode::NameNotFound,
        }),
        Resolution::Unanswered => Ok(Some(Warning {
            code: WarningCode::DnsUnanswered,
        })),
    }
}

/// A URL that passed every rule; holds the normalised form (what gets stored).
#[derive(Clone, PartialEq, Eq)]
pub struct NotificationUrl(Url);

impl NotificationUrl {
    /// Judges `input` for `env` under `policy` (rules 1–8).
    ///
    /// Returns the normalised URL and any warnings, or every broken rule, each code once, in
    /// rule order. The normalised form of an accepted URL is accepted again unchanged.
    pub fn parse(
        input: &str,
        env: Environment,
        policy: &UrlPolicy,
    ) -> Result<(NotificationUrl, Vec<Warning>), Vec<Violation>> {
        let url = parse_absolute(input).map_err(|code| vec![Violation { code }])?;
        let mut violations = Vec::new();
        let mut warnings = Vec::new();

        match (url.scheme(), env) {
            ("https", _) => {}
            ("http", Environment::Sandbox) => warnings.push(Warning {
                code: WarningCode::InsecureHttpSandbox,
            }),
            ("http", Environment::Production) => violations.push(ViolationCode::HttpsRequired),
            _ => violations.push(ViolationCode::UnsupportedScheme),
        }
        if !url.username().is_empty() || url.password().is_some() {
            violations.push(ViolationCode::CredentialsInUrl);
        }
        let relaxed = policy.private_targets_allowed(env);
        if let Some(code) = url.host().and_then(host_violation)
            && !(relaxed && code == ViolationCode::NonPublicAddress)
        {
            violations.push(code);
        }
        if !relaxed
            && url
                .port()
                .is_some_and(|port| !policy.extra_ports.contains(&port))
        {
            violations.push(ViolationCode::PortNotAllowed);
        }
        if url.fragment().is_some() {
            violations.push(ViolationCode::FragmentNotAllowed);
        }

        if violations.is_empty() {
            Ok((NotificationUrl(url), warnings))
        } else {
            Err(violations
                .into_iter()
                .map(|code| Violation { code })
                .collect())
        }
    }

    /// The normalised URL, as stored.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The ASCII host for the DNS check: a punycode domain name (kept as written, trailing dot
    /// included) or an IP literal without brackets, so `host().parse::<IpAddr>()` tells them apart.
    pub fn host(&self) -> &str {
        // `parse` only accepts URLs with a host.
        let host = self.0.host_str().unwrap_or_default();
        host.strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host)
    }

    /// The (percent-encoded) path, always starting with `/`.
    pub fn path(&self) -> &str {
        self.0.path()
    }
}

impl fmt::Display for NotificationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for NotificationUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("NotificationUrl")
            .field(&self.as_str())
            .finish()
    }
}

/// Why a URL was refused: one variant per rule kind, declared in rule order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ViolationCode {
    /// Nothing but white space.
    Empty,
    /// Longer than [`MAX_URL_LEN`].
    TooLong,
    /// Tabs, line breaks or other control characters.
    ControlCharacters,
    /// Not an absolute URL with a host (or an unusable port number).
    NotAbsoluteUrl,
    /// `http` in production.
    HttpsRequired,
    /// Neither `https` nor `http`.
    UnsupportedScheme,
    /// A user name or password.
    CredentialsInUrl,
    /// A domain without a dot.
    SingleLabelHost,
    /// `localhost`, `.local`, `.internal` and the like.
    ReservedDomain,
    /// An IP literal that is not publicly reachable.
    NonPublicAddress,
    /// An ngrok tunnel domain.
    TunnelDomain,
    /// An explicit port outside the allowed set.
    PortNotAllowed,
    /// A `#fragment`.
    FragmentNotAllowed,
    /// Rule 9: the domain name does not exist.
    NameNotFound,
    /// Rule 9: the domain name resolves to at least one address that is not public.
    ResolvesToNonPublic,
}

impl ViolationCode {
    /// Every code, in rule order.
    pub const ALL: [ViolationCode; 15] = [
        ViolationCode::Empty,
        ViolationCode::TooLong,
        ViolationCode::ControlCharacters,
        ViolationCode::NotAbsoluteUrl,
        ViolationCode::HttpsRequired,
        ViolationCode::UnsupportedScheme,
        ViolationCode::CredentialsInUrl,
        ViolationCode::SingleLabelHost,
        ViolationCode::ReservedDomain,
        ViolationCode::NonPublicAddress,
        ViolationCode::TunnelDomain,
        ViolationCode::PortNotAllowed,
        ViolationCode::FragmentNotAllowed,
        ViolationCode::NameNotFound,
        ViolationCode::ResolvesToNonPublic,
    ];

    /// The stable snake_case code (API, CLI, translations).
    pub fn as_str(self) -> &'static str {
        match self {
            ViolationCode::Empty => "empty",
            ViolationCode::TooLong => "too_long",
            ViolationCode::ControlCharacters => "control_characters",
            ViolationCode::NotAbsoluteUrl => "not_absolute_url",
            ViolationCode::HttpsRequired => "https_required",
            ViolationCode::UnsupportedScheme => "unsupported_scheme",
            ViolationCode::CredentialsInUrl => "credentials_in_url",
            ViolationCode::SingleLabelHost => "single_label_host",
            ViolationCode::ReservedDomain => "reserved_domain",
            ViolationCode::NonPublicAddress => "non_public_address",
            ViolationCode::TunnelDomain => "tunnel_domain",
            ViolationCode::PortNotAllowed => "port_not_allowed",
            ViolationCode::FragmentNotAllowed => "fragment_not_allowed",
            ViolationCode::NameNotFound => "name_not_found",
            ViolationCode::ResolvesToNonPublic => "resolves_to_non_public_address",
        }
    }

    /// The English explanation (command line, logs); the text lives in `i18n/en.txt`.
    pub fn message(self) -> &'static str {
        crate::i18n::english(&self.key())
    }

    /// The explanation in the current request's language.
    pub fn local_message(self) -> &'static str {
        crate::i18n::t(&self.key())
    }

    /// The translation key of this rule's explanation.
    pub fn key(self) -> String {
        format!("violation.{}", self.as_str())
    }
}

/// One broken rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Which rule.
    pub code: ViolationCode,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.message())
    }
}

/// Why an accepted URL deserves a second look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WarningCode {
    /// `http` in sandbox: accepted, but unencrypted.
    InsecureHttpSandbox,
    /// Rule 9 could not be checked: the resolver did not answer in time.
    DnsUnanswered,
}

impl WarningCode {
    /// Every code.
    pub const ALL: [WarningCode; 2] =
        [WarningCode::InsecureHttpSandbox, WarningCode::DnsUnanswered];

    /// The stable snake_case code (API, CLI, translations).
    pub fn as_str(self) -> &'static str {
        match self {
            WarningCode::InsecureHttpSandbox => "insecure_http_sandbox",
            WarningCode::DnsUnanswered => "dns_unanswered",
        }
    }

    /// The English explanation (command line, logs); the text lives in `i18n/en.txt`.
    pub fn message(self) -> &'static str {
        crate::i18n::english(&self.key())
    }

    /// The explanation in the current request's language.
    pub fn local_message(self) -> &'static str {
        crate::i18n::t(&self.key())
    }

    /// The translation key of this warning's explanation.
    pub fn key(self) -> String {
        format!("warning.{}", self.as_str())
    }
}

/// One warning on an accepted URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Which warning.
    pub code: WarningCode,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.message())
    }
}

/// Whether `ip` is publicly reachable (rule 4, and rule 9 for every resolved address).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_ipv4(v4),
        IpAddr::V6(v6) => is_public_ipv6(v6),
    }
}

/// Rule 1: trimmed, bounded, printable, absolute with a host. Stops at the first problem.
fn parse_absolute(input: &str) -> Result<Url, ViolationCode> {
    let input = input.trim();
    if input.is_empty() {
        return Err(ViolationCode::Empty);
    }
    if input.chars().count() > MAX_URL_LEN {
        return Err(ViolationCode::TooLong);
    }
    // The WHATWG parser silently drops tabs and line breaks; refuse them instead.
    if input.chars().any(char::is_control) {
        return Err(ViolationCode::ControlCharacters);
    }
    let url = match Url::parse(input) {
        Ok(url) => url,
        Err(url::ParseError::InvalidPort) => return Err(ViolationCode::PortNotAllowed),
        Err(_) => return Err(ViolationCode::NotAbsoluteUrl),
    };
    if url.cannot_be_a_base() || url.host().is_none() {
        return Err(ViolationCode::NotAbsoluteUrl);
    }
    // Percent-encoding and punycode lengthen the URL; the stored form must pass this rule too.
    if url.as_str().len() > MAX_URL_LEN {
        return Err(ViolationCode::TooLong);
    }
    Ok(url)
}

/// Rules 4 and 5: at most one problem per host.
fn host_violation(host: Host<&str>) -> Option<ViolationCode> {
    let public = match host {
        Host::Domain(domain) => return domain_violation(domain),
        Host::Ipv4(v4) => is_public_ipv4(v4),
        Host::Ipv6(v6) => is_public_ipv6(v6),
    };
    (!public).then_some(ViolationCode::NonPublicAddress)
}

fn domain_violation(domain: &str) -> Option<ViolationCode> {
    // Special schemes arrive lowercased; other schemes (already refused) keep their case.
    let name = domain.trim_end_matches('.').to_ascii_lowercase();
    // Hosts of non-special schemes are opaque, so an IPv4 literal can arrive as a "domain".
    if let Ok(v4) = name.parse::<Ipv4Addr>() {
        return (!is_public_ipv4(v4)).then_some(ViolationCode::NonPublicAddress);
    }
    if is_within_any(&name, &RESERVED_SUFFIXES) {
        Some(ViolationCode::ReservedDomain)
    } else if name.split('.').filter(|label| !label.is_empty()).count() < 2 {
        Some(ViolationCode::SingleLabelHost)
    } else if is_within_any(&name, &TUNNEL_SUFFIXES) {
        Some(ViolationCode::TunnelDomain)
    } else {
        None
    }
}

/// Whether `name` is one of `suffixes` or a subdomain of one.
fn is_within_any(name: &str, suffixes: &[&str]) -> bool {
    suffixes.iter().any(|suffix| is_within(name, suffix))
}

/// Whether `name` is `suffix` or one of its subdomains (label-boundary match).
fn is_within(name: &str, suffix: &str) -> bool {
    name.strip_suffix(suffix)
        .is_some_and(|rest| rest.is_empty() || rest.ends_with('.'))
}

fn is_public_ipv4(ip: Ipv4Addr) -> bool {
    !NON_PUBLIC_V4
        .iter()
        .any(|&(net, len)| in_v4_net(ip, net, len))
}

fn is_public_ipv6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_ipv4(ip) {
        return is_public_ipv4(v4);
    }
    in_v6_net(ip, Ipv6Addr::new(0x2000, 0, 0, 0, 0, 0, 0, 0), 3)
        && !NON_PUBLIC_V6
            .iter()
            .any(|&(net, len)| in_v6_net(ip, net, len))
}

/// The IPv4 address an IPv6 address stands for, for the forms that wrap one.
fn embedded_ipv4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    match bits >> 32 {
        // IPv4-compatible ::a.b.c.d (which covers :: and ::1), IPv4-mapped ::ffff:a.b.c.d, and
        // the NAT64 well-known prefix 64:ff9b::/96 carry the IPv4 in their last 32 bits.
        0 | 0xffff | 0x0064_ff9b_0000_0000_0000_0000 => Some(Ipv4Addr::from(bits as u32)),
        // 6to4 2002:AABB:CCDD::/48 carries the IPv4 in bits 16..48.
        _ if bits >> 112 == 0x2002 => Some(Ipv4Addr::from((bits >> 80) as u32)),
        _ => None,
    }
}

fn in_v4_net(ip: Ipv4Addr, net: Ipv4Addr, len: u8) -> bool {
    let mask = u32::MAX.checked_shl(32 - u32::from(len)).unwrap_or(0);
    u32::from(ip) & mask == u32::from(net)
}

fn in_v6_net(ip: Ipv6Addr, net: Ipv6Addr, len: u8) -> bool {
    let mask = u128::MAX.checked_shl(128 - u32::from(len)).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_every_code_has_a_message() {
        let codes: Vec<&str> = ViolationCode::ALL
            .iter()
            .map(|c| c.as_str())
            .chain(WarningCode::ALL.iter().map(|c| c.as_str()))
            .collect();
        for (i, code) in codes.iter().enumerate() {
            assert!(!codes[..i].contains(code), "duplicate code {code}");
            assert!(code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'));
        }
        for code in ViolationCode::ALL {
            assert!(code.message().len() > 20, "{code:?}");
        }
    }

    #[test]
    fn network_tables_are_aligned_on_their_prefix_length() {
        for (net, len) in NON_PUBLIC_V4 {
            assert!(in_v4_net(net, net, len), "{net}/{len}");
        }
        for (net, len) in NON_PUBLIC_V6 {
            assert!(in_v6_net(net, net, len), "{net}/{len}");
        }
    }

    #[test]
    fn embedded_ipv4_is_read_from_every_wrapping_form() {
        let v4 = Ipv4Addr::new(192, 168, 1, 2);
        for ip in [
            "::192.168.1.2",
            "::ffff:192.168.1.2",
            "64:ff9b::192.168.1.2",
            "2002:c0a8:102::1",
        ] {
            assert_eq!(embedded_ipv4(ip.parse().unwrap()), Some(v4), "{ip}");
        }
        assert_eq!(embedded_ipv4("2606:4700::1111".parse().unwrap()), None);
    }

    #[test]
    fn label_boundary_matching_ignores_lookalike_names() {
        assert!(is_within("ngrok.io", "ngrok.io"));
        assert!(is_within("a.b.ngrok.io", "ngrok.io"));
        assert!(!is_within("notngrok.io", "ngrok.io"));
        assert!(!is_within("ngrok.io.com", "ngrok.io"));
    }

    #[test]
    fn a_host_is_reported_once_with_the_most_specific_code() {
        assert_eq!(
            domain_violation("localhost"),
            Some(ViolationCode::ReservedDomain)
        );
        assert_eq!(
            domain_violation("LOCALHOST.."),
            Some(ViolationCode::ReservedDomain)
        );
        assert_eq!(
            domain_violation(".com"),
            Some(ViolationCode::SingleLabelHost)
        );
        assert_eq!(
            domain_violation("10.0.0.1"),
            Some(ViolationCode::NonPublicAddress)
        );
        assert_eq!(domain_violation("shop.com."), None);
    }
}
