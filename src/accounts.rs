//! Creating merchants and users: the rules shared by the command line and the admin pages.

use validator::ValidateEmail;

use crate::auth::{Role, password};
use crate::store::{Actor, Db};

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{}", crate::i18n::english("account.invalid_code"))]
    InvalidMerchantCode,
    #[error("{}", crate::i18n::english("account.invalid_name"))]
    InvalidMerchantName,
    #[error("{}", crate::i18n::english("account.duplicate_merchant"))]
    DuplicateMerchant,
    #[error("{}", crate::i18n::english("account.invalid_email"))]
    InvalidEmail,
    #[error("{}", crate::i18n::english("account.duplicate_email"))]
    DuplicateEmail,
    #[error("{}", crate::i18n::english("account.weak_password"))]
    WeakPassword,
    #[error("{}", crate::i18n::english("account.unknown_merchant"))]
    UnknownMerchant,
    #[error("{}", crate::i18n::english("account.admin_with_merchant"))]
    AdminWithMerchant,
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

impl AccountError {
    /// The form field the broken rule belongs to (`""` for failures of the system).
    pub fn field(&self) -> &'static str {
        match self {
            Self::InvalidMerchantCode | Self::DuplicateMerchant => "code",
            Self::InvalidMerchantName => "name",
            Self::InvalidEmail | Self::DuplicateEmail | Self::WeakPassword => "email",
            Self::UnknownMerchant | Self::AdminWithMerchant => "merchant",
            Self::Database(_) | Self::Unexpected(_) => "",
        }
    }

    /// The rule that was broken, in the current request's language (`None` for failures of
    /// the system rather than of the input).
    pub fn local_message(&self) -> Option<&'static str> {
        let key = match self {
            Self::InvalidMerchantCode => "account.invalid_code",
            Self::InvalidMerchantName => "account.invalid_name",
            Self::DuplicateMerchant => "account.duplicate_merchant",
            Self::InvalidEmail => "account.invalid_email",
            Self::DuplicateEmail => "account.duplicate_email",
            Self::WeakPassword => "account.weak_password",
            Self::UnknownMerchant => "account.unknown_merchant",
            Self::AdminWithMerchant => "account.admin_with_merchant",
            Self::Database(_) | Self::Unexpected(_) => return None,
        };
        Some(crate::i18n::t(key))
    }
}

/// A merchant code: 2 to 32 of `a-z 0-9 _ -`, starting with a letter or digit.
pub fn parse_merchant_code(code: &str) -> Result<String, AccountError> {
    let code = code.trim().to_lowercase();
    let valid = (2..=32).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_alphanumeric())
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    valid
        .then_some(code)
        .ok_or(AccountError::InvalidMerchantCode)
}

/// Checks a new password's length (in characters).
pub fn check_password(password: &str) -> Result<(), AccountError> {
    let length = password.chars().count();
    if (12..=1024).contains(&length) {
        Ok(())
    } else {
        Err(AccountError::WeakPassword)
    }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    error
        .as_database_error()
        .is_some_and(|e| e.is_unique_violation())
}

/// Creates a merchant (audited as done `by` that actor, when given); returns its id and
/// normalised code.
pub async fn create_merchant(
    db: &Db,
    code: &str,
    name: &str,
    by: Option<&Actor>,
) -> Result<(i64, String), AccountError> {
    let code = parse_merchant_code(code)?;
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(AccountError::InvalidMerchantName);
    }
    match db.create_merchant(&code, name, by).await {
        Ok(id) => Ok((id, code)),
        Err(e) if is_unique_violation(&e) => Err(AccountError::DuplicateMerchant),
        Err(e) => Err(e.into()),
    }
}

/// Creates a user after checking the email, the password and the role's merchant (audited as
/// done `by` that actor, when given); returns its id and normalised email.
pub async fn create_user(
    db: &Db,
    email: &str,
    role: Role,
    merchant_code: Option<&str>,
    password: String,
    by: Option<&Actor>,
) -> Result<(i64, String), AccountError> {
    let email = email.trim().to_lowercase();
    if email.len() > 254 || !email.validate_email() {
        return Err(AccountError::InvalidEmail);
    }
    check_password(&password)?;
    let merchant_id = match (role, merchant_code.filter(|c| !c.trim().is_empty())) {
        (Role::Merchant, Some(code)) => Some(
            db.find_merchant(&code.trim().to_lowercase())
                .await?
                .ok_or(AccountError::UnknownMerchant)?
                .id,
        ),
        (Role::Merchant, None) => return Err(AccountError::UnknownMerchant),
        (Role::Admin, Some(_)) => return Err(AccountError::AdminWithMerchant),
        (Role::Admin, None) => None,
    };
    let hash = password::hash(password).await?;
    // A password an admin hands out is a one-time password: its holder must replace it.
    let one_time = by.is_some();
    match db
        .create_user(&email, &hash, role.as_str(), merchant_id, one_time, by)
        .await
    {
        Ok(id) => Ok((id, email)),
        Err(e) if is_unique_violation(&e) => Err(AccountError::DuplicateEmail),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merchant_codes_are_normalised_or_refused() {
        assert_eq!(parse_merchant_code(" Toko-1 ").unwrap(), "toko-1");
        for bad in ["a", "-toko", "toko maju", "tōko", &"x".repeat(33)] {
            assert!(parse_merchant_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn passwords_need_twelve_characters() {
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars").is_ok());
    }
}
