//! Daily statistics for the whole system: codes issued and used, uploads, keys published,
//! venue warnings; as a server-rendered SVG chart, a table and a CSV file. Every figure is
//! a count per day: nothing here can point at a person.

use messages::retention;
use plotters::prelude::*;

use crate::clock::{date_of, format_date};
use crate::datastore::{DatastoreError, DayCounts, Store};
use crate::web::Language;

/// Days shown: the retention period, beyond which the underlying rows are purged anyway.
pub const STATISTICS_DAYS: i64 = retention::DAYS as i64;

/// The last `STATISTICS_DAYS` days, oldest first, today included.
pub(crate) async fn daily(store: &Store, now: i64) -> Result<Vec<DayCounts>, DatastoreError> {
    store.daily_counts(now, STATISTICS_DAYS).await
}

/// The statistics as CSV, one line per day, oldest first.
pub(crate) fn csv(days: &[DayCounts]) -> String {
    let mut text =
        String::from("day,codes_issued,codes_used,uploads,keys_published,venue_warnings\n");
    for day in days {
        text.push_str(&format!(
            "{},{},{},{},{},{}\n",
            format_date(date_of(day.day)),
            day.codes_issued,
            day.codes_used,
            day.uploads,
            day.keys_published,
            day.venue_warnings
        ));
    }
    text
}

/// Series colours, dark enough to tell apart on white and in greyscale print.
const SERIES: [(&str, RGBColor); 4] = [
    ("statistics-codes-issued", RGBColor(0, 0, 145)),
    ("statistics-codes-used", RGBColor(22, 112, 74)),
    ("statistics-uploads", RGBColor(179, 0, 27)),
    ("statistics-venue-warnings", RGBColor(120, 80, 0)),
];

fn value(day: &DayCounts, series: usize) -> u64 {
    match series {
        0 => day.codes_issued,
        1 => day.codes_used,
        2 => day.uploads,
        _ => day.venue_warnings,
    }
}

/// A line chart of the daily counts (keys published, on another scale, stay in the table).
pub(crate) fn chart_svg(days: &[DayCounts], language: Language) -> Result<String, String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 360)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let top = days
            .iter()
            .flat_map(|day| (0..SERIES.len()).map(move |series| value(day, series)))
            .max()
            .unwrap_or(0)
            .max(4);
        let last = u32::try_from(days.len().saturating_sub(1))
            .unwrap_or(0)
            .max(1);
        let mut chart = ChartBuilder::on(&root)
            .margin(16)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0u32..last, 0u64..top + top / 8 + 1)
            .map_err(|e| e.to_string())?;
        let label_of = |index: &u32| {
            days.get(*index as usize)
                .map(|day| {
                    format_date(date_of(day.day))
                        .get(5..)
                        .unwrap_or_default()
                        .to_owned()
                })
                .unwrap_or_default()
        };
        chart
            .configure_mesh()
            .x_labels(days.len().max(1))
            .x_label_formatter(&label_of)
            .y_labels(6)
            .label_style(("sans-serif", 14))
            .light_line_style(RGBColor(235, 235, 235))
            .draw()
            .map_err(|e| e.to_string())?;
        for (series, (message, colour)) in SERIES.iter().enumerate() {
            let colour = *colour;
            chart
                .draw_series(LineSeries::new(
                    days.iter()
                        .enumerate()
                        .map(|(index, day)| (index as u32, value(day, series))),
                    colour.stroke_width(3),
                ))
                .map_err(|e| e.to_string())?
                .label(language.text(message))
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(3))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 14))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    let start = svg.find("<svg").unwrap_or(0);
    Ok(svg.split_off(start))
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400;

    fn sample() -> Vec<DayCounts> {
        (0..STATISTICS_DAYS)
            .map(|index| DayCounts {
                day: 1_606_089_600 + index * DAY,
                codes_issued: index as u64,
                codes_used: (index / 2) as u64,
                uploads: (index / 3) as u64,
                keys_published: (index * 10) as u64,
                venue_warnings: 0,
            })
            .collect()
    }

    #[test]
    fn csv_has_a_header_and_one_line_per_day() {
        let text = csv(&sample());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 15);
        assert_eq!(
            lines[0],
            "day,codes_issued,codes_used,uploads,keys_published,venue_warnings"
        );
        assert_eq!(lines[1], "2020-11-23,0,0,0,0,0");
        assert_eq!(lines[14], "2020-12-06,13,6,4,130,0");
    }

    #[test]
    fn chart_is_an_inline_svg_with_translated_legend() {
        let svg = chart_svg(&sample(), Language::French).expect("draws");
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("Codes délivrés"));
        assert!(svg.contains("12-06"));
        assert!(!svg.contains("style="));
        let empty = chart_svg(&[], Language::English).expect("draws with no data");
        assert!(empty.contains("Codes issued"));
    }
}
