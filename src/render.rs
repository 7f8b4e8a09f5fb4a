//! Output for people and for pipes: comfy-table tables fitted to the terminal, RFC 4180 CSV,
//! or one JSON object per line. Numbers keep their exact decimal text in every format.

use std::io::{self, IsTerminal, Write};

use comfy_table::{
    Cell as TableCell, CellAlignment, ColumnConstraint, ContentArrangement, Row,
    Table as ComfyTable,
};
use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::value::RawValue;

/// `COLUMNS` as the context read it at start (this module reads no environment itself).
static COLUMNS_HINT: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();

/// Hands render the width a script asked for with `COLUMNS`; the context calls this once.
pub fn set_columns_hint(columns: Option<usize>) {
    let _ = COLUMNS_HINT.set(columns);
}

/// The width a person's output must fit: the terminal's when stdout is one, else `COLUMNS`
/// when set (a script asking for a width), else none (a pipe: nothing is cut).
pub fn output_width() -> Option<usize> {
    if io::stdout().is_terminal()
        && let Some((_, columns)) = console::Term::stdout().size_checked()
    {
        return Some(usize::from(columns));
    }
    COLUMNS_HINT.get().copied().flatten().filter(|c| *c >= 20)
}

/// Writes `text` to stderr wrapped at the terminal's width (when stderr is one), so a long
/// note never spills past the right edge.
pub fn note_wrapped(text: &str) {
    let width = if io::stderr().is_terminal() {
        console::Term::stderr()
            .size_checked()
            .map(|(_, columns)| usize::from(columns))
    } else {
        None
    };
    match width {
        Some(width) => {
            for line in textwrap::wrap(text, width) {
                crate::say!("{line}");
            }
        }
        None => crate::say!("{text}"),
    }
}

/// `text` wrapped to `width` at spaces only: an id or a name with hyphens is never split.
pub fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let options = textwrap::Options::new(width.max(20))
        .break_words(false)
        .word_splitter(textwrap::WordSplitter::NoHyphenation);
    textwrap::wrap(text, options)
        .into_iter()
        .map(|line| line.into_owned())
        .collect()
}

/// `text` cut to `width` terminal columns with an ellipsis, never mid-character.
pub fn truncate(text: &str, width: usize) -> std::borrow::Cow<'_, str> {
    console::truncate_str(text, width, "…")
}

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

    pub fn name(self) -> &'static str {
        match self {
            OutputFormat::Table => "table",
            OutputFormat::Json => "json",
            OutputFormat::Csv => "csv",
        }
    }

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

    /// A JSON value as a cell: scalars as themselves, lists and objects as embedded JSON.
    pub fn from_json(value: serde_json::Value) -> Cell {
        match value {
            serde_json::Value::Null => Cell::Null,
            serde_json::Value::Bool(b) => Cell::Bool(b),
            serde_json::Value::Number(n) => Cell::Number(n.to_string()),
            serde_json::Value::String(s) => Cell::Text(s),
            other => Cell::Json(other.to_string()),
        }
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
}

/// A cell serializes as the JSON value it holds: numbers and embedded JSON as their exact
/// text (never through f64), so 1249.90 stays 1249.90.
impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => serializer.serialize_unit(),
            Cell::Bool(b) => serializer.serialize_bool(*b),
            Cell::Text(text) => serializer.serialize_str(text),
            Cell::Number(raw) | Cell::Json(raw) => RawValue::from_string(raw.clone())
                .map_err(serde::ser::Error::custom)?
                .serialize(serializer),
        }
    }
}

/// Name/value pairs serialized as one JSON object, in their order.
struct Fields<'a>(&'a [(&'a str, &'a Cell)]);

impl Serialize for Fields<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

/// One JSON object from name/value pairs, in order, without a trailing newline. A number
/// cell that is not valid JSON number text is a bug upstream; it is written as a string.
pub fn json_object<'a>(fields: impl IntoIterator<Item = (&'a str, &'a Cell)>) -> String {
    let fields: Vec<(&str, &Cell)> = fields.into_iter().collect();
    serde_json::to_string(&Fields(&fields)).unwrap_or_else(|_| {
        let lossless: Vec<(&str, Cell)> = fields
            .iter()
            .map(|(name, cell)| (*name, Cell::Text(cell.display())))
            .collect();
        let lossless: Vec<(&str, &Cell)> = lossless.iter().map(|(n, c)| (*n, c)).collect();
        serde_json::to_string(&Fields(&lossless)).unwrap_or_default()
    })
}

/// A JSON object's fields in the order they were written.
struct OrderedFields(Vec<(String, serde_json::Value)>);

impl<'de> serde::Deserialize<'de> for OrderedFields {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Fields;
        impl<'de> serde::de::Visitor<'de> for Fields {
            type Value = OrderedFields;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<OrderedFields, A::Error> {
                let mut fields = Vec::new();
                while let Some(entry) = map.next_entry()? {
                    fields.push(entry);
                }
                Ok(OrderedFields(fields))
            }
        }
        deserializer.deserialize_map(Fields)
    }
}

/// How a table is laid out for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// Columns when they fit the width, else one block per record.
    Auto,
    Columns,
    /// One block per record (`query --vertical`).
    Vertical,
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

    /// Plain data as a table: each item's fields are the columns (in declaration order, so
    /// derive `Serialize` on a struct), numbers stay numbers, and lists and objects stay JSON
    /// (arrays in JSON lines, their JSON text in a table or CSV).
    pub fn from_records<T: Serialize>(records: &[T]) -> anyhow::Result<Table> {
        let mut table = Table::default();
        for record in records {
            // Through JSON text, which keeps the fields in declaration order (a `Value`'s map
            // would sort them).
            let text = serde_json::to_string(record)?;
            let OrderedFields(fields) = serde_json::from_str(&text)
                .map_err(|_| anyhow::anyhow!("a result row must be a struct or a map"))?;
            if table.headers.is_empty() {
                table.headers = fields.iter().map(|(name, _)| name.clone()).collect();
            }
            table.push(
                fields
                    .into_iter()
                    .map(|(_, v)| Cell::from_json(v))
                    .collect(),
            );
        }
        Ok(table)
    }

    /// Writes the table in the chosen format. `color` allows styling in table mode. Tables
    /// fit [`output_width`]; one too wide to read as columns is shown record by record.
    pub fn write(&self, out: &mut impl Write, format: OutputFormat, color: bool) -> io::Result<()> {
        self.write_fitted(out, format, color, output_width(), Layout::Auto)
    }

    /// [`Table::write`] with an explicit width (`None`: no limit) and layout.
    pub fn write_fitted(
        &self,
        out: &mut impl Write,
        format: OutputFormat,
        color: bool,
        width: Option<usize>,
        layout: Layout,
    ) -> io::Result<()> {
        self.write_fitted_keeping_whole(out, format, color, width, layout, &[])
    }

    /// [`Table::write`], never cutting or wrapping the columns named in `whole` (ids, times,
    /// intervals), as numbers never are: the other text columns shrink around them, and rows
    /// that cannot fit that way are shown record by record, those values still whole.
    pub fn write_keeping_whole(
        &self,
        out: &mut impl Write,
        format: OutputFormat,
        color: bool,
        whole: &[&str],
    ) -> io::Result<()> {
        self.write_fitted_keeping_whole(out, format, color, output_width(), Layout::Auto, whole)
    }

    /// [`Table::write_keeping_whole`] with an explicit width (`None`: no limit) and layout.
    pub fn write_fitted_keeping_whole(
        &self,
        out: &mut impl Write,
        format: OutputFormat,
        color: bool,
        width: Option<usize>,
        layout: Layout,
        whole: &[&str],
    ) -> io::Result<()> {
        let kept = self.kept_whole(whole);
        match format {
            OutputFormat::Table => {
                let vertical = match layout {
                    Layout::Vertical => true,
                    Layout::Columns => false,
                    Layout::Auto => width.is_some_and(|w| self.too_wide_for(w, &kept)),
                };
                if vertical {
                    self.write_vertical(out, width, &kept)
                } else {
                    writeln!(out, "{}", self.to_comfy(color, width, &kept))
                }
            }
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

    /// Per column: true when it is never cut or wrapped, for holding numbers only or for
    /// being named in `whole`.
    fn kept_whole(&self, whole: &[&str]) -> Vec<bool> {
        self.headers
            .iter()
            .enumerate()
            .map(|(i, name)| self.is_numeric_column(i) || whole.contains(&name.as_str()))
            .collect()
    }

    /// The view for a person at `width` with `whole` columns never cut, as text: what the
    /// unit tests of every table that keeps values whole measure.
    #[cfg(test)]
    pub(crate) fn people_text(&self, width: usize, whole: &[&str]) -> String {
        let mut out = Vec::new();
        self.write_fitted_keeping_whole(
            &mut out,
            OutputFormat::Table,
            false,
            Some(width),
            Layout::Auto,
            whole,
        )
        .expect("writing to memory");
        String::from_utf8(out).expect("tables are UTF-8")
    }

    /// True when even with every text column cut to a few characters the columns would not
    /// fit: then a record-per-block layout reads better than a table of ellipses.
    fn too_wide_for(&self, width: usize, kept: &[bool]) -> bool {
        let minimum: usize = (0..self.headers.len())
            .map(|i| {
                if kept.get(i).copied().unwrap_or(false) {
                    self.column_width(i)
                } else {
                    self.column_width(i).min(8)
                }
            })
            .map(|w| w + 3)
            .sum::<usize>()
            + 1;
        minimum > width
    }

    fn column_width(&self, index: usize) -> usize {
        let header = self
            .headers
            .get(index)
            .map_or(0, |h| console::measure_text_width(h));
        self.rows
            .iter()
            .filter_map(|row| row.get(index))
            .flat_map(|cell| {
                cell.display()
                    .lines()
                    .map(console::measure_text_width)
                    .collect::<Vec<_>>()
            })
            .max()
            .unwrap_or(0)
            .max(header)
    }

    /// A column where every value is a number: it is never cut or wrapped.
    fn is_numeric_column(&self, index: usize) -> bool {
        self.rows
            .iter()
            .filter_map(|row| row.get(index))
            .all(|cell| matches!(cell, Cell::Number(_) | Cell::Null))
    }

    /// psql's expanded display: one block per row, `name | value` per line, values cut to
    /// the width (except those of `kept` columns, which stay whole).
    fn write_vertical(
        &self,
        out: &mut impl Write,
        width: Option<usize>,
        kept: &[bool],
    ) -> io::Result<()> {
        let name_width = self
            .headers
            .iter()
            .map(|h| console::measure_text_width(h))
            .max()
            .unwrap_or(0);
        for (n, row) in self.rows.iter().enumerate() {
            let title = format!("-[ RECORD {} ]", n + 1);
            let rule = width.unwrap_or(40).saturating_sub(title.len()).min(40);
            writeln!(out, "{title}{}", "-".repeat(rule))?;
            for (index, (name, cell)) in self.headers.iter().zip(row).enumerate() {
                let value = cell.display();
                let value = match width {
                    Some(w) if !kept.get(index).copied().unwrap_or(false) => {
                        truncate(&value, w.saturating_sub(name_width + 3).max(8))
                    }
                    _ => value.into(),
                };
                writeln!(
                    out,
                    "{}{} | {value}",
                    name,
                    " ".repeat(name_width - console::measure_text_width(name))
                )?;
            }
        }
        Ok(())
    }

    fn to_comfy(&self, color: bool, width: Option<usize>, kept: &[bool]) -> ComfyTable {
        let mut table = ComfyTable::new();
        table.load_style(comfy_table::presets::UTF8_FULL_CONDENSED);
        table.set_content_arrangement(ContentArrangement::Dynamic);
        table.set_truncation_indicator("…");
        if !color {
            table.force_no_tty();
        }
        if let Some(width) = width {
            table.set_width(u16::try_from(width).unwrap_or(u16::MAX));
        }
        let mut header = Row::from(self.headers.iter().map(|h| {
            let cell = TableCell::new(h);
            if color {
                cell.add_attribute(comfy_table::Attribute::Bold)
            } else {
                cell
            }
        }));
        header.max_height(1);
        table.set_header(header);
        for row in &self.rows {
            // A long value is cut with an ellipsis, never wrapped; a value that holds its own
            // line breaks (a point over its interval) keeps them.
            let lines = row
                .iter()
                .map(|c| c.display().lines().count())
                .max()
                .unwrap_or(1)
                .max(1);
            let mut line = Row::from(row.iter().map(|c| {
                let cell = TableCell::new(c.display());
                if matches!(c, Cell::Number(_)) {
                    cell.set_alignment(CellAlignment::Right)
                } else {
                    cell
                }
            }));
            line.max_height(lines);
            table.add_row(line);
        }
        for index in 0..self.headers.len() {
            if kept.get(index).copied().unwrap_or(false)
                && let Some(column) = table.column_mut(index)
            {
                // Numbers are never split or cut: a shortened number is a wrong number; nor
                // are the ids and times a verb names (a cut id names another order).
                column.set_constraint(ColumnConstraint::ContentWidth);
            }
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_data_keeps_its_field_order_and_its_lists() {
        #[derive(serde::Serialize)]
        struct Row {
            zeta: &'static str,
            alpha: u32,
            ids: Vec<&'static str>,
            missing: Option<String>,
        }
        let table = Table::from_records(&[Row {
            zeta: "z",
            alpha: 7,
            ids: vec!["a", "b"],
            missing: None,
        }])
        .unwrap();
        assert_eq!(table.headers, ["zeta", "alpha", "ids", "missing"]);
        let mut json = Vec::new();
        table.write(&mut json, OutputFormat::Json, false).unwrap();
        assert_eq!(
            String::from_utf8(json).unwrap(),
            "{\"zeta\":\"z\",\"alpha\":7,\"ids\":[\"a\",\"b\"],\"missing\":null}\n"
        );
        assert!(Table::from_records(&[3]).is_err());
    }

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
    fn a_narrow_table_cuts_text_with_an_ellipsis_and_never_numbers() {
        let mut t = Table::new(["order_id", "product", "revenue"]);
        t.push(vec![
            Cell::text("ord-20261202-0000000001-abcdef"),
            Cell::text("An extremely long product name that cannot fit in forty columns"),
            Cell::number("1234567.89"),
        ]);
        let mut out = Vec::new();
        t.write_fitted(
            &mut out,
            OutputFormat::Table,
            false,
            Some(60),
            Layout::Columns,
        )
        .unwrap();
        let text = String::from_utf8(out).unwrap();
        for line in text.lines() {
            assert!(console::measure_text_width(line) <= 60, "{line}");
        }
        assert!(text.contains("1234567.89"), "{text}");
        assert!(text.contains('…'), "{text}");
        assert_eq!(text.lines().count(), 5, "one line per row:\n{text}");
    }

    #[test]
    fn columns_kept_whole_are_never_cut_and_the_free_text_shrinks() {
        let mut t = Table::new(["order_id", "note", "at"]);
        for n in 1..=3 {
            t.push(vec![
                Cell::text(format!("o-mxa1zgx2nl-0000000{n}")),
                Cell::text("a long free-text note that may shrink to whatever is left over"),
                Cell::text(format!("12-05 04:31:0{n}.250")),
            ]);
        }
        let whole = ["order_id", "at"];
        let text = t.people_text(60, &whole);
        assert!(
            text.lines().all(|l| console::measure_text_width(l) <= 60),
            "{text}"
        );
        for n in 1..=3 {
            assert!(text.contains(&format!("o-mxa1zgx2nl-0000000{n}")), "{text}");
            assert!(text.contains(&format!("12-05 04:31:0{n}.250")), "{text}");
        }
        assert!(text.contains('…'), "the note shrinks:\n{text}");
        // Too narrow for the whole values side by side: records, the values still whole.
        let text = t.people_text(40, &whole);
        assert!(text.starts_with("-[ RECORD 1 ]"), "{text}");
        assert!(text.contains("order_id | o-mxa1zgx2nl-00000003"), "{text}");
        // Without the marker the same ids would be cut to one identical prefix.
        let mut out = Vec::new();
        t.write_fitted(
            &mut out,
            OutputFormat::Table,
            false,
            Some(40),
            Layout::Columns,
        )
        .unwrap();
        assert!(
            !String::from_utf8(out)
                .unwrap()
                .contains("o-mxa1zgx2nl-00000003")
        );
    }

    #[test]
    fn rows_too_wide_for_columns_are_shown_as_records() {
        let headers: Vec<String> = (0..14).map(|i| format!("column_{i}")).collect();
        let mut t = Table::new(headers);
        t.push(
            (0..14)
                .map(|i| Cell::text(format!("value number {i}")))
                .collect(),
        );
        let mut out = Vec::new();
        t.write_fitted(&mut out, OutputFormat::Table, false, Some(80), Layout::Auto)
            .unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("-[ RECORD 1 ]"), "{text}");
        assert!(text.contains("column_13 | value number 13"), "{text}");
        assert!(text.lines().all(|l| console::measure_text_width(l) <= 80));
    }

    #[test]
    fn json_falls_back_to_text_for_a_malformed_number() {
        let bad = Cell::Number("12,5".into());
        assert_eq!(json_object([("x", &bad)]), "{\"x\":\"12,5\"}");
    }

    #[test]
    fn table_shows_every_value() {
        let text = render(OutputFormat::Table);
        for needle in ["product", "Laptop", "1249.90", "Mouse", "0.10"] {
            assert!(text.contains(needle), "{needle} missing from\n{text}");
        }
    }
}
