//! Pages of Integration > HTTP Notification: the log with the last 24 hours in one line, its
//! delivery health, and one delivery.

use askama::Template;

use super::{Layout, given};
use crate::auth::Scope;
use crate::catalog::{Channel, ChannelTarget, Section};
use crate::domain::{DeliveryError, DeliveryStatus, Outcome};
use crate::i18n::{Lang, t};
use crate::paths;
use crate::store::delivery_log::{AttemptRow, LogPage, LogRow, LoggedDelivery};

pub mod chart;
mod filters;
mod retries;

pub use chart::{Counts, Health};
pub use filters::{BadFilter, LogQuery};
pub use retries::Retries;

/// A delivery's section and channel as the reader names them.
pub fn channel_name(section: &str, channel: &str) -> String {
    match ChannelTarget::find(section, channel) {
        Some(target) => format!("{} · {}", target.section.local_title(), target.channel.name),
        None => format!("{section} · {channel}"),
    }
}

/// A stored delivery error in the reader's language (older rows' English text as it is).
pub fn error_text(stored: &str) -> String {
    DeliveryError::describe_stored(stored, Lang::current()).into_owned()
}

/// A delivery's status in words.
pub fn status_label(status: &DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Delivered => t("log.status_delivered"),
        DeliveryStatus::Retrying => t("log.status_retrying"),
        DeliveryStatus::Failed => t("log.status_failed"),
        DeliveryStatus::Pending => t("log.status_pending"),
    }
}

/// The badge class of a delivery's status.
pub fn status_css(status: &DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Delivered => "badge-ok",
        DeliveryStatus::Retrying | DeliveryStatus::Pending => "badge-partial",
        DeliveryStatus::Failed => "badge-failed",
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    pub layout: Layout,
    pub scope: Scope,
    pub query: LogQuery,
    pub page: LogPage,
    /// Payment notifications created in the last 24 hours, by outcome so far.
    pub last_day: Counts,
    /// The filter refused, shown beside the form (and no rows).
    pub filter_error: Option<BadFilter>,
    pub retries: Retries,
}

impl NotificationsPage {
    pub fn sections(&self) -> &'static [Section] {
        crate::catalog::SECTIONS
    }

    /// Whether the channel select's option for `channel` of `section` is the one chosen.
    pub fn channel_chosen(&self, section: &Section, channel: &Channel) -> bool {
        let typed = crate::pages::typed(&self.query.channel);
        let section_chosen = crate::pages::typed(&self.query.section) == section.code;
        match typed.split_once('/') {
            Some((s, c)) => s == section.code && c == channel.code,
            None => section_chosen && typed == channel.code,
        }
    }

    /// The channel filter's value when it is none of the select's options (a refused one, as
    /// typed), so the form shows it again.
    pub fn unlisted_channel(&self) -> Option<&str> {
        let typed = given(&self.query.channel)?;
        let listed = self
            .sections()
            .iter()
            .any(|s| s.channels.iter().any(|c| self.channel_chosen(s, c)));
        (!listed).then_some(typed)
    }

    /// The refusal of the filter `field`, when it is the one refused.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.filter_error
            .as_ref()
            .filter(|bad| bad.field == Some(field))
            .map(|bad| bad.message.as_str())
    }

    /// ` aria-invalid="true" aria-describedby="filter-error"` on the refused filter's field.
    pub fn invalid(&self, field: &str) -> &'static str {
        if self.error_for(field).is_some() {
            " aria-invalid=\"true\" aria-describedby=\"filter-error\""
        } else {
            ""
        }
    }

    /// Whether any filter narrows the log (the empty log says what to do only when none does).
    pub fn filtered(&self) -> bool {
        let q = &self.query;
        let filters = [&q.section, &q.channel, &q.environment, &q.status];
        filters
            .into_iter()
            .chain([&q.invoice, &q.from, &q.to])
            .any(|filter| given(filter).is_some())
    }

    pub fn older_link(&self) -> Option<String> {
        let last = self.page.rows.last()?;
        self.page
            .older
            .then(|| self.query.page_link("before", last.position))
    }

    pub fn newer_link(&self) -> Option<String> {
        let first = self.page.rows.first()?;
        self.page
            .newer
            .then(|| self.query.page_link("after", first.position))
    }

    /// Resend failed notifications… under the same section, channel, environment and dates.
    pub fn recover_link(&self) -> String {
        self.link_with_filters(paths::NOTIFICATIONS_RECOVER, false)
    }

    /// The filtered log as CSV.
    pub fn csv_link(&self) -> String {
        self.link_with_filters(paths::NOTIFICATIONS_CSV, true)
    }

    /// `path` with the log's filters (the channel's and dates', and with `all` every one).
    fn link_with_filters(&self, path: &str, all: bool) -> String {
        let query = if all {
            self.query.filters_query()
        } else {
            super::query_string(&[
                ("section", &self.query.section),
                ("channel", &self.query.channel),
                ("environment", &self.query.environment),
                ("from", &self.query.from),
                ("to", &self.query.to),
            ])
        };
        let join = if query.is_empty() { "" } else { "?" };
        format!("{path}{join}{query}")
    }

    pub fn row_channel(&self, row: &LogRow) -> String {
        channel_name(&row.section, &row.channel)
    }
}

/// Delivery health: the week's chart, its table per day and each channel's rates.
#[derive(Template)]
#[template(path = "notifications_health.html")]
pub struct HealthPage {
    pub layout: Layout,
    pub scope: Scope,
    pub health: Health,
}

/// One attempt, ready to show.
pub struct AttemptView {
    pub number: i64,
    pub row: AttemptRow,
    pub headers: Vec<(String, String)>,
    pub curl: String,
    pub outcome_label: &'static str,
}

#[derive(Template)]
#[template(path = "notification.html")]
pub struct DeliveryPage {
    pub layout: Layout,
    pub scope: Scope,
    pub delivery: LoggedDelivery,
    /// The body as sent, indented for reading when it is JSON.
    pub pretty_body: String,
    /// The newest attempts, newest first.
    pub attempts: Vec<AttemptView>,
    /// How many attempts there are in all.
    pub total_attempts: i64,
    /// The URL saved now for the channel and environment, when it is not the one sent to.
    pub saved_elsewhere: Option<String>,
    pub retries: Retries,
}

impl DeliveryPage {
    pub fn new(
        layout: Layout,
        scope: Scope,
        delivery: LoggedDelivery,
        (newest_first, total_attempts): (Vec<AttemptRow>, i64),
        saved_elsewhere: Option<String>,
        retries: Retries,
    ) -> Self {
        let body = &delivery.request_body;
        let pretty_body = serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|json| serde_json::to_string_pretty(&json).ok())
            .unwrap_or_else(|| body.clone());
        let attempts = newest_first
            .into_iter()
            .enumerate()
            .map(|(i, row)| {
                let headers: Vec<(String, String)> =
                    serde_json::from_str(&row.request_headers).unwrap_or_default();
                let url = row.url.as_deref().unwrap_or(&delivery.row.url);
                let curl = if headers.is_empty() {
                    String::new()
                } else {
                    crate::notify::curl::command(url, &headers, body)
                };
                AttemptView {
                    number: total_attempts - i as i64,
                    outcome_label: outcome_label(row.outcome),
                    row,
                    headers,
                    curl,
                }
            })
            .collect();
        Self {
            layout,
            scope,
            delivery,
            pretty_body,
            attempts,
            total_attempts,
            saved_elsewhere,
            retries,
        }
    }

    pub fn channel(&self) -> String {
        let row = &self.delivery.row;
        channel_name(&row.section, &row.channel)
    }
}

/// An attempt's outcome in words.
pub fn outcome_label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Delivered => t("test.outcome_delivered"),
        Outcome::TimedOut => t("test.outcome_timed_out"),
        Outcome::Refused => t("test.outcome_refused"),
        Outcome::Failed => t("test.outcome_failed"),
    }
}
