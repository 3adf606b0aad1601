//! Validated values that cross the store boundary: each is built only by `parse` (or read back
//! from the database, which holds nothing else), so code that receives one need not check it.

use std::fmt;

use validator::ValidateEmail;

mod delivery_error;
mod email;
mod return_path;
mod text_enum;
mod time_zone;

pub use delivery_error::DeliveryError;
pub use email::{EmailKind, EmailStatus, SendOutcome};
pub use return_path::ReturnPath;
pub(crate) use text_enum::text_enum;
pub use time_zone::TimeZone;

text_enum! {
    /// What a user may do: a merchant's team (owner, developer, viewer) or the gateway's staff
    /// (admin, auditor).
    pub enum Role {
        /// Everything a developer may, plus the team.
        Owner = "owner",
        /// Notification settings, test notifications, API keys, resends.
        Developer = "developer",
        /// Reads its merchant's pages; never a secret, never a change.
        Viewer = "viewer",
        /// Merchants, users, the audit log; every merchant's settings read-only.
        Admin = "admin",
        /// What an admin may read; no change.
        Auditor = "auditor",
    }
    /// A code that names no role.
    unknown: UnknownRole = "unknown role";
}

impl Role {
    /// The roles a merchant's team member may hold, in the order forms offer them.
    pub const TEAM: [Role; 3] = [Role::Owner, Role::Developer, Role::Viewer];

    /// A member of a merchant's team (as opposed to the gateway's staff).
    pub fn is_team(self) -> bool {
        matches!(self, Role::Owner | Role::Developer | Role::Viewer)
    }

    /// A role as a form or the command line names it: `merchant`, the one role merchants had
    /// before teams, still means `owner`.
    pub fn named(text: &str) -> Result<Role, UnknownRole> {
        match text {
            "merchant" => Ok(Role::Owner),
            other => other.parse(),
        }
    }

    /// The gateway's staff: admins and auditors.
    pub fn is_staff(self) -> bool {
        !self.is_team()
    }

    /// May change its merchant's notification settings, keys and notifications.
    pub fn may_change_settings(self) -> bool {
        matches!(self, Role::Owner | Role::Developer)
    }

    /// The `role.*` message naming this role.
    pub fn label_key(self) -> &'static str {
        match self {
            Role::Owner => "role.owner",
            Role::Developer => "role.developer",
            Role::Viewer => "role.viewer",
            Role::Admin => "role.admin",
            Role::Auditor => "role.auditor",
        }
    }
}

text_enum! {
    /// Which environment a notification URL, a secret key or a notification is for.
    pub enum Environment {
        /// Test payments; plain `http` is accepted with a warning.
        Sandbox = "sandbox",
        /// Real payments; `https` only.
        Production = "production",
    }
    /// A code that is neither `sandbox` nor `production`.
    unknown: UnknownEnvironment = "the environment must be sandbox or production";
}

text_enum! {
    /// Where a notification stands.
    pub enum DeliveryStatus {
        /// Queued, not attempted yet.
        Pending = "pending",
        /// Failed so far; tried again on the retry schedule.
        Retrying = "retrying",
        /// A receiver answered 2xx.
        Delivered = "delivered",
        /// No attempt is left.
        Failed = "failed",
    }
    /// A code that names no delivery status.
    unknown: UnknownDeliveryStatus = "unknown delivery status";
}

text_enum! {
    /// Why a notification was sent.
    pub enum DeliveryKind {
        /// A payment changed state.
        Payment = "payment",
        /// A merchant asked for a test notification.
        Test = "test",
    }
    /// A code that names no delivery kind.
    unknown: UnknownDeliveryKind = "unknown delivery kind";
}

text_enum! {
    /// How one attempt to deliver a notification ended.
    pub enum Outcome {
        /// A 2xx answer.
        Delivered = "delivered",
        /// Any other answer (3xx included), or no connection.
        Failed = "failed",
        /// No complete answer within the time limit.
        TimedOut = "timeout",
        /// Not sent: the URL failed the policy when re-checked.
        Refused = "refused",
    }
    /// A code that names no attempt outcome.
    unknown: UnknownOutcome = "unknown attempt outcome";
}

text_enum! {
    /// Where a sandbox payment stands.
    pub enum PaymentStatus {
        Pending = "PENDING",
        Success = "SUCCESS",
        Failed = "FAILED",
        Expired = "EXPIRED",
    }
    /// A code that names no payment status.
    unknown: UnknownPaymentStatus = "unknown payment status";
}

impl PaymentStatus {
    /// Whether a payment in it is over: a simulate call moves a pending payment to one of these.
    pub fn is_final(self) -> bool {
        self != Self::Pending
    }
}

impl DeliveryStatus {
    /// The status a single attempt leaves when nothing follows it (a test notification).
    pub fn after_only_attempt(outcome: Outcome) -> Self {
        if outcome == Outcome::Delivered {
            Self::Delivered
        } else {
            Self::Failed
        }
    }
}

/// A merchant's code: 2 to 32 of `a-z 0-9 _ -`, starting with a letter or digit, stored in
/// lower case (codes typed in capitals match).
#[derive(Debug, Clone, PartialEq, Eq, Hash, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct MerchantCode(String);

/// A merchant code that breaks the rule above.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid merchant code")]
pub struct InvalidMerchantCode;

impl MerchantCode {
    pub fn parse(input: &str) -> Result<Self, InvalidMerchantCode> {
        let code = input.trim().to_lowercase();
        let valid = (2..=32).contains(&code.len())
            && code.starts_with(|c: char| c.is_ascii_alphanumeric())
            && code
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
        valid.then_some(Self(code)).ok_or(InvalidMerchantCode)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for MerchantCode {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MerchantCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's email address: trimmed, lower case, at most 254 characters, of valid form.
#[derive(Clone, PartialEq, Eq, Hash, sqlx::Type, serde::Serialize, serde::Deserialize)]
#[sqlx(transparent)]
#[serde(transparent)]
pub struct EmailAddress(String);

/// Text that is not an email address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("invalid email address")]
pub struct InvalidEmail;

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, InvalidEmail> {
        let email = input.trim().to_lowercase();
        (email.len() <= 254 && email.validate_email())
            .then_some(Self(email))
            .ok_or(InvalidEmail)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}

/// A day in milliseconds, the unit of stored times.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// Midnight UTC of a `YYYY-MM-DD` date, in ms (the date filters of the logs).
pub fn day_start_ms(date: &str) -> Option<i64> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let date = time::Date::parse(date, format).ok()?;
    let seconds = date.midnight().assume_utc().unix_timestamp();
    seconds.checked_mul(1000)
}

/// The UTC date (`YYYY-MM-DD`) of a time in ms: the inverse of [`day_start_ms`].
pub fn day_of(ms: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000))
        .ok()
        .and_then(|at| at.date().format(format).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_codes_are_normalised_or_refused() {
        assert_eq!(MerchantCode::parse(" Toko-1 ").unwrap().as_str(), "toko-1");
        for bad in ["a", "-toko", "toko maju", "tōko", &"x".repeat(33)] {
            assert!(MerchantCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn emails_are_trimmed_lower_cased_and_checked() {
        assert_eq!(
            EmailAddress::parse(" Ana@Toko.CO.id ").unwrap().as_str(),
            "ana@toko.co.id"
        );
        for bad in ["", "ana", "ana@", &format!("{}@x.co", "a".repeat(250))] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stored_codes_round_trip_and_unknown_ones_are_refused() {
        fn round_trip<T>(all: &[T], unknown: &str)
        where
            T: Copy + PartialEq + fmt::Debug + fmt::Display + std::str::FromStr,
        {
            let mut codes: Vec<String> = all.iter().map(ToString::to_string).collect();
            for value in all {
                assert!(value.to_string().parse::<T>().is_ok_and(|v| v == *value));
            }
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), all.len(), "codes are unique");
            assert!(unknown.parse::<T>().is_err(), "{unknown}");
        }
        round_trip(Role::ALL, "root");
        round_trip(Environment::ALL, "Production");
        round_trip(DeliveryStatus::ALL, "DELIVERED");
        round_trip(DeliveryKind::ALL, "resend");
        round_trip(Outcome::ALL, "timed_out");
        round_trip(PaymentStatus::ALL, "success");
        assert_eq!(serde_json::to_string(&Role::Admin).unwrap(), "\"admin\"");
        assert_eq!(
            serde_json::from_str::<Environment>("\"sandbox\"").unwrap(),
            Environment::Sandbox
        );
        assert!(serde_json::from_str::<Environment>("\"Sandbox\"").is_err());
        round_trip(EmailKind::ALL, "newsletter");
        round_trip(EmailStatus::ALL, "queued");
        round_trip(SendOutcome::ALL, "bounced");
    }
}
