//! The one definition of the lake's `orders_cdc` table: columns, types and partition keys,
//! shared by the Glue table (`salesctl up`) and the embedded SQL engine so the same SQL runs on both,
//! and the check of a row against it ([`check_row`]) that keeps rows neither engine could read
//! out of the lake.

use std::borrow::Cow;
use std::fmt;

/// The table every flat row lands in, in Glue and in the local engine.
pub const TABLE: &str = "orders_cdc";
/// The view of the current state rebuilt from CDC (see [`orders_current_sql`]).
pub const CURRENT_VIEW: &str = "orders_current";
/// The item key: all changes of one order share it, and `orders_current` keeps one row per
/// value.
///
/// # What fills it, for any table
/// - The item's `order_id` attribute when the row's image has one (in any ASCII letter case,
///   as Athena's JSON SerDe matches names): the generator's `salesctl-orders` table, whose
///   rows are unchanged by the rest of this list.
/// - Otherwise the item's key, from the stream record's `Keys` (every record carries them, a
///   REMOVE with no image too), written by the transform after the image's attributes
///   ([`write_key_from_item_keys`]):
///   - a single-attribute key (the AWS tutorial's `OrderTable` keyed `orderid`): its value,
///     as a string (a number by its digits, binary as its base64): `orderid "o-42"` gives
///     `order_id "o-42"`, `id 7` gives `order_id "7"`;
///   - a composite key (partition and sort key): the values in the order of their attribute
///     names, joined with [`COMPOSITE_KEY_SEPARATOR`]: `{"pk":"a","sk":7}` gives `"a#7"`.
///     Not the partition key alone: items that share it are different items, and
///     `orders_current` would keep one of them. Streams records do not say which key is the
///     partition key, so the attribute names fix the order, the same for every record.
///
/// Every other column is filled only by an attribute of its own name; a table without one
/// leaves it null (the tutorial's table has no `customer_id`, `category`, `total`,
/// `currency`, `region`, `status`, `created_at` or `updated_at`).
pub const KEY_COLUMN: &str = "order_id";

/// Joins a composite key's values in [`KEY_COLUMN`] (see there).
pub const COMPOSITE_KEY_SEPARATOR: char = '#';

/// Whether an item attribute called `name` fills [`KEY_COLUMN`]: `order_id` in any ASCII
/// letter case, as Athena's JSON SerDe matches names ([`column_index`]).
pub fn fills_key_column(name: &str) -> bool {
    name.eq_ignore_ascii_case(KEY_COLUMN)
}

/// Appends the JSON string [`KEY_COLUMN`] takes from an item's key attributes when the item
/// has no `order_id` of its own (see [`KEY_COLUMN`]): `keys` are the stream record's `Keys`,
/// flattened, `(name, JSON text)`. A string value's text is kept with its escapes; any other
/// value (a number, or what no DynamoDB key holds) by its JSON text. Appends nothing and
/// returns `false` when there are no keys.
pub fn write_key_from_item_keys<'a, N: AsRef<str>>(
    keys: impl IntoIterator<Item = (N, &'a str)>,
    out: &mut Vec<u8>,
) -> bool {
    let mut keys: Vec<(N, &str)> = keys.into_iter().collect();
    if keys.is_empty() {
        return false;
    }
    if keys.len() > 1 {
        keys.sort_by(|a, b| a.0.as_ref().cmp(b.0.as_ref()));
    }
    out.push(b'"');
    for (index, (_, value)) in keys.iter().enumerate() {
        if index > 0 {
            let mut separator = [0u8; 4];
            out.extend_from_slice(
                COMPOSITE_KEY_SEPARATOR
                    .encode_utf8(&mut separator)
                    .as_bytes(),
            );
        }
        let value = value.trim();
        match value
            .strip_prefix('"')
            .and_then(|inner| inner.strip_suffix('"'))
        {
            // The body of a JSON string, escapes and all, is a valid body of another one.
            Some(body) => out.extend_from_slice(body.as_bytes()),
            None => crate::change::write_json_string_body(out, value),
        }
    }
    out.push(b'"');
    true
}

/// How the lake's objects are encoded. New stacks write Parquet (Firehose's record format
/// conversion, and the relay's own writer); `Json` keeps newline-delimited JSON flat rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LakeFormat {
    #[default]
    Parquet,
    Json,
}

impl LakeFormat {
    /// The spelling of flags, config keys and the template's `LakeFormat` parameter.
    pub fn as_str(self) -> &'static str {
        match self {
            LakeFormat::Parquet => "parquet",
            LakeFormat::Json => "json",
        }
    }

    /// Reads `parquet` or `json` (any case); `None` for anything else.
    pub fn parse(text: &str) -> Option<LakeFormat> {
        match text.trim().to_ascii_lowercase().as_str() {
            "parquet" => Some(LakeFormat::Parquet),
            "json" | "ndjson" => Some(LakeFormat::Json),
            _ => None,
        }
    }

    /// The suffix of an object's name: Parquet objects end in `.parquet` (Firehose's
    /// `FileExtension`, set by the template), JSON objects have none, as Firehose names them.
    pub fn extension(self) -> &'static str {
        match self {
            LakeFormat::Parquet => ".parquet",
            LakeFormat::Json => "",
        }
    }
}

impl fmt::Display for LakeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A column type, spelled both ways: Hive/Glue DDL and Arrow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    String,
    Int,
    Boolean,
    Decimal {
        precision: u8,
        scale: i8,
    },
    /// An ISO-8601 UTC time as text (`2026-11-20T08:15:02.114Z`): `string` in Glue and Utf8 in
    /// Arrow, so both engines read it the same way and string order is time order (the JSON
    /// SerDe's own timestamp type does not read ISO-8601), but checked as a time by the
    /// transform.
    Timestamp,
}

impl ColumnType {
    /// The Glue/Hive type string, e.g. `decimal(12,2)`.
    pub fn glue_type(self) -> String {
        match self {
            ColumnType::String | ColumnType::Timestamp => "string".to_string(),
            ColumnType::Int => "int".to_string(),
            ColumnType::Boolean => "boolean".to_string(),
            ColumnType::Decimal { precision, scale } => format!("decimal({precision},{scale})"),
        }
    }
}

impl fmt::Display for ColumnType {
    /// The type as a message names it: the Glue type, or `ISO-8601 UTC timestamp` text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Timestamp => f.write_str("ISO-8601 UTC timestamp"),
            other => f.write_str(&other.glue_type()),
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
        ColumnType::Timestamp,
        "order creation time, ISO-8601 UTC",
    ),
    col(
        "updated_at",
        ColumnType::Timestamp,
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
        ColumnType::Timestamp,
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

/// The data column an attribute of that name lands in, as an index into [`COLUMNS`]. Names
/// match regardless of ASCII case, as Athena's JSON SerDe (OpenX, `case.insensitive` by
/// default) matches them: `Quantity` fills `quantity` there.
pub fn column_index(name: &str) -> Option<usize> {
    COLUMNS
        .iter()
        .position(|column| column.name.eq_ignore_ascii_case(name))
}

/// Why a JSON value does not fit a column. `Display` completes "cannot hold VALUE: …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueProblem {
    #[error("{found}, not {expected}")]
    WrongKind {
        found: &'static str,
        expected: &'static str,
    },
    #[error("not a whole number in digits")]
    NotWhole,
    #[error("outside int's range -2147483648 to 2147483647")]
    IntOutOfRange,
    #[error("not a number")]
    NotANumber,
    #[error("more than {scale} decimal places")]
    TooManyDecimals { scale: i8 },
    #[error("more than {digits} digits before the decimal point")]
    TooManyIntegerDigits { digits: i16 },
    #[error("not an ISO-8601 time such as 2026-11-20T08:15:02Z")]
    NotATimestamp,
    #[error("not in UTC (write it with Z)")]
    NotUtc,
    #[error(
        "another attribute fills that column already (Athena matches column names regardless of case)"
    )]
    SecondAttribute,
}

/// One attribute of a row that the lake table cannot hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misfit {
    /// The attribute as the row names it.
    pub attribute: String,
    pub column: &'static str,
    pub column_type: ColumnType,
    /// The value's JSON text, shortened to [`MISFIT_VALUE_CHARS`] characters.
    pub value: String,
    pub problem: ValueProblem,
}

/// How much of a misfit value a message quotes.
pub const MISFIT_VALUE_CHARS: usize = 40;

impl fmt::Display for Misfit {
    /// `column quantity (int) cannot hold "many": not a whole number`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attribute != self.column {
            write!(f, "attribute {:?} lands in ", self.attribute)?;
        }
        write!(
            f,
            "column {} ({}) cannot hold {}: {}",
            self.column, self.column_type, self.value, self.problem
        )
    }
}

impl std::error::Error for Misfit {}

/// Checks one JSON value (its exact text, as the flat row carries it) against a column type.
/// `null` fits every column (all are nullable). What fits is what both engines read:
/// - `string`: a JSON string (a number or object would fail DataFusion's reader);
/// - `int`: a whole number in int's range, as a JSON number or a string of digits (both engines
///   parse `"5"`; `2.5` is truncated by one and rejected by the other, so it does not fit);
/// - `decimal(p,s)`: a number, or a string holding one, whose exact value has at most `s`
///   decimal places (trailing zeros aside) and `p - s` integer digits: no engine rounds it;
/// - `boolean`: `true` or `false`;
/// - timestamp text: an RFC 3339 / ISO-8601 time in UTC.
pub fn check_value(column_type: ColumnType, json: &str) -> Result<(), ValueProblem> {
    let json = json.trim();
    if json == "null" {
        return Ok(());
    }
    let wrong = |expected: &'static str| ValueProblem::WrongKind {
        found: json_kind(json),
        expected,
    };
    match column_type {
        ColumnType::String => match json.as_bytes().first() {
            Some(b'"') => Ok(()),
            _ => Err(wrong("a string")),
        },
        ColumnType::Boolean => match json {
            "true" | "false" => Ok(()),
            _ => Err(wrong("true or false")),
        },
        ColumnType::Timestamp => match string_content(json) {
            Some(text) => check_timestamp(&text),
            None => Err(wrong("a time as text")),
        },
        ColumnType::Int => match numeric_text(json) {
            Some(text) => check_int(&text),
            None => Err(wrong("a whole number")),
        },
        ColumnType::Decimal { precision, scale } => match numeric_text(json) {
            Some(text) => check_decimal(&text, precision, scale),
            None => Err(wrong("a number")),
        },
    }
}

/// Checks a whole flat row, `(name, JSON text)` per member, as the lake holds it.
pub fn check_row<'a, N: AsRef<str>>(
    members: impl IntoIterator<Item = (N, &'a str)>,
) -> Result<(), Misfit> {
    check_members(members, false)
}

/// Checks an item image before the flat row is written from it: members named exactly like a
/// cdc column are left out of the row (the cdc column wins) and so are not checked, and the
/// cdc columns the row adds count as filled.
pub fn check_image<'a, N: AsRef<str>>(
    members: impl IntoIterator<Item = (N, &'a str)>,
) -> Result<(), Misfit> {
    check_members(members, true)
}

/// The cdc columns' bits in a mask over [`COLUMNS`].
const CDC_MASK: u32 = {
    let mut mask = 0;
    let mut index = 0;
    while index < COLUMNS.len() {
        let name = COLUMNS[index].name.as_bytes();
        let mut cdc = 0;
        while cdc < crate::change::CDC_COLUMNS.len() {
            if bytes_equal(name, crate::change::CDC_COLUMNS[cdc].as_bytes()) {
                mask |= 1 << index;
            }
            cdc += 1;
        }
        index += 1;
    }
    mask
};

const fn bytes_equal(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut index = 0;
    while index < a.len() {
        if a[index] != b[index] {
            return false;
        }
        index += 1;
    }
    true
}

fn check_members<'a, N: AsRef<str>>(
    members: impl IntoIterator<Item = (N, &'a str)>,
    image: bool,
) -> Result<(), Misfit> {
    let mut filled: u32 = if image { CDC_MASK } else { 0 };
    for (name, json) in members {
        let name = name.as_ref();
        let Some(index) = column_index(name) else {
            continue;
        };
        let column = &COLUMNS[index];
        if image && (CDC_MASK >> index) & 1 == 1 && name == column.name {
            continue;
        }
        let bit = 1u32 << index;
        let outcome = if filled & bit != 0 {
            Err(ValueProblem::SecondAttribute)
        } else {
            check_value(column.column_type, json)
        };
        filled |= bit;
        if let Err(problem) = outcome {
            return Err(Misfit {
                attribute: name.to_owned(),
                column: column.name,
                column_type: column.column_type,
                value: shortened(json.trim(), MISFIT_VALUE_CHARS),
                problem,
            });
        }
    }
    Ok(())
}

fn json_kind(json: &str) -> &'static str {
    match json.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'{') => "an object",
        Some(b'[') => "a list",
        Some(b't' | b'f') => "a boolean",
        Some(b'-' | b'0'..=b'9') => "a number",
        _ => "not JSON",
    }
}

/// The text of a string value, unescaped.
fn string_content(json: &str) -> Option<Cow<'_, str>> {
    let inner = json.strip_prefix('"')?.strip_suffix('"')?;
    if inner.contains('\\') {
        serde_json::from_str::<String>(json).ok().map(Cow::Owned)
    } else {
        Some(Cow::Borrowed(inner))
    }
}

/// The text a numeric column parses: a JSON number, or the content of a string.
fn numeric_text(json: &str) -> Option<Cow<'_, str>> {
    match json.as_bytes().first()? {
        b'"' => string_content(json),
        b'-' | b'0'..=b'9' => Some(Cow::Borrowed(json)),
        _ => None,
    }
}

fn check_int(text: &str) -> Result<(), ValueProblem> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ValueProblem::NotWhole);
    }
    let significant = digits.trim_start_matches('0');
    // i32 has 10 digits; anything longer is out of range whatever its sign.
    if significant.len() > 10 {
        return Err(ValueProblem::IntOutOfRange);
    }
    let magnitude: i64 = significant.parse().unwrap_or(0);
    let value = if text.starts_with('-') {
        -magnitude
    } else {
        magnitude
    };
    if i32::try_from(value).is_err() {
        return Err(ValueProblem::IntOutOfRange);
    }
    Ok(())
}

fn check_decimal(text: &str, precision: u8, scale: i8) -> Result<(), ValueProblem> {
    let number = Number::parse(text).ok_or(ValueProblem::NotANumber)?;
    let (integer_digits, decimal_places) = number.digits_needed();
    if decimal_places > i64::from(scale) {
        return Err(ValueProblem::TooManyDecimals { scale });
    }
    let integer_room = i16::from(precision) - i16::from(scale);
    if integer_digits > i64::from(integer_room) {
        return Err(ValueProblem::TooManyIntegerDigits {
            digits: integer_room,
        });
    }
    Ok(())
}

/// A number in JSON's grammar (leading zeros allowed), split into its parts.
struct Number<'a> {
    integer: &'a str,
    fraction: &'a str,
    /// Clamped to ±1,000,000: far beyond any precision, small enough for plain arithmetic.
    exponent: i64,
}

impl<'a> Number<'a> {
    fn parse(text: &'a str) -> Option<Number<'a>> {
        let unsigned = text.strip_prefix('-').unwrap_or(text);
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
            None => (unsigned, None),
        };
        let (integer, fraction) = match mantissa.split_once('.') {
            Some((integer, fraction)) if !fraction.is_empty() => (integer, fraction),
            Some(_) => return None,
            None => (mantissa, ""),
        };
        let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(integer) || !(fraction.is_empty() || all_digits(fraction)) {
            return None;
        }
        let exponent = match exponent {
            None => 0,
            Some(text) => {
                let (negative, digits) = match text.as_bytes().first() {
                    Some(b'-') => (true, &text[1..]),
                    Some(b'+') => (false, &text[1..]),
                    _ => (false, text),
                };
                if !all_digits(digits) {
                    return None;
                }
                let significant = digits.trim_start_matches('0');
                let magnitude: i64 = if significant.len() > 7 {
                    1_000_000
                } else {
                    significant.parse::<i64>().unwrap_or(0).min(1_000_000)
                };
                if negative { -magnitude } else { magnitude }
            }
        };
        Some(Number {
            integer,
            fraction,
            exponent,
        })
    }

    /// The integer digits and decimal places the exact value needs (leading and trailing zeros
    /// aside); `(0, 0)` for zero.
    fn digits_needed(&self) -> (i64, i64) {
        let digits = || self.integer.bytes().chain(self.fraction.bytes());
        let Some(first) = digits().position(|b| b != b'0') else {
            return (0, 0);
        };
        let count = self.integer.len() + self.fraction.len();
        let last = count - 1 - digits().rev().position(|b| b != b'0').unwrap_or(0);
        // The decimal point sits before digit number `point` of the digit sequence.
        let point = self.integer.len() as i64 + self.exponent;
        let integer_digits = (point - first as i64).max(0);
        let decimal_places = (last as i64 + 1 - point).max(0);
        (integer_digits, decimal_places)
    }
}

fn check_timestamp(text: &str) -> Result<(), ValueProblem> {
    let at = chrono::DateTime::parse_from_rfc3339(text).map_err(|_| ValueProblem::NotATimestamp)?;
    if at.offset().local_minus_utc() != 0 {
        return Err(ValueProblem::NotUtc);
    }
    Ok(())
}

/// `text` cut to `chars` characters, with `…` when cut.
fn shortened(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_owned(),
    }
}

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
         SELECT {list}, row_number() OVER (PARTITION BY {KEY_COLUMN} ORDER BY {}) AS cdc_rank \
         FROM {source}) latest \
         WHERE cdc_rank = 1 AND coalesce(is_deleted, false) = false",
        current_rank_order()
    )
}

/// The `ORDER BY` of `orders_current`'s ranking (see [`orders_current_sql`]): its first row is
/// an order's current one. Shared by every statement that picks current rows itself.
pub fn current_rank_order() -> &'static str {
    "replace(creation_datetime, 'Z', '') DESC, \
     length(cdc_sequence_number) DESC, cdc_sequence_number DESC"
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

    const INT: ColumnType = ColumnType::Int;
    const PRICE: ColumnType = ColumnType::Decimal {
        precision: 12,
        scale: 2,
    };

    #[test]
    fn values_that_both_engines_read_fit() {
        for (column_type, json) in [
            (INT, "2"),
            (INT, "-2147483648"),
            (INT, "2147483647"),
            (INT, "0007"),
            (INT, r#""5""#),
            (INT, "null"),
            (PRICE, "1249.90"),
            (PRICE, "1249.9"),
            (PRICE, "1249.900000"),
            (PRICE, "9999999999.99"),
            (PRICE, "-9999999999.99"),
            (PRICE, "1.5e2"),
            (PRICE, "125E-2"),
            (PRICE, "0.000"),
            (PRICE, "0e999999999999"),
            (PRICE, r#""12.50""#),
            (ColumnType::String, r#""o-1""#),
            (ColumnType::String, r#""a \"quoted\" \u00e9""#),
            (ColumnType::Boolean, "false"),
            (ColumnType::Timestamp, r#""2026-11-20T08:15:02Z""#),
            (ColumnType::Timestamp, r#""2026-11-20T08:15:02.114Z""#),
            (ColumnType::Timestamp, r#""2026-11-20T08:15:02+00:00""#),
            (ColumnType::Timestamp, "null"),
        ] {
            assert_eq!(
                check_value(column_type, json),
                Ok(()),
                "{column_type} {json}"
            );
        }
    }

    #[test]
    fn values_that_would_fail_a_query_do_not_fit() {
        use ValueProblem::*;
        let wrong = |found, expected| WrongKind { found, expected };
        for (column_type, json, problem) in [
            (INT, r#""many""#, NotWhole),
            (INT, "2.5", NotWhole),
            (INT, "2.0", NotWhole),
            (INT, "1e2", NotWhole),
            (INT, r#""""#, NotWhole),
            (INT, "2147483648", IntOutOfRange),
            (INT, "-2147483649", IntOutOfRange),
            (INT, "123456789012345678901234567890", IntOutOfRange),
            (INT, "true", wrong("a boolean", "a whole number")),
            (INT, r#"{"n":1}"#, wrong("an object", "a whole number")),
            (PRICE, r#""abc""#, NotANumber),
            (PRICE, r#""1.""#, NotANumber),
            (PRICE, r#""1e""#, NotANumber),
            (PRICE, "1249.999", TooManyDecimals { scale: 2 }),
            (PRICE, "1e-3", TooManyDecimals { scale: 2 }),
            (PRICE, "10000000000", TooManyIntegerDigits { digits: 10 }),
            (PRICE, "1e10", TooManyIntegerDigits { digits: 10 }),
            (PRICE, "[1]", wrong("a list", "a number")),
            (ColumnType::String, "5", wrong("a number", "a string")),
            (
                ColumnType::String,
                r#"{"a":1}"#,
                wrong("an object", "a string"),
            ),
            (
                ColumnType::Boolean,
                r#""true""#,
                wrong("a string", "true or false"),
            ),
            (ColumnType::Timestamp, r#""yesterday""#, NotATimestamp),
            (ColumnType::Timestamp, r#""2026-11-20""#, NotATimestamp),
            (
                ColumnType::Timestamp,
                r#""2026-11-20T10:15:02+02:00""#,
                NotUtc,
            ),
            (
                ColumnType::Timestamp,
                "1795162502",
                wrong("a number", "a time as text"),
            ),
        ] {
            assert_eq!(
                check_value(column_type, json),
                Err(problem),
                "{column_type} {json}"
            );
        }
    }

    #[test]
    fn a_misfit_names_the_column_its_type_and_the_value() {
        let misfit = check_row([("order_id", r#""o-1""#), ("quantity", r#""many""#)])
            .expect_err("does not fit");
        assert_eq!(
            misfit.to_string(),
            r#"column quantity (int) cannot hold "many": not a whole number in digits"#
        );
        let misfit = check_row([("Price", r#""abc""#)]).expect_err("does not fit");
        assert_eq!(
            misfit.to_string(),
            r#"attribute "Price" lands in column price (decimal(12,2)) cannot hold "abc": not a number"#
        );
        let long = format!("\"{}\"", "x".repeat(100));
        let misfit = check_row([("quantity", long.as_str())]).expect_err("does not fit");
        assert_eq!(misfit.value.chars().count(), MISFIT_VALUE_CHARS + 1);
        assert!(misfit.value.ends_with('…'));
    }

    #[test]
    fn attributes_that_are_not_columns_pass_as_they_are() {
        assert_eq!(
            check_row([
                ("orderid", "1"),
                ("notes", r#"{"M":[1,2,{"x":true}]}"#),
                ("tags", "[1,\"a\"]"),
                ("quantity", "3"),
            ]),
            Ok(())
        );
    }

    #[test]
    fn an_image_leaves_out_cdc_named_attributes_but_not_their_case_variants() {
        // The row drops an attribute named exactly like a cdc column, so its value is moot.
        assert_eq!(check_image([("is_deleted", r#""yes""#)]), Ok(()));
        // A case variant stays in the row, where Athena reads it as the cdc column a second time.
        let misfit = check_image([("IS_DELETED", "true")]).expect_err("second attribute");
        assert_eq!(misfit.problem, ValueProblem::SecondAttribute);
        let misfit =
            check_row([("quantity", "1"), ("QUANTITY", "2")]).expect_err("second attribute");
        assert_eq!(
            (misfit.attribute.as_str(), misfit.column),
            ("QUANTITY", "quantity")
        );
        // A whole row carries its cdc columns and checks them.
        assert!(check_row([("is_deleted", r#""yes""#)]).is_err());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use rust_decimal::Decimal;

        /// Number texts in JSON's grammar: sign, 1-20 integer digits, 0-8 fraction digits,
        /// optional exponent.
        fn number_text() -> impl Strategy<Value = String> {
            (
                any::<bool>(),
                "[0-9]{1,20}",
                proptest::option::of("[0-9]{1,8}"),
                proptest::option::of(-12i32..12),
            )
                .prop_map(|(negative, integer, fraction, exponent)| {
                    let mut text = String::new();
                    if negative {
                        text.push('-');
                    }
                    text.push_str(&integer);
                    if let Some(fraction) = fraction {
                        text.push('.');
                        text.push_str(&fraction);
                    }
                    if let Some(exponent) = exponent {
                        text.push_str(&format!("e{exponent}"));
                    }
                    text
                })
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

            /// decimal(p,s) fits exactly when rust_decimal, reading the same text exactly,
            /// needs at most s decimal places and p - s integer digits.
            #[test]
            fn decimals_fit_exactly_when_the_exact_value_does(
                text in number_text(),
                (precision, scale) in (1u8..=18).prop_flat_map(|p| (Just(p), 0i8..=p as i8)),
            ) {
                let column_type = ColumnType::Decimal { precision, scale };
                let exact = if text.contains('e') {
                    Decimal::from_scientific(&text)
                } else {
                    Decimal::from_str_exact(&text)
                };
                // Beyond rust_decimal's 28 digits there is no oracle; the arithmetic is the same.
                prop_assume!(exact.is_ok());
                let exact = exact.unwrap_or_default().normalize();
                let places = i64::from(exact.scale());
                let integer_digits = exact.abs().trunc().to_string().trim_start_matches('0').len() as i64;
                let fits = places <= i64::from(scale)
                    && integer_digits <= i64::from(precision) - i64::from(scale);
                prop_assert_eq!(check_value(column_type, &text).is_ok(), fits, "{}", text);
                // A string holding the number is read the same way by both engines.
                prop_assert_eq!(check_value(column_type, &format!("\"{text}\"")).is_ok(), fits);
            }

            /// int fits exactly the whole numbers in i32's range, written as digits.
            #[test]
            fn ints_fit_exactly_in_range(value in any::<i64>(), shift in 0u32..40) {
                let value = value >> shift;
                let fits = i32::try_from(value).is_ok();
                prop_assert_eq!(check_value(ColumnType::Int, &value.to_string()).is_ok(), fits);
                prop_assert_eq!(check_value(ColumnType::Int, &format!("{value}.5")).is_ok(), false);
            }

            /// Every order the generator writes fits the lake, in both schemas: the check
            /// never fails the project's own data.
            #[test]
            fn every_generated_order_fits(seed in any::<u64>(), seconds in 0i64..4_000_000_000) {
                use crate::order::{AttrValue, GeneratorConfig, OrderGenerator, Schema};
                let mut generator = OrderGenerator::new(GeneratorConfig {
                    seed: Some(seed),
                    update_ratio: 0.3,
                    delete_ratio: 0.1,
                    run_tag: "t".into(),
                });
                let now = chrono::DateTime::from_timestamp(seconds, 0).unwrap_or_default();
                for _ in 0..20 {
                    for op in generator.plan_new_order(now) {
                        for schema in [Schema::Orders, Schema::Tutorial] {
                            let members: Vec<(&str, String)> = op
                                .order
                                .attributes(schema)
                                .into_iter()
                                .map(|(name, value)| match value {
                                    AttrValue::S(text) => (name, serde_json::to_string(&text).unwrap_or_default()),
                                    AttrValue::N(digits) => (name, digits),
                                })
                                .collect();
                            let checked = check_image(members.iter().map(|(n, v)| (*n, v.as_str())));
                            prop_assert_eq!(checked, Ok(()), "{:?}", members);
                        }
                        generator.acknowledge(op);
                    }
                }
            }

            /// Nothing panics, whatever the text.
            #[test]
            fn any_text_is_judged_without_panicking(text in ".{0,40}") {
                for column in COLUMNS {
                    let _ = check_value(column.column_type, &text);
                    let _ = check_value(column.column_type, &format!("\"{text}\""));
                }
            }
        }
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
