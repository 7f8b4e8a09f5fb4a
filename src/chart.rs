//! Terminal charts for the report: a daily series with its forecast and 95% band, and
//! horizontal bars, drawn by ratatui into an off-screen buffer and returned as text lines.

use chrono::NaiveDate;
use ratatui::buffer::Buffer;
use ratatui::layout::{Direction, Rect};
use ratatui::symbols::Marker;
use ratatui::text::Line;
use ratatui::widgets::{Axis, Bar, BarChart, BarGroup, Chart, Dataset, GraphType, Widget};

/// One day of a forecast as the chart draws it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    pub day: NaiveDate,
    pub point: f64,
    pub lo95: f64,
    pub hi95: f64,
}

/// The smallest width a chart is drawn at; narrower terminals get the tables alone.
pub const MIN_WIDTH: usize = 40;

/// What the marks of [`series_with_forecast`] mean, for a line under the chart (ratatui's own
/// legend box would cover the latest days, which matter most).
pub const SERIES_LEGEND: &str = "⣿ revenue by day, then the forecast · • 95% interval";

/// A line chart of `history` (one value per day) followed by `forecast` and its 95% band,
/// `width` × `height` characters, with the first, middle and last day on the x axis.
pub fn series_with_forecast(
    history: &[(NaiveDate, f64)],
    forecast: &[BandPoint],
    width: usize,
    height: usize,
) -> Vec<String> {
    let Some(first_day) = history
        .first()
        .map(|(d, _)| *d)
        .or_else(|| forecast.first().map(|f| f.day))
    else {
        return Vec::new();
    };
    let x = |day: NaiveDate| (day - first_day).num_days() as f64;
    let past: Vec<(f64, f64)> = history.iter().map(|(d, v)| (x(*d), *v)).collect();
    // The forecast line starts at the last observed day so the two lines join.
    let ahead: Vec<(f64, f64)> = history
        .last()
        .map(|(d, v)| (x(*d), *v))
        .into_iter()
        .chain(forecast.iter().map(|f| (x(f.day), f.point)))
        .collect();
    let band: Vec<(f64, f64)> = forecast
        .iter()
        .flat_map(|f| [(x(f.day), f.lo95), (x(f.day), f.hi95)])
        .collect();
    let last_day = forecast
        .last()
        .map(|f| f.day)
        .or_else(|| history.last().map(|(d, _)| *d))
        .unwrap_or(first_day);
    let x_max = x(last_day).max(1.0);
    let y_max = past
        .iter()
        .chain(&ahead)
        .chain(&band)
        .map(|(_, y)| *y)
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.05;
    let middle = first_day + chrono::Days::new((x_max / 2.0) as u64);
    let datasets = vec![
        Dataset::default()
            .name("revenue")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .data(&past),
        Dataset::default()
            .name("forecast")
            .marker(Marker::Braille)
            .graph_type(GraphType::Line)
            .data(&ahead),
        Dataset::default()
            .name("95% band")
            .marker(Marker::Dot)
            .graph_type(GraphType::Scatter)
            .data(&band),
    ];
    let chart = Chart::new(datasets)
        .x_axis(Axis::default().bounds([0.0, x_max]).labels([
            Line::from(first_day.format("%m-%d").to_string()),
            Line::from(middle.format("%m-%d").to_string()),
            Line::from(last_day.format("%m-%d").to_string()),
        ]))
        .y_axis(Axis::default().bounds([0.0, y_max]).labels([
            Line::from("0"),
            Line::from(compact(y_max / 2.0)),
            Line::from(compact(y_max)),
        ]))
        .legend_position(None);
    render(chart, width, height)
}

/// Horizontal bars, one per `(label, value)`, the longest bar filling the width.
pub fn bars(items: &[(String, u64)], width: usize) -> Vec<String> {
    if items.is_empty() {
        return Vec::new();
    }
    let bars: Vec<Bar> = items
        .iter()
        .map(|(label, value)| {
            Bar::default()
                .label(Line::from(label.clone()))
                .value(*value)
                .text_value(compact(*value as f64))
        })
        .collect();
    let chart = BarChart::default()
        .direction(Direction::Horizontal)
        .bar_width(1)
        .bar_gap(0)
        .data(BarGroup::default().bars(&bars));
    render(chart, width, items.len())
}

/// `12.3k`, `4.5M`: axis labels and bar values short enough for a narrow terminal.
pub fn compact(value: f64) -> String {
    let magnitude = value.abs();
    if magnitude >= 1e9 {
        format!("{:.1}G", value / 1e9)
    } else if magnitude >= 1e6 {
        format!("{:.1}M", value / 1e6)
    } else if magnitude >= 1e4 {
        format!("{:.0}k", value / 1e3)
    } else if magnitude >= 1e3 {
        format!("{:.1}k", value / 1e3)
    } else {
        format!("{value:.0}")
    }
}

/// Draws `widget` into a `width` × `height` buffer and returns its rows as plain text.
fn render(widget: impl Widget, width: usize, height: usize) -> Vec<String> {
    let area = Rect::new(
        0,
        0,
        u16::try_from(width).unwrap_or(u16::MAX),
        u16::try_from(height).unwrap_or(u16::MAX),
    );
    let mut buffer = Buffer::empty(area);
    widget.render(area, &mut buffer);
    (0..area.height)
        .map(|y| {
            let row: String = (0..area.width)
                .map(|x| buffer[(x, y)].symbol().to_string())
                .collect();
            row.trim_end().to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + chrono::Days::new(n)
    }

    #[test]
    fn a_series_chart_fits_its_box_and_draws_both_lines() {
        let history: Vec<(NaiveDate, f64)> = (0..28)
            .map(|i| (day(i), 1000.0 + 100.0 * (i % 7) as f64))
            .collect();
        let forecast: Vec<BandPoint> = (28..35)
            .map(|i| BandPoint {
                day: day(i),
                point: 1300.0,
                lo95: 900.0,
                hi95: 1700.0,
            })
            .collect();
        let lines = series_with_forecast(&history, &forecast, 60, 12);
        assert_eq!(lines.len(), 12);
        assert!(lines.iter().all(|l| console::measure_text_width(l) <= 60));
        let text = lines.join("\n");
        assert!(
            text.chars().any(|c| ('\u{2801}'..='\u{28ff}').contains(&c)),
            "{text}"
        );
        assert!(text.contains('•'), "the band:\n{text}");
        assert!(text.contains("11-01") && text.contains("12-05"), "{text}");
    }

    #[test]
    fn bars_are_as_long_as_their_values() {
        let lines = bars(&[("Laptop".into(), 1000), ("Mouse".into(), 250)], 50);
        assert_eq!(lines.len(), 2);
        let filled = |l: &str| l.chars().filter(|c| *c == '█').count();
        assert!(filled(&lines[0]) > 3 * filled(&lines[1]), "{lines:?}");
        assert!(lines[0].starts_with("Laptop"), "{lines:?}");
    }

    #[test]
    fn compact_numbers() {
        assert_eq!(compact(950.0), "950");
        assert_eq!(compact(1234.0), "1.2k");
        assert_eq!(compact(123_456.0), "123k");
        assert_eq!(compact(2_500_000.0), "2.5M");
    }
}
