//! Validated values that cross the store boundary: each is built only by `parse` (or read back
//! from the database, which holds nothing else), so code that receives one need not check it.

use std::fmt;
use std::str::FromStr;

use validator::ValidateEmail;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Merchant,
    Admin,
}

impl Role {
    /// The stable code stored in the database and the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Merchant => "merchant",
            Self::Admin => "admin",
        }
    }
}

/// A role code that is neither `merchant` nor `admin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown role")]
pub struct UnknownRole;

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, UnknownRole> {
        match s {
            "merchant" => Ok(Self::Merchant),
            "admin" => Ok(Self::Admin),
            _ => Err(UnknownRole),
        }
    }
}

impl TryFrom<String> for Role {
    type Error = UnknownRole;

    fn try_from(s: String) -> Result<Self, UnknownRole> {
        s.parse()
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
    fn roles_round_trip_through_their_codes() {
        for role in [Role::Merchant, Role::Admin] {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert_eq!("root".parse::<Role>(), Err(UnknownRole));
    }
}
