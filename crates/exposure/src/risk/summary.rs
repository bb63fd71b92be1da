//! Window scores and per-day summaries (GAEN `DailySummariesConfig` semantics).

use super::RiskLevel;
use super::configuration::{AttenuationBucket, RiskConfiguration};
use super::window::ExposureWindow;

/// What all counted windows of one UTC day add up to (GAEN `DailySummary.summaryData`).
///
/// Scores and durations are weighted seconds: with every weight at 1.0, 15 minutes of
/// exposure score 900.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DailySummary {
    /// The UTC day (days since 1970-01-01).
    pub day: u32,
    /// The highest score of one window that day.
    pub maximum_score: f64,
    /// The sum of the day's window scores: what the risk level is judged on.
    pub score_sum: f64,
    /// The sum of the day's attenuation-weighted durations (no infectiousness or report
    /// type weights).
    pub weighted_duration_sum: f64,
}

impl DailySummary {
    /// The risk level of this day alone.
    pub fn risk_level(&self, config: &RiskConfiguration) -> RiskLevel {
        if self.score_sum >= config.high_risk_daily_score_seconds {
            RiskLevel::High
        } else if self.score_sum >= config.low_risk_daily_score_seconds {
            RiskLevel::Low
        } else {
            RiskLevel::None
        }
    }
}

impl RiskConfiguration {
    /// Σ over the window's scans of seconds × the weight of the scan's attenuation bucket.
    ///
    /// Seconds are first added up per bucket, as ENF does, so that equal inputs give equal
    /// sums whatever the order of the scans.
    pub fn weighted_duration_seconds(&self, window: &ExposureWindow) -> f64 {
        let mut seconds_per_bucket = [0u64; 4];
        for scan in &window.scan_instances {
            let bucket = self.attenuation_bucket(scan.typical_attenuation_db);
            if let Some(total) = seconds_per_bucket.get_mut(bucket as usize) {
                *total = total.saturating_add(u64::from(scan.seconds_since_last_scan));
            }
        }
        [
            AttenuationBucket::Immediate,
            AttenuationBucket::Near,
            AttenuationBucket::Medium,
            AttenuationBucket::Other,
        ]
        .into_iter()
        .zip(seconds_per_bucket)
        .map(|(bucket, seconds)| seconds as f64 * self.attenuation_bucket_weight(bucket))
        .sum()
    }

    /// The window's weighted duration × its report-type weight × its infectiousness weight.
    pub fn window_score(&self, window: &ExposureWindow) -> f64 {
        self.weighted_duration_seconds(window)
            * self.report_type_weight(window.report_type)
            * self.infectiousness_weight(window.infectiousness)
    }
}

/// One summary per UTC day that has a window scoring at least the minimum window score,
/// in day order.
pub fn daily_summaries(
    windows: &[ExposureWindow],
    config: &RiskConfiguration,
) -> Vec<DailySummary> {
    let mut summaries: Vec<DailySummary> = Vec::new();
    let mut by_day: Vec<(u32, f64, f64)> = windows
        .iter()
        .map(|window| {
            (
                window.date_days_since_epoch,
                config.window_score(window),
                config.weighted_duration_seconds(window),
            )
        })
        .filter(|&(_, score, _)| score >= config.minimum_window_score)
        .collect();
    // Sorting by (day, score, duration) makes the sums independent of the order of the keys.
    by_day.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.total_cmp(&b.1))
            .then(a.2.total_cmp(&b.2))
    });
    for (day, score, weighted_duration) in by_day {
        match summaries.last_mut() {
            Some(summary) if summary.day == day => {
                summary.maximum_score = summary.maximum_score.max(score);
                summary.score_sum += score;
                summary.weighted_duration_sum += weighted_duration;
            }
            _ => summaries.push(DailySummary {
                day,
                maximum_score: score,
                score_sum: score,
                weighted_duration_sum: weighted_duration,
            }),
        }
    }
    summaries
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::ReportType;
    use crate::risk::configuration::Infectiousness;
    use crate::risk::window::{CalibrationConfidence, ScanInstance};

    fn window(day: u32, scans: &[(u8, u32)], infectiousness: Infectiousness) -> ExposureWindow {
        ExposureWindow {
            date_days_since_epoch: day,
            start_unix_seconds: u64::from(day) * 86_400,
            report_type: ReportType::ConfirmedTest,
            infectiousness,
            calibration_confidence: CalibrationConfidence::Low,
            scan_instances: scans
                .iter()
                .map(|&(attenuation, seconds)| ScanInstance {
                    typical_attenuation_db: attenuation,
                    min_attenuation_db: attenuation,
                    seconds_since_last_scan: seconds,
                })
                .collect(),
        }
    }

    #[test]
    fn weighted_duration_multiplies_seconds_by_bucket_weights() {
        let config = RiskConfiguration::default();
        // 120 s immediate (1.75) + 300 s near (1.0) + 300 s medium (0.33) + 300 s other (0).
        let w = window(
            1,
            &[(50, 120), (60, 300), (70, 300), (90, 300)],
            Infectiousness::High,
        );
        let expected = 120.0 * 1.75 + 300.0 + 300.0 * 0.33;
        assert!((config.weighted_duration_seconds(&w) - expected).abs() < 1e-9);
        assert!((config.window_score(&w) - expected).abs() < 1e-9);

        let standard = window(1, &[(50, 120)], Infectiousness::Standard);
        assert!((config.window_score(&standard) - 120.0 * 1.75 * 0.3).abs() < 1e-9);
    }

    #[test]
    fn days_add_up_their_windows_and_keep_the_largest() {
        let config = RiskConfiguration::default();
        let windows = [
            window(3, &[(60, 300)], Infectiousness::High),
            window(2, &[(60, 120)], Infectiousness::High),
            window(3, &[(60, 600)], Infectiousness::High),
        ];
        let summaries = daily_summaries(&windows, &config);
        assert_eq!(
            summaries,
            vec![
                DailySummary {
                    day: 2,
                    maximum_score: 120.0,
                    score_sum: 120.0,
                    weighted_duration_sum: 120.0,
                },
                DailySummary {
                    day: 3,
                    maximum_score: 600.0,
                    score_sum: 900.0,
                    weighted_duration_sum: 900.0,
                },
            ]
        );
        assert_eq!(summaries[0].risk_level(&config), RiskLevel::None);
        assert_eq!(summaries[1].risk_level(&config), RiskLevel::High);
    }

    #[test]
    fn windows_below_the_minimum_score_are_left_out() {
        let config = RiskConfiguration {
            minimum_window_score: 200.0,
            ..RiskConfiguration::default()
        };
        let windows = [
            window(3, &[(60, 120)], Infectiousness::High),
            window(3, &[(60, 300)], Infectiousness::High),
            window(4, &[(60, 100)], Infectiousness::High),
        ];
        let summaries = daily_summaries(&windows, &config);
        assert_eq!(summaries.len(), 1);
        assert_eq!(summaries[0].score_sum, 300.0);
    }

    #[test]
    fn the_weighted_duration_ignores_infectiousness_and_report_type() {
        let config = RiskConfiguration::default();
        let summaries = daily_summaries(
            &[window(5, &[(60, 300)], Infectiousness::Standard)],
            &config,
        );
        assert!((summaries[0].score_sum - 90.0).abs() < 1e-9);
        assert_eq!(summaries[0].weighted_duration_sum, 300.0);
    }
}
