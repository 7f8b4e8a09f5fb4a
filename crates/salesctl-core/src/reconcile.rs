//! Reconciling the pipeline's stages by change identity (the stream's `eventID`): which
//! changes reached Kinesis, the lake and `errors/`, once, twice or never. Pure: ids in, findings out.
//!
//! Memory: a ledger holds one entry per change it is given (about 90 bytes: the id in 16
//! bytes when it is DynamoDB's usual 32 hex digits, the order key, four small counters). A
//! ledger can take a part of the changes split by id ([`Findings::absorb`] adds the parts up
//! exactly), so a caller that spills ids to disk by hash holds one part at a time.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

/// A change's identity, compact when it is 32 hex digits (as DynamoDB's eventIDs are).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChangeId {
    Hex(u128),
    Text(Box<str>),
}

impl ChangeId {
    pub fn new(id: &str) -> ChangeId {
        if id.len() == 32
            && id
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            && let Ok(value) = u128::from_str_radix(id, 16)
        {
            return ChangeId::Hex(value);
        }
        ChangeId::Text(id.into())
    }
}

impl std::fmt::Display for ChangeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChangeId::Hex(value) => write!(f, "{value:032x}"),
            ChangeId::Text(text) => f.write_str(text),
        }
    }
}

#[derive(Debug, Clone)]
struct Entry {
    order: Box<str>,
    kinesis: u16,
    lake: u16,
    failed: u16,
}

/// Copies seen of ids the table's stream does not hold (older than its retention, or
/// outside the window): counted, not matched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Unmatched {
    pub kinesis: u64,
    pub lake: u64,
    pub failed: u64,
}

/// Every change of the table's stream in the window and where it was seen.
#[derive(Debug, Default)]
pub struct Ledger {
    since: Option<DateTime<Utc>>,
    changes: HashMap<ChangeId, Entry>,
    stream_records: u64,
    kinesis_records: u64,
    lake_rows: u64,
    failed_records: u64,
    failed_without_id: u64,
    unmatched: Unmatched,
}

/// One change named in a finding: its id and its order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub id: String,
    pub order: String,
    /// Copies seen where this finding counts them.
    pub copies: u32,
}

/// One stage's line of the reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageFindings {
    pub stage: &'static str,
    /// Records or rows seen at this stage in the window.
    pub seen: u64,
    /// Distinct changes among them.
    pub distinct: u64,
    /// Changes seen here that never reached the next stage (nor `errors/`).
    pub missing_downstream: u64,
    /// Changes seen here more than once.
    pub duplicated: u64,
    /// Changes that ended in `errors/`.
    pub failed: u64,
    /// The first few of each kind, in id order.
    pub missing_ids: Vec<Named>,
    pub duplicated_ids: Vec<Named>,
    pub failed_ids: Vec<Named>,
}

/// The whole reconciliation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Findings {
    pub stages: Vec<StageFindings>,
    pub unmatched: Unmatched,
    /// Records under `errors/` whose change could not be told (their data is not a change).
    pub failed_without_id: u64,
}

impl Findings {
    /// Something is missing or failed: the pipeline lost or rejected changes.
    pub fn has_losses(&self) -> bool {
        self.failed_without_id > 0
            || self
                .stages
                .iter()
                .any(|s| s.missing_downstream > 0 || s.failed > 0)
    }

    pub fn has_duplicates(&self) -> bool {
        self.stages.iter().any(|s| s.duplicated > 0)
    }

    /// The verdict of these findings together with the current-state check: `disagreeing`
    /// orders whose latest lake row is not the table's item. Both must hold: a change window
    /// with nothing missing says nothing about orders whose lake row is out of date.
    pub fn verdict(&self, disagreeing: u64) -> Verdict {
        if self.has_losses() || disagreeing > 0 {
            Verdict::NotReconciled
        } else if self.has_duplicates() {
            Verdict::Duplicates
        } else {
            Verdict::Reconciled
        }
    }

    /// Adds the findings of another part of the changes (parts split by id, so no change is
    /// in two); each list of named ids stays the first `sample` in id order, as one ledger
    /// over all the changes would name them.
    pub fn absorb(&mut self, other: Findings, sample: usize) {
        let merge = |mine: &mut Vec<Named>, theirs: Vec<Named>| {
            mine.extend(theirs);
            mine.sort_by_cached_key(|named| ChangeId::new(&named.id));
            mine.truncate(sample);
        };
        for (mine, theirs) in self.stages.iter_mut().zip(other.stages) {
            mine.seen += theirs.seen;
            mine.distinct += theirs.distinct;
            mine.missing_downstream += theirs.missing_downstream;
            mine.duplicated += theirs.duplicated;
            mine.failed += theirs.failed;
            merge(&mut mine.missing_ids, theirs.missing_ids);
            merge(&mut mine.duplicated_ids, theirs.duplicated_ids);
            merge(&mut mine.failed_ids, theirs.failed_ids);
        }
        self.unmatched.kinesis += other.unmatched.kinesis;
        self.unmatched.lake += other.unmatched.lake;
        self.unmatched.failed += other.unmatched.failed;
        self.failed_without_id += other.failed_without_id;
    }
}

/// What a reconciliation concludes ([`Findings::verdict`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every change reached the lake once and every order's current lake row is the table's.
    Reconciled,
    /// As [`Verdict::Reconciled`], with some changes delivered more than once (normal with
    /// at-least-once delivery).
    Duplicates,
    /// Changes missing or failed, or orders whose current lake row disagrees with the table.
    NotReconciled,
}

impl Verdict {
    /// True unless something is missing, failed or out of date (duplicates reconcile).
    pub fn is_reconciled(self) -> bool {
        self != Verdict::NotReconciled
    }

    /// The run fails: not reconciled, or duplicated when `strict`.
    pub fn fails(self, strict: bool) -> bool {
        match self {
            Verdict::NotReconciled => true,
            Verdict::Duplicates => strict,
            Verdict::Reconciled => false,
        }
    }
}

/// Disagreements of several parts of the orders (split by order id), as one comparison over
/// all of them would give: the counts summed, the first `sample` in order id order.
pub fn merge_disagreements(
    parts: impl IntoIterator<Item = (u64, Vec<Disagreement>)>,
    sample: usize,
) -> (u64, Vec<Disagreement>) {
    let mut count = 0;
    let mut named = Vec::new();
    for (part_count, part_named) in parts {
        count += part_count;
        named.extend(part_named);
        named.sort_by(|a: &Disagreement, b| a.order.cmp(&b.order));
        named.truncate(sample);
    }
    (count, named)
}

impl Ledger {
    /// Counts changes created at or after `since` (all when `None`).
    pub fn new(since: Option<DateTime<Utc>>) -> Ledger {
        Ledger {
            since,
            ..Ledger::default()
        }
    }

    fn in_window(&self, at: DateTime<Utc>) -> bool {
        self.since.is_none_or(|since| at >= since)
    }

    /// A change read from the table's own stream.
    pub fn saw_in_stream(&mut self, id: &str, order: &str, at: DateTime<Utc>) {
        if !self.in_window(at) {
            return;
        }
        self.stream_records += 1;
        self.changes
            .entry(ChangeId::new(id))
            .or_insert_with(|| Entry {
                order: order.into(),
                kinesis: 0,
                lake: 0,
                failed: 0,
            });
    }

    /// A record read from Kinesis, with the change it carries.
    pub fn saw_in_kinesis(&mut self, id: &str, at: DateTime<Utc>) {
        if !self.in_window(at) {
            return;
        }
        self.kinesis_records += 1;
        match self.changes.get_mut(&ChangeId::new(id)) {
            Some(entry) => entry.kinesis = entry.kinesis.saturating_add(1),
            None => self.unmatched.kinesis += 1,
        }
    }

    /// `copies` lake rows of one change (the engine counts them, already windowed).
    pub fn saw_in_lake(&mut self, id: &str, copies: u32) {
        self.lake_rows += u64::from(copies);
        match self.changes.get_mut(&ChangeId::new(id)) {
            Some(entry) => {
                entry.lake = entry
                    .lake
                    .saturating_add(u16::try_from(copies).unwrap_or(u16::MAX));
            }
            None => self.unmatched.lake += u64::from(copies),
        }
    }

    /// A record under `errors/`; `None` when its data names no change.
    pub fn saw_failed(&mut self, id: Option<&str>, at: Option<DateTime<Utc>>) {
        if at.is_some_and(|at| !self.in_window(at)) {
            return;
        }
        self.failed_records += 1;
        let Some(id) = id else {
            self.failed_without_id += 1;
            return;
        };
        match self.changes.get_mut(&ChangeId::new(id)) {
            Some(entry) => entry.failed = entry.failed.saturating_add(1),
            None => self.unmatched.failed += 1,
        }
    }

    /// Changes tracked (for progress and memory figures).
    pub fn len(&self) -> usize {
        self.changes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// The reconciliation, naming the first `sample` ids of each finding.
    pub fn findings(&self, sample: usize) -> Findings {
        let mut sorted: Vec<(&ChangeId, &Entry)> = self.changes.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(b.0));
        let pick = |keep: &dyn Fn(&Entry) -> Option<u32>| -> (u64, Vec<Named>) {
            let mut count = 0;
            let mut named = Vec::new();
            for (id, entry) in &sorted {
                if let Some(copies) = keep(entry) {
                    count += 1;
                    if named.len() < sample {
                        named.push(Named {
                            id: id.to_string(),
                            order: entry.order.to_string(),
                            copies,
                        });
                    }
                }
            }
            (count, named)
        };
        let failed = pick(&|e| (e.failed > 0).then_some(u32::from(e.failed)));
        let stream_missing = pick(&|e| (e.kinesis == 0 && e.failed == 0).then_some(0));
        let kinesis_seen = self.changes.values().filter(|e| e.kinesis > 0).count() as u64;
        let kinesis_missing =
            pick(&|e| (e.kinesis > 0 && e.lake == 0 && e.failed == 0).then_some(0));
        let kinesis_duplicated = pick(&|e| (e.kinesis > 1).then_some(u32::from(e.kinesis)));
        let lake_seen = self.changes.values().filter(|e| e.lake > 0).count() as u64;
        let lake_duplicated = pick(&|e| (e.lake > 1).then_some(u32::from(e.lake)));
        let none = (0, Vec::new());
        let stages = vec![
            StageFindings {
                stage: "table stream",
                seen: self.stream_records,
                distinct: self.changes.len() as u64,
                missing_downstream: stream_missing.0,
                duplicated: 0,
                failed: 0,
                missing_ids: stream_missing.1,
                duplicated_ids: Vec::new(),
                failed_ids: Vec::new(),
            },
            StageFindings {
                stage: "kinesis",
                seen: self.kinesis_records,
                distinct: kinesis_seen,
                missing_downstream: kinesis_missing.0,
                duplicated: kinesis_duplicated.0,
                failed: 0,
                missing_ids: kinesis_missing.1,
                duplicated_ids: kinesis_duplicated.1,
                failed_ids: Vec::new(),
            },
            StageFindings {
                stage: "lake",
                seen: self.lake_rows,
                distinct: lake_seen,
                missing_downstream: none.0,
                duplicated: lake_duplicated.0,
                failed: 0,
                missing_ids: none.1,
                duplicated_ids: lake_duplicated.1,
                failed_ids: Vec::new(),
            },
            StageFindings {
                stage: "errors/",
                seen: self.failed_records,
                distinct: failed.0,
                missing_downstream: 0,
                duplicated: 0,
                failed: failed.0,
                missing_ids: Vec::new(),
                duplicated_ids: Vec::new(),
                failed_ids: failed.1,
            },
        ];
        Findings {
            stages,
            unmatched: self.unmatched,
            failed_without_id: self.failed_without_id,
        }
    }
}

/// An order's latest state as one side records it: `updated_at` and `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderState {
    pub updated_at: String,
    pub status: String,
}

/// Where the lake's current state and the table disagree about one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Disagreement {
    pub order: String,
    /// `None`: the order is not in the table (deleted) / not current in the lake.
    pub table: Option<OrderState>,
    pub lake: Option<OrderState>,
}

/// Compares every order of the table with the lake's current row of it; returns the count
/// of disagreements and the first `sample`, in order id order.
pub fn compare_current(
    table: &BTreeMap<String, OrderState>,
    lake: &BTreeMap<String, OrderState>,
    sample: usize,
) -> (u64, Vec<Disagreement>) {
    let mut count = 0;
    let mut named = Vec::new();
    let mut note = |order: &str, t: Option<&OrderState>, l: Option<&OrderState>| {
        count += 1;
        if named.len() < sample {
            named.push(Disagreement {
                order: order.to_string(),
                table: t.cloned(),
                lake: l.cloned(),
            });
        }
    };
    let mut orders: Vec<&String> = table.keys().chain(lake.keys()).collect();
    orders.sort();
    orders.dedup();
    for order in orders {
        let (t, l) = (table.get(order), lake.get(order));
        if t != l {
            note(order, t, l);
        }
    }
    (count, named)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    const T: &str = "2026-12-01T10:00:00Z";

    fn id(n: u32) -> String {
        format!("{n:032x}")
    }

    #[test]
    fn hex_ids_are_compact_and_print_back_the_same() {
        let hex = "32f1a25e5bf447a3b937788e1f58e736";
        assert!(matches!(ChangeId::new(hex), ChangeId::Hex(_)));
        assert_eq!(ChangeId::new(hex).to_string(), hex);
        assert_eq!(ChangeId::new("ev-o-1").to_string(), "ev-o-1");
        assert!(matches!(
            ChangeId::new("32F1A25E5BF447A3B937788E1F58E736"),
            ChangeId::Text(_)
        ));
    }

    #[test]
    fn each_fault_is_named_at_its_stage() {
        let mut ledger = Ledger::new(None);
        for n in 0..10 {
            ledger.saw_in_stream(&id(n), &format!("o-{n}"), at(T));
        }
        // 0..9 reach Kinesis, 3 twice; 9 never does (missing after the stream).
        for n in 0..9 {
            ledger.saw_in_kinesis(&id(n), at(T));
        }
        ledger.saw_in_kinesis(&id(3), at(T));
        // The lake: 5 is lost, 6 landed in errors/, 2 is there twice.
        for n in [0, 1, 2, 3, 4, 7, 8] {
            ledger.saw_in_lake(&id(n), if n == 2 { 2 } else { 1 });
        }
        ledger.saw_failed(Some(&id(6)), None);
        ledger.saw_failed(None, None);
        ledger.saw_in_lake("ffffffffffffffffffffffffffffffff", 1);
        let f = ledger.findings(5);
        let stage = |name: &str| f.stages.iter().find(|s| s.stage == name).unwrap();
        let ids = |named: &[Named]| named.iter().map(|n| n.id.clone()).collect::<Vec<_>>();
        assert_eq!(stage("table stream").seen, 10);
        assert_eq!(ids(&stage("table stream").missing_ids), [id(9)]);
        assert_eq!(stage("table stream").missing_ids[0].order, "o-9");
        assert_eq!(ids(&stage("kinesis").duplicated_ids), [id(3)]);
        assert_eq!(stage("kinesis").seen, 10);
        assert_eq!(ids(&stage("kinesis").missing_ids), [id(5)]);
        assert_eq!(ids(&stage("lake").duplicated_ids), [id(2)]);
        assert_eq!(stage("lake").duplicated_ids[0].copies, 2);
        assert_eq!(ids(&stage("errors/").failed_ids), [id(6)]);
        assert_eq!(f.failed_without_id, 1);
        assert_eq!(f.unmatched.lake, 1);
        assert!(f.has_losses() && f.has_duplicates());
    }

    #[test]
    fn a_clean_run_reconciles_and_the_window_is_honoured() {
        let mut ledger = Ledger::new(Some(at(T)));
        ledger.saw_in_stream(&id(1), "o-1", at("2026-12-01T09:59:59Z"));
        ledger.saw_in_stream(&id(2), "o-2", at(T));
        ledger.saw_in_kinesis(&id(1), at("2026-12-01T09:59:59Z"));
        ledger.saw_in_kinesis(&id(2), at(T));
        ledger.saw_in_lake(&id(2), 1);
        let f = ledger.findings(5);
        assert!(!f.has_losses() && !f.has_duplicates(), "{f:?}");
        assert_eq!(f.stages[0].seen, 1);
        assert_eq!(f.unmatched, Unmatched::default());
    }

    proptest::proptest! {
        /// Ledgers over parts of the changes, split by id and absorbed, find exactly what one
        /// ledger over all of them finds: counts, and the ids named.
        #[test]
        fn parts_split_by_id_absorb_into_the_whole(
            changes in proptest::collection::vec((0u32..200, 0u8..3, 0u8..3, 0u8..2), 0..120),
            parts in 1usize..6,
            sample in 0usize..6,
        ) {
            let mut whole = Ledger::new(None);
            let mut split: Vec<Ledger> = (0..parts).map(|_| Ledger::new(None)).collect();
            let part = |n: u32| (n as usize * 7919) % parts;
            // Every ledger sees the stream first, then the later stages, as reconcile reads them.
            for (n, _, _, _) in &changes {
                whole.saw_in_stream(&id(*n), &format!("o-{n}"), at(T));
                split[part(*n)].saw_in_stream(&id(*n), &format!("o-{n}"), at(T));
            }
            for (n, kinesis, lake, failed) in &changes {
                for ledger in [&mut whole, &mut split[part(*n)]] {
                    for _ in 0..*kinesis {
                        ledger.saw_in_kinesis(&id(*n), at(T));
                    }
                    if *lake > 0 {
                        ledger.saw_in_lake(&id(*n), u32::from(*lake));
                    }
                    if *failed > 0 {
                        ledger.saw_failed(Some(&id(*n)), None);
                    }
                }
            }
            let mut parts = split.into_iter().map(|l| l.findings(sample));
            let mut absorbed = parts.next().unwrap();
            for other in parts {
                absorbed.absorb(other, sample);
            }
            proptest::prop_assert_eq!(absorbed, whole.findings(sample));
        }
    }

    #[test]
    fn disagreeing_orders_are_not_reconciled_even_with_every_change_delivered() {
        let mut ledger = Ledger::new(None);
        ledger.saw_in_stream(&id(1), "o-1", at(T));
        ledger.saw_in_kinesis(&id(1), at(T));
        ledger.saw_in_lake(&id(1), 1);
        let clean = ledger.findings(5);
        assert_eq!(clean.verdict(0), Verdict::Reconciled);
        assert_eq!(clean.verdict(3), Verdict::NotReconciled);
        assert!(!clean.verdict(3).is_reconciled() && clean.verdict(3).fails(false));
        // An empty window (`--since` in the future) decides nothing by itself.
        let empty = Ledger::new(Some(at(T))).findings(5);
        assert_eq!(empty.verdict(0), Verdict::Reconciled);
        assert_eq!(empty.verdict(743), Verdict::NotReconciled);
        ledger.saw_in_lake(&id(1), 1);
        let doubled = ledger.findings(5);
        assert_eq!(doubled.verdict(0), Verdict::Duplicates);
        assert!(doubled.verdict(0).is_reconciled());
        assert!(!doubled.verdict(0).fails(false) && doubled.verdict(0).fails(true));
        assert_eq!(doubled.verdict(1), Verdict::NotReconciled);
    }

    #[test]
    fn disagreements_of_parts_merge_in_order_id_order() {
        let one = |order: &str| Disagreement {
            order: order.into(),
            table: None,
            lake: None,
        };
        let merged = merge_disagreements(
            [
                (2, vec![one("o-3"), one("o-9")]),
                (3, vec![one("o-1"), one("o-4")]),
            ],
            3,
        );
        assert_eq!(merged.0, 5);
        let orders: Vec<&str> = merged.1.iter().map(|d| d.order.as_str()).collect();
        assert_eq!(orders, ["o-1", "o-3", "o-4"]);
    }

    #[test]
    fn current_state_disagreements_are_named() {
        let state = |u: &str, s: &str| OrderState {
            updated_at: u.into(),
            status: s.into(),
        };
        let table = BTreeMap::from([
            ("o-1".to_string(), state("1", "PAID")),
            ("o-2".to_string(), state("2", "PENDING")),
        ]);
        let lake = BTreeMap::from([
            ("o-1".to_string(), state("1", "PAID")),
            ("o-2".to_string(), state("1", "PENDING")),
            ("o-3".to_string(), state("1", "PAID")),
        ]);
        let (count, named) = compare_current(&table, &lake, 10);
        assert_eq!(count, 2);
        assert_eq!(named[0].order, "o-2");
        assert_eq!(named[1].order, "o-3");
        assert_eq!(named[1].table, None);
    }
}
