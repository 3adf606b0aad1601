//! The audit log's actions: one enum, its stable codes and the list the audit page filters by,
//! all written once.

use std::fmt;
use std::str::FromStr;

/// Declares the actions with their stored codes; `ALL` and `as_str` follow from the one list.
macro_rules! audit_actions {
    ($($(#[$meta:meta])* $variant:ident = $code:literal,)*) => {
        /// What an audit event records.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AuditAction {
            $($(#[$meta])* $variant,)*
        }

        impl AuditAction {
            /// Every action, in the order the audit page lists them.
            pub const ALL: &'static [AuditAction] = &[$(AuditAction::$variant,)*];

            /// The stable code stored in the log (and hashed into the chain).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(AuditAction::$variant => $code,)*
                }
            }
        }
    };
}

audit_actions! {
    SignIn = "sign_in",
    SignInFailed = "sign_in_failed",
    SignInLocked = "sign_in_locked",
    SignOut = "sign_out",
    SettingsChange = "settings_change",
    MerchantCreate = "merchant_create",
    UserCreate = "user_create",
    UserDisable = "user_disable",
    UserEnable = "user_enable",
    PasswordReset = "password_reset",
    PasswordChange = "password_change",
    PasswordChangeFailed = "password_change_failed",
    TestNotification = "test_notification",
    NotificationResend = "notification_resend",
    ApiKeyCreate = "api_key_create",
    ApiKeyRotate = "api_key_rotate",
    ApiKeyRotateFailed = "api_key_rotate_failed",
    ApiKeyReveal = "api_key_reveal",
    ApiKeyRevealFailed = "api_key_reveal_failed",
    AuditExport = "audit_export",
}

/// A code that names no action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("unknown audit action")]
pub struct UnknownAction;

impl FromStr for AuditAction {
    type Err = UnknownAction;

    fn from_str(s: &str) -> Result<Self, UnknownAction> {
        Self::ALL
            .iter()
            .copied()
            .find(|action| action.as_str() == s)
            .ok_or(UnknownAction)
    }
}

impl fmt::Display for AuditAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_round_trips_through_its_unique_code() {
        let mut codes: Vec<_> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(*action));
        }
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), AuditAction::ALL.len());
        assert_eq!("drop_table".parse::<AuditAction>(), Err(UnknownAction));
    }
}
