//! `salesctl report`: the canned sales analyses (revenue, units, days, top products, order
//! value, CDC mix) and a 7-day revenue projection with its fit, on either engine.

use std::io::Write;
use std::str::FromStr;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::commands::engine::EngineArgs;
use crate::context::Context;
use crate::error::ExitStatus;
use crate::render::{Cell, OutputFormat, Table, push_json_string};
use crate::sql::{REVENUE_DEFINITION, report_queries};
use salesctl_core::forecast::{self, Projection};

/// Days projected past the last observed day.
const HORIZON_DAYS: u32 = 7;

#[derive(Debug, clap::Args)]
pub struct Args {
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
    let engine = args.engine.open(ctx).await?;
    if let Some(note) = engine.empty_lake_note() {
        eprintln!("salesctl: note: {note}");
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

    let format = ctx.output();
    let mut out = std::io::stdout().lock();
    match format {
        OutputFormat::Json => writeln!(out, "{}", report_json(engine.name(), &sections))?,
        OutputFormat::Table | OutputFormat::Csv => {
            if format == OutputFormat::Table {
                writeln!(out, "Revenue: {REVENUE_DEFINITION}.")?;
            }
            for section in &sections {
                if format == OutputFormat::Table {
                    writeln!(out, "\n{}", section.title)?;
                } else {
                    writeln!(out, "# {}", section.name)?;
                }
                section.table.write(&mut out, format, ctx.color)?;
            }
        }
    }
    out.flush()?;
    for line in stats {
        eprintln!("{line}");
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

/// The whole report as one JSON object: each section an array of row objects.
fn report_json(engine: &str, sections: &[Section]) -> String {
    let mut out = String::from("{\"engine\":");
    push_json_string(&mut out, engine);
    out.push_str(",\"revenue_definition\":");
    push_json_string(&mut out, REVENUE_DEFINITION);
    out.push_str(",\"projection_method\":");
    push_json_string(&mut out, forecast::METHOD);
    for section in sections {
        out.push(',');
        push_json_string(&mut out, section.name);
        out.push_str(":[");
        for (i, row) in section.table.rows.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&crate::render::json_object(
                section
                    .table
                    .headers
                    .iter()
                    .map(String::as_str)
                    .zip(row.iter()),
            ));
        }
        out.push(']');
    }
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projections_are_per_currency_and_json_is_one_valid_object() {
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
        let json = report_json("local", &sections);
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            value["projection"][0]["projected_revenue"].to_string(),
            "130.0"
        );
        assert!(json.contains("\"projected_revenue\":130.00"));
    }
}
