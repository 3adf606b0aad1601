//! One askama template struct per page, plus the layout every page shares.

use actix_web::HttpResponse;
use actix_web::http::{StatusCode, header};
use askama::Template;
use time::OffsetDateTime;

use crate::auth::{CurrentUser, Scope};
use crate::catalog::{Channel, Section};
use crate::domain::Role;
use crate::i18n::{Lang, t};
use crate::store::{AuditEntry, ChannelSetting};

pub mod admin;
pub mod chart;
pub mod error;
pub mod log;
pub mod notify;

/// Renders `template` with `status`; a rendering failure becomes a plain 500, never a panic.
pub fn render_page(status: StatusCode, template: &impl Template) -> HttpResponse {
    match template.render() {
        Ok(body) => HttpResponse::build(status)
            .content_type("text/html; charset=utf-8")
            .body(body),
        Err(error) => {
            tracing::error!(%error, "template rendering failed");
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body("Internal error")
        }
    }
}

/// The filters given (blank ones left out) as a query string, for a filtered page's links.
pub fn query_string(fields: &[(&str, &Option<String>)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in fields {
        if let Some(value) = given(value) {
            query.append_pair(name, value);
        }
    }
    query.finish()
}

/// A filter's value when one was given (blank counts as none).
pub fn given(field: &Option<String>) -> Option<&str> {
    field.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// A filter's value as its form field shows it again.
pub fn typed(field: &Option<String>) -> &str {
    field.as_deref().unwrap_or("")
}

/// The query of a link to another page of a filtered list: `filters` (a query string, maybe
/// empty), then `cursor=id`.
pub fn page_query(filters: &str, cursor: &str, id: i64) -> String {
    let join = if filters.is_empty() { "" } else { "&" };
    format!("?{filters}{join}{cursor}={id}")
}

/// A 303 redirect, the answer to every successful form POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `response` with `Retry-After: seconds`: when a 429 or a 503 is worth trying again.
pub fn retry_after(mut response: HttpResponse, seconds: u64) -> HttpResponse {
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, header::HeaderValue::from(seconds));
    response
}

/// What the page frame shows: title, the signed-in user, the CSRF token, a one-time message.
pub struct Layout {
    pub lang: Lang,
    /// The request's path, to mark the current page in the navigation.
    pub path: String,
    pub title: String,
    pub user: Option<UserBar>,
    pub csrf_token: String,
    pub flash: Option<String>,
}

/// The header's view of the signed-in user.
pub struct UserBar {
    pub email: String,
    pub merchant_name: Option<String>,
    pub is_admin: bool,
}

impl Layout {
    /// A frame with no signed-in user (sign-in and error pages).
    pub fn anonymous(title: &str) -> Self {
        Self {
            lang: Lang::current(),
            path: crate::i18n::current_path(),
            title: title.to_owned(),
            user: None,
            csrf_token: String::new(),
            flash: None,
        }
    }

    /// A frame for a signed-in user, taking the session's pending flash message.
    pub fn for_user(title: &str, user: &CurrentUser) -> Self {
        Self {
            lang: Lang::current(),
            path: crate::i18n::current_path(),
            title: title.to_owned(),
            user: Some(UserBar {
                email: user.email.to_string(),
                merchant_name: user.merchant.as_ref().map(|m| m.name.clone()),
                is_admin: user.role == Role::Admin,
            }),
            csrf_token: crate::auth::csrf_token(&user.session),
            flash: crate::flash::current(),
        }
    }
}

impl Layout {
    /// The page's language's text for `key`.
    pub fn t(&self, key: &str) -> &'static str {
        self.lang.t(key)
    }

    /// ` aria-current="page"` when the navigation link `href` leads to the current area.
    pub fn current(&self, href: &str) -> &'static str {
        let below = |rest: &str| href != "/admin" && rest.starts_with('/');
        let here = self
            .path
            .strip_prefix(href)
            .is_some_and(|rest| rest.is_empty() || below(rest));
        if here { " aria-current=page" } else { "" }
    }

    /// A stored action code as words (`sign_in` → "Sign-in"); an unknown code as itself.
    pub fn action<'a>(&self, code: &'a str) -> &'a str {
        self.lang.lookup(&format!("action.{code}")).unwrap_or(code)
    }

    /// A stored field name as words (`sandbox_url` → "Sandbox URL"); unknown ones as themselves.
    pub fn field<'a>(&self, name: &'a str) -> &'a str {
        self.lang.lookup(&format!("field.{name}")).unwrap_or(name)
    }

    /// `t` with its `{}` placeholders filled in order.
    pub fn tf<S: AsRef<str>>(&self, key: &str, values: &[S]) -> String {
        let values: Vec<&str> = values.iter().map(AsRef::as_ref).collect();
        let shown: Vec<&dyn std::fmt::Display> =
            values.iter().map(|v| v as &dyn std::fmt::Display).collect();
        self.lang.tf(key, &shown)
    }
}

/// Formats stored milliseconds as `2026-11-22 07:40 UTC` (written out by hand: a table of
/// channels formats one per row, and `time`'s generic formatter showed in the profile).
pub fn format_time(ms: &i64) -> String {
    let Ok(t) = OffsetDateTime::from_unix_timestamp(ms.div_euclid(1000)) else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    pub layout: Layout,
    pub email: String,
    pub error: Option<String>,
    pub notice: Option<&'static str>,
}

/// One tab of the Payment Settings overview.
pub struct SectionSummary {
    pub section: &'static Section,
    pub configured: i64,
}

impl SectionSummary {
    /// Every section in display order, with its count from `(section code, count)` rows.
    pub fn all(counts: &[(String, i64)]) -> Vec<Self> {
        crate::catalog::SECTIONS
            .iter()
            .map(|section| Self {
                section,
                configured: counts
                    .iter()
                    .find(|(code, _)| code == section.code)
                    .map_or(0, |(_, n)| *n),
            })
            .collect()
    }
}

#[derive(Template)]
#[template(path = "payment_settings.html")]
pub struct PaymentSettingsPage {
    pub layout: Layout,
    pub scope: Scope,
    pub sections: Vec<SectionSummary>,
}

/// How far a channel is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    NotConfigured,
    SandboxOnly,
    ProductionOnly,
    Configured,
}

impl Status {
    pub fn of(setting: &ChannelSetting) -> Self {
        match (&setting.sandbox_url, &setting.production_url) {
            (None, None) => Self::NotConfigured,
            (Some(_), None) => Self::SandboxOnly,
            (None, Some(_)) => Self::ProductionOnly,
            (Some(_), Some(_)) => Self::Configured,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::NotConfigured => t("status.not_configured"),
            Self::SandboxOnly => t("status.sandbox_only"),
            Self::ProductionOnly => t("status.production_only"),
            Self::Configured => t("status.configured"),
        }
    }

    pub fn css(self) -> &'static str {
        match self {
            Self::NotConfigured => "badge-none",
            Self::SandboxOnly | Self::ProductionOnly => "badge-partial",
            Self::Configured => "badge-ok",
        }
    }
}

/// A row of a section's channel table.
pub struct ChannelRow {
    pub channel: &'static Channel,
    pub setting: ChannelSetting,
    pub status: Status,
}

impl ChannelRow {
    /// Every channel of `section` in catalog order, with its stored settings (channels never
    /// saved have none).
    pub fn for_section(section: &'static Section, mut stored: Vec<ChannelSetting>) -> Vec<Self> {
        section
            .channels
            .iter()
            .map(|channel| {
                let setting = stored
                    .iter()
                    .position(|s| s.channel == channel.code)
                    .map(|i| stored.swap_remove(i))
                    .unwrap_or_default();
                ChannelRow {
                    channel,
                    status: Status::of(&setting),
                    setting,
                }
            })
            .collect()
    }

    pub fn last_change(&self) -> String {
        self.setting
            .updated_at
            .as_ref()
            .map(format_time)
            .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "section.html")]
pub struct SectionPage {
    pub layout: Layout,
    pub scope: Scope,
    pub section: &'static Section,
    pub rows: Vec<ChannelRow>,
    /// Cards shows its single URL box directly on the section page.
    pub card_form: Option<ConfigureForm>,
}

impl SectionPage {
    /// Where a failing channel's badge leads: the log, filtered to that channel and the
    /// environment that fails (and to the merchant an admin is reading).
    pub fn failing_link(&self, channel: &str, environment: &str) -> String {
        let join = if self.scope.query.is_empty() {
            "?"
        } else {
            "&"
        };
        format!(
            "/integration/notifications{}{join}section={}&channel={channel}&environment={environment}",
            self.scope.query, self.section.code
        )
    }
}

/// The CONFIGURE form's values and the rules each field broke.
#[derive(Debug, Default)]
pub struct ConfigureForm {
    pub sandbox_url: String,
    pub production_url: String,
    pub version: i64,
    pub sandbox_errors: Vec<&'static str>,
    pub production_errors: Vec<&'static str>,
}

impl ConfigureForm {
    pub fn from_setting(setting: &ChannelSetting) -> Self {
        Self {
            sandbox_url: setting.sandbox_url.clone().unwrap_or_default(),
            production_url: setting.production_url.clone().unwrap_or_default(),
            version: setting.version,
            ..Self::default()
        }
    }

    pub fn has_errors(&self) -> bool {
        !self.sandbox_errors.is_empty() || !self.production_errors.is_empty()
    }
}

#[derive(Template)]
#[template(path = "configure.html")]
pub struct ConfigurePage {
    pub layout: Layout,
    pub scope: Scope,
    pub section: &'static Section,
    pub channel: &'static Channel,
    pub form: ConfigureForm,
    /// Set when another save won: the values now stored.
    pub conflict: Option<ChannelSetting>,
}

impl ConfigurePage {
    pub fn new(
        user: &CurrentUser,
        scope: Scope,
        target: crate::catalog::ChannelTarget,
        form: ConfigureForm,
        conflict: Option<ChannelSetting>,
    ) -> Self {
        Self {
            layout: Layout::for_user(target.channel.name, user),
            scope,
            section: target.section,
            channel: target.channel,
            form,
            conflict,
        }
    }
}

#[derive(Template)]
#[template(path = "history.html")]
pub struct HistoryPage {
    pub layout: Layout,
    pub scope: Scope,
    pub section: &'static Section,
    pub channel: &'static Channel,
    pub entries: Vec<AuditEntry>,
}

#[derive(Template)]
#[template(path = "merchant_picker.html")]
pub struct MerchantPickerPage {
    pub layout: Layout,
    pub merchants: Vec<crate::store::users::Merchant>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_are_shown_to_the_minute_in_utc() {
        assert_eq!(
            super::format_time(&1_795_855_212_345),
            "2026-11-28 08:40 UTC"
        );
        assert_eq!(super::format_time(&-1), "1969-12-31 23:59 UTC");
        assert_eq!(super::format_time(&0), "1970-01-01 00:00 UTC");
    }
}
