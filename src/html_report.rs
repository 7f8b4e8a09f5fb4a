//! `report --html FILE`: one self-contained HTML page (inline SVG charts, inline CSS, no
//! network at view time) with the report's charts and tables, for sharing. Built with maud.

use chrono::NaiveDate;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use crate::chart::BandPoint;
use crate::render::{Cell, Table};

/// A daily series with its forecast, drawn as one SVG line chart with a 95% band.
pub struct SeriesFigure {
    pub title: String,
    pub history: Vec<(NaiveDate, f64)>,
    pub forecast: Vec<BandPoint>,
}

/// Horizontal bars, one per `(label, value)`.
pub struct BarsFigure {
    pub title: String,
    pub items: Vec<(String, f64)>,
}

/// The whole page.
pub struct Page<'a> {
    pub title: String,
    pub notes: Vec<String>,
    pub series: Vec<SeriesFigure>,
    pub bars: Vec<BarsFigure>,
    pub tables: Vec<(String, &'a Table)>,
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1100px}\
h1{font-size:1.5rem}h2{font-size:1.1rem;margin-top:2rem}\
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}\
th,td{border:1px solid #ccc;padding:.2rem .5rem}td.n{text-align:right;font-variant-numeric:tabular-nums}\
svg{background:#fafafa;border:1px solid #ddd}.history{stroke:#1f77b4}.forecast{stroke:#ff7f0e;stroke-dasharray:6 4}\
.band{fill:#ff7f0e;opacity:.2}.bar{fill:#1f77b4}text{font-size:12px;fill:#444}";

/// Counts what was drawn once the page has loaded, so a headless browser test can tell a
/// page that rendered from one that did not.
const SELF_CHECK: &str = "document.addEventListener('DOMContentLoaded',function(){\
var b=document.body;b.dataset.series=document.querySelectorAll('polyline.history').length;\
b.dataset.bars=document.querySelectorAll('rect.bar').length;b.dataset.rendered='yes';});";

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
                @for figure in &page.series {
                    h2 { (figure.title) }
                    (series_svg(figure))
                }
                @for figure in &page.bars {
                    h2 { (figure.title) }
                    (bars_svg(figure))
                }
                @for (title, table) in &page.tables {
                    h2 { (title) }
                    (table_html(table))
                }
            }
        }
    };
    markup.into_string()
}

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 300.0;
const LEFT: f64 = 70.0;
const BOTTOM: f64 = 30.0;
const TOP: f64 = 10.0;

fn series_svg(figure: &SeriesFigure) -> Markup {
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
        return html! { p { "no data" } };
    };
    let span = ((last - first).num_days() as f64).max(1.0);
    let y_max = figure
        .history
        .iter()
        .map(|(_, v)| *v)
        .chain(figure.forecast.iter().map(|f| f.hi95))
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.05;
    let px = |day: NaiveDate| LEFT + (day - first).num_days() as f64 / span * (WIDTH - LEFT - 10.0);
    let py = |v: f64| TOP + (1.0 - v / y_max) * (HEIGHT - TOP - BOTTOM);
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
    let axis_y = HEIGHT - BOTTOM;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(HEIGHT)
            viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) role="img" aria-label=(figure.title) {
            line x1=(LEFT) y1=(axis_y) x2=(WIDTH - 10.0) y2=(axis_y) stroke="#999" {}
            line x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(axis_y) stroke="#999" {}
            text x=(LEFT - 6.0) y=(py(y_max / 1.05)) text-anchor="end" { (format!("{:.0}", y_max / 1.05)) }
            text x=(LEFT - 6.0) y=(axis_y) text-anchor="end" { "0" }
            text x=(LEFT) y=(HEIGHT - 8.0) { (first.to_string()) }
            text x=(WIDTH - 10.0) y=(HEIGHT - 8.0) text-anchor="end" { (last.to_string()) }
            @if !figure.forecast.is_empty() {
                polygon class="band" points=(band) {}
            }
            polyline class="history" fill="none" stroke-width="2" points=(history) {}
            @if !figure.forecast.is_empty() {
                polyline class="forecast" fill="none" stroke-width="2" points=(forecast) {}
            }
        }
    }
}

fn bars_svg(figure: &BarsFigure) -> Markup {
    let row = 22.0;
    let label_width = 160.0;
    let height = row * figure.items.len() as f64 + 10.0;
    let max = figure
        .items
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let bar_room = WIDTH - label_width - 90.0;
    html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(WIDTH) height=(height)
            viewBox=(format!("0 0 {WIDTH} {height}")) role="img" aria-label=(figure.title) {
            @for (i, (label, value)) in figure.items.iter().enumerate() {
                @let y = 5.0 + row * i as f64;
                text x=(label_width - 8.0) y=(y + 15.0) text-anchor="end" { (label) }
                rect class="bar" x=(label_width) y=(y + 3.0) height=(row - 6.0)
                    width=(format!("{:.1}", value / max * bar_room)) {}
                text x=(label_width + value / max * bar_room + 6.0) y=(y + 15.0) {
                    (crate::chart::compact(*value))
                }
            }
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
                            @if matches!(cell, Cell::Number(_)) {
                                td class="n" { (cell.display()) }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_escapes_text() {
        let mut table = Table::new(["product", "revenue"]);
        table.push(vec![Cell::text("<Laptop & co>"), Cell::number("12.50")]);
        let day = |n: u64| NaiveDate::from_ymd_opt(2026, 11, 1).unwrap() + chrono::Days::new(n);
        let page = Page {
            title: "Sales".into(),
            notes: vec!["a note".into()],
            series: vec![SeriesFigure {
                title: "USD".into(),
                history: (0..14).map(|i| (day(i), 100.0 + i as f64)).collect(),
                forecast: vec![BandPoint {
                    day: day(14),
                    point: 115.0,
                    lo95: 90.0,
                    hi95: 140.0,
                }],
            }],
            bars: vec![BarsFigure {
                title: "Mix".into(),
                items: vec![("INSERT".into(), 10.0), ("REMOVE".into(), 2.0)],
            }],
            tables: vec![("Products".into(), &table)],
        };
        let html = render(&page);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(html.contains("&lt;Laptop &amp; co&gt;"));
        assert!(html.contains("polyline class=\"history\""));
        assert_eq!(html.matches("class=\"bar\"").count(), 2);
        for remote in ["http://", "https://", "src="] {
            let outside_svg_namespace = html.replace("http://www.w3.org/2000/svg", "");
            assert!(
                !outside_svg_namespace.contains(remote),
                "{remote} in the page"
            );
        }
    }
}
