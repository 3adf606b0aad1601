//! Pages of Integration > HTTP Notification: the log with its health chart, and one delivery.

use askama::Template;

use super::Layout;
use crate::auth::Scope;
use crate::catalog::{ChannelTarget, Section};
use crate::domain::{DeliveryStatus, Outcome};
use crate::error::AppError;
use crate::i18n::{t, tf};
use crate::paths;
use crate::store::delivery_log::{AttemptRow, LogPage, LogRow, LoggedDelivery};

pub mod chart;

pub use chart::Health;

/// The log's filters as typed, kept to fill the form and build page links.
#[derive(Debug, Default, Clone)]
pub struct LogQuery {
    pub merchant: Option<String>,
    pub section: Option<String>,
    pub channel: Option<String>,
    pub environment: Option<String>,
    pub status: Option<String>,
    pub invoice: Option<String>,
    pub from: Option<String>,
    pub to: Option<String>,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl LogQuery {
    /// Reads the query string; a parameter the log does not know is a 400 naming it.
    pub fn read(raw: &str) -> Result<Self, AppError> {
        let mut query = Self::default();
        for (name, value) in url::form_urlencoded::parse(raw.as_bytes()) {
            let slot = match name.as_ref() {
                "merchant" => &mut query.merchant,
                "section" => &mut query.section,
                "channel" => &mut query.channel,
                "environment" => &mut query.environment,
                "status" => &mut query.status,
                "invoice" => &mut query.invoice,
                "from" => &mut query.from,
                "to" => &mut query.to,
                "before" => &mut query.before,
                "after" => &mut query.after,
                other => {
                    let shown: String = other.chars().take(40).collect();
                    return Err(AppError::BadRequest(tf("log.unknown_filter", &[&shown])));
                }
            };
            *slot = Some(value.into_owned());
        }
        Ok(query)
    }

    /// The filters (not the cursor) as a query string, for the page links.
    pub fn filters_query(&self) -> String {
        super::query_string(&[
            ("merchant", &self.merchant),
            ("section", &self.section),
            ("channel", &self.channel),
            ("environment", &self.environment),
            ("status", &self.status),
            ("invoice", &self.invoice),
            ("from", &self.from),
            ("to", &self.to),
        ])
    }

    /// The query of a link to the page `cursor` (`before=ID` or `after=ID`) starts.
    pub fn page_link(&self, cursor: &str, id: i64) -> String {
        super::page_query(&self.filters_query(), cursor, id)
    }
}

/// A delivery's section and channel as the reader names them.
pub fn channel_name(section: &str, channel: &str) -> String {
    match ChannelTarget::find(section, channel) {
        Some(target) => format!("{} · {}", target.section.local_title(), target.channel.name),
        None => format!("{section} · {channel}"),
    }
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
        DeliveryStatus::Failed => "badge-none",
    }
}

#[derive(Template)]
#[template(path = "notifications.html")]
pub struct NotificationsPage {
    pub layout: Layout,
    pub scope: Scope,
    pub query: LogQuery,
    pub page: LogPage,
    /// On the newest page only.
    pub health: Option<Health>,
}

impl NotificationsPage {
    pub fn sections(&self) -> &'static [Section] {
        crate::catalog::SECTIONS
    }

    pub fn older_link(&self) -> Option<String> {
        let last = self.page.rows.last()?;
        self.page
            .older
            .then(|| self.query.page_link("before", last.id))
    }

    pub fn newer_link(&self) -> Option<String> {
        let first = self.page.rows.first()?;
        self.page
            .newer
            .then(|| self.query.page_link("after", first.id))
    }

    pub fn row_channel(&self, row: &LogRow) -> String {
        channel_name(&row.section, &row.channel)
    }
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
}

impl DeliveryPage {
    pub fn new(
        layout: Layout,
        scope: Scope,
        delivery: LoggedDelivery,
        newest_first: Vec<AttemptRow>,
        total_attempts: i64,
        saved_elsewhere: Option<String>,
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
