//! Settings > Payment Settings > a section > Apply to all channels: what one URL pair changes on
//! each channel of the section, for the merchant to confirm before anything is saved.

use askama::Template;

use super::Layout;
use crate::catalog::{Channel, Section};
use crate::paths;
use crate::store::ChannelSetting;

/// One URL of one channel: what is stored, and what the pair would store.
pub struct UrlChange {
    pub old: Option<String>,
    pub new: Option<String>,
}

impl UrlChange {
    pub fn changes(&self) -> bool {
        self.old != self.new
    }
}

/// What applying the pair does to one channel, against the version it was read at.
pub struct ChannelChange {
    pub channel: &'static Channel,
    pub sandbox: UrlChange,
    pub production: UrlChange,
    pub version: i64,
}

impl ChannelChange {
    pub fn changes(&self) -> bool {
        self.sandbox.changes() || self.production.changes()
    }
}

/// One URL pair applied to every channel of a section, channel by channel.
pub struct ApplyPlan {
    pub section: &'static Section,
    pub sandbox_url: Option<String>,
    pub production_url: Option<String>,
    pub channels: Vec<ChannelChange>,
}

impl ApplyPlan {
    /// The pair against the section's `stored` settings (channels never saved have none).
    pub fn new(
        section: &'static Section,
        stored: &[ChannelSetting],
        sandbox_url: Option<String>,
        production_url: Option<String>,
    ) -> Self {
        let channels = section
            .channels
            .iter()
            .map(|channel| {
                let setting = stored.iter().find(|s| s.channel == channel.code);
                let setting = setting.cloned().unwrap_or_default();
                ChannelChange {
                    channel,
                    sandbox: UrlChange {
                        old: setting.sandbox_url,
                        new: sandbox_url.clone(),
                    },
                    production: UrlChange {
                        old: setting.production_url,
                        new: production_url.clone(),
                    },
                    version: setting.version,
                }
            })
            .collect();
        Self {
            section,
            sandbox_url,
            production_url,
            channels,
        }
    }

    /// How many channels the pair changes.
    pub fn changed(&self) -> usize {
        self.channels.iter().filter(|c| c.changes()).count()
    }

    /// The version of each channel the review was read at, as the confirm form carries them.
    pub fn versions(&self) -> String {
        let versions = self.channels.iter().map(|c| (c.channel, c.version));
        format_versions(versions)
    }
}

/// `code:version` of each channel, comma-separated: the confirm form's `versions` field.
fn format_versions<'a>(versions: impl Iterator<Item = (&'a Channel, i64)>) -> String {
    let pairs: Vec<String> = versions
        .map(|(channel, version)| format!("{}:{version}", channel.code))
        .collect();
    pairs.join(",")
}

/// The confirm form's `versions` field: a version for each channel of `section` exactly once,
/// in catalog order; anything else is `None`.
pub fn parse_versions(
    section: &'static Section,
    field: &str,
) -> Option<Vec<(&'static Channel, i64)>> {
    let versions: Vec<(&'static Channel, i64)> = field
        .split(',')
        .map(|pair| {
            let (code, version) = pair.split_once(':')?;
            Some((section.channel(code)?, version.parse().ok()?))
        })
        .collect::<Option<_>>()?;
    let in_catalog_order = versions.len() == section.channels.len()
        && versions
            .iter()
            .zip(section.channels)
            .all(|((channel, _), expected)| channel.code == expected.code);
    in_catalog_order.then_some(versions)
}

/// The review: every channel's change, and the form that confirms them.
#[derive(Template)]
#[template(path = "apply_section.html")]
pub struct ApplyReviewPage {
    pub layout: Layout,
    pub plan: ApplyPlan,
    /// What the accepted URLs earned (plain http in sandbox).
    pub warnings: Vec<&'static str>,
    /// Set when a channel changed after the review this confirms: nothing was saved.
    pub conflict: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_read_back_only_as_every_channel_in_catalog_order() {
        let section = Section::find("cstore").unwrap();
        let plan = ApplyPlan::new(section, &[], None, None);
        assert_eq!(plan.versions(), "alfa:0,indomaret:0");
        let read = parse_versions(section, "alfa:3,indomaret:0").unwrap();
        let read: Vec<_> = read.iter().map(|(c, v)| (c.code, *v)).collect();
        assert_eq!(read, [("alfa", 3), ("indomaret", 0)]);
        for wrong in [
            "",
            "alfa:3",
            "indomaret:0,alfa:3",
            "alfa:3,alfa:3",
            "alfa:3,indomaret:x",
            "alfa:3,bca:1",
            "alfa:3,indomaret:0,alfa:1",
        ] {
            assert!(parse_versions(section, wrong).is_none(), "{wrong}");
        }
    }
}
