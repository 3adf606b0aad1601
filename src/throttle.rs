//! Guessing passwords costs, and nobody can turn that against a real user. Failures (and other
//! attempts that cost, such as asking for a reset link) are counted over a sliding window per
//! (account, client IP), per client IP and per account, against [`Limits`]. For sign-in:
//!
//! - [`ACCOUNT_IP_LIMIT`] failures for one account from one address refuse that address for
//!   that account; [`IP_LIMIT`] failures from one address, over any accounts, refuse it;
//! - more than [`ACCOUNT_SLOW_ABOVE`] failures for one account from anywhere only slow its
//!   attempts down ([`SLOW_DELAY`]), so the right password from elsewhere still gets in.
//!
//! The account is any string key: `user@shop.co.id` for sign-in, `session:…` for password
//! re-checks inside a session (counted without an address, so they never block a sign-in),
//! `api:<client_id>` for the API's Basic authentication, `reset:<address>` for reset links.
//! The counters live in the database, or in Redis when `REDIS_URL` is set, so every instance
//! sees the same ones.

use std::net::IpAddr;
use std::time::Duration;

use redis::aio::ConnectionManager;

use crate::store::{Db, FailureCounts, now_ms};

/// How far back failures count.
pub const WINDOW: Duration = Duration::from_secs(15 * 60);
/// Failures for one account from one address that refuse that address for that account.
pub const ACCOUNT_IP_LIMIT: i64 = 10;
/// Failures from one address, over every account, that refuse that address.
pub const IP_LIMIT: i64 = 50;
/// Above this many failures for one account, from any addresses, each attempt is slowed.
pub const ACCOUNT_SLOW_ABOVE: i64 = 100;
/// How long a slowed attempt waits before it is answered.
pub const SLOW_DELAY: Duration = Duration::from_secs(1);

/// How many counted attempts one window allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Whose counters these are: attempts of one purpose never count against another's, and a
    /// scope's keys cannot be typed at sign-in (which counts addresses as typed, lower-cased).
    pub scope: &'static str,
    /// For one account from one address; at this many, that address is refused for it.
    pub account_ip: i64,
    /// From one address over every account; at this many, the address is refused.
    pub ip: i64,
    /// For one account from anywhere.
    pub account: AccountLimit,
}

/// What many attempts at one account, from anywhere, lead to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountLimit {
    /// Above this many, attempts are slowed, never refused: a stranger cannot lock the owner
    /// out.
    SlowAbove(i64),
    /// At this many, attempts are refused.
    RefuseAt(i64),
}

/// Passwords at sign-in, re-checked in a session, and the API's Basic authentication.
pub const SIGN_IN: Limits = Limits {
    scope: "",
    account_ip: ACCOUNT_IP_LIMIT,
    ip: IP_LIMIT,
    account: AccountLimit::SlowAbove(ACCOUNT_SLOW_ABOVE),
};

/// Two-factor codes (at sign-in and before a change), counted per account whatever their
/// outcome, a right one taking its address's count back. Unlike passwords, the account is
/// refused from everywhere at the limit: only someone who knows the password can type a code,
/// so a stranger still cannot lock the owner out, and a six-digit code must not be guessed
/// from many addresses at once.
pub const SECOND_FACTOR: Limits = Limits {
    scope: "Code",
    account_ip: ACCOUNT_IP_LIMIT,
    ip: IP_LIMIT,
    account: AccountLimit::RefuseAt(CODES_PER_ACCOUNT),
};
/// Codes for one account, from anywhere, that refuse more for the rest of the window.
pub const CODES_PER_ACCOUNT: i64 = 10;

/// Asking for a password-reset link: a few an address (each sends an email), a few more from
/// one client address.
pub const RESET_REQUESTS: Limits = Limits {
    scope: "Reset",
    account_ip: 5,
    ip: 20,
    account: AccountLimit::RefuseAt(5),
};

/// Invitations to one address from one team: like reset links, each sends an email.
pub const INVITATIONS: Limits = Limits {
    scope: "Invite",
    account_ip: 5,
    ip: 50,
    account: AccountLimit::RefuseAt(5),
};

/// What an attempt may do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Allowed once the caller waited this long.
    Slowed(Duration),
    /// Refused without checking the password (answer 429, `Retry-After` [`WINDOW`]).
    Refused,
}

/// The failure counters, in the database or in Redis.
#[derive(Clone)]
pub struct Throttle {
    counters: Counters,
}

#[derive(Clone)]
enum Counters {
    Database(Db),
    Redis {
        conn: ConnectionManager,
        prefix: String,
    },
}

fn window_ms() -> i64 {
    i64::try_from(WINDOW.as_millis()).unwrap_or(i64::MAX)
}

/// The address as counted: IPv4 as is (also when mapped into IPv6), IPv6 by its /64, which one
/// client holds whole; `""` without an address.
fn address_key(ip: Option<IpAddr>) -> String {
    match ip.map(|ip| ip.to_canonical()) {
        None => String::new(),
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

fn judge(limits: &Limits, counts: FailureCounts) -> Verdict {
    if counts.account_ip >= limits.account_ip || counts.ip >= limits.ip {
        return Verdict::Refused;
    }
    match limits.account {
        AccountLimit::RefuseAt(at) if counts.account >= at => Verdict::Refused,
        AccountLimit::SlowAbove(above) if counts.account > above => Verdict::Slowed(SLOW_DELAY),
        _ => Verdict::Allowed,
    }
}

impl Limits {
    /// How far each count needs to go to reach its verdict: no scan runs longer.
    fn caps(&self) -> [i64; 3] {
        let account = match self.account {
            AccountLimit::SlowAbove(above) => above + 1,
            AccountLimit::RefuseAt(at) => at,
        };
        [self.account_ip, self.ip, account]
    }

    /// The keys `account` and `ip` are counted under within this scope (an attempt without an
    /// address is counted for its account only, whatever the scope).
    fn keys(&self, account: &str, ip: Option<IpAddr>) -> (String, String) {
        let ip = address_key(ip);
        if self.scope.is_empty() {
            return (account.to_owned(), ip);
        }
        let scoped_ip = if ip.is_empty() {
            ip
        } else {
            format!("{} {ip}", self.scope)
        };
        (format!("{} {account}", self.scope), scoped_ip)
    }
}

/// The account key of password re-checks inside one session of one user.
pub fn session_account(user_id: i64, session_id: &str) -> String {
    format!("session:{user_id}:{session_id}")
}

impl Throttle {
    /// Counters in the application database.
    pub fn database(db: Db) -> Self {
        Self {
            counters: Counters::Database(db),
        }
    }

    /// Counters in Redis, under `prefix` (shared by every instance of one site).
    pub fn redis(conn: ConnectionManager, prefix: &str) -> Self {
        Self {
            counters: Counters::Redis {
                conn,
                prefix: format!("{prefix}:throttle"),
            },
        }
    }

    /// Whether a password attempt for `account` from `ip` may go ahead ([`SIGN_IN`] limits).
    pub async fn check(&self, account: &str, ip: Option<IpAddr>) -> anyhow::Result<Verdict> {
        let (account, ip) = SIGN_IN.keys(account, ip);
        let counts = self.counts(&account, &ip, SIGN_IN.caps()).await?;
        Ok(judge(&SIGN_IN, counts))
    }

    /// Counts an attempt of `account` from `ip` first, then judges it with every attempt
    /// counted before it: attempts made at the same moment cannot all pass a check that none
    /// of them was counted in yet.
    pub async fn admit(
        &self,
        limits: &Limits,
        account: &str,
        ip: Option<IpAddr>,
    ) -> anyhow::Result<Verdict> {
        let (account, ip) = limits.keys(account, ip);
        self.record(&account, &ip).await?;
        let caps = limits.caps().map(|cap| cap + 1);
        let with_this = self.counts(&account, &ip, caps).await?;
        let before = FailureCounts {
            account_ip: with_this.account_ip - 1,
            ip: (with_this.ip - 1).max(0),
            account: with_this.account - 1,
        };
        Ok(judge(limits, before))
    }

    /// The counts of one window, each stopped at its cap.
    async fn counts(
        &self,
        account: &str,
        ip: &str,
        caps: [i64; 3],
    ) -> anyhow::Result<FailureCounts> {
        let since = now_ms() - window_ms();
        Ok(match &self.counters {
            Counters::Database(db) => db.auth_failure_counts(account, ip, since, caps).await?,
            Counters::Redis { conn, prefix } => {
                let keys = RedisKeys::new(prefix, account, ip);
                let min = format!("({since}");
                let (account_ip, by_ip, by_account): (i64, i64, i64) = redis::pipe()
                    .zcount(&keys.pair, &min, "+inf")
                    .zcount(&keys.ip, &min, "+inf")
                    .zcount(&keys.account, &min, "+inf")
                    .query_async(&mut conn.clone())
                    .await?;
                FailureCounts {
                    account_ip,
                    ip: by_ip,
                    account: by_account,
                }
            }
        })
    }

    /// Counts a wrong password for `account` from `ip`.
    pub async fn record_failure(&self, account: &str, ip: Option<IpAddr>) -> anyhow::Result<()> {
        let (account, ip) = SIGN_IN.keys(account, ip);
        self.record(&account, &ip).await
    }

    async fn record(&self, account: &str, ip: &str) -> anyhow::Result<()> {
        let now = now_ms();
        match &self.counters {
            Counters::Database(db) => db.record_auth_failure(account, ip, now).await?,
            Counters::Redis { conn, prefix } => {
                let keys = RedisKeys::new(prefix, account, ip);
                // One member in all three sets, so `clear` can take it out of each.
                let member = crate::random::random_token();
                let stale = format!("({}", now - window_ms());
                let mut pipe = redis::pipe();
                pipe.atomic();
                let sets = [&keys.pair, &keys.account];
                let sets = sets.into_iter().chain((!ip.is_empty()).then_some(&keys.ip));
                for key in sets {
                    pipe.zadd(key, &member, now)
                        .ignore()
                        .zrembyscore(key, "-inf", &stale)
                        .ignore()
                        .pexpire(key, window_ms())
                        .ignore();
                }
                pipe.query_async::<()>(&mut conn.clone()).await?;
            }
        }
        Ok(())
    }

    /// Forgets the failures of `account` from `ip`: its owner just got in from there.
    pub async fn clear(&self, account: &str, ip: Option<IpAddr>) -> anyhow::Result<()> {
        self.clear_within(&SIGN_IN, account, ip).await
    }

    /// Forgets the failed attempts of `account` from `ip` counted against `limits`.
    pub async fn clear_within(
        &self,
        limits: &Limits,
        account: &str,
        ip: Option<IpAddr>,
    ) -> anyhow::Result<()> {
        let (account, ip) = limits.keys(account, ip);
        let account = account.as_str();
        match &self.counters {
            Counters::Database(db) => db.clear_auth_failures(account, &ip).await?,
            Counters::Redis { conn, prefix } => {
                let keys = RedisKeys::new(prefix, account, &ip);
                let mut conn = conn.clone();
                let members: Vec<String> = redis::cmd("ZRANGE")
                    .arg(&keys.pair)
                    .arg(0)
                    .arg(-1)
                    .query_async(&mut conn)
                    .await?;
                if !members.is_empty() {
                    redis::pipe()
                        .atomic()
                        .zrem(&keys.ip, &members)
                        .ignore()
                        .zrem(&keys.account, &members)
                        .ignore()
                        .del(&keys.pair)
                        .ignore()
                        .query_async::<()>(&mut conn)
                        .await?;
                }
            }
        }
        Ok(())
    }

    /// True for the first refusal of `account` from `ip` within `limits` in a window: only
    /// that one is audited (or told), so a locked-out attacker cannot flood the audit log.
    pub async fn first_refusal(
        &self,
        limits: &Limits,
        account: &str,
        ip: Option<IpAddr>,
    ) -> anyhow::Result<bool> {
        let (account, ip) = limits.keys(account, ip);
        let account = account.as_str();
        let now = now_ms();
        Ok(match &self.counters {
            Counters::Database(db) => {
                db.note_auth_refusal(account, &ip, now, now + window_ms())
                    .await?
            }
            Counters::Redis { conn, prefix } => {
                let key = format!("{prefix}:refused:{ip}|{account}");
                let set: Option<String> = redis::cmd("SET")
                    .arg(&key)
                    .arg(now)
                    .arg("NX")
                    .arg("PX")
                    .arg(window_ms())
                    .query_async(&mut conn.clone())
                    .await?;
                set.is_some()
            }
        })
    }
}

/// The sorted sets (failure times) of one attempt. An address holds no `|`, so
/// `address|account` names one pair whatever the account contains.
struct RedisKeys {
    pair: String,
    ip: String,
    account: String,
}

impl RedisKeys {
    fn new(prefix: &str, account: &str, ip: &str) -> Self {
        Self {
            pair: format!("{prefix}:pair:{ip}|{account}"),
            ip: format!("{prefix}:ip:{ip}"),
            account: format!("{prefix}:account:{account}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_count_by_their_64_and_mapped_ipv4_as_ipv4() {
        let key = |s: &str| address_key(Some(s.parse().unwrap()));
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_eq!(address_key(None), "");
    }

    #[test]
    fn limits_refuse_a_pair_or_an_address_and_only_slow_an_account() {
        let counts = |account_ip, ip, account| FailureCounts {
            account_ip,
            ip,
            account,
        };
        assert_eq!(judge(&SIGN_IN, counts(9, 49, 100)), Verdict::Allowed);
        assert_eq!(judge(&SIGN_IN, counts(10, 10, 10)), Verdict::Refused);
        assert_eq!(judge(&SIGN_IN, counts(0, 50, 50)), Verdict::Refused);
        assert_eq!(
            judge(&SIGN_IN, counts(0, 0, 101)),
            Verdict::Slowed(SLOW_DELAY)
        );
        assert_eq!(judge(&RESET_REQUESTS, counts(0, 0, 4)), Verdict::Allowed);
        assert_eq!(judge(&RESET_REQUESTS, counts(0, 0, 5)), Verdict::Refused);
        assert_eq!(judge(&RESET_REQUESTS, counts(0, 20, 0)), Verdict::Refused);
        assert_eq!(judge(&SECOND_FACTOR, counts(0, 0, 9)), Verdict::Allowed);
        assert_eq!(judge(&SECOND_FACTOR, counts(0, 0, 10)), Verdict::Refused);
    }
}
