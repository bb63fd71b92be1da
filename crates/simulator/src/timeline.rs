//! What happened day by day, and the chart the demo writes.

use plotters::prelude::*;
use serde::Serialize;

/// One simulated day, in numbers.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct DayStats {
    pub day: u32,
    /// People infected that day.
    pub new_infections: usize,
    /// People diagnosed that day (and given a code if they run the app).
    pub diagnosed: usize,
    /// People who reported through the app that day.
    pub reports: usize,
    /// People warned of a proximity exposure, cumulative.
    pub proximity_warned: usize,
    /// People warned of a venue exposure, cumulative.
    pub venue_warned: usize,
    /// People who should have been warned of a proximity exposure by then, cumulative
    /// (known once the run is over: it depends on who reports later).
    pub proximity_should_be_warned: usize,
    /// People who should have been warned of a venue exposure by then, cumulative.
    pub venue_should_be_warned: usize,
}

/// A line of the chart: its legend, its colour, and the number it plots.
type Series = (&'static str, RGBColor, fn(&DayStats) -> usize);

/// The whole run, day by day.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timeline {
    pub days: Vec<DayStats>,
}

/// The chart could not be drawn.
#[derive(Debug, thiserror::Error)]
#[error("could not draw the chart: {0}")]
pub struct ChartError(pub(crate) String);

impl Timeline {
    /// An SVG line chart of infections, reports and warnings over the days.
    pub fn chart_svg(&self, title: &str) -> Result<String, ChartError> {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (900, 480)).into_drawing_area();
            root.fill(&WHITE).map_err(|e| ChartError(e.to_string()))?;
            let last_day = self.days.last().map_or(1, |d| d.day.max(1));
            let top = self
                .days
                .iter()
                .map(|d| {
                    d.new_infections
                        .max(d.proximity_warned)
                        .max(d.venue_warned)
                        .max(d.proximity_should_be_warned)
                        .max(d.venue_should_be_warned)
                })
                .max()
                .unwrap_or(1)
                .max(1) as u32;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 22))
                .margin(16)
                .x_label_area_size(40)
                .y_label_area_size(50)
                .build_cartesian_2d(0u32..last_day, 0u32..top + top / 10 + 1)
                .map_err(|e| ChartError(e.to_string()))?;
            chart
                .configure_mesh()
                .x_desc("day")
                .y_desc("people")
                .draw()
                .map_err(|e| ChartError(e.to_string()))?;
            let series: [Series; 6] = [
                ("new infections", RGBColor(200, 60, 40), |d| {
                    d.new_infections
                }),
                ("reports", RGBColor(110, 110, 110), |d| d.reports),
                ("warned (proximity)", RGBColor(20, 90, 180), |d| {
                    d.proximity_warned
                }),
                ("warned (venues)", RGBColor(30, 140, 70), |d| d.venue_warned),
                (
                    "should have been warned (proximity)",
                    RGBColor(120, 170, 230),
                    |d| d.proximity_should_be_warned,
                ),
                (
                    "should have been warned (venues)",
                    RGBColor(130, 200, 140),
                    |d| d.venue_should_be_warned,
                ),
            ];
            for (index, (label, colour, value)) in series.into_iter().enumerate() {
                // The truth's lines are thinner, under the warnings they should match.
                let width = if index < 4 { 3 } else { 2 };
                chart
                    .draw_series(LineSeries::new(
                        self.days.iter().map(|d| (d.day, value(d) as u32)),
                        colour.stroke_width(width),
                    ))
                    .map_err(|e| ChartError(e.to_string()))?
                    .label(label)
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(width))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperLeft)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()
                .map_err(|e| ChartError(e.to_string()))?;
            root.present().map_err(|e| ChartError(e.to_string()))?;
        }
        Ok(svg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_is_an_svg_with_every_series() {
        let timeline = Timeline {
            days: (0..14)
                .map(|day| DayStats {
                    day,
                    new_infections: day as usize,
                    diagnosed: 1,
                    reports: 1,
                    proximity_warned: 2 * day as usize,
                    venue_warned: day as usize / 2,
                    proximity_should_be_warned: 2 * day as usize + 1,
                    venue_should_be_warned: day as usize,
                })
                .collect(),
        };
        let svg = timeline.chart_svg("Two weeks in town").unwrap();
        assert!(svg.starts_with("<svg"));
        for label in [
            "new infections",
            "reports",
            "warned (proximity)",
            "warned (venues)",
            "should have been warned (proximity)",
            "should have been warned (venues)",
            "Two weeks in town",
        ] {
            assert!(svg.contains(label), "missing {label}");
        }
        // Each series is drawn in its own colour (the legend repeats it).
        for colour in [
            "#C83C28", "#6E6E6E", "#145AB4", "#1E8C46", "#78AAE6", "#82C88C",
        ] {
            assert!(svg.contains(colour), "no line drawn in {colour}");
        }
    }
}
