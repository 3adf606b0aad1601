//! How an audit event reads: one sentence per action, in the reader's language, with the
//! event's values set apart. Every page that lists events tells them through [`Sentence::of`]
//! (in templates, `layout.event`).

use std::fmt;

use crate::domain::Role;
use crate::i18n::{Lang, format_time};
use crate::store::{AuditAction, ChainedEvent};

/// An event told in words: text, and the event's own values (URLs, emails, ids) between it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sentence {
    pub parts: Vec<Part>,
}

/// A piece of a sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    pub text: String,
    /// A value the event recorded, shown as data rather than as words.
    pub value: bool,
}

fn word(text: &str) -> Part {
    Part {
        text: text.to_owned(),
        value: false,
    }
}

fn value(text: &str) -> Part {
    Part {
        text: text.to_owned(),
        value: true,
    }
}

impl Sentence {
    /// `event` as a sentence in `lang`, its actor the unnamed subject ("Revealed the production
    /// secret key"). An action or a shape of values this release does not know reads as the
    /// action's name followed by the values.
    pub fn of(event: &ChainedEvent, lang: Lang) -> Self {
        match told(event, lang) {
            Some((key, values)) => Self::fill(lang.t(key), values),
            None => Self::plainly(event, lang),
        }
    }

    /// `text` with each `{}` replaced by the next of `values`.
    fn fill(text: &str, values: Vec<Part>) -> Self {
        let mut values = values.into_iter();
        let mut parts = Vec::new();
        for (n, piece) in text.split("{}").enumerate() {
            if n > 0
                && let Some(value) = values.next()
            {
                parts.push(value);
            }
            if !piece.is_empty() {
                parts.push(word(piece));
            }
        }
        Self { parts }
    }

    /// The action's name, then the field's and whatever values the event holds.
    fn plainly(event: &ChainedEvent, lang: Lang) -> Self {
        let named = |kind: &str, code: &str| {
            let text = lang.lookup(&format!("{kind}.{code}"));
            text.unwrap_or(code).to_owned()
        };
        let mut parts = vec![word(&named("action", &event.action))];
        if let Some(field) = &event.field {
            parts.push(word(&format!(" ({})", named("field", field))));
        }
        let values = [&event.old_value, &event.new_value];
        for (n, shown) in values.into_iter().flatten().enumerate() {
            parts.push(word(if n == 0 { ": " } else { " → " }));
            parts.push(value(shown));
        }
        Self { parts }
    }
}

impl fmt::Display for Sentence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.parts
            .iter()
            .try_for_each(|part| f.write_str(&part.text))
    }
}

/// The sentence's key and the values it takes, when the event has what the action records.
fn told(event: &ChainedEvent, lang: Lang) -> Option<(&'static str, Vec<Part>)> {
    use AuditAction as A;
    let action: AuditAction = event.action.parse().ok()?;
    let old = event.old_value.as_deref();
    let new = event.new_value.as_deref();
    let environment = || environment(event.field.as_deref()?, lang);
    Some(match action {
        A::SignIn => ("event.sign_in", vec![]),
        A::SignInFailed if event.field.as_deref() == Some("code") => {
            ("event.sign_in_wrong_code", vec![])
        }
        A::SignInFailed => ("event.sign_in_failed", vec![]),
        A::SignInLocked => ("event.sign_in_locked", vec![]),
        A::SignOut => ("event.sign_out", vec![]),
        A::SettingsChange => match (old, new) {
            (Some(old), Some(new)) => (
                "event.url_changed",
                vec![environment()?, value(old), value(new)],
            ),
            (None, Some(new)) => ("event.url_set", vec![environment()?, value(new)]),
            (Some(old), None) => ("event.url_removed", vec![environment()?, value(old)]),
            (None, None) => return None,
        },
        A::MerchantCreate => ("event.merchant_create", vec![value(new?)]),
        A::UserCreate => {
            let role = event.field.as_deref()?;
            let role = Role::named(role)
                .map_or_else(|_| value(role), |role| word(lang.t(role.label_key())));
            ("event.user_create", vec![value(new?), role])
        }
        A::UserDisable => ("event.user_disable", vec![value(new?)]),
        A::UserEnable => ("event.user_enable", vec![value(new?)]),
        A::PasswordReset => ("event.password_reset", vec![value(new?)]),
        A::PasswordResetRequested => ("event.password_reset_requested", vec![value(new?)]),
        A::PasswordChange => ("event.password_change", vec![]),
        A::PasswordChangeFailed => ("event.password_change_failed", vec![]),
        A::TestNotification => (
            "event.test_notification",
            vec![environment()?, value(old?), value(new?)],
        ),
        A::NotificationResend => ("event.notification_resend", vec![value(old?), value(new?)]),
        A::ApiKeyCreate => ("event.api_key_create", vec![environment()?, value(new?)]),
        A::ApiKeyRotate => ("event.api_key_rotate", vec![environment()?]),
        A::ApiKeyRotateFailed => ("event.api_key_rotate_failed", vec![environment()?]),
        A::ApiKeyReveal => ("event.api_key_reveal", vec![environment()?]),
        A::ApiKeyRevealFailed => ("event.api_key_reveal_failed", vec![environment()?]),
        A::AuditExport => match new? {
            "all" => ("event.audit_export_all", vec![]),
            filters => ("event.audit_export", vec![value(filters)]),
        },
        A::TwoFactorEnabled => ("event.two_factor_enabled", vec![]),
        A::TwoFactorDisabled => ("event.two_factor_disabled", vec![]),
        A::RecoveryCodesRegenerated => ("event.recovery_codes_regenerated", vec![]),
        A::RecoveryCodeUsed => ("event.recovery_code_used", vec![]),
        A::TwoFactorReset => ("event.two_factor_reset", vec![value(new?)]),
        A::TeamTwoFactorRule => match new? {
            "required" => ("event.team_two_factor_required", vec![]),
            "optional" => ("event.team_two_factor_optional", vec![]),
            _ => return None,
        },
        A::TwoFactorLocked => ("event.two_factor_locked", vec![]),
        A::MemberInvited => ("event.member_invited", vec![value(new?)]),
        A::InvitationRevoked => ("event.invitation_revoked", vec![value(old?)]),
        A::MemberJoined => ("event.member_joined", vec![value(new?)]),
        A::MemberRoleChanged => ("event.member_role_changed", vec![value(old?), value(new?)]),
        A::MemberRemoved => ("event.member_removed", vec![value(old?)]),
        A::FailureAlertsChanged => match new? {
            "on" => ("event.failure_alerts_on", vec![]),
            "off" => ("event.failure_alerts_off", vec![]),
            _ => return None,
        },
        A::NotificationsRecovered => (
            "event.notifications_recovered",
            vec![value(new?), value(old?)],
        ),
        A::NotificationsExported => ("event.notifications_exported", vec![value(new?)]),
        A::TimeZoneChanged => ("event.time_zone_changed", vec![value(old?), value(new?)]),
        A::ApiKeyRotationScheduled => (
            "event.api_key_rotation_scheduled",
            vec![environment()?, time(new?)],
        ),
        A::ApiKeyRotationCancelled => ("event.api_key_rotation_cancelled", vec![environment()?]),
        A::ApiKeyRotationTookOver => (
            "event.api_key_rotation_took_over",
            vec![environment()?, time(new?)],
        ),
    })
}

/// The environment a stored field belongs to (`sandbox_url`, `production_secret_key`), as a word.
fn environment(field: &str, lang: Lang) -> Option<Part> {
    let key = if field.starts_with("sandbox_") {
        "common.sandbox_lower"
    } else if field.starts_with("production_") {
        "common.production_lower"
    } else {
        return None;
    };
    Some(word(lang.t(key)))
}

/// A stored time (ms) as the pages show times; anything else as it is.
fn time(stored: &str) -> Part {
    stored
        .parse::<i64>()
        .map_or_else(|_| value(stored), |ms| value(&format_time(&ms)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(
        action: &str,
        field: Option<&str>,
        old: Option<&str>,
        new: Option<&str>,
    ) -> ChainedEvent {
        ChainedEvent {
            id: 1,
            at: 0,
            action: action.to_owned(),
            actor_user_id: None,
            actor_email: Some("ana@acme.example.com".into()),
            actor_role: None,
            merchant_id: None,
            section: None,
            channel: None,
            field: field.map(str::to_owned),
            old_value: old.map(str::to_owned),
            new_value: new.map(str::to_owned),
            client_ip: None,
            prev_hash: String::new(),
            hash: String::new(),
        }
    }

    fn read(lang: Lang, e: &ChainedEvent) -> String {
        Sentence::of(e, lang).to_string()
    }

    #[test]
    fn every_action_reads_as_a_sentence_in_both_languages() {
        let samples = [
            (
                Some("sandbox_url"),
                Some("https://a.example.com"),
                Some("7"),
            ),
            (Some("owner"), Some("on"), Some("required")),
            (Some("production_secret_key"), None, Some("all")),
        ];
        for action in AuditAction::ALL {
            for lang in Lang::ALL {
                for (field, old, new) in samples {
                    let told = read(lang, &event(action.as_str(), field, old, new));
                    assert!(!told.is_empty() && !told.contains("{}"), "{action}: {told}");
                }
            }
        }
    }

    #[test]
    fn values_stand_apart_and_only_changes_show_before_and_after() {
        let changed = event(
            "settings_change",
            Some("sandbox_url"),
            Some("https://old.example.com"),
            Some("https://new.example.com"),
        );
        let sentence = Sentence::of(&changed, Lang::En);
        assert_eq!(
            sentence.to_string(),
            "Changed the sandbox URL from https://old.example.com to https://new.example.com"
        );
        let values: Vec<&str> = sentence
            .parts
            .iter()
            .filter(|p| p.value)
            .map(|p| p.text.as_str())
            .collect();
        assert_eq!(
            values,
            ["https://old.example.com", "https://new.example.com"]
        );
        let revealed = event("api_key_reveal", Some("production_secret_key"), None, None);
        assert_eq!(
            read(Lang::En, &revealed),
            "Revealed the production secret key"
        );
        assert_eq!(
            read(Lang::Id, &revealed),
            "Menampilkan kunci rahasia produksi"
        );
        let created = event(
            "api_key_create",
            Some("sandbox_secret_key"),
            None,
            Some("C-1"),
        );
        assert_eq!(
            read(Lang::En, &created),
            "Created the sandbox Client-Id C-1"
        );
        let disabled = event("user_disable", None, None, Some("a@b.co"));
        assert_eq!(read(Lang::En, &disabled), "Disabled user a@b.co");
    }

    #[test]
    fn an_unknown_action_or_shape_still_shows_what_was_recorded() {
        let future = event("teleported", Some("where"), None, Some("mars"));
        assert_eq!(read(Lang::En, &future), "teleported (where): mars");
        let odd = event("team_two_factor_rule", None, None, Some("sometimes"));
        assert_eq!(read(Lang::En, &odd), "Team two-factor rule: sometimes");
    }
}
