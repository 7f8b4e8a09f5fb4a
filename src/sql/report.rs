//! The report's data in one pass over the lake: one SQL statement both engines run, whose rows
//! (sales per product, currency and day, and changes per CDC type) fold into every section.
//!
//! One statement, not one per section: each section used to scan and rank the whole lake
//! again. Here the lake is read once, each order's current row is marked by the same ranking
//! `orders_current` uses, and `GROUPING SETS` returns both groupings from that one scan;
//! the sections are sums of those few thousand rows.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};

use crate::render::{Cell, Table};
use salesctl_core::lake_schema::{KEY_COLUMN, TABLE, current_rank_order};

/// One section of the report computed from the lake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReportQuery {
    pub name: &'static str,
    pub title: &'static str,
}

/// What "revenue" means in the report, shown with it.
pub const REVENUE_DEFINITION: &str = "revenue = sum of `total` over the current state of each order \
(orders_current: latest change per order_id, deleted orders left out), excluding CANCELLED orders; \
per currency, never converted";

/// The lake's sections, in the order they are shown.
pub const REPORT_SECTIONS: [ReportQuery; 5] = [
    ReportQuery {
        name: "revenue_by_product",
        title: "Revenue and units by product",
    },
    ReportQuery {
        name: "revenue_by_day",
        title: "Revenue by day (order creation day, UTC)",
    },
    ReportQuery {
        name: "top_products",
        title: "Top 5 products by units sold",
    },
    ReportQuery {
        name: "average_order_value",
        title: "Average order value",
    },
    ReportQuery {
        name: "cdc_mix",
        title: "CDC events by type",
    },
];

/// The one statement: SQL Trino and DataFusion both accept (no ROUND: the local engine is
/// built without math functions). A row is `sold` when it is its order's current row (the
/// view's ranking), not deleted, and not CANCELLED (an item without `status`, as in a table
/// of your own, is sold); `day` is the order's creation day.
pub fn report_sql() -> String {
    format!(
        "WITH ranked AS (SELECT cdc_event_type, product_name, currency, \
         substr(created_at, 1, 10) AS day, quantity, total, status, is_deleted, \
         row_number() OVER (PARTITION BY {KEY_COLUMN} ORDER BY {}) AS cdc_rank FROM {TABLE}), \
         marked AS (SELECT cdc_event_type, product_name, currency, day, quantity, total, \
         (cdc_rank = 1 AND coalesce(is_deleted, false) = false AND coalesce(status, '') <> 'CANCELLED') AS sold \
         FROM ranked) \
         SELECT grouping(cdc_event_type) AS sales_row, cdc_event_type, product_name, currency, day, \
         count(*) AS events, count(*) FILTER (WHERE sold) AS orders, \
         sum(quantity) FILTER (WHERE sold) AS units, sum(total) FILTER (WHERE sold) AS revenue, \
         count(total) FILTER (WHERE sold) AS priced \
         FROM marked GROUP BY GROUPING SETS ((cdc_event_type), (product_name, currency, day))",
        current_rank_order()
    )
}

/// The local engine's statement for one day of the lake (`day`, an SQL string literal), or
/// for all of it: every change with what [`report_sql`] reads of it, for
/// [`super::current_state`] to keep each order's current change. The same columns and the
/// same `day` as [`report_sql`].
pub fn day_rows_sql(day: Option<&str>) -> String {
    let only = day.map_or(String::new(), |day| format!(" WHERE dt = {day}"));
    format!(
        "SELECT {KEY_COLUMN} AS order_key, creation_datetime, cdc_sequence_number, cdc_event_type, \
         product_name, currency, substr(created_at, 1, 10) AS day, quantity, total, status, \
         is_deleted FROM {TABLE}{only}"
    )
}

/// The columns of [`report_sql`]'s result, in order.
const RESULT_COLUMNS: [&str; 10] = [
    "sales_row",
    "cdc_event_type",
    "product_name",
    "currency",
    "day",
    "events",
    "orders",
    "units",
    "revenue",
    "priced",
];

/// One group of sold orders: a product in a currency on a day.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Sales {
    pub(super) orders: u64,
    /// `None` when no order of the group has the value (SQL's sum of nulls).
    pub(super) units: Option<i64>,
    pub(super) revenue: Option<Decimal>,
    /// Orders with a total: what an average divides by.
    pub(super) priced: u64,
}

impl Sales {
    pub(super) fn add(&mut self, other: &Sales) {
        self.orders += other.orders;
        self.units = add_options(self.units, other.units);
        self.revenue = add_options(self.revenue, other.revenue);
        self.priced += other.priced;
    }
}

fn add_options<T: std::ops::Add<Output = T>>(a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a + b),
        (a, None) => a,
        (None, b) => b,
    }
}

/// Product, currency and day (any may be null).
pub(super) type SalesGroup = (Option<String>, Option<String>, Option<String>);

/// What every section is summed from: the rows of [`report_sql`] read back, or the local
/// engine's pass over the lake ([`super::current_state`]).
#[derive(Debug, Default, PartialEq)]
pub struct Folded {
    /// Sales per group; groups with no sold order are left out.
    pub(super) sales: BTreeMap<SalesGroup, Sales>,
    /// CDC type -> changes.
    pub(super) events: BTreeMap<Option<String>, u64>,
}

pub(super) fn fold(result: &Table) -> anyhow::Result<Folded> {
    let column = |name: &str| {
        result
            .headers
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("the report's query returned no column {name}"))
    };
    let [
        sales_row,
        event,
        product,
        currency,
        day,
        events,
        orders,
        units,
        revenue,
        priced,
    ] = RESULT_COLUMNS.map(column);
    let (sales_row, event, product, currency, day) =
        (sales_row?, event?, product?, currency?, day?);
    let (events, orders, units, revenue, priced) = (events?, orders?, units?, revenue?, priced?);
    let mut folded = Folded::default();
    for row in &result.rows {
        let text = |i: usize| match row.get(i) {
            None | Some(Cell::Null) => None,
            Some(cell) => Some(cell.display()),
        };
        let count = |i: usize| text(i).and_then(|t| t.parse::<u64>().ok()).unwrap_or(0);
        if text(sales_row).as_deref() == Some("0") {
            *folded.events.entry(text(event)).or_default() += count(events);
            continue;
        }
        let sold = Sales {
            orders: count(orders),
            units: text(units).and_then(|t| t.parse().ok()),
            revenue: text(revenue).and_then(|t| Decimal::from_str(&t).ok()),
            priced: count(priced),
        };
        if sold.orders > 0 {
            folded
                .sales
                .entry((text(product), text(currency), text(day)))
                .or_default()
                .add(&sold);
        }
    }
    Ok(folded)
}

fn text_cell(value: &Option<String>) -> Cell {
    value.as_ref().map_or(Cell::Null, |v| Cell::Text(v.clone()))
}

fn number_cell<T: ToString>(value: Option<T>) -> Cell {
    value.map_or(Cell::Null, |v| Cell::Number(v.to_string()))
}

/// SQL's `ORDER BY x DESC` with nulls last, as Trino orders them.
fn desc_nulls_last<T: Ord>(a: &Option<T>, b: &Option<T>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => b.cmp(a),
        _ => asc_nulls_last(a, b),
    }
}

/// `ORDER BY x` ascending with nulls last.
fn asc_nulls_last<T: Ord>(a: &Option<T>, b: &Option<T>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    }
}

/// Where the report sends a reader whose table lacks an attribute.
pub const OWN_TABLE_HINT: &str = "see README 'Your own table'";

/// One section: its rows, or why it cannot apply to this lake (then no rows).
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSection {
    pub query: ReportQuery,
    pub table: Table,
    pub note: Option<String>,
}

/// Why a section cannot apply: the attributes no sold order has. A lake of the full order
/// model has them all; a table of your own (the tutorial's `OrderTable`: key, product,
/// quantity, price) may not, and an empty table would say nothing.
fn lacking(folded: &Folded, needs: &[&str]) -> Option<String> {
    if folded.sales.is_empty() {
        return None;
    }
    let has = |attribute: &str| match attribute {
        "total" => folded.sales.values().any(|s| s.revenue.is_some()),
        "currency" => folded.sales.keys().any(|(_, c, _)| c.is_some()),
        "created_at" => folded.sales.keys().any(|(_, _, d)| d.is_some()),
        _ => true,
    };
    let missing: Vec<String> = needs
        .iter()
        .filter(|a| !has(a))
        .map(|a| format!("`{a}`"))
        .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "cannot apply: no order in the lake has {} (it needs {}); {OWN_TABLE_HINT}",
            missing.join(" or "),
            needs
                .iter()
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// Every section of [`REPORT_SECTIONS`] from the one statement's result, in order.
pub fn report_sections(result: &Table) -> anyhow::Result<Vec<ReportSection>> {
    Ok(sections_of(fold(result)?))
}

/// Every section of [`REPORT_SECTIONS`], in order, summed from `folded`.
pub fn sections_of(folded: Folded) -> Vec<ReportSection> {
    let notes = [
        lacking(&folded, &["total", "currency"]),
        lacking(&folded, &["created_at", "total", "currency"]),
        None,
        lacking(&folded, &["total", "currency"]),
        None,
    ];
    let mut by_product: BTreeMap<(Option<String>, Option<String>), Sales> = BTreeMap::new();
    let mut by_day: BTreeMap<(Option<String>, Option<String>), Sales> = BTreeMap::new();
    let mut by_name: BTreeMap<Option<String>, Sales> = BTreeMap::new();
    let mut by_currency: BTreeMap<Option<String>, Sales> = BTreeMap::new();
    for ((product, currency, day), sales) in &folded.sales {
        by_product
            .entry((product.clone(), currency.clone()))
            .or_default()
            .add(sales);
        by_day
            .entry((day.clone(), currency.clone()))
            .or_default()
            .add(sales);
        by_name.entry(product.clone()).or_default().add(sales);
        by_currency.entry(currency.clone()).or_default().add(sales);
    }

    let mut products: Vec<_> = by_product.into_iter().collect();
    products.sort_by(|((p1, c1), s1), ((p2, c2), s2)| {
        desc_nulls_last(&s1.revenue, &s2.revenue)
            .then_with(|| asc_nulls_last(p1, p2))
            .then_with(|| asc_nulls_last(c1, c2))
    });
    let mut revenue_by_product =
        Table::new(["product_name", "currency", "orders", "units", "revenue"]);
    for ((product, currency), s) in &products {
        revenue_by_product.push(vec![
            text_cell(product),
            text_cell(currency),
            Cell::number(s.orders),
            number_cell(s.units),
            number_cell(s.revenue),
        ]);
    }

    let mut days: Vec<_> = by_day.into_iter().collect();
    days.sort_by(|((d1, c1), _), ((d2, c2), _)| {
        asc_nulls_last(d1, d2).then_with(|| asc_nulls_last(c1, c2))
    });
    let mut revenue_by_day = Table::new(["day", "currency", "orders", "revenue"]);
    for ((day, currency), s) in &days {
        revenue_by_day.push(vec![
            text_cell(day),
            text_cell(currency),
            Cell::number(s.orders),
            number_cell(s.revenue),
        ]);
    }

    let mut names: Vec<_> = by_name.into_iter().collect();
    names.sort_by(|(p1, s1), (p2, s2)| {
        desc_nulls_last(&s1.units, &s2.units).then_with(|| asc_nulls_last(p1, p2))
    });
    let mut top_products = Table::new(["product_name", "units", "orders"]);
    for (product, s) in names.iter().take(5) {
        top_products.push(vec![
            text_cell(product),
            number_cell(s.units),
            Cell::number(s.orders),
        ]);
    }

    let mut currencies: Vec<_> = by_currency.into_iter().collect();
    currencies.sort_by(|(c1, _), (c2, _)| asc_nulls_last(c1, c2));
    let mut average_order_value =
        Table::new(["currency", "orders", "revenue", "average_order_value"]);
    for (currency, s) in &currencies {
        // CAST(avg(total) AS DECIMAL(14, 2)): the mean of the orders with a total, rounded
        // half away from zero to cents, as Trino's cast rounds.
        let average = s.revenue.filter(|_| s.priced > 0).map(|r| {
            (r / Decimal::from(s.priced))
                .round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero)
        });
        average_order_value.push(vec![
            text_cell(currency),
            Cell::number(s.orders),
            number_cell(s.revenue),
            number_cell(average.map(|a| format!("{a:.2}"))),
        ]);
    }

    let mut cdc_mix = Table::new(["cdc_event_type", "events"]);
    let mut events: Vec<_> = folded.events.into_iter().collect();
    events.sort_by(|(a, _), (b, _)| asc_nulls_last(a, b));
    for (event, count) in &events {
        cdc_mix.push(vec![text_cell(event), Cell::number(count)]);
    }

    let tables = [
        revenue_by_product,
        revenue_by_day,
        top_products,
        average_order_value,
        cdc_mix,
    ];
    REPORT_SECTIONS
        .into_iter()
        .zip(tables)
        .zip(notes)
        .map(|((query, table), note)| ReportSection {
            table: if note.is_some() {
                Table::new(table.headers)
            } else {
                table
            },
            query,
            note,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(rows: &[[&str; 10]]) -> Table {
        let mut t = Table::new(RESULT_COLUMNS);
        for row in rows {
            t.push(
                row.iter()
                    .enumerate()
                    .map(|(i, v)| match (i, *v) {
                        (_, "") => Cell::Null,
                        (1..=4, v) => Cell::text(v),
                        (_, v) => Cell::Number(v.to_string()),
                    })
                    .collect(),
            );
        }
        t
    }

    #[test]
    fn the_sections_are_sums_of_one_grouping() {
        let rows = result(&[
            ["0", "INSERT", "", "", "", "5", "3", "4", "30.00", "3"],
            ["0", "MODIFY", "", "", "", "2", "1", "1", "10.00", "1"],
            [
                "1",
                "",
                "Cable",
                "EUR",
                "2026-11-20",
                "3",
                "2",
                "3",
                "15.50",
                "2",
            ],
            [
                "1",
                "",
                "Cable",
                "EUR",
                "2026-11-21",
                "1",
                "1",
                "1",
                "5.25",
                "1",
            ],
            [
                "1",
                "",
                "Laptop",
                "USD",
                "2026-11-20",
                "2",
                "1",
                "1",
                "1249.90",
                "1",
            ],
            // Only changes that are not current: no sold order, no group.
            ["1", "", "Mouse", "USD", "2026-11-20", "1", "0", "", "", "0"],
        ]);
        let sections = report_sections(&rows).unwrap();
        let csv = |name: &str| {
            let section = sections.iter().find(|s| s.query.name == name).unwrap();
            section
                .table
                .rows
                .iter()
                .map(|r| r.iter().map(Cell::display).collect::<Vec<_>>().join(","))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            csv("revenue_by_product"),
            ["Laptop,USD,1,1,1249.90", "Cable,EUR,3,4,20.75"]
        );
        assert_eq!(
            csv("revenue_by_day"),
            [
                "2026-11-20,EUR,2,15.50",
                "2026-11-20,USD,1,1249.90",
                "2026-11-21,EUR,1,5.25"
            ]
        );
        assert_eq!(csv("top_products"), ["Cable,4,3", "Laptop,1,1"]);
        // 20.75 / 3 = 6.91666… rounds to 6.92.
        assert_eq!(
            csv("average_order_value"),
            ["EUR,3,20.75,6.92", "USD,1,1249.90,1249.90"]
        );
        assert_eq!(csv("cdc_mix"), ["INSERT,5", "MODIFY,2"]);
    }

    #[test]
    fn halves_round_away_from_zero_like_trinos_cast() {
        let rows = result(&[[
            "1",
            "",
            "A",
            "EUR",
            "2026-11-20",
            "2",
            "2",
            "2",
            "0.05",
            "2",
        ]]);
        let sections = report_sections(&rows).unwrap();
        let average = &sections[3].table.rows[0][3];
        assert_eq!(average.display(), "0.03");
    }

    #[test]
    fn a_section_the_lake_cannot_fill_says_why_instead_of_an_empty_table() {
        // The tutorial's table: products and quantities, no total, currency or creation time.
        let rows = result(&[
            ["0", "INSERT", "", "", "", "3", "3", "5", "", "0"],
            ["1", "", "Laptop", "", "", "2", "2", "3", "", "0"],
            ["1", "", "Mouse", "", "", "1", "1", "2", "", "0"],
        ]);
        let sections = report_sections(&rows).unwrap();
        let by_name = |name: &str| sections.iter().find(|s| s.query.name == name).unwrap();
        for name in [
            "revenue_by_product",
            "revenue_by_day",
            "average_order_value",
        ] {
            let section = by_name(name);
            assert!(section.table.rows.is_empty(), "{name}");
            let note = section.note.as_deref().unwrap();
            assert!(
                note.contains("`total`") && note.contains("Your own table"),
                "{note}"
            );
        }
        assert!(
            by_name("revenue_by_day")
                .note
                .as_deref()
                .unwrap()
                .contains("`created_at`")
        );
        assert_eq!(by_name("top_products").table.rows.len(), 2);
        assert_eq!(by_name("top_products").note, None);
        assert_eq!(by_name("cdc_mix").table.rows.len(), 1);
    }

    #[test]
    fn the_statement_reads_the_table_once() {
        let sql = report_sql();
        assert_eq!(sql.matches(&format!("FROM {TABLE}")).count(), 1, "{sql}");
        assert!(sql.contains("GROUPING SETS"), "{sql}");
    }
}
