//! The stored codes of the email outbox.

use super::text_enum;

text_enum! {
    /// What an email is about: which template writes it.
    pub enum EmailKind {
        /// A link to choose a new password.
        PasswordReset = "password_reset",
        /// Notice that the account's password was changed.
        PasswordChanged = "password_changed",
        /// Notice of a change to how the account signs in (two-factor, recovery codes).
        SecurityNotice = "security_notice",
        /// An invitation to join a merchant's team (carries a link).
        Invitation = "invitation",
        /// Notice that the recipient's role in a team changed, or that they were removed.
        TeamNotice = "team_notice",
        /// A channel's notifications began failing.
        FailureAlert = "failure_alert",
        /// A channel whose team was alerted delivers again.
        FailureRecovered = "failure_recovered",
        /// A scheduled rotation of a secret key: scheduled, cancelled or taken over.
        KeyRotation = "key_rotation",
    }
    /// A code that names no email kind.
    unknown: UnknownEmailKind = "unknown email kind";
}

text_enum! {
    /// Where an email stands.
    pub enum EmailStatus {
        /// Waiting for its first or next try.
        Pending = "pending",
        /// The relay took it.
        Sent = "sent",
        /// Given up after trying for a day.
        Failed = "failed",
    }
    /// A code that names no email status.
    unknown: UnknownEmailStatus = "unknown email status";
}

text_enum! {
    /// How one try to hand an email to the relay ended.
    pub enum SendOutcome {
        Sent = "sent",
        Failed = "failed",
    }
    /// A code that names no send outcome.
    unknown: UnknownSendOutcome = "unknown send outcome";
}
