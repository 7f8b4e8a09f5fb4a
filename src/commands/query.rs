//! `salesctl query`: run SQL on Athena or on the embedded engine over the lake, print the rows
//! as a table, CSV or JSON lines, then one line of statistics (cost, for Athena).

use std::io::Read;
use std::path::PathBuf;

use crate::commands::engine::EngineArgs;
use crate::context::Context;
use crate::error::{ExitStatus, usage_error};
use crate::render::{Layout, OutputFormat, output_width};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The SQL to run; `-` reads it from stdin.
    #[arg(
        value_name = "SQL",
        required_unless_present = "file",
        conflicts_with = "file"
    )]
    pub sql: Option<String>,
    /// Read the SQL from this file.
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Table output: one block per row (`name | value` lines), as psql's \x. Chosen
    /// automatically when the columns cannot fit the terminal.
    #[arg(long, short = 'x')]
    pub vertical: bool,
    #[command(flatten)]
    pub engine: EngineArgs,
}

pub async fn run(ctx: &Context, args: Args) -> anyhow::Result<ExitStatus> {
    let sql = read_sql(&args)?;
    let engine = args.engine.open(ctx).await?;
    if let Some(note) = engine.empty_lake_note() {
        crate::say!("salesctl: note: {note}");
    }
    let output = engine.run(&sql).await?;
    let out = ctx.out();
    let layout = if args.vertical {
        Layout::Vertical
    } else {
        Layout::Auto
    };
    out.table_fitted(&output.table, output_width(), layout)?;
    // The statistics line would corrupt CSV or JSON lines on stdout, so it goes to stderr there.
    if out.format == OutputFormat::Table {
        let width = output_width().unwrap_or(usize::MAX);
        out.text(&textwrap::wrap(&output.stats.to_string(), width).join("\n"))?;
    } else {
        crate::render::note_wrapped(&output.stats.to_string());
    }
    Ok(ExitStatus::SUCCESS)
}

fn read_sql(args: &Args) -> anyhow::Result<String> {
    let sql = match (&args.sql, &args.file) {
        (_, Some(path)) => std::fs::read_to_string(path).map_err(|e| {
            usage_error(format!("cannot read the SQL file {}: {e}", path.display()))
        })?,
        (Some(dash), None) if dash == "-" => {
            let mut text = String::new();
            std::io::stdin()
                .read_to_string(&mut text)
                .map_err(|e| usage_error(format!("cannot read SQL from stdin: {e}")))?;
            text
        }
        (Some(sql), None) => sql.clone(),
        (None, None) => String::new(),
    };
    // A trailing `;` is habit from SQL shells; both engines want a single bare statement.
    let sql = sql.trim().trim_end_matches(';').trim().to_string();
    if sql.is_empty() {
        return Err(usage_error(
            "no SQL to run: pass it as an argument, with --file FILE, or '-' for stdin",
        ));
    }
    Ok(sql)
}
