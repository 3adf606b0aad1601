//! `PAYHOOK_METRICS_ALLOW`: the addresses (single IPs or CIDR ranges) that may read `/metrics`.

use std::fmt;
use std::net::IpAddr;

/// Loopback only, IPv4 and IPv6.
pub const DEFAULT_METRICS_ALLOW: &str = "127.0.0.1/8,::1";

/// One IP address or CIDR range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressRange {
    network: IpAddr,
    prefix: u8,
}

impl AddressRange {
    /// Parses `10.0.0.0/8`, `::1` or `2001:db8::/32`; host bits below the prefix are ignored.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network: IpAddr = address
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR range"))?;
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= bits)
                .ok_or_else(|| format!("{text:?}: the prefix must be 0 to {bits}"))?,
        };
        Ok(Self { network, prefix })
    }

    /// Whether `ip` lies in the range; an IPv4 address mapped into IPv6 counts as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

impl fmt::Display for AddressRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// The first `prefix` bits of `a` and `b` agree.
fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let (whole, rest) = (usize::from(prefix / 8), prefix % 8);
    if a[..whole] != b[..whole] {
        return false;
    }
    rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0
}

/// A comma-separated list, at least one entry.
pub fn parse_allow_list(text: &str) -> Result<Vec<AddressRange>, String> {
    let ranges = text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(AddressRange::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if ranges.is_empty() {
        return Err("name at least one address or range".into());
    }
    Ok(ranges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(list: &str, ip: &str) -> bool {
        let ip: IpAddr = ip.parse().unwrap();
        parse_allow_list(list)
            .unwrap()
            .iter()
            .any(|r| r.contains(ip))
    }

    #[test]
    fn loopback_is_allowed_by_default_and_nothing_else() {
        assert!(allows(DEFAULT_METRICS_ALLOW, "127.0.0.1"));
        assert!(allows(DEFAULT_METRICS_ALLOW, "127.9.8.7"));
        assert!(allows(DEFAULT_METRICS_ALLOW, "::1"));
        assert!(allows(DEFAULT_METRICS_ALLOW, "::ffff:127.0.0.1"));
        assert!(!allows(DEFAULT_METRICS_ALLOW, "128.0.0.1"));
        assert!(!allows(DEFAULT_METRICS_ALLOW, "10.0.0.1"));
        assert!(!allows(DEFAULT_METRICS_ALLOW, "::2"));
    }

    #[test]
    fn ranges_match_by_their_prefix() {
        assert!(allows("10.1.0.0/20", "10.1.15.255"));
        assert!(!allows("10.1.0.0/20", "10.1.16.0"));
        assert!(allows("2001:db8::/32", "2001:db8:ffff::1"));
        assert!(!allows("2001:db8::/32", "2001:db9::1"));
        assert!(allows("0.0.0.0/0", "203.0.113.9"));
        assert!(allows("192.0.2.7", "192.0.2.7") && !allows("192.0.2.7", "192.0.2.8"));
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            " , ",
            "localhost",
            "10.0.0.0/33",
            "::/129",
            "10.0.0.0/x",
        ] {
            assert!(parse_allow_list(bad).is_err(), "{bad:?}");
        }
    }
}
