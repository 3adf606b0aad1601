//! Email: each message written from templates in its recipient's language, queued in a durable
//! outbox (sealed at rest) in the transaction of what causes it, and handed to the SMTP relay
//! by a worker, or written to the log when no relay is configured.

pub mod alerts;
pub mod compose;
pub mod key_rotation;
pub mod outbox;
pub mod transport;
pub mod worker;

use crate::domain::{EmailAddress, EmailKind};

/// An email written and ready to queue.
#[derive(Debug, Clone)]
pub struct Email {
    pub kind: EmailKind,
    pub to: EmailAddress,
    pub subject: String,
    /// The plain-text part.
    pub text: String,
    /// The HTML part, every value escaped.
    pub html: String,
}
