//! Creating merchants and users: the rules shared by the command line and the admin pages.

use crate::domain::{EmailAddress, InvalidEmail, InvalidMerchantCode, MerchantCode, Role};
use crate::error::AppError;
use crate::password;
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

    /// The broken rule to show beside the form, or the error itself when the system failed.
    pub fn into_user_message(self) -> Result<String, AppError> {
        match self {
            Self::Database(e) => Err(e.into()),
            Self::Unexpected(e) => Err(e.into()),
            other => Ok(other.local_message().unwrap_or_default().to_owned()),
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

impl From<InvalidMerchantCode> for AccountError {
    fn from(_: InvalidMerchantCode) -> Self {
        Self::InvalidMerchantCode
    }
}

impl From<InvalidEmail> for AccountError {
    fn from(_: InvalidEmail) -> Self {
        Self::InvalidEmail
    }
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
        .is_some_and(sqlx::error::DatabaseError::is_unique_violation)
}

/// Creates a merchant (audited as done `by` that actor, when given); returns its id and
/// normalised code.
pub async fn create_merchant(
    db: &Db,
    code: &str,
    name: &str,
    by: Option<&Actor>,
) -> Result<(i64, MerchantCode), AccountError> {
    let code = MerchantCode::parse(code)?;
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
/// done `by` that actor, when given); returns its id and normalised email. A `one_time`
/// password (issued by an admin, or printed on first start) must be replaced at first sign-in.
pub async fn create_user(
    db: &Db,
    email: &str,
    role: Role,
    merchant_code: Option<&str>,
    password: String,
    one_time: bool,
    by: Option<&Actor>,
) -> Result<(i64, EmailAddress), AccountError> {
    let email = EmailAddress::parse(email)?;
    check_password(&password)?;
    let merchant_id = match (
        role.is_team(),
        merchant_code.filter(|c| !c.trim().is_empty()),
    ) {
        (true, Some(code)) => {
            let code = MerchantCode::parse(code).map_err(|_| AccountError::UnknownMerchant)?;
            let merchant = db.find_merchant(&code).await?;
            Some(merchant.ok_or(AccountError::UnknownMerchant)?.id)
        }
        (true, None) => return Err(AccountError::UnknownMerchant),
        (false, Some(_)) => return Err(AccountError::AdminWithMerchant),
        (false, None) => None,
    };
    let hash = password::hash(password).await?;
    match db
        .create_user(&email, &hash, role, merchant_id, one_time, by)
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
    fn passwords_need_twelve_characters() {
        assert!(check_password("short").is_err());
        assert!(check_password("twelve chars").is_ok());
    }
}
