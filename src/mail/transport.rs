//! Where emails go: an SMTP relay (`PAYHOOK_SMTP_URL`), or, without one, the server's log.

use std::time::Duration;

use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::outbox::Content;
use crate::config::MailSettings;

/// How long one handover to the relay may take, connection included; well inside the lease a
/// worker holds on the email.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(20);

/// The relay, or the log.
#[derive(Clone)]
pub enum Transport {
    Relay(AsyncSmtpTransport<Tokio1Executor>),
    /// Development: each email is written to the log at INFO, links included.
    Log,
}

impl Transport {
    /// The relay `PAYHOOK_SMTP_URL` names (a pool of connections, opened on need), or the log.
    pub fn new(mail: &MailSettings) -> anyhow::Result<Self> {
        let Some(relay) = &mail.relay else {
            return Ok(Self::Log);
        };
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(relay.expose())
            .map_err(|error| anyhow::anyhow!("PAYHOOK_SMTP_URL ({relay}): {error}"))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        Ok(Self::Relay(transport))
    }

    /// Hands one email to the relay; the error says why it was not taken, in words.
    pub async fn send(
        &self,
        from: &Mailbox,
        to: &str,
        message_id: &str,
        content: &Content,
    ) -> Result<(), String> {
        match self {
            Self::Log => {
                tracing::info!(
                    to,
                    subject = content.subject,
                    "email not sent (no PAYHOOK_SMTP_URL); it reads:\n{}",
                    content.text
                );
                Ok(())
            }
            Self::Relay(transport) => {
                let message = message(from, to, message_id, content)?;
                match tokio::time::timeout(SEND_TIMEOUT, transport.send(message)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(error)) => Err(describe(&error)),
                    Err(_) => Err(format!(
                        "the relay did not take the email within {} s",
                        SEND_TIMEOUT.as_secs()
                    )),
                }
            }
        }
    }
}

/// The message: a plain-text and an HTML part, and a `Message-ID` fixed per email, so a copy
/// sent again after a crash is the same message to the recipient's mail program.
fn message(
    from: &Mailbox,
    to: &str,
    message_id: &str,
    content: &Content,
) -> Result<Message, String> {
    let to: Mailbox = to
        .parse()
        .map_err(|error| format!("the recipient {to} is no address: {error}"))?;
    let domain = from.email.domain();
    Message::builder()
        .message_id(Some(format!("<{message_id}@{domain}>")))
        .from(from.clone())
        .to(to)
        .subject(content.subject.clone())
        .multipart(MultiPart::alternative_plain_html(
            content.text.clone(),
            content.html.clone(),
        ))
        .map_err(|error| format!("the email could not be written: {error}"))
}

/// What went wrong, in words: the relay's answer when it gave one.
fn describe(error: &lettre::transport::smtp::Error) -> String {
    let kind = if error.is_permanent() {
        "the relay refused the email"
    } else if error.is_transient() {
        "the relay deferred the email"
    } else {
        "the relay could not be reached"
    };
    let mut text = format!("{kind}: {error}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}
