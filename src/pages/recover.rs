//! Integration > HTTP Notification > Resend failed notifications: how many a range holds, and
//! the form that queues them.

use askama::Template;

use super::Layout;
use crate::paths;
use crate::store::recover::MAX_RECOVER;

/// The range and filters a recover is about, as the form carries them.
#[derive(Debug, Clone, Default)]
pub struct RecoverRange {
    pub section: String,
    pub channel: String,
    pub environment: String,
    pub from: String,
    pub to: String,
}

impl RecoverRange {
    /// The log filtered the same way, where the merchant watches the resends.
    pub fn log_link(&self) -> String {
        let query = super::query_string(&[
            ("section", &Some(self.section.clone())),
            ("channel", &Some(self.channel.clone())),
            ("environment", &Some(self.environment.clone())),
            ("from", &Some(self.from.clone())),
            ("to", &Some(self.to.clone())),
        ]);
        format!("{}?{query}", paths::NOTIFICATIONS)
    }
}

#[derive(Template)]
#[template(path = "recover.html")]
pub struct RecoverPage {
    pub layout: Layout,
    pub range: RecoverRange,
    /// What the range names, in words (channel, environment, dates).
    pub described: String,
    /// Failed or retrying notifications in the range with no resend queued (up to one past the
    /// limit).
    pub count: i64,
}

impl RecoverPage {
    pub fn too_many(&self) -> bool {
        self.count > MAX_RECOVER
    }

    pub fn limit(&self) -> i64 {
        MAX_RECOVER
    }
}
