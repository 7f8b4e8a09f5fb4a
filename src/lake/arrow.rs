//! The lake schema (salesctl-core's `lake_schema`) in Arrow types, for the Parquet writer and
//! the embedded engine: the core stays free of Arrow; both use exactly the Glue table's columns.

use datafusion::arrow::datatypes::{DataType, Field, Schema};
use salesctl_core::lake_schema::{COLUMNS, ColumnType};

/// The Arrow type a column is written (Parquet) and read (local engine) as. Decimals stay
/// decimals, so sums are exact (no f64 anywhere between the JSON digits and the result).
pub fn arrow_type(column_type: ColumnType) -> DataType {
    match column_type {
        // Timestamps are ISO-8601 text in the lake, as in Glue (see ColumnType::Timestamp).
        ColumnType::String | ColumnType::Timestamp => DataType::Utf8,
        ColumnType::Int => DataType::Int32,
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Decimal { precision, scale } => DataType::Decimal128(precision, scale),
    }
}

/// The Arrow schema of the data columns (partition keys are the objects' key prefixes: the
/// listing table adds them, and a Parquet object does not hold them).
pub fn arrow_schema() -> Schema {
    Schema::new(
        COLUMNS
            .iter()
            .map(|c| Field::new(c.name, arrow_type(c.column_type), true))
            .collect::<Vec<_>>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrow_types_match_glue_types() {
        let schema = arrow_schema();
        assert_eq!(schema.fields().len(), COLUMNS.len());
        let type_of = |name: &str| {
            schema
                .field_with_name(name)
                .map(|f| f.data_type().clone())
                .ok()
        };
        assert_eq!(type_of("price"), Some(DataType::Decimal128(12, 2)));
        assert_eq!(type_of("total"), Some(DataType::Decimal128(14, 2)));
        assert_eq!(type_of("is_deleted"), Some(DataType::Boolean));
        assert_eq!(type_of("created_at"), Some(DataType::Utf8));
    }
}
