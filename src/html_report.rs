//! `report --html FILE`: one self-contained HTML page (inline SVG charts, inline CSS, no
//! network at view time) with the report's charts and tables, for sharing. Built with maud.
//!
//! The page fits any width from a phone's 360 px up: each line chart is an SVG with a
//! `viewBox`, 100% wide, whose plot stretches to the width while its labels (nice round
//! value ticks with thousands separators, several date ticks, the last forecast day, the
//! legend) are HTML beside it, so they keep their size instead of shrinking with the drawing.
//! Each concept has one table: long per-day results are pivoted wide (day × currency) or
//! folded into a `<details>`.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;

use chrono::{Datelike, NaiveDate, Weekday};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use rust_decimal::Decimal;

use crate::chart::BandPoint;
use crate::render::{Cell, Table};

/// A daily series with its forecast, drawn as one SVG line chart with a 95% band.
pub struct SeriesFigure {
    /// The chart's heading, e.g. the currency.
    pub title: String,
    /// What the values are in, shown over the value axis and in the forecast table ("EUR").
    pub unit: String,
    /// Lines under the heading: the model and why, notes.
    pub caption: Vec<String>,
    pub history: Vec<(NaiveDate, f64)>,
    pub forecast: Vec<BandPoint>,
}

/// Horizontal bars, one per `(label, value)`, each with its exact value.
pub struct BarsFigure {
    pub title: String,
    pub items: Vec<(String, f64)>,
}

/// A titled table; `collapsed` folds it into a `<details>` (long tables).
pub struct TableBlock<'a> {
    pub title: String,
    pub table: Cow<'a, Table>,
    pub collapsed: bool,
}

/// What follows the charts, in order.
pub enum Block<'a> {
    Bars(BarsFigure),
    Table(TableBlock<'a>),
}

/// The whole page.
pub struct Page<'a> {
    pub title: String,
    pub notes: Vec<String>,
    /// The heading over the line charts and the forecast table.
    pub series_title: String,
    pub series: Vec<SeriesFigure>,
    pub blocks: Vec<Block<'a>>,
}

const STYLE: &str = "*{box-sizing:border-box}\
body{font-family:system-ui,sans-serif;margin:0 auto;padding:1rem;color:#222;max-width:1200px;line-height:1.4}\
h1{font-size:1.4rem;margin:.5rem 0}h2{font-size:1.15rem;margin:2rem 0 .5rem}h3{font-size:1rem;margin:0}\
.charts{display:grid;grid-template-columns:repeat(auto-fill,minmax(min(100%,30rem),1fr));gap:1.5rem 2.5rem}\
figure{margin:0;min-width:0;container-type:inline-size}\
.caption{font-size:.85rem;color:#555;margin:.15rem 0}\
.legend{display:flex;flex-wrap:wrap;gap:.1rem 1rem;list-style:none;padding:0;margin:.3rem 0;font-size:.8rem}\
.legend svg{width:1.8rem;height:.8rem;vertical-align:middle;margin-right:.3rem}\
.plot{display:grid;grid-template-columns:auto minmax(0,1fr);font-size:.75rem;color:#444;font-variant-numeric:tabular-nums}\
.unit{grid-column:1/3;font-weight:600;margin-bottom:.4rem}\
.yaxis{position:relative}.ytick{position:absolute;right:.4em;transform:translateY(-50%);white-space:nowrap}\
.plot svg{display:block;width:100%;height:13rem;overflow:visible;background:#fafafa}\
.xaxis{position:relative;height:1.6em}\
.xtick{position:absolute;top:.25em;transform:translateX(-50%);white-space:nowrap}\
.xtick.last{transform:translateX(-100%);font-weight:600;color:#b34700}\
@container (max-width:30rem){.xtick.minor{display:none}}\
.grid{stroke:#e4e4e4}.axis{stroke:#999}.now{stroke:#aaa;stroke-dasharray:3 3}\
.history{stroke:#1f77b4;fill:none;stroke-width:2}\
.forecast{stroke:#e6550d;fill:none;stroke-width:2;stroke-dasharray:6 4}\
.band{fill:#e6550d;opacity:.2}\
.bars{display:grid;grid-template-columns:minmax(0,max-content) minmax(0,1fr) max-content;gap:.3rem .6rem;align-items:center;font-size:.85rem;max-width:48rem}\
.bars .label{overflow-wrap:anywhere;text-align:right}.track{display:block;height:.9rem}\
.bar{display:block;height:100%;background:#1f77b4;min-width:1px}\
.value{text-align:right;font-variant-numeric:tabular-nums}\
.scroll{overflow-x:auto;max-width:100%}\
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}\
th,td{border:1px solid #ccc;padding:.2rem .5rem;vertical-align:top;white-space:nowrap}th{background:#f3f3f3}\
.scroll td:first-child,.scroll th:first-child{position:sticky;left:0;background:#fff}\
.scroll th:first-child{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}\
td.n small{display:block;color:#666}\
summary{cursor:pointer}summary h2{display:inline}\
@media (max-width:40rem){body{padding:.75rem}th,td{padding:.15rem .35rem}table{font-size:.8rem}}";

/// Counts what was drawn once the page has loaded, so a headless browser test can tell a
/// page that rendered from one that did not.
const SELF_CHECK: &str = "document.addEventListener('DOMContentLoaded',function(){\
var b=document.body;b.dataset.series=document.querySelectorAll('polyline.history').length;\
b.dataset.bars=document.querySelectorAll('.bars .bar').length;b.dataset.rendered='yes';});";

/// The page as one HTML string.
pub fn render(page: &Page<'_>) -> String {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (page.title) }
                style { (PreEscaped(STYLE)) }
                script { (PreEscaped(SELF_CHECK)) }
            }
            body {
                h1 { (page.title) }
                @for note in &page.notes { p { (note) } }
                @if !page.series.is_empty() {
                    h2 { (page.series_title) }
                    div class="charts" {
                        @for figure in &page.series { (series_figure(figure)) }
                    }
                    (forecast_table(&page.series))
                }
                @for block in &page.blocks {
                    @match block {
                        Block::Bars(figure) => {
                            h2 { (figure.title) }
                            (bars_html(figure))
                        }
                        Block::Table(block) => (table_block(block)),
                    }
                }
            }
        }
    };
    markup.into_string()
}

/// The drawing's coordinate system: the plot stretches to its box (`preserveAspectRatio`
/// none, strokes unscaled), so positions are also percentages for the HTML labels.
const VIEW_WIDTH: f64 = 1000.0;
const VIEW_HEIGHT: f64 = 300.0;
/// Room inside the drawing so lines on the edges are not cut.
const INSET_X: f64 = 10.0;
const INSET_Y: f64 = 8.0;

fn series_figure(figure: &SeriesFigure) -> Markup {
    let first = figure
        .history
        .first()
        .map(|(d, _)| *d)
        .or_else(|| figure.forecast.first().map(|f| f.day));
    let last = figure
        .forecast
        .last()
        .map(|f| f.day)
        .or_else(|| figure.history.last().map(|(d, _)| *d));
    let (Some(first), Some(last)) = (first, last) else {
        return html! { figure { h3 { (figure.title) } p { "no data" } } };
    };
    let span = ((last - first).num_days() as f64).max(1.0);
    let values = || {
        figure
            .history
            .iter()
            .map(|(_, v)| *v)
            .chain(
                figure
                    .forecast
                    .iter()
                    .flat_map(|f| [f.point, f.lo95, f.hi95]),
            )
            .filter(|v| v.is_finite())
    };
    let lowest = values().fold(0.0_f64, f64::min);
    let highest = values().fold(0.0_f64, f64::max);
    let ticks = value_ticks(lowest, highest, 5);
    let (y_min, y_max) = (ticks[0].0, ticks[ticks.len() - 1].0);
    let px = |day: NaiveDate| {
        INSET_X + (day - first).num_days() as f64 / span * (VIEW_WIDTH - 2.0 * INSET_X)
    };
    let py =
        |v: f64| INSET_Y + (1.0 - (v - y_min) / (y_max - y_min)) * (VIEW_HEIGHT - 2.0 * INSET_Y);
    let points = |pairs: &mut dyn Iterator<Item = (f64, f64)>| -> String {
        pairs
            .map(|(x, y)| format!("{x:.1},{y:.1}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let history = points(&mut figure.history.iter().map(|(d, v)| (px(*d), py(*v))));
    let joined = figure.history.last().map(|(d, v)| (px(*d), py(*v)));
    let forecast = points(
        &mut joined
            .into_iter()
            .chain(figure.forecast.iter().map(|f| (px(f.day), py(f.point)))),
    );
    let band = points(
        &mut figure
            .forecast
            .iter()
            .map(|f| (px(f.day), py(f.hi95)))
            .chain(
                figure
                    .forecast
                    .iter()
                    .rev()
                    .map(|f| (px(f.day), py(f.lo95))),
            ),
    );
    let now = figure
        .history
        .last()
        .filter(|_| !figure.forecast.is_empty())
        .map(|(d, _)| px(*d));
    let label_width = ticks.iter().map(|(_, l)| l.len()).max().unwrap_or(1) + 1;
    let percent_x = |x: f64| format!("left:{:.2}%", x / VIEW_WIDTH * 100.0);
    let percent_y = |y: f64| format!("top:{:.2}%", y / VIEW_HEIGHT * 100.0);
    let has_forecast = !figure.forecast.is_empty();
    let description = format!(
        "{}: daily values from {first} to {}{}",
        figure.title,
        figure.history.last().map_or(first, |(d, _)| *d),
        if has_forecast {
            format!(", forecast to {last} with its 95% interval")
        } else {
            String::new()
        }
    );
    html! {
        figure class="chart" data-last-day=(last) {
            h3 { (figure.title) }
            @for line in &figure.caption { p class="caption" { (line) } }
            ul class="legend" {
                li { (legend_key(html! { line class="history" x1="0" y1="6" x2="28" y2="6" {} })) "revenue per day" }
                @if has_forecast {
                    li { (legend_key(html! { line class="forecast" x1="0" y1="6" x2="28" y2="6" {} })) "forecast" }
                    li { (legend_key(html! { rect class="band" x="0" y="0" width="28" height="12" {} })) "95% interval" }
                }
            }
            div class="plot" {
                div class="unit" { (figure.unit) " per day" }
                div class="yaxis" style=(format!("width:{label_width}ch")) {
                    @for (value, label) in &ticks {
                        span class="ytick" style=(percent_y(py(*value))) { (label) }
                    }
                }
                svg xmlns="http://www.w3.org/2000/svg" width="100%"
                    viewBox=(format!("0 0 {VIEW_WIDTH} {VIEW_HEIGHT}")) preserveAspectRatio="none"
                    role="img" aria-label=(description) {
                    @for (value, _) in &ticks {
                        @let y = format!("{:.1}", py(*value));
                        line class=(if *value == 0.0 { "axis" } else { "grid" })
                            x1="0" x2=(VIEW_WIDTH) y1=(y) y2=(y) vector-effect="non-scaling-stroke" {}
                    }
                    @if let Some(x) = now {
                        line class="now" x1=(format!("{x:.1}")) x2=(format!("{x:.1}")) y1="0" y2=(VIEW_HEIGHT)
                            vector-effect="non-scaling-stroke" {}
                    }
                    @if has_forecast {
                        polygon class="band" points=(band) {}
                    }
                    polyline class="history" points=(history) vector-effect="non-scaling-stroke" {}
                    @if has_forecast {
                        polyline class="forecast" points=(forecast) vector-effect="non-scaling-stroke" {}
                    }
                }
                div {}
                div class="xaxis" {
                    @for (day, minor) in day_ticks(first, last) {
                        span class=(if minor { "xtick minor" } else { "xtick" }) style=(percent_x(px(day))) {
                            (short_day(day))
                        }
                    }
                    span class="xtick last" style=(percent_x(px(last))) title=(last) { (short_day(last)) }
                }
            }
        }
    }
}

fn legend_key(mark: Markup) -> Markup {
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 28 12" aria-hidden="true" { (mark) }
    }
}

/// "Dec 11".
fn short_day(day: NaiveDate) -> String {
    day.format("%b %-d").to_string()
}

/// Round value ticks from `lowest` to `highest` (widened to whole steps of 1, 2, 2.5 or 5
/// times a power of ten, about `count` of them), each with its label (thousands separators).
fn value_ticks(lowest: f64, highest: f64, count: usize) -> Vec<(f64, String)> {
    let highest = if highest > lowest {
        highest
    } else {
        lowest + 1.0
    };
    let raw = (highest - lowest) / count.max(1) as f64;
    let magnitude = 10_f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * magnitude);
    // As many decimals as the step needs: 0.25 -> 2, 0.5 -> 1, 5 -> 0.
    let decimals = (0..10)
        .find(|d| {
            let scaled = step * 10_f64.powi(*d);
            (scaled - scaled.round()).abs() < 1e-6 * scaled.max(1.0)
        })
        .unwrap_or(10) as usize;
    let start = (lowest / step).floor() as i64;
    let end = (highest / step).ceil() as i64;
    (start..=end)
        .map(|i| {
            let value = i as f64 * step;
            // -0.0 and float noise print as they should.
            let value = if value.abs() < step * 1e-9 {
                0.0
            } else {
                value
            };
            (value, grouped(&format!("{value:.decimals$}")))
        })
        .collect()
}

/// Date ticks between `first` and `last` (whose own label is drawn apart, so ticks too close
/// to it are left out), each with whether it is minor (hidden when the chart is narrow).
fn day_ticks(first: NaiveDate, last: NaiveDate) -> Vec<(NaiveDate, bool)> {
    let span = (last - first).num_days().max(1);
    let (step, align_monday) = match span {
        0..=10 => (1, false),
        11..=20 => (2, false),
        21..=75 => (7, true),
        76..=150 => (14, true),
        151..=300 => (28, true),
        _ => ((span / 10 / 7 + 1) * 7, true),
    };
    let mut day = first;
    if align_monday {
        while day.weekday() != Weekday::Mon {
            day = day.succ_opt().unwrap_or(day);
        }
    }
    let mut ticks = Vec::new();
    while day <= last {
        let at = (day - first).num_days() as f64 / span as f64;
        // The last day's label is right-aligned at the end: keep clear of it.
        if at <= 0.8 {
            ticks.push(day);
        }
        day = day + chrono::Days::new(step as u64);
    }
    // Every other tick is minor, counted from the end so the one nearest the last day stays.
    let n = ticks.len();
    ticks
        .into_iter()
        .enumerate()
        .map(|(i, d)| (d, (n - 1 - i) % 2 == 1))
        .collect()
}

/// A number as printed, with thousands separators in its integer part: "1234567.5" ->
/// "1,234,567.5". Anything that is not a plain decimal number is returned unchanged.
pub fn grouped(number: &str) -> String {
    let (sign, rest) = match number.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", number),
    };
    let (integer, fraction) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    if integer.is_empty()
        || !integer.bytes().all(|b| b.is_ascii_digit())
        || !fraction.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()))
    {
        return number.to_string();
    }
    let mut out = String::from(sign);
    for (i, c) in integer.chars().enumerate() {
        if i > 0 && (integer.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = fraction {
        out.push('.');
        out.push_str(f);
    }
    out
}

/// The forecast of every series in one wide table: a row per day, a column per series with
/// the point forecast and, under it, its 95% interval.
fn forecast_table(series: &[SeriesFigure]) -> Markup {
    let with_forecast: Vec<&SeriesFigure> =
        series.iter().filter(|s| !s.forecast.is_empty()).collect();
    if with_forecast.is_empty() {
        return html! {};
    }
    let days: BTreeSet<NaiveDate> = with_forecast
        .iter()
        .flat_map(|s| s.forecast.iter().map(|f| f.day))
        .collect();
    let money = |v: f64| grouped(&format!("{v:.0}"));
    html! {
        h2 { "Forecast, next " (days.len()) " days: expected revenue and its 95% interval" }
        div class="scroll" {
            table {
                thead { tr { th { "day" } @for s in &with_forecast { th { (s.unit) } } } }
                tbody {
                    @for day in &days {
                        tr {
                            td { (day.format("%a %b %-d")) }
                            @for s in &with_forecast {
                                @if let Some(f) = s.forecast.iter().find(|f| f.day == *day) {
                                    td class="n" { (money(f.point)) small { (money(f.lo95)) "–" (money(f.hi95)) } }
                                } @else {
                                    td {}
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn bars_html(figure: &BarsFigure) -> Markup {
    let max = figure
        .items
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let value = |v: f64| {
        if v.fract() == 0.0 {
            grouped(&format!("{v:.0}"))
        } else {
            grouped(&format!("{v:.2}"))
        }
    };
    html! {
        div class="bars" role="list" aria-label=(figure.title) {
            @for (label, v) in &figure.items {
                span class="label" role="listitem" { (label) }
                span class="track" {
                    span class="bar" style=(format!("width:{:.1}%", (v / max * 100.0).max(0.0))) {}
                }
                span class="value" { (value(*v)) }
            }
        }
    }
}

fn table_block(block: &TableBlock<'_>) -> Markup {
    let table = html! { div class="scroll" { (table_html(&block.table)) } };
    html! {
        @if block.collapsed {
            details {
                summary { h2 { (block.title) } " (" (block.table.rows.len()) " rows)" }
                (table)
            }
        } @else {
            h2 { (block.title) }
            (table)
        }
    }
}

fn table_html(table: &Table) -> Markup {
    html! {
        table {
            thead { tr { @for h in &table.headers { th { (h) } } } }
            tbody {
                @for row in &table.rows {
                    tr {
                        @for cell in row {
                            @if let Cell::Number(n) = cell {
                                td class="n" { (grouped(n)) }
                            } @else {
                                td { (cell.display()) }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Long rows to a wide table: one row per distinct `row_key` (sorted), one column per
/// distinct `column_key` (sorted) holding the sum of `value`, then, with `total`, a last
/// column summing `total` over the row. Number cells are added as exact decimals; a
/// combination with no rows is left empty.
pub fn wide(
    long: &Table,
    row_key: &str,
    column_key: &str,
    value: &str,
    total: Option<&str>,
) -> Table {
    let column = |name: &str| long.headers.iter().position(|h| h == name);
    let (Some(r), Some(c), Some(v)) = (column(row_key), column(column_key), column(value)) else {
        return long.clone();
    };
    let t = total.and_then(column);
    let number = |cell: Option<&Cell>| match cell {
        Some(Cell::Number(n)) => Decimal::from_str(n).ok(),
        _ => None,
    };
    let mut columns = BTreeSet::new();
    let mut rows: BTreeMap<String, (BTreeMap<String, Decimal>, Decimal)> = BTreeMap::new();
    for row in &long.rows {
        let key = row.get(r).map(Cell::display).unwrap_or_default();
        let code = row.get(c).map(Cell::display).unwrap_or_default();
        columns.insert(code.clone());
        let entry = rows.entry(key).or_default();
        if let Some(x) = number(row.get(v)) {
            *entry.0.entry(code).or_default() += x;
        }
        if let Some(x) = t.and_then(|t| number(row.get(t))) {
            entry.1 += x;
        }
    }
    let mut headers = vec![row_key.to_string()];
    headers.extend(columns.iter().cloned());
    if let Some(total) = total.filter(|_| t.is_some()) {
        headers.push(total.to_string());
    }
    let mut out = Table::new(headers);
    for (key, (values, sum)) in rows {
        let mut cells = vec![Cell::text(key)];
        cells.extend(columns.iter().map(|code| {
            values
                .get(code)
                .map_or(Cell::Null, |x| Cell::Number(x.to_string()))
        }));
        if t.is_some() {
            cells.push(Cell::Number(sum.to_string()));
        }
        out.push(cells);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + chrono::Days::new(n)
    }

    fn page_with(table: &Table) -> Page<'_> {
        Page {
            title: "Sales".into(),
            notes: vec!["a note".into()],
            series_title: "Daily revenue".into(),
            series: vec![SeriesFigure {
                title: "USD".into(),
                unit: "USD".into(),
                caption: vec!["linear trend".into()],
                history: (0..60).map(|i| (day(i), 100.0 + i as f64)).collect(),
                forecast: (60..67)
                    .map(|i| BandPoint {
                        day: day(i),
                        point: 115.0,
                        lo95: 90.0,
                        hi95: 292_323.0,
                    })
                    .collect(),
            }],
            blocks: vec![
                Block::Bars(BarsFigure {
                    title: "Mix".into(),
                    items: vec![("INSERT".into(), 1646.0), ("REMOVE".into(), 2.0)],
                }),
                Block::Table(TableBlock {
                    title: "Products".into(),
                    table: Cow::Borrowed(table),
                    collapsed: true,
                }),
            ],
        }
    }

    #[test]
    fn the_page_is_self_contained_and_escapes_text() {
        let mut table = Table::new(["product", "revenue"]);
        table.push(vec![Cell::text("<Laptop & co>"), Cell::number("12345.50")]);
        let html = render(&page_with(&table));
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("&lt;Laptop &amp; co&gt;"));
        assert!(html.contains("polyline class=\"history\""));
        assert!(html.contains("12,345.50"), "thousands separators in tables");
        assert!(html.contains("1,646"), "exact bar values");
        assert_eq!(html.matches("class=\"bar\"").count(), 2);
        assert!(html.contains("<details><summary><h2>Products</h2>"));
        for remote in ["http://", "https://", "src="] {
            let outside_svg_namespace = html.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !outside_svg_namespace.contains(remote),
                "{remote} in the page"
            );
        }
    }

    #[test]
    fn charts_scale_to_their_box_with_round_ticks_dates_and_a_legend() {
        let table = Table::new(["x"]);
        let html = render(&page_with(&table));
        assert!(html.contains("width=\"100%\" viewBox=\"0 0 1000 300\""));
        assert!(!html.contains("width=\"900\""), "no fixed width");
        // 0 to 292,323 (the band's top): round steps of 100,000, the currency above.
        for tick in [">0<", ">100,000<", ">200,000<", ">300,000<"] {
            assert!(html.contains(tick), "{tick}");
        }
        assert!(html.contains("USD per day"));
        assert!(html.matches("class=\"xtick").count() >= 5, "several dates");
        assert!(html.contains("class=\"xtick last\""));
        assert!(html.contains(">Jan 6<"), "the last forecast day labelled");
        for key in ["revenue per day", "forecast", "95% interval"] {
            assert!(html.contains(&format!("</svg>{key}</li>")), "{key}");
        }
        assert!(html.contains("Forecast, next 7 days"));
        assert!(html.contains("115<small>90–292,323</small>"));
    }

    #[test]
    fn value_ticks_are_round_and_cover_the_range() {
        let labels = |lo, hi| -> Vec<String> {
            value_ticks(lo, hi, 5).into_iter().map(|(_, l)| l).collect()
        };
        assert_eq!(
            labels(0.0, 4289.0),
            ["0", "1,000", "2,000", "3,000", "4,000", "5,000"]
        );
        assert_eq!(
            labels(0.0, 22787.0),
            ["0", "5,000", "10,000", "15,000", "20,000", "25,000"]
        );
        assert_eq!(
            labels(-120.0, 900.0),
            ["-250", "0", "250", "500", "750", "1,000"]
        );
        assert_eq!(labels(0.0, 0.0), ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(
            labels(0.0, 292_323.0),
            ["0", "100,000", "200,000", "300,000"]
        );
    }

    #[test]
    fn numbers_get_thousands_separators() {
        assert_eq!(grouped("292323"), "292,323");
        assert_eq!(grouped("-1234567.50"), "-1,234,567.50");
        assert_eq!(grouped("999"), "999");
        assert_eq!(grouped("1e9"), "1e9");
        assert_eq!(grouped("2026-12-05"), "2026-12-05");
    }

    #[test]
    fn long_rows_pivot_to_day_by_currency() {
        let mut long = Table::new(["day", "currency", "orders", "revenue"]);
        for (d, c, o, r) in [
            ("2026-12-02", "USD", "3", "10.50"),
            ("2026-12-01", "USD", "2", "5.25"),
            ("2026-12-01", "EUR", "1", "1000.00"),
        ] {
            long.push(vec![
                Cell::text(d),
                Cell::text(c),
                Cell::number(o),
                Cell::number(r),
            ]);
        }
        let t = wide(&long, "day", "currency", "revenue", Some("orders"));
        assert_eq!(t.headers, ["day", "EUR", "USD", "orders"]);
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[0][1], Cell::number("1000.00"));
        assert_eq!(t.rows[0][3], Cell::number("3"));
        assert_eq!(t.rows[1][1], Cell::Null);
    }
}
