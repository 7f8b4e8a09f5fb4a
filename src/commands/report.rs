//! `salesctl report`: the canned sales analyses, a weekly-seasonal revenue forecast per
//! currency with 80%/95% intervals and its backtest, as tables and charts or as data.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{NaiveDate, Utc};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::chart::{self, BandPoint};
use crate::commands::engine::EngineArgs;
use crate::commands::values;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::html_report::{self, BarsFigure, Block, Page, SeriesFigure, TableBlock};
use crate::output::to_stdout;
use crate::render::{Cell, OutputFormat, Table, json_object, output_width};
use crate::sql::{REPORT_SECTIONS, REVENUE_DEFINITION};
use salesctl_core::forecast::{
    self, Backtest, BacktestConfig, DailySeries, MethodScore, ModelKind, Outlook,
};

/// Days forecast past the last full day.
const HORIZON_DAYS: u32 = 7;
/// Recent days shown in the table view's "revenue by day" (JSON, CSV and HTML have all).
const RECENT_DAYS: usize = 14;
/// The sections the forecast adds after the queries' own.
const FORECAST_SECTIONS: [&str; 3] = ["forecast", "forecast_model", "backtest"];

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only this section (its name as in the JSON lines' "section"); required with
    /// -o csv, where one file holds one table.
    #[arg(long, value_name = "NAME")]
    pub section: Option<String>,
    /// The currency charted in the terminal (default: the one with the most revenue).
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,
    /// Products shown by name in the table view; the rest are summed as "others".
    #[arg(long, value_name = "N", default_value = "8", value_parser = values::bounded_u32(1, 1000), allow_negative_numbers = true)]
    pub top: u32,
    /// Plain tables only, no charts.
    #[arg(long)]
    pub no_chart: bool,
    /// Also write the report as one self-contained HTML page (inline SVG charts) to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// One titled result of the report, or why it cannot apply to this lake.
struct Section {
    name: &'static str,
    title: String,
    table: Table,
    note: Option<String>,
}

/// One currency's daily series, forecast and backtest.
struct CurrencyOutlook {
    currency: String,
    history: Vec<(NaiveDate, f64)>,
    outlook: Outlook,
    /// The backtest's name of the method shown as the forecast.
    method: &'static str,
    /// How the backtest chose it (empty without a backtest).
    verdict: String,
    backtest: Backtest,
}

impl CurrencyOutlook {
    /// The forecast as the charts draw it: the point and the 95% interval.
    fn band(&self) -> Vec<BandPoint> {
        self.outlook
            .days
            .iter()
            .map(|d| BandPoint {
                day: d.day,
                point: d.point,
                lo95: d.lo95,
                hi95: d.hi95,
            })
            .collect()
    }
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let format = ctx.output();
    if format == OutputFormat::Csv && args.section.is_none() {
        return Err(usage_error(format!(
            "-o csv prints one table: add --section NAME, one of {}; or use -o json for every section as JSON lines",
            section_names().join(", ")
        )));
    }
    if let Some(name) = &args.section
        && !section_names().contains(&name.as_str())
    {
        return Err(usage_error(format!(
            "no report section '{name}': use one of {}",
            section_names().join(", ")
        )));
    }
    let engine = args.engine.open(ctx).await?;
    if let Some(note) = engine.empty_lake_note() {
        crate::say!("salesctl: note: {note}");
    }
    // One pass over the lake, every section summed from it.
    let (report, stats) = engine.report().await?;
    let stats = [stats];
    let mut sections: Vec<Section> = report
        .into_iter()
        .map(|s| Section {
            name: s.query.name,
            title: s.query.title.to_string(),
            table: s.table,
            note: s.note,
        })
        .collect();
    // The forecast follows daily revenue: where that cannot apply, neither can it.
    let forecast_note = sections
        .iter()
        .find(|s| s.name == "revenue_by_day")
        .and_then(|s| s.note.clone());
    let today = Utc::now().date_naive();
    let outlooks = section(&sections, "revenue_by_day")
        .map(|t| outlooks_per_currency(t, today))
        .unwrap_or_default();
    sections.push(Section {
        name: "forecast",
        title: format!("Forecast of daily revenue, next {HORIZON_DAYS} days"),
        table: forecast_table(&outlooks),
        note: forecast_note.clone(),
    });
    sections.push(Section {
        name: "forecast_model",
        title: "Forecast model per currency".to_string(),
        table: model_table(&outlooks),
        note: forecast_note.clone(),
    });
    sections.push(Section {
        name: "backtest",
        title:
            "Backtest: forecasts from each of the last 28 days, 7 days ahead, against what happened"
                .to_string(),
        table: backtest_table(&outlooks),
        note: forecast_note.clone(),
    });

    if let Some(path) = &args.html {
        write_html(path, &sections, &outlooks)?;
        crate::say!("salesctl: report written to {}", path.display());
    }
    if let Some(name) = &args.section {
        sections.retain(|s| s.name == name);
    }
    // Rendered whole, then written once through the output layer (a closed pipe ends quietly).
    let mut out = Vec::new();
    match format {
        OutputFormat::Json => write_json_lines(&mut out, engine.name(), &sections)?,
        OutputFormat::Csv => {
            for section in &sections {
                section.table.write(&mut out, format, ctx.color)?;
            }
        }
        OutputFormat::Table if args.section.is_some() => {
            for section in &sections {
                writeln!(out, "{}", section.title)?;
                match &section.note {
                    Some(note) => writeln!(out, "{note}")?,
                    None => section.table.write(&mut out, format, ctx.color)?,
                }
            }
        }
        OutputFormat::Table => write_for_people(&mut out, ctx, &args, &sections, &outlooks)?,
    }
    to_stdout(|stdout| stdout.write_all(&out))?;
    for line in stats {
        crate::render::note_wrapped(&line.to_string());
    }
    Ok(ExitStatus::SUCCESS)
}

fn section<'a>(sections: &'a [Section], name: &str) -> Option<&'a Table> {
    sections.iter().find(|s| s.name == name).map(|s| &s.table)
}

/// Daily revenue per currency from the `revenue_by_day` rows (day, currency, orders,
/// revenue), forecast separately: currencies are never added together. Today is partial,
/// so the model and the backtest see full days only.
fn outlooks_per_currency(by_day: &Table, today: NaiveDate) -> Vec<CurrencyOutlook> {
    let column = |name: &str| by_day.headers.iter().position(|h| h == name);
    let (Some(day), Some(currency), Some(revenue)) =
        (column("day"), column("currency"), column("revenue"))
    else {
        return Vec::new();
    };
    let mut series: BTreeMap<String, Vec<(NaiveDate, Decimal)>> = BTreeMap::new();
    for row in &by_day.rows {
        let (Some(Cell::Text(d)), Some(c), Some(Cell::Number(r))) =
            (row.get(day), row.get(currency), row.get(revenue))
        else {
            continue;
        };
        let (Ok(d), Ok(r)) = (NaiveDate::from_str(d), Decimal::from_str(r)) else {
            continue;
        };
        series.entry(c.display()).or_default().push((d, r));
    }
    series
        .into_iter()
        .filter_map(|(currency, points)| {
            let daily = DailySeries::from_daily_totals(&points)?;
            let full_days = usize::try_from((today - daily.first_day()).num_days())
                .unwrap_or(0)
                .min(daily.len());
            let backtest =
                forecast::backtest(&daily.truncated(full_days), &BacktestConfig::default());
            // The backtest decides: a baseline that beat the model is the forecast, said so.
            let choice = forecast::choose(&daily, HORIZON_DAYS, today, &backtest);
            // Full days only: today's partial total drawn before the forecast looked like a
            // collapse to zero. The forecast starts at today instead.
            let history = (0..full_days)
                .filter_map(|i| Some((daily.day(i)?, daily.values()[i])))
                .collect();
            Some(CurrencyOutlook {
                currency,
                history,
                outlook: choice.outlook,
                method: choice.method,
                verdict: choice.verdict,
                backtest,
            })
        })
        .collect()
}

fn money(value: f64) -> Cell {
    if value.is_finite() {
        Cell::Number(format!("{value:.2}"))
    } else {
        Cell::Null
    }
}

fn optional(value: Option<f64>, decimals: usize) -> Cell {
    match value {
        Some(v) if v.is_finite() => Cell::Number(format!("{v:.decimals$}")),
        _ => Cell::Null,
    }
}

fn forecast_table(outlooks: &[CurrencyOutlook]) -> Table {
    let mut t = Table::new([
        "day", "currency", "forecast", "lo80", "hi80", "lo95", "hi95",
    ]);
    for o in outlooks {
        for d in &o.outlook.days {
            t.push(vec![
                Cell::text(d.day.to_string()),
                Cell::text(&o.currency),
                money(d.point),
                money(d.lo80),
                money(d.hi80),
                money(d.lo95),
                money(d.hi95),
            ]);
        }
    }
    t
}

fn model_table(outlooks: &[CurrencyOutlook]) -> Table {
    let mut t = Table::new([
        "currency",
        "model",
        "reason",
        "backtest_verdict",
        "full_days",
        "sigma",
        "notes",
    ]);
    for o in outlooks {
        t.push(vec![
            Cell::text(&o.currency),
            Cell::text(&o.outlook.model_name),
            Cell::text(&o.outlook.reason),
            Cell::text(&o.verdict),
            Cell::number(o.outlook.history_days),
            optional(o.outlook.sigma, 2),
            Cell::text(o.outlook.notes.join("; ")),
        ]);
    }
    t
}

/// A backtest score's MAPE %, sMAPE %, MAE (to `mae_decimals`) and interval coverages in %.
fn score_cells(score: &MethodScore, mae_decimals: usize) -> [Cell; 5] {
    [
        optional(score.mape, 1),
        optional(score.smape, 1),
        optional(score.mae, mae_decimals),
        optional(score.coverage80.map(|c| c * 100.0), 0),
        optional(score.coverage95.map(|c| c * 100.0), 0),
    ]
}

fn backtest_table(outlooks: &[CurrencyOutlook]) -> Table {
    let mut t = Table::new([
        "currency",
        "method",
        "mape_pct",
        "smape_pct",
        "mae",
        "coverage80_pct",
        "coverage95_pct",
        "forecasts",
    ]);
    for o in outlooks {
        for score in &o.backtest.scores {
            let method = if score.method == o.method {
                format!("{} (the forecast)", score.method)
            } else {
                score.method.clone()
            };
            let mut row = vec![Cell::text(&o.currency), Cell::text(method)];
            row.extend(score_cells(score, 2));
            row.push(Cell::number(score.forecasts));
            t.push(row);
        }
    }
    t
}

/// Sums number cells as exact decimals.
fn decimal(cell: Option<&Cell>) -> Decimal {
    match cell {
        Some(Cell::Number(n)) => Decimal::from_str(n).unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

/// A product's units, and its revenue per currency.
type ProductTotals = (Decimal, BTreeMap<String, Decimal>);

/// `revenue_by_product` (product, currency, orders, units, revenue) as one row per product,
/// currencies side by side, the `top` products by units by name and the rest as "others".
fn products_side_by_side(by_product: &Table, top: usize) -> (Table, Vec<(String, u64)>) {
    let column = |name: &str| by_product.headers.iter().position(|h| h == name);
    let (Some(product), Some(currency), Some(units), Some(revenue)) = (
        column("product_name"),
        column("currency"),
        column("units"),
        column("revenue"),
    ) else {
        return (Table::default(), Vec::new());
    };
    let mut currencies: Vec<String> = Vec::new();
    let mut products: BTreeMap<String, ProductTotals> = BTreeMap::new();
    for row in &by_product.rows {
        let name = row.get(product).map(Cell::display).unwrap_or_default();
        let code = row.get(currency).map(Cell::display).unwrap_or_default();
        if !currencies.contains(&code) {
            currencies.push(code.clone());
        }
        let entry = products.entry(name).or_default();
        entry.0 += decimal(row.get(units));
        *entry.1.entry(code).or_default() += decimal(row.get(revenue));
    }
    currencies.sort();
    let mut ranked: Vec<(String, ProductTotals)> = products.into_iter().collect();
    ranked.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
    let mut shown: Vec<(String, ProductTotals)> = Vec::new();
    let mut others = ProductTotals::default();
    let mut others_count = 0;
    for (i, (name, totals)) in ranked.into_iter().enumerate() {
        if i < top {
            shown.push((name, totals));
        } else {
            others_count += 1;
            others.0 += totals.0;
            for (code, value) in totals.1 {
                *others.1.entry(code).or_default() += value;
            }
        }
    }
    if others_count > 0 {
        shown.push((format!("others ({others_count})"), others));
    }
    let headers = ["product".to_string(), "units".to_string()]
        .into_iter()
        .chain(currencies.iter().cloned());
    let mut table = Table::new(headers);
    let mut bars = Vec::new();
    for (name, (units_total, per_currency)) in &shown {
        let mut row = vec![Cell::text(name), Cell::number(units_total.normalize())];
        row.extend(currencies.iter().map(|code| match per_currency.get(code) {
            Some(v) => Cell::number(v.round_dp(2)),
            None => Cell::Null,
        }));
        table.push(row);
        bars.push((name.clone(), units_total.to_u64().unwrap_or(0)));
    }
    (table, bars)
}

/// Rows keyed by `row_key`, one column per `column_key` value holding `value`: currencies
/// side by side. Only the last `last` row keys when given.
fn side_by_side(
    table: &Table,
    row_key: &str,
    column_key: &str,
    value: &str,
    last: Option<usize>,
) -> Table {
    let column = |name: &str| table.headers.iter().position(|h| h == name);
    let (Some(r), Some(c), Some(v)) = (column(row_key), column(column_key), column(value)) else {
        return Table::default();
    };
    let mut columns: Vec<String> = Vec::new();
    let mut rows: BTreeMap<String, BTreeMap<String, Cell>> = BTreeMap::new();
    for row in &table.rows {
        let key = row.get(r).map(Cell::display).unwrap_or_default();
        let code = row.get(c).map(Cell::display).unwrap_or_default();
        if !columns.contains(&code) {
            columns.push(code.clone());
        }
        rows.entry(key)
            .or_default()
            .insert(code, row.get(v).cloned().unwrap_or(Cell::Null));
    }
    columns.sort();
    let skip = last.map_or(0, |n| rows.len().saturating_sub(n));
    let mut out = Table::new(std::iter::once(row_key.to_string()).chain(columns.iter().cloned()));
    for (key, values) in rows.into_iter().skip(skip) {
        let mut line = vec![Cell::text(key)];
        line.extend(
            columns
                .iter()
                .map(|code| values.get(code).cloned().unwrap_or(Cell::Null)),
        );
        out.push(line);
    }
    out
}

/// The forecast with its 95% interval, currencies side by side: the point over its interval
/// (`1.2k` then `1.1k–1.4k`), two short lines that fit 80 columns where one long one was cut.
fn forecast_side_by_side(outlooks: &[CurrencyOutlook]) -> Table {
    let with_days: Vec<&CurrencyOutlook> = outlooks
        .iter()
        .filter(|o| !o.outlook.days.is_empty())
        .collect();
    let mut table = Table::new(
        std::iter::once("day".to_string())
            .chain(with_days.iter().map(|o| format!("{} (95%)", o.currency))),
    );
    let days: Vec<NaiveDate> = with_days
        .first()
        .map(|o| o.outlook.days.iter().map(|d| d.day).collect())
        .unwrap_or_default();
    for day in days {
        let mut row = vec![Cell::text(day.to_string())];
        for o in &with_days {
            row.push(match o.outlook.days.iter().find(|d| d.day == day) {
                Some(d) => Cell::text(format!(
                    "{}\n{}–{}",
                    chart::compact(d.point),
                    chart::compact(d.lo95),
                    chart::compact(d.hi95)
                )),
                None => Cell::Null,
            });
        }
        table.push(row);
    }
    table
}

/// What gives the forecast the history it needs, for a lake that has too little.
const NO_FORECAST_HINT: &str = "A forecast needs 3 full days of orders (14 for the seasonal model): 'salesctl generate --backfill 60d' writes past orders, then 'salesctl relay --drain' (local mode) or the pipeline brings them to the lake.";

/// The table view: charts where they help, short tables, currencies side by side.
fn write_for_people(
    out: &mut impl Write,
    ctx: &Context,
    args: &Args,
    sections: &[Section],
    outlooks: &[CurrencyOutlook],
) -> anyhow::Result<()> {
    let width = output_width();
    let wrap_width = width.unwrap_or(100);
    let charts = !args.no_chart && wrap_width >= chart::MIN_WIDTH;
    let chart_width = wrap_width.min(100);
    for line in textwrap::wrap(&format!("Revenue: {REVENUE_DEFINITION}."), wrap_width) {
        writeln!(out, "{line}")?;
    }
    let charted = match &args.currency {
        Some(code) => outlooks
            .iter()
            .find(|o| o.currency.eq_ignore_ascii_case(code)),
        None => outlooks.iter().max_by(|a, b| {
            let total = |o: &CurrencyOutlook| o.history.iter().map(|(_, v)| v).sum::<f64>();
            total(a).total_cmp(&total(b))
        }),
    };
    if let Some(code) = &args.currency
        && charted.is_none()
    {
        crate::say!("salesctl: note: no revenue in currency '{code}'; charting none");
    }
    if charts && let Some(o) = charted {
        writeln!(out)?;
        let title = if o.outlook.model == ModelKind::None {
            format!("Daily revenue, {} (no forecast yet: see below)", o.currency)
        } else {
            format!(
                "Daily revenue, {}, with the forecast and its 95% band ({})",
                o.currency, o.outlook.model_name
            )
        };
        for line in textwrap::wrap(&title, wrap_width) {
            writeln!(out, "{line}")?;
        }
        let band = o.band();
        for line in chart::series_with_forecast(&o.history, &band, chart_width, 14) {
            writeln!(out, "{line}")?;
        }
        writeln!(out, "{}", chart::SERIES_LEGEND)?;
    }
    let write_note = |out: &mut dyn Write, title: &str, note: &str| -> anyhow::Result<()> {
        writeln!(out)?;
        for line in textwrap::wrap(&format!("{title}: {note}"), wrap_width) {
            writeln!(out, "{line}")?;
        }
        Ok(())
    };
    let write_table = |out: &mut dyn Write, title: &str, table: &Table| -> anyhow::Result<()> {
        writeln!(out)?;
        for line in textwrap::wrap(title, wrap_width) {
            writeln!(out, "{line}")?;
        }
        let mut buffer = Vec::new();
        table.write(&mut buffer, OutputFormat::Table, ctx.color)?;
        out.write_all(&buffer)?;
        Ok(())
    };
    let note_of = |name: &str| {
        sections
            .iter()
            .find(|s| s.name == name)
            .and_then(|s| s.note.as_deref())
    };
    if let Some(note) = note_of("revenue_by_product") {
        write_note(out, "Revenue by product", note)?;
    } else if let Some(by_product) = section(sections, "revenue_by_product") {
        let (table, bars) = products_side_by_side(by_product, args.top as usize);
        write_table(
            out,
            &format!("Revenue by product, top {} by units", args.top),
            &table,
        )?;
        if charts {
            writeln!(out, "\nUnits by product")?;
            for line in chart::bars(&bars, chart_width) {
                writeln!(out, "{line}")?;
            }
        }
    }
    if let Some(note) = note_of("revenue_by_day") {
        write_note(out, "Revenue by day", note)?;
    } else if let Some(by_day) = section(sections, "revenue_by_day") {
        let table = side_by_side(by_day, "day", "currency", "revenue", Some(RECENT_DAYS));
        write_table(
            out,
            &format!("Revenue by day, last {RECENT_DAYS} days (order creation day, UTC)"),
            &table,
        )?;
    }
    let forecasts = forecast_side_by_side(outlooks);
    if let Some(note) = note_of("forecast") {
        write_note(out, &format!("Forecast, next {HORIZON_DAYS} days"), note)?;
    } else if forecasts.rows.is_empty() {
        // No currency has enough history: the reasons below say why, and this says what to do.
        writeln!(out, "\nForecast, next {HORIZON_DAYS} days: none yet")?;
        for line in textwrap::wrap(NO_FORECAST_HINT, wrap_width) {
            writeln!(out, "{line}")?;
        }
    } else {
        write_table(
            out,
            &format!("Forecast, next {HORIZON_DAYS} days: point (95% interval)"),
            &forecasts,
        )?;
    }
    // Currencies whose model line reads the same share it, so five currencies with too little
    // history give one line, not five.
    let mut summaries: Vec<(Vec<&str>, String)> = Vec::new();
    for o in outlooks {
        let notes = if o.outlook.notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", o.outlook.notes.join("; "))
        };
        let summary = format!("{}: {}{notes}", o.outlook.model_name, o.outlook.reason);
        match summaries.iter_mut().find(|(_, text)| *text == summary) {
            Some((currencies, _)) => currencies.push(&o.currency),
            None => summaries.push((vec![&o.currency], summary)),
        }
    }
    for (currencies, summary) in summaries {
        let text = format!("{}: {summary}", currencies.join(", "));
        for line in textwrap::wrap(&text, wrap_width) {
            writeln!(out, "{line}")?;
        }
    }
    if let Some(o) = charted
        && o.backtest.scores.iter().all(|score| score.forecasts == 0)
    {
        writeln!(
            out,
            "\nHow far to trust it: no backtest yet in {}",
            o.currency
        )?;
        for note in &o.backtest.notes {
            writeln!(out, "{note}")?;
        }
    } else if let Some(o) = charted {
        let mut table = Table::new(["method", "MAPE %", "sMAPE %", "MAE", "in 80%", "in 95%"]);
        for score in &o.backtest.scores {
            // The short name, so the marker of the forecast is never the part cut at 80
            // columns; the long names are explained under the table.
            let short = score.method.split(" (").next().unwrap_or(&score.method);
            let method = if score.method == o.method {
                format!("{short} (the forecast)")
            } else {
                short.to_string()
            };
            let mut row = vec![Cell::text(method)];
            row.extend(score_cells(score, 0));
            table.push(row);
        }
        write_table(
            out,
            &format!(
                "How far to trust it: backtest in {} over the last 28 days (-o json for every currency)",
                o.currency
            ),
            &table,
        )?;
        writeln!(
            out,
            "seasonal naive: the same weekday last week; linear trend: a least-squares line"
        )?;
        for note in &o.backtest.notes {
            writeln!(out, "{note}")?;
        }
    }
    for name in ["top_products", "average_order_value", "cdc_mix"] {
        if let Some(s) = sections.iter().find(|s| s.name == name) {
            match &s.note {
                Some(note) => write_note(out, &s.title, note)?,
                None => write_table(out, &s.title, &s.table)?,
            }
        }
    }
    Ok(())
}

fn write_html(
    path: &std::path::Path,
    sections: &[Section],
    outlooks: &[CurrencyOutlook],
) -> anyhow::Result<()> {
    // One place per concept: the charts carry the model (in their captions) and the
    // forecast (with its own wide table); the long per-day tables are pivoted or folded.
    let series = outlooks
        .iter()
        .map(|o| SeriesFigure {
            title: o.currency.clone(),
            unit: o.currency.clone(),
            caption: std::iter::once(format!(
                "Forecast: {}, {}.",
                o.outlook.model_name, o.outlook.reason
            ))
            .chain(o.outlook.notes.iter().map(|n| format!("Note: {n}.")))
            .collect(),
            history: o.history.clone(),
            forecast: o.band(),
        })
        .collect();
    let mut blocks = Vec::new();
    fn table(title: String, table: Cow<'_, Table>, collapsed: bool) -> Block<'_> {
        Block::Table(TableBlock {
            title,
            table,
            collapsed,
        })
    }
    if let Some(s) = sections.iter().find(|s| s.name == "backtest") {
        blocks.push(table(s.title.clone(), Cow::Borrowed(&s.table), false));
    }
    if let Some((by_product, product_bars)) =
        section(sections, "revenue_by_product").map(|t| products_side_by_side(t, 10))
    {
        blocks.push(Block::Bars(BarsFigure {
            title: "Units by product (top 10 and others)".into(),
            items: product_bars
                .iter()
                .map(|(n, v)| (n.clone(), *v as f64))
                .collect(),
        }));
        blocks.push(table(
            "Revenue by product, currencies side by side".into(),
            Cow::Owned(by_product),
            false,
        ));
    }
    if let Some(s) = sections.iter().find(|s| s.name == "average_order_value") {
        blocks.push(table(s.title.clone(), Cow::Borrowed(&s.table), false));
    }
    if let Some(mix) = sections.iter().find(|s| s.name == "cdc_mix") {
        blocks.push(Block::Bars(BarsFigure {
            title: mix.title.clone(),
            items: mix
                .table
                .rows
                .iter()
                .map(|r| {
                    (
                        r.first().map(Cell::display).unwrap_or_default(),
                        decimal(r.get(1)).to_f64().unwrap_or(0.0),
                    )
                })
                .collect(),
        }));
    }
    if let Some(s) = sections.iter().find(|s| s.name == "revenue_by_day") {
        blocks.push(table(
            format!("{}, one row per day, revenue per currency", s.title),
            Cow::Owned(html_report::wide(
                &s.table,
                "day",
                "currency",
                "revenue",
                Some("orders"),
            )),
            true,
        ));
    }
    let page = Page {
        title: format!(
            "salesctl sales report, {}",
            Utc::now().format("%Y-%m-%d %H:%M UTC")
        ),
        notes: vec![format!("Revenue: {REVENUE_DEFINITION}.")],
        series_title: format!(
            "Daily revenue per currency, with the next {HORIZON_DAYS} days forecast"
        ),
        series,
        blocks,
    };
    let html = html_report::render(&page);
    crate::stream::positions::write_atomically(path, html.as_bytes())
        .map_err(|e| crate::error::config_error(format!("cannot write {}: {e}", path.display())))?;
    Ok(())
}

/// The report as JSON lines, like every other verb: first an `about` line (engine, revenue
/// definition, method), then one line per row, its `section` first.
fn write_json_lines(
    out: &mut impl Write,
    engine: &str,
    sections: &[Section],
) -> std::io::Result<()> {
    let about = [
        ("section", Cell::text("about")),
        ("engine", Cell::text(engine)),
        ("revenue_definition", Cell::text(REVENUE_DEFINITION)),
        (
            "forecast_method",
            Cell::text(
                "Holt-Winters additive with weekly seasonality (14+ full days), else a linear trend; 80%/95% prediction intervals",
            ),
        ),
    ];
    writeln!(out, "{}", json_object(about.iter().map(|(n, c)| (*n, c))))?;
    for section in sections {
        let name = Cell::text(section.name);
        if let Some(note) = &section.note {
            let fields = [
                ("section", name.clone()),
                ("note", Cell::text(note.as_str())),
            ];
            writeln!(out, "{}", json_object(fields.iter().map(|(n, c)| (*n, c))))?;
            continue;
        }
        for row in &section.table.rows {
            let fields = std::iter::once(("section", &name)).chain(
                section
                    .table
                    .headers
                    .iter()
                    .map(String::as_str)
                    .zip(row.iter()),
            );
            writeln!(out, "{}", json_object(fields))?;
        }
    }
    Ok(())
}

/// Every section the report prints, in order.
fn section_names() -> Vec<&'static str> {
    REPORT_SECTIONS
        .iter()
        .map(|query| query.name)
        .chain(FORECAST_SECTIONS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use salesctl_core::forecast::ModelKind;

    fn by_day(days: usize) -> Table {
        let mut t = Table::new(["day", "currency", "orders", "revenue"]);
        let first = NaiveDate::from_ymd_opt(2026, 10, 1).unwrap();
        for i in 0..days {
            let day = first + chrono::Days::new(i as u64);
            let weekly = [100, 110, 105, 120, 150, 60, 70][i % 7];
            t.push(vec![
                Cell::text(day.to_string()),
                Cell::text("USD"),
                Cell::number(1),
                Cell::Number(format!("{}.00", weekly + i)),
            ]);
            if i % 2 == 0 {
                t.push(vec![
                    Cell::text(day.to_string()),
                    Cell::text("EUR"),
                    Cell::number(1),
                    Cell::Number("50.00".into()),
                ]);
            }
        }
        t
    }

    #[test]
    fn each_currency_gets_its_own_forecast_without_the_partial_day() {
        let table = by_day(36);
        let today = NaiveDate::from_ymd_opt(2026, 11, 5).unwrap(); // the 36th day
        let outlooks = outlooks_per_currency(&table, today);
        assert_eq!(outlooks.len(), 2);
        let usd = outlooks.iter().find(|o| o.currency == "USD").unwrap();
        assert_eq!(usd.outlook.model, ModelKind::HoltWinters);
        assert_eq!(usd.outlook.history_days, 35);
        assert_eq!(usd.outlook.days.len(), 7);
        assert_eq!(usd.outlook.days[0].day, today);
        assert!(
            usd.history.iter().all(|(day, _)| *day < today),
            "the chart's history holds full days only"
        );
        assert!(
            !usd.outlook.notes.is_empty(),
            "says the partial day was left out"
        );
        assert_eq!(usd.backtest.scores.len(), 3);
        let rows = forecast_table(&outlooks);
        assert_eq!(rows.rows.len(), 14);
    }

    #[test]
    fn products_are_ranked_by_units_with_others_and_currencies_side_by_side() {
        let mut t = Table::new(["product_name", "currency", "orders", "units", "revenue"]);
        for (p, c, u, r) in [
            ("Laptop", "USD", "5", "5000.00"),
            ("Laptop", "EUR", "1", "900.00"),
            ("Mouse", "USD", "9", "90.00"),
            ("Cable", "USD", "2", "10.00"),
            ("Webcam", "EUR", "1", "40.00"),
        ] {
            t.push(vec![
                Cell::text(p),
                Cell::text(c),
                Cell::number(1),
                Cell::Number(u.into()),
                Cell::Number(r.into()),
            ]);
        }
        let (table, bars) = products_side_by_side(&t, 2);
        assert_eq!(table.headers, ["product", "units", "EUR", "USD"]);
        assert_eq!(table.rows[0][0], Cell::text("Mouse"));
        assert_eq!(table.rows[1][0], Cell::text("Laptop"));
        assert_eq!(table.rows[1][2], Cell::number("900.00"));
        assert_eq!(table.rows[2][0], Cell::text("others (2)"));
        assert_eq!(table.rows[2][1], Cell::number("3"));
        assert_eq!(bars[0], ("Mouse".to_string(), 9));
    }

    #[test]
    fn json_lines_carry_their_section() {
        let outlooks =
            outlooks_per_currency(&by_day(20), NaiveDate::from_ymd_opt(2026, 12, 1).unwrap());
        let sections = vec![Section {
            name: "forecast",
            title: String::new(),
            table: forecast_table(&outlooks),
            note: None,
        }];
        let mut out = Vec::new();
        write_json_lines(&mut out, "local", &sections).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines[0]["section"], "about");
        assert_eq!(lines.len(), 1 + 14);
        assert!(
            lines[1..]
                .iter()
                .all(|l| l["section"] == "forecast" && l["lo95"].is_number())
        );
    }
}
