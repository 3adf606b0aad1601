//! Pages of Integration > HTTP Notification: the log with the last 24 hours in one line, its
//! delivery health, and one delivery.

use askama::Template;

use super::{Layout, given};
use crate::auth::Scope;
use crate::catalog::{ChannelTarget, Section};
use crate::domain::{DAY_MS, day_start_ms};
use crate::domain::{DeliveryStatus, Outcome};
use crate::error::AppError;
use crate::i18n::{t, tf};
use crate::paths;
use crate::store::delivery_log::{
    AttemptRow, Cursor, LogFilter, LogPage, LogRow, LogStatus, LoggedDelivery,
};

pub mod chart;

pub use chart::{Counts, Health};

/// The longest invoice number the payment API accepts.
const MAX_INVOICE_CHARS: usize = 64;

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

    /// Turns the typed filters into a query; nonsense is a 400 naming the filter.
    pub fn filter(&self) -> Result<(LogFilter, Cursor), AppError> {
        let query = self;
        let bad =
            |name: &str, rule: &str| AppError::BadRequest(tf("log.bad_filter", &[&name, &t(rule)]));
        let mut filter = LogFilter::default();
        let section = match given(&query.section) {
            Some(code) => {
                Some(Section::find(code).ok_or_else(|| bad("section", "log.rule_section"))?)
            }
            None => None,
        };
        filter.section = section.map(|s| s.code);
        if let Some(code) = given(&query.channel) {
            let section = section.ok_or_else(|| bad("channel", "log.rule_channel_section"))?;
            let channel = section
                .channel(code)
                .ok_or_else(|| bad("channel", "log.rule_channel"))?;
            filter.channel = Some(channel.code);
        }
        filter.environment = given(&query.environment)
            .map(|e| {
                e.parse()
                    .map_err(|_| bad("environment", "log.rule_environment"))
            })
            .transpose()?;
        filter.status = given(&query.status)
            .map(|s| {
                s.parse::<LogStatus>()
                    .map_err(|()| bad("status", "log.rule_status"))
            })
            .transpose()?;
        if let Some(invoice) = given(&query.invoice) {
            if invoice.chars().count() > MAX_INVOICE_CHARS {
                return Err(bad("invoice", "log.rule_invoice"));
            }
            filter.invoice = Some(invoice.to_owned());
        }
        filter.from_ms = given(&query.from)
            .map(|d| day_start_ms(d).ok_or_else(|| bad("from", "log.rule_date")))
            .transpose()?;
        filter.to_ms = given(&query.to)
            .map(|d| {
                day_start_ms(d)
                    .map(|ms| ms + DAY_MS)
                    .ok_or_else(|| bad("to", "log.rule_date"))
            })
            .transpose()?;
        if let (Some(from), Some(to)) = (filter.from_ms, filter.to_ms)
            && from >= to
        {
            return Err(bad("to", "log.rule_date_order"));
        }
        let cursor_id = |name: &str, value: &str| {
            value
                .parse::<i64>()
                .ok()
                .filter(|&n| n > 0)
                .ok_or_else(|| bad(name, "log.rule_cursor"))
        };
        let cursor = match (given(&query.before), given(&query.after)) {
            (Some(_), Some(_)) => return Err(bad("after", "log.rule_one_cursor")),
            (Some(before), None) => Cursor::Before(cursor_id("before", before)?),
            (None, Some(after)) => Cursor::After(cursor_id("after", after)?),
            (None, None) => Cursor::Newest,
        };
        Ok((filter, cursor))
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
}

impl NotificationsPage {
    pub fn sections(&self) -> &'static [Section] {
        crate::catalog::SECTIONS
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
