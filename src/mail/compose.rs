//! The emails payhook sends, each a plain-text and an HTML template
//! (`templates/email/<kind>.txt` and `.html`) filled in the recipient's language.

use askama::Template;

use super::Email;
use crate::domain::{EmailAddress, EmailKind};
use crate::i18n::{Lang, format_utc_minute};
use crate::store::AuditAction;
use crate::store::users::AccountContact;

/// What every email's templates can reach: the language, and the recipient (named in the
/// footer, so a forwarded email says whose it was).
pub struct Frame<'a> {
    pub lang: Lang,
    pub to: &'a EmailAddress,
}

impl<'a> Frame<'a> {
    /// An email to `account`, in the language it last chose, else English.
    pub fn for_account(account: &'a AccountContact) -> Self {
        let lang = account.language.as_deref().and_then(Lang::from_code);
        Self {
            lang: lang.unwrap_or_default(),
            to: &account.email,
        }
    }

    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// `t` with its `{}` placeholders filled in order.
    pub fn tf(&self, key: &str, values: &[&str]) -> String {
        let shown: Vec<&dyn std::fmt::Display> =
            values.iter().map(|v| v as &dyn std::fmt::Display).collect();
        self.lang.tf(key, &shown)
    }
}

/// A link to choose a new password.
pub struct PasswordReset<'a> {
    pub frame: Frame<'a>,
    pub link: &'a str,
    pub minutes: i64,
}

#[derive(Template)]
#[template(path = "email/password_reset.txt")]
struct PasswordResetText<'a> {
    mail: &'a PasswordReset<'a>,
}

#[derive(Template)]
#[template(path = "email/password_reset.html")]
struct PasswordResetHtml<'a> {
    mail: &'a PasswordReset<'a>,
}

impl PasswordReset<'_> {
    pub fn write(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: EmailKind::PasswordReset,
            to: self.frame.to.clone(),
            subject: self.frame.t("email.reset.subject").to_owned(),
            text: PasswordResetText { mail: self }.render()?,
            html: PasswordResetHtml { mail: self }.render()?,
        })
    }
}

/// Notice that an account's password was changed: when, from where, and what to do if it was
/// not its owner.
pub struct PasswordChanged<'a> {
    pub frame: Frame<'a>,
    /// When (ms).
    pub at: i64,
    /// The address the change came from.
    pub client_ip: &'a str,
    /// Where to ask for a new link.
    pub forgot_link: &'a str,
}

#[derive(Template)]
#[template(path = "email/password_changed.txt")]
struct PasswordChangedText<'a> {
    mail: &'a PasswordChanged<'a>,
}

#[derive(Template)]
#[template(path = "email/password_changed.html")]
struct PasswordChangedHtml<'a> {
    mail: &'a PasswordChanged<'a>,
}

impl PasswordChanged<'_> {
    pub fn when(&self) -> String {
        format_utc_minute(&self.at)
    }

    pub fn write(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: EmailKind::PasswordChanged,
            to: self.frame.to.clone(),
            subject: self.frame.t("email.changed.subject").to_owned(),
            text: PasswordChangedText { mail: self }.render()?,
            html: PasswordChangedHtml { mail: self }.render()?,
        })
    }
}

/// The events a [`SecurityNotice`] tells of.
pub const NOTICE_EVENTS: &[AuditAction] = &[
    AuditAction::TwoFactorEnabled,
    AuditAction::TwoFactorDisabled,
    AuditAction::RecoveryCodesRegenerated,
    AuditAction::RecoveryCodeUsed,
    AuditAction::TwoFactorReset,
    AuditAction::TwoFactorLocked,
];

/// Notice of a change to how an account signs in (two-factor turned on or off, recovery codes
/// replaced or used): what, when, from where, and what to do if it was not its owner.
pub struct SecurityNotice<'a> {
    pub frame: Frame<'a>,
    /// What happened, as the audit log names it: the texts are `email.notice.{event}.*`.
    pub event: AuditAction,
    pub at: i64,
    pub client_ip: &'a str,
    /// Where to choose a new password.
    pub forgot_link: &'a str,
}

#[derive(Template)]
#[template(path = "email/security_notice.txt")]
struct SecurityNoticeText<'a> {
    mail: &'a SecurityNotice<'a>,
}

#[derive(Template)]
#[template(path = "email/security_notice.html")]
struct SecurityNoticeHtml<'a> {
    mail: &'a SecurityNotice<'a>,
}

impl SecurityNotice<'_> {
    pub fn when(&self) -> String {
        format_utc_minute(&self.at)
    }

    /// The text of `part` (`subject`, `body`) for this notice's event.
    pub fn text(&self, part: &str) -> String {
        let key = format!("email.notice.{}.{part}", self.event);
        self.frame.tf(&key, &[self.frame.to.as_str()])
    }

    pub fn write(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: EmailKind::SecurityNotice,
            to: self.frame.to.clone(),
            subject: self.text("subject"),
            text: SecurityNoticeText { mail: self }.render()?,
            html: SecurityNoticeHtml { mail: self }.render()?,
        })
    }
}

/// An invitation to join a merchant's team, with the link that accepts it.
pub struct Invitation<'a> {
    pub frame: Frame<'a>,
    pub merchant_name: &'a str,
    /// The role offered, in the email's language.
    pub role: &'a str,
    /// Who invited (their address).
    pub invited_by: &'a str,
    pub link: &'a str,
    pub days: i64,
}

#[derive(Template)]
#[template(path = "email/invitation.txt")]
struct InvitationText<'a> {
    mail: &'a Invitation<'a>,
}

#[derive(Template)]
#[template(path = "email/invitation.html")]
struct InvitationHtml<'a> {
    mail: &'a Invitation<'a>,
}

impl Invitation<'_> {
    /// The invitation's sentence: who invites whom to which team, as what.
    pub fn offer(&self) -> String {
        self.frame.tf(
            "email.invitation.body",
            &[self.invited_by, self.merchant_name, self.role],
        )
    }

    pub fn write(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: EmailKind::Invitation,
            to: self.frame.to.clone(),
            subject: self
                .frame
                .tf("email.invitation.subject", &[self.merchant_name]),
            text: InvitationText { mail: self }.render()?,
            html: InvitationHtml { mail: self }.render()?,
        })
    }
}

/// Notice to a team member that an owner changed their role (`new_role`) or removed them
/// (`None`).
pub struct TeamNotice<'a> {
    pub frame: Frame<'a>,
    pub merchant_name: &'a str,
    /// The owner who made the change (their address).
    pub by: &'a str,
    /// The new role in the email's language; `None` when removed.
    pub new_role: Option<&'a str>,
    pub at: i64,
}

#[derive(Template)]
#[template(path = "email/team_notice.txt")]
struct TeamNoticeText<'a> {
    mail: &'a TeamNotice<'a>,
}

#[derive(Template)]
#[template(path = "email/team_notice.html")]
struct TeamNoticeHtml<'a> {
    mail: &'a TeamNotice<'a>,
}

impl TeamNotice<'_> {
    pub fn when(&self) -> String {
        format_utc_minute(&self.at)
    }

    /// What happened, in one sentence.
    pub fn body(&self) -> String {
        let when = self.when();
        match self.new_role {
            Some(role) => self.frame.tf(
                "email.team.role_body",
                &[self.by, self.merchant_name, role, &when],
            ),
            None => self.frame.tf(
                "email.team.removed_body",
                &[self.by, self.merchant_name, &when],
            ),
        }
    }

    pub fn subject(&self) -> String {
        let key = match self.new_role {
            Some(_) => "email.team.role_subject",
            None => "email.team.removed_subject",
        };
        self.frame.tf(key, &[self.merchant_name])
    }

    pub fn write(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: EmailKind::TeamNotice,
            to: self.frame.to.clone(),
            subject: self.subject(),
            text: TeamNoticeText { mail: self }.render()?,
            html: TeamNoticeHtml { mail: self }.render()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address() -> EmailAddress {
        EmailAddress::parse("ana@toko.co.id").unwrap()
    }

    #[test]
    fn every_email_reads_in_both_languages_with_its_values_escaped_in_html() {
        let to = address();
        let link = "https://backoffice.example.com/password/reset/abc?x=1&y=<2>";
        for lang in Lang::ALL {
            let reset = PasswordReset {
                frame: Frame { lang, to: &to },
                link,
                minutes: 30,
            }
            .write()
            .unwrap();
            let changed = PasswordChanged {
                frame: Frame { lang, to: &to },
                at: 1_795_855_212_345,
                client_ip: "203.0.113.9",
                forgot_link: "https://backoffice.example.com/password/forgot",
            }
            .write()
            .unwrap();
            let invitation = Invitation {
                frame: Frame { lang, to: &to },
                merchant_name: "Toko <Maju>",
                role: lang.t("role.developer"),
                invited_by: "owner@toko.co.id",
                link,
                days: 7,
            }
            .write()
            .unwrap();
            assert!(invitation.text.contains(link) && invitation.text.contains('7'));
            assert!(invitation.text.contains("owner@toko.co.id"));
            let demoted = TeamNotice {
                frame: Frame { lang, to: &to },
                merchant_name: "Toko <Maju>",
                by: "owner@toko.co.id",
                new_role: Some(lang.t("role.viewer")),
                at: 1_795_855_212_345,
            }
            .write()
            .unwrap();
            let removed = TeamNotice {
                frame: Frame { lang, to: &to },
                merchant_name: "Toko <Maju>",
                by: "owner@toko.co.id",
                new_role: None,
                at: 1_795_855_212_345,
            }
            .write()
            .unwrap();
            assert!(demoted.text.contains(lang.t("role.viewer")));
            assert_ne!(demoted.subject, removed.subject);
            for email in [&invitation, &demoted, &removed] {
                assert!(!email.html.contains("<Maju>"), "escaped: {}", email.html);
                assert!(email.subject.contains("Toko <Maju>"), "{}", email.subject);
            }
            for email in [&reset, &changed, &invitation, &demoted, &removed] {
                assert!(!email.subject.is_empty(), "{lang:?}");
                assert!(email.text.contains("ana@toko.co.id"), "{}", email.text);
                assert!(!email.html.contains("<2>"), "escaped: {}", email.html);
            }
            assert!(reset.text.contains(link) && reset.text.contains("30"));
            assert!(reset.html.contains("y=&#60;2&#62;") || reset.html.contains("y=&lt;2&gt;"));
            assert!(changed.text.contains("2026-11-28 08:40 UTC"));
            assert!(changed.text.contains("203.0.113.9"));
        }
        let english = PasswordReset {
            frame: Frame {
                lang: Lang::En,
                to: &to,
            },
            link,
            minutes: 30,
        };
        let indonesian = PasswordReset {
            frame: Frame {
                lang: Lang::Id,
                to: &to,
            },
            link,
            minutes: 30,
        };
        assert_ne!(
            english.write().unwrap().subject,
            indonesian.write().unwrap().subject
        );
    }

    #[test]
    fn every_security_notice_reads_in_both_languages() {
        let to = address();
        for lang in Lang::ALL {
            for event in NOTICE_EVENTS {
                let notice = SecurityNotice {
                    frame: Frame { lang, to: &to },
                    event: *event,
                    at: 1_795_855_212_345,
                    client_ip: "203.0.113.9",
                    forgot_link: "https://backoffice.example.com/password/forgot",
                }
                .write()
                .unwrap();
                assert!(!notice.subject.is_empty(), "{event}");
                assert!(
                    notice.text.contains("ana@toko.co.id"),
                    "{event}: {}",
                    notice.text
                );
                assert!(notice.text.contains("203.0.113.9"));
                assert!(notice.text.contains("/password/forgot"));
            }
        }
    }
}
