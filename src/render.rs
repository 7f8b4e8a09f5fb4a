//! Output for people and for pipes: comfy-table tables, RFC 4180 CSV, or one JSON object per
//! line. Numbers keep their exact decimal text in every format.

use std::io::{self, Write};

use comfy_table::{Cell as TableCell, CellAlignment, ContentArrangement, Table as ComfyTable};

/// `--output`, as in the AWS CLI (plus csv).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Json,
    Csv,
}

impl OutputFormat {
    /// The names `--output` takes.
    pub const NAMES: [&'static str; 3] = ["table", "json", "csv"];

    pub fn named(name: &str) -> Option<OutputFormat> {
        match name {
            "table" => Some(OutputFormat::Table),
            "json" => Some(OutputFormat::Json),
            "csv" => Some(OutputFormat::Csv),
            _ => None,
        }
    }
}

/// One value in a result. Numbers are carried as text so decimals never pass through f64.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Null,
    Bool(bool),
    /// A number in JSON number syntax, printed as-is.
    Number(String),
    Text(String),
    /// Already-serialized JSON (objects, arrays), embedded as-is in JSON output.
    Json(String),
}

impl Cell {
    pub fn number(n: impl ToString) -> Cell {
        Cell::Number(n.to_string())
    }

    pub fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }

    /// The text a person sees in a table or CSV field.
    pub fn display(&self) -> String {
        match self {
            Cell::Null => String::new(),
            Cell::Bool(b) => b.to_string(),
            Cell::Number(n) => n.clone(),
            Cell::Text(s) => s.clone(),
            Cell::Json(j) => j.clone(),
        }
    }

    /// Appends the cell as a JSON value.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Cell::Null => out.push_str("null"),
            Cell::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Cell::Number(n) => out.push_str(n),
            Cell::Text(s) => push_json_string(out, s),
            Cell::Json(j) => out.push_str(j),
        }
    }
}

/// Appends `s` as a quoted, escaped JSON string.
pub fn push_json_string(out: &mut String, s: &str) {
    // Serializing a &str cannot fail.
    out.push_str(&serde_json::to_string(s).unwrap_or_default());
}

/// One JSON object from name/value pairs, in order, without a trailing newline.
pub fn json_object<'a>(fields: impl IntoIterator<Item = (&'a str, &'a Cell)>) -> String {
    let mut out = String::from("{");
    for (i, (name, value)) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_json_string(&mut out, name);
        out.push(':');
        value.write_json(&mut out);
    }
    out.push('}');
    out
}

/// A result set: column names and rows of cells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
}

impl Table {
    pub fn new(headers: impl IntoIterator<Item = impl Into<String>>) -> Table {
        Table {
            headers: headers.into_iter().map(Into::into).collect(),
            rows: Vec::new(),
        }
    }

    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Writes the table in the chosen format. `color` allows styling in table mode.
    pub fn write(&self, out: &mut impl Write, format: OutputFormat, color: bool) -> io::Result<()> {
        match format {
            OutputFormat::Table => writeln!(out, "{}", self.to_comfy(color)),
            OutputFormat::Json => {
                for row in &self.rows {
                    let fields = self.headers.iter().map(String::as_str).zip(row.iter());
                    writeln!(out, "{}", json_object(fields))?;
                }
                Ok(())
            }
            OutputFormat::Csv => {
                let mut writer = csv::Writer::from_writer(out);
                writer.write_record(&self.headers)?;
                for row in &self.rows {
                    writer.write_record(row.iter().map(Cell::display))?;
                }
                writer.flush()
            }
        }
    }

    fn to_comfy(&self, color: bool) -> ComfyTable {
        let mut table = ComfyTable::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Dynamic);
        if !color {
            table.force_no_tty();
        }
        table.set_header(self.headers.iter().map(|h| {
            let cell = TableCell::new(h);
            if color {
                cell.add_attribute(comfy_table::Attribute::Bold)
            } else {
                cell
            }
        }));
        for row in &self.rows {
            table.add_row(row.iter().map(|c| {
                let cell = TableCell::new(c.display());
                if matches!(c, Cell::Number(_)) {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Table {
        let mut t = Table::new(["product", "revenue", "note"]);
        t.push(vec![
            Cell::text("Laptop"),
            Cell::number("1249.90"),
            Cell::text("a \"b\", c"),
        ]);
        t.push(vec![
            Cell::text("Mouse"),
            Cell::Number("0.10".into()),
            Cell::Null,
        ]);
        t
    }

    fn render(format: OutputFormat) -> String {
        let mut out = Vec::new();
        sample().write(&mut out, format, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn json_lines_keep_exact_decimals() {
        assert_eq!(
            render(OutputFormat::Json),
            "{\"product\":\"Laptop\",\"revenue\":1249.90,\"note\":\"a \\\"b\\\", c\"}\n\
             {\"product\":\"Mouse\",\"revenue\":0.10,\"note\":null}\n"
        );
    }

    #[test]
    fn csv_quotes_per_rfc_4180() {
        assert_eq!(
            render(OutputFormat::Csv),
            "product,revenue,note\nLaptop,1249.90,\"a \"\"b\"\", c\"\nMouse,0.10,\n"
        );
    }

    #[test]
    fn table_shows_every_value() {
        let text = render(OutputFormat::Table);
        for needle in ["product", "Laptop", "1249.90", "Mouse", "0.10"] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }
}
