//! The failure emails: a channel and environment turned failing, or recovered. The store asks
//! for them inside the transaction that records the attempt ([`AlertMail`]), so they are
//! queued exactly when the turn is decided.

use askama::Template;

use super::compose::Frame;
use super::{Email, outbox};
use crate::catalog::ChannelTarget;
use crate::config::Settings;
use crate::domain::{DeliveryError, EmailKind};
use crate::i18n::format_utc_minute;
use crate::store::health::{AlertMail, ChannelAlert, HealthTurn};
use crate::store::outbox::QueuedEmail;

/// The start of the receiver's answer an alert quotes.
pub const ANSWER_CHARS: usize = 300;

/// One recipient's copy of an alert.
pub struct FailureAlert<'a> {
    pub frame: Frame<'a>,
    pub alert: &'a ChannelAlert<'a>,
    /// The log filtered to the channel and environment, under `PAYHOOK_PUBLIC_URL`.
    pub link: &'a str,
}

#[derive(Template)]
#[template(path = "email/failure_alert.txt")]
struct FailureAlertText<'a> {
    mail: &'a FailureAlert<'a>,
}

#[derive(Template)]
#[template(path = "email/failure_alert.html")]
struct FailureAlertHtml<'a> {
    mail: &'a FailureAlert<'a>,
}

impl FailureAlert<'_> {
    pub fn failing(&self) -> bool {
        self.alert.turn == HealthTurn::Failing
    }

    /// The channel as the merchant's pages name it, in the email's language.
    pub fn channel(&self) -> String {
        let alert = self.alert;
        match ChannelTarget::find(alert.section, alert.channel) {
            Some(target) => {
                let section = self.frame.t(&format!("section.{}", target.section.code));
                format!("{section} · {}", target.channel.name)
            }
            None => format!("{} · {}", alert.section, alert.channel),
        }
    }

    pub fn environment(&self) -> &'static str {
        self.frame
            .t(&format!("common.{}", self.alert.environment.as_str()))
    }

    pub fn merchant(&self) -> String {
        format!(
            "{} ({})",
            self.alert.merchant_name, self.alert.merchant_code
        )
    }

    pub fn when(&self) -> String {
        format_utc_minute(&self.alert.at)
    }

    /// What went wrong, in the email's language; an error stored before errors had codes
    /// gives its HTTP status, else its text as it is.
    pub fn error(&self) -> String {
        if let Some(error) = self.alert.error.and_then(DeliveryError::decode) {
            return error.describe(self.frame.lang);
        }
        match (self.alert.http_status, self.alert.error) {
            (Some(status), _) => format!("HTTP {status}"),
            (None, Some(error)) => error.to_owned(),
            (None, None) => self.frame.t("email.alert.no_answer").to_owned(),
        }
    }

    /// The first [`ANSWER_CHARS`] characters of the answer, when it had a body.
    pub fn answer(&self) -> Option<String> {
        let answer = self.alert.answer?.trim();
        (!answer.is_empty()).then(|| answer.chars().take(ANSWER_CHARS).collect())
    }

    pub fn subject(&self) -> String {
        let key = if self.failing() {
            "email.alert.failing_subject"
        } else {
            "email.alert.recovered_subject"
        };
        self.frame.tf(
            key,
            &[&self.channel(), self.environment(), &self.merchant()],
        )
    }

    pub fn write(&self) -> askama::Result<Email> {
        Ok(Email {
            kind: if self.failing() {
                EmailKind::FailureAlert
            } else {
                EmailKind::FailureRecovered
            },
            to: self.frame.to.clone(),
            subject: self.subject(),
            text: FailureAlertText { mail: self }.render()?,
            html: FailureAlertHtml { mail: self }.render()?,
        })
    }
}

impl AlertMail for Settings {
    fn write(&self, alert: &ChannelAlert<'_>) -> Vec<QueuedEmail> {
        let path =
            crate::paths::channel_log(alert.section, alert.channel, alert.environment.as_str());
        let link = self.email_link(&path);
        let mut queued = Vec::with_capacity(alert.recipients.len());
        for account in &alert.recipients {
            let mail = FailureAlert {
                frame: Frame::for_account(account),
                alert,
                link: &link,
            };
            let sealed = mail
                .write()
                .map_err(anyhow::Error::from)
                .and_then(|email| outbox::seal(&email, &self.secret_box));
            match sealed {
                Ok(email) => queued.push(email),
                Err(error) => tracing::error!(%error, "writing a failure alert"),
            }
        }
        queued
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmailAddress, Environment};
    use crate::i18n::Lang;

    fn alert(http_status: Option<i64>, error: &str) -> ChannelAlert<'_> {
        ChannelAlert {
            turn: HealthTurn::Failing,
            merchant_code: "acme".into(),
            merchant_name: "Acme".into(),
            section: "va",
            channel: "bca",
            environment: Environment::Sandbox,
            url: "https://acme.example/notify",
            http_status,
            error: Some(error),
            answer: None,
            waiting: 1,
            at: 0,
            recipients: Vec::new(),
        }
    }

    fn error_in(lang: Lang, alert: &ChannelAlert<'_>) -> String {
        let to = EmailAddress::parse("owner@acme.example").unwrap();
        let frame = Frame { lang, to: &to };
        let link = "https://payhook.example/log";
        FailureAlert { frame, alert, link }.error()
    }

    #[test]
    fn the_last_error_is_written_in_the_recipients_language() {
        let stored = DeliveryError::NotAccepted { status: 500 }.encode();
        let alert = alert(Some(500), &stored);
        assert_eq!(
            error_in(Lang::En, &alert),
            "HTTP 500: the notification was not accepted (expected 2xx)."
        );
        assert_eq!(
            error_in(Lang::Id, &alert),
            "HTTP 500: notifikasi tidak diterima (diharapkan 2xx)."
        );
    }

    #[test]
    fn an_error_stored_before_codes_reads_as_before() {
        let old = alert(Some(502), "HTTP 502: the notification was not accepted.");
        assert_eq!(error_in(Lang::Id, &old), "HTTP 502");
        let refused = alert(None, "error sending request: connection refused");
        assert_eq!(
            error_in(Lang::Id, &refused),
            "error sending request: connection refused"
        );
    }
}
