//! Precision and recall of a channel as its warning threshold varies, and their chart.
//!
//! Each phone's highest score is kept; warning everyone whose score reaches a threshold gives
//! one (recall, precision) point per threshold. Sweeping the threshold over every score the
//! phones reached traces the whole curve, on which the default configuration is one point.

use std::collections::{BTreeMap, BTreeSet};

use plotters::prelude::*;
use serde::Serialize;

use crate::PersonId;
use crate::timeline::ChartError;
use crate::truth::ChannelScore;

/// One threshold and what warning from it would have given.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct CurvePoint {
    pub threshold: f64,
    pub warned: usize,
    pub recall: f64,
    pub precision: f64,
}

/// A channel's precision/recall curve.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Curve {
    pub channel: &'static str,
    /// What the threshold measures, for the chart's legend.
    pub unit: &'static str,
    /// The point of the default configuration.
    pub default: CurvePoint,
    /// Every threshold a phone's score reached, lowest first.
    pub points: Vec<CurvePoint>,
}

impl Curve {
    /// The curve of warning the people of `scores` (judged people only) whose score
    /// reaches each threshold, against `exposed`.
    pub fn trace(
        channel: &'static str,
        unit: &'static str,
        exposed: &BTreeSet<PersonId>,
        scores: &BTreeMap<PersonId, f64>,
        default_threshold: f64,
    ) -> Self {
        let point = |threshold: f64| {
            let warned: BTreeSet<PersonId> = scores
                .iter()
                .filter(|&(_, &score)| score >= threshold)
                .map(|(&person, _)| person)
                .collect();
            let score = ChannelScore::compare(exposed, &warned);
            CurvePoint {
                threshold,
                warned: warned.len(),
                recall: score.recall,
                precision: score.precision,
            }
        };
        let mut thresholds: Vec<f64> = scores
            .values()
            .copied()
            .filter(|score| *score > 0.0)
            .collect();
        thresholds.sort_by(f64::total_cmp);
        thresholds.dedup();
        Self {
            channel,
            unit,
            default: point(default_threshold),
            points: thresholds.into_iter().map(point).collect(),
        }
    }
}

fn chart_error(error: impl std::fmt::Display) -> ChartError {
    ChartError(error.to_string())
}

/// An SVG chart of the curves (recall across, precision up), each channel's default
/// configuration marked.
pub fn curves_svg(curves: &[Curve], title: &str) -> Result<String, ChartError> {
    let colours = [RGBColor(20, 90, 180), RGBColor(30, 140, 70)];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (720, 560)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(16)
            .x_label_area_size(40)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..1.02, 0.0..1.02)
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .x_desc("recall (share of the exposed who were warned)")
            .y_desc("precision (share of warnings that were right)")
            .draw()
            .map_err(chart_error)?;
        for (curve, colour) in curves.iter().zip(colours.iter().cycle()) {
            let colour = *colour;
            chart
                .draw_series(LineSeries::new(
                    curve.points.iter().map(|p| (p.recall, p.precision)),
                    colour.stroke_width(2),
                ))
                .map_err(chart_error)?
                .label(format!("{} (threshold: {})", curve.channel, curve.unit))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            let default = (curve.default.recall, curve.default.precision);
            chart
                .draw_series([
                    Circle::new(default, 7, colour.filled()).into_dyn(),
                    Text::new(
                        format!(
                            "default {}: recall {:.2}, precision {:.2}",
                            curve.channel, default.0, default.1
                        ),
                        (default.0 - 0.55, default.1 - 0.04),
                        ("sans-serif", 14),
                    )
                    .into_dyn(),
                ])
                .map_err(chart_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_higher_threshold_warns_fewer_and_the_default_is_marked() {
        let exposed = BTreeSet::from([1, 2, 3]);
        let scores = BTreeMap::from([(1, 30.0), (2, 20.0), (3, 5.0), (4, 25.0), (5, 2.0)]);
        let curve = Curve::trace("venue", "risk score", &exposed, &scores, 10.0);
        let thresholds: Vec<f64> = curve.points.iter().map(|p| p.threshold).collect();
        assert_eq!(thresholds, vec![2.0, 5.0, 20.0, 25.0, 30.0]);
        // At 10: 1, 2 and 4 are warned; 1 and 2 rightly.
        assert_eq!(curve.default.warned, 3);
        assert!((curve.default.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((curve.default.precision - 2.0 / 3.0).abs() < 1e-12);
        // The lowest threshold warns everyone with a score: full recall.
        assert_eq!(curve.points[0].recall, 1.0);
        assert_eq!(curve.points[0].warned, 5);
        let svg = curves_svg(&[curve], "Venue warnings").unwrap();
        assert!(svg.contains("default venue: recall 0.67, precision 0.67"));
        assert!(svg.contains("<circle"));
    }
}
