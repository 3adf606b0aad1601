//! The time zone a user reads times in: one of Indonesia's three, or UTC. Stored times stay
//! UTC milliseconds; only pages show them shifted, always labelled with the zone.

use super::text_enum;

text_enum! {
    /// Indonesia's zones have whole-hour offsets and no daylight saving, so a fixed offset
    /// is the whole rule.
    pub enum TimeZone {
        /// Western Indonesia (Jakarta, Sumatra, West and Central Kalimantan): UTC+7.
        Wib = "WIB",
        /// Central Indonesia (Bali, Sulawesi, Nusa Tenggara): UTC+8.
        Wita = "WITA",
        /// Eastern Indonesia (Maluku, Papua): UTC+9.
        Wit = "WIT",
        Utc = "UTC",
    }
    /// A code that names none of the zones offered.
    unknown: UnknownTimeZone = "the time zone must be WIB, WITA, WIT or UTC";
}

impl Default for TimeZone {
    /// Most of the gateway's merchants are in Western Indonesia.
    fn default() -> Self {
        Self::Wib
    }
}

/// An hour in milliseconds.
const HOUR_MS: i64 = 60 * 60 * 1000;

impl TimeZone {
    /// Hours ahead of UTC.
    pub fn offset_hours(self) -> i64 {
        match self {
            Self::Wib => 7,
            Self::Wita => 8,
            Self::Wit => 9,
            Self::Utc => 0,
        }
    }

    /// Milliseconds ahead of UTC.
    pub fn offset_ms(self) -> i64 {
        self.offset_hours() * HOUR_MS
    }

    /// The zone's name and offset in the reader's language, as the account page offers it.
    pub fn label_key(self) -> &'static str {
        match self {
            Self::Wib => "zone.wib",
            Self::Wita => "zone.wita",
            Self::Wit => "zone.wit",
            Self::Utc => "zone.utc",
        }
    }

    /// The start (ms) of a `YYYY-MM-DD` date in this zone: the date filters read dates as the
    /// reader's calendar has them.
    pub fn day_start_ms(self, date: &str) -> Option<i64> {
        super::day_start_ms(date).map(|utc_midnight| utc_midnight - self.offset_ms())
    }

    /// The date (`YYYY-MM-DD`) in this zone of a time in ms: the inverse of
    /// [`Self::day_start_ms`].
    pub fn day_of(self, ms: i64) -> String {
        super::day_of(ms + self.offset_ms())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_date_starts_at_its_local_midnight() {
        // 2026-12-06 00:00 WIB is 2026-12-05 17:00 UTC.
        let utc_midnight = crate::domain::day_start_ms("2026-12-06").unwrap();
        assert_eq!(
            TimeZone::Wib.day_start_ms("2026-12-06"),
            Some(utc_midnight - 7 * HOUR_MS)
        );
        assert_eq!(TimeZone::Utc.day_start_ms("2026-12-06"), Some(utc_midnight));
        for zone in TimeZone::ALL {
            let start = zone.day_start_ms("2026-12-06").unwrap();
            assert_eq!(zone.day_of(start), "2026-12-06");
            assert_eq!(zone.day_of(start - 1), "2026-12-05");
        }
    }
}
