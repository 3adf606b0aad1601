//! The fixed channel catalog: sections and their channels, in the order the back office shows them.

/// A payment channel whose notification URLs a merchant configures.
#[derive(Debug, PartialEq, Eq)]
pub struct Channel {
    pub code: &'static str,
    pub name: &'static str,
    pub gateway_id: &'static str,
}

/// A tab of Settings > Payment Settings.
#[derive(Debug, PartialEq, Eq)]
pub struct Section {
    pub code: &'static str,
    pub title: &'static str,
    pub channels: &'static [Channel],
    /// Cards has a single URL box on its page instead of a CONFIGURE per row.
    pub single_box: bool,
}

/// Which signed format a channel's notifications use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationFormat {
    Snap,
    NonSnap,
}

const fn ch(code: &'static str, name: &'static str, gateway_id: &'static str) -> Channel {
    Channel {
        code,
        name,
        gateway_id,
    }
}

const BCA: Channel = ch("bca", "BCA", "VIRTUAL_ACCOUNT_BCA");
const MANDIRI: Channel = ch("mandiri", "Mandiri", "VIRTUAL_ACCOUNT_BANK_MANDIRI");
const BRI: Channel = ch("bri", "BRI", "VIRTUAL_ACCOUNT_BRI");
const BNI: Channel = ch("bni", "BNI", "VIRTUAL_ACCOUNT_BNI");
const BSI: Channel = ch("bsi", "BSI", "VIRTUAL_ACCOUNT_BSI");
const PERMATA: Channel = ch("permata", "Permata", "VIRTUAL_ACCOUNT_BANK_PERMATA");
const CIMB: Channel = ch("cimb", "CIMB Niaga", "VIRTUAL_ACCOUNT_BANK_CIMB");
const DANAMON: Channel = ch("danamon", "Danamon", "VIRTUAL_ACCOUNT_BANK_DANAMON");
const DOKU_VA: Channel = ch("doku", "DOKU VA", "VIRTUAL_ACCOUNT_DOKU");

/// Every section, in display order.
pub const SECTIONS: &[Section] = &[
    Section {
        code: "va_snap",
        title: "Virtual Account SNAP",
        single_box: false,
        channels: &[
            BCA,
            MANDIRI,
            BRI,
            BNI,
            BSI,
            PERMATA,
            CIMB,
            DANAMON,
            ch("bnc", "BNC", "VIRTUAL_ACCOUNT_BNC"),
            ch("btn", "BTN", "VIRTUAL_ACCOUNT_BTN"),
            ch("bss", "BSS", "VIRTUAL_ACCOUNT_BSS"),
            ch("maybank", "Maybank", "VIRTUAL_ACCOUNT_MAYBANK"),
            ch("bjb", "BJB", "VIRTUAL_ACCOUNT_BJB"),
            ch("bpd_bali", "BPD Bali", "VIRTUAL_ACCOUNT_BPD_BALI"),
            DOKU_VA,
        ],
    },
    Section {
        code: "va",
        title: "Virtual Account (non-SNAP)",
        single_box: false,
        channels: &[BCA, MANDIRI, BSI, BRI, BNI, DOKU_VA, CIMB, PERMATA, DANAMON],
    },
    Section {
        code: "cards",
        title: "Cards",
        single_box: true,
        channels: &[ch("card", "Credit / Debit Card", "CREDIT_CARD")],
    },
    Section {
        code: "cstore",
        title: "Convenience Store",
        single_box: false,
        channels: &[
            ch("alfa", "Alfa Group", "ONLINE_TO_OFFLINE_ALFA"),
            ch("indomaret", "Indomaret", "ONLINE_TO_OFFLINE_INDOMARET"),
        ],
    },
    Section {
        code: "ewallet",
        title: "e-Wallet",
        single_box: false,
        channels: &[
            ch("ovo", "OVO", "EMONEY_OVO"),
            ch("shopeepay", "ShopeePay", "EMONEY_SHOPEE_PAY"),
            ch("dana", "DANA", "EMONEY_DANA"),
            ch("linkaja", "LinkAja", "EMONEY_LINKAJA"),
            ch("doku_wallet", "DOKU e-Wallet", "EMONEY_DOKU"),
        ],
    },
    Section {
        code: "paylater",
        title: "PayLater",
        single_box: false,
        channels: &[
            ch("akulaku", "Akulaku", "PEER_TO_PEER_AKULAKU"),
            ch("kredivo", "Kredivo", "PEER_TO_PEER_KREDIVO"),
            ch("indodana", "Indodana", "PEER_TO_PEER_INDODANA"),
        ],
    },
];

impl Section {
    /// The section's title in the current request's language.
    pub fn local_title(&self) -> &'static str {
        crate::i18n::t(&format!("section.{}", self.code))
    }

    /// The section with this code, if any.
    pub fn find(code: &str) -> Option<&'static Section> {
        SECTIONS.iter().find(|s| s.code == code)
    }

    /// The channel of this section with this code, if any.
    pub fn channel(&self, code: &str) -> Option<&'static Channel> {
        self.channels.iter().find(|c| c.code == code)
    }

    /// The channel of this section a reader named: by its code, its name or its gateway id,
    /// whatever the case (`mandiri`, `Mandiri`, `VIRTUAL_ACCOUNT_BANK_MANDIRI`).
    pub fn find_channel(&self, typed: &str) -> Option<&'static Channel> {
        let typed = typed.trim();
        self.channels.iter().find(|c| {
            c.code.eq_ignore_ascii_case(typed)
                || c.name.eq_ignore_ascii_case(typed)
                || c.gateway_id.eq_ignore_ascii_case(typed)
        })
    }

    /// Whether one URL pair can be applied to all its channels at once: a section of several
    /// channels, each with its own CONFIGURE.
    pub fn can_apply_to_all(&self) -> bool {
        !self.single_box && self.channels.len() > 1
    }

    /// SNAP for `va_snap`, the non-SNAP format everywhere else.
    pub fn format(&self) -> NotificationFormat {
        if self.code == "va_snap" {
            NotificationFormat::Snap
        } else {
            NotificationFormat::NonSnap
        }
    }
}

/// A (section, channel) pair that exists in the catalog: the target of a settings page, a test
/// notification or a payment.
#[derive(Debug, Clone, Copy)]
pub struct ChannelTarget {
    pub section: &'static Section,
    pub channel: &'static Channel,
}

impl ChannelTarget {
    /// Looks up both codes; `None` when either is unknown.
    pub fn find(section: &str, channel: &str) -> Option<Self> {
        let section = Section::find(section)?;
        let channel = section.channel(channel)?;
        Some(Self { section, channel })
    }

    /// `section/channel`, as the payment API names a channel.
    pub fn parse_code(code: &str) -> Option<Self> {
        let (section, channel) = code.split_once('/')?;
        Self::find(section, channel)
    }
}

/// The `{section}/{channel}` of a route's path; an unknown pair is 404.
impl actix_web::FromRequest for ChannelTarget {
    type Error = crate::error::AppError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &actix_web::HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let info = req.match_info();
        let found = match (info.get("section"), info.get("channel")) {
            (Some(section), Some(channel)) => Self::find(section, channel),
            _ => None,
        };
        std::future::ready(found.ok_or(crate::error::AppError::NotFound))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_has_six_sections_in_display_order() {
        let codes: Vec<_> = SECTIONS.iter().map(|s| s.code).collect();
        assert_eq!(
            codes,
            ["va_snap", "va", "cards", "cstore", "ewallet", "paylater"]
        );
        let counts: Vec<_> = SECTIONS.iter().map(|s| s.channels.len()).collect();
        assert_eq!(counts, [15, 9, 1, 2, 5, 3]);
    }

    #[test]
    fn channel_codes_are_unique_within_a_section() {
        for section in SECTIONS {
            let mut codes: Vec<_> = section.channels.iter().map(|c| c.code).collect();
            codes.sort_unstable();
            codes.dedup();
            assert_eq!(codes.len(), section.channels.len(), "{}", section.code);
        }
    }

    #[test]
    fn only_va_snap_uses_the_snap_format() {
        assert_eq!(
            Section::find("va_snap").unwrap().format(),
            NotificationFormat::Snap
        );
        assert_eq!(
            Section::find("va").unwrap().format(),
            NotificationFormat::NonSnap
        );
        assert!(ChannelTarget::find("va", "bnc").is_none());
        assert_eq!(
            ChannelTarget::find("cards", "card")
                .unwrap()
                .channel
                .gateway_id,
            "CREDIT_CARD"
        );
    }
}
