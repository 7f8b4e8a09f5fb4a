//! The one definition of the lake's `orders_cdc` table: columns, types and partition keys,
//! shared by the Glue table (`salesctl up`) and the embedded SQL engine so the same SQL runs on both.

/// The table every flat row lands in, in Glue and in the local engine.
pub const TABLE: &str = "orders_cdc";
/// The view of the current state rebuilt from CDC (see [`orders_current_sql`]).
pub const CURRENT_VIEW: &str = "orders_current";
/// The item key: all changes of one order share it.
pub const KEY_COLUMN: &str = "order_id";

/// A column type, spelled both ways: Hive/Glue DDL and Arrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Int,
    Boolean,
    Decimal { precision: u8, scale: i8 },
}

impl ColumnType {
    /// The Glue/Hive type string, e.g. `decimal(12,2)`.
    pub fn glue_type(self) -> String {
        match self {
            ColumnType::String => "string".to_string(),
            ColumnType::Int => "int".to_string(),
            ColumnType::Boolean => "boolean".to_string(),
            ColumnType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub column_type: ColumnType,
    pub comment: &'static str,
}

const fn col(name: &'static str, column_type: ColumnType, comment: &'static str) -> Column {
    Column {
        name,
        column_type,
        comment,
    }
}

/// The data columns of `orders_cdc`, in table order: the generator's order attributes, then
/// the five cdc columns every flat row carries.
pub const COLUMNS: [Column; 17] = [
    col("order_id", ColumnType::String, "order key"),
    col("customer_id", ColumnType::String, "customer"),
    col("product_name", ColumnType::String, "product"),
    col("category", ColumnType::String, "product category"),
    col("quantity", ColumnType::Int, "units ordered"),
    col(
        "price",
        ColumnType::Decimal {
            precision: 12,
            scale: 2,
        },
        "unit price",
    ),
    col(
        "total",
        ColumnType::Decimal {
            precision: 14,
            scale: 2,
        },
        "quantity x price",
    ),
    col(
        "currency",
        ColumnType::String,
        "ISO 4217 currency of price and total",
    ),
    col("region", ColumnType::String, "sales region"),
    col(
        "status",
        ColumnType::String,
        "PENDING, PAID, SHIPPED, DELIVERED or CANCELLED",
    ),
    col(
        "created_at",
        ColumnType::String,
        "order creation time, ISO-8601 UTC",
    ),
    col(
        "updated_at",
        ColumnType::String,
        "last change of the order, ISO-8601 UTC",
    ),
    col(
        "cdc_event_type",
        ColumnType::String,
        "INSERT, MODIFY or REMOVE",
    ),
    col(
        "cdc_event_id",
        ColumnType::String,
        "DynamoDB Streams eventID",
    ),
    col(
        "cdc_sequence_number",
        ColumnType::String,
        "stream sequence number (decimal digits)",
    ),
    col(
        "creation_datetime",
        ColumnType::String,
        "time of the change, ISO-8601 UTC",
    ),
    col(
        "is_deleted",
        ColumnType::Boolean,
        "true for a REMOVE (row built from the old image)",
    ),
];

/// The partition keys, from the `dt=YYYY-MM-DD/hour=HH/` object key prefixes.
pub const PARTITION_KEYS: [Column; 2] = [
    col(
        "dt",
        ColumnType::String,
        "day the change reached the lake, YYYY-MM-DD (UTC)",
    ),
    col("hour", ColumnType::String, "hour of that day, HH (UTC)"),
];

/// The SELECT behind `orders_current`: the latest row per order key, deleted orders left out,
/// in SQL that both Trino (Athena) and DataFusion accept.
///
/// "Latest" orders by `creation_datetime`, then by the stream sequence number. Two details
/// keep that a correct order of plain strings on both engines:
/// - `creation_datetime` comes at second precision (`…:02Z`) from Streams records and at
///   millisecond precision (`…:02.114Z`) from native ones; with the `Z` removed, a shorter
///   string is a prefix of a longer one at the same second, so string order is time order.
/// - sequence numbers are decimal digit strings of varying length (21 to 40 digits), longer
///   than a decimal(38) holds; ordering by length first, then by text, is numeric order.
pub fn orders_current_sql(source: &str) -> String {
    let columns: Vec<String> = COLUMNS
        .iter()
        .chain(PARTITION_KEYS.iter())
        .map(|c| c.name.to_string())
        .collect();
    let list = columns.join(", ");
    format!(
        "SELECT {list} FROM (\
         SELECT {list}, row_number() OVER (PARTITION BY {KEY_COLUMN} ORDER BY \
         replace(creation_datetime, 'Z', '') DESC, \
         length(cdc_sequence_number) DESC, cdc_sequence_number DESC) AS cdc_rank \
         FROM {source}) latest \
         WHERE cdc_rank = 1 AND coalesce(is_deleted, false) = false"
    )
}

/// Where a row stands among its order's rows in `orders_current`'s ranking, for code that
/// picks the latest row itself (reconcile, a bucket of orders at a time): the greatest key is
/// the row the view keeps. Same order as the view's `ORDER BY` ([`orders_current_sql`]); a
/// missing time ranks lowest, as Trino's default NULLS LAST does for a descending order.
pub fn current_rank_key<'a>(
    creation_datetime: Option<&str>,
    sequence_number: &'a str,
) -> (Option<String>, usize, &'a str) {
    (
        creation_datetime.map(|t| t.replace('Z', "")),
        sequence_number.len(),
        sequence_number,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn glue_types_are_spelled_as_hive_ddl() {
        let types: Vec<String> = COLUMNS.iter().map(|c| c.column_type.glue_type()).collect();
        assert_eq!(types[4], "int");
        assert_eq!(types[5], "decimal(12,2)");
        assert_eq!(types[6], "decimal(14,2)");
        assert_eq!(types[16], "boolean");
        assert!(
            PARTITION_KEYS
                .iter()
                .all(|c| c.column_type.glue_type() == "string")
        );
    }

    #[test]
    fn every_cdc_column_of_the_flat_row_is_a_table_column() {
        for name in crate::change::CDC_COLUMNS {
            assert!(COLUMNS.iter().any(|c| c.name == name), "{name} missing");
        }
        let mut names: Vec<&str> = COLUMNS
            .iter()
            .chain(PARTITION_KEYS.iter())
            .map(|c| c.name)
            .collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COLUMNS.len() + PARTITION_KEYS.len());
    }

    #[test]
    fn the_rank_key_orders_by_time_then_sequence_number_as_numbers() {
        let key = current_rank_key;
        assert!(
            key(Some("2026-11-20T08:15:02Z"), "9") < key(Some("2026-11-20T08:15:02.114Z"), "1")
        );
        assert!(key(Some("2026-11-20T08:15:02Z"), "99") < key(Some("2026-11-20T08:15:02Z"), "100"));
        assert!(
            key(Some("2026-11-20T08:15:02Z"), "100") < key(Some("2026-11-20T08:15:02Z"), "101")
        );
        assert!(key(None, "999") < key(Some("2026-11-20T08:15:02Z"), "1"));
    }

    #[test]
    fn string_order_of_creation_datetime_without_z_is_time_order() {
        let strip = |s: &str| s.replace('Z', "");
        assert!(strip("2026-11-20T08:15:02Z") < strip("2026-11-20T08:15:02.114Z"));
        assert!(strip("2026-11-20T08:15:02.999Z") < strip("2026-11-20T08:15:03Z"));
        // With the Z kept, the order would be wrong: '.' sorts before 'Z'.
        assert!("2026-11-20T08:15:02.114Z" < "2026-11-20T08:15:02Z");
    }
}
