//! The owners' notice of a scheduled rotation of a secret key: scheduled, cancelled, or taken
//! over.

use askama::Template;

use super::compose::Frame;
use super::{Email, outbox};
use crate::config::Settings;
use crate::domain::{EmailKind, Environment};
use crate::i18n::format_utc_minute;
use crate::store::AuditAction;
use crate::store::outbox::QueuedEmail;
use crate::store::users::AccountContact;

/// What the notice tells of, and of which key.
#[derive(Debug, Clone)]
pub struct RotationEvent<'a> {
    /// `ApiKeyRotationScheduled`, `ApiKeyRotationCancelled` or `ApiKeyRotationTookOver`: the
    /// texts are `email.rotation.{event}`.
    pub event: AuditAction,
    pub merchant_name: &'a str,
    pub environment: Environment,
    pub client_id: &'a str,
    /// When the new secret takes (or took) over.
    pub takes_over_at: Option<i64>,
    /// Who did it (their address); `None` for the take-over, which nobody asks for.
    pub by: Option<&'a str>,
}

pub struct RotationNotice<'a> {
    pub frame: Frame<'a>,
    pub event: &'a RotationEvent<'a>,
    pub link: &'a str,
}

#[derive(Template)]
#[template(path = "email/key_rotation.txt")]
struct RotationText<'a> {
    mail: &'a RotationNotice<'a>,
}

#[derive(Template)]
#[template(path = "email/key_rotation.html")]
struct RotationHtml<'a> {
    mail: &'a RotationNotice<'a>,
}

impl RotationNotice<'_> {
    pub fn environment(&self) -> &'static str {
        self.frame
            .t(&format!("common.{}_lower", self.event.environment))
    }

    pub fn subject(&self) -> String {
        let key = format!("email.rotation.{}.subject", self.event.event);
        self.frame
            .tf(&key, &[self.environment(), self.event.merchant_name])
    }

    pub fn body(&self) -> String {
        let key = format!("email.rotation.{}.body", self.event.event);
        let when = self.event.takes_over_at.map(|at| format_utc_minute(&at));
        let when = when.as_deref().unwrap_or("");
        let (environment, client_id) = (self.environment(), self.event.client_id);
        match self.event.by {
            Some(by) => self.frame.tf(&key, &[by, environment, client_id, when]),
            None => self.frame.tf(&key, &[environment, client_id, when]),
        }
    }

    pub fn write(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: EmailKind::KeyRotation,
            to: self.frame.to.clone(),
            subject: self.subject(),
            text: RotationText { mail: self }.render()?,
            html: RotationHtml { mail: self }.render()?,
        })
    }
}

/// The notice of `event` to each of `owners`, sealed for the outbox.
pub fn notices(
    settings: &Settings,
    event: &RotationEvent<'_>,
    owners: &[AccountContact],
) -> anyhow::Result<Vec<QueuedEmail>> {
    let link = settings.email_link(crate::paths::API_KEYS);
    owners
        .iter()
        .map(|owner| {
            let notice = RotationNotice {
                frame: Frame::for_account(owner),
                event,
                link: &link,
            };
            outbox::seal(&notice.write()?, &settings.secret_box)
        })
        .collect()
}
