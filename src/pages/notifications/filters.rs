//! The log's filters as typed: read from the query string, turned into a store query, or
//! refused naming the filter and the rule it broke.

use crate::catalog::{ChannelTarget, Section};
use crate::domain::DAY_MS;
use crate::error::AppError;
use crate::i18n::{t, tf};
use crate::pages::given;
use crate::store::delivery_log::{Cursor, LogFilter, LogStatus};

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
    /// The first parameter the log does not know, refused by [`Self::filter`].
    pub unknown: Option<String>,
}

/// A filter the log refuses: which one, and the rule it broke in words.
#[derive(Debug)]
pub struct BadFilter {
    /// `None` for a parameter the log does not know.
    pub field: Option<&'static str>,
    pub message: String,
}

impl From<BadFilter> for AppError {
    fn from(bad: BadFilter) -> Self {
        AppError::BadRequest(bad.message)
    }
}

impl LogQuery {
    /// Reads the query string; a parameter the log does not know is kept for
    /// [`Self::filter`] to refuse by name.
    pub fn read(raw: &str) -> Self {
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
                    if query.unknown.is_none() {
                        query.unknown = Some(other.chars().take(40).collect());
                    }
                    continue;
                }
            };
            *slot = Some(value.into_owned());
        }
        query
    }

    /// The filters (not the cursor) as a query string, for the page links.
    pub fn filters_query(&self) -> String {
        crate::pages::query_string(&[
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

    /// Turns the typed filters into a query; nonsense is refused naming the filter and its
    /// rule. A channel is found by its code, name or gateway id, and its section with it when
    /// only one section has it.
    pub fn filter(&self) -> Result<(LogFilter, Cursor), BadFilter> {
        let query = self;
        if let Some(name) = &query.unknown {
            let message = tf("log.unknown_filter", &[name]);
            return Err(BadFilter {
                field: None,
                message,
            });
        }
        let zone = crate::i18n::zone();
        let bad = |field: &'static str, rule: &str| {
            let rule = tf(rule, &[&zone.as_str()]);
            let message = tf(
                "log.bad_filter",
                &[&t(&format!("log.field_{field}")), &rule],
            );
            BadFilter {
                field: Some(field),
                message,
            }
        };
        let mut filter = LogFilter::default();
        let section = match given(&query.section) {
            Some(code) => {
                Some(Section::find(code).ok_or_else(|| bad("section", "log.rule_section"))?)
            }
            None => None,
        };
        filter.section = section.map(|s| s.code);
        if let Some(typed) = given(&query.channel) {
            let (section, channel) = match (section, typed.contains('/')) {
                // The select's own values: `section/channel`.
                (chosen, true) => {
                    let target = ChannelTarget::parse_code(typed)
                        .ok_or_else(|| bad("channel", "log.rule_channel_unknown"))?;
                    if chosen.is_some_and(|chosen| chosen.code != target.section.code) {
                        return Err(bad("channel", "log.rule_channel"));
                    }
                    (target.section, target.channel)
                }
                (section, false) => match section {
                    Some(section) => section
                        .find_channel(typed)
                        .map(|channel| (section, channel))
                        .ok_or_else(|| bad("channel", "log.rule_channel"))?,
                    None => {
                        let mut found = crate::catalog::SECTIONS
                            .iter()
                            .filter_map(|s| s.find_channel(typed).map(|c| (s, c)));
                        match (found.next(), found.next()) {
                            (Some(only), None) => only,
                            (Some(_), Some(_)) => {
                                return Err(bad("channel", "log.rule_channel_section"));
                            }
                            (None, _) => return Err(bad("channel", "log.rule_channel_unknown")),
                        }
                    }
                },
            };
            filter.section = Some(section.code);
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
            .map(|d| {
                zone.day_start_ms(d)
                    .ok_or_else(|| bad("from", "log.rule_date"))
            })
            .transpose()?;
        filter.to_ms = given(&query.to)
            .map(|d| {
                zone.day_start_ms(d)
                    .map(|ms| ms + DAY_MS)
                    .ok_or_else(|| bad("to", "log.rule_date"))
            })
            .transpose()?;
        if let (Some(from), Some(to)) = (filter.from_ms, filter.to_ms)
            && from >= to
        {
            return Err(bad("to", "log.rule_date_order"));
        }
        let cursor_id = |name: &'static str, value: &str| {
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
        crate::pages::page_query(&self.filters_query(), cursor, id)
    }
}
