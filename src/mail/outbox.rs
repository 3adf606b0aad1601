//! An email sealed for the outbox and opened again to send: its subject and parts may carry a
//! live link, so a copy of the database holds none of them in the clear.

use serde::{Deserialize, Serialize};

use super::Email;
use crate::secrets::{SecretBox, SecretString};
use crate::store::outbox::{ClaimedEmail, QueuedEmail};

/// What is sealed: everything of an email but its recipient and kind.
#[derive(Serialize, Deserialize)]
pub struct Content {
    pub subject: String,
    pub text: String,
    pub html: String,
}

impl std::fmt::Debug for Content {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Content")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// The sealed email, with a new message id that binds the seal to it.
pub fn seal(email: &Email, secrets: &SecretBox) -> anyhow::Result<QueuedEmail> {
    let message_id = crate::random::random_token();
    let content = Content {
        subject: email.subject.clone(),
        text: email.text.clone(),
        html: email.html.clone(),
    };
    let plain = SecretString::new(serde_json::to_string(&content)?);
    Ok(QueuedEmail {
        sealed: secrets.seal(&plain, &owner(&message_id))?,
        message_id,
        kind: email.kind,
        recipient: email.to.to_string(),
    })
}

/// What a claimed email says; an error when it cannot be opened (another secret key) or was
/// emptied already.
pub fn open(claimed: &ClaimedEmail, secrets: &SecretBox) -> anyhow::Result<Content> {
    let sealed = claimed
        .sealed
        .as_deref()
        .ok_or_else(|| anyhow::anyhow!("the email's content is gone"))?;
    let plain = secrets.open(sealed, &owner(&claimed.message_id))?;
    Ok(serde_json::from_str(plain.expose())?)
}

/// The seal's associated data: a sealed email moved onto another row no longer opens.
fn owner(message_id: &str) -> String {
    format!("email:{message_id}")
}
