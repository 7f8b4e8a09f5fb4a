//! The report's data as the local engine builds it: the lake's changes stream by a batch at
//! a time, each order's current change is kept in a few words, then summed into the groups.
//!
//! Athena runs the report's one statement ([`super::report_sql`]). DataFusion would rank a
//! million changes with a sort that spills to disk and reads its runs back, and would hold
//! scan state for every object of the lake at once. Here the lake is read a day at a time
//! ([`super::local::LocalEngine::execute_per_day`]) and only each order's current change is
//! held: the ranking is `orders_current`'s, packed ([`salesctl_core::rank::RankKey`]).

use std::collections::BTreeMap;

use foldhash::HashMap;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, RecordBatch, StringArray, StringViewArray,
};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::{DataType, Decimal128Type, Int64Type};
use rust_decimal::Decimal;

use super::report::{Folded, Sales};
use salesctl_core::rank::RankKey;

/// Each order's current change, and the changes per CDC type, from every row seen.
#[derive(Default)]
pub struct CurrentState {
    /// Order key -> its place in `latest`. Orders without a key share one place, as SQL's
    /// `PARTITION BY` puts every null key in one partition.
    index: HashMap<Box<str>, u32>,
    no_key: Option<u32>,
    latest: Vec<Latest>,
    /// Product names, currencies, days and CDC types, each kept once.
    names: Names,
    /// Changes per CDC type (by its name's id).
    events: HashMap<u32, u64>,
    /// The scale of `total`'s decimals, from the first batch that has them.
    scale: Option<u32>,
}

/// An order's current change so far: its rank, and what the report sums of it.
struct Latest {
    rank: RankKey,
    product: u32,
    currency: u32,
    day: u32,
    quantity: i32,
    /// In units of the scale (cents for decimal(14,2)).
    total: i64,
    flags: u8,
}

/// Not deleted and not CANCELLED: counts as sold when it is the order's current change.
const SOLD: u8 = 1;
const HAS_QUANTITY: u8 = 2;
const HAS_TOTAL: u8 = 4;

/// Distinct strings by id; id 0 is null.
#[derive(Default)]
struct Names {
    ids: HashMap<Box<str>, u32>,
    names: Vec<Box<str>>,
}

impl Names {
    fn id(&mut self, name: Option<&str>) -> u32 {
        let Some(name) = name else { return 0 };
        if let Some(&id) = self.ids.get(name) {
            return id;
        }
        self.names.push(name.into());
        let id = self.names.len() as u32;
        self.ids.insert(name.into(), id);
        id
    }

    fn name(&self, id: u32) -> Option<String> {
        let index = (id as usize).checked_sub(1)?;
        self.names.get(index).map(|n| n.to_string())
    }
}

/// A column of text, as DataFusion hands it over: Parquet strings come as views, and are
/// read in place rather than copied.
#[derive(Clone, Copy)]
enum Strings<'a> {
    Plain(&'a StringArray),
    View(&'a StringViewArray),
}

impl<'a> Strings<'a> {
    fn of(array: &'a ArrayRef) -> Strings<'a> {
        match array.as_string_view_opt() {
            Some(view) => Strings::View(view),
            None => Strings::Plain(array.as_string::<i32>()),
        }
    }

    fn get(self, i: usize) -> Option<&'a str> {
        match self {
            Strings::Plain(array) => array.is_valid(i).then(|| array.value(i)),
            Strings::View(array) => array.is_valid(i).then(|| array.value(i)),
        }
    }
}

/// The batch's column `name`.
fn column<'a>(batch: &'a RecordBatch, name: &str) -> anyhow::Result<&'a ArrayRef> {
    batch
        .column_by_name(name)
        .ok_or_else(|| anyhow::anyhow!("the report's rows have no column {name}"))
}

/// The batch's column `name` as text: views and plain strings as they are, anything else
/// cast to plain strings.
fn text_column(batch: &RecordBatch, name: &str) -> anyhow::Result<ArrayRef> {
    let column = column(batch, name)?;
    match column.data_type() {
        DataType::Utf8 | DataType::Utf8View => Ok(column.clone()),
        _ => Ok(cast(column, &DataType::Utf8)?),
    }
}

/// The batch's column `name` as `to`.
fn column_as(batch: &RecordBatch, name: &str, to: &DataType) -> anyhow::Result<ArrayRef> {
    let column = column(batch, name)?;
    if column.data_type() == to {
        return Ok(column.clone());
    }
    Ok(cast(column, to)?)
}

impl CurrentState {
    /// Adds a batch of [`super::report::day_rows_sql`]'s rows.
    pub fn add_batch(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        let text = |name: &str| text_column(batch, name);
        let (order, time, sequence) = (
            text("order_key")?,
            text("creation_datetime")?,
            text("cdc_sequence_number")?,
        );
        let (event, product, currency, day, status) = (
            text("cdc_event_type")?,
            text("product_name")?,
            text("currency")?,
            text("day")?,
            text("status")?,
        );
        let quantity = column_as(batch, "quantity", &DataType::Int64)?;
        let deleted = column_as(batch, "is_deleted", &DataType::Boolean)?;
        let total = column(batch, "total")?;
        let total = match total.data_type() {
            DataType::Decimal128(_, scale) => {
                let scale = u32::try_from(*scale).unwrap_or(0);
                if *self.scale.get_or_insert(scale) != scale {
                    anyhow::bail!("the lake's totals changed scale between objects");
                }
                total.clone()
            }
            _ => cast(
                total,
                &DataType::Decimal128(38, self.scale.unwrap_or(2) as i8),
            )?,
        };
        let (order, time, sequence) = (
            Strings::of(&order),
            Strings::of(&time),
            Strings::of(&sequence),
        );
        let (event, product, currency, day, status) = (
            Strings::of(&event),
            Strings::of(&product),
            Strings::of(&currency),
            Strings::of(&day),
            Strings::of(&status),
        );
        let quantity = quantity.as_primitive::<Int64Type>();
        let total = total.as_primitive::<Decimal128Type>();
        let deleted = deleted.as_boolean();
        for i in 0..batch.num_rows() {
            *self.events.entry(self.names.id(event.get(i))).or_default() += 1;
            let rank = RankKey::new(time.get(i), sequence.get(i).unwrap_or(""));
            let place = match order.get(i) {
                Some(key) => self.index.get(key).copied(),
                None => self.no_key,
            };
            if let Some(place) = place
                && self.latest[place as usize].rank >= rank
            {
                continue;
            }
            let cancelled = status.get(i) == Some("CANCELLED");
            let is_deleted = deleted.is_valid(i) && deleted.value(i);
            let mut flags = if cancelled || is_deleted { 0 } else { SOLD };
            let quantity = if quantity.is_valid(i) {
                flags |= HAS_QUANTITY;
                i32::try_from(quantity.value(i))?
            } else {
                0
            };
            let total = if total.is_valid(i) {
                flags |= HAS_TOTAL;
                i64::try_from(total.value(i))
                    .map_err(|_| anyhow::anyhow!("a total in the lake is too large to sum"))?
            } else {
                0
            };
            let latest = Latest {
                rank,
                product: self.names.id(product.get(i)),
                currency: self.names.id(currency.get(i)),
                day: self.names.id(day.get(i)),
                quantity,
                total,
                flags,
            };
            match place {
                Some(place) => self.latest[place as usize] = latest,
                None => {
                    let place = u32::try_from(self.latest.len())?;
                    self.latest.push(latest);
                    match order.get(i) {
                        Some(key) => {
                            self.index.insert(key.into(), place);
                        }
                        None => self.no_key = Some(place),
                    }
                }
            }
        }
        Ok(())
    }

    /// Orders seen so far.
    pub fn orders(&self) -> usize {
        self.latest.len()
    }

    /// The sums every section is made of: sold orders per product, currency and day, and
    /// changes per CDC type.
    pub fn finish(self) -> Folded {
        /// A group's sums by id, before names are looked up.
        #[derive(Default)]
        struct Sums {
            orders: u64,
            units: Option<i64>,
            revenue: Option<i128>,
            priced: u64,
        }
        let mut groups: HashMap<(u32, u32, u32), Sums> = HashMap::default();
        for latest in self.latest.iter().filter(|l| l.flags & SOLD != 0) {
            let sums = groups
                .entry((latest.product, latest.currency, latest.day))
                .or_default();
            sums.orders += 1;
            if latest.flags & HAS_QUANTITY != 0 {
                sums.units = Some(sums.units.unwrap_or(0) + i64::from(latest.quantity));
            }
            if latest.flags & HAS_TOTAL != 0 {
                sums.revenue = Some(sums.revenue.unwrap_or(0) + i128::from(latest.total));
                sums.priced += 1;
            }
        }
        let scale = self.scale.unwrap_or(2);
        let sales = groups
            .into_iter()
            .map(|((product, currency, day), sums)| {
                let group = (
                    self.names.name(product),
                    self.names.name(currency),
                    self.names.name(day),
                );
                let sales = Sales {
                    orders: sums.orders,
                    units: sums.units,
                    revenue: sums
                        .revenue
                        .map(|r| Decimal::from_i128_with_scale(r, scale)),
                    priced: sums.priced,
                };
                (group, sales)
            })
            .collect();
        let events: BTreeMap<Option<String>, u64> = self
            .events
            .iter()
            .map(|(&id, &count)| (self.names.name(id), count))
            .collect();
        Folded { sales, events }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::local::batches_to_table;
    use crate::sql::report::{day_rows_sql, fold, report_sql};
    use datafusion::arrow::array::{BooleanArray, Decimal128Array, Int32Array};
    use datafusion::arrow::datatypes::{Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::prelude::SessionContext;
    use proptest::prelude::*;
    use std::sync::Arc;

    /// A lake row with what the report reads of it.
    #[derive(Debug, Clone)]
    struct Row {
        order: Option<&'static str>,
        time: Option<String>,
        sequence: String,
        event: Option<&'static str>,
        product: Option<&'static str>,
        currency: Option<&'static str>,
        created_at: Option<&'static str>,
        quantity: Option<i32>,
        /// Cents.
        total: Option<i128>,
        status: Option<&'static str>,
        deleted: Option<bool>,
    }

    fn row(order: &'static str, time: &str, sequence: &str) -> Row {
        Row {
            order: Some(order),
            time: Some(time.to_string()),
            sequence: sequence.to_string(),
            event: Some("INSERT"),
            product: Some("Cable"),
            currency: Some("EUR"),
            created_at: Some("2026-11-20T10:00:00.000Z"),
            quantity: Some(1),
            total: Some(1000),
            status: Some("PAID"),
            deleted: Some(false),
        }
    }

    /// The rows as the lake table holds them, one day's partition value included.
    fn lake_batch(rows: &[Row]) -> RecordBatch {
        let text = |f: &dyn Fn(&Row) -> Option<String>| -> ArrayRef {
            Arc::new(StringArray::from(rows.iter().map(f).collect::<Vec<_>>()))
        };
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("order_id", text(&|r| r.order.map(String::from))),
            ("creation_datetime", text(&|r| r.time.clone())),
            ("cdc_sequence_number", text(&|r| Some(r.sequence.clone()))),
            ("cdc_event_type", text(&|r| r.event.map(String::from))),
            ("product_name", text(&|r| r.product.map(String::from))),
            ("currency", text(&|r| r.currency.map(String::from))),
            ("created_at", text(&|r| r.created_at.map(String::from))),
            (
                "quantity",
                Arc::new(Int32Array::from(
                    rows.iter().map(|r| r.quantity).collect::<Vec<_>>(),
                )),
            ),
            (
                "total",
                Arc::new(
                    Decimal128Array::from(rows.iter().map(|r| r.total).collect::<Vec<_>>())
                        .with_precision_and_scale(14, 2)
                        .unwrap(),
                ),
            ),
            ("status", text(&|r| r.status.map(String::from))),
            (
                "is_deleted",
                Arc::new(BooleanArray::from(
                    rows.iter().map(|r| r.deleted).collect::<Vec<_>>(),
                )),
            ),
            ("dt", text(&|_| Some("2026-11-20".to_string()))),
        ];
        let schema = Schema::new(
            columns
                .iter()
                .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
                .collect::<Vec<_>>(),
        );
        RecordBatch::try_new(
            Arc::new(schema),
            columns.into_iter().map(|(_, a)| a).collect(),
        )
        .unwrap()
    }

    async fn session_over(rows: &[Row]) -> SessionContext {
        let batch = lake_batch(rows);
        let session = SessionContext::new();
        let table = MemTable::try_new(batch.schema(), vec![vec![batch]]).unwrap();
        session
            .register_table("orders_cdc", Arc::new(table))
            .unwrap();
        session
    }

    /// The state this module builds, from the day statement run by DataFusion.
    async fn built(rows: &[Row]) -> Folded {
        let session = session_over(rows).await;
        let batches = session
            .sql(&day_rows_sql(Some("'2026-11-20'")))
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let mut state = CurrentState::default();
        for batch in &batches {
            state.add_batch(batch).unwrap();
        }
        state.finish()
    }

    /// The report's one statement, as Athena runs it, run by DataFusion and read back.
    async fn ranked_by_sql(rows: &[Row]) -> Folded {
        let session = session_over(rows).await;
        let frame = session.sql(&report_sql()).await.unwrap();
        let columns = frame
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let batches = frame.collect().await.unwrap();
        fold(&batches_to_table(columns, &batches).unwrap()).unwrap()
    }

    fn sales(folded: &Folded, product: &str) -> Sales {
        folded
            .sales
            .iter()
            .filter(|((p, _, _), _)| p.as_deref() == Some(product))
            .fold(Sales::default(), |mut all, (_, s)| {
                all.add(s);
                all
            })
    }

    #[tokio::test]
    async fn each_order_counts_once_by_its_latest_change() {
        let mut later = row("o1", "2026-11-20T08:00:05Z", "120");
        later.quantity = Some(3);
        later.total = Some(3000);
        later.event = Some("MODIFY");
        // A longer sequence number at the same second is the later change.
        let mut longest = later.clone();
        longest.sequence = "1000".into();
        longest.quantity = Some(4);
        longest.total = Some(4000);
        let rows = [
            later,
            row("o1", "2026-11-20T08:00:01Z", "110"),
            longest,
            row("o2", "2026-11-20T08:00:02Z", "111"),
        ];
        let folded = built(&rows).await;
        let cable = sales(&folded, "Cable");
        assert_eq!(cable.orders, 2);
        assert_eq!(cable.units, Some(5));
        assert_eq!(cable.revenue, Some(Decimal::new(5000, 2)));
        assert_eq!(cable.priced, 2);
        assert_eq!(folded.events.get(&Some("INSERT".into())), Some(&2));
        assert_eq!(folded.events.get(&Some("MODIFY".into())), Some(&2));
    }

    #[tokio::test]
    async fn deleted_and_cancelled_orders_are_not_sold_but_their_changes_count() {
        let mut removed = row("o1", "2026-11-20T08:00:09Z", "130");
        removed.deleted = Some(true);
        removed.event = Some("REMOVE");
        let mut cancelled = row("o2", "2026-11-20T08:00:09Z", "131");
        cancelled.status = Some("CANCELLED");
        // An order whose cancellation came first and a later change without a status: sold.
        let mut no_status = row("o3", "2026-11-20T08:00:09Z", "132");
        no_status.status = None;
        let mut was_cancelled = row("o3", "2026-11-20T08:00:01Z", "100");
        was_cancelled.status = Some("CANCELLED");
        let rows = [
            row("o1", "2026-11-20T08:00:01Z", "101"),
            removed,
            cancelled,
            was_cancelled,
            no_status,
        ];
        let folded = built(&rows).await;
        assert_eq!(sales(&folded, "Cable").orders, 1);
        assert_eq!(folded.events.values().sum::<u64>(), 5);
        assert_eq!(folded.events.get(&Some("REMOVE".into())), Some(&1));
    }

    #[tokio::test]
    async fn missing_values_stay_missing_and_rows_without_a_key_are_one_order() {
        let mut a = row("o1", "2026-11-20T08:00:01Z", "101");
        a.order = None;
        a.total = None;
        a.quantity = None;
        let mut b = row("o1", "2026-11-20T08:00:02Z", "102");
        b.order = None;
        b.total = None;
        b.quantity = None;
        b.currency = None;
        b.created_at = None;
        let folded = built(&[a, b]).await;
        assert_eq!(folded.sales.len(), 1);
        let ((_, currency, day), s) = folded.sales.iter().next().unwrap();
        assert_eq!((currency, day), (&None, &None));
        assert_eq!((s.orders, s.units, s.revenue, s.priced), (1, None, None, 0));
    }

    prop_compose! {
        /// One row; its sequence number is only a prefix until [`rows`] makes it unique.
        fn row_of_a_few_orders()(
            order in prop::option::weighted(0.95, prop::sample::select(vec!["o1", "o2", "o3", "o4"])),
            time in prop::sample::select(vec![
                "2026-11-20T08:00:01Z",
                "2026-11-20T08:00:02Z",
                "2026-11-20T08:00:02.5Z",
                "2026-11-21T00:00:00Z",
            ]),
            prefix in 1u32..1000,
            event in prop::option::weighted(0.9, prop::sample::select(vec!["INSERT", "MODIFY", "REMOVE"])),
            product in prop::option::weighted(0.9, prop::sample::select(vec!["Cable", "Mouse"])),
            currency in prop::option::weighted(0.9, prop::sample::select(vec!["EUR", "USD"])),
            created_at in prop::option::weighted(
                0.9,
                prop::sample::select(vec!["2026-11-19T23:00:00Z", "2026-11-20T01:00:00Z", "bad"]),
            ),
            quantity in prop::option::weighted(0.9, 0i32..10),
            total in prop::option::weighted(0.9, 0i128..100_000),
            status in prop::option::weighted(
                0.8,
                prop::sample::select(vec!["PAID", "CANCELLED", "PENDING"]),
            ),
            deleted in prop::option::of(any::<bool>()),
        ) -> Row {
            Row {
                order,
                time: Some(time.to_string()),
                sequence: prefix.to_string(),
                event,
                product,
                currency,
                created_at,
                quantity,
                total,
                status,
                deleted,
            }
        }
    }

    /// Rows of a few orders, with times that often tie (the sequence number decides) and
    /// every attribute sometimes missing. Sequence numbers are unique, so no two changes of
    /// an order rank alike; times are never missing (DataFusion puts nulls first in a
    /// descending sort, Trino last; this module ranks as Trino does).
    fn rows() -> impl Strategy<Value = Vec<Row>> {
        prop::collection::vec(row_of_a_few_orders(), 0..40).prop_map(|rows| {
            rows.into_iter()
                .enumerate()
                .map(|(i, mut row)| {
                    row.sequence = format!("{}{i:02}", row.sequence);
                    row
                })
                .collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn the_state_sums_as_the_reports_statement_does(rows in rows()) {
            let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let (built, ranked) = runtime.block_on(async { (built(&rows).await, ranked_by_sql(&rows).await) });
            prop_assert_eq!(built, ranked);
        }
    }
}
