//! `salesctl report`: the canned sales analyses (revenue, units, days, top products, order
//! value, CDC mix) and a 7-day revenue projection with its fit, on either engine.

use std::io::Write;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::commands::engine::EngineArgs;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::render::{Cell, OutputFormat, Table, json_object, output_width};
use crate::sql::{REVENUE_DEFINITION, report_queries};
use salesctl_core::forecast::{self, Projection};

/// Days projected past the last observed day.
const HORIZON_DAYS: u32 = 7;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Print only this section (its name as in the JSON lines' "section"); required with
    /// -o csv, where one file holds one table.
    #[arg(long, value_name = "NAME")]
    pub section: Option<String>,
    #[command(flatten)]
    pub engine: EngineArgs,
}

/// One titled result of the report.
struct Section {
    name: &'static str,
    title: String,
    table: Table,
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
    let mut sections = Vec::new();
    let mut stats = Vec::new();
    for (query, sql) in report_queries() {
        let output = engine.run(&sql).await?;
        stats.push(output.stats);
        sections.push(Section {
            name: query.name,
            title: query.title.to_string(),
            table: output.table,
        });
    }
    let by_day = sections
        .iter()
        .find(|s| s.name == "revenue_by_day")
        .map(|s| &s.table);
    let projections = by_day.map(project_per_currency).unwrap_or_default();
    sections.push(Section {
        name: "projection_fit",
        title: format!("Projection method: {}", forecast::METHOD),
        table: fit_table(&projections),
    });
    sections.push(Section {
        name: "projection",
        title: format!("Projected daily revenue, next {HORIZON_DAYS} days"),
        table: projection_table(&projections),
    });

    if let Some(name) = &args.section {
        sections.retain(|s| s.name == name);
    }
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => write_json_lines(&mut out, engine.name(), &sections)?,
        OutputFormat::Csv => {
            for section in &sections {
                section.table.write(&mut out, format, ctx.color)?;
            }
        }
        OutputFormat::Table => {
            // Prose wraps at the width; tables fit it on their own.
            let width = output_width().unwrap_or(usize::MAX);
            for line in textwrap::wrap(&format!("Revenue: {REVENUE_DEFINITION}."), width) {
                writeln!(out, "{line}")?;
            }
            for section in &sections {
                writeln!(out, "\n{}", section.title)?;
                section.table.write(&mut out, format, ctx.color)?;
            }
        }
    }
    out.flush()?;
    for line in stats {
        crate::say!("{line}");
    }
    Ok(ExitStatus::SUCCESS)
}

/// Daily revenue per currency from the `revenue_by_day` rows (day, currency, orders,
/// revenue), projected separately: currencies are never added together.
fn project_per_currency(by_day: &Table) -> Vec<(String, Projection)> {
    let column = |name: &str| by_day.headers.iter().position(|h| h == name);
    let (Some(day), Some(currency), Some(revenue)) =
        (column("day"), column("currency"), column("revenue"))
    else {
        return Vec::new();
    };
    let mut series: Vec<(String, Vec<(NaiveDate, Decimal)>)> = Vec::new();
    for row in &by_day.rows {
        let (Some(Cell::Text(d)), Some(c), Some(Cell::Number(r))) =
            (row.get(day), row.get(currency), row.get(revenue))
        else {
            continue;
        };
        let (Ok(d), Ok(r)) = (NaiveDate::from_str(d), Decimal::from_str(r)) else {
            continue;
        };
        let c = c.display();
        match series.iter_mut().find(|(name, _)| *name == c) {
            Some((_, points)) => points.push((d, r)),
            None => series.push((c, vec![(d, r)])),
        }
    }
    series
        .into_iter()
        .filter_map(|(c, points)| forecast::project(&points, HORIZON_DAYS).map(|p| (c, p)))
        .collect()
}

fn float_cell(value: f64, decimals: usize) -> Cell {
    if value.is_finite() {
        Cell::Number(format!("{value:.decimals$}"))
    } else {
        Cell::Null
    }
}

fn fit_table(projections: &[(String, Projection)]) -> Table {
    let mut t = Table::new([
        "currency",
        "days",
        "first_day",
        "last_day",
        "slope_per_day",
        "intercept",
        "r_squared",
        "rmse",
    ]);
    for (currency, p) in projections {
        t.push(vec![
            Cell::text(currency),
            Cell::number(p.fit.days),
            Cell::text(p.first_day.to_string()),
            Cell::text(p.last_day.to_string()),
            float_cell(p.fit.slope, 2),
            float_cell(p.fit.intercept, 2),
            p.fit.r_squared.map_or(Cell::Null, |r| float_cell(r, 4)),
            float_cell(p.fit.rmse, 2),
        ]);
    }
    t
}

fn projection_table(projections: &[(String, Projection)]) -> Table {
    let mut t = Table::new(["day", "currency", "projected_revenue"]);
    for (currency, p) in projections {
        for (day, value) in &p.days {
            t.push(vec![
                Cell::text(day.to_string()),
                Cell::text(currency),
                Cell::Number(format!("{value:.2}")),
            ]);
        }
    }
    t
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
        ("projection_method", Cell::text(forecast::METHOD)),
    ];
    writeln!(out, "{}", json_object(about.iter().map(|(n, c)| (*n, c))))?;
    for section in sections {
        let name = Cell::text(section.name);
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
    report_queries()
        .into_iter()
        .map(|(query, _)| query.name)
        .chain(["projection_fit", "projection"])
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_are_per_currency_and_json_lines_carry_their_section() {
        let mut by_day = Table::new(["day", "currency", "orders", "revenue"]);
        for (d, c, r) in [
            ("2026-11-18", "USD", "100.00"),
            ("2026-11-19", "USD", "110.00"),
            ("2026-11-19", "EUR", "50.00"),
            ("2026-11-20", "USD", "120.00"),
        ] {
            by_day.push(vec![
                Cell::text(d),
                Cell::text(c),
                Cell::number(1),
                Cell::Number(r.into()),
            ]);
        }
        let projections = project_per_currency(&by_day);
        assert_eq!(projections.len(), 2);
        let table = projection_table(&projections);
        assert_eq!(table.rows.len(), 14);
        assert_eq!(
            table.rows[0],
            vec![
                Cell::text("2026-11-21"),
                Cell::text("USD"),
                Cell::Number("130.00".into())
            ]
        );
        assert_eq!(
            table.rows[7],
            vec![
                Cell::text("2026-11-20"),
                Cell::text("EUR"),
                Cell::Number("50.00".into())
            ]
        );
        let sections = vec![Section {
            name: "projection",
            title: String::new(),
            table,
        }];
        let mut out = Vec::new();
        write_json_lines(&mut out, "local", &sections).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 15, "about + 14 rows");
        assert_eq!(lines[0]["section"], "about");
        assert_eq!(lines[1]["section"], "projection");
        assert_eq!(lines[1]["projected_revenue"].to_string(), "130.0");
        assert!(text.contains("\"projected_revenue\":130.00"));
    }
}
