//! Settings > Payment Settings: the overview, a section's channels, CONFIGURE and history.

use askama::Template;

use super::{Layout, time_html};
use crate::auth::{CurrentUser, Scope};
use crate::catalog::{Channel, Section};
use crate::domain::Environment;
use crate::i18n::t;
use crate::paths;
use crate::store::{AuditEntry, ChannelSetting};
use crate::url_field::JudgedUrls;

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

    /// When the channel last changed, as HTML (the zone's time, UTC in its title).
    pub fn last_change(&self) -> Option<crate::i18n::TimeHtml> {
        self.setting.updated_at.as_ref().map(time_html)
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
    /// The form that applies one URL pair to every channel, for those who may change them in a
    /// section of several channels.
    pub apply: Option<ConfigureForm>,
    /// The channel whose URLs prefilled `apply`.
    pub copied_from: Option<&'static str>,
    /// The page is the apply form's own (`/settings/payment/{section}/apply`), not the table.
    pub apply_page: bool,
}

impl SectionPage {
    /// The page of `section` with its channel rows, offering an empty apply form where it may.
    pub fn new(
        user: &CurrentUser,
        scope: Scope,
        section: &'static Section,
        rows: Vec<ChannelRow>,
    ) -> Self {
        let card_form = section
            .single_box
            .then(|| ConfigureForm::from_setting(&rows[0].setting));
        let apply = (section.can_apply_to_all() && !scope.read_only).then(ConfigureForm::default);
        Self {
            layout: Layout::for_user(section.local_title(), user),
            scope,
            section,
            rows,
            card_form,
            apply,
            copied_from: None,
            apply_page: false,
        }
    }

    /// The apply form's own page: the section's channels stay off it, read only for copying.
    pub fn apply_form(mut self) -> Self {
        self.apply_page = true;
        self.layout.title = t("apply.title").to_owned();
        self
    }

    /// The apply form prefilled with the URLs of the section's channel `code`, if it has any.
    pub fn copying(mut self, code: &str) -> Self {
        let row = self
            .copy_sources()
            .into_iter()
            .find(|r| r.channel.code == code);
        let copied = row.map(|r| (r.channel.code, ConfigureForm::from_setting(&r.setting)));
        if let (Some(form), Some((code, copied))) = (self.apply.as_mut(), copied) {
            *form = copied;
            self.copied_from = Some(code);
        }
        self
    }

    /// The apply form's page as it was posted, with the rules its fields broke.
    pub fn with_apply_form(mut self, typed: ConfigureForm) -> Self {
        self = self.apply_form();
        if let Some(form) = self.apply.as_mut() {
            *form = typed;
        }
        self
    }

    /// The channels with a URL to copy into the apply form.
    pub fn copy_sources(&self) -> Vec<&ChannelRow> {
        self.rows
            .iter()
            .filter(|r| r.status != Status::NotConfigured)
            .collect()
    }

    /// Where a failing channel's badge leads: the log, filtered to that channel and the
    /// environment that fails (and to the merchant an admin is reading).
    pub fn failing_link(&self, channel: &str, environment: &Environment) -> String {
        let join = if self.scope.query.is_empty() {
            "?"
        } else {
            "&"
        };
        format!(
            "{}{}{join}section={}&channel={channel}&environment={environment}",
            paths::NOTIFICATIONS,
            self.scope.query,
            self.section.code
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

    /// The form as it was typed, with every rule each field broke.
    pub fn typed(sandbox: &str, production: &str, judged: &JudgedUrls, version: i64) -> Self {
        Self {
            sandbox_url: sandbox.to_owned(),
            production_url: production.to_owned(),
            version,
            sandbox_errors: judged.sandbox.errors.clone(),
            production_errors: judged.production.errors.clone(),
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
