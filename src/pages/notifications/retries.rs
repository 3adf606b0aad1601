//! Where a notification still being retried stands, in words.

use crate::i18n::tf;

/// Where a retrying notification stands: "attempt 2 of 4, next in 38 min".
#[derive(Debug, Clone, Copy)]
pub struct Retries {
    /// Attempts the retry schedule makes in all.
    planned: i64,
    now: i64,
}

impl Retries {
    pub fn new(schedule: &crate::config::RetrySchedule, now: i64) -> Self {
        Self {
            planned: schedule.attempts(),
            now,
        }
    }

    /// `made` attempts so far, the next at `next_at` (ms). Resends by hand count among those
    /// made, so the count planned is never below the next one's.
    pub fn progress(&self, made: &i64, next_at: &i64) -> String {
        let made = *made;
        let planned = self.planned.max(made + 1);
        let minutes = ((next_at - self.now).max(0) + 59_999) / 60_000;
        if minutes == 0 {
            return tf("log.progress_due", &[&made, &planned]);
        }
        let wait = match (minutes / 60, minutes % 60) {
            (0, minutes) => tf("log.wait_minutes", &[&minutes]),
            (hours, 0) => tf("log.wait_whole_hours", &[&hours]),
            (hours, minutes) => tf("log.wait_hours", &[&hours, &minutes]),
        };
        tf("log.progress", &[&made, &planned, &wait])
    }
}

#[cfg(test)]
mod tests {
    use super::Retries;
    use crate::config::RetrySchedule;

    #[test]
    fn the_wait_rounds_up_to_the_minute_and_reads_in_hours() {
        let now = 1_000_000_000;
        let retries = Retries::new(&RetrySchedule::parse("30m,6h,12h").unwrap(), now);
        let after = |ms: i64| retries.progress(&1, &(now + ms));
        assert_eq!(after(0), "attempt 1 of 4, next any moment");
        assert_eq!(after(-5_000), "attempt 1 of 4, next any moment");
        assert_eq!(after(1), "attempt 1 of 4, next in 1 min");
        assert_eq!(after(59_999), "attempt 1 of 4, next in 1 min");
        assert_eq!(after(38 * 60_000), "attempt 1 of 4, next in 38 min");
        assert_eq!(after(60 * 60_000), "attempt 1 of 4, next in 1 h");
        assert_eq!(after(61 * 60_000), "attempt 1 of 4, next in 1 h 1 min");
        // Two resends by hand besides the schedule's three attempts: a fourth still comes.
        assert_eq!(
            retries.progress(&5, &(now + 60_000)),
            "attempt 5 of 6, next in 1 min"
        );
    }
}
