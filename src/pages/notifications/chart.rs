//! Delivery health, drawn from the hourly roll-up: the last week's payment notifications by
//! outcome as server-rendered SVG bars (per hour, or per day while they are few) on labelled
//! axes, the same numbers per day in a table, each channel's success rate and latency, and the
//! last 24 hours in one line for the log page.

use std::collections::BTreeMap;

use super::channel_name;
use crate::domain::Environment;
use crate::domain::TimeZone;
use crate::i18n::format_in;
use crate::store::delivery_hours::{HOUR_MS, HourRow, LATENCY_BOUNDS_MS, Latencies};
use crate::store::delivery_log::HourOutcome;

/// Hours the chart shows, ending with the current one.
pub const CHART_HOURS: i64 = 7 * 24;
/// Below this many notifications in the week the chart draws one bar per day: an hourly chart
/// of a handful is an empty box with a sliver at its edge.
const DAILY_BELOW: i64 = CHART_HOURS;
/// The SVG's coordinates: the plot, and room for the axes' labels left and below.
pub const VIEW_WIDTH: i64 = 900;
pub const VIEW_HEIGHT: i64 = 210;
pub const PLOT_LEFT: i64 = 52;
pub const PLOT_TOP: i64 = 10;
pub const PLOT_WIDTH: i64 = 840;
pub const PLOT_HEIGHT: i64 = 160;
pub const PLOT_BOTTOM: i64 = PLOT_TOP + PLOT_HEIGHT;

/// How notifications ended (so far), in the order the bars stack them.
pub const OUTCOMES: &[HourOutcome] = HourOutcome::ALL;

/// Notifications by outcome.
#[derive(Debug, Default, Clone, Copy)]
pub struct Counts {
    pub first: i64,
    pub retried: i64,
    pub retrying: i64,
    pub failed: i64,
}

impl Counts {
    fn of(row: &HourRow) -> Self {
        Self {
            first: row.first_try,
            retried: row.retried,
            retrying: row.retrying,
            failed: row.failed,
        }
    }

    fn add(&mut self, other: Counts) {
        self.first += other.first;
        self.retried += other.retried;
        self.retrying += other.retrying;
        self.failed += other.failed;
    }

    pub fn total(&self) -> i64 {
        self.first + self.retried + self.retrying + self.failed
    }

    pub fn delivered(&self) -> i64 {
        self.first + self.retried
    }

    fn get(&self, outcome: HourOutcome) -> i64 {
        match outcome {
            HourOutcome::First => self.first,
            HourOutcome::Retried => self.retried,
            HourOutcome::Retrying => self.retrying,
            HourOutcome::Failed => self.failed,
        }
    }

    /// Delivered notifications among those tried, with one decimal; "—" when none was.
    pub fn success_rate(&self) -> String {
        percent(self.delivered(), self.total())
    }
}

/// `part` of `whole` as a percentage with one decimal; "—" of nothing.
fn percent(part: i64, whole: i64) -> String {
    if whole == 0 {
        return "—".into();
    }
    let per_mille = (part * 1000 + whole / 2) / whole;
    format!("{}.{}%", per_mille / 10, per_mille % 10)
}

/// One stacked piece of a bar.
pub struct Segment {
    pub outcome: HourOutcome,
    pub count: i64,
    pub y: i64,
    pub height: i64,
}

/// One bar: an hour, or a day.
pub struct Bar {
    /// `YYYY-MM-DD HH:00 UTC`, or `YYYY-MM-DD` for a day.
    pub start: String,
    pub x: i64,
    pub width: i64,
    pub counts: Counts,
    pub segments: Vec<Segment>,
}

/// A label on an axis, at `at` (x for dates, y for counts).
pub struct Tick {
    pub at: i64,
    pub label: String,
}

/// One day's row of the table beside the chart.
pub struct DayRow {
    /// `YYYY-MM-DD`.
    pub day: String,
    pub counts: Counts,
}

/// One channel and environment over the week.
pub struct ChannelStats {
    pub name: String,
    pub environment: Environment,
    pub counts: Counts,
    pub attempts: i64,
    pub delivered_attempts: i64,
    /// The latency bucket's upper bound (ms) the median and the 95th percentile fall in;
    /// `None` above the last bound.
    pub p50: Option<Option<i64>>,
    pub p95: Option<Option<i64>>,
}

impl ChannelStats {
    /// A percentile as the reader sees it: "≤ 200 ms", "> 10000 ms", or "—".
    pub fn latency(value: &Option<Option<i64>>) -> String {
        match value {
            Some(Some(ms)) => format!("≤ {ms} ms"),
            Some(None) => format!("> {} ms", LATENCY_BOUNDS_MS[LATENCY_BOUNDS_MS.len() - 1]),
            None => "—".into(),
        }
    }
}

/// Everything the health page draws.
pub struct Health {
    pub bars: Vec<Bar>,
    /// One bar per day rather than per hour.
    pub daily: bool,
    pub counts_axis: Vec<Tick>,
    pub dates_axis: Vec<Tick>,
    pub days: Vec<DayRow>,
    pub totals: Counts,
    pub channels: Vec<ChannelStats>,
}

/// When the chart's first hour starts (ms), for a chart ending with the hour of `now`.
pub fn window_start(now: i64) -> i64 {
    (now.div_euclid(HOUR_MS) - CHART_HOURS + 1) * HOUR_MS
}

/// The first hour (since the epoch) of the 24 ending with the hour of `now`.
pub fn day_window_start(now: i64) -> i64 {
    now.div_euclid(HOUR_MS) - 23
}

/// The last 24 hours' payment notifications by outcome, for the log's one line.
pub fn last_day(rows: &[HourRow]) -> Counts {
    let mut counts = Counts::default();
    rows.iter().for_each(|row| counts.add(Counts::of(row)));
    counts
}

impl Health {
    /// From the roll-up rows of the hours since `since` (ms), its days as `zone` counts them.
    pub fn build(since: i64, rows: &[HourRow], zone: TimeZone) -> Self {
        let first_hour = since.div_euclid(HOUR_MS);
        let mut per_hour = vec![Counts::default(); CHART_HOURS as usize];
        for row in rows {
            if let Some(counts) = usize::try_from(row.hour - first_hour)
                .ok()
                .and_then(|i| per_hour.get_mut(i))
            {
                counts.add(Counts::of(row));
            }
        }
        let mut totals = Counts::default();
        let mut days: Vec<DayRow> = Vec::new();
        // Where each day starts, in hours from the chart's start.
        let mut day_starts: Vec<i64> = Vec::new();
        for (i, counts) in per_hour.iter().enumerate() {
            let day = zone.day_of((first_hour + i as i64) * HOUR_MS);
            match days.last_mut() {
                Some(row) if row.day == day => row.counts.add(*counts),
                _ => {
                    day_starts.push(i as i64);
                    days.push(DayRow {
                        day,
                        counts: *counts,
                    });
                }
            }
            totals.add(*counts);
        }
        let daily = totals.total() < DAILY_BELOW;
        let highest = if daily {
            days.iter().map(|d| d.counts.total()).max()
        } else {
            per_hour.iter().map(Counts::total).max()
        };
        let top = nice_ceiling(highest.unwrap_or(0));
        let bars = if daily {
            let step = PLOT_WIDTH / days.len().max(1) as i64;
            days.iter()
                .enumerate()
                .map(|(i, day)| Bar {
                    start: day.day.clone(),
                    x: PLOT_LEFT + i as i64 * step + step / 6,
                    width: step * 2 / 3,
                    segments: stack(day.counts, top),
                    counts: day.counts,
                })
                .collect()
        } else {
            let step = PLOT_WIDTH / CHART_HOURS;
            per_hour
                .iter()
                .enumerate()
                .filter(|(_, counts)| counts.total() > 0)
                .map(|(i, counts)| Bar {
                    start: format_in((first_hour + i as i64) * HOUR_MS, zone),
                    x: PLOT_LEFT + i as i64 * step,
                    width: step - 1,
                    segments: stack(*counts, top),
                    counts: *counts,
                })
                .collect()
        };
        let dates_axis = if daily {
            let step = PLOT_WIDTH / days.len().max(1) as i64;
            (0..days.len())
                .map(|i| Tick {
                    at: PLOT_LEFT + i as i64 * step + step / 2,
                    label: days[i].day[5..].to_owned(),
                })
                .collect()
        } else {
            let step = PLOT_WIDTH / CHART_HOURS;
            day_starts
                .iter()
                .zip(&days)
                // A day that starts too near the right edge has no room for its label.
                .filter(|(start, _)| **start <= CHART_HOURS - 12)
                .map(|(start, day)| Tick {
                    at: PLOT_LEFT + start * step,
                    label: day.day[5..].to_owned(),
                })
                .collect()
        };
        let counts_axis = [0, top / 2, top]
            .into_iter()
            .filter(|&n| n == 0 || n == top || top % 2 == 0)
            .map(|n| Tick {
                at: PLOT_BOTTOM - n * PLOT_HEIGHT / top,
                label: n.to_string(),
            })
            .collect();
        Self {
            bars,
            daily,
            counts_axis,
            dates_axis,
            days,
            totals,
            channels: channel_stats(rows),
        }
    }
}

/// The smallest of 1, 2 and 5 times a power of ten that is at least `n` (and at least 1): the
/// top of the counts axis, so its labels are round.
fn nice_ceiling(n: i64) -> i64 {
    let mut power = 1;
    loop {
        for step in [1, 2, 5] {
            if step * power >= n {
                return step * power;
            }
        }
        power *= 10;
    }
}

/// The bar's pieces from the bottom up, scaled so `top` fills the plot's height.
fn stack(counts: Counts, top: i64) -> Vec<Segment> {
    let mut bottom = PLOT_BOTTOM;
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
            let reached = (below * PLOT_HEIGHT / top).max(PLOT_BOTTOM - bottom + 1);
            let y = (PLOT_BOTTOM - reached).max(PLOT_TOP);
            let segment = Segment {
                outcome,
                count,
                y,
                height: bottom - y,
            };
            bottom = y;
            segment
        })
        .collect()
}

/// One channel and environment's counts, attempts and latency buckets over the week.
type Tally = (Counts, i64, i64, Latencies);

fn channel_stats(rows: &[HourRow]) -> Vec<ChannelStats> {
    // Keyed by the environment's place in `Environment::ALL`, so the table lists them in order.
    let mut by_channel: BTreeMap<(&str, &str, usize), Tally> = BTreeMap::new();
    for row in rows {
        let environment = Environment::ALL
            .iter()
            .position(|&e| e == row.environment)
            .unwrap_or(0);
        let key = (row.section.as_str(), row.channel.as_str(), environment);
        let entry = by_channel.entry(key).or_default();
        entry.0.add(Counts::of(row));
        entry.1 += row.attempts;
        entry.2 += row.delivered_attempts;
        for (sum, n) in entry.3.0.iter_mut().zip(row.latencies.0) {
            *sum += n;
        }
    }
    by_channel
        .into_iter()
        .map(
            |((section, channel, environment), (counts, attempts, delivered, latencies))| {
                ChannelStats {
                    name: channel_name(section, channel),
                    environment: Environment::ALL[environment],
                    counts,
                    attempts,
                    delivered_attempts: delivered,
                    p50: percentile(&latencies, 50),
                    p95: percentile(&latencies, 95),
                }
            },
        )
        .collect()
}

/// The bucket the nearest-rank `p`th percentile falls in: its upper bound, `Some(None)` for
/// the open last bucket, `None` with no latency at all.
fn percentile(latencies: &Latencies, p: i64) -> Option<Option<i64>> {
    let total: i64 = latencies.0.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = ((p * total + 99) / 100).max(1);
    let mut seen = 0;
    latencies.0.iter().enumerate().find_map(|(i, &n)| {
        seen += n;
        (seen >= rank).then(|| LATENCY_BOUNDS_MS.get(i).copied())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_fall_in_the_bucket_of_the_nearest_rank() {
        let mut latencies = Latencies::default();
        latencies.0[0] = 50;
        latencies.0[1] = 45;
        latencies.0[9] = 5;
        assert_eq!(percentile(&latencies, 50), Some(Some(50)));
        assert_eq!(percentile(&latencies, 95), Some(Some(100)));
        assert_eq!(percentile(&latencies, 96), Some(None));
        assert_eq!(percentile(&Latencies::default(), 50), None);
    }

    #[test]
    fn the_counts_axis_tops_at_a_round_number() {
        assert_eq!(nice_ceiling(0), 1);
        assert_eq!(nice_ceiling(3), 5);
        assert_eq!(nice_ceiling(11), 20);
        assert_eq!(nice_ceiling(500), 500);
        assert_eq!(nice_ceiling(501), 1000);
    }

    #[test]
    fn stacked_pieces_fill_the_top_and_never_overflow() {
        let busiest = Counts {
            first: 6,
            retried: 2,
            retrying: 1,
            failed: 1,
        };
        let pieces = stack(busiest, 10);
        assert_eq!(pieces.iter().map(|s| s.height).sum::<i64>(), PLOT_HEIGHT);
        assert_eq!(pieces.last().map(|s| s.y), Some(PLOT_TOP));
        let only_failed = Counts {
            failed: 1,
            ..Counts::default()
        };
        let small = stack(only_failed, 1000);
        assert_eq!(small.len(), 1);
        assert_eq!(small[0].height, 1);
    }

    #[test]
    fn a_quiet_week_is_drawn_per_day_and_a_busy_one_per_hour() {
        let now = 1_765_000_000_000;
        let since = window_start(now);
        let row = |hour: i64, first: i64| HourRow {
            hour,
            section: "va".into(),
            channel: "bca".into(),
            environment: Environment::Sandbox,
            first_try: first,
            retried: 0,
            retrying: 0,
            failed: 0,
            attempts: first,
            delivered_attempts: first,
            latencies: Latencies::default(),
        };
        let last = now.div_euclid(HOUR_MS);
        let quiet = Health::build(since, &[row(last, 3)], TimeZone::Wib);
        assert!(quiet.daily);
        assert_eq!(quiet.bars.len(), quiet.days.len());
        let tallest = quiet.bars.iter().map(|b| b.counts.total()).max();
        assert_eq!(tallest, Some(3));
        let busy = Health::build(since, &[row(last, 500), row(last - 30, 1)], TimeZone::Wib);
        assert!(!busy.daily);
        assert_eq!(busy.bars.len(), 2);
        assert_eq!(
            busy.counts_axis.last().map(|t| t.label.as_str()),
            Some("500")
        );
    }

    #[test]
    fn days_are_the_readers_days() {
        // 2026-12-05 16:00 UTC to 2026-12-06 00:00 UTC: the evening of the 5th in UTC, the
        // early hours of the 6th in WIB.
        let evening = 1_796_486_400_000 / HOUR_MS;
        let rows: Vec<HourRow> = (evening..evening + 8)
            .map(|hour| HourRow {
                hour,
                section: "va".into(),
                channel: "bca".into(),
                environment: Environment::Sandbox,
                first_try: 1,
                retried: 0,
                retrying: 0,
                failed: 0,
                attempts: 1,
                delivered_attempts: 1,
                latencies: Latencies::default(),
            })
            .collect();
        let since = (evening + 8) * HOUR_MS - (CHART_HOURS - 1) * HOUR_MS;
        let per_day = |zone| {
            Health::build(since, &rows, zone)
                .days
                .into_iter()
                .filter(|d| d.counts.total() > 0)
                .map(|d| (d.day, d.counts.total()))
                .collect::<Vec<_>>()
        };
        assert_eq!(per_day(TimeZone::Utc), [("2026-12-05".to_owned(), 8)]);
        assert_eq!(
            per_day(TimeZone::Wib),
            [("2026-12-05".to_owned(), 1), ("2026-12-06".to_owned(), 7)]
        );
    }
}
