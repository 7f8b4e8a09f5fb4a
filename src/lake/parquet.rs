//! The lake's Parquet objects: flat rows (JSON lines, as the transform writes them) encoded in
//! the Glue table's schema the way Firehose's record format conversion writes them, and back.

use std::borrow::Cow;
use std::fmt;
use std::io::Cursor;
use std::sync::Arc;

use anyhow::{Context as _, anyhow};
use bytes::Bytes;
use datafusion::arrow::json::{LineDelimitedWriter, ReaderBuilder};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::basic::Compression;
use datafusion::parquet::file::properties::{WriterProperties, WriterVersion};
use salesctl_core::lake_schema::{COLUMNS, LakeFormat, check_row, column_index};
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::lake::arrow::arrow_schema;

/// Rows per Arrow batch while encoding: a bound on memory, not on the file's layout (row
/// groups are cut by size, below).
const BATCH_ROWS: usize = 8192;

/// Firehose's ParquetSerDe defaults (Amazon Data Firehose API Reference, "ParquetSerDe":
/// BlockSizeBytes "the default is 256 MiB", PageSizeBytes "the default is 1 MiB",
/// Compression "the default being SNAPPY", WriterVersion "the default is V1";
/// EnableDictionaryCompression has no stated default there, and Parquet writers, Firehose's
/// included, write dictionaries unless told not to). BlockSizeBytes is parquet-mr's
/// `parquet.block.size`, the row group's size in bytes, so row groups are cut by bytes only.
pub const BLOCK_SIZE_BYTES: usize = 256 * 1024 * 1024;
pub const PAGE_SIZE_BYTES: usize = 1024 * 1024;

fn writer_properties() -> WriterProperties {
    WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_dictionary_enabled(true)
        .set_data_page_size_limit(PAGE_SIZE_BYTES)
        .set_dictionary_page_size_limit(PAGE_SIZE_BYTES)
        .set_max_row_group_row_count(None)
        .set_max_row_group_bytes(Some(BLOCK_SIZE_BYTES))
        .build()
}

/// One Parquet file of the flat rows in `ndjson` (one JSON object per line; blank lines are
/// skipped), in the lake's schema ([`arrow_schema`]): the table's columns in table order, a
/// column a row lacks (or holds `null`) is null, attributes that are no column are left out,
/// as Firehose's conversion leaves them. Names match columns regardless of ASCII case, as
/// Athena's (OpenX) JSON SerDe matches them. Every value converts exactly or not at all: a
/// decimal, written as a JSON number (`1249.90`, `1.2e3`) or as a string holding one, keeps
/// its exact value; a row the table cannot hold ([`check_row`]: the transform's own check), or
/// a line that is no JSON object, is an error naming its line.
pub fn encode(ndjson: &[u8]) -> anyhow::Result<Vec<u8>> {
    let mut rows = Vec::with_capacity(ndjson.len());
    for (index, line) in ndjson.split(|b| *b == b'\n').enumerate() {
        if line.trim_ascii().is_empty() {
            continue;
        }
        let number = index + 1;
        let members = serde_json::from_slice::<Members<'_>>(line)
            .map_err(|e| anyhow!("line {number} is not a flat row (a JSON object): {e}"))?
            .0;
        check_row(members.iter().map(|(name, value)| (name, value.get())))
            .map_err(|misfit| anyhow!("line {number}: {misfit}"))?;
        write_in_schema(&members, &mut rows);
    }
    let schema = Arc::new(arrow_schema());
    let reader = ReaderBuilder::new(schema.clone())
        .with_batch_size(BATCH_ROWS)
        .build(Cursor::new(rows))?;
    let mut writer = ArrowWriter::try_new(Vec::new(), schema, Some(writer_properties()))?;
    for batch in reader {
        writer.write(&batch.context("a flat row the lake's schema cannot read")?)?;
    }
    Ok(writer.into_inner()?)
}

/// The flat rows of a Parquet file as JSON lines, each `\n`-terminated: what
/// [`encode`] was given, up to member order, case and the members that are no column; nulls
/// are left out, and decimals carry their column's scale (`1249.9` comes back `1249.90`).
pub fn decode(parquet: &[u8]) -> anyhow::Result<Vec<u8>> {
    let batches = ParquetRecordBatchReaderBuilder::try_new(Bytes::copy_from_slice(parquet))
        .and_then(|builder| builder.build())
        .context("not a Parquet file")?
        .collect::<Result<Vec<_>, _>>()
        .context("a Parquet file the lake's schema cannot read")?;
    let mut writer = LineDelimitedWriter::new(Vec::new());
    for batch in &batches {
        writer.write(batch)?;
    }
    writer.finish()?;
    Ok(writer.into_inner())
}

/// The flat rows of a data object as JSON lines, whatever its format: an object whose key ends
/// in `.parquet` is decoded, any other is JSON lines already.
pub fn flat_rows<'a>(key: &str, body: &'a [u8]) -> anyhow::Result<Cow<'a, [u8]>> {
    if key.ends_with(LakeFormat::Parquet.extension()) {
        decode(body)
            .map(Cow::Owned)
            .with_context(|| format!("reading {key}"))
    } else {
        Ok(Cow::Borrowed(body))
    }
}

/// The members of a JSON object, in order, each value as its exact text.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de> serde::Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct MembersVisitor;
        impl<'de> Visitor<'de> for MembersVisitor {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut members = Vec::with_capacity(map.size_hint().unwrap_or(24));
                while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
                    members.push(member);
                }
                Ok(Members(members))
            }
        }
        deserializer.deserialize_map(MembersVisitor)
    }
}

/// Appends the row's column members under the columns' own names, as one JSON line.
fn write_in_schema(members: &[(String, &RawValue)], out: &mut Vec<u8>) {
    out.push(b'{');
    let mut first = true;
    for (name, value) in members {
        let Some(index) = column_index(name) else {
            continue;
        };
        if !first {
            out.push(b',');
        }
        first = false;
        out.push(b'"');
        out.extend_from_slice(COLUMNS[index].name.as_bytes());
        out.extend_from_slice(b"\":");
        out.extend_from_slice(value.get().as_bytes());
    }
    out.extend_from_slice(b"}\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::DataType;
    use datafusion::parquet::file::reader::{FileReader, SerializedFileReader};
    use rust_decimal::Decimal;
    use salesctl_core::lake_schema::ColumnType;
    use salesctl_core::transform::{RecordOutcome, transform_record};
    use serde_json::{Map, Value};
    use std::str::FromStr;

    /// The fixtures' flat rows, as the transform writes them.
    fn fixture_rows() -> Vec<u8> {
        let mut rows = Vec::new();
        for fixture in [
            &include_bytes!("../../tests/fixtures/pipe-insert.json")[..],
            include_bytes!("../../tests/fixtures/pipe-modify.json"),
            include_bytes!("../../tests/fixtures/pipe-remove.json"),
            include_bytes!("../../tests/fixtures/kds-insert.json"),
        ] {
            match transform_record(fixture) {
                RecordOutcome::Ok { row, .. } => rows.extend_from_slice(&row),
                RecordOutcome::Failed { reason } => panic!("a fixture failed: {reason}"),
            }
        }
        rows
    }

    /// Each line's column members, name -> value, nulls left out; decimals are compared by
    /// exact value (`1249.9` = `1249.90`), never through f64.
    fn column_values(ndjson: &[u8]) -> Vec<Map<String, Value>> {
        ndjson
            .split(|b| *b == b'\n')
            .filter(|line| !line.is_empty())
            .map(|line| {
                let members = serde_json::from_slice::<Members<'_>>(line).unwrap().0;
                members
                    .into_iter()
                    .filter_map(|(name, raw)| {
                        let column = &COLUMNS[column_index(&name)?];
                        let text = raw.get();
                        let value = match column.column_type {
                            _ if text == "null" => return None,
                            ColumnType::Decimal { .. } => {
                                let digits = serde_json::from_str::<String>(text)
                                    .unwrap_or_else(|_| text.to_string());
                                let exact = Decimal::from_scientific(&digits)
                                    .or_else(|_| Decimal::from_str(&digits))
                                    .unwrap();
                                Value::String(exact.normalize().to_string())
                            }
                            ColumnType::Int => Value::from(
                                serde_json::from_str::<String>(text)
                                    .unwrap_or_else(|_| text.to_string())
                                    .parse::<i64>()
                                    .unwrap(),
                            ),
                            _ => serde_json::from_str(text).unwrap(),
                        };
                        Some((column.name.to_string(), value))
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn fixture_rows_come_back_the_same_with_exact_decimals() {
        let rows = fixture_rows();
        let parquet = encode(&rows).unwrap();
        assert_eq!(&parquet[..4], b"PAR1");
        let back = decode(&parquet).unwrap();
        assert_eq!(column_values(&back), column_values(&rows));
        let text = String::from_utf8(back).unwrap();
        assert!(text.contains(r#""price":1249.90"#), "{text}");
        assert!(text.contains(r#""cdc_event_type":"REMOVE""#), "{text}");
        assert_eq!(text.lines().count(), 4);
    }

    #[test]
    fn decimals_as_numbers_strings_and_exponents_convert_exactly() {
        let rows = concat!(
            r#"{"order_id":"a","price":1249.90,"total":2499.8}"#,
            "\n",
            r#"{"order_id":"b","price":"0.10","total":"123456789012.34"}"#,
            "\n",
            r#"{"order_id":"c","price":1.2e3,"total":12345000e-5}"#,
            "\n",
            r#"{"order_id":"d","price":-0.01,"total":"-9999999999.99"}"#,
            "\n",
        );
        let back = String::from_utf8(decode(&encode(rows.as_bytes()).unwrap()).unwrap()).unwrap();
        let lines: Vec<&str> = back.lines().collect();
        assert_eq!(
            lines,
            [
                r#"{"order_id":"a","price":1249.90,"total":2499.80}"#,
                r#"{"order_id":"b","price":0.10,"total":123456789012.34}"#,
                r#"{"order_id":"c","price":1200.00,"total":123.45}"#,
                r#"{"order_id":"d","price":-0.01,"total":-9999999999.99}"#,
            ]
        );
    }

    #[test]
    fn nulls_missing_columns_other_attributes_and_case() {
        let rows = concat!(
            r#"{"order_id":"o-1","Quantity":"3","price":null,"note":{"nested":[1,2]},"is_deleted":false}"#,
            "\n\n",
        );
        let back = String::from_utf8(decode(&encode(rows.as_bytes()).unwrap()).unwrap()).unwrap();
        assert_eq!(
            back,
            "{\"order_id\":\"o-1\",\"quantity\":3,\"is_deleted\":false}\n"
        );
    }

    #[test]
    fn a_line_that_is_not_a_row_or_does_not_fit_is_an_error_naming_it() {
        let rows = b"{\"order_id\":\"o-1\"}\n[1,2]\n";
        let message = format!("{:#}", encode(rows).unwrap_err());
        assert!(message.contains("line 2 is not a flat row"), "{message}");
        let message = format!("{:#}", encode(b"not json\n").unwrap_err());
        assert!(message.contains("line 1"), "{message}");
        let message = format!(
            "{:#}",
            encode(b"{\"order_id\":\"o\"}\n{\"quantity\":\"many\"}\n").unwrap_err()
        );
        assert!(
            message.contains("line 2") && message.contains("quantity"),
            "{message}"
        );
        let message = format!("{:#}", encode(b"{\"price\":1.234}\n").unwrap_err());
        assert!(message.contains("decimal places"), "{message}");
        assert!(decode(b"{\"order_id\":\"o\"}\n").is_err());
    }

    #[test]
    fn written_with_firehoses_parquet_serde_defaults_in_the_lake_schema() {
        let parquet = encode(&fixture_rows()).unwrap();
        let reader = SerializedFileReader::new(Bytes::from(parquet)).unwrap();
        let metadata = reader.metadata();
        assert_eq!(metadata.file_metadata().num_rows(), 4);
        assert_eq!(metadata.file_metadata().version(), 1);
        assert_eq!(metadata.num_row_groups(), 1);
        let group = metadata.row_group(0);
        for column in group.columns() {
            assert_eq!(column.compression(), Compression::SNAPPY, "{column:?}");
        }
        let has_dictionary = group
            .columns()
            .iter()
            .any(|c| c.dictionary_page_offset().is_some());
        assert!(has_dictionary, "dictionary encoding is on");
        let schema = arrow_schema();
        let names: Vec<&str> = metadata
            .file_metadata()
            .schema_descr()
            .columns()
            .iter()
            .map(|c| c.name())
            .collect();
        let expected: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(names, expected);
        assert_eq!(
            schema.field_with_name("total").unwrap().data_type(),
            &DataType::Decimal128(14, 2)
        );
    }

    #[test]
    fn flat_rows_decode_parquet_objects_by_their_suffix_only() {
        let rows = fixture_rows();
        let parquet = encode(&rows).unwrap();
        let decoded = flat_rows("orders/dt=2026-11-20/hour=08/x.parquet", &parquet).unwrap();
        assert_eq!(column_values(&decoded), column_values(&rows));
        let plain = flat_rows("orders/dt=2026-11-20/hour=08/x", &rows).unwrap();
        assert!(matches!(plain, Cow::Borrowed(_)));
    }
}
