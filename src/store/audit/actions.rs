//! The audit log's actions: one enum, its stable codes and the list the audit page filters by
//! (in this order), all written once.

use crate::domain::text_enum;

text_enum! {
    /// What an audit event records.
    pub enum AuditAction {
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
        PasswordResetRequested = "password_reset_requested",
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
        TwoFactorEnabled = "two_factor_enabled",
        TwoFactorDisabled = "two_factor_disabled",
        RecoveryCodesRegenerated = "recovery_codes_regenerated",
        RecoveryCodeUsed = "recovery_code_used",
        TwoFactorReset = "two_factor_reset",
        TeamTwoFactorRule = "team_two_factor_rule",
        TwoFactorLocked = "two_factor_locked",
        MemberInvited = "member_invited",
        InvitationRevoked = "invitation_revoked",
        MemberJoined = "member_joined",
        MemberRoleChanged = "member_role_changed",
        MemberRemoved = "member_removed",
        FailureAlertsChanged = "failure_alerts_changed",
        NotificationsRecovered = "notifications_recovered",
        ApiKeyRotationScheduled = "api_key_rotation_scheduled",
        ApiKeyRotationCancelled = "api_key_rotation_cancelled",
        ApiKeyRotationTookOver = "api_key_rotation_took_over",
        NotificationsExported = "notifications_exported",
        TimeZoneChanged = "time_zone_changed",
    }
    /// A code that names no action.
    unknown: UnknownAction = "unknown audit action";
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
