//! When a failed delivery is tried again: `PAYHOOK_RETRY_SCHEDULE`, the delays after the
//! *first* attempt (DOKU's `30m,6h,12h` by default); after the last one the delivery has failed.

use std::fmt;
use std::time::Duration;

use crate::store::{AfterAttempt, millis};

/// Delays after the first attempt, ascending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(Vec<Duration>);

impl Default for RetrySchedule {
    fn default() -> Self {
        Self(vec![
            Duration::from_secs(30 * 60),
            Duration::from_secs(6 * 3600),
            Duration::from_secs(12 * 3600),
        ])
    }
}

impl RetrySchedule {
    /// Parses `30m,6h,12h`: positive whole numbers with a unit (`s`, `m` or `h`), ascending.
    pub fn parse(text: &str) -> Result<Self, String> {
        let delays = text
            .split(',')
            .map(|item| parse_duration(item.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        if delays.windows(2).any(|pair| pair[0] >= pair[1]) {
            return Err("the delays must grow: each is counted from the first attempt".into());
        }
        Ok(Self(delays))
    }

    /// How many attempts a notification gets before it has failed: the first and one per delay.
    pub fn attempts(&self) -> i64 {
        i64::try_from(self.0.len()).map_or(i64::MAX, |delays| delays + 1)
    }

    /// What follows a failed attempt, the `attempts`-th (1 for the first), when the first was
    /// made at `first_at` (ms).
    pub fn after_failure(&self, attempts: i64, first_at: i64) -> AfterAttempt {
        let index = usize::try_from(attempts - 1).unwrap_or(usize::MAX);
        match self.0.get(index) {
            Some(delay) => AfterAttempt::RetryAt(first_at.saturating_add(millis(*delay))),
            None => AfterAttempt::Failed,
        }
    }
}

impl fmt::Display for RetrySchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let items: Vec<String> = self.0.iter().map(|d| format!("{}s", d.as_secs())).collect();
        f.write_str(&items.join(","))
    }
}

/// A positive whole number of seconds, minutes or hours: `45s`, `30m`, `6h`.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let unit_at = text.len().saturating_sub(1);
    let (number, unit) = text.split_at(unit_at);
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => {
            return Err(format!(
                "{text:?}: give a number with a unit s, m or h (30m)"
            ));
        }
    };
    match number.parse::<u64>() {
        Ok(n) if n > 0 => Ok(Duration::from_secs(n * scale)),
        _ => Err(format!(
            "{text:?}: give a positive whole number before the unit"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_is_dokus_and_parses_from_its_own_text() {
        let schedule = RetrySchedule::parse("30m,6h,12h").unwrap();
        assert_eq!(schedule, RetrySchedule::default());
        assert_eq!(
            schedule.after_failure(1, 1_000),
            AfterAttempt::RetryAt(1_000 + 30 * 60 * 1000)
        );
        assert_eq!(
            schedule.after_failure(3, 0),
            AfterAttempt::RetryAt(12 * 3600 * 1000)
        );
        assert_eq!(schedule.after_failure(4, 0), AfterAttempt::Failed);
    }

    #[test]
    fn nonsense_schedules_are_refused_with_a_reason() {
        for bad in ["", "30", "30x", "0s", "-1m", "6h,30m", "1s,1s", "1.5h"] {
            assert!(RetrySchedule::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(
            RetrySchedule::parse(" 1s , 2s ").unwrap().to_string(),
            "1s,2s"
        );
    }
}
