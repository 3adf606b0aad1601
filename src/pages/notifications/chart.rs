//! Delivery health, drawn: the last week's deliveries per hour by outcome as server-rendered
//! SVG bars (no script, no chart library), the same numbers per day in a table, and each
//! channel's success rate and latency percentiles.

use std::collections::BTreeMap;

use super::channel_name;
use crate::pages::format_time;
use crate::store::delivery_log::{HourCount, HourOutcome, LatencyCount};

const HOUR_MS: i64 = 3_600_000;
/// Hours the chart shows, ending with the current one.
pub const CHART_HOURS: i64 = 7 * 24;
const BAR_STEP: i64 = 5;
const BAR_WIDTH: i64 = 4;
pub const CHART_HEIGHT: i64 = 160;
pub const CHART_WIDTH: i64 = CHART_HOURS * BAR_STEP;

/// How deliveries ended (so far), in the order the bars stack them.
pub const OUTCOMES: &[HourOutcome] = HourOutcome::ALL;

/// Deliveries of one hour by outcome.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub first: i64,
    pub retried: i64,
    pub retrying: i64,
    pub failed: i64,
}

impl Counts {
    fn add(&mut self, outcome: HourOutcome, count: i64) {
        *self.get_mut(outcome) += count;
    }

    fn get_mut(&mut self, outcome: HourOutcome) -> &mut i64 {
        match outcome {
            HourOutcome::First => &mut self.first,
            HourOutcome::Retried => &mut self.retried,
            HourOutcome::Retrying => &mut self.retrying,
            HourOutcome::Failed => &mut self.failed,
        }
    }

    fn add_all(&mut self, other: Counts) {
        self.first += other.first;
        self.retried += other.retried;
        self.retrying += other.retrying;
        self.failed += other.failed;
    }

    pub fn total(&self) -> i64 {
        self.first + self.retried + self.retrying + self.failed
    }

    fn get(&self, outcome: HourOutcome) -> i64 {
        match outcome {
            HourOutcome::First => self.first,
            HourOutcome::Retried => self.retried,
            HourOutcome::Retrying => self.retrying,
            HourOutcome::Failed => self.failed,
        }
    }
}

/// One stacked piece of an hour's bar.
pub struct Segment {
    pub outcome: HourOutcome,
    pub count: i64,
    pub y: i64,
    pub height: i64,
}

/// One hour's bar.
pub struct Bar {
    /// `YYYY-MM-DD HH:00 UTC`.
    pub hour: String,
    pub x: i64,
    pub width: i64,
    pub counts: Counts,
    pub segments: Vec<Segment>,
}

/// One day's row of the table beside the chart.
pub struct DayRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub counts: Counts,
}

/// One channel's attempts over the week.
pub struct ChannelStats {
    pub name: String,
    pub attempts: i64,
    pub delivered: i64,
    pub p50_ms: Option<i64>,
    pub p95_ms: Option<i64>,
}

impl ChannelStats {
    /// Delivered attempts as a percentage with one decimal.
    pub fn success_rate(&self) -> String {
        if self.attempts == 0 {
            return "—".into();
        }
        let per_mille = (self.delivered * 1000 + self.attempts / 2) / self.attempts;
        format!("{}.{}%", per_mille / 10, per_mille % 10)
    }
}

/// Everything the log page draws.
pub struct Health {
    pub bars: Vec<Bar>,
    pub days: Vec<DayRow>,
    pub totals: Counts,
    pub channels: Vec<ChannelStats>,
}

/// When the chart's first hour starts (ms), for a chart ending with the hour of `now`.
pub fn window_start(now: i64) -> i64 {
    (now.div_euclid(HOUR_MS) - CHART_HOURS + 1) * HOUR_MS
}

impl Health {
    pub fn build(since: i64, hours: &[HourCount], latencies: &[LatencyCount]) -> Self {
        let first_hour = since.div_euclid(HOUR_MS);
        let mut per_hour = vec![Counts::default(); CHART_HOURS as usize];
        for row in hours {
            let index = row.hour - first_hour;
            if let Some(counts) = usize::try_from(index)
                .ok()
                .and_then(|i| per_hour.get_mut(i))
            {
                counts.add(row.outcome, row.count);
            }
        }
        let highest = per_hour.iter().map(Counts::total).max().unwrap_or(0).max(1);
        let mut totals = Counts::default();
        let mut days: Vec<DayRow> = Vec::new();
        let mut bars = Vec::with_capacity(per_hour.len());
        for (i, counts) in per_hour.into_iter().enumerate() {
            let start = (first_hour + i as i64) * HOUR_MS;
            let hour = format_time(&start);
            let day = hour[..10].to_owned();
            match days.last_mut() {
                Some(row) if row.day == day => row.counts.add_all(counts),
                _ => days.push(DayRow { day, counts }),
            }
            totals.add_all(counts);
            bars.push(Bar {
                x: i as i64 * BAR_STEP,
                width: BAR_WIDTH,
                segments: stack(counts, highest),
                counts,
                hour,
            });
        }
        Self {
            bars,
            days,
            totals,
            channels: channel_stats(latencies),
        }
    }
}

/// The bar's pieces from the bottom up, scaled so the busiest hour fills the height.
fn stack(counts: Counts, highest: i64) -> Vec<Segment> {
    let mut bottom = CHART_HEIGHT;
    let mut below = 0;
    OUTCOMES
        .iter()
        .copied()
        .filter(|&outcome| counts.get(outcome) > 0)
        .map(|outcome| {
            let count = counts.get(outcome);
            below += count;
            // Heights from the running total, so rounding never makes a bar taller than its
            // total; every non-zero piece is at least a pixel.
            let reached = (below * CHART_HEIGHT / highest).max(CHART_HEIGHT - bottom + 1);
            let top = (CHART_HEIGHT - reached).max(0);
            let segment = Segment {
                outcome,
                count,
                y: top,
                height: bottom - top,
            };
            bottom = top;
            segment
        })
        .collect()
}

/// One channel's attempts, delivered ones, and `(latency, count)` pairs.
type Tally = (i64, i64, Vec<(i64, i64)>);

fn channel_stats(latencies: &[LatencyCount]) -> Vec<ChannelStats> {
    let mut by_channel: BTreeMap<(&str, &str), Tally> = BTreeMap::new();
    for row in latencies {
        let entry = by_channel.entry((&row.section, &row.channel)).or_default();
        entry.0 += row.count;
        if row.delivered {
            entry.1 += row.count;
        }
        if let Some(ms) = row.latency_ms {
            entry.2.push((ms, row.count));
        }
    }
    by_channel
        .into_iter()
        .map(
            |((section, channel), (attempts, delivered, mut latencies))| {
                latencies.sort_unstable();
                ChannelStats {
                    name: channel_name(section, channel),
                    attempts,
                    delivered,
                    p50_ms: percentile(&latencies, 50),
                    p95_ms: percentile(&latencies, 95),
                }
            },
        )
        .collect()
}

/// The nearest-rank `p`th percentile of sorted `(value, count)` pairs.
fn percentile(sorted: &[(i64, i64)], p: i64) -> Option<i64> {
    let total: i64 = sorted.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let rank = (p * total + 99) / 100;
    let mut seen = 0;
    sorted.iter().find_map(|&(value, n)| {
        seen += n;
        (seen >= rank.max(1)).then_some(value)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_take_the_nearest_rank_of_weighted_values() {
        let values = [(10, 50), (20, 45), (300, 5)];
        assert_eq!(percentile(&values, 50), Some(10));
        assert_eq!(percentile(&values, 95), Some(20));
        assert_eq!(percentile(&values, 96), Some(300));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn stacked_pieces_fill_the_busiest_hour_and_never_overflow() {
        let busiest = Counts {
            first: 6,
            retried: 2,
            retrying: 1,
            failed: 1,
        };
        let pieces = stack(busiest, 10);
        assert_eq!(pieces.iter().map(|s| s.height).sum::<i64>(), CHART_HEIGHT);
        assert_eq!(pieces.last().map(|s| s.y), Some(0));
        let only_failed = Counts {
            failed: 1,
            ..Counts::default()
        };
        let small = stack(only_failed, 1000);
        assert_eq!(small.len(), 1);
        assert_eq!(small[0].height, 1);
    }
}
